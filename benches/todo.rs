//! Question: how much does a volunteer download to run `ingest todo` against a catalogue of a
//! million videos read from IPFS, and how much more after the catalogue grows by ten thousand?
//!
//! The catalogue: 1,000,000 synthetic records in site `youtube` (random 11-character ids, as
//! YouTube's are, so their names spread over the HAMT) and a few thousand in a second site,
//! `vimeo`, merged with the release `ingest` binary into one catalogue CAR. It is served by a
//! real trustless gateway (Helia 7 + verified-fetch, tests/helia-gateway.sh) over a filesystem
//! blockstore, in a private network namespace (benches/todo.sh runs this benchmark through
//! tests/netns.sh). The ids file names 20,000 youtube ids as `youtube ID` lines: 10,000 the
//! catalogue has, 5,000 that the incremental merge below adds, 5,000 that nobody archived.
//!
//! 1. `ingest merge` of every record into `full.car` (not measured here: see benches/merge.rs).
//! 2. The whole CAR into the gateway's blockstore. `tests/helia-gateway.sh import` puts one block
//!    at a time (a temporary file and a rename each), which for the 3 million blocks of a
//!    million-record catalogue would take longer than everything else together; so the blocks
//!    are written here, each checked as the script checks them (sha2-256 only, hashing to its
//!    CID), straight into blockstore-fs's layout (`blocks/<last two characters>/<base32upper
//!    multibase of the multihash>.data`, blockstore-fs 4.0.1's `NextToLast`). That layout is
//!    checked below against what the script itself writes: every block of the delta CAR, which
//!    the script imports, must be found where this benchmark would have put it, byte for byte.
//!    `INGEST_BENCH_IMPORT=script` imports the whole CAR with the script instead (small runs).
//! 3. A first `ingest todo /ipfs/ROOT --ids ids.txt --gateway URL --cache C --json`: wall time,
//!    peak RSS (`wait4`), CPU time of the todo and of the gateway meanwhile (`getrusage`,
//!    `/proc/PID/stat`: which side the time goes to), and what it fetched (its JSON summary on
//!    stderr: HTTP body bytes per gateway) against what it needs: the root block and every
//!    shard of youtube's HAMT, summed
//!    from the CAR by decoding the blocks here (a shard's links to shards below it are named by
//!    exactly two hex digits). The gateway's log says which requests it made.
//! 4. `ingest merge --base full.car new.car --delta delta.car --out inc.car` with 10,000 new
//!    youtube records (random ids), the delta imported with the script (timed), then a second
//!    `ingest todo` of the new root with the same cache: what it fetched against the blocks of
//!    youtube's new HAMT that the old one lacks, and the new root.
//! 5. Each todo's output equals that of `ingest todo CAR --ids ids.txt --json` on the local CAR.
//!
//! Usage: `benches/todo.sh` (builds first, installs the gateway's npm packages). Environment:
//! `INGEST_BENCH_RECORDS` (youtube records, default 1,000,000), `INGEST_BENCH_NEW` (10,000),
//! `INGEST_BENCH_VIMEO` (5,000), `INGEST_BENCH_DIR` (default: the system temp dir; the
//! blockstore of a million-record catalogue takes about 13 GB of disk, 4 KiB a block),
//! `INGEST_BIN`, `INGEST_BENCH_IMPORT`.
//! Results are kept in `benches/runs/`.

use std::collections::{BTreeMap, HashSet};
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ingest_core::car::CarIndex;
use ingest_core::{CarReader, Cid};
use ingest_tests::fixtures::{Record, RecordBuilder, Role};
use ingest_tests::gateway::HeliaGateway;

mod common;
use common::{bench_dir, env_u64, ingest_bin, measure, mix, Run};

const SHA2_256: u64 = 0x12;
const DAG_PB: u64 = 0x70;
/// UnixFS `Data.Type` of a HAMT shard.
const HAMT_SHARD: u64 = 5;

/// The youtube id number `n`: 11 characters of base64url, like YouTube's, taken from a
/// bijective mix of `n` (64 of their 66 bits), so different numbers give different ids.
fn youtube_id(n: u64) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let v = mix(n);
    (0..11)
        .map(|k| ALPHABET[((v >> (k * 6)) & 63) as usize] as char)
        .collect()
}

/// Record number `i` of `site`/`id` (the shape of benches/merge.rs's records).
fn record(site: &str, id: &str, url: String, i: u64) -> Record {
    RecordBuilder::new(site, id)
        .url(url)
        .file(Role::Video, format!("{site}-{id}.mp4"), 10_000_000 + i)
        .file(
            Role::Thumbnail,
            format!("{site}-{id}.jpg"),
            30_000 + i % 1000,
        )
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

fn youtube(n: u64) -> Record {
    let id = youtube_id(n);
    let url = format!("https://www.youtube.com/watch?v={id}");
    record("youtube", &id, url, n)
}

fn vimeo(n: u64) -> Record {
    let id = (100_000_000 + n * 37).to_string();
    let url = format!("https://vimeo.com/{id}");
    record("vimeo", &id, url, n)
}

/// Where blockstore-fs 4.0.1 (`NextToLast`, its default) keeps the block `cid`: the multibase
/// base32upper string of its multihash (`B…`), in the directory of its last two characters,
/// with `.data` appended.
fn blockstore_path(blocks: &Path, cid: &Cid) -> PathBuf {
    let key = format!(
        "B{}",
        ingest_tests::trustless::base32_lower(&cid.hash().to_bytes()).to_ascii_uppercase()
    );
    blocks
        .join(&key[key.len() - 2..])
        .join(format!("{key}.data"))
}

/// Writes every block of `car` into the blockstore `blocks`, each checked as
/// `tests/helia-gateway.sh import` checks them (sha2-256, hashing to its CID: `CarReader` checks
/// the hash); all are checked before any is written. Returns the number of blocks.
fn write_blockstore(car: &Path, blocks: &Path) -> u64 {
    let open = || {
        CarReader::new(BufReader::with_capacity(
            1 << 20,
            std::fs::File::open(car).unwrap(),
        ))
        .unwrap()
    };
    let mut reader = open();
    let mut block = Vec::new();
    let mut count = 0u64;
    while let Some(cid) = reader.next_block_into(&mut block).expect("a valid block") {
        assert_eq!(cid.hash().code(), SHA2_256, "block {cid}: only sha2-256");
        count += 1;
    }
    let mut reader = open();
    let mut dirs = HashSet::new();
    let mut again = 0u64;
    while let Some(cid) = reader.next_block_into(&mut block).expect("a valid block") {
        let path = blockstore_path(blocks, &cid);
        let dir = path.parent().unwrap();
        if !dirs.contains(dir) {
            std::fs::create_dir_all(dir).unwrap();
            dirs.insert(dir.to_owned());
        }
        std::fs::write(&path, &block).unwrap();
        again += 1;
    }
    assert_eq!(again, count, "the CAR changed while it was written");
    count
}

/// A protobuf varint at `*pos`.
fn varint(b: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = b[*pos];
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return v;
        }
    }
    panic!("a varint over 64 bits");
}

/// The protobuf fields of `b`: (field number, varint value or bytes).
fn fields(b: &[u8]) -> Vec<(u64, Result<u64, &[u8]>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < b.len() {
        let key = varint(b, &mut pos);
        match key & 7 {
            0 => out.push((key >> 3, Ok(varint(b, &mut pos)))),
            2 => {
                let len = varint(b, &mut pos) as usize;
                out.push((key >> 3, Err(&b[pos..pos + len])));
                pos += len;
            }
            wire => panic!("protobuf wire type {wire}"),
        }
    }
    out
}

/// A dag-pb node, decoded here (not with the library under test): its UnixFS type and its
/// links as (name, CID).
fn dag_pb(block: &[u8]) -> (u64, Vec<(String, Cid)>) {
    let mut kind = u64::MAX;
    let mut links = Vec::new();
    for (field, value) in fields(block) {
        match (field, value) {
            (1, Err(data)) => {
                for (f, v) in fields(data) {
                    if let (1, Ok(t)) = (f, v) {
                        kind = t;
                    }
                }
            }
            (2, Err(link)) => {
                let (mut name, mut cid) = (String::new(), None);
                for (f, v) in fields(link) {
                    match (f, v) {
                        (1, Err(hash)) => cid = Some(Cid::try_from(hash).expect("a CID")),
                        (2, Err(n)) => name = String::from_utf8(n.to_vec()).expect("a name"),
                        _ => {}
                    }
                }
                links.push((name, cid.expect("a link's hash")));
            }
            _ => {}
        }
    }
    (kind, links)
}

fn get(car: &mut CarIndex, cid: &Cid) -> Vec<u8> {
    car.get(cid)
        .unwrap()
        .unwrap_or_else(|| panic!("{cid} is in the CAR"))
}

/// What `todo` of one site needs from a catalogue CAR: the root block's size, and every
/// shard of that site's HAMT as CID → (level, size), level 1 being the site directory itself.
struct Needed {
    root: Cid,
    root_size: u64,
    shards: BTreeMap<Cid, (usize, u64)>,
    car_size: u64,
}

impl Needed {
    fn of(car_path: &Path, site: &str) -> Needed {
        let mut car = CarIndex::open(car_path).unwrap();
        let root = car.roots()[0];
        let root_block = get(&mut car, &root);
        let (_, links) = dag_pb(&root_block);
        let site_dir = links
            .iter()
            .find(|(name, _)| name == site)
            .unwrap_or_else(|| panic!("the root lists {site}"))
            .1;
        let mut shards = BTreeMap::new();
        let mut level = vec![site_dir];
        let mut depth = 1;
        while !level.is_empty() {
            let mut next = Vec::new();
            for cid in level {
                assert_eq!(cid.codec(), DAG_PB);
                let block = get(&mut car, &cid);
                let (kind, links) = dag_pb(&block);
                assert_eq!(kind, HAMT_SHARD, "{site} is a HAMT-sharded directory");
                shards.insert(cid, (depth, block.len() as u64));
                next.extend(
                    links
                        .into_iter()
                        .filter(|(name, _)| {
                            name.len() == 2 && name.bytes().all(|c| c.is_ascii_hexdigit())
                        })
                        .map(|(_, cid)| cid),
                );
            }
            level = next;
            depth += 1;
        }
        Needed {
            root,
            root_size: root_block.len() as u64,
            shards,
            car_size: std::fs::metadata(car_path).unwrap().len(),
        }
    }

    fn bytes(&self) -> u64 {
        self.root_size + self.shards.values().map(|(_, size)| size).sum::<u64>()
    }
}

/// Shards per level, and their bytes: "level 1: 1 (12 KB), level 2: …".
fn per_level<'a>(shards: impl Iterator<Item = &'a (usize, u64)>) -> String {
    let mut levels: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
    for (level, size) in shards {
        let e = levels.entry(*level).or_default();
        e.0 += 1;
        e.1 += size;
    }
    levels
        .iter()
        .map(|(l, (n, b))| format!("level {l}: {n} ({b} B)"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The requests in the gateway's log from line `from` on: (count, by kind).
fn requests(log: &Path, from: usize) -> (usize, BTreeMap<String, usize>) {
    let text = std::fs::read_to_string(log).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .skip(from)
        .filter(|l| l.starts_with("GET "))
        .collect();
    let mut kinds = BTreeMap::new();
    for l in &lines {
        let status = l.rsplit(' ').next().unwrap_or("?");
        let kind = if l.contains("application/vnd.ipld.car") {
            let scope = l
                .split(['?', '&', ' '])
                .find(|p| p.starts_with("dag-scope="))
                .unwrap_or("dag-scope=all");
            format!("CAR {scope} {status}")
        } else if l.contains("application/vnd.ipld.raw") {
            format!("raw block {status}")
        } else {
            format!("other {status}")
        };
        *kinds.entry(kind).or_default() += 1;
    }
    (lines.len(), kinds)
}

fn log_lines(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn sync() {
    assert!(
        Command::new("sync").status().is_ok_and(|s| s.success()),
        "sync runs"
    );
}

/// One `ingest todo` from the gateway: the run, its stderr summary.
/// CPU seconds (user + system) of this process's children that have ended.
fn children_cpu() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) },
        0
    );
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// CPU seconds (user + system) the process `pid` has used so far (`/proc/PID/stat`).
fn process_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the command's name, in parentheses: field 3 on; utime and stime are 14 and 15.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // SAFETY: sysconf has no preconditions.
    let tick = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()) as f64 / tick
}

/// One `ingest todo` from the gateway, measured.
struct Remote {
    run: Run,
    /// Its JSON summary on stderr.
    summary: serde_json::Value,
    /// CPU seconds of the todo process, and of the gateway meanwhile.
    cpu: f64,
    gateway_cpu: f64,
}

fn todo_remote(
    bin: &Path,
    root: &Cid,
    ids: &Path,
    gateway: &HeliaGateway,
    cache: &Path,
    stderr: &Path,
) -> Remote {
    let mut cmd = Command::new(bin);
    cmd.args(["todo", "-q", "--json", "--ids"])
        .arg(ids)
        .args(["--gateway", &gateway.url, "--cache"])
        .arg(cache)
        .arg(format!("/ipfs/{root}"))
        .stderr(std::fs::File::create(stderr).unwrap());
    sync();
    let (cpu, gateway_cpu) = (children_cpu(), process_cpu(gateway.pid));
    let run = measure(&mut cmd);
    let (cpu, gateway_cpu) = (children_cpu() - cpu, process_cpu(gateway.pid) - gateway_cpu);
    let text = std::fs::read_to_string(stderr).unwrap();
    let summary = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .unwrap_or_else(|| panic!("todo printed its JSON summary on stderr: {text}"));
    Remote {
        run,
        summary,
        cpu,
        gateway_cpu,
    }
}

fn todo_local(bin: &Path, car: &Path, ids: &Path) -> String {
    let out = Command::new(bin)
        .args(["todo", "-q", "--json", "--ids"])
        .arg(ids)
        .arg(car)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn merge(bin: &Path, args: &[&Path], extra: &[&str]) -> serde_json::Value {
    let mut cmd = Command::new(bin);
    cmd.args(["merge", "-q", "--json"]).args(extra).args(args);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("merge prints JSON")
}

fn mb(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1e6)
}

fn main() {
    let bin = ingest_bin("benches/todo.sh");
    let count = env_u64("INGEST_BENCH_RECORDS", 1_000_000);
    let new = env_u64("INGEST_BENCH_NEW", 10_000);
    let vimeo_count = env_u64("INGEST_BENCH_VIMEO", 5_000);
    let by_script = std::env::var("INGEST_BENCH_IMPORT").is_ok_and(|v| v == "script");
    let dir = bench_dir("ingest-bench").join(format!("todo-{count}"));

    // Inputs (records kept between runs).
    let mut base_cars =
        common::generate_records(&dir.join("records"), "youtube", 0..count, youtube);
    base_cars.extend(common::generate_records(
        &dir.join("records"),
        "vimeo",
        0..vimeo_count,
        vimeo,
    ));
    let new_cars =
        common::generate_records(&dir.join("new"), "youtube", count..count + new, youtube);
    // 10,000 archived ids spread over the million, 5,000 of the new records, 5,000 never archived.
    let archived = 10_000.min(count);
    let later = 5_000.min(new);
    let ids = dir.join("ids.txt");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&ids).unwrap());
        for k in 0..archived {
            writeln!(f, "youtube {}", youtube_id(k * count / archived)).unwrap();
            if k < later {
                writeln!(f, "youtube {}", youtube_id(count + k * new / later)).unwrap();
            }
            if k < 5_000 {
                writeln!(f, "youtube {}", youtube_id((1 << 40) + k)).unwrap();
            }
        }
    }
    let wanted = std::fs::read_to_string(&ids).unwrap().lines().count();

    let work = dir.join("run");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let full = work.join("full.car");
    let base_paths: Vec<&Path> = base_cars.iter().map(PathBuf::as_path).collect();
    let merged = merge(&bin, &base_paths, &["--out", full.to_str().unwrap()]);
    let root: Cid = merged["root"].as_str().unwrap().parse().unwrap();
    let needed = Needed::of(&full, "youtube");
    assert_eq!(needed.root, root);

    // The gateway's blockstore, then the gateway.
    let gw_dir = work.join("gateway");
    let blocks = gw_dir.join("blocks");
    std::fs::create_dir_all(&blocks).unwrap();
    let start = Instant::now();
    let (import_how, imported) = if by_script {
        let out = Command::new("bash")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/helia-gateway.sh"))
            .arg("import")
            .arg(&gw_dir)
            .arg(&full)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let n = text
            .lines()
            .find_map(|l| l.strip_prefix("blocks="))
            .unwrap()
            .parse()
            .unwrap();
        ("tests/helia-gateway.sh import", n)
    } else {
        (
            "written by this benchmark in blockstore-fs's layout",
            write_blockstore(&full, &blocks),
        )
    };
    let write_time = start.elapsed();
    sync();
    let import_time = start.elapsed();
    let gateway = HeliaGateway::start(&gw_dir);
    let log = gw_dir.join("gateway.log");

    // First todo, empty cache.
    let cache = work.join("cache");
    let expected_first = todo_local(&bin, &full, &ids);
    let from = log_lines(&log);
    let first = todo_remote(&bin, &root, &ids, &gateway, &cache, &work.join("todo1.err"));
    let (run1, sum1) = (&first.run, &first.summary);
    let (req1, kinds1) = requests(&log, from);
    assert_eq!(
        run1.stdout, expected_first,
        "the first todo equals the local one"
    );

    // Incremental merge, delta imported with the script.
    let inc = work.join("inc.car");
    let delta = work.join("delta.car");
    let new_paths: Vec<&Path> = new_cars.iter().map(PathBuf::as_path).collect();
    let merged2 = merge(
        &bin,
        &new_paths,
        &[
            "--base",
            full.to_str().unwrap(),
            "--delta",
            delta.to_str().unwrap(),
            "--out",
            inc.to_str().unwrap(),
        ],
    );
    let new_root: Cid = merged2["root"].as_str().unwrap().parse().unwrap();
    let start = Instant::now();
    let roots = gateway.import(&delta);
    let delta_import = start.elapsed();
    assert_eq!(roots, [new_root.to_string()], "the delta's root");
    // The layout check: every block the script imported is where `blockstore_path` says.
    let mut delta_blocks = 0u64;
    for item in CarReader::new(BufReader::new(std::fs::File::open(&delta).unwrap())).unwrap() {
        let (cid, bytes) = item.unwrap();
        let path = blockstore_path(&blocks, &cid);
        assert_eq!(
            std::fs::read(&path).ok().as_deref(),
            Some(&bytes[..]),
            "{cid} at {}",
            path.display()
        );
        delta_blocks += 1;
    }
    let needed2 = Needed::of(&inc, "youtube");
    assert_eq!(needed2.root, new_root);
    let changed: BTreeMap<Cid, (usize, u64)> = needed2
        .shards
        .iter()
        .filter(|(cid, _)| !needed.shards.contains_key(cid))
        .map(|(c, v)| (*c, *v))
        .collect();
    let changed_bytes = needed2.root_size + changed.values().map(|(_, s)| s).sum::<u64>();

    // Second todo, same cache.
    let expected_second = todo_local(&bin, &inc, &ids);
    let from = log_lines(&log);
    let second = todo_remote(
        &bin,
        &new_root,
        &ids,
        &gateway,
        &cache,
        &work.join("todo2.err"),
    );
    let (run2, sum2) = (&second.run, &second.summary);
    let (req2, kinds2) = requests(&log, from);
    assert_eq!(
        run2.stdout, expected_second,
        "the second todo equals the local one"
    );
    drop(gateway);

    let fetched = |s: &serde_json::Value, key: &str| -> u64 {
        s["fetched"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g[key].as_u64().unwrap())
            .sum()
    };
    let (bytes1, bytes2) = (fetched(sum1, "bytes"), fetched(sum2, "bytes"));
    let (failures1, failures2) = (fetched(sum1, "failures"), fetched(sum2, "failures"));

    println!(
        "{count} youtube records (random 11-character ids) and {vimeo_count} vimeo records \
         merged into one catalogue: a CAR of {} bytes, {imported} blocks, root {root}; served by \
         Helia 7 + verified-fetch 8.0.4 (tests/helia-gateway.sh) on 127.0.0.1 in a private \
         network namespace. The ids file: {wanted} `youtube ID` lines ({archived} archived, \
         {later} added by the incremental merge, the rest never archived). After the merge of \
         {new} more youtube records (random ids): a CAR of {} bytes, root {new_root}.",
        needed.car_size, needed2.car_size
    );
    println!();
    println!(
        "gateway blockstore: {imported} blocks {import_how}: {:.1} s ({:.1} s writing, then sync); \
         the delta ({delta_blocks} blocks) imported by tests/helia-gateway.sh import in {:.1} s \
         ({:.0} blocks/s), each found where this benchmark writes blocks, byte for byte",
        import_time.as_secs_f64(),
        write_time.as_secs_f64(),
        delta_import.as_secs_f64(),
        delta_blocks as f64 / delta_import.as_secs_f64(),
    );
    println!();
    println!(
        "| todo | wall | CPU: todo / gateway | peak RSS | fetched (HTTP body bytes) | blocks | requests | needed | fetched / needed | fetched / whole CAR | output |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let row = |what: String,
               r: &Remote,
               bytes: u64,
               requests: usize,
               needed: u64,
               what_needed: String,
               car: u64| {
        println!(
            "| {what} | {:.2} s | {:.1} s / {:.1} s | {:.1} MiB | {} | {} | {requests} | {} ({what_needed}) | {:.3}× | {:.2} % | {} lines, = local |",
            r.run.wall.as_secs_f64(),
            r.cpu,
            r.gateway_cpu,
            r.run.max_rss_kib as f64 / 1024.0,
            mb(bytes),
            fetched(&r.summary, "blocks"),
            mb(needed),
            bytes as f64 / needed as f64,
            100.0 * bytes as f64 / car as f64,
            r.run.stdout.lines().count(),
        );
    };
    row(
        "first, empty cache".into(),
        &first,
        bytes1,
        req1,
        needed.bytes(),
        format!("root + {} youtube shards", needed.shards.len()),
        needed.car_size,
    );
    row(
        format!("second, after +{new} records, same cache"),
        &second,
        bytes2,
        req2,
        changed_bytes,
        format!("new root + {} changed shards", changed.len()),
        needed2.car_size,
    );
    println!();
    println!(
        "targets: first ≤ 1.2 × needed: {}; second ≤ 1.2 × needed: {}; peak RSS < 512 MiB: {}",
        if bytes1 as f64 <= 1.2 * needed.bytes() as f64 {
            "met"
        } else {
            "MISSED"
        },
        if bytes2 as f64 <= 1.2 * changed_bytes as f64 {
            "met"
        } else {
            "MISSED"
        },
        if run1.max_rss_kib.max(run2.max_rss_kib) < 512 * 1024 {
            "met"
        } else {
            "MISSED"
        },
    );
    println!();
    println!(
        "youtube's HAMT, first catalogue: {} shards, {}; root block {} B",
        needed.shards.len(),
        per_level(needed.shards.values()),
        needed.root_size
    );
    println!(
        "youtube's HAMT, after the merge: {} shards, of which {} are new: {}; old shards replaced: {}",
        needed2.shards.len(),
        changed.len(),
        per_level(changed.values()),
        {
            let mut old: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
            for (cid, (level, _)) in &needed.shards {
                let e = old.entry(*level).or_default();
                e.0 += 1;
                e.1 += u64::from(!needed2.shards.contains_key(cid));
            }
            old.iter()
                .map(|(l, (n, gone))| {
                    format!("level {l}: {gone}/{n} ({:.1} %)", 100.0 * *gone as f64 / *n as f64)
                })
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    println!(
        "second todo's need against the first's: {:.3}",
        changed_bytes as f64 / needed.bytes() as f64
    );
    println!();
    println!("requests to the gateway (its log): first todo {kinds1:?}; second todo {kinds2:?}");
    println!(
        "failed requests: first {failures1}, second {failures2}; cached blocks used by the second: {}",
        sum2["cached_blocks"]
    );
    println!();
    println!("first todo's summary: {sum1}");
    println!("second todo's summary: {sum2}");
    let _ = std::fs::remove_dir_all(&work);
}
