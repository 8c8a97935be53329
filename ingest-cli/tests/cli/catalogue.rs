//! The catalogue: `ingest merge`, `ls`, `todo` and `export-archive`.

use crate::common::{cli, entries, ingest, stderr, stdout};

/// `tmp/NAME` as a string.
fn at(tmp: &std::path::Path, name: &str) -> String {
    tmp.join(name).to_str().unwrap().to_owned()
}

/// Six records of youtube and three of vimeo archived in `tmp`, merged in one step into
/// `tmp/all.car`: the records' paths, the catalogue's root and the merge's summary.
fn nine_merged(tmp: &std::path::Path) -> (Vec<String>, String, serde_json::Value) {
    let mut records = cli().archive_many(tmp, "youtube", 6, "first");
    records.extend(cli().archive_many(tmp, "vimeo", 3, "first"));
    let paths: Vec<String> = records
        .iter()
        .map(|p| p.to_str().unwrap().to_owned())
        .collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let (all, summary) = cli().merge_root(&[&args[..], &["--out", &at(tmp, "all.car")]].concat());
    (paths, all, summary)
}

#[test]
fn merge_is_order_independent() {
    let tmp = tempfile::tempdir().unwrap();
    let (paths, all, summary) = nine_merged(tmp.path());
    let cat = |name: &str| at(tmp.path(), name);
    assert_eq!(summary["added"], 9);
    let mut reversed: Vec<&str> = paths.iter().map(String::as_str).collect();
    reversed.reverse();
    let (again, _) = cli().merge_root(&[&reversed[..], &["--out", &cat("rev.car")]].concat());
    assert_eq!(again, all);
}

/// In two steps: the base, then the rest.
#[test]
fn merge_is_incremental() {
    let tmp = tempfile::tempdir().unwrap();
    let (paths, all, _) = nine_merged(tmp.path());
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let cat = |name: &str| at(tmp.path(), name);
    let (step1, _) = cli().merge_root(&[&paths[..4], &["--out", &cat("s1.car")]].concat());
    assert_ne!(step1, all);
    let (step2, summary) = cli().merge_root(
        &[
            &paths[4..],
            &["--base", &cat("s1.car"), "--out", &cat("s2.car")],
        ]
        .concat(),
    );
    assert_eq!(step2, all);
    assert!(summary["blocks_read"].as_u64().unwrap() > 0);
    // The stepwise CAR holds the whole catalogue: every video listed.
    let ls = ingest(&["ls", &cat("s2.car")]);
    assert_eq!(stdout(&ls).lines().count(), 9);
}

#[test]
fn merging_the_same_records_again_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (paths, all, _) = nine_merged(tmp.path());
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let cat = |name: &str| at(tmp.path(), name);
    let (same, summary) = cli().merge_root(
        &[
            &paths[..],
            &["--base", &cat("all.car"), "--out", &cat("same.car")],
        ]
        .concat(),
    );
    assert_eq!(same, all);
    assert_eq!(summary["added"], 0);
    assert_eq!(summary["unchanged"], 9);
}

/// todo: what is missing, split between volunteers without overlap.
#[test]
fn todo_lists_what_is_missing_in_disjoint_shares() {
    let tmp = tempfile::tempdir().unwrap();
    nine_merged(tmp.path());
    let cat = |name: &str| at(tmp.path(), name);
    let ids = tmp.path().join("ids.txt");
    let list: String = (0..40).map(|i| format!("youtube v{i}\n")).collect();
    std::fs::write(&ids, list).unwrap();
    let todo = stdout(&ingest(&[
        "todo",
        &cat("all.car"),
        "--ids",
        ids.to_str().unwrap(),
    ]));
    assert_eq!(todo.lines().count(), 34, "v0..v5 are archived");
    assert!(!todo.contains("youtube v0\n"));
    let mut shares: Vec<String> = (1..=3)
        .flat_map(|i| {
            let out = ingest(&[
                "todo",
                &cat("all.car"),
                "--ids",
                ids.to_str().unwrap(),
                "--shard",
                &format!("{i}/3"),
            ]);
            stdout(&out).lines().map(str::to_owned).collect::<Vec<_>>()
        })
        .collect();
    shares.sort();
    let mut want: Vec<String> = todo.lines().map(str::to_owned).collect();
    want.sort();
    assert_eq!(shares, want, "the shares are disjoint and cover everything");
}

#[test]
fn export_archive_lists_every_video() {
    let tmp = tempfile::tempdir().unwrap();
    nine_merged(tmp.path());
    let export = stdout(&ingest(&["export-archive", &at(tmp.path(), "all.car")]));
    assert!(export.lines().any(|l| l == "vimeo v2"));
    assert_eq!(export.lines().count(), 9);
}

#[test]
fn a_damaged_base_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let records = cli().archive_many(tmp.path(), "youtube", 3, "x");
    let base = tmp.path().join("base.car");
    cli().merge_root(&[
        records[0].to_str().unwrap(),
        "--out",
        base.to_str().unwrap(),
    ]);
    let good = std::fs::read(&base).unwrap();
    let mut flipped = good.clone();
    let last = flipped.len() - 5;
    flipped[last] ^= 0x40;
    let cases = [
        (
            "truncated.car",
            good[..good.len() - 7].to_vec(),
            "truncated",
        ),
        ("flipped.car", flipped, "does not match its cid"),
        (
            "garbage.car",
            b"not a car at all".to_vec(),
            "base catalogue",
        ),
    ];
    for (name, bytes, needle) in cases {
        let damaged = tmp.path().join(name);
        std::fs::write(&damaged, &bytes).unwrap();
        let out_car = tmp.path().join(format!("out-{name}"));
        let out = ingest(&[
            "merge",
            records[1].to_str().unwrap(),
            records[2].to_str().unwrap(),
            "--base",
            damaged.to_str().unwrap(),
            "--out",
            out_car.to_str().unwrap(),
        ]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(needle), "{name}: {err}");
        assert!(!out_car.exists(), "{name}: an output was written");
    }
    assert!(entries(tmp.path()).iter().all(|n| !n.contains(".partial")));
}

#[test]
fn rejected_records_are_listed_and_the_rest_merged() {
    let tmp = tempfile::tempdir().unwrap();
    let records = cli().archive_many(tmp.path(), "youtube", 2, "x");
    let bad = tmp.path().join("bad.record.cbor");
    std::fs::write(&bad, b"\xa1\x61x\x01").unwrap();
    let out_car = tmp.path().join("cat.car");
    let out = ingest(&[
        "merge",
        records[0].to_str().unwrap(),
        bad.to_str().unwrap(),
        records[1].to_str().unwrap(),
        "--profile",
        "unixfs-v0-2015",
        "--out",
        out_car.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("rejected   3"), "{text}");
    assert!(
        text.contains("bad.record.cbor: field version: missing"),
        "{text}"
    );
    assert!(
        text.contains("record of profile unixfs-v1-2025, the catalogue is unixfs-v0-2015"),
        "{text}"
    );
    assert!(
        out_car.exists(),
        "the rest is merged (here: nothing) and written"
    );
}

/// A record (made by another tool) that lists a file a browser would run as a page is
/// rejected by `merge`, naming the record and the file; the others are merged.
#[test]
fn merge_rejects_a_record_holding_a_page() {
    let tmp = tempfile::tempdir().unwrap();
    let records = cli().archive_many(tmp.path(), "youtube", 2, "x");
    let mut record = ingest_core::Record::decode(&std::fs::read(&records[0]).unwrap()).unwrap();
    let mut extra = record.files[0].clone();
    extra.role = ingest_core::archive::Role::Other;
    extra.name = "index.html".to_owned();
    record.files.push(extra);
    // The record's own encoding refuses the name: its IPLD form is encoded directly.
    let hostile = tmp.path().join("hostile.record.cbor");
    std::fs::write(
        &hostile,
        serde_ipld_dagcbor::to_vec(&record.to_ipld()).unwrap(),
    )
    .unwrap();
    let out_car = tmp.path().join("cat.car");
    let out = ingest(&[
        "merge",
        hostile.to_str().unwrap(),
        records[1].to_str().unwrap(),
        "--out",
        out_car.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("hostile.record.cbor") && text.contains("index.html"),
        "{text}"
    );
    let summary: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(summary["added"], 1, "{summary}");
    let listed = ingest(&["ls", out_car.to_str().unwrap()]);
    assert_eq!(stdout(&listed).lines().count(), 1);
}

/// `ingest ARGS` under `timeout 60`, so a regression that blocks (a FIFO opened for reading)
/// fails the test instead of hanging it.
fn ingest_bounded(args: &[&str]) -> std::process::Output {
    std::process::Command::new("timeout")
        .arg("60")
        .arg(env!("CARGO_BIN_EXE_ingest"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("timeout runs")
}

/// Two records archived in `tmp`, in `tmp/records` beside links (`again` → `.`, `loop` → the
/// directory, `zero.record.cbor` → `/dev/zero`) and a FIFO `fifo.record.cbor`: the directory,
/// the link to `/dev/zero` and the FIFO.
fn records_beside_links(
    tmp: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    cli().archive_many(tmp, "youtube", 2, "t");
    let dir = tmp.join("records");
    std::os::unix::fs::symlink(".", dir.join("again")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero.record.cbor")).unwrap();
    let fifo = dir.join("fifo.record.cbor");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let zero = dir.join("zero.record.cbor");
    (dir, zero, fifo)
}

/// `merge DIR` walks directories without following links, each file once, and reads no
/// record from what is not a regular file.
#[test]
fn merge_walks_a_directory_without_following_links() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _, _) = records_beside_links(tmp.path());
    let out = tmp.path().join("cat.car");
    let run = ingest_bounded(&[
        "merge",
        "--json",
        dir.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let summary: serde_json::Value = serde_json::from_str(stdout(&run).trim()).unwrap();
    // Each record once from its `.record.cbor` and once from its archive's CAR; the links
    // (`again` → `.`, `loop` → the directory) would have read them all again.
    assert_eq!(summary["added"], 2, "{summary}");
    assert_eq!(summary["unchanged"], 2, "{summary}");
    assert_eq!(summary["rejected"], serde_json::json!([]));
}

/// Named on the command line, a link to `/dev/zero` and a FIFO are rejected, each with its
/// reason, never read without end or waited on.
#[test]
fn merge_rejects_a_named_record_that_is_not_a_regular_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, zero, fifo) = records_beside_links(tmp.path());
    let out = tmp.path().join("cat.car");
    let run = ingest_bounded(&[
        "merge",
        "--json",
        zero.to_str().unwrap(),
        fifo.to_str().unwrap(),
        dir.join("youtube-v0.record.cbor").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(3), "{}", stderr(&run));
    let summary: serde_json::Value = serde_json::from_str(stdout(&run).trim()).unwrap();
    let rejected = summary["rejected"].to_string();
    assert!(
        rejected.contains("zero.record.cbor: not a regular file"),
        "{rejected}"
    );
    assert!(
        rejected.contains("fifo.record.cbor: not a regular file"),
        "{rejected}"
    );
}

/// `record show` of a link to `/dev/zero` or of a FIFO fails at once, naming why.
#[test]
fn record_show_refuses_what_is_not_a_regular_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, zero, fifo) = records_beside_links(tmp.path());
    for what in [&zero, &fifo] {
        let run = ingest_bounded(&["record", "show", what.to_str().unwrap()]);
        assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
        assert!(
            stderr(&run).contains("is not a regular file"),
            "{}",
            stderr(&run)
        );
    }
}

/// `merge --base` keeps the base's index in memory, not its blocks: a base holding 64 MiB of
/// directory blocks is merged onto in well under that (it once kept every directory block).
#[test]
fn merge_onto_a_base_keeps_its_index_not_its_blocks() {
    use ingest_core::car::{CarReader, CarWriter};
    use ingest_core::unixfs::{cid_of, BlockSink, CidVersion, DAG_PB};
    let tmp = tempfile::tempdir().unwrap();
    let records = cli().archive_many(tmp.path(), "youtube", 2, "t");
    let cat = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();
    let (_, _) = cli().merge_root(&[records[0].to_str().unwrap(), "--out", &cat("small.car")]);
    // The same catalogue, plus 64 dag-pb blocks of 1 MiB no directory links to.
    let small = CarReader::new(std::fs::File::open(cat("small.car")).unwrap()).unwrap();
    let root = small.roots()[0];
    let mut big = CarWriter::new(std::fs::File::create(cat("big.car")).unwrap(), &[root]).unwrap();
    for block in small {
        let (cid, bytes) = block.unwrap();
        big.put(&cid, &bytes).unwrap();
    }
    for i in 0..64 {
        let bytes = ingest_tests::Content::bytes(&format!("filler-{i}"), 1 << 20);
        big.put(&cid_of(CidVersion::V1, DAG_PB, &bytes), &bytes)
            .unwrap();
    }
    big.finish().unwrap();
    let mut merge = cli().command();
    merge.args([
        "merge",
        "--base",
        &cat("big.car"),
        records[1].to_str().unwrap(),
        "--out",
        &cat("next.car"),
    ]);
    let run = ingest_tests::measure::measure(&mut merge);
    let mib = run.max_rss_kib / 1024;
    // The binary alone (code, TLS roots, allocator arenas) takes about 30 MiB.
    assert!(
        mib < 48,
        "peak RSS {mib} MiB for a base of 64 MiB of directory blocks"
    );
}

/// Each message names the real input and the real problem, and argument errors come before
/// any work: a pipe given as a catalogue, a CARv2, a header length varint of 11 bytes, a
/// directory as `--out`, a merge of nothing.
#[test]
fn catalogue_errors_name_the_real_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let records = cli().archive_many(tmp.path(), "youtube", 1, "t");
    let cat = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();
    cli().merge_root(&[records[0].to_str().unwrap(), "--out", &cat("cat.car")]);

    let piped = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cat {} | {} ls /dev/stdin",
            cat("cat.car"),
            env!("CARGO_BIN_EXE_ingest")
        ))
        .output()
        .unwrap();
    assert_eq!(piped.status.code(), Some(1));
    assert!(
        stderr(&piped).contains("not a regular file (a pipe?)"),
        "{}",
        stderr(&piped)
    );

    // A CARv2 pragma: `{version: 2}`, 10 bytes after a varint 0x0a.
    let mut v2 = vec![0x0a, 0xa1, 0x67];
    v2.extend_from_slice(b"version");
    v2.push(0x02);
    std::fs::write(cat("v2.car"), &v2).unwrap();
    let run = ingest(&["ls", &cat("v2.car")]);
    assert!(stderr(&run).contains("CARv2"), "{}", stderr(&run));

    std::fs::write(cat("varint.car"), [0xffu8; 11]).unwrap();
    let run = ingest(&["ls", &cat("varint.car")]);
    assert!(
        stderr(&run).contains("varint of more than 10 bytes"),
        "{}",
        stderr(&run)
    );

    std::fs::create_dir(cat("dir.car")).unwrap();
    let run = ingest(&[
        "merge",
        records[0].to_str().unwrap(),
        "--out",
        &cat("dir.car"),
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("is a directory"), "{}", stderr(&run));

    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = ingest(&["merge", empty.to_str().unwrap(), "--out", &cat("none.car")]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("nothing to merge"),
        "{}",
        stderr(&run)
    );
    assert!(!tmp.path().join("none.car").exists());
}

/// `merge --delta`: a CAR of exactly the blocks the new catalogue has and the base had not,
/// rooted at the new root, so base + delta is the whole new catalogue.
#[test]
fn merge_delta_holds_what_the_base_lacks() {
    use ingest_core::car::CarReader;
    use std::collections::BTreeSet;
    let tmp = tempfile::tempdir().unwrap();
    let records = cli().archive_many(tmp.path(), "youtube", 5, "t");
    let paths: Vec<&str> = records.iter().map(|p| p.to_str().unwrap()).collect();
    let cat = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();
    cli().merge_root(&[&paths[..3], &["--out", &cat("base.car")]].concat());
    let (root, summary) = cli().merge_root(
        &[
            &paths[3..],
            &[
                "--base",
                &cat("base.car"),
                "--out",
                &cat("next.car"),
                "--delta",
                &cat("delta.car"),
            ],
        ]
        .concat(),
    );
    let blocks = |name: &str| -> (String, BTreeSet<String>) {
        let reader = CarReader::new(std::fs::File::open(cat(name)).unwrap()).unwrap();
        let root = reader.roots()[0].to_string();
        let cids = reader.map(|b| b.unwrap().0.to_string()).collect();
        (root, cids)
    };
    let (_, base) = blocks("base.car");
    let (next_root, next) = blocks("next.car");
    let (delta_root, delta) = blocks("delta.car");
    assert_eq!(
        (next_root.as_str(), delta_root.as_str()),
        (root.as_str(), root.as_str())
    );
    let lacking: BTreeSet<String> = next.difference(&base).cloned().collect();
    assert_eq!(delta, lacking, "the delta is what the base lacks");
    assert!(!delta.is_empty() && delta.len() < next.len());
    assert_eq!(summary["delta_blocks"], delta.len() as u64);
}
