//! What the benchmarks share: running a child process and measuring its wall time and peak RSS.

use std::path::PathBuf;

#[allow(unused_imports)] // each benchmark uses some of these
pub use ingest_tests::measure::{measure, Run};

/// The `ingest` binary to measure: `$INGEST_BIN`, or the workspace's release build, which
/// `script` (the benchmark's wrapper) builds.
#[allow(dead_code)] // the `dir` benchmark measures the library, not this binary
pub fn ingest_bin(script: &str) -> PathBuf {
    let bin = std::env::var_os("INGEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/ingest")
        });
    assert!(bin.exists(), "{} is missing: run {script}", bin.display());
    bin
}

/// The vector `seed` under `profile` (the 1 GiB `public-12` for the fetch and push benchmarks).
#[allow(dead_code)] // used by some benchmarks
pub fn vector(seed: &str, profile: &str) -> ingest_tests::FileVector {
    ingest_tests::file_vectors()
        .into_iter()
        .find(|v| v.seed == seed && v.profile == profile)
        .unwrap_or_else(|| panic!("the vector {seed} under {profile}"))
}

/// The benchmark's working directory: `name` under `$INGEST_BENCH_DIR`, else the system's
/// temporary directory.
#[allow(dead_code)] // used by some benchmarks
pub fn bench_dir(name: &str) -> PathBuf {
    std::env::var_os("INGEST_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(name)
}

/// Writes records `range` of `make` into CARs of 50,000 records under `dir`, named
/// `<name>-<start>-<end>.car`, and returns their paths. CARs already there are kept (generating
/// a million records takes a while), so runs after the first reuse them.
#[allow(dead_code)] // used by the merge and todo benchmarks
pub fn generate_records(
    dir: &std::path::Path,
    name: &str,
    range: std::ops::Range<u64>,
    make: fn(u64) -> ingest_tests::fixtures::Record,
) -> Vec<PathBuf> {
    const PER_CAR: u64 = 50_000;
    std::fs::create_dir_all(dir).unwrap();
    let mut cars = Vec::new();
    let mut start = range.start;
    while start < range.end {
        let end = (start + PER_CAR).min(range.end);
        let path = dir.join(format!("{name}-{start}-{end}.car"));
        if !path.exists() {
            ingest_tests::fixtures::write_records_car(&path, (start..end).map(make));
        }
        cars.push(path);
        start = end;
    }
    cars
}

/// `$name` as a number, else `default`.
#[allow(dead_code)] // used by some benchmarks
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// SplitMix64: a bijection of u64, so distinct inputs give distinct outputs; the benchmarks'
/// deterministic randomness.
#[allow(dead_code)] // used by some benchmarks
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
