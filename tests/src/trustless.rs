//! A trustless gateway made of the test kit's HTTP server ([`crate::http`]), honest or lying:
//! blocks at `/ipfs/{cid}` (the raw-block answer) and CAR streams at
//! `/ipfs/{cid}?dag-scope={scope}`, each settable by hand, so a test can serve wrong bytes, a
//! CAR with an extra block, another root, a cut or endless stream, a slow body, or fail first.
//!
//! The server ignores `Accept`: what a path serves is what the test put there.

use std::path::Path;

use ingest_core::{CarReader, CarWriter, Cid};

use crate::http::{Resource, Server};

/// Every block of a CAR file, in order, each checked against its CID.
pub fn blocks_of(car: &Path) -> Vec<(Cid, Vec<u8>)> {
    let mut reader =
        CarReader::new(std::fs::File::open(car).expect("the CAR opens")).expect("a CARv1");
    reader
        .by_ref()
        .map(|b| b.expect("every block checks"))
        .collect()
}

/// A CARv1 naming `roots` and holding `blocks` in this order, repeats kept, nothing checked:
/// a test may lie.
pub fn car_of(roots: &[Cid], blocks: &[(Cid, Vec<u8>)]) -> Vec<u8> {
    let mut out = CarWriter::new(Vec::new(), roots)
        .expect("a header")
        .finish()
        .expect("in memory");
    for (cid, block) in blocks {
        let cid_bytes = cid.to_bytes();
        let mut len = (cid_bytes.len() + block.len()) as u64;
        loop {
            let byte = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        out.extend_from_slice(&cid_bytes);
        out.extend_from_slice(block);
    }
    out
}

/// The path of a block's raw answer.
pub fn block_path(cid: &Cid) -> String {
    format!("/ipfs/{cid}")
}

/// The path of a CAR answer for `cid` within `scope` (`block`, `entity`, `all`).
pub fn car_path(cid: &Cid, scope: &str) -> String {
    format!("/ipfs/{cid}?dag-scope={scope}")
}

/// A raw block answer.
pub fn raw(bytes: Vec<u8>) -> Resource {
    let mut r = Resource::new(bytes);
    r.content_type = "application/vnd.ipld.raw".into();
    r.etag = None;
    r.ranges = false;
    r
}

/// A CAR answer.
pub fn car(bytes: Vec<u8>) -> Resource {
    let mut r = raw(bytes);
    r.content_type = "application/vnd.ipld.car; version=1".into();
    r
}

/// A gateway serving every block of `blocks` honestly, as raw blocks.
pub fn serve_blocks(server: &Server, blocks: &[(Cid, Vec<u8>)]) {
    for (cid, block) in blocks {
        server.put(&block_path(cid), raw(block.clone()));
    }
}

/// Checks every block file in the block cache at `dir` (`DIR/blocks/*/<base32 multihash>`)
/// against its name: panics on one whose bytes do not hash to it; returns how many there are.
pub fn check_cache(dir: &Path) -> usize {
    let mut count = 0;
    let Ok(shards) = std::fs::read_dir(dir.join("blocks")) else {
        return 0;
    };
    for shard in shards {
        for entry in std::fs::read_dir(shard.unwrap().path()).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let multihash = ingest_core::unixfs::sha2_256(&bytes).to_bytes();
            let name = path.file_name().unwrap().to_str().unwrap();
            assert_eq!(
                name,
                base32_lower(&multihash),
                "{} holds bytes that do not match its name",
                path.display()
            );
            count += 1;
        }
    }
    count
}

/// RFC 4648 base32, lower case, no padding (the block cache's file names; upper case, with a
/// `B` before it, blockstore-fs's).
pub fn base32_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let (mut out, mut buffer, mut bits) = (String::new(), 0u32, 0);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            out.push(ALPHABET[((buffer >> (bits - 5)) & 31) as usize] as char);
            bits -= 5;
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}
