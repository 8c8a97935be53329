//! Reading from IPFS against a real trustless gateway: Helia 7 with `@helia/verified-fetch` 8
//! (`tests/helia-gateway.sh`), its blocks imported from CARs, its IPNS records signed by the JS
//! `ipns` library. What `ls`, `todo`, `export-archive`, `record show` and `merge` give from it
//! equals what they give from the catalogue CAR; `get` is byte-identical.

use std::path::Path;
use std::time::Duration;

use ingest_tests::gateway::HeliaGateway;
use ingest_tests::{dir_vectors, Content};

use super::{archive, json_lines, run, s, stderr};

/// `ingest ARGS --gateway GW --cache CACHE`, which must succeed: its stdout.
fn via(gateway: &HeliaGateway, cache: &Path, args: &[&str]) -> String {
    let mut all = args.to_vec();
    all.extend(["--gateway", &gateway.url, "--cache", s(cache)]);
    let o = run(&all);
    assert!(o.status.success(), "{all:?}: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

fn local(args: &[&str]) -> String {
    let o = run(args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    String::from_utf8(o.stdout).unwrap()
}

#[test]
#[ignore = "starts a gateway: run through tests/netns.sh (tests/run.sh does)"]
fn a_catalogue_from_a_real_gateway_reads_as_its_car_does() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let gateway = HeliaGateway::start(&t.join("gateway"));
    let archived = [
        archive(t, "youtube", "a1", 3 << 20, &["--car"]),
        archive(t, "youtube", "a2", 5000, &["--car"]),
        archive(t, "youtube", "a3", 7000, &["--car"]),
        archive(t, "vimeo", "b1", 9000, &["--car"]),
        archive(t, "vimeo", "b2", 11000, &["--car"]),
    ];
    let records: Vec<std::path::PathBuf> = archived.iter().map(|a| a.record()).collect();
    for r in &records {
        gateway.import(&r.with_extension("").with_extension("car"));
    }
    let cat = t.join("cat.car");
    let merged = |records: &[std::path::PathBuf], base: Option<&Path>, out: &Path| -> String {
        let mut args = vec!["merge", "--json", "--out", s(out)];
        args.extend(records.iter().map(|r| s(r)));
        if let Some(base) = base {
            args.extend(["--base", s(base)]);
        }
        let o = run(&args);
        assert!(o.status.success(), "{}", stderr(&o));
        json_lines(&o)[0]["root"].as_str().unwrap().to_owned()
    };
    let root = merged(&records[..4], None, &cat);
    assert_eq!(gateway.import(&cat), vec![root.clone()]);
    let (name, peer) = gateway.publish(&root, Duration::from_secs(3600));
    let cache = t.join("cache");

    // ls, export-archive, todo: by CID, by /ipns/ name in both forms, the same as the CAR.
    let ls = local(&["ls", s(&cat)]);
    assert_eq!(ls.lines().count(), 4);
    for source in [
        root.clone(),
        format!("ipfs://{root}"),
        format!("/ipns/{name}"),
        format!("/ipns/{peer}"),
    ] {
        assert_eq!(via(&gateway, &cache, &["ls", &source]), ls, "{source}");
    }
    assert_eq!(
        via(
            &gateway,
            &t.join("c2"),
            &["export-archive", &format!("/ipns/{name}")]
        ),
        local(&["export-archive", s(&cat)])
    );
    let ids = t.join("ids.txt");
    std::fs::write(&ids, "youtube a1\nyoutube a9\nvimeo b2\nzz\n").unwrap();
    let todo = local(&["todo", s(&cat), "--ids", s(&ids)]);
    assert_eq!(todo, "youtube a9\nvimeo b2\nzz\n");
    assert_eq!(
        via(
            &gateway,
            &t.join("c3"),
            &["todo", &format!("/ipns/{name}"), "--ids", s(&ids)]
        ),
        todo
    );
    // A record, through a path below the name.
    assert_eq!(
        via(
            &gateway,
            &cache,
            &[
                "record",
                "show",
                &format!("/ipns/{name}/vimeo/b1/record.cbor")
            ]
        ),
        local(&["record", "show", s(&records[3])])
    );

    // merge --records: the record CID handed over, fetched from the gateway, onto the base
    // named by IPNS: the same root as merging the record file onto the CAR.
    let want = merged(&records[4..], Some(&cat), &t.join("want.car"));
    let record_cid = local(&["record", "check", s(&records[4]), "--json"]);
    let record_cid: serde_json::Value = serde_json::from_str(record_cid.trim()).unwrap();
    let list = t.join("cids.txt");
    std::fs::write(
        &list,
        format!("{}\n", record_cid["record"].as_str().unwrap()),
    )
    .unwrap();
    let out = via(
        &gateway,
        &cache,
        &[
            "merge",
            "--json",
            "--base",
            &format!("/ipns/{name}"),
            "--records",
            s(&list),
            "--out",
            s(&t.join("delta.car")),
        ],
    );
    let summary: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(summary["root"], want.as_str(), "{summary}");

    // get: a video of three blocks and more, a per-video directory, byte-identical.
    let video = t.join("got.mp4");
    via(
        &gateway,
        &t.join("c4"),
        &[
            "get",
            &format!("/ipfs/{root}/youtube/a1/video.mp4"),
            "-o",
            s(&video),
        ],
    );
    assert!(std::fs::read(&video).unwrap() == std::fs::read(&archived[0].file).unwrap());
    let dir = t.join("got-dir");
    via(
        &gateway,
        &cache,
        &["get", &format!("/ipns/{name}/vimeo/b1"), "-o", s(&dir)],
    );
    assert!(
        std::fs::read(dir.join("video.mp4")).unwrap() == std::fs::read(&archived[3].file).unwrap()
    );
    assert!(std::fs::read(dir.join("record.cbor")).unwrap() == std::fs::read(&records[3]).unwrap());
}

/// `get` of a directory with a HAMT-sharded subdirectory, empty directories and files, and
/// non-ASCII names: the vector `nested` (its CID from the JS importer), imported, then fetched
/// from the gateway file by file identical.
#[test]
#[ignore = "starts a gateway: run through tests/netns.sh (tests/run.sh does)"]
fn get_of_a_sharded_tree_is_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let vector = dir_vectors()
        .into_iter()
        .find(|v| v.name == "nested" && v.profile == "unixfs-v1-2025")
        .expect("the nested vector");
    let src = t.join("nested");
    vector.materialize(&src).unwrap();
    let car = t.join("nested.car");
    let o = run(&["add", "-r", s(&src), "--car", s(&car), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let gateway = HeliaGateway::start(&t.join("gateway"));
    assert_eq!(gateway.import(&car), vec![vector.cid.clone()]);
    let out = t.join("got");
    let o = run(&[
        "get",
        &vector.cid,
        "-o",
        s(&out),
        "--json",
        "--gateway",
        &gateway.url,
        "--cache",
        s(&t.join("cache")),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = &json_lines(&o)[0];
    assert_eq!(summary["files"], vector.files().len(), "{summary}");
    for f in vector.files() {
        let got = std::fs::read(out.join(&f.path)).unwrap_or_else(|e| panic!("{}: {e}", f.path));
        assert!(got == Content::bytes(&f.seed, f.size), "{}", f.path);
    }
    for d in &vector.empty_dirs {
        assert!(out.join(d).is_dir(), "{d}");
    }
}
