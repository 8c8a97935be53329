//! `ingest archive`: of a yt-dlp download and of plain files.

use ingest_tests::fixtures::fake_download;
use ingest_tests::Content;

use crate::common::{cli, entries, ingest, stderr, stdout};

/// `ingest archive FILE --site SITE --id ID --out OUT`.
fn archive_plain(file: &str, site: &str, id: &str, out: &str) -> std::process::Output {
    ingest(&["archive", file, "--site", site, "--id", id, "--out", out])
}

/// `ingest archive --json` of a fake download in `tmp/NAME` with `info` over its defaults,
/// written to `tmp/out-NAME`: its line of JSON.
fn archive_fake(tmp: &std::path::Path, name: &str, info: serde_json::Value) -> serde_json::Value {
    cli().archive_json(
        &fake_download(&tmp.join(name), info),
        &tmp.join(format!("out-{name}")),
    )
}

/// Two downloads that differ only in what yt-dlp writes differently on every run, or for every
/// volunteer, give one record, byte for byte, and one directory.
#[test]
fn archive_is_deterministic_and_ignores_volatile_fields() {
    let tmp = tempfile::tempdir().unwrap();
    let a = archive_fake(tmp.path(), "a", serde_json::json!({}));
    // What yt-dlp writes differently on every run, or for every volunteer.
    let volatile = serde_json::json!({
        "epoch": 1800000000, "view_count": 999999, "like_count": 5000, "comment_count": 7,
        "_filename": "/home/volunteer/vid.mp4", "filepath": "/home/volunteer/vid.mp4",
        "requested_downloads": [{"filepath": "/tmp/x/vid.mp4"}],
        "http_headers": {"User-Agent": "yt-dlp/2099"},
        "formats": [{"format_id": "18", "ext": "mp4", "vcodec": "avc1", "acodec": "mp4a",
                     "url": "https://rr9.example/videoplayback?expire=2&sig=ZZZ"}],
    });
    let b = archive_fake(tmp.path(), "b", volatile);
    assert_eq!(a["record"], b["record"]);
    assert_eq!(a["directory"], b["directory"]);
    assert_eq!(
        std::fs::read(tmp.path().join("out-a/youtube-vid.record.cbor")).unwrap(),
        std::fs::read(tmp.path().join("out-b/youtube-vid.record.cbor")).unwrap()
    );
}

/// A stable field does change the record: the comparison of
/// `archive_is_deterministic_and_ignores_volatile_fields` can fail.
#[test]
fn a_stable_field_changes_the_record() {
    let tmp = tempfile::tempdir().unwrap();
    let a = archive_fake(tmp.path(), "a", serde_json::json!({}));
    let c = archive_fake(
        tmp.path(),
        "c",
        serde_json::json!({"title": "Another title"}),
    );
    assert_ne!(a["record"], c["record"]);
}

/// The video CID is the file's own.
#[test]
fn the_video_cid_is_the_one_add_gives() {
    let tmp = tempfile::tempdir().unwrap();
    let a = archive_fake(tmp.path(), "a", serde_json::json!({}));
    let added = ingest(&["add", "-Q", tmp.path().join("a/vid.mp4").to_str().unwrap()]);
    assert_eq!(a["video"], stdout(&added).trim());
}

#[test]
fn a_download_gives_a_thumbnail_a_video_a_car_and_a_record() {
    let tmp = tempfile::tempdir().unwrap();
    let a = archive_fake(tmp.path(), "a", serde_json::json!({}));
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
    let out = archive_plain(
        video.to_str().unwrap(),
        "Bad Site",
        "1",
        tmp.path().join("p").to_str().unwrap(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("source.site"), "{}", stderr(&out));
    assert!(!tmp.path().join("p").exists());
}

/// Only the names yt-dlp's output template gives this video's files are archived: `vid.x.mp4`
/// belongs to a video `vid.x`, and subtitles count only in a language the info.json lists.
#[test]
fn archive_takes_only_the_files_yt_dlp_names_for_this_video() {
    let tmp = tempfile::tempdir().unwrap();
    let info = fake_download(
        &tmp.path().join("dl"),
        serde_json::json!({"subtitles": {"en": [{"ext": "vtt"}]}}),
    );
    let dir = tmp.path().join("dl");
    std::fs::write(dir.join("vid.x.mp4"), b"another video's bytes").unwrap();
    std::fs::write(dir.join("vid.x.info.json"), b"{}").unwrap();
    std::fs::write(dir.join("vid.en.vtt"), b"WEBVTT\n").unwrap();
    std::fs::write(dir.join("vid.zz.vtt"), b"WEBVTT\n").unwrap();
    std::fs::write(dir.join("vid.description"), b"About it").unwrap();
    let out = cli().archive_json(&info, &tmp.path().join("out"));
    let names: Vec<_> = out["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["vid.description", "vid.en.vtt", "vid.jpg", "vid.mp4"]
    );

    // An info.json with no name before `.info.json` names no video.
    std::fs::copy(&info, dir.join(".info.json")).unwrap();
    let run = ingest(&[
        "archive",
        dir.join(".info.json").to_str().unwrap(),
        "--out",
        tmp.path().join("out2").to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    assert!(stderr(&run).contains(".info.json"), "{}", stderr(&run));
}

/// A link beside the info.json under one of the video's names is refused, naming it: what it
/// points to (any file of the machine) is never imported.
#[test]
fn archive_refuses_links_beside_the_info_json() {
    let tmp = tempfile::tempdir().unwrap();
    let info = fake_download(&tmp.path().join("dl"), serde_json::json!({}));
    let secret = tmp.path().join("secret");
    std::fs::write(&secret, b"not for the public network").unwrap();
    std::os::unix::fs::symlink(&secret, tmp.path().join("dl/vid.webp")).unwrap();
    let out = tmp.path().join("out");
    let run = ingest(&[
        "archive",
        info.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(!run.status.success());
    let err = stderr(&run);
    assert!(
        err.contains("vid.webp is a symbolic link"),
        "the error names the link: {err}"
    );
    assert!(entries(&out).is_empty(), "nothing is written");

    // Named on the command line, the file it points to is the user's choice.
    let run = archive_plain(
        tmp.path().join("dl/vid.webp").to_str().unwrap(),
        "example",
        "1",
        out.to_str().unwrap(),
    );
    assert!(run.status.success(), "{}", stderr(&run));
}

/// An id that passes the record's rules but makes an output name longer than a file name can
/// be is refused before anything is written: never a CAR without its record.
#[test]
fn archive_checks_every_output_name_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("clip.mp4");
    std::fs::write(&file, Content::bytes("long-id", 1000)).unwrap();
    let out = tmp.path().join("out");
    let id = "x".repeat(240);
    let run = archive_plain(
        file.to_str().unwrap(),
        "example",
        &id,
        out.to_str().unwrap(),
    );
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(stderr(&run).contains("is too long"), "{}", stderr(&run));
    assert!(entries(&out).is_empty(), "nothing is written");
}

/// A duration no video has (`1e300` seconds) is left out of the record with a warning, never
/// stored as the saturated 18446744073709551615 ms.
#[test]
fn archive_leaves_out_an_implausible_duration() {
    let tmp = tempfile::tempdir().unwrap();
    let info = fake_download(
        &tmp.path().join("dl"),
        serde_json::json!({"duration": 1e300}),
    );
    let out = cli().archive_json(&info, &tmp.path().join("out"));
    let warnings = out["warnings"].to_string();
    assert!(warnings.contains("not a plausible length"), "{warnings}");
    let shown = ingest(&[
        "record",
        "show",
        tmp.path()
            .join("out/youtube-vid.record.cbor")
            .to_str()
            .unwrap(),
    ]);
    assert!(shown.status.success(), "{}", stderr(&shown));
    assert!(
        !stdout(&shown).contains("duration_ms"),
        "{}",
        stdout(&shown)
    );
}

#[test]
fn a_page_beside_a_download_is_refused_naming_it() {
    for name in ["vid.html", "vid.svg", "vid.js"] {
        let tmp = tempfile::tempdir().unwrap();
        let info = fake_download(&tmp.path().join("dl"), serde_json::json!({}));
        std::fs::write(tmp.path().join("dl").join(name), b"<p>hi</p>").unwrap();
        let out_dir = tmp.path().join("out");
        let out = ingest(&[
            "archive",
            info.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = stderr(&out);
        assert!(err.contains(name) && err.contains("page"), "{name}: {err}");
        assert!(
            !out_dir.exists() || entries(&out_dir).is_empty(),
            "{name}: nothing written"
        );
    }
}

#[test]
fn a_media_file_whose_bytes_are_a_page_is_refused_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let video = tmp.path().join("clip.mp4");
    std::fs::write(&video, b"\n<!DOCTYPE html><script>alert(1)</script>").unwrap();
    let out_dir = tmp.path().join("o");
    let out = archive_plain(
        video.to_str().unwrap(),
        "example",
        "42",
        out_dir.to_str().unwrap(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("clip.mp4") && err.contains("HTML"), "{err}");
    assert!(!out_dir.exists() || entries(&out_dir).is_empty());
}
