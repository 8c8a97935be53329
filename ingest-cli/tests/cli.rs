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

/// The root named in a CAR's header and its number of blocks, every block checked.
fn car_root_and_blocks(car: &Path) -> (String, u64) {
    let mut reader = CarReader::new(std::fs::File::open(car).unwrap()).unwrap();
    let root = reader.roots()[0].to_string();
    let blocks = reader
        .by_ref()
        .collect::<Result<Vec<_>, _>>()
        .unwrap()
        .len();
    (root, blocks as u64)
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

/// A yt-dlp-like download in `dir`: `vid.info.json` (with `extra` merged in), `vid.mp4`,
/// `vid.jpg`.
fn fake_download(dir: &Path, extra: serde_json::Value) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("vid.mp4"), Content::bytes("fake-video", 300_000)).unwrap();
    std::fs::write(dir.join("vid.jpg"), Content::bytes("fake-thumb", 2_000)).unwrap();
    let mut info = serde_json::json!({
        "id": "vid", "extractor": "youtube", "extractor_key": "Youtube",
        "webpage_url": "https://www.youtube.com/watch?v=vid",
        "title": "A video", "uploader": "Someone", "upload_date": "20240102",
        "duration": 12.5, "tags": ["a", "b"], "width": 640, "height": 360,
        "format_id": "18", "ext": "mp4",
        "formats": [{"format_id": "18", "ext": "mp4", "vcodec": "avc1", "acodec": "mp4a",
                     "url": "https://rr1.example/videoplayback?expire=1&sig=AAA"}],
        "epoch": 1700000000, "view_count": 10, "like_count": 1,
    });
    for (k, v) in extra.as_object().unwrap() {
        info[k] = v.clone();
    }
    let path = dir.join("vid.info.json");
    std::fs::write(&path, serde_json::to_vec(&info).unwrap()).unwrap();
    path
}

fn archive_json(info: &Path, out: &Path) -> serde_json::Value {
    let out = ingest(&[
        "archive",
        "--json",
        info.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_str(stdout(&out).trim()).unwrap()
}

#[test]
fn archive_is_deterministic_and_ignores_volatile_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let a = archive_json(
        &fake_download(&tmp.path().join("a"), serde_json::json!({})),
        &tmp.path().join("out-a"),
    );
    // What yt-dlp writes differently on every run, or for every volunteer.
    let volatile = serde_json::json!({
        "epoch": 1800000000, "view_count": 999999, "like_count": 5000, "comment_count": 7,
        "_filename": "/home/volunteer/vid.mp4", "filepath": "/home/volunteer/vid.mp4",
        "requested_downloads": [{"filepath": "/tmp/x/vid.mp4"}],
        "http_headers": {"User-Agent": "yt-dlp/2099"},
        "formats": [{"format_id": "18", "ext": "mp4", "vcodec": "avc1", "acodec": "mp4a",
                     "url": "https://rr9.example/videoplayback?expire=2&sig=ZZZ"}],
    });
    let b = archive_json(
        &fake_download(&tmp.path().join("b"), volatile),
        &tmp.path().join("out-b"),
    );
    assert_eq!(a["record"], b["record"]);
    assert_eq!(a["directory"], b["directory"]);
    assert_eq!(
        std::fs::read(tmp.path().join("out-a/youtube-vid.record.cbor")).unwrap(),
        std::fs::read(tmp.path().join("out-b/youtube-vid.record.cbor")).unwrap()
    );
    // The video CID is the file's own.
    let added = ingest(&["add", "-Q", tmp.path().join("a/vid.mp4").to_str().unwrap()]);
    assert_eq!(a["video"], stdout(&added).trim());
    // A stable field does change it: the comparison above can fail.
    let c = archive_json(
        &fake_download(
            &tmp.path().join("c"),
            serde_json::json!({"title": "Another title"}),
        ),
        &tmp.path().join("out-c"),
    );
    assert_ne!(a["record"], c["record"]);
    let roles: Vec<_> = a["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["role"].clone())
        .collect();
    assert_eq!(roles, ["thumbnail", "video"]);
    assert_eq!(
        entries(&tmp.path().join("out-a")),
        ["youtube-vid.car", "youtube-vid.record.cbor"]
    );
}

#[test]
fn archive_warns_about_merged_output() {
    let tmp = tempfile::tempdir().unwrap();
    let info = fake_download(
        tmp.path(),
        serde_json::json!({"format_id": "137+140", "requested_formats": [
            {"format_id": "137", "ext": "mp4"}, {"format_id": "140", "ext": "m4a"}]}),
    );
    let out = ingest(&[
        "archive",
        info.to_str().unwrap(),
        "--out",
        tmp.path().join("o").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: vid.mp4: merged from formats 137+140"),
        "{err}"
    );
    assert!(err.contains("-f 137,140"), "{err}");
}

#[test]
fn archive_plain_files_with_site_and_id() {
    let tmp = tempfile::tempdir().unwrap();
    let video = tmp.path().join("clip.webm");
    std::fs::write(&video, Content::bytes("plain", 5000)).unwrap();
    let out_dir = tmp.path().join("o");
    let out = ingest(&[
        "archive",
        video.to_str().unwrap(),
        "--site",
        "example",
        "--id",
        "42",
        "--title",
        "A clip",
        "--profile",
        "unixfs-v0-2015",
        "--out",
        out_dir.to_str().unwrap(),
        "--json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let added = ingest(&[
        "add",
        "-Q",
        "--profile",
        "unixfs-v0-2015",
        video.to_str().unwrap(),
    ]);
    assert_eq!(line["video"], stdout(&added).trim());
    let record = out_dir.join("example-42.record.cbor");
    let check = ingest(&[
        "record",
        "check",
        record.to_str().unwrap(),
        "--data",
        tmp.path().to_str().unwrap(),
    ]);
    assert!(check.status.success(), "{}", stdout(&check));
    // A changed file is caught.
    std::fs::write(&video, b"other bytes").unwrap();
    let check = ingest(&[
        "record",
        "check",
        record.to_str().unwrap(),
        "--data",
        tmp.path().to_str().unwrap(),
    ]);
    assert_eq!(check.status.code(), Some(1));
    assert!(stdout(&check).contains("FAILED"), "{}", stdout(&check));
    // A bad site is refused before anything is written.
    let out = ingest(&[
        "archive",
        video.to_str().unwrap(),
        "--site",
        "Bad Site",
        "--id",
        "1",
        "--out",
        tmp.path().join("p").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("source.site"), "{}", stderr(&out));
    assert!(!tmp.path().join("p").exists());
}

#[test]
fn malformed_records_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let info = fake_download(&tmp.path().join("d"), serde_json::json!({}));
    archive_json(&info, &tmp.path().join("o"));
    let good = std::fs::read(tmp.path().join("o/youtube-vid.record.cbor")).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let mut version2 = good.clone();
    let at = good.windows(8).position(|w| w == b"version\x01").unwrap();
    version2[at + 7] = 0x02;
    // The same record with its version written in two bytes (0x18 0x01): same data, not
    // canonical.
    let mut wide = good[..at + 7].to_vec();
    wide.extend([0x18, 0x01]);
    wide.extend_from_slice(&good[at + 8..]);
    let cases = [
        (write("wide.cbor", &wide), "canonical"),
        (
            write("truncated.cbor", &good[..good.len() / 2]),
            "not valid DAG-CBOR",
        ),
        (
            write("json.cbor", b"{\"version\": 1}"),
            "not valid DAG-CBOR",
        ),
        (write("list.cbor", &[0x81, 0x01]), "expected a map"),
        (write("huge.cbor", &vec![0u8; 300 * 1024]), "over the limit"),
        (write("v2.cbor", &version2), "version 2 is not supported"),
    ];
    for (path, needle) in cases {
        for args in [vec!["record", "show"], vec!["record", "check"]] {
            let mut argv = args.clone();
            argv.push(path.to_str().unwrap());
            let out = ingest(&argv);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{argv:?}: {err}");
            assert!(
                err.contains(path.file_name().unwrap().to_str().unwrap()) && err.contains(needle),
                "{argv:?}: {err}"
            );
        }
    }
    let show = ingest(&[
        "record",
        "show",
        tmp.path()
            .join("o/youtube-vid.record.cbor")
            .to_str()
            .unwrap(),
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&show)).unwrap();
    assert_eq!(json["meta"]["duration_ms"], 12500);
    assert!(json["files"][1]["cid"]["/"]
        .as_str()
        .unwrap()
        .starts_with("bafk"));
}

/// Archives `n` small generated files as records of `site` under `out/records`.
fn archive_many(out: &Path, site: &str, n: usize, tag: &str) -> Vec<PathBuf> {
    let data = out.join("data");
    std::fs::create_dir_all(&data).unwrap();
    (0..n)
        .map(|i| {
            let file = data.join(format!("{site}-{i}.mp4"));
            std::fs::write(
                &file,
                Content::bytes(&format!("{site}-{i}"), 1000 + i as u64),
            )
            .unwrap();
            let dir = out.join("records");
            let title = format!("{tag} {i}");
            let o = ingest(&[
                "archive",
                file.to_str().unwrap(),
                "--site",
                site,
                "--id",
                &format!("v{i}"),
                "--title",
                &title,
                "--out",
                dir.to_str().unwrap(),
                "-q",
            ]);
            assert!(o.status.success(), "{}", stderr(&o));
            dir.join(format!("{site}-v{i}.record.cbor"))
        })
        .collect()
}

fn merge_root(args: &[&str]) -> (String, serde_json::Value) {
    let mut argv = vec!["merge", "--json"];
    argv.extend_from_slice(args);
    let out = ingest(&argv);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    (summary["root"].as_str().unwrap().to_owned(), summary)
}

#[test]
fn merge_is_order_independent_and_incremental() {
    let tmp = tempfile::tempdir().unwrap();
    let mut records = archive_many(tmp.path(), "youtube", 6, "first");
    records.extend(archive_many(tmp.path(), "vimeo", 3, "first"));
    let paths: Vec<&str> = records.iter().map(|p| p.to_str().unwrap()).collect();
    let cat = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();
    let (all, summary) = merge_root(&[&paths[..], &["--out", &cat("all.car")]].concat());
    assert_eq!(summary["added"], 9);
    let mut reversed = paths.clone();
    reversed.reverse();
    let (again, _) = merge_root(&[&reversed[..], &["--out", &cat("rev.car")]].concat());
    assert_eq!(again, all);
    // In two steps: the base, then the rest.
    let (step1, _) = merge_root(&[&paths[..4], &["--out", &cat("s1.car")]].concat());
    assert_ne!(step1, all);
    let (step2, summary) = merge_root(
        &[
            &paths[4..],
            &["--base", &cat("s1.car"), "--out", &cat("s2.car")],
        ]
        .concat(),
    );
    assert_eq!(step2, all);
    assert!(summary["blocks_read"].as_u64().unwrap() > 0);
    // The stepwise CAR holds the whole catalogue: every video listed.
    let ls = ingest(&["ls", &cat("s2.car")]);
    assert_eq!(stdout(&ls).lines().count(), 9);
    // Merging the same records again changes nothing.
    let (same, summary) = merge_root(
        &[
            &paths[..],
            &["--base", &cat("all.car"), "--out", &cat("same.car")],
        ]
        .concat(),
    );
    assert_eq!(same, all);
    assert_eq!(summary["added"], 0);
    assert_eq!(summary["unchanged"], 9);

    // todo: what is missing, split between volunteers without overlap.
    let ids = tmp.path().join("ids.txt");
    let list: String = (0..40).map(|i| format!("youtube v{i}\n")).collect();
    std::fs::write(&ids, list).unwrap();
    let todo = stdout(&ingest(&[
        "todo",
        &cat("all.car"),
        "--ids",
        ids.to_str().unwrap(),
    ]));
    assert_eq!(todo.lines().count(), 34, "v0..v5 are archived");
    assert!(!todo.contains("youtube v0\n"));
    let mut shares: Vec<String> = (1..=3)
        .flat_map(|i| {
            let out = ingest(&[
                "todo",
                &cat("all.car"),
                "--ids",
                ids.to_str().unwrap(),
                "--shard",
                &format!("{i}/3"),
            ]);
            stdout(&out).lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect();
    shares.sort();
    let mut want: Vec<String> = todo.lines().map(str::to_owned).collect();
    want.sort();
    assert_eq!(shares, want, "the shares are disjoint and cover everything");
    let export = stdout(&ingest(&["export-archive", &cat("all.car")]));
    assert!(export.lines().any(|l| l == "vimeo v2"));
    assert_eq!(export.lines().count(), 9);
}

#[test]
fn a_damaged_base_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let records = archive_many(tmp.path(), "youtube", 3, "x");
    let base = tmp.path().join("base.car");
    merge_root(&[
        records[0].to_str().unwrap(),
        "--out",
        base.to_str().unwrap(),
    ]);
    let good = std::fs::read(&base).unwrap();
    let mut flipped = good.clone();
    let last = flipped.len() - 5;
    flipped[last] ^= 0x40;
    let cases = [
        (
            "truncated.car",
            good[..good.len() - 7].to_vec(),
            "truncated",
        ),
        ("flipped.car", flipped, "does not match its cid"),
        (
            "garbage.car",
            b"not a car at all".to_vec(),
            "base catalogue",
        ),
    ];
    for (name, bytes, needle) in cases {
        let damaged = tmp.path().join(name);
        std::fs::write(&damaged, &bytes).unwrap();
        let out_car = tmp.path().join(format!("out-{name}"));
        let out = ingest(&[
            "merge",
            records[1].to_str().unwrap(),
            records[2].to_str().unwrap(),
            "--base",
            damaged.to_str().unwrap(),
            "--out",
            out_car.to_str().unwrap(),
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(needle), "{name}: {err}");
        assert!(!out_car.exists(), "{name}: an output was written");
    }
    assert!(entries(tmp.path()).iter().all(|n| !n.contains(".partial")));
}

#[test]
fn rejected_records_are_listed_and_the_rest_merged() {
    let tmp = tempfile::tempdir().unwrap();
    let records = archive_many(tmp.path(), "youtube", 2, "x");
    let bad = tmp.path().join("bad.record.cbor");
    std::fs::write(&bad, b"\xa1\x61x\x01").unwrap();
    let out_car = tmp.path().join("cat.car");
    let out = ingest(&[
        "merge",
        records[0].to_str().unwrap(),
        bad.to_str().unwrap(),
        records[1].to_str().unwrap(),
        "--profile",
        "unixfs-v0-2015",
        "--out",
        out_car.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("rejected   3"), "{text}");
    assert!(
        text.contains("bad.record.cbor: field version: missing"),
        "{text}"
    );
    assert!(
        text.contains("record of profile unixfs-v1-2025, the catalogue is unixfs-v0-2015"),
        "{text}"
    );
    assert!(
        out_car.exists(),
        "the rest is merged (here: nothing) and written"
    );
}
