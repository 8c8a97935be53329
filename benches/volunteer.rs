//! Question: what does `ingest volunteer` add to the yt-dlp downloads it runs, against the same
//! yt-dlp invocations run by a plain shell loop, and is its memory flat in the length of the
//! wanted list?
//!
//! The local video site of the tests (`tests/video-site.sh`: ffmpeg clips behind pages yt-dlp's
//! generic extractor reads) serves 100 videos; the pinned yt-dlp (`tests/ytdlp.sh`) downloads
//! them; a js-ipfs node (`tests/ipfs-node.sh`) takes the pushes, all in a private network
//! namespace (benches/volunteer.sh runs this through tests/netns.sh). The commands take turns,
//! three rounds, medians shown; before each run the output directory is new and the node's
//! pins are removed and its blocks collected (not timed):
//!
//! - the loop: `while read site id url; do yt-dlp ARGS -P DIR/site-id … -- "$url"; done`, with
//!   the download profile's arguments and the same progress and report arguments `ingest`
//!   passes (the floor: what the downloads cost);
//! - `ingest volunteer --jobs 1`: the same downloads, each archived, pushed (confirmed pinned)
//!   and published in the outbox under a key.
//!
//! Every volunteer run reads a published catalogue (`--catalogue`, a CAR) of 9,900 videos
//! others archived. Overhead = the volunteer's wall time / the loop's − 1. Then memory:
//! `ingest volunteer` on the list of 100 lines, and on one of 10,000 lines (those 9,900 and
//! the 100): the peak RSS of the `ingest` process itself (its `VmHWM`, sampled while it runs;
//! yt-dlp's own memory is not counted).
//!
//! Usage: `benches/volunteer.sh`. Environment: `INGEST_BIN`, `INGEST_BENCH_DIR`,
//! `INGEST_BENCH_VIDEOS` (default 100).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ingest_tests::fixtures::{write_records_car, RecordBuilder, Role};
use ingest_tests::ipfs::IpfsNode;
use ingest_tests::videosite::{yt_dlp, VideoSite};

mod common;
use common::{bench_dir, env_u64, ingest_bin, measure};

const ROUNDS: usize = 3;

/// Wall time and the peak RSS (KiB) of the process itself, sampled from `/proc` as it runs.
fn run_sampled(command: &mut Command) -> (Duration, u64) {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = started.elapsed();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (wall, peak)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Unpins everything the node pins and collects its blocks.
fn reset(node: &IpfsNode) {
    let (status, body) = node.rpc("pin/ls", "type=recursive");
    assert_eq!(status, 200, "{body}");
    let pins: serde_json::Value =
        serde_json::from_str(body.lines().next().unwrap_or("{}")).unwrap_or_default();
    if let Some(keys) = pins["Keys"].as_object() {
        for cid in keys.keys() {
            assert_eq!(node.rpc("pin/rm", &format!("arg={cid}")).0, 200);
        }
    }
    assert_eq!(node.rpc("repo/gc", "").0, 200);
}

fn main() {
    let videos = env_u64("INGEST_BENCH_VIDEOS", 100) as usize;
    let ingest = ingest_bin("benches/volunteer.sh");
    let yt_dlp = yt_dlp();
    let base = bench_dir("ingest-volunteer-bench");
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let site = VideoSite::start(&base.join("site"), videos, None);
    let lines: Vec<String> = site
        .wanted()
        .into_iter()
        .filter(|l| l.starts_with("generic v"))
        .collect();
    assert_eq!(lines.len(), videos);
    let wanted = base.join("wanted.txt");
    std::fs::write(&wanted, lines.join("\n") + "\n").unwrap();
    let node = IpfsNode::start(&base.join("node"));

    // The loop: the profile's yt-dlp arguments, from `ingest profiles`, and those ingest adds.
    let profiles = Command::new(&ingest)
        .args(["profiles", "--json"])
        .output()
        .unwrap();
    let profile: serde_json::Value = String::from_utf8_lossy(&profiles.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|p| p["kind"] == "download" && p["default"] == true)
        .unwrap();
    let args: Vec<String> = profile["yt_dlp_args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| shell_quote(a.as_str().unwrap()))
        .collect();
    let script = format!(
        r#"while read -r site id url; do
  d="$OUT/$site-$id"; mkdir -p "$d"
  "$YTDLP" {args} --paths "$d" --output '%(id)s.f%(format_id)s.%(ext)s' \
    --output 'infojson:%(id)s.%(ext)s' --newline --progress --progress-delta 1 \
    --progress-template 'download:PROGRESS %(info.format_id)s %(progress.downloaded_bytes)s' \
    --print-to-file 'after_move:%(.{{format_id,protocol,ext,vcodec,acodec,filepath,_filename,infojson_filename,thumbnails}})j' "$d/.printed" \
    -- "$url" > /dev/null || exit 1
done < "$WANTED""#,
        args = args.join(" ")
    );

    // The published catalogue every volunteer run reads: 9,900 videos others archived; and a
    // list of 10,000 lines, those 9,900 and the 100 of the site.
    let others = 10_000 - videos;
    let catalogue_records = base.join("others.car");
    write_records_car(
        &catalogue_records,
        (0..others).map(|i| {
            let id = format!("x{i:05}");
            RecordBuilder::new("generic", &id)
                .file(Role::Video, format!("{id}.mp4"), 1_000_000 + i as u64)
                .title(format!("Archived by someone else {i}"))
                .build()
        }),
    );
    let catalogue = base.join("catalogue.car");
    let merged = Command::new(&ingest)
        .arg("merge")
        .arg(&catalogue_records)
        .arg("--out")
        .arg(&catalogue)
        .arg("-q")
        .output()
        .unwrap();
    assert!(merged.status.success(), "{merged:?}");
    let long = base.join("wanted-10000.txt");
    let mut text = std::fs::read_to_string(&wanted).unwrap();
    for i in 0..others {
        text.push_str(&format!(
            "generic x{i:05} http://127.0.0.1:9/x{i:05}.html\n"
        ));
    }
    std::fs::write(&long, text).unwrap();
    let mut loop_times = Vec::new();
    let mut volunteer_times = Vec::new();
    let mut volunteer_rss = 0;
    for round in 0..ROUNDS {
        let out = base.join(format!("loop-{round}"));
        std::fs::create_dir_all(&out).unwrap();
        let r = measure(
            Command::new("bash")
                .args(["-c", &script])
                .env("OUT", &out)
                .env("YTDLP", &yt_dlp)
                .env("WANTED", &wanted),
        );
        loop_times.push(r.wall);

        reset(&node);
        let out = base.join(format!("volunteer-{round}"));
        let (wall, rss) = run_sampled(&mut volunteer(
            &ingest,
            &yt_dlp,
            &wanted,
            &out,
            &node.api,
            Some(&catalogue),
        ));
        volunteer_times.push(wall);
        volunteer_rss = volunteer_rss.max(rss);
        let _ = std::fs::remove_dir_all(&out);
        let _ = std::fs::remove_dir_all(base.join(format!("loop-{round}")));
    }

    reset(&node);
    let out = base.join("volunteer-long");
    let (long_wall, long_rss) = run_sampled(&mut volunteer(
        &ingest,
        &yt_dlp,
        &long,
        &out,
        &node.api,
        Some(&catalogue),
    ));
    drop(node);
    drop(site);

    let floor = median(loop_times);
    let ours = median(volunteer_times);
    println!(
        "{videos} videos from the local video site (ffmpeg clips, 1 s, about 40 KB each), \
         yt-dlp {} (pinned), js-ipfs 0.66.1 on 127.0.0.1, in a private network namespace; \
         median of {ROUNDS}",
        yt_dlp_version(&yt_dlp)
    );
    println!();
    println!("| command | wall | per video | vs the loop | peak RSS (ingest itself) |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| shell loop of yt-dlp (the floor) | {:.1} s | {:.0} ms | 1.00× | – |",
        floor.as_secs_f64(),
        floor.as_secs_f64() * 1000.0 / videos as f64
    );
    println!(
        "| ingest volunteer --jobs 1 (download, archive, push, outbox), 100 wanted lines | {:.1} s | {:.0} ms | {:.3}× (overhead {:+.1} %) | {:.1} MiB |",
        ours.as_secs_f64(),
        ours.as_secs_f64() * 1000.0 / videos as f64,
        ours.as_secs_f64() / floor.as_secs_f64(),
        (ours.as_secs_f64() / floor.as_secs_f64() - 1.0) * 100.0,
        volunteer_rss as f64 / 1024.0
    );
    println!(
        "| ingest volunteer, 10,000 wanted lines ({others} of them in the catalogue) | {:.1} s | {:.0} ms | – | {:.1} MiB |",
        long_wall.as_secs_f64(),
        long_wall.as_secs_f64() * 1000.0 / videos as f64,
        long_rss as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&base);
}

/// `ingest volunteer` of `wanted` into `out`, pushing to `api`, one download at a time.
fn volunteer(
    ingest: &Path,
    yt_dlp: &Path,
    wanted: &Path,
    out: &Path,
    api: &str,
    catalogue: Option<&Path>,
) -> Command {
    let mut c = Command::new(ingest);
    c.args(["volunteer", "-q", "--jobs", "1", "--disk-reserve", "0"])
        .args(["--key", "bench", "--api", api])
        .arg("--yt-dlp")
        .arg(yt_dlp)
        .arg("--wanted")
        .arg(wanted)
        .arg("--out")
        .arg(out);
    if let Some(catalogue) = catalogue {
        c.arg("--catalogue").arg(catalogue);
    }
    c
}

fn yt_dlp_version(yt_dlp: &PathBuf) -> String {
    let out = Command::new(yt_dlp).arg("--version").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}
