//! End-to-end tests of the `ingest` binary. Expected CIDs come from `../shared/vectors`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ingest_core::CarReader;
use ingest_tests::{file_vectors, Content, FileVector};

fn ingest(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ingest"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("ingest runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Multi-chunk vectors small enough to write to disk in a test.
fn small_vectors() -> Vec<FileVector> {
    file_vectors()
        .into_iter()
        .filter(|v| (1..=2_200_000).contains(&v.size))
        .collect()
}

fn write_content(dir: &Path, v: &FileVector) -> PathBuf {
    let path = dir.join(format!("{}.bin", v.seed));
    if !path.exists() {
        std::fs::write(&path, Content::bytes(&v.seed, v.size)).unwrap();
    }
    path
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn add_prints_the_vector_cids() {
    let dir = tempfile::tempdir().unwrap();
    for v in small_vectors() {
        let path = write_content(dir.path(), &v);
        let out = ingest(&["add", "--profile", &v.profile, path.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(
            stdout(&out),
            format!("added {} {}.bin\n", v.cid, v.seed),
            "{}/{} under {}",
            v.seed,
            v.size,
            v.profile
        );
    }
}

#[test]
fn stdin_json_and_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let v = small_vectors()
        .into_iter()
        .find(|v| v.profile == "unixfs-v0-2015")
        .unwrap();
    let path = write_content(dir.path(), &v);
    let out = Command::new(env!("CARGO_BIN_EXE_ingest"))
        .args(["add", "--profile", "unixfs-v0-2015", "--json", "-"])
        .stdin(std::fs::File::open(&path).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(line["cid"], v.cid.as_str());
    assert_eq!(
        line["name"],
        v.cid.as_str(),
        "stdin is named by its CID, as in kubo"
    );
    assert_eq!(line["size"], v.size);
    assert_eq!(line["profile"], "unixfs-v0-2015");
    let out = ingest(&[
        "add",
        "-q",
        "--profile",
        "unixfs-v0-2015",
        path.to_str().unwrap(),
    ]);
    assert_eq!(stdout(&out), format!("{}\n", v.cid));
}

#[test]
fn car_output_holds_every_block_once_and_nothing_else_is_left() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    for v in small_vectors() {
        let path = write_content(dir.path(), &v);
        let car = out_dir.path().join("out.car");
        let out = ingest(&[
            "add",
            "--profile",
            &v.profile,
            "--car",
            car.to_str().unwrap(),
            path.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        let mut reader = CarReader::new(std::fs::File::open(&car).unwrap()).unwrap();
        assert_eq!(reader.roots()[0].to_string(), v.cid);
        let blocks = reader
            .by_ref()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
            .len();
        assert_eq!(
            blocks as u64, v.blocks,
            "{}/{} under {}",
            v.seed, v.size, v.profile
        );
        assert_eq!(
            entries(out_dir.path()),
            ["out.car"],
            "no temporary file is left"
        );
    }
}

#[test]
fn a_failed_import_writes_nothing_and_keeps_the_old_output() {
    let out_dir = tempfile::tempdir().unwrap();
    let car = out_dir.path().join("keep.car");
    std::fs::write(&car, b"previous contents").unwrap();
    // Opening /proc/self/mem succeeds; reading its first page fails with an I/O error.
    let out = ingest(&["add", "--car", car.to_str().unwrap(), "/proc/self/mem"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("/proc/self/mem") && err.contains("reading the input failed"),
        "{err}"
    );
    assert_eq!(std::fs::read(&car).unwrap(), b"previous contents");
    assert_eq!(entries(out_dir.path()), ["keep.car"]);
}

#[test]
fn bad_input_gives_one_line_naming_it_and_a_nonzero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.mp4");
    let file = dir.path().join("f.bin");
    std::fs::write(&file, b"x").unwrap();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["add", missing.to_str().unwrap()], 1, "missing.mp4"),
        (
            vec!["add", dir.path().to_str().unwrap()],
            1,
            "is a directory",
        ),
        (vec!["add", "--profile", "unixfs-v9", "f"], 2, "unixfs-v9"),
        (vec!["add", "--chunker", "buzhash", "f"], 2, "buzhash"),
        (
            vec!["add", "--max-links", "1", file.to_str().unwrap()],
            1,
            "max links 1",
        ),
        (
            vec!["add", "-s", "size-4194304", file.to_str().unwrap()],
            1,
            "chunk size 4194304",
        ),
        (vec!["add", "--cid-version", "3", "f"], 2, "CID version"),
        (
            vec![
                "add",
                "--car",
                "/nonexistent-dir/x.car",
                file.to_str().unwrap(),
            ],
            1,
            "/nonexistent-dir",
        ),
    ];
    for (args, code, needle) in cases {
        let out = ingest(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        if code == 1 {
            assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        }
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
}

#[test]
fn profiles_lists_every_preset_with_its_parameters() {
    let out = ingest(&["profiles", "--json"]);
    assert!(out.status.success());
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let names: Vec<_> = lines.iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["unixfs-v1-2025", "unixfs-v0-2015", "kubo-cidv1"]);
    // The values PROFILES.md documents.
    assert_eq!(lines[0]["chunker"], "size-1048576");
    assert_eq!(lines[0]["max_links"], 1024);
    assert_eq!(lines[0]["hamt_size_estimate"], "block-bytes");
    assert_eq!(lines[1]["cid_version"], 0);
    assert_eq!(lines[1]["raw_leaves"], false);
    assert_eq!(lines[2]["max_links"], 174);
    let human = stdout(&ingest(&["profiles"]));
    assert!(human.starts_with("unixfs-v1-2025 (default)"), "{human}");
}

#[test]
fn fixtures_match_their_expected_cids() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("expected.json")).unwrap())
            .unwrap();
    for file in expected["files"].as_array().unwrap() {
        let path = root.join(file["path"].as_str().unwrap());
        for (profile, want) in file["cids"].as_object().unwrap() {
            let out = ingest(&["add", "-q", "--profile", profile, path.to_str().unwrap()]);
            assert_eq!(
                stdout(&out).trim(),
                want["cid"],
                "{} under {profile}",
                path.display()
            );
        }
    }
}
