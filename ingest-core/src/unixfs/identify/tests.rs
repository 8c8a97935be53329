//! Expected CIDs come from `fixtures/vectors` (kubo and the JS importers) and from the JS
//! reference `tests/reference/cid.mjs` (ipfs-unixfs-importer 17.1.1), named at each use;
//! CIDs of other hash functions are made here from their definition, as the question is only
//! which function made them.

use std::path::PathBuf;

use multihash::Multihash;
use sha2::{Digest, Sha256, Sha512};

use super::*;
use crate::testutil::vector_content;

/// The entries under `key` of `fixtures/vectors/<file>`, in this repository.
fn vectors(file: &str, key: &str) -> Vec<serde_json::Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/vectors")
        .join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json[key].as_array().unwrap().clone()
}

fn check(path: &Path, cid: &str, options: &IdentifyOptions) -> Identification {
    identify_path(path, &cid.parse().unwrap(), options, &mut |_| {}).unwrap()
}

fn shown(answer: &Identification) -> Vec<String> {
    answer.matches.iter().map(|m| m.to_string()).collect()
}

#[test]
fn file_vectors_name_their_profile() {
    // Every vector of at most 2.2 MB: empty, one byte, chunk size ± 1 for both chunk sizes,
    // 2 MiB + 7, and two random sizes; one and several threads.
    let dir = tempfile::tempdir().unwrap();
    let mut seen = 0;
    for v in vectors("files.json", "files") {
        let size = v["size"].as_u64().unwrap() as usize;
        if size > 2_200_000 {
            continue;
        }
        let seed = v["seed"].as_str().unwrap();
        let path = dir.path().join(seed);
        if !path.exists() {
            std::fs::write(&path, vector_content(seed, size)).unwrap();
        }
        let profile = v["profile"].as_str().unwrap();
        for threads in [1, 2] {
            let options = IdentifyOptions {
                threads: NonZeroUsize::new(threads).unwrap(),
                ..IdentifyOptions::default()
            };
            let answer = check(&path, v["cid"].as_str().unwrap(), &options);
            let all = shown(&answer);
            assert!(
                all.contains(&format!("profile {profile}")),
                "{seed} ({size} bytes) under {profile}: {all:?} {:?}",
                answer.reasons
            );
            assert!(answer.matches[0].flags().is_empty(), "{all:?}");
            assert!(answer.matches.iter().all(|m| m.exact && !m.wrapped));
            assert_eq!(answer.size, size as u64);
            // A raw CID is a file of one chunk: only raw leaves in chunks that hold it all.
            let raw = answer.target.codec() == RAW;
            let holding = if size <= 262_144 { 8 } else { 4 };
            assert_eq!(answer.tried, if raw { holding } else { 16 }, "{all:?}");
        }
        seen += 1;
    }
    assert!(seen >= 30, "only {seen} vectors");
}

#[test]
fn overrides_are_named_with_their_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    std::fs::write(&path, vector_content("public-15", 1_780_975)).unwrap();
    let options = IdentifyOptions::default();
    // `cid.mjs --profile kubo-cidv1 --cid-version 1 --raw-leaves false --chunk 1048576
    // --max-links 174` of the vector content public-15 (two chunks of 1 MiB).
    let answer = check(
        &path,
        "bafybeibggxlhe6e3waumy7absuijh3wxe3z32tya37s3hxvmbgysqayngu",
        &options,
    );
    let all = shown(&answer);
    assert_eq!(
        all[0], "profile unixfs-v1-2025 with --raw-leaves=false",
        "two chunks: 174 and 1024 links give one tree; {all:?}"
    );
    assert!(
        all.contains(&"profile unixfs-v1-2025 with --raw-leaves=false --max-links 174".to_owned())
    );
    // `cid.mjs --profile unixfs-v0-2015 --chunk 1048576` of the same content.
    let answer = check(
        &path,
        "QmczgUXxJ4YYsoR1mJkrJPeAtqmTpAmEu5FpjvZZgPTmTX",
        &options,
    );
    assert_eq!(
        shown(&answer)[0],
        "profile unixfs-v0-2015 with --chunker size-1048576"
    );
}

#[test]
fn a_chunk_size_given_is_tried_and_links_tell_apart() {
    // 200 chunks of 1000 bytes: more than 174 links, so 174 and 1024 give different trees.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    std::fs::write(&path, vector_content("identify-200000", 200_000)).unwrap();
    let with_1000 = IdentifyOptions {
        chunk_sizes: vec![1000],
        ..IdentifyOptions::default()
    };
    // `cid.mjs --profile kubo-cidv1 --chunk 1000`.
    let cid = "bafybeidwjaibl2i5w7hn7ooermocb7cuapb42kb46jsy5hvhgatm4uf2d4";
    let answer = check(&path, cid, &with_1000);
    assert_eq!(
        shown(&answer),
        ["profile kubo-cidv1 with --chunker size-1000"]
    );
    assert_eq!(answer.tried, 24);
    // `cid.mjs --profile kubo-cidv1 --chunk 1000 --max-links 1024`.
    let answer = check(
        &path,
        "bafybeifhyomieclrxkwfrcekzyc54z2d4s6axszunqtbg53mwbde35hi5a",
        &with_1000,
    );
    assert_eq!(
        shown(&answer),
        ["profile unixfs-v1-2025 with --chunker size-1000"]
    );
    // Without the size, nothing matches: the file is one chunk of 256 KiB, and the hint
    // names smaller chunks.
    let answer = check(&path, cid, &IdentifyOptions::default());
    assert!(!answer.is_match());
    assert_eq!(
        answer.reasons,
        [Reason::NoTree {
            directory: false,
            one_chunk: true
        }]
    );
    assert!(answer.reasons[0].to_string().contains("--chunker size-N"));
}

#[test]
fn another_hash_function_is_named_without_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    let data = vector_content("identify-hash", 5000);
    std::fs::write(&path, &data).unwrap();
    // The file as one raw block, hashed with sha2-512 (multihash 0x13).
    let digest = Sha512::digest(&data);
    let cid = Cid::new_v1(RAW, Multihash::wrap(0x13, &digest).unwrap());
    let answer = identify_path(&path, &cid, &IdentifyOptions::default(), &mut |_| {
        panic!("nothing is read")
    })
    .unwrap();
    assert!(!answer.is_match() && !answer.read);
    assert_eq!(answer.reasons, [Reason::OtherHash { code: 0x13 }]);
    assert!(answer.reasons[0].to_string().contains("sha2-512"));
    // Another codec.
    let cid = Cid::new_v1(0x71, Multihash::wrap(0x12, &[1; 32]).unwrap());
    let answer = identify_path(&path, &cid, &IdentifyOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(answer.reasons, [Reason::OtherCodec { codec: 0x71 }]);
}

#[test]
fn inlined_cids_are_compared_with_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.txt");
    std::fs::write(&path, b"hello inline").unwrap();
    let inline = |bytes: &[u8]| Cid::new_v1(RAW, Multihash::wrap(0x00, bytes).unwrap());
    let run = |cid: &Cid| identify_path(&path, cid, &IdentifyOptions::default(), &mut |_| {});
    assert_eq!(
        run(&inline(b"hello inline")).unwrap().reasons,
        [Reason::Inlined {
            codec: RAW,
            content: InlineContent::Same
        }]
    );
    assert_eq!(
        run(&inline(b"hello inline!")).unwrap().reasons,
        [Reason::Inlined {
            codec: RAW,
            content: InlineContent::Different
        }]
    );
}

#[test]
fn a_raw_cid_is_one_block() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.bin");
    let data = vector_content("identify-raw", 1_500_000);
    std::fs::write(&path, &data).unwrap();
    // The whole file as one raw CIDv1 block: sha2-256 of the bytes, by definition.
    let whole = Cid::new_v1(RAW, Multihash::wrap(0x12, &Sha256::digest(&data)).unwrap());
    let answer = identify_path(&path, &whole, &IdentifyOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(answer.reasons, [Reason::WholeFileBlock { size: 1_500_000 }]);
    assert!(answer.reasons[0]
        .to_string()
        .contains("--chunker size-1500000"));
    let bigger = IdentifyOptions {
        chunk_sizes: vec![1_500_000],
        ..IdentifyOptions::default()
    };
    let answer = identify_path(&path, &whole, &bigger, &mut |_| {}).unwrap();
    let all = shown(&answer);
    assert_eq!(all[0], "profile unixfs-v1-2025 with --chunker size-1500000");
    // CIDv0 with raw leaves: a file of one chunk is its raw leaf, a CIDv1.
    assert!(
        all.contains(&"profile unixfs-v0-2015 with --raw-leaves --chunker size-1500000".to_owned())
    );
    // Other bytes.
    let other = Cid::new_v1(RAW, Multihash::wrap(0x12, &[9; 32]).unwrap());
    let answer = identify_path(&path, &other, &bigger, &mut |_| {}).unwrap();
    assert_eq!(
        answer.reasons,
        [Reason::RawBlockDiffers { size: 1_500_000 }]
    );
    // A directory is never a raw block, and is not read.
    let answer = identify_path(
        dir.path(),
        &whole,
        &IdentifyOptions::default(),
        &mut |_| panic!(),
    )
    .unwrap();
    assert_eq!(answer.reasons, [Reason::RawForDirectory]);
}

#[test]
fn the_same_block_in_the_other_version_matches() {
    let dir = tempfile::tempdir().unwrap();
    let v = vectors("files.json", "files")
        .into_iter()
        .find(|v| v["seed"] == "public-5" && v["profile"] == "unixfs-v0-2015")
        .unwrap();
    let path = dir.path().join("f.bin");
    std::fs::write(&path, vector_content("public-5", 262_145)).unwrap();
    let v0: Cid = v["cid"].as_str().unwrap().parse().unwrap();
    // `ipfs cid format -v 1 -b base32` of the vector's CIDv0.
    let v1 = Cid::new_v1(DAG_PB, *v0.hash());
    let answer = identify_path(&path, &v1, &IdentifyOptions::default(), &mut |_| {}).unwrap();
    let m = &answer.matches[0];
    assert!(!m.exact && m.cid == v0, "{:?}", answer.matches);
    assert_eq!(
        m.to_string(),
        format!("profile unixfs-v0-2015, whose root {v0} is the same block written as CIDv0")
    );
}

#[test]
fn a_wrapped_file_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c-3001.bin");
    std::fs::write(&path, vector_content("identify-3001", 3001)).unwrap();
    // `cid.mjs --profile unixfs-v0-2015 DIR` of a directory holding just c-3001.bin.
    let answer = check(
        &path,
        "QmRpWB25gyFJLosKabi3UtKspAjiwXkFbzJz3weTLnBXve",
        &IdentifyOptions::default(),
    );
    assert_eq!(shown(&answer)[0], "profile unixfs-v0-2015 with -w");
    assert!(answer.matches.iter().all(|m| m.wrapped));
}

/// flat-3 of `dirs.json`, in `dir`.
fn flat_3(dir: &Path) -> Vec<serde_json::Value> {
    let all: Vec<_> = vectors("dirs.json", "directories")
        .into_iter()
        .filter(|v| v["name"] == "flat-3")
        .collect();
    for e in all[0]["entries"].as_array().unwrap() {
        let size = e["size"].as_u64().unwrap() as usize;
        let data = vector_content(e["seed"].as_str().unwrap(), size);
        std::fs::write(dir.join(e["path"].as_str().unwrap()), data).unwrap();
    }
    all
}

#[test]
fn directory_vectors_name_their_profile() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("flat");
    std::fs::create_dir(&root).unwrap();
    for v in flat_3(&root) {
        let profile = v["profile"].as_str().unwrap();
        let answer = check(
            &root,
            v["cid"].as_str().unwrap(),
            &IdentifyOptions::default(),
        );
        assert_eq!(shown(&answer)[0], format!("profile {profile}"));
        assert_eq!(answer.kind, EntryKind::Directory);
        assert_eq!(answer.tried, 32);
        assert_eq!(answer.size, 12 + 1000 + 300_000);
    }
}

#[test]
fn a_cid_inside_the_directory_and_hidden_files_are_told() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("flat");
    std::fs::create_dir(&root).unwrap();
    flat_3(&root);
    std::fs::write(root.join(".hidden"), b"x").unwrap();
    // `cid.mjs --profile kubo-cidv1` of big.bin alone.
    let answer = check(
        &root,
        "bafybeig4iot7autphpg6vxzdjhah2cxq5mcz76avjk2kw3cq462kelgji4",
        &IdentifyOptions::default(),
    );
    assert!(!answer.is_match());
    match &answer.reasons[..] {
        [Reason::InsideDirectory { path, candidate }, Reason::NoTree {
            directory: true, ..
        }, Reason::HiddenSkipped { count: 1 }] => {
            assert_eq!(path, Path::new("big.bin"));
            assert_eq!(candidate.to_string(), "profile kubo-cidv1");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_chunk_sizes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let options = IdentifyOptions {
        chunk_sizes: vec![0],
        ..IdentifyOptions::default()
    };
    let cid: Cid = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
        .parse()
        .unwrap();
    let err = identify_path(dir.path(), &cid, &options, &mut |_| {}).unwrap_err();
    assert!(
        matches!(err, IdentifyError::ChunkSize { size: 0, .. }),
        "{err}"
    );
}
