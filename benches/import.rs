//! Question: how fast does `ingest add` import a large file, relative to plain SHA-256 of the
//! same bytes on the same machine, and does its memory stay flat as files grow?
//!
//! For each profile it runs the release `ingest` binary on 1 GiB of generated content (the
//! vectors' generator), hash-only with the default thread count, hash-only with `--threads 1`,
//! and writing a CAR to a fresh file (`--car`, synced to disk before it is renamed into place),
//! then hash-only on 4 GiB to compare peak RSS. Every configuration runs five times, each after
//! a `sync` and a pause; the table shows the median wall time and the largest peak RSS (from
//! `wait4`).
//!
//! Two references are measured in the same run: SHA-256 (the `sha2` crate, SHA-NI where the CPU
//! has it) of 256 MiB held in memory, on one thread: "plain SHA-256", the reference of every
//! ratio; and the same hash reading the file through a 1 MiB buffer, as `sha256sum FILE` would,
//! shown for context. The input is read once first so it sits in the page cache: this measures
//! CPU work, not the disk.
//!
//! Usage: `benches/import.sh` (builds first). Environment: `INGEST_BIN` (default
//! `target/release/ingest`), `INGEST_BENCH_DIR` (default: the system temp dir; needs 6 GiB),
//! `INGEST_BENCH_QUICK=1` (256 MiB and 1 GiB instead of 1 GiB and 4 GiB).
//! Results are kept in `benches/runs/`.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

mod common;
use common::measure;

const GIB: u64 = 1 << 30;
const PROFILES: [&str; 3] = ["unixfs-v1-2025", "unixfs-v0-2015", "kubo-cidv1"];
const REPEATS: usize = 5;

/// Waits for the disk to be idle: writeback or discards left by an earlier run (deleting a
/// 1 GiB CAR) otherwise steal CPU from the next one.
fn settle() {
    let _ = Command::new("sync").status();
    std::thread::sleep(Duration::from_millis(300));
}

/// Median wall time and largest peak RSS over `REPEATS` runs; `before` runs ahead of each.
/// Every run must print the same CID.
fn repeat(mut make: impl FnMut() -> Command, mut before: impl FnMut()) -> (Duration, u64) {
    let mut times = Vec::new();
    let mut rss = 0;
    let mut printed: Option<String> = None;
    for _ in 0..REPEATS {
        before();
        settle();
        let run = measure(&mut make());
        times.push(run.wall);
        rss = rss.max(run.max_rss_kib);
        match &printed {
            Some(cid) => assert_eq!(cid, &run.stdout, "two runs printed different CIDs"),
            None => printed = Some(run.stdout),
        }
    }
    times.sort();
    (times[REPEATS / 2], rss)
}

fn generate(dir: &Path, size: u64) -> PathBuf {
    let path = dir.join(format!("bench-{size}.bin"));
    if std::fs::metadata(&path).map(|m| m.len()).ok() != Some(size) {
        let mut out = File::create(&path).expect("create the input");
        for piece in ingest_tests::generate_in_background("bench", size, 4 << 20) {
            out.write_all(&piece).expect("write the input");
        }
    }
    // Read it once so it is in the page cache.
    std::io::copy(&mut File::open(&path).unwrap(), &mut std::io::sink()).unwrap();
    path
}

/// Seconds single-threaded SHA-256 takes for `size` bytes held in memory (best of 3), measured
/// in a child process: a 256 MiB buffer in this process would raise its peak RSS, and a child
/// spawned with `CLONE_VM` (as `Command` does) inherits that peak in its own `ru_maxrss`.
fn sha256_in_memory(size: u64) -> f64 {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--sha256-reference", &size.to_string()])
        .output()
        .expect("the reference process runs");
    String::from_utf8(out.stdout)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .expect("the reference process prints seconds")
}

fn sha256_in_memory_here(size: u64) -> f64 {
    let buf: Vec<u8> = (0..256 << 20)
        .map(|i: u32| (i * 2654435761) as u8)
        .collect();
    let best = (0..3)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(Sha256::digest(&buf));
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);
    best * size as f64 / buf.len() as f64
}

/// Seconds single-threaded SHA-256 takes reading `path` through a 1 MiB buffer.
fn sha256_of_file(path: &Path) -> f64 {
    let t = Instant::now();
    let mut file = File::open(path).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    std::hint::black_box(h.finalize());
    t.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--sha256-reference") {
        let size = args[i + 1].parse().expect("a size");
        println!("{}", sha256_in_memory_here(size));
        return;
    }
    let bin = common::ingest_bin("benches/import.sh");
    let dir = std::env::var_os("INGEST_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("ingest-bench"));
    std::fs::create_dir_all(&dir).unwrap();
    let quick = std::env::var_os("INGEST_BENCH_QUICK").is_some();
    let (small, large) = if quick {
        (GIB / 4, GIB)
    } else {
        (GIB, 4 * GIB)
    };

    let input = generate(&dir, small);
    let mem_ref = sha256_in_memory(small);
    let file_ref = sha256_of_file(&input);
    let gbps = |secs: f64| small as f64 / secs / 1e9;
    println!(
        "input: {} MiB of generated content; cores: {}",
        small >> 20,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "reference: plain SHA-256, one thread, in memory: {:.3} s ({:.2} GB/s); reading the file: {:.3} s ({:.2} GB/s)\n",
        mem_ref,
        gbps(mem_ref),
        file_ref,
        gbps(file_ref)
    );
    println!("| profile | run | wall (median of {REPEATS}) | GB/s | × SHA-256 | × SHA-256 of file | peak RSS |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let car = dir.join("bench-out.car");
    let row = |profile: &str, what: &str, (t, rss): (Duration, u64)| {
        let s = t.as_secs_f64();
        println!(
            "| {profile} | {what} | {s:.3} s | {:.2} | {:.2} | {:.2} | {:.1} MiB |",
            gbps(s),
            mem_ref / s,
            file_ref / s,
            rss as f64 / 1024.0
        );
    };
    let add = |profile: &str, extra: &[&str], file: &Path| {
        let mut c = Command::new(&bin);
        c.args(["add", "-q", "--profile", profile])
            .args(extra)
            .arg(file);
        c
    };
    let mut rss_small = Vec::new();
    for profile in PROFILES {
        let default = repeat(|| add(profile, &[], &input), || {});
        rss_small.push(default.1);
        row(profile, "hash-only, default threads", default);
        row(
            profile,
            "hash-only, --threads 1",
            repeat(|| add(profile, &["--threads", "1"], &input), || {}),
        );
        let car_arg = car.to_str().unwrap().to_owned();
        row(
            profile,
            "--car to a fresh file",
            repeat(
                || add(profile, &["--car", &car_arg], &input),
                || {
                    let _ = std::fs::remove_file(&car);
                },
            ),
        );
    }
    let _ = std::fs::remove_file(&car);

    let big = generate(&dir, large);
    println!(
        "\npeak RSS, hash-only with default threads, {} MiB vs {} MiB:\n",
        small >> 20,
        large >> 20
    );
    println!(
        "| profile | {} MiB | {} MiB | change |",
        small >> 20,
        large >> 20
    );
    println!("| --- | --- | --- | --- |");
    for (profile, small_rss) in PROFILES.iter().zip(rss_small) {
        let (_, big_rss) = repeat(|| add(profile, &[], &big), || {});
        println!(
            "| {profile} | {:.1} MiB | {:.1} MiB | {:+.1} % |",
            small_rss as f64 / 1024.0,
            big_rss as f64 / 1024.0,
            (big_rss as f64 / small_rss as f64 - 1.0) * 100.0
        );
    }
}
