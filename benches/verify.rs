//! Question: what does `ingest verify FILE CID` cost, trying the whole candidate set on a 1 GiB
//! file, next to one `ingest add` of the same file (the target: at most 3 ×), and next
//! to the floor of hashing the file once?
//!
//! The input is the vectors' 1 GiB + 1 byte file (`public-12`), written once and read once
//! before the runs so it sits in the page cache: this measures CPU work, not the disk. Every
//! round runs each command once, in turn (so a machine shared with other work slows them all
//! alike), seven rounds; the table shows the median and the best wall time with their ratios
//! to `ingest add`'s, the median CPU time (user + system, from GNU time, which other work on the
//! machine disturbs less than the wall time) with its ratio, and the largest peak RSS.
//!
//! - `sha256sum FILE`: coreutils, as the issue names it (without SHA-NI here: slower than the
//!   library's hashing).
//! - one SHA-256 pass: the `sha2` crate (SHA-NI) over the file through a 64 KiB buffer, in this
//!   process, one thread: the floor of reading and hashing the file once.
//! - `ingest add -q FILE`: the default profile (unixfs-v1-2025), and unixfs-v0-2015.
//! - `ingest verify FILE CID` with the file's unixfs-v1-2025 and unixfs-v0-2015 CIDs (matches),
//!   with another file's CIDv0 (no match: every candidate computed, the worst case), and with the
//!   file's raw CID (one raw block: one pass, as the CID allows nothing else).
//!
//! The whole candidate set hashes a large file four times (raw and dag-pb leaves of 256 KiB and
//! 1 MiB chunks: a raw and a dag-pb leaf of the same chunk have unrelated digests), so its floor
//! is four SHA-256 passes shared by the cores; the table shows that too.
//!
//! Usage: `benches/verify.sh` (builds first). Environment: `INGEST_BIN`, `INGEST_BENCH_DIR`
//! (default: the system temp dir; needs 1 GiB). Results are kept in `benches/runs/`.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

mod common;
use common::{bench_dir, ingest_bin, vector};

const ROUNDS: usize = 7;
const SEED: &str = "public-12";

/// One SHA-256 pass over `path` through a 64 KiB buffer, on this thread; returns the digest.
fn sha256_of_file(path: &Path) -> (Duration, [u8; 32]) {
    let t = Instant::now();
    let mut file = File::open(path).unwrap();
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let digest = h.finalize().into();
    (t.elapsed(), digest)
}

/// A CIDv1 raw block whose sha2-256 digest is `digest`, as text (base32, `b…`).
fn raw_cid(digest: &[u8; 32]) -> String {
    let mut bytes = vec![0x01, 0x55, 0x12, 0x20];
    bytes.extend_from_slice(digest);
    ingest_core::Cid::try_from(&bytes[..]).unwrap().to_string()
}

/// One command's runs: wall times (measured here), CPU times and peak RSS (GNU time's).
struct Row {
    name: String,
    wall: Vec<f64>,
    cpu: Vec<f64>,
    rss_kib: u64,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Runs `argv` under GNU time; checks its exit status and the start of its first line.
/// Returns (wall s, CPU s = user + system, peak RSS KiB).
fn run(argv: &[String], status: i32, first: &str, dir: &Path) -> (f64, f64, u64) {
    let times = dir.join("times.txt");
    let out = dir.join("stdout.txt");
    let start = Instant::now();
    let exit = Command::new("/usr/bin/time")
        .args(["-f", "%U %S %M", "-o"])
        .arg(&times)
        .args(argv)
        .stdout(File::create(&out).unwrap())
        .status()
        .expect("GNU time (/usr/bin/time) runs");
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(exit.code(), Some(status), "{argv:?}");
    let printed = std::fs::read_to_string(&out).unwrap();
    let line = printed.lines().next().unwrap_or("");
    assert!(line.starts_with(first), "{argv:?} printed {line:?}");
    let text = std::fs::read_to_string(&times).unwrap();
    // The last line: a failing command makes time print a note first.
    let fields: Vec<&str> = text.lines().last().unwrap().split_whitespace().collect();
    let user: f64 = fields[0].parse().unwrap();
    let system: f64 = fields[1].parse().unwrap();
    (wall, user + system, fields[2].parse().unwrap())
}

fn main() {
    let base = bench_dir("ingest-verify-bench");
    std::fs::create_dir_all(&base).unwrap();
    let v1 = vector(SEED, "unixfs-v1-2025");
    let v0 = vector(SEED, "unixfs-v0-2015");
    let other = vector("public-11", "unixfs-v0-2015");
    let input = base.join("public-12.bin");
    if std::fs::metadata(&input).map(|m| m.len()).ok() != Some(v1.size) {
        let mut out = File::create(&input).unwrap();
        for piece in ingest_tests::generate_in_background(SEED, v1.size, 4 << 20) {
            std::io::Write::write_all(&mut out, &piece).unwrap();
        }
    }
    let (_, digest) = sha256_of_file(&input);
    assert_eq!(
        ingest_tests::hex(&digest),
        v1.sha256,
        "the vector's content"
    );
    let raw = raw_cid(&digest);
    let ingest = ingest_bin("benches/verify.sh");
    let file = input.to_str().unwrap().to_owned();

    // (name, command, expected exit status, what the first line of stdout starts with)
    let runs: Vec<(String, Vec<String>, i32, String)> = vec![
        (
            "`sha256sum FILE` (coreutils)".into(),
            vec!["sha256sum".into(), file.clone()],
            0,
            v1.sha256.clone(),
        ),
        (
            "`ingest add -q FILE` (unixfs-v1-2025)".into(),
            vec![
                ingest.display().to_string(),
                "add".into(),
                "-q".into(),
                file.clone(),
            ],
            0,
            v1.cid.clone(),
        ),
        (
            "`ingest add -q --profile unixfs-v0-2015 FILE`".into(),
            vec![
                ingest.display().to_string(),
                "add".into(),
                "-q".into(),
                "--profile".into(),
                "unixfs-v0-2015".into(),
                file.clone(),
            ],
            0,
            v0.cid.clone(),
        ),
        (
            "`ingest verify FILE` its unixfs-v1-2025 CID (match)".into(),
            vec![
                ingest.display().to_string(),
                "verify".into(),
                file.clone(),
                v1.cid.clone(),
            ],
            0,
            format!("match {} {file}: profile unixfs-v1-2025", v1.cid),
        ),
        (
            "`ingest verify FILE` its unixfs-v0-2015 CID (match)".into(),
            vec![
                ingest.display().to_string(),
                "verify".into(),
                file.clone(),
                v0.cid.clone(),
            ],
            0,
            format!("match {} {file}: profile unixfs-v0-2015", v0.cid),
        ),
        (
            "`ingest verify FILE` another file's CIDv0 (no match: the whole set)".into(),
            vec![
                ingest.display().to_string(),
                "verify".into(),
                file.clone(),
                other.cid.clone(),
            ],
            1,
            format!("no match {} {file} (16 settings tried)", other.cid),
        ),
        (
            "`ingest verify FILE` its raw CID (one raw block: one pass)".into(),
            vec![
                ingest.display().to_string(),
                "verify".into(),
                file.clone(),
                raw.clone(),
            ],
            1,
            format!("no match {raw} {file} (0 settings tried)"),
        ),
    ];
    // Into the page cache.
    std::io::copy(&mut File::open(&input).unwrap(), &mut std::io::sink()).unwrap();

    let mut rows: Vec<Row> = runs
        .iter()
        .map(|(name, ..)| Row {
            name: name.clone(),
            wall: Vec::new(),
            cpu: Vec::new(),
            rss_kib: 0,
        })
        .collect();
    let mut pass = Vec::new();
    for _ in 0..ROUNDS {
        pass.push(sha256_of_file(&input).0.as_secs_f64());
        for ((_, argv, status, first), row) in runs.iter().zip(&mut rows) {
            let (wall, cpu, rss) = run(argv, *status, first, &base);
            row.wall.push(wall);
            row.cpu.push(cpu);
            row.rss_kib = row.rss_kib.max(rss);
        }
    }
    let pass = median(&pass);
    let add = &rows[1];
    let (add_wall, add_min, add_cpu) = (median(&add.wall), min(&add.wall), median(&add.cpu));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "input: {} bytes (vector {SEED}), in the page cache; cores: {cores}; load average before: {}",
        v1.size,
        std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    );
    println!(
        "one SHA-256 pass over the file (sha2 crate, one thread, median of {ROUNDS}): {pass:.3} s ({:.2} GB/s)",
        v1.size as f64 / pass / 1e9
    );
    println!(
        "floor of the whole set: four passes = {:.3} s of CPU, over {cores} cores {:.3} s = {:.2} × `ingest add` (median)\n",
        4.0 * pass,
        4.0 * pass / cores as f64,
        4.0 * pass / cores as f64 / add_wall
    );
    println!(
        "| command | wall, median of {ROUNDS} | × `ingest add` | wall, best | × `ingest add`, best | CPU (user + sys), median | × `ingest add` CPU | peak RSS |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for row in &rows {
        let (w, b, c) = (median(&row.wall), min(&row.wall), median(&row.cpu));
        println!(
            "| {} | {w:.3} s | {:.2} | {b:.3} s | {:.2} | {c:.2} s | {:.2} | {:.1} MiB |",
            row.name,
            w / add_wall,
            b / add_min,
            c / add_cpu,
            row.rss_kib as f64 / 1024.0
        );
    }
    let _ = std::fs::remove_file(base.join("stdout.txt"));
    let _ = std::fs::remove_file(base.join("times.txt"));
}
