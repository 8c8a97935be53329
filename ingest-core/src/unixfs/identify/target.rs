//! What the CID alone says, before a byte of content is read: which candidates can match at
//! all, or why none can.

use cid::Cid;

use super::Reason;
use crate::unixfs::block::{DAG_PB, RAW, SHA2_256};

/// Multihash code of the identity "hash": the digest is the block itself (kubo's `--inline`).
const IDENTITY: u64 = 0x00;

/// What to do for a target CID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// Read the content and compute candidates. `raw_only`: the CID names a raw block, which
    /// only a file of one chunk with raw leaves can have as its root.
    Read {
        /// Only raw-leaf candidates, and only those whose chunk holds the whole file.
        raw_only: bool,
    },
    /// An inlined CID: its multihash holds the block itself, to be compared with the content.
    Inline {
        /// The CID's codec.
        codec: u64,
        /// The block inside the CID.
        block: Vec<u8>,
    },
    /// No candidate can give this CID, whatever the content: nothing needs to be read.
    Stop(Reason),
}

/// Decides what to do for `target`, the CID of a directory when `is_dir`.
pub(super) fn plan(target: &Cid, is_dir: bool) -> Plan {
    let hash = target.hash();
    let codec = target.codec();
    if hash.code() == IDENTITY {
        return Plan::Inline {
            codec,
            block: hash.digest().to_vec(),
        };
    }
    if hash.code() != SHA2_256 {
        return Plan::Stop(Reason::OtherHash { code: hash.code() });
    }
    if codec != DAG_PB && codec != RAW {
        return Plan::Stop(Reason::OtherCodec { codec });
    }
    if hash.digest().len() != 32 {
        return Plan::Stop(Reason::TruncatedDigest {
            len: hash.digest().len(),
        });
    }
    if codec == RAW && is_dir {
        return Plan::Stop(Reason::RawForDirectory);
    }
    Plan::Read {
        raw_only: codec == RAW,
    }
}

/// The name of a multihash function, for the common ones (the multicodec table).
pub(super) fn hash_name(code: u64) -> Option<&'static str> {
    Some(match code {
        0x00 => "identity",
        0x11 => "sha1",
        0x12 => "sha2-256",
        0x13 => "sha2-512",
        0x14 => "sha3-512",
        0x15 => "sha3-384",
        0x16 => "sha3-256",
        0x17 => "sha3-224",
        0x1a => "keccak-224",
        0x1b => "keccak-256",
        0x1c => "keccak-384",
        0x1d => "keccak-512",
        0x1e => "blake3",
        0x20 => "sha2-384",
        0x22 => "murmur3-x64-64",
        0x56 => "dbl-sha2-256",
        0xd5 => "md5",
        0x1012 => "sha2-256-trunc254-padded",
        0x1013 => "sha2-224",
        0x1014 => "sha2-512-224",
        0x1015 => "sha2-512-256",
        0xb220 => "blake2b-256",
        0xb240 => "blake2b-512",
        0xb260 => "blake2s-256",
        _ => return None,
    })
}

/// The name of a codec, for the common ones (the multicodec table).
pub(super) fn codec_name(code: u64) -> Option<&'static str> {
    Some(match code {
        0x51 => "cbor",
        0x55 => "raw",
        0x70 => "dag-pb",
        0x71 => "dag-cbor",
        0x72 => "libp2p-key",
        0x78 => "git-raw",
        0x85 => "dag-jose",
        0x86 => "dag-cose",
        0x0129 => "dag-json",
        0x0200 => "json",
        _ => return None,
    })
}

/// `name (0x…)`, or the code alone when the name is not known.
pub(super) fn named(name: Option<&'static str>, code: u64) -> String {
    match name {
        Some(name) => format!("{name} (0x{code:x})"),
        None => format!("0x{code:x}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use multihash::Multihash;

    fn cid_v1(codec: u64, hash: u64, digest: &[u8]) -> Cid {
        Cid::new_v1(codec, Multihash::wrap(hash, digest).unwrap())
    }

    #[test]
    fn the_cid_alone_decides_what_to_read() {
        let sha = [7u8; 32];
        assert_eq!(
            plan(&cid_v1(DAG_PB, SHA2_256, &sha), true),
            Plan::Read { raw_only: false }
        );
        assert_eq!(
            plan(&cid_v1(RAW, SHA2_256, &sha), false),
            Plan::Read { raw_only: true }
        );
        assert_eq!(
            plan(&cid_v1(RAW, SHA2_256, &sha), true),
            Plan::Stop(Reason::RawForDirectory)
        );
        assert_eq!(
            plan(&cid_v1(DAG_PB, 0xb220, &sha), false),
            Plan::Stop(Reason::OtherHash { code: 0xb220 })
        );
        assert_eq!(
            plan(&cid_v1(0x71, SHA2_256, &sha), false),
            Plan::Stop(Reason::OtherCodec { codec: 0x71 })
        );
        assert_eq!(
            plan(&cid_v1(DAG_PB, SHA2_256, &sha[..20]), false),
            Plan::Stop(Reason::TruncatedDigest { len: 20 })
        );
        assert_eq!(
            plan(&cid_v1(RAW, IDENTITY, b"hi"), false),
            Plan::Inline {
                codec: RAW,
                block: b"hi".to_vec()
            }
        );
    }

    #[test]
    fn names() {
        assert_eq!(named(hash_name(0xb220), 0xb220), "blake2b-256 (0xb220)");
        assert_eq!(named(hash_name(0x9999), 0x9999), "0x9999");
        assert_eq!(codec_name(0x71), Some("dag-cbor"));
    }
}
