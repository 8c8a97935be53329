//! Question: how fast does `ingest fetch` download and archive a 1 GiB body from a local server,
//! relative to `curl -o` of the same URL in the same run, and does its memory stay flat?
//!
//! The body is the vectors' 1 GiB + 1 byte file (`public-12`), written once to disk and served
//! from the page cache by the test kit's HTTP server (sendfile) on 127.0.0.1, so the network and
//! the server are not the bottleneck. Each command runs five times into a fresh output after a
//! `sync` and a pause; the table shows the median wall time, the throughput and the largest peak
//! RSS (from `wait4`, the client's own).
//!
//! - `curl -o`: the reference. It writes 1 GiB and does not sync it.
//! - `curl -o`, then `sync FILE`: the same bytes made durable, as `ingest` makes its outputs.
//! - `ingest fetch`: the default, the file and the record only (1 GiB written and synced),
//!   imported as the bytes arrive. Its CID must be the vector's.
//! - `ingest fetch --car`: the file and the CAR (2 GiB), both synced before they are renamed
//!   into place.
//! - `ingest fetch --threads 1`: one hashing thread.
//! - `curl -o` then `ingest archive`: the two-pass way, for context.
//! - `dd` of 2 GiB with `O_DIRECT`, synced: the disk's floor for writing the file and the CAR.
//!
//! Usage: `benches/fetch.sh` (builds first). Environment: `INGEST_BIN`, `INGEST_BENCH_DIR`
//! (default: the system temp dir; needs 3 GiB). Results are kept in `benches/runs/`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ingest_tests::http::{Body, Resource, Server};
use ingest_tests::Content;

mod common;
use common::{bench_dir, ingest_bin, measure, vector, Run};

const REPEATS: usize = 5;
const SEED: &str = "public-12";
const PROFILE: &str = "unixfs-v1-2025";

fn settle() {
    let _ = Command::new("sync").status();
    std::thread::sleep(Duration::from_millis(500));
}

/// Median wall time and largest peak RSS over `REPEATS` runs, each into a fresh `out`.
fn repeat(out: &Path, mut run: impl FnMut(&Path) -> Run) -> (Duration, u64, String) {
    let mut times = Vec::new();
    let mut rss = 0;
    let mut printed = String::new();
    for _ in 0..REPEATS {
        let _ = std::fs::remove_dir_all(out);
        std::fs::create_dir_all(out).unwrap();
        settle();
        let r = run(out);
        times.push(r.wall);
        rss = rss.max(r.max_rss_kib);
        printed = r.stdout;
    }
    let _ = std::fs::remove_dir_all(out);
    times.sort();
    (times[REPEATS / 2], rss, printed)
}

fn main() {
    let vector = vector(SEED, PROFILE);
    let base = bench_dir("ingest-fetch-bench");
    std::fs::create_dir_all(&base).unwrap();
    let body = base.join("body.bin");
    if std::fs::metadata(&body).map(|m| m.len()).ok() != Some(vector.size) {
        let mut f = std::fs::File::create(&body).unwrap();
        std::io::copy(&mut Content::new(&vector.seed, vector.size), &mut f).unwrap();
    }
    // Into the page cache.
    std::io::copy(
        &mut std::fs::File::open(&body).unwrap(),
        &mut std::io::sink(),
    )
    .unwrap();
    let server = Server::start().unwrap();
    server.put(
        "/v/bench.mp4",
        Resource::with_body(Body::File(body.clone())),
    );
    let url = server.url("/v/bench.mp4");
    let ingest = ingest_bin("benches/fetch.sh");
    let out = base.join("out");

    let (curl, curl_rss, _) = repeat(&out, |out| {
        measure(
            Command::new("curl")
                .args(["-sS", "--fail", "-o"])
                .arg(out.join("bench.mp4"))
                .arg(&url),
        )
    });
    let (durable, durable_rss, _) = repeat(&out, |out| {
        let script = "curl -sS --fail -o \"$1\" \"$2\" && sync \"$1\"";
        measure(
            Command::new("sh")
                .args(["-c", script, "sh"])
                .arg(out.join("bench.mp4"))
                .arg(&url),
        )
    });
    // The disk's own limit: writing the file and the CAR (2 GiB) durably takes at least this.
    let (disk, _, _) = repeat(&out, |out| {
        measure(
            Command::new("dd")
                .args([
                    "if=/dev/zero",
                    "bs=4M",
                    "count=512",
                    "oflag=direct",
                    "conv=fsync",
                ])
                .arg(format!("of={}", out.join("zero").display()))
                .stderr(std::process::Stdio::null()),
        )
    });
    let fetch = |extra: &[&str]| {
        let (time, rss, printed) = repeat(&out, |out| {
            measure(
                Command::new(&ingest)
                    .args(["fetch", &url, "--site", "bench", "--id", "bench"])
                    .args(["-q", "--json", "--profile", PROFILE, "--out"])
                    .arg(out)
                    .args(extra),
            )
        });
        let line: serde_json::Value = serde_json::from_str(printed.trim()).unwrap();
        assert_eq!(
            line["video"],
            vector.cid.as_str(),
            "the CID is the vector's"
        );
        (time, rss)
    };
    let (ingest_time, ingest_rss) = fetch(&[]);
    let (car_time, car_rss) = fetch(&["--car"]);
    let (one_time, one_rss) = fetch(&["--threads", "1"]);
    let (two_pass, two_rss, _) = repeat(&out, |out| {
        let a = measure(
            Command::new("curl")
                .args(["-sS", "--fail", "-o"])
                .arg(out.join("bench.mp4"))
                .arg(&url),
        );
        let b = measure(
            Command::new(&ingest)
                .args(["archive", "-q", "--site", "bench", "--id", "bench"])
                .arg(out.join("bench.mp4"))
                .arg("--out")
                .arg(out),
        );
        Run {
            wall: a.wall + b.wall,
            max_rss_kib: a.max_rss_kib.max(b.max_rss_kib),
            stdout: String::new(),
        }
    });

    let gib = vector.size as f64 / (1u64 << 30) as f64;
    println!(
        "1 GiB + 1 byte ({}) from 127.0.0.1, profile {PROFILE}; median of {REPEATS}; \
         ratio = curl's time / this time (≥ 1: as fast as curl or faster)",
        vector.seed
    );
    println!();
    println!("| command | wall | throughput | ratio to curl -o | peak RSS |");
    println!("|---|---:|---:|---:|---:|");
    for (name, time, rss) in [
        ("curl -o", curl, curl_rss),
        ("curl -o, then sync FILE", durable, durable_rss),
        ("ingest fetch (file + record)", ingest_time, ingest_rss),
        ("ingest fetch --car (file + CAR)", car_time, car_rss),
        ("ingest fetch --threads 1", one_time, one_rss),
        ("curl -o, then ingest archive", two_pass, two_rss),
    ] {
        println!(
            "| {name} | {:.2} s | {:.0} MiB/s | {:.2}× | {:.1} MiB |",
            time.as_secs_f64(),
            gib * 1024.0 / time.as_secs_f64(),
            curl.as_secs_f64() / time.as_secs_f64(),
            rss as f64 / 1024.0
        );
    }
    println!();
    println!(
        "disk: 2 GiB written with O_DIRECT and synced (dd bs=4M) in {:.2} s, the floor for \
         writing the file and the CAR durably",
        disk.as_secs_f64()
    );
    println!("video CID {} (the vector's)", vector.cid);
}
