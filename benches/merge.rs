//! Question: can index maintainers merge a million records, and then add ten thousand more
//! without redoing the million, on a 2-core laptop?
//!
//! Generates synthetic records (one site, as for the closing site: `youtube`, ids like
//! `v0000000123`, two files each with made-up CIDs, a title and tags) into CARs of 50,000
//! records, then measures the release `ingest` binary:
//! 1. a full merge of all of them (`ingest merge records/*.car --out full.car`);
//! 2. an incremental merge of 10,000 new records onto that base
//!    (`ingest merge --base full.car new.car --out incremental.car`), with the blocks it read
//!    from the base (decoded, on the changed paths), wrote, and copied unchanged;
//! 3. a check: a full merge of all the records gives the incremental merge's root.
//!
//! Each merge starts after `sync`: it writes and syncs a catalogue of over a gigabyte, so
//! without it a merge would also pay for the writeback of the one before it (measured here: the
//! same incremental merge took 4.1 s or 6.6 s depending on what the disk was still doing).
//! Wall time and peak RSS come from `wait4` on each child. Usage: `benches/merge.sh` (builds
//! first). `INGEST_BENCH_RECORDS` (default 1,000,000) and `INGEST_BENCH_NEW` (10,000) change the
//! counts; `INGEST_BENCH_DIR` the working directory (needs about 3 GB). Results are kept in
//! `benches/runs/`.

use std::path::{Path, PathBuf};
use std::process::Command;

use ingest_tests::fixtures::{Record, RecordBuilder, Role};

mod common;
use common::measure;

fn record(i: u64) -> Record {
    let id = format!("v{i:010}");
    RecordBuilder::new("youtube", &id)
        .url(format!("https://www.youtube.com/watch?v={id}"))
        .file(Role::Video, format!("{id}.mp4"), 10_000_000 + i)
        .file(Role::Thumbnail, format!("{id}.jpg"), 30_000 + i % 1000)
        .title(format!("Video number {i}"))
        .uploader(format!("uploader {}", i % 5000))
        .upload_date(format!(
            "20{:02}{:02}{:02}",
            10 + i % 15,
            1 + i % 12,
            1 + i % 28
        ))
        .duration_ms(15_000 + i % 600_000)
        .tags(vec!["short".into(), format!("tag{}", i % 100)])
        .build()
}

fn paths(cars: &[PathBuf]) -> Vec<&Path> {
    cars.iter().map(PathBuf::as_path).collect()
}

fn main() {
    let bin = common::ingest_bin("benches/merge.sh");
    let count: u64 = std::env::var("INGEST_BENCH_RECORDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let new: u64 = std::env::var("INGEST_BENCH_NEW")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::var_os("INGEST_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("ingest-bench"))
        .join(format!("merge-{count}"));
    let base_cars = common::generate_records(&dir.join("records"), "records", 0..count, record);
    let new_cars =
        common::generate_records(&dir.join("new"), "records", count..count + new, record);
    let merge = |args: &[&Path], base: Option<&Path>, out: &Path| {
        let _ = std::fs::remove_file(out);
        let mut cmd = Command::new(&bin);
        cmd.args(["merge", "--json", "--out"]).arg(out);
        if let Some(base) = base {
            cmd.arg("--base").arg(base);
        }
        cmd.args(args);
        let synced = Command::new("sync").status().is_ok_and(|s| s.success());
        assert!(synced, "sync runs");
        let run = measure(&mut cmd);
        let summary: serde_json::Value =
            serde_json::from_str(run.stdout.trim()).expect("merge prints JSON");
        (run, summary)
    };

    println!(
        "{count} synthetic records in {} CARs, then {new} more\n",
        base_cars.len()
    );
    println!("| merge | wall | peak RSS | records added | blocks read | blocks written | blocks copied | root |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let row = |what: &str, run: &common::Run, s: &serde_json::Value| {
        println!(
            "| {what} | {:.2} s | {:.0} MiB | {} | {} | {} | {} | {} |",
            run.wall.as_secs_f64(),
            run.max_rss_kib as f64 / 1024.0,
            s["added"],
            s["blocks_read"],
            s["blocks_written"],
            s["blocks_copied"],
            s["root"].as_str().unwrap_or("?"),
        );
    };
    let full = dir.join("full.car");
    let (run, summary) = merge(&paths(&base_cars), None, &full);
    row(&format!("full, {count} records"), &run, &summary);
    let incremental = dir.join("incremental.car");
    let (run, inc) = merge(&paths(&new_cars), Some(&full), &incremental);
    row(&format!("incremental, {new} onto {count}"), &run, &inc);
    let all: Vec<PathBuf> = base_cars.iter().chain(&new_cars).cloned().collect();
    let check = dir.join("check.car");
    let (run, summary) = merge(&paths(&all), None, &check);
    row(
        &format!("check: full, {} records", count + new),
        &run,
        &summary,
    );
    assert_eq!(
        summary["root"], inc["root"],
        "the incremental merge differs from the full one"
    );
    println!("\nthe incremental root equals the full merge's root");
    for path in [full, incremental, check] {
        let _ = std::fs::remove_file(path);
    }
}
