//! Reading from trustless gateways (`ls`, `todo`, `export-archive`, `record`, `merge
//! --records`, `get`) against the test kit's gateway, honest and lying: every lie is refused
//! or recovered from, and nothing unverified reaches the cache or a final name.

use std::path::{Path, PathBuf};

use ingest_core::Cid;
use ingest_tests::http::{Answer, Server};
use ingest_tests::trustless::{
    block_path, blocks_of, car, car_of, car_path, check_cache, raw, serve_blocks,
};
use ingest_tests::Content;

use crate::common::{cli, ingest, json_lines, stderr, stdout};

/// A catalogue of youtube v0..v3 and vimeo v0..v1: its CAR, its root, its blocks, and the
/// records' directory.
struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    car: String,
    root: Cid,
    blocks: Vec<(Cid, Vec<u8>)>,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_owned();
    let mut records = cli().archive_many(&dir, "youtube", 4, "first");
    records.extend(cli().archive_many(&dir, "vimeo", 2, "first"));
    let car = dir.join("cat.car").to_str().unwrap().to_owned();
    let mut args: Vec<&str> = records.iter().map(|p| p.to_str().unwrap()).collect();
    args.extend(["--out", &car]);
    let (root, _) = cli().merge_root(&args);
    let blocks = blocks_of(Path::new(&car));
    Fixture {
        _tmp: tmp,
        dir,
        car,
        root: root.parse().unwrap(),
        blocks,
    }
}

impl Fixture {
    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_owned()
    }

    /// The block at `path` below the root (`site`, `site/id`, `site/id/record.cbor`).
    fn cid_at(&self, path: &str) -> Cid {
        let mut cid = self.root;
        for name in path.split('/') {
            let block = &self.blocks.iter().find(|(c, _)| *c == cid).unwrap().1;
            cid = links(block)
                .into_iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("no {name} in {cid}"))
                .1;
        }
        cid
    }
}

/// The (name, CID) links of a small dag-pb directory block, decoded here by hand.
fn links(block: &[u8]) -> Vec<(String, Cid)> {
    fn varint(b: &[u8], i: &mut usize) -> u64 {
        let mut v = 0;
        for shift in (0..64).step_by(7) {
            let byte = b[*i];
            *i += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                break;
            }
        }
        v
    }
    let mut out = Vec::new();
    let mut i = 0;
    while i < block.len() {
        let key = varint(block, &mut i);
        let len = varint(block, &mut i) as usize;
        let field = &block[i..i + len];
        i += len;
        if key == (2 << 3 | 2) {
            let (mut j, mut name, mut cid) = (0, String::new(), None);
            while j < field.len() {
                let k = varint(field, &mut j);
                if k & 7 == 0 {
                    varint(field, &mut j);
                    continue;
                }
                let l = varint(field, &mut j) as usize;
                match k >> 3 {
                    1 => cid = Some(Cid::try_from(&field[j..j + l]).unwrap()),
                    2 => name = String::from_utf8(field[j..j + l].to_vec()).unwrap(),
                    _ => {}
                }
                j += l;
            }
            out.push((name, cid.unwrap()));
        }
    }
    out
}

/// `ingest ARGS --gateway G... --cache CACHE`.
fn via(args: &[&str], gateways: &[&Server], cache: &Path) -> std::process::Output {
    let urls: Vec<String> = gateways.iter().map(|g| g.url("")).collect();
    let mut argv: Vec<&str> = args.to_vec();
    for url in &urls {
        argv.extend(["--gateway", url]);
    }
    argv.extend(["--cache", cache.to_str().unwrap()]);
    let mut command = cli().command();
    command.args(&argv).env_remove("IPFS_GATEWAY");
    command.output().unwrap()
}

fn ok(out: std::process::Output) -> String {
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn reads_from_a_gateway_give_what_the_car_gives() {
    let f = fixture();
    let gw = Server::start().unwrap();
    serve_blocks(&gw, &f.blocks);
    let cache = tempfile::tempdir().unwrap();
    let root = f.root.to_string();
    let from_car = ok(ingest(&["ls", &f.car]));
    assert_eq!(from_car.lines().count(), 6);
    for form in [
        root.clone(),
        format!("/ipfs/{root}"),
        format!("ipfs://{root}"),
    ] {
        assert_eq!(
            ok(via(&["ls", &form], &[&gw], cache.path())),
            from_car,
            "{form}"
        );
    }
    assert_eq!(
        ok(via(&["export-archive", &root], &[&gw], cache.path())),
        ok(ingest(&["export-archive", &f.car]))
    );
    // A record by its CID, and by its video's directory.
    let record = f.cid_at("vimeo/v1/record.cbor").to_string();
    let shown = ok(ingest(&[
        "record",
        "show",
        &f.path("records/vimeo-v1.record.cbor"),
    ]));
    let fresh = tempfile::tempdir().unwrap();
    assert_eq!(
        ok(via(&["record", "show", &record], &[&gw], fresh.path())),
        shown
    );
    assert_eq!(
        ok(via(
            &["record", "show", &format!("/ipfs/{root}/vimeo/v1")],
            &[&gw],
            fresh.path()
        )),
        shown
    );

    // todo for vimeo ids only: the root and vimeo's directory, nothing else.
    let ids = f.path("ids.txt");
    std::fs::write(&ids, "vimeo v0\nvimeo v7\nvimeo v9\n").unwrap();
    let from_car = ok(ingest(&["todo", &f.car, "--ids", &ids]));
    assert_eq!(from_car, "vimeo v7\nvimeo v9\n");
    let gw2 = Server::start().unwrap();
    serve_blocks(&gw2, &f.blocks);
    let empty = tempfile::tempdir().unwrap();
    let out = via(
        &["todo", &root, "--ids", &ids, "--json"],
        &[&gw2],
        empty.path(),
    );
    assert_eq!(
        json_lines(&out),
        vec![
            serde_json::json!({"site": "vimeo", "id": "v7"}),
            serde_json::json!({"site": "vimeo", "id": "v9"})
        ]
    );
    let mut asked: Vec<String> = gw2.seen().into_iter().map(|s| s.path).collect();
    asked.sort();
    let mut want = vec![block_path(&f.root), block_path(&f.cid_at("vimeo"))];
    want.sort();
    assert_eq!(asked, want, "only the root and the site's directory");
    // The summary on stderr counts what each gateway served.
    let summary: serde_json::Value = serde_json::from_str(stderr(&out).trim()).unwrap();
    assert_eq!(summary["fetched"][0]["blocks"], 2, "{summary}");
    // Again: all from the cache, nothing asked.
    assert_eq!(
        ok(via(&["todo", &root, "--ids", &ids], &[&gw2], empty.path())),
        from_car
    );
    assert_eq!(gw2.seen().len(), 2);
    assert_eq!(check_cache(empty.path()), 2);
}

/// A gateway serving the blocks of `f`, and lying about some.
fn a_liar(f: &Fixture) -> Server {
    let liar = Server::start().unwrap();
    serve_blocks(&liar, &f.blocks);
    // The root's bytes are another directory's; a record's are another record's.
    let youtube = f.cid_at("youtube");
    let youtube_block = f
        .blocks
        .iter()
        .find(|(c, _)| *c == youtube)
        .unwrap()
        .1
        .clone();
    liar.put(&block_path(&f.root), raw(youtube_block));
    let record = f.cid_at("vimeo/v0/record.cbor");
    let other = f.cid_at("vimeo/v1/record.cbor");
    let other_block = f
        .blocks
        .iter()
        .find(|(c, _)| *c == other)
        .unwrap()
        .1
        .clone();
    liar.put(&block_path(&record), raw(other_block));
    // A path answered with another subtree: never asked, since paths are resolved here.
    liar.put(
        &format!("/ipfs/{}/vimeo", f.root),
        raw(f.blocks[0].1.clone()),
    );
    liar
}

/// The liar alone: refused, naming it and the block.
#[test]
fn a_lying_gateway_is_caught() {
    let f = fixture();
    let liar = a_liar(&f);
    let root = f.root.to_string();
    let cache = tempfile::tempdir().unwrap();
    let out = via(&["ls", &root], &[&liar], cache.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&liar.url("")), "{err}");
    assert!(err.contains(&format!("{root} do not match")), "{err}");
    assert_eq!(check_cache(cache.path()), 0, "nothing unverified kept");
}

/// The liar first, then an honest one: the same answer as the CAR.
#[test]
fn after_a_lying_gateway_the_next_one_is_asked() {
    let f = fixture();
    let liar = a_liar(&f);
    let honest = Server::start().unwrap();
    serve_blocks(&honest, &f.blocks);
    let root = f.root.to_string();
    let cache = tempfile::tempdir().unwrap();
    let out = via(&["ls", &root], &[&liar, &honest], cache.path());
    assert_eq!(ok(out), ok(ingest(&["ls", &f.car])));
    let out = via(
        &[
            "record",
            "show",
            &format!("/ipfs/{root}/vimeo/v0/record.cbor"),
        ],
        &[&liar, &honest],
        cache.path(),
    );
    assert_eq!(
        ok(out),
        ok(ingest(&[
            "record",
            "show",
            &f.path("records/vimeo-v0.record.cbor")
        ]))
    );
    assert!(liar.seen().iter().all(|s| !s.path.contains("/vimeo")));
    check_cache(cache.path());
}

/// Failing first (503), then good: asked again.
#[test]
fn a_failing_gateway_is_asked_again() {
    let f = fixture();
    let root = f.root.to_string();
    let flaky = Server::start().unwrap();
    serve_blocks(&flaky, &f.blocks);
    flaky.put(
        &block_path(&f.root),
        raw(f
            .blocks
            .iter()
            .find(|(c, _)| *c == f.root)
            .unwrap()
            .1
            .clone())
        .answers([Answer::status(503)]),
    );
    let fresh = tempfile::tempdir().unwrap();
    let out = via(&["export-archive", &root], &[&flaky], fresh.path());
    assert_eq!(ok(out), ok(ingest(&["export-archive", &f.car])));
}

#[test]
fn merge_of_record_cids_equals_merge_of_record_files() {
    let f = fixture();
    let gw = Server::start().unwrap();
    serve_blocks(&gw, &f.blocks);
    // Two more records, archived but not merged: their CIDs are handed over.
    let more = cli().archive_many(&f.dir.join("more"), "vimeo", 4, "second");
    let mut cids = String::from("# from volunteers\n");
    for record in &more[2..] {
        let car = record.with_extension("").with_extension("car");
        for (cid, block) in blocks_of(&car) {
            gw.put(&block_path(&cid), raw(block.clone()));
            if cid.codec() == 0x71 {
                cids.push_str(&format!("{cid}\n"));
            }
        }
    }
    let missing = "bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    cids.push_str(&format!("{missing}\nnot-a-cid\n"));
    let list = f.path("cids.txt");
    std::fs::write(&list, &cids).unwrap();

    let files: Vec<&str> = more[2..].iter().map(|p| p.to_str().unwrap()).collect();
    let (want, _) =
        cli().merge_root(&[&files[..], &["--base", &f.car, "--out", &f.path("w.car")]].concat());
    let cache = tempfile::tempdir().unwrap();
    let root = f.root.to_string();
    let out = via(
        &[
            "merge",
            "--json",
            "--base",
            &root,
            "--records",
            &list,
            "--out",
            &f.path("d.car"),
            "--fetch-retries",
            "0",
        ],
        &[&gw],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(summary["root"], want.as_str(), "{summary}");
    assert_eq!(summary["added"], 2);
    let rejected = summary["rejected"].to_string();
    assert!(
        rejected.contains(missing) && rejected.contains("not-a-cid"),
        "{rejected}"
    );
    // The output is a delta: only new blocks, rooted at the new root.
    let delta = blocks_of(Path::new(&f.path("d.car")));
    assert!(delta.len() < f.blocks.len() + 4, "{}", delta.len());
    assert!(delta
        .iter()
        .all(|(c, _)| !f.blocks.iter().any(|(b, _)| b == c) || *c == f.root));
    // The same CIDs onto the local base CAR: the same root.
    let out = via(
        &[
            "merge",
            "--json",
            "--base",
            &f.car,
            "--records",
            &list,
            "--out",
            &f.path("l.car"),
        ],
        &[&gw],
        cache.path(),
    );
    let summary: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(summary["root"], want.as_str());
}

/// A file of several blocks (2.5 MiB: three 1 MiB leaves and a root), its blocks, and a
/// gateway serving them.
struct BigFile {
    tmp: tempfile::TempDir,
    bytes: Vec<u8>,
    root: Cid,
    blocks: Vec<(Cid, Vec<u8>)>,
}

fn big_file() -> BigFile {
    let tmp = tempfile::tempdir().unwrap();
    let bytes = Content::bytes("gateway-get", 5 << 19);
    let file = tmp.path().join("video.mp4");
    std::fs::write(&file, &bytes).unwrap();
    let car = tmp.path().join("video.car");
    let out = ingest(&[
        "add",
        file.to_str().unwrap(),
        "--car",
        car.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut blocks = blocks_of(&car);
    let root = ingest_core::car::CarIndex::open(&car).unwrap().roots()[0];
    assert_eq!(blocks.len(), 4);
    // Depth-first, as a gateway sends them: the root first (the importer writes it last).
    blocks.sort_by_key(|(c, _)| *c != root);
    BigFile {
        tmp,
        bytes,
        root,
        blocks,
    }
}

#[test]
fn get_refuses_bad_cars_and_keeps_only_good_blocks() {
    let f = big_file();
    let root = f.root.to_string();
    let entity = car_path(&f.root, "entity");
    let good_car = car_of(&[f.root], &f.blocks);
    let stray = (
        ingest_core::unixfs::cid_of(
            ingest_core::unixfs::CidVersion::V1,
            ingest_core::unixfs::RAW,
            b"stray",
        ),
        b"stray".to_vec(),
    );
    let mut extra = f.blocks.clone();
    extra.insert(2, stray.clone());
    // The root (small) sent again and again.
    let root_block = f.blocks.iter().find(|(c, _)| *c == f.root).unwrap().clone();
    let repeated = vec![root_block; 20_000];
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("an extra block", car_of(&[f.root], &extra)),
        ("another root", car_of(&[stray.0], &f.blocks)),
        ("truncated", good_car[..good_car.len() - 1000].to_vec()),
        ("endless", car_of(&[f.root], &repeated)),
        ("honest", good_car.clone()),
    ];
    for (case, body) in cases {
        let gw = Server::start().unwrap();
        serve_blocks(&gw, &f.blocks);
        gw.put(&entity, car(body));
        let cache = tempfile::tempdir().unwrap();
        let out = f.tmp.path().join(format!("out-{}", case.replace(' ', "-")));
        let o = via(
            &["get", &root, "-o", out.to_str().unwrap(), "--json"],
            &[&gw],
            cache.path(),
        );
        let summary = &json_lines(&{
            assert!(o.status.success(), "{case}: {}", stderr(&o));
            o
        })[0];
        assert_eq!(std::fs::read(&out).unwrap(), f.bytes, "{case}");
        assert_eq!(
            check_cache(cache.path()),
            4,
            "{case}: the four blocks, nothing else"
        );
        let failures = summary["fetched"][0]["failures"].as_u64().unwrap();
        assert_eq!(failures > 0, case != "honest", "{case}: {summary}");
        if case == "honest" {
            // The root alone (its size is checked before anything else is fetched), then the
            // rest as one CAR stream: no other block asked alone.
            assert_eq!(gw.seen().len(), 2, "{:?}", gw.seen());
        }
    }
}

/// A gateway serving the blocks of `f` but wrong bytes for a leaf, and no CAR: it and the leaf.
fn a_wrong_leaf(f: &BigFile) -> (Server, Cid) {
    let gw = Server::start().unwrap();
    serve_blocks(&gw, &f.blocks);
    let leaf = f.blocks.iter().find(|(c, _)| c.codec() == 0x55).unwrap().0;
    gw.put(&block_path(&leaf), raw(b"not the leaf".to_vec()));
    (gw, leaf)
}

/// Wrong bytes for a leaf, no CAR: the get fails, naming the gateway and the block, and
/// leaves nothing under the output's name or beside it.
#[test]
fn a_wrong_block_fails_a_get_naming_it_and_leaving_nothing() {
    let f = big_file();
    let root = f.root.to_string();
    let (gw, leaf) = a_wrong_leaf(&f);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("video.mp4");
    let cache = tempfile::tempdir().unwrap();
    let o = via(
        &[
            "get",
            &root,
            "-o",
            out.to_str().unwrap(),
            "--fetch-retries",
            "0",
        ],
        &[&gw],
        cache.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains(&gw.url("")) && err.contains(&leaf.to_string()),
        "{err}"
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing left"
    );
    check_cache(cache.path());
}

/// A second gateway has the block the first gets wrong: the get completes, byte-identical.
#[test]
fn a_get_completes_from_a_second_gateway() {
    let f = big_file();
    let root = f.root.to_string();
    let (gw, _) = a_wrong_leaf(&f);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("video.mp4");
    let cache = tempfile::tempdir().unwrap();
    let honest = Server::start().unwrap();
    serve_blocks(&honest, &f.blocks);
    let o = via(
        &["get", &root, "-o", out.to_str().unwrap()],
        &[&gw, &honest],
        cache.path(),
    );
    ok(o);
    assert_eq!(std::fs::read(&out).unwrap(), f.bytes);
}

/// A `get` stopped by SIGINT or SIGTERM while it writes removes its staging directory
/// (`.NAME.PID.XXXXXX.partial` beside the output) and exits 130; one killed outright leaves it,
/// and the next `get` into the same directory sweeps it.
#[test]
fn an_interrupted_get_leaves_no_staging_directory() {
    let f = big_file();
    // The root at once; every other byte slowly (64 KiB/s: the 2.5 MiB take about 40 s), as
    // one CAR stream or block by block.
    let slow = || {
        std::iter::repeat_n(
            Answer {
                rate: Some(64 << 10),
                ..Answer::default()
            },
            4,
        )
    };
    let gw = Server::start().unwrap();
    for (cid, block) in &f.blocks {
        let resource = raw(block.clone());
        let resource = if *cid == f.root {
            resource
        } else {
            resource.answers(slow())
        };
        gw.put(&block_path(cid), resource);
    }
    gw.put(
        &car_path(&f.root, "entity"),
        car(car_of(&[f.root], &f.blocks)).answers(slow()),
    );
    let entries = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let staging = |dir: &Path| -> Vec<String> {
        entries(dir)
            .into_iter()
            .filter(|n| n.starts_with(".video.mp4.") && n.ends_with(".partial"))
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("video.mp4");
    let start = || {
        let cache = tempfile::tempdir().unwrap();
        let mut command = cli().command();
        command
            .args(["get", &f.root.to_string(), "-o", out.to_str().unwrap()])
            .args(["--gateway", &gw.url(""), "--cache"])
            .arg(cache.path())
            .env_remove("IPFS_GATEWAY")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let child = command.spawn().unwrap();
        let started = std::time::Instant::now();
        while staging(dir.path()).is_empty() && started.elapsed().as_secs() < 30 {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(staging(dir.path()).len(), 1, "{:?}", entries(dir.path()));
        // Some bytes are on their way into it.
        std::thread::sleep(std::time::Duration::from_millis(300));
        (child, cache)
    };
    for signal in ["-INT", "-TERM"] {
        let (child, _cache) = start();
        let sent = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let run = child.wait_with_output().unwrap();
        assert_eq!(run.status.code(), Some(130), "{signal}: {}", stderr(&run));
        assert!(
            stderr(&run).contains("temporary files removed"),
            "{signal}: {}",
            stderr(&run)
        );
        assert!(
            entries(dir.path()).is_empty(),
            "{signal} left {:?}",
            entries(dir.path())
        );
    }
    // Killed outright, the process cannot clean up: its staging directory stays...
    let (mut child, _cache) = start();
    child.kill().unwrap();
    child.wait().unwrap();
    let left = staging(dir.path());
    assert_eq!(left.len(), 1, "{:?}", entries(dir.path()));
    // ...until the next get into the same directory, which sweeps it (its process is gone).
    let fast = Server::start().unwrap();
    serve_blocks(&fast, &f.blocks);
    let cache = tempfile::tempdir().unwrap();
    let other = dir.path().join("other.mp4");
    ok(via(
        &["get", &f.root.to_string(), "-o", other.to_str().unwrap()],
        &[&fast],
        cache.path(),
    ));
    assert_eq!(entries(dir.path()), ["other.mp4"]);
    assert_eq!(std::fs::read(&other).unwrap(), f.bytes);
}

#[test]
fn a_slow_gateway_is_left_for_the_next() {
    let f = big_file();
    let slow = Server::start().unwrap();
    let mut resources = f.blocks.clone();
    resources.truncate(4);
    for (cid, block) in &resources {
        slow.put(
            &block_path(cid),
            raw(block.clone()).answers(std::iter::repeat_n(
                Answer {
                    rate: Some(2000),
                    ..Answer::default()
                },
                8,
            )),
        );
    }
    let honest = Server::start().unwrap();
    serve_blocks(&honest, &f.blocks);
    let cache = tempfile::tempdir().unwrap();
    let out = f.tmp.path().join("slow.mp4");
    let started = std::time::Instant::now();
    let o = via(
        &[
            "get",
            &f.root.to_string(),
            "-o",
            out.to_str().unwrap(),
            "--timeout",
            "1s",
        ],
        &[&slow, &honest],
        cache.path(),
    );
    ok(o);
    assert_eq!(std::fs::read(&out).unwrap(), f.bytes);
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
}

#[test]
fn ipns_records_are_checked_before_their_value_is_used() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/ipns");
    let vectors: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("vectors.json")).unwrap())
            .unwrap();
    let name = vectors["records"][0]["name_k51"].as_str().unwrap();
    let value_cid = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4";
    let record = |file: &str| raw(std::fs::read(fixtures.join(file)).unwrap());
    let cache = tempfile::tempdir().unwrap();
    let source = format!("/ipns/{name}");
    for (file, says) in [
        ("ed25519-bad-signature.bin", "signature"),
        ("ed25519-expired.bin", "expired at 2020-01-01"),
        ("ed25519-other-key.bin", "signature"),
    ] {
        let liar = Server::start().unwrap();
        liar.put(&format!("/ipns/{name}"), record(file));
        let out = via(&["ls", &source], &[&liar], cache.path());
        assert_eq!(out.status.code(), Some(1), "{file}");
        let err = stderr(&out);
        assert!(err.contains(name) && err.contains(says), "{file}: {err}");
        assert!(
            !err.contains(value_cid),
            "{file}: its value was never used: {err}"
        );
    }
    // A liar first, then a gateway with the valid record: its value is used (and, as nobody
    // serves that CID, named in the error).
    let liar = Server::start().unwrap();
    liar.put(
        &format!("/ipns/{name}"),
        record("ed25519-bad-signature.bin"),
    );
    let honest = Server::start().unwrap();
    honest.put(&format!("/ipns/{name}"), record("ed25519-valid.bin"));
    let out = via(&["ls", &source], &[&liar, &honest], cache.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains(value_cid), "{}", stderr(&out));
    // DNSLink names need a node.
    let out = via(
        &["ls", "/ipns/archive.example.org"],
        &[&honest],
        cache.path(),
    );
    assert!(stderr(&out).contains("DNSLink"), "{}", stderr(&out));
}

#[test]
fn a_block_over_two_mebibytes_is_refused() {
    let f = big_file();
    let gw = Server::start().unwrap();
    serve_blocks(&gw, &f.blocks);
    let leaf = f.blocks.iter().find(|(c, _)| c.codec() == 0x55).unwrap().0;
    gw.put(&block_path(&leaf), raw(vec![7; (2 << 20) + 1]));
    let cache = tempfile::tempdir().unwrap();
    let out = f.tmp.path().join("big.mp4");
    let o = via(
        &[
            "get",
            &f.root.to_string(),
            "-o",
            out.to_str().unwrap(),
            "--fetch-retries",
            "0",
        ],
        &[&gw],
        cache.path(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("over the limit of 2097152 bytes"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    check_cache(cache.path());
}

/// The shard blocks of the HAMT-sharded directory `dir`: it and every link named by a bucket
/// alone (two hex digits), recursively.
fn shards(blocks: &[(Cid, Vec<u8>)], dir: Cid) -> Vec<Cid> {
    let mut out = vec![dir];
    let mut i = 0;
    while i < out.len() {
        let block = &blocks.iter().find(|(c, _)| *c == out[i]).unwrap().1;
        out.extend(
            links(block)
                .into_iter()
                .filter(|(n, _)| n.len() == 2)
                .map(|(_, c)| c),
        );
        i += 1;
    }
    out
}

#[test]
fn todo_of_a_sharded_site_fetches_its_shards_then_only_what_changed() {
    use ingest_tests::fixtures::{write_records_car, RecordBuilder, Role};
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let record = |site: &str, i: u64| {
        let id = format!("v{:06}", i * 7919 % 1_000_003);
        RecordBuilder::new(site, &id)
            .file(Role::Video, format!("{id}.mp4"), 1000 + i)
            .title(format!("video {i}"))
            .build()
    };
    write_records_car(&t.join("a.car"), (0..8000).map(|i| record("youtube", i)));
    write_records_car(&t.join("b.car"), (0..3).map(|i| record("vimeo", i)));
    write_records_car(&t.join("c.car"), (8000..8300).map(|i| record("youtube", i)));
    let path = |n: &str| t.join(n).to_str().unwrap().to_owned();
    let (root1, _) = cli().merge_root(&[&path("a.car"), &path("b.car"), "--out", &path("1.car")]);
    let (root2, _) = cli().merge_root(&[
        &path("c.car"),
        "--base",
        &path("1.car"),
        "--out",
        &path("2.car"),
        "--delta",
        &path("d.car"),
    ]);
    let old = blocks_of(Path::new(&path("1.car")));
    let delta = blocks_of(Path::new(&path("d.car")));
    let gw = Server::start().unwrap();
    serve_blocks(&gw, &old);
    serve_blocks(&gw, &delta);
    let ids = path("ids.txt");
    let list: String = (7990..8010)
        .map(|i| format!("youtube v{:06}\n", i * 7919 % 1_000_003))
        .collect();
    std::fs::write(&ids, list).unwrap();
    let cache = t.join("cache");

    let want = ok(ingest(&["todo", &path("1.car"), "--ids", &ids]));
    assert_eq!(want.lines().count(), 10);
    assert_eq!(
        ok(via(&["todo", &root1, "--ids", &ids], &[&gw], &cache)),
        want
    );
    let root1: Cid = root1.parse().unwrap();
    let youtube = links(&old.iter().find(|(c, _)| *c == root1).unwrap().1)
        .into_iter()
        .find(|(n, _)| n == "youtube")
        .unwrap()
        .1;
    let mut expected: Vec<String> = shards(&old, youtube).iter().map(block_path).collect();
    expected.push(block_path(&root1));
    expected.sort();
    let mut asked: Vec<String> = gw.seen().into_iter().map(|s| s.path).collect();
    asked.sort();
    assert!(expected.len() > 200, "a sharded site: {}", expected.len());
    assert_eq!(asked, expected, "the root and youtube's shards, each once");

    let before = gw.seen().len();
    let want = ok(ingest(&["todo", &path("2.car"), "--ids", &ids]));
    assert_eq!(want.lines().count(), 0);
    assert_eq!(
        ok(via(&["todo", &root2, "--ids", &ids], &[&gw], &cache)),
        want
    );
    let again: Vec<String> = gw.seen()[before..].iter().map(|s| s.path.clone()).collect();
    let new: Vec<String> = delta.iter().map(|(c, _)| block_path(c)).collect();
    assert!(
        again.iter().all(|p| new.contains(p)),
        "only blocks the first read did not have"
    );
    assert!(
        again.len() < expected.len() / 2,
        "{} of {}",
        again.len(),
        expected.len()
    );
}

/// Bytes of blocks in a cache directory.
fn cache_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for shard in std::fs::read_dir(dir.join("blocks")).unwrap().flatten() {
        for f in std::fs::read_dir(shard.path()).unwrap().flatten() {
            total += f.metadata().unwrap().len();
        }
    }
    total
}

#[test]
fn the_cache_bound_holds_during_a_get_and_after_a_failed_one() {
    let f = big_file();
    let root = f.root.to_string();
    let gw = Server::start().unwrap();
    serve_blocks(&gw, &f.blocks);
    let cache = tempfile::tempdir().unwrap();
    let out = f.tmp.path().join("bounded");
    let bound = "1100000";
    let o = via(
        &[
            "get",
            &root,
            "-o",
            out.to_str().unwrap(),
            "--cache-size",
            bound,
        ],
        &[&gw],
        cache.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), f.bytes);
    assert!(
        cache_bytes(cache.path()) <= 1_100_000,
        "{}",
        cache_bytes(cache.path())
    );

    // A get that fails on its last leaf (wrong bytes): the bound holds after the failure too.
    let gw = Server::start().unwrap();
    serve_blocks(&gw, &f.blocks);
    let last = f
        .blocks
        .iter()
        .rev()
        .find(|(c, _)| c.codec() == 0x55)
        .unwrap()
        .0;
    gw.put(&block_path(&last), raw(b"not the leaf".to_vec()));
    let cache = tempfile::tempdir().unwrap();
    let out = f.tmp.path().join("failed");
    let o = via(
        &[
            "get",
            &root,
            "-o",
            out.to_str().unwrap(),
            "--cache-size",
            bound,
        ],
        &[&gw],
        cache.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!out.exists());
    assert!(
        cache_bytes(cache.path()) <= 1_100_000,
        "{}",
        cache_bytes(cache.path())
    );

    // 0 keeps nothing, and the get still completes.
    let gw = Server::start().unwrap();
    serve_blocks(&gw, &f.blocks);
    let cache = tempfile::tempdir().unwrap();
    let out = f.tmp.path().join("uncached");
    let o = via(
        &[
            "get",
            &root,
            "-o",
            out.to_str().unwrap(),
            "--cache-size",
            "0",
        ],
        &[&gw],
        cache.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(&out).unwrap(), f.bytes);
    assert_eq!(cache_bytes(cache.path()), 0);
}

/// Three valid records of one name (sequences 6, 8 and 9, each another value), made by js-ipns
/// (`fixtures/ipns/make-sequences.mjs`).
fn sequenced_records() -> (String, Vec<(u64, String, ingest_tests::http::Resource)>) {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/ipns");
    let made: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("sequences.json")).unwrap())
            .unwrap();
    let records = made["records"].as_array().unwrap();
    let name = records[0]["name_k51"].as_str().unwrap().to_owned();
    let records = records
        .iter()
        .map(|r| {
            let bytes = std::fs::read(fixtures.join(r["file"].as_str().unwrap())).unwrap();
            let value = r["value"].as_str().unwrap().trim_start_matches("/ipfs/");
            (
                r["sequence"].as_u64().unwrap(),
                value.to_owned(),
                raw(bytes),
            )
        })
        .collect();
    (name, records)
}

#[test]
fn the_newest_ipns_record_served_wins() {
    let (name, records) = sequenced_records();
    let [(6, old, old_record), (8, new, new_record), ..] = &records[..] else {
        panic!("sequences.json holds 6, 8, 9");
    };
    // An older (still valid) record first, the newer one second: the newer one's value is used
    // (and, as nobody serves that CID, named in the error).
    let older = Server::start().unwrap();
    older.put(&format!("/ipns/{name}"), old_record.clone());
    let newer = Server::start().unwrap();
    newer.put(&format!("/ipns/{name}"), new_record.clone());
    let cache = tempfile::tempdir().unwrap();
    let out = via(
        &["ls", &format!("/ipns/{name}")],
        &[&older, &newer],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(new.as_str()) && !err.contains(old.as_str()),
        "{err}"
    );
}

#[test]
fn an_older_ipns_record_than_one_seen_before_is_refused() {
    let (name, records) = sequenced_records();
    let [(6, old, old_record), (8, new, new_record), (9, newest, newest_record)] = &records[..]
    else {
        panic!("sequences.json holds 6, 8, 9");
    };
    let cache = tempfile::tempdir().unwrap();
    let source = format!("/ipns/{name}");
    let serving = |record: &ingest_tests::http::Resource| {
        let gw = Server::start().unwrap();
        gw.put(&format!("/ipns/{name}"), record.clone());
        gw
    };
    // Sequence 8 seen first.
    let out = via(&["ls", &source], &[&serving(new_record)], cache.path());
    assert!(stderr(&out).contains(new.as_str()), "{}", stderr(&out));
    // Then a gateway serving only sequence 6: refused, naming both, its value never used.
    let out = via(&["ls", &source], &[&serving(old_record)], cache.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("sequence 6") && err.contains("sequence 8") && err.contains("older"),
        "{err}"
    );
    assert!(
        err.contains(new.as_str()) && err.contains(old.as_str()),
        "{err}"
    );
    assert!(!err.contains("no gateway or node served"), "{err}");
    // A newer one goes on.
    let out = via(&["ls", &source], &[&serving(newest_record)], cache.path());
    assert!(stderr(&out).contains(newest.as_str()), "{}", stderr(&out));
}

#[test]
fn a_long_argument_that_is_not_a_cid_is_echoed_once_and_cut() {
    let junk = format!("/ipfs/{}", "x".repeat(100_000));
    let cache = tempfile::tempdir().unwrap();
    let gw = Server::start().unwrap();
    let out = via(&["ls", &junk], &[&gw], cache.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.len() < 1000, "{} bytes: {}", err.len(), &err[..300]);
    assert!(err.contains("not a CID"), "{err}");
}

#[test]
fn a_refused_car_stream_still_counts_the_bytes_it_delivered() {
    let f = big_file();
    let stray = (
        ingest_core::unixfs::cid_of(
            ingest_core::unixfs::CidVersion::V1,
            ingest_core::unixfs::RAW,
            b"stray",
        ),
        b"stray".to_vec(),
    );
    let mut extra = f.blocks.clone();
    extra.insert(2, stray);
    let gw = Server::start().unwrap();
    serve_blocks(&gw, &f.blocks);
    gw.put(&car_path(&f.root, "entity"), car(car_of(&[f.root], &extra)));
    let cache = tempfile::tempdir().unwrap();
    let out = f.tmp.path().join("counted");
    let o = via(
        &[
            "get",
            &f.root.to_string(),
            "-o",
            out.to_str().unwrap(),
            "--json",
        ],
        &[&gw],
        cache.path(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = &json_lines(&o)[0];
    let fetched = &summary["fetched"][0];
    assert!(fetched["failures"].as_u64().unwrap() > 0, "{summary}");
    // Every block of the file came (from the stream, then one by one): so did its bytes.
    assert!(
        fetched["bytes"].as_u64().unwrap() >= f.bytes.len() as u64,
        "{summary}"
    );
}

#[test]
fn a_list_of_record_cids_is_a_regular_file_or_standard_input_with_bounded_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let gw = Server::start().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let out = tmp.path().join("cat.car");
    // A device (an endless stream of zeros) is refused before anything is read.
    let o = via(
        &[
            "merge",
            "--records",
            "/dev/zero",
            "--out",
            out.to_str().unwrap(),
        ],
        &[&gw],
        cache.path(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("not a regular file"), "{}", stderr(&o));
    // A file with a line of a megabyte: that line is rejected, bounded, and named.
    let list = tmp.path().join("cids.txt");
    std::fs::write(&list, format!("{}\n", "b".repeat(1 << 20))).unwrap();
    let o = via(
        &[
            "merge",
            "--records",
            list.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        &[&gw],
        cache.path(),
    );
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(all.contains("over 4096 bytes"), "{all}");
    assert!(all.len() < 10_000, "{} bytes", all.len());
}

#[test]
fn a_gateway_url_with_a_password_is_refused_without_printing_it() {
    let cache = tempfile::tempdir().unwrap();
    let out = ingest(&[
        "ls",
        "/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
        "--gateway",
        "http://user:s3cret@127.0.0.1:1/",
        "--cache",
        cache.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("127.0.0.1:1") && err.contains("not shown"),
        "{err}"
    );
    assert!(!err.contains("s3cret") && !err.contains("user:"), "{err}");
}

#[test]
fn a_redirect_to_another_scheme_is_named_with_its_target() {
    let cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
    let gw = Server::start().unwrap();
    let mut moved = ingest_tests::http::Resource::new(Vec::new());
    moved.redirect = Some("file:///etc/passwd".into());
    gw.put(&format!("/ipfs/{cid}"), moved);
    let cache = tempfile::tempdir().unwrap();
    let out = via(&["ls", cid], &[&gw], cache.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("a redirect to file:///etc/passwd, not followed"),
        "{err}"
    );
}
