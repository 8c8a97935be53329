//! `ingest profiles`.

use crate::common::{ingest, json_lines, stdout};

#[test]
fn profiles_lists_every_preset_with_its_parameters() {
    let out = ingest(&["profiles", "--json"]);
    assert!(out.status.success());
    let all = json_lines(&out);
    let (lines, downloads): (Vec<_>, Vec<_>) = all.into_iter().partition(|l| l["kind"] == "import");
    let names: Vec<_> = lines.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["unixfs-v1-2025", "unixfs-v0-2015", "kubo-cidv1"]);
    // The download profiles: the default first, none merging formats or post-processing.
    let names: Vec<_> = downloads
        .iter()
        .map(|l| l["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["as-served-v1", "http-files-v1"]);
    assert_eq!(downloads[0]["default"], true);
    for d in &downloads {
        assert_eq!(d["kind"], "download");
        let args: Vec<&str> = d["yt_dlp_args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let at = |flag: &str| args.iter().position(|a| *a == flag).map(|i| args[i + 1]);
        assert_eq!(at("--fixup"), Some("never"), "{d}");
        assert!(args.contains(&"--no-config") && args.contains(&"--write-info-json"));
        assert!(!at("--format").unwrap().contains('+'), "{d}");
    }
    // The values docs/profiles.md documents.
    assert_eq!(lines[0]["chunker"], "size-1048576");
    assert_eq!(lines[0]["max_links"], 1024);
    assert_eq!(lines[0]["hamt_size_estimate"], "block-bytes");
    assert_eq!(lines[1]["cid_version"], 0);
    assert_eq!(lines[1]["raw_leaves"], false);
    assert_eq!(lines[2]["max_links"], 174);
    let human = stdout(&ingest(&["profiles"]));
    assert!(human.starts_with("unixfs-v1-2025 (default)"), "{human}");
    assert!(
        human.contains("download profile as-served-v1 (default)\n")
            && human.contains("--format 'b[protocol^=http]"),
        "{human}"
    );
}
