//! `ingest archive`: of a yt-dlp download and of plain files.

use ingest_tests::fixtures::fake_download;
use ingest_tests::Content;

use crate::common::{cli, entries, ingest, stderr, stdout};

#[test]
fn archive_is_deterministic_and_ignores_volatile_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let a = cli().archive_json(
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
    let b = cli().archive_json(
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
    let c = cli().archive_json(
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
