//! `ingest volunteer`'s supervision of yt-dlp, with stand-ins for the faults a real yt-dlp
//! shows only now and then: one that hangs (the watchdog stops it and parks the video), one
//! that merges formats anyway (refused, naming why), and none at all. The worker against the
//! real yt-dlp, a video site and a node is in the network tests (`tests/network/volunteer.rs`).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{cli, json_lines, stderr};

/// A stand-in for yt-dlp at `dir/yt-dlp`: prints a version, and on a download runs `body`
/// (bash, with `$out` the directory given by `--paths` and `$printed` the report file given
/// by `--print-to-file`).
fn fake_yt_dlp(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("yt-dlp");
    let script = format!(
        r#"#!/usr/bin/env bash
for a in "$@"; do [ "$a" = --version ] && {{ echo 2099.01.01; exit 0; }}; done
out=; printed=; prev=; prev2=
for a in "$@"; do
  [ "$prev" = --paths ] && out=$a
  [ "$prev2" = --print-to-file ] && printed=$a
  prev2=$prev; prev=$a
done
echo $$ >> "{pids}"
{body}
"#,
        pids = dir.join("pids").display()
    );
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Runs `ingest volunteer --json` on a one-video list with the stand-in, pushing nowhere
/// reachable (nothing gets that far).
fn run_volunteer(dir: &Path, yt_dlp: &Path, extra: &[&str]) -> std::process::Output {
    std::fs::create_dir_all(dir).unwrap();
    let wanted = dir.join("wanted.txt");
    std::fs::write(&wanted, "generic clip http://127.0.0.1:9/clip.html\n").unwrap();
    let mut args = vec![
        "volunteer",
        "--json",
        "--wanted",
        wanted.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--yt-dlp",
        yt_dlp.to_str().unwrap(),
        "--api",
        "http://127.0.0.1:9",
        "--disk-reserve",
        "0",
        "--attempts",
        "1",
    ];
    args.extend_from_slice(extra);
    let mut command = cli().command();
    command.args(&args).env_remove("IPFS_GATEWAY");
    command.output().unwrap()
}

fn parked_reason(out: &std::process::Output) -> String {
    let lines = json_lines(out);
    let parked: Vec<_> = lines.iter().filter(|l| l["event"] == "parked").collect();
    assert_eq!(parked.len(), 1, "{lines:?}");
    parked[0]["reason"].as_str().unwrap().to_owned()
}

#[test]
fn a_yt_dlp_that_makes_no_progress_is_stopped_and_its_video_parked() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = fake_yt_dlp(tmp.path(), "exec sleep 300");
    let started = Instant::now();
    let out = run_volunteer(&tmp.path().join("w"), &fake, &["--stall", "1s"]);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let reason = parked_reason(&out);
    assert!(
        reason.contains("no progress") && reason.contains("clip.html"),
        "{reason}"
    );
    // The stalled process is gone.
    let pids = std::fs::read_to_string(tmp.path().join("pids")).unwrap();
    for pid in pids.lines() {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} still runs"
        );
    }
    let tsv = std::fs::read_to_string(tmp.path().join("w/parked.tsv")).unwrap();
    assert!(tsv.starts_with("generic\tclip\t"), "{tsv}");
}

#[test]
fn a_download_yt_dlp_merged_anyway_is_refused_naming_why() {
    let tmp = tempfile::tempdir().unwrap();
    let fake = fake_yt_dlp(
        tmp.path(),
        r#"printf 'x' > "$out/clip.f1+2.mp4"
printf '{"id":"clip","extractor_key":"Generic","title":"t"}' > "$out/clip.info.json"
printf '{"format_id":"1+2","protocol":"http+http","ext":"mp4","vcodec":"avc1","acodec":"mp4a","filepath":"%s/clip.f1+2.mp4","_filename":"%s/clip.f1+2.mp4","infojson_filename":"%s/clip.info.json"}\n' "$out" "$out" "$out" >> "$printed""#,
    );
    let out = run_volunteer(&tmp.path().join("w"), &fake, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let reason = parked_reason(&out);
    assert!(
        reason.contains("merged") && reason.contains("clip.f1+2.mp4"),
        "{reason}"
    );
    assert!(
        !tmp.path()
            .join("w/records/generic-clip.record.cbor")
            .exists(),
        "nothing archived"
    );
}

#[test]
fn a_missing_yt_dlp_is_named_with_how_to_get_it() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-yt-dlp");
    let out = run_volunteer(&tmp.path().join("w"), &missing, &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("no-such-yt-dlp") && err.contains("pip install yt-dlp"),
        "{err}"
    );
}

#[test]
fn a_bad_wanted_line_is_named_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let wanted = tmp.path().join("wanted.txt");
    std::fs::write(&wanted, "generic a http://x/a\none two three four\n").unwrap();
    let out = cli().run(&[
        "volunteer",
        "--wanted",
        wanted.to_str().unwrap(),
        "--yt-dlp",
        "/nonexistent",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("wanted.txt:2"), "{err}");
}
