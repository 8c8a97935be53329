//! Question: how fast does `ingest push` send a 1 GiB archive to an IPFS node, relative to
//! `curl -F file=@x.car` of the same CAR to the same endpoint in the same run (that node's
//! floor), and does its memory stay flat?
//!
//! The file is the vectors' 1 GiB + 1 byte (`public-12`), archived under unixfs-v1-2025 with its
//! CAR. The node is js-ipfs (tests/ipfs-node.sh), offline, in a private network namespace
//! (benches/push.sh runs this benchmark through tests/netns.sh). The commands take turns, five
//! rounds, medians shown. Before each run the root is
//! unpinned and the node's blocks collected (not timed), the page cache is warm, and each
//! command's wall time and peak RSS (from `wait4`, the client's own) is measured:
//!
//! - `curl -F`: `POST /api/v0/dag/import?pin-roots=true` with the CAR as a multipart file.
//! - `ingest push RECORD --data DIR`: the blocks derived from the file as they are sent (no CAR
//!   on disk), the root confirmed pinned with `pin/ls`.
//! - `ingest push FILE.car`: the CAR checked block by block, then sent (checked again as it
//!   goes), the root confirmed pinned.
//!
//! Usage: `benches/push.sh` (builds first, installs the node's npm packages). Environment:
//! `INGEST_BIN`, `INGEST_BENCH_DIR` (default: the system temp dir; needs 2.5 GiB).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use ingest_tests::ipfs::IpfsNode;
use ingest_tests::Content;

mod common;
use common::{bench_dir, ingest_bin, measure, vector, Run};

const REPEATS: usize = 5;
const SEED: &str = "public-12";
const PROFILE: &str = "unixfs-v1-2025";

/// Makes the command of one run.
type MakeCommand<'a> = Box<dyn Fn() -> Command + 'a>;

fn main() {
    let vector = vector(SEED, PROFILE);
    let base = bench_dir("ingest-push-bench");
    let _ = std::fs::remove_dir_all(&base);
    let data = base.join("data");
    let out = base.join("out");
    std::fs::create_dir_all(&data).unwrap();
    let file = data.join("bench.mp4");
    let mut f = std::fs::File::create(&file).unwrap();
    std::io::copy(&mut Content::new(&vector.seed, vector.size), &mut f).unwrap();
    drop(f);
    let ingest = ingest_bin("benches/push.sh");
    let archived = Command::new(&ingest)
        .args([
            "archive", "--car", "--json", "--site", "bench", "--id", "push",
        ])
        .args(["--profile", PROFILE])
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(archived.status.success(), "{archived:?}");
    let archived: serde_json::Value = serde_json::from_slice(&archived.stdout).unwrap();
    assert_eq!(archived["video"], vector.cid.as_str(), "the vector's CID");
    let root = archived["directory"].as_str().unwrap().to_owned();
    let record = PathBuf::from(archived["record_path"].as_str().unwrap());
    let car = PathBuf::from(archived["car_path"].as_str().unwrap());
    let car_size = std::fs::metadata(&car).unwrap().len();

    let node = IpfsNode::start(&base.join("node"));
    let api = node.api.clone();
    // Each run starts from a node without the archive, with the inputs in the page cache.
    let reset = || {
        if node.pinned(&root) {
            assert_eq!(node.rpc("pin/rm", &format!("arg={root}")).0, 200);
        }
        assert_eq!(node.rpc("repo/gc", "").0, 200);
        for path in [&file, &car] {
            std::io::copy(
                &mut std::fs::File::open(path).unwrap(),
                &mut std::io::sink(),
            )
            .unwrap();
        }
        let _ = Command::new("sync").status();
        std::thread::sleep(Duration::from_millis(500));
    };
    // The three commands take turns, so a node that slows down as its repo grows (or speeds up
    // as it warms) weighs on each alike.
    let commands: [(&str, MakeCommand); 3] = [
        (
            "curl -F file=@x.car (dag/import)",
            Box::new(|| {
                let mut c = Command::new("curl");
                c.args(["-sS", "--fail", "-X", "POST", "-F"])
                    .arg(format!(
                        "file=@{};type=application/vnd.ipld.car",
                        car.display()
                    ))
                    .arg(format!("{api}/api/v0/dag/import?pin-roots=true"));
                c
            }),
        ),
        (
            "ingest push RECORD --data DIR (derived)",
            Box::new(|| {
                let mut c = Command::new(&ingest);
                c.args(["push", "-q", "--api", &api])
                    .arg(&record)
                    .arg("--data")
                    .arg(&data);
                c
            }),
        ),
        (
            "ingest push x.car",
            Box::new(|| {
                let mut c = Command::new(&ingest);
                c.args(["push", "-q", "--api", &api]).arg(&car);
                c
            }),
        ),
    ];
    let mut times = vec![Vec::new(); commands.len()];
    let mut rss = vec![0u64; commands.len()];
    for _ in 0..REPEATS {
        for (i, (_, command)) in commands.iter().enumerate() {
            reset();
            let r: Run = measure(&mut command());
            assert!(node.pinned(&root), "the run pinned the root: {}", r.stdout);
            times[i].push(r.wall);
            rss[i] = rss[i].max(r.max_rss_kib);
        }
    }
    let medians: Vec<Duration> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            t[REPEATS / 2]
        })
        .collect();
    let names: Vec<&str> = commands.iter().map(|(name, _)| *name).collect();
    drop(commands);
    drop(node);

    let mib = car_size as f64 / (1u64 << 20) as f64;
    println!(
        "1 GiB + 1 byte ({SEED}) archived under {PROFILE}: a CAR of {car_size} bytes, pushed to \
         js-ipfs 0.66.1 on 127.0.0.1 (in a private network namespace); median of {REPEATS}; \
         ratio = curl's time / this time (≥ 1: as fast as curl or faster)"
    );
    println!();
    println!("| command | wall | throughput | ratio to curl -F | peak RSS |");
    println!("|---|---:|---:|---:|---:|");
    for (i, name) in names.iter().enumerate() {
        println!(
            "| {name} | {:.2} s | {:.0} MiB/s | {:.2}× | {:.1} MiB |",
            medians[i].as_secs_f64(),
            mib / medians[i].as_secs_f64(),
            medians[0].as_secs_f64() / medians[i].as_secs_f64(),
            rss[i] as f64 / 1024.0
        );
    }
    println!();
    println!("root {root}, video CID {} (the vector's)", vector.cid);
    let _ = std::fs::remove_dir_all(&base);
}
