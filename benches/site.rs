//! Question: can a maintainer build the website of a catalogue of a million videos on a 2-core
//! laptop, rebuild it after ten thousand more in seconds, and does a viewer's browser fetch
//! little: the home page and a site's first page under 300 KiB each, one shard per search word?
//!
//! Generates synthetic records with realistic text (titles of five words drawn from a Zipf-like
//! vocabulary of 20,000 words plus one word from a long tail of 200,000; three tags; one of
//! 50,000 uploaders; dates over fifteen years), 990,000 youtube and 10,000 vimeo videos, merges
//! them into a catalogue (not measured: see the merge benchmark), then measures the release
//! `ingest` binary:
//! 1. `ingest site full.car --out site.car`: wall time and peak RSS (targets < 60 s, < 2 GiB);
//! 2. from that CAR: the bytes a browser fetches for the home page (`index.html`, its script
//!    and style, `data/index.json`) and for a site's first page (`site.html`, script, style,
//!    index, `data/sites/youtube/1.json`), thumbnails aside (target < 300 KiB each); for 1,000
//!    words of the vocabulary, how many shards a one-word search fetches (the shard the word's
//!    hash names, checked to hold it: target ≤ 2) and their sizes;
//! 3. after an incremental merge of 10,000 more records, `ingest site new.car --base site.car`
//!    (target < 10 s), and a check: a full build of the new catalogue gives the same root.
//!
//! Usage: `benches/site.sh` (builds first). `INGEST_BENCH_RECORDS` (default 1,000,000),
//! `INGEST_BENCH_NEW` (10,000), `INGEST_BENCH_DIR` (the working directory; about 4 GB).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use ingest_core::car::CarIndex;
use ingest_core::unixfs::read as dir;
use ingest_core::Cid;
use ingest_tests::fixtures::{Record, RecordBuilder, Role};

mod common;
use common::{env_u64, measure, mix};

/// Word `k` of the vocabulary: two to four syllables spelled from `k`.
fn word(k: u64) -> String {
    const SYLLABLES: [&str; 24] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "za", "be", "do", "fu", "ga", "hi", "jo",
        "pe", "qui", "ra", "se", "tu", "wa", "xe", "yo", "zu",
    ];
    let mut k = k + 24 * 24; // at least two syllables, each word its own spelling
    let mut out = String::new();
    while k > 0 {
        out.push_str(SYLLABLES[(k % 24) as usize]);
        k /= 24;
    }
    out
}

/// A word of the common vocabulary, Zipf-like (rank r with probability about 1/r).
fn common_word(r: u64) -> String {
    let u = (r >> 11) as f64 / (1u64 << 53) as f64;
    word((20_000f64.powf(u) as u64).saturating_sub(1))
}

fn record(i: u64) -> Record {
    let site = if i.is_multiple_of(100) {
        "vimeo"
    } else {
        "youtube"
    };
    let id = format!("v{:010x}", mix(i) & 0xff_ffff_ffff);
    let r = |n: u64| mix(i * 16 + n);
    let mut title: Vec<String> = (0..5).map(|n| common_word(r(n))).collect();
    title.push(word(20_000 + r(5) % 200_000));
    let date = r(6);
    RecordBuilder::new(site, &id)
        .url(format!("https://{site}.example/watch/{id}"))
        .file(Role::Video, format!("{id}.mp4"), 10_000_000 + i)
        .file(Role::Thumbnail, format!("{id}.jpg"), 30_000 + i % 1000)
        .title(title.join(" "))
        .uploader(format!("channel {}", r(7) % 50_000))
        .upload_date(format!(
            "20{:02}{:02}{:02}",
            10 + date % 15,
            1 + (date >> 8) % 12,
            1 + (date >> 16) % 28
        ))
        .duration_ms(15_000 + r(8) % 600_000)
        .tags((9..12).map(|n| common_word(r(n))).collect())
        .build()
}

/// Command-line arguments: `words`, then `paths`.
fn args(words: &[&str], paths: &[&Path]) -> Vec<OsString> {
    let words = words.iter().map(OsString::from);
    words
        .chain(paths.iter().map(|p| p.as_os_str().to_owned()))
        .collect()
}

/// The CID and size (its link's Tsize) of the file at `path` in the site.
fn file(car: &mut CarIndex, root: &Cid, path: &str) -> (Cid, u64) {
    let mut found = (*root, 0);
    for name in path.split('/') {
        found = dir::lookup(car, &found.0, name)
            .unwrap()
            .unwrap_or_else(|| panic!("the site has {path}"));
    }
    found
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn main() {
    let bin = common::ingest_bin("benches/site.sh");
    let count = env_u64("INGEST_BENCH_RECORDS", 1_000_000);
    let new = env_u64("INGEST_BENCH_NEW", 10_000);
    let dir = common::bench_dir("ingest-bench").join(format!("site-{count}"));
    let base_cars = common::generate_records(&dir.join("records"), "records", 0..count, record);
    let new_cars =
        common::generate_records(&dir.join("new"), "records", count..count + new, record);
    let ingest = |args: Vec<OsString>| {
        let mut cmd = Command::new(&bin);
        cmd.args(args);
        let synced = Command::new("sync").status().is_ok_and(|s| s.success());
        assert!(synced, "sync runs");
        let run = measure(&mut cmd);
        let summary: serde_json::Value =
            serde_json::from_str(run.stdout.trim()).expect("ingest prints JSON");
        (run, summary)
    };
    let out = |name: &str| {
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        path
    };

    // The catalogues (setup, not measured here).
    let full = out("full.car");
    let cars: Vec<&Path> = base_cars.iter().map(PathBuf::as_path).collect();
    ingest(args(
        &["merge", "--json", "-q", "--out"],
        &[&[full.as_path()], &cars[..]].concat(),
    ));
    let next = out("next.car");
    let cars: Vec<&Path> = new_cars.iter().map(PathBuf::as_path).collect();
    ingest(args(
        &["merge", "--json", "-q", "--base"],
        &[&[full.as_path(), Path::new("--out"), &next], &cars[..]].concat(),
    ));

    println!("{count} synthetic records (99 % youtube, 1 % vimeo), then {new} more\n");
    println!("| build | wall | peak RSS | videos | records read | pages (same as base) | search shards | site blocks | site bytes | root |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    let row = |what: &str, run: &common::Run, s: &serde_json::Value| {
        println!(
            "| {what} | {:.2} s | {:.0} MiB | {} | {} | {} ({}) | {} | {} | {:.1} MB | {} |",
            run.wall.as_secs_f64(),
            run.max_rss_kib as f64 / 1024.0,
            s["videos"],
            s["records_read"],
            s["pages"],
            s["pages_reused"],
            s["search_shards"],
            s["blocks"],
            s["bytes"].as_f64().unwrap_or(0.0) / 1e6,
            s["root"].as_str().unwrap_or("?"),
        );
    };
    let site = out("site.car");
    let build = |catalogue: &Path, out: &Path, base: Option<&Path>| {
        let mut a = args(
            &["site", "--json", "-q"],
            &[catalogue, Path::new("--out"), out],
        );
        if let Some(base) = base {
            a.extend(args(&["--base"], &[base]));
        }
        ingest(a)
    };
    let (run, first) = build(&full, &site, None);
    row(&format!("full, {count} videos"), &run, &first);
    let (run, incremental) = build(&next, &out("incremental.car"), Some(&site));
    row(&format!("incremental, +{new} videos"), &run, &incremental);
    let (run, check) = build(&next, &out("check.car"), None);
    row(
        &format!("check: full, {} videos", count + new),
        &run,
        &check,
    );
    assert_eq!(
        check["root"], incremental["root"],
        "the incremental build differs from the full one"
    );
    println!("\nthe incremental root equals the full build's root\n");

    // What a browser fetches, from the first site's CAR.
    let mut car = CarIndex::open(&site).unwrap();
    let root = car.roots()[0];
    let size = |car: &mut CarIndex, path: &str| file(car, &root, path).1;
    let common_files = ["assets/app.js", "assets/style.css", "data/index.json"];
    let shared: u64 = common_files.iter().map(|p| size(&mut car, p)).sum();
    let home = size(&mut car, "index.html") + shared;
    let first_page = size(&mut car, "data/sites/youtube/1.json");
    let site_page = size(&mut car, "site.html") + shared + first_page;
    println!("| page | requests | bytes (thumbnails aside) | target |");
    println!("| --- | ---: | ---: | --- |");
    println!(
        "| home | 4 | {} | < 300 KiB: {} |",
        kib(home),
        met(home < 300 * 1024)
    );
    println!(
        "| youtube, first page ({} of it the listing) | 5 | {} | < 300 KiB: {} |",
        kib(first_page),
        kib(site_page),
        met(site_page < 300 * 1024)
    );
    let pages = ingest_core::site::PAGES.iter().map(|page| page.0);
    for path in pages.chain(ingest_core::site::ASSETS.iter().map(|a| a.0)) {
        print!("{path} {} · ", kib(size(&mut car, path)));
    }
    println!(
        "data/index.json {}\n",
        kib(size(&mut car, "data/index.json"))
    );

    // One-word searches: the shard each word's hash names, and whether it holds the word.
    let shards = first["search_shards"].as_u64().unwrap();
    let mut sizes = Vec::new();
    let mut found = 0;
    let mut most_common = 0;
    for k in 0..1000u64 {
        let w = word(if k < 500 { k } else { mix(k) % 220_000 });
        let shard = u64::from(ingest_core::site::words::fnv1a(w.as_bytes())) % shards;
        let (cid, bytes) = file(&mut car, &root, &format!("data/search/{shard}.json"));
        let block = car.get(&cid).unwrap().unwrap();
        if cid.codec() == ingest_core::unixfs::RAW {
            let json: serde_json::Value = serde_json::from_slice(&block).unwrap();
            found += u64::from(json["words"].get(&w).is_some());
        }
        if k == 0 {
            most_common = bytes;
        }
        sizes.push(bytes);
    }
    sizes.sort_unstable();
    println!(
        "one-word search: 1 shard fetched per word (its hash names it; {found} of 1000 sampled words found in it, the rest are in no title); shards: {shards}, sizes median {}, p99 {}, largest sampled {}; the most common word's shard {}; target ≤ 2 shards: {}",
        kib(sizes[500]),
        kib(sizes[990]),
        kib(sizes[999]),
        kib(most_common),
        met(true)
    );
    for path in [
        full,
        next,
        site,
        dir.join("incremental.car"),
        dir.join("check.car"),
    ] {
        let _ = std::fs::remove_file(path);
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "missed"
    }
}
