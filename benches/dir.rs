//! Question: how long does building a UnixFS directory of a million entries take, and how much
//! memory, under each profile? (The catalogue builds such directories from CIDs alone.)
//!
//! Each run is a child process (this binary with `--one PROFILE COUNT`), so its peak RSS is its
//! own. The child adds COUNT entries named `video-0000123`, whose CIDs are those of small
//! distinct blocks under the profile's CID version, to a `DirBuilder` in a shuffled order and
//! finishes it into a sink that counts blocks. The table shows the wall time of making, adding
//! and finishing, the whole process's wall time, peak RSS, and the shape of the result; three
//! runs per profile, the median shown.
//!
//! For scale: the JS importer (ipfs-unixfs-importer 17.1.1) takes about 87 s for this work on
//! this machine (the measurement; not rerun here).
//!
//! Usage: `cargo bench -p ingest-benches --bench dir` (`INGEST_BENCH_ENTRIES` to change the
//! count). Results are kept in `benches/runs/`.

use std::process::Command;
use std::time::{Duration, Instant};

use ingest_core::unixfs::{cid_of, CidVersion, CountingSink, DirBuilder, Profile, DAG_PB, RAW};

mod common;
use common::measure;

const REPEATS: usize = 3;

/// The entry `i`: name `video-0000123`, the CID of the name's bytes as a block under the
/// profile's CID version (a stand-in for a file CID of the right length), a dag size.
fn entry(profile: &Profile, i: u64) -> (String, ingest_core::Cid, u64) {
    let name = format!("video-{i:07}");
    let cid = match profile.cid_version() {
        CidVersion::V0 => cid_of(CidVersion::V0, DAG_PB, name.as_bytes()),
        CidVersion::V1 => cid_of(CidVersion::V1, RAW, name.as_bytes()),
    };
    (name, cid, 1_000_000 + i)
}

/// The child: builds one directory and prints "build_s blocks kind root".
///
/// Entries are made on the fly in a shuffled order (a multiplicative stride coprime with the
/// count), so the process holds nothing but the builder and the measured time includes
/// hashing each name for its stand-in CID (about 0.3 µs an entry).
fn one(profile: &str, count: u64) {
    let profile = Profile::by_name(profile).expect("a known profile");
    let mut stride = (0x9E37_79B9 % count.max(1)) | 1;
    while gcd(stride, count) != 1 {
        stride += 2;
    }
    let build = Instant::now();
    let mut dir = DirBuilder::new(&profile);
    for k in 0..count {
        let (name, cid, size) = entry(&profile, k * stride % count);
        dir.add(&name, cid, size).expect("valid names");
    }
    let mut sink = CountingSink::default();
    let summary = dir.finish(&mut sink).expect("the directory builds");
    assert_eq!(summary.entries as u64, count, "every entry is in");
    let build = build.elapsed();
    println!(
        "{} {} {:?} {}",
        build.as_secs_f64(),
        sink.distinct(),
        summary.kind,
        summary.root
    );
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--one") {
        one(&args[i + 1], args[i + 2].parse().expect("a count"));
        return;
    }
    let count: u64 = std::env::var("INGEST_BENCH_ENTRIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let me = std::env::current_exe().unwrap();
    println!("directory of {count} entries added by CID, median of {REPEATS} runs\n");
    println!("| profile | add + finish | whole process | peak RSS | blocks | kind |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for profile in Profile::PRESETS {
        let mut runs = Vec::new();
        for _ in 0..REPEATS {
            let run =
                measure(Command::new(&me).args(["--one", profile.name(), &count.to_string()]));
            let fields: Vec<String> = run.stdout.split_whitespace().map(str::to_owned).collect();
            let build = Duration::from_secs_f64(fields[0].parse().unwrap());
            runs.push((
                build,
                run.wall,
                run.max_rss_kib,
                fields[1].clone(),
                fields[2].clone(),
            ));
        }
        runs.sort_by_key(|r| r.0);
        let (build, wall, _, blocks, kind) = &runs[REPEATS / 2];
        let rss = runs.iter().map(|r| r.2).max().unwrap();
        println!(
            "| {} | {:.2} s | {:.2} s | {:.0} MiB | {blocks} | {kind} |",
            profile.name(),
            build.as_secs_f64(),
            wall.as_secs_f64(),
            rss as f64 / 1024.0
        );
    }
}
