//! Property tests of the dag-pb / UnixFS decoders ([`decode_node`], [`decode_dir`],
//! [`single_block_file`]) on untrusted blocks: arbitrary bytes, and blocks of every kind this
//! crate writes with bytes flipped, cut or spliced in. Never a panic, and what they give is
//! bounded by the block: no decoded field holds more than the block's bytes.

use proptest::prelude::*;

use super::*;
use crate::testutil::{mutate, Edits};

/// Checks every decoder on `block`: no panic, outputs bounded by its length, and the three
/// decoders agree with each other.
fn check(block: &[u8]) -> Result<(), TestCaseError> {
    let len = block.len();
    let node = decode_node(block);
    if let Ok(node) = &node {
        // A link is at least 8 bytes: its tag and length, the CID's tag and length, and a CID
        // of at least 4 (version, codec, hash code, digest length).
        prop_assert!(node.links.len() * 8 <= len, "{} links", node.links.len());
        for link in &node.links {
            prop_assert!(link.name.len() <= len);
        }
        prop_assert!(node.data.len() <= len);
        prop_assert!(node.blocksizes.len() <= len);
    }
    match decode_dir(block) {
        Ok(dir) => {
            let node = node.as_ref().expect("a directory is a node");
            prop_assert!(dir.kind.is_directory());
            prop_assert_eq!(&dir.links, &node.links);
            prop_assert_eq!(dir.fanout, node.fanout);
        }
        Err(_) => prop_assert!(node.as_ref().map_or(true, |n| !n.kind.is_directory())),
    }
    if let Some(content) = single_block_file(DAG_PB, block) {
        prop_assert!(content.len() <= len);
    }
    let raw = single_block_file(RAW, block);
    prop_assert_eq!(raw.as_deref(), Some(block));
    Ok(())
}

/// A block of each kind this crate writes, from `seed`: a leaf, a file node, a directory, a
/// HAMT shard, a symlink.
fn block_of(kind: u8, seed: &[u8]) -> Vec<u8> {
    let cid = |i: usize| cid_of(CidVersion::V1, RAW, &[seed, &[i as u8]].concat());
    let names: Vec<Vec<u8>> = (0..seed.len().min(6))
        .map(|i| seed[..=i].iter().map(|b| b'a' + b % 26).collect())
        .collect();
    let cids: Vec<Cid> = (0..names.len()).map(cid).collect();
    let mut out = Vec::new();
    match kind {
        0 => {
            let n = seed.len();
            let mut buf = vec![0; LEAF_HEADROOM + n + LEAF_TAILROOM];
            buf[LEAF_HEADROOM..LEAF_HEADROOM + n].copy_from_slice(seed);
            let (range, _) = encode_leaf(false, CidVersion::V0, &mut buf, n);
            out = buf[range].to_vec();
        }
        1 => {
            let children: Vec<(Link, u64)> = cids
                .iter()
                .map(|&cid| {
                    let size = u64::from(seed[0]) * 1000 + 1;
                    (
                        Link {
                            cid,
                            dag_size: size + 14,
                        },
                        size,
                    )
                })
                .collect();
            encode_file_node(&mut out, &children);
        }
        2 => {
            let mut sorted: Vec<(&[u8], &Cid, u64)> = names
                .iter()
                .zip(&cids)
                .map(|(n, c)| (n.as_slice(), c, 300))
                .collect();
            sorted.sort_by(|a, b| a.0.cmp(b.0));
            sorted.dedup_by(|a, b| a.0 == b.0);
            encode_directory(&mut out, sorted);
        }
        3 => {
            let links = names
                .iter()
                .zip(&cids)
                .enumerate()
                .map(|(i, (n, c))| (BUCKETS[i].as_bytes(), n.as_slice(), c, 100));
            encode_hamt_shard(&mut out, links, &[0xff; 32], 256);
        }
        _ => out = encode_symlink(seed),
    }
    out
}

/// HAMT bucket prefixes, in order.
const BUCKETS: [&str; 6] = ["00", "1F", "2A", "7E", "C3", "FF"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// Arbitrary bytes as a dag-pb block.
    #[test]
    fn any_block_decodes_within_bounds(block in proptest::collection::vec(any::<u8>(), 0..512)) {
        check(&block)?;
    }

    /// Blocks of every kind written here, then mutated; unmutated, each decodes to its kind.
    #[test]
    fn mutated_blocks_decode_within_bounds(
        kind in 0u8..5,
        seed in proptest::collection::vec(any::<u8>(), 1..64),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..6),
    ) {
        let mut block = block_of(kind, &seed);
        let kinds = [
            UnixFsType::File,
            UnixFsType::File,
            UnixFsType::Directory,
            UnixFsType::HamtShard,
            UnixFsType::Symlink,
        ];
        prop_assert_eq!(decode_node(&block).map(|n| n.kind), Ok(kinds[kind as usize]));
        mutate(&mut block, &edits as &Edits);
        check(&block)?;
    }
}
