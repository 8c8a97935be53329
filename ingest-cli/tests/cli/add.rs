//! `ingest add`: files, stdin, CARs, directories, and its errors.

use std::path::{Path, PathBuf};
use std::process::Command;

use ingest_tests::{file_vectors, Content, FileVector};

use crate::common::{car_root_and_blocks, cli, entries, ingest, stderr, stdout};

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

/// The first small vector of unixfs-v0-2015, written in `dir`.
fn a_v0_vector(dir: &Path) -> (FileVector, PathBuf) {
    let v = small_vectors()
        .into_iter()
        .find(|v| v.profile == "unixfs-v0-2015")
        .unwrap();
    let path = write_content(dir, &v);
    (v, path)
}

#[test]
fn stdin_is_named_by_its_cid_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let (v, path) = a_v0_vector(dir.path());
    let out = cli()
        .command()
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
}

#[test]
fn quiet_prints_the_cid_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (v, path) = a_v0_vector(dir.path());
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
        assert_eq!(
            car_root_and_blocks(&car),
            (v.cid.clone(), v.blocks),
            "{}/{} under {}",
            v.seed,
            v.size,
            v.profile
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

fn dir_vector(name: &str, profile: &str) -> ingest_tests::DirVector {
    ingest_tests::dir_vectors()
        .into_iter()
        .find(|v| v.name == name && v.profile == profile)
        .unwrap()
}

#[test]
fn add_r_prints_every_entry_then_the_vector_root() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("nested");
    let v = dir_vector("nested", "unixfs-v0-2015");
    v.materialize(&tree).unwrap();
    let out = ingest(&["add", "-r", "--profile", &v.profile, tree.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    // 6008 files + 8 directories below the root, then the root.
    assert_eq!(lines.len(), 6008 + 8 + 1);
    assert_eq!(*lines.last().unwrap(), format!("added {} nested", v.cid));
    assert!(lines.contains(&"added QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn nested/empty"));

    let out = ingest(&[
        "add",
        "-r",
        "-Q",
        "--profile",
        &v.profile,
        tree.to_str().unwrap(),
    ]);
    assert_eq!(stdout(&out), format!("{}\n", v.cid));

    let out = ingest(&[
        "add",
        "-r",
        "--json",
        "--profile",
        &v.profile,
        tree.to_str().unwrap(),
    ]);
    let last: serde_json::Value =
        serde_json::from_str(stdout(&out).lines().last().unwrap()).unwrap();
    assert_eq!(last["cid"], v.cid.as_str());
    assert_eq!(last["kind"], "directory");
}

#[test]
fn add_r_car_holds_the_sharded_vector() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("tree");
    let v = dir_vector("v1-2025-threshold-over", "unixfs-v1-2025");
    v.materialize(&tree).unwrap();
    let car = tmp.path().join("tree.car");
    let out = ingest(&[
        "add",
        "-r",
        "-Q",
        "--car",
        car.to_str().unwrap(),
        tree.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), v.cid);
    assert_eq!(car_root_and_blocks(&car), (v.cid.clone(), v.blocks));
}

#[test]
fn trees_with_bad_entries_are_refused_naming_the_path() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("d");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("ok.txt"), b"ok").unwrap();

    let out = ingest(&["add", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("use -r"), "{}", stderr(&out));

    let bad = dir.join(std::ffi::OsStr::from_bytes(b"bad-\xff.bin"));
    std::fs::write(&bad, b"x").unwrap();
    let out = ingest(&["add", "-r", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not UTF-8") && stderr(&out).contains("bad-"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(&bad).unwrap();

    let fifo = dir.join("pipe");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let out = ingest(&["add", "-r", dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("pipe") && stderr(&out).contains("FIFO"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stderr(&out).lines().count(), 1);
}

/// A sparse file of 2 GiB in `dir`: with `--threads 1` an import takes over a second, time for
/// a test to act while it runs.
fn slow_input(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    path
}

/// A file that shrinks while `add` reads it gives an error naming it, never the CID of bytes
/// that never existed whole.
#[test]
fn a_file_that_changes_while_it_is_read_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = slow_input(tmp.path(), "growing.bin");
    let child = cli()
        .command()
        .args(["add", "--threads", "1", path.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Truncated once it has read 10 MB of it (its read count, from /proc).
    let io = format!("/proc/{}/io", child.id());
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(30) {
        let read = std::fs::read_to_string(&io).unwrap_or_default();
        let rchar = read
            .lines()
            .find_map(|l| l.strip_prefix("rchar: "))
            .and_then(|n| n.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if rchar > 10 << 20 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(100 << 20)
        .unwrap();
    let run = child.wait_with_output().unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stdout(&run));
    let err = stderr(&run);
    assert!(err.contains("changed while it was read"), "{err}");
    assert!(err.contains("growing.bin"), "{err}");
    assert!(stdout(&run).is_empty(), "no CID is printed");
}

/// Names in `dir` that look like our temporaries.
fn temporaries(dir: &Path) -> Vec<String> {
    entries(dir)
        .into_iter()
        .filter(|n| n.ends_with(".partial"))
        .collect()
}

/// Interrupted with SIGINT while writing a CAR, `add` removes its temporary and exits 130;
/// the temporaries a killed run left are swept by the next run into the same directory
/// (those of a live process are not).
#[test]
fn interrupted_runs_leave_no_temporaries() {
    let tmp = tempfile::tempdir().unwrap();
    let input = slow_input(tmp.path(), "big.bin");
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let car = out.join("big.car");
    let child = cli()
        .command()
        .args(["add", "--threads", "1", "--car"])
        .arg(&car)
        .arg(&input)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while temporaries(&out).is_empty() && started.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(
        temporaries(&out).len(),
        1,
        "the CAR is written to a temporary"
    );
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let run = child.wait_with_output().unwrap();
    assert_eq!(run.status.code(), Some(130), "{}", stderr(&run));
    assert!(entries(&out).is_empty(), "left: {:?}", entries(&out));

    // A dead run's temporary is swept; a live process's is not.
    let dead = Command::new("true").spawn().unwrap();
    let dead_pid = dead.id();
    let mut dead = dead;
    dead.wait().unwrap();
    let stale = format!(".big.car.{dead_pid}.AbC123.partial");
    let live = format!(".big.car.{}.XyZ789.partial", std::process::id());
    std::fs::write(out.join(&stale), b"left by a killed run").unwrap();
    std::fs::write(out.join(&live), b"being written").unwrap();
    let small = tmp.path().join("small.bin");
    std::fs::write(&small, b"small").unwrap();
    let run = ingest(&[
        "add",
        "--car",
        car.to_str().unwrap(),
        small.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(entries(&out), [live, "big.car".to_owned()]);
}
