//! `ingest profiles`.

use crate::common::{ingest, json_lines, stdout};

#[test]
fn profiles_lists_every_preset_with_its_parameters() {
    let out = ingest(&["profiles", "--json"]);
    assert!(out.status.success());
    let lines = json_lines(&out);
    let names: Vec<_> = lines.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["unixfs-v1-2025", "unixfs-v0-2015", "kubo-cidv1"]);
    // The values docs/profiles.md documents.
    assert_eq!(lines[0]["chunker"], "size-1048576");
    assert_eq!(lines[0]["max_links"], 1024);
    assert_eq!(lines[0]["hamt_size_estimate"], "block-bytes");
    assert_eq!(lines[1]["cid_version"], 0);
    assert_eq!(lines[1]["raw_leaves"], false);
    assert_eq!(lines[2]["max_links"], 174);
    let human = stdout(&ingest(&["profiles"]));
    assert!(human.starts_with("unixfs-v1-2025 (default)"), "{human}");
}
