//! `ingest verify`: files and directories under each preset and under overrides, CIDs of
//! another hash function, wrong CIDs. Expected CIDs come from `fixtures/vectors` and, for the
//! overrides, from the JS reference `tests/reference/cid.mjs` (ipfs-unixfs-importer 17.1.1),
//! named at each use.

use std::path::{Path, PathBuf};

use ingest_tests::{dir_vectors, file_vectors, Content};
use ipld_core::cid::multihash::Multihash;
use ipld_core::cid::Cid;

use crate::common::{ingest, json_lines, stderr, stdout};

fn write(dir: &Path, name: &str, seed: &str, size: u64) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, Content::bytes(seed, size)).unwrap();
    path
}

fn verify(args: &[&str]) -> (i32, String) {
    let mut argv = vec!["verify"];
    argv.extend_from_slice(args);
    let out = ingest(&argv);
    (out.status.code().unwrap(), stdout(&out) + &stderr(&out))
}

#[test]
fn files_under_each_preset_name_the_preset() {
    // At chunk size + 1 of both sizes, and 2 MiB + 7: trees of two levels under every preset.
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for v in file_vectors() {
        if !["public-5", "public-10", "public-11"].contains(&v.seed.as_str()) {
            continue;
        }
        let path = dir.path().join(&v.seed);
        if !path.exists() {
            write(dir.path(), &v.seed, &v.seed, v.size);
        }
        let p = path.to_str().unwrap();
        let (code, out) = verify(&[p, &v.cid]);
        assert_eq!(code, 0, "{out}");
        let first = out.lines().next().unwrap();
        assert_eq!(
            first,
            format!("match {} {p}: profile {}", v.cid, v.profile),
            "{out}"
        );
        seen += 1;
    }
    assert_eq!(seen, 9);
}

/// The `--json` match whose parameters are these, or a panic naming what was printed.
fn with_parameters<'a>(
    line: &'a serde_json::Value,
    version: u64,
    raw: bool,
    chunker: &str,
    links: u64,
) -> &'a serde_json::Value {
    line["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| {
            let p = &m["parameters"];
            p["cid_version"] == version
                && p["raw_leaves"] == raw
                && p["chunker"] == chunker
                && p["max_links"] == links
        })
        .unwrap_or_else(|| panic!("no match with these parameters in {line}"))
}

#[test]
fn overrides_are_named_with_their_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "f.bin", "public-15", 1_780_975);
    let p = path.to_str().unwrap();
    // `cid.mjs --profile kubo-cidv1 --cid-version 1 --raw-leaves false --chunk 1048576
    // --max-links 174` (two chunks of 1 MiB).
    let cid = "bafybeibggxlhe6e3waumy7absuijh3wxe3z32tya37s3hxvmbgysqayngu";
    let out = ingest(&["verify", "--json", p, cid]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = &json_lines(&out)[0];
    assert_eq!(line["match"], true);
    let m = with_parameters(line, 1, false, "size-1048576", 174);
    assert_eq!(
        m["setting"],
        "profile unixfs-v1-2025 with --raw-leaves=false --max-links 174"
    );
    assert_eq!(
        m["flags"],
        serde_json::json!(["--raw-leaves=false", "--max-links", "174"])
    );
    // Those flags on that preset give the CID.
    let add = ingest(&[
        "add",
        "-Q",
        "--profile",
        "unixfs-v1-2025",
        "--raw-leaves=false",
        "--max-links",
        "174",
        p,
    ]);
    assert_eq!(stdout(&add).trim(), cid);

    // `cid.mjs --profile unixfs-v0-2015 --chunk 1048576`.
    let cid = "QmczgUXxJ4YYsoR1mJkrJPeAtqmTpAmEu5FpjvZZgPTmTX";
    let (code, out) = verify(&[p, cid]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out.lines().next().unwrap(),
        format!("match {cid} {p}: profile unixfs-v0-2015 with --chunker size-1048576")
    );
    assert!(
        out.contains("  also profile unixfs-v1-2025 with --cid-version 0\n"),
        "two chunks: 174 and 1024 links give one tree; {out}"
    );
}

#[test]
fn a_chunker_given_is_tried() {
    // 200 chunks of 1000 bytes: more than 174 links, so the links tell the trees apart.
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "f.bin", "identify-200000", 200_000);
    let p = path.to_str().unwrap();
    // `cid.mjs --profile kubo-cidv1 --chunk 1000`.
    let cid = "bafybeidwjaibl2i5w7hn7ooermocb7cuapb42kb46jsy5hvhgatm4uf2d4";
    let (code, out) = verify(&["--chunker", "size-1000", "-s", "size-5000", p, cid]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        out,
        format!("match {cid} {p}: profile kubo-cidv1 with --chunker size-1000\n")
    );
    let (code, out) = verify(&[p, cid]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(&format!("no match {cid} {p} (16 settings tried)\n")),
        "{out}"
    );
    assert!(out.contains("--chunker size-N"), "{out}");
}

/// Verifies the directory vector `name` under each preset it has a CID for: each names its
/// preset. Returns how many were verified.
fn a_directory_names_its_preset(name: &str) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for v in dir_vectors() {
        if v.name != name {
            continue;
        }
        let root = dir.path().join(&v.name);
        if !root.exists() {
            v.materialize(&root).unwrap();
        }
        let out = ingest(&["verify", "--json", root.to_str().unwrap(), &v.cid]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let line = &json_lines(&out)[0];
        assert_eq!(line["kind"], "directory");
        assert_eq!(line["tried"], 32);
        assert_eq!(
            line["matches"][0]["setting"],
            format!("profile {}", v.profile),
            "{} ({}) under {}: {line}",
            v.name,
            v.root_type,
            v.profile
        );
        seen += 1;
    }
    seen
}

#[test]
fn a_flat_directory_names_its_preset() {
    assert_eq!(a_directory_names_its_preset("flat-3"), 3);
}

#[test]
fn a_hamt_names_its_preset() {
    // video-5000 is a HAMT under unixfs-v1-2025 and flat under the links-bytes presets.
    assert_eq!(a_directory_names_its_preset("video-5000"), 3);
}

/// A file written in `dir` and the CID of it as one raw block hashed with sha2-512.
fn a_sha2_512_cid(dir: &Path) -> (PathBuf, String) {
    let path = write(dir, "f.bin", "identify-hash", 300_000);
    // The file as one raw block hashed with sha2-512 (multihash 0x13), by coreutils.
    let sum = std::process::Command::new("sha512sum")
        .arg(&path)
        .output()
        .unwrap();
    let hex = String::from_utf8(sum.stdout).unwrap();
    let digest: Vec<u8> = (0..64)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let cid = Cid::new_v1(0x55, Multihash::<64>::wrap(0x13, &digest).unwrap()).to_string();
    (path, cid)
}

#[test]
fn another_hash_function_is_named_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cid) = a_sha2_512_cid(dir.path());
    let p = path.to_str().unwrap();
    let (code, out) = verify(&[p, &cid]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(
        out,
        format!(
            "no match {cid} {p} (nothing needed to be read)\n  made with another hash function, \
             sha2-512 (0x13): every profile uses sha2-256\n"
        )
    );
}

#[test]
fn another_hash_function_is_its_reason_in_json() {
    let dir = tempfile::tempdir().unwrap();
    let (path, cid) = a_sha2_512_cid(dir.path());
    let p = path.to_str().unwrap();
    let out = ingest(&["verify", "--json", p, &cid]);
    let line = &json_lines(&out)[0];
    assert_eq!(line["match"], false);
    assert_eq!(line["read"], false);
    assert_eq!(line["reasons"][0]["reason"], "other-hash");
}

#[test]
fn a_wrong_cid_fails() {
    let dir = tempfile::tempdir().unwrap();
    let v = file_vectors()
        .into_iter()
        .find(|v| v.seed == "public-5" && v.profile == "unixfs-v0-2015")
        .unwrap();
    // Another file's CID.
    let path = write(dir.path(), "f.bin", "public-10", 1_048_577);
    let p = path.to_str().unwrap();
    let (code, out) = verify(&[p, &v.cid]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with(&format!("no match {} {p} (16 settings tried)\n", v.cid)),
        "{out}"
    );
    assert!(out.contains("trickle"), "{out}");
    // An error is not a mismatch: it names the path.
    let (code, out) = verify(&["/nonexistent/file", &v.cid]);
    assert_eq!(code, 1);
    assert!(out.contains("/nonexistent/file"), "{out}");
}
