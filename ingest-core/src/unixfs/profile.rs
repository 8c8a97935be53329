//! Import profiles: every parameter that changes a CID, as one immutable value.
//!
//! A [`Profile`] is handed to every stage of an import; nothing reads a global default and nothing
//! changes a profile once it is built. The three presets reproduce named, published behaviours
//! (see `docs/profiles.md` for the full table and its sources):
//!
//! | preset | reproduces |
//! | --- | --- |
//! | [`Profile::UNIXFS_V1_2025`] (default) | IPIP-0499 `unixfs-v1-2025` |
//! | [`Profile::UNIXFS_V0_2015`] | `ipfs add` with no flags (IPIP-0499 legacy profile) |
//! | [`Profile::KUBO_CIDV1`] | `ipfs add --cid-version=1`, ipfs-unixfs-importer and go-car defaults |
//!
//! [`Overrides`] apply kubo-style flags (`--cid-version`, `--raw-leaves`, `--chunker size-N`,
//! `--max-links N`) on top of a preset, and refuse what kubo refuses.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// The largest block any profile may produce: 2 MiB (2,097,152 bytes).
///
/// This is the block size limit of bitswap and of kubo's `ipfs add` (boxo's chunker refuses a
/// chunk whose block would not fit): a bigger block could be computed here but never fetched
/// from the network, so a profile that could produce one is refused.
pub const BLOCK_SIZE_LIMIT: usize = 2 * 1024 * 1024;

/// Worst-case bytes one link adds to an internal file node: the PBLink (tag, length, a 36-byte
/// CIDv1 with its tag and length, an empty name, a 10-byte Tsize varint) is at most 53 bytes, and
/// its `blocksizes` entry at most 11.
const MAX_LINK_COST: usize = 64;

/// Bytes a dag-pb leaf adds around its chunk (see [`crate::unixfs::block`]): at most 20.
const MAX_LEAF_OVERHEAD: usize = 20;

/// CID version of the blocks a profile writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CidVersion {
    /// CIDv0: base58btc `Qm…`, implicitly dag-pb and sha2-256.
    V0,
    /// CIDv1: multibase base32 lower-case (`bafy…`, `bafk…`).
    V1,
}

/// How a directory's size is estimated to decide whether it becomes a HAMT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DirSizeEstimate {
    /// Σ (name bytes + CID bytes) over the links: boxo's `linksize` estimate, kubo's default.
    LinksBytes,
    /// The exact encoded size of the flat dag-pb directory block (IPIP-0499 `unixfs-v1-2025`).
    BlockBytes,
}

impl DirSizeEstimate {
    /// The name used in IPIP-0499 and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            DirSizeEstimate::LinksBytes => "links-bytes",
            DirSizeEstimate::BlockBytes => "block-bytes",
        }
    }
}

/// Every parameter that changes a CID.
///
/// Build one from a preset ([`Profile::UNIXFS_V1_2025`], [`Profile::by_name`]) and optionally
/// [`Profile::with_overrides`]. The hash function is always sha2-256 and the layout always
/// balanced with fixed-size chunks: those are the same in all three presets, and other choices
/// (trickle, rabin, buzhash, blake3) are not reproduced by enough implementations to share CIDs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Profile {
    name: Cow<'static, str>,
    /// CID version of every block. Source: kubo `--cid-version` (default 0); IPIP-0499 table.
    cid_version: CidVersion,
    /// Leaves are raw blocks (codec 0x55) rather than dag-pb UnixFS `File` nodes. Source: kubo
    /// `--raw-leaves`, which defaults to true exactly when the CID version is 1.
    raw_leaves: bool,
    /// Bytes per chunk (the last chunk may be short). Source: kubo `--chunker size-N` (default
    /// 262144, boxo `chunker.DefaultBlockSize`); IPIP-0499 `unixfs-v1-2025` uses 1048576.
    chunk_size: u32,
    /// Links per internal file node. Source: boxo `helpers.DefaultLinksPerBlock` = 8192 / 47 =
    /// 174 (a link was estimated at 47 bytes and a node kept under 8 KiB); IPIP-0499
    /// `unixfs-v1-2025` uses 1024.
    max_links: u32,
    /// A directory whose size estimate is *greater than* this many bytes is HAMT-sharded.
    /// Source: boxo `io.HAMTShardingSize` = 256 KiB (kubo ≥ 0.40 compares with `>`; ≤ 0.39 `>=`).
    hamt_threshold: u64,
    /// Which estimate is compared with the threshold. Source: IPIP-0499 (`block-bytes` for
    /// `unixfs-v1-2025`, `links-bytes` for the legacy profile and kubo's defaults).
    dir_size_estimate: DirSizeEstimate,
    /// Children per HAMT shard node. Source: boxo `io.DefaultShardWidth` = 256.
    hamt_fanout: u32,
}

impl Profile {
    /// IPIP-0499 `unixfs-v1-2025`: CIDv1, raw leaves, 1 MiB chunks, 1024 links, block-bytes HAMT
    /// estimate. The default.
    pub const UNIXFS_V1_2025: Profile = Profile {
        name: Cow::Borrowed("unixfs-v1-2025"),
        cid_version: CidVersion::V1,
        raw_leaves: true,
        chunk_size: 1_048_576,
        max_links: 1024,
        hamt_threshold: 262_144,
        dir_size_estimate: DirSizeEstimate::BlockBytes,
        hamt_fanout: 256,
    };

    /// IPIP-0499 `unixfs-v0-2015`: what `ipfs add` does with no flags. CIDv0, dag-pb leaves,
    /// 256 KiB chunks, 174 links, links-bytes HAMT estimate.
    pub const UNIXFS_V0_2015: Profile = Profile {
        name: Cow::Borrowed("unixfs-v0-2015"),
        cid_version: CidVersion::V0,
        raw_leaves: false,
        chunk_size: 262_144,
        max_links: 174,
        hamt_threshold: 262_144,
        dir_size_estimate: DirSizeEstimate::LinksBytes,
        hamt_fanout: 256,
    };

    /// `ipfs add --cid-version=1`: CIDv1, raw leaves, 256 KiB chunks, 174 links, links-bytes HAMT
    /// estimate. Also the default of ipfs-unixfs-importer and go-car.
    pub const KUBO_CIDV1: Profile = Profile {
        name: Cow::Borrowed("kubo-cidv1"),
        cid_version: CidVersion::V1,
        raw_leaves: true,
        chunk_size: 262_144,
        max_links: 174,
        hamt_threshold: 262_144,
        dir_size_estimate: DirSizeEstimate::LinksBytes,
        hamt_fanout: 256,
    };

    /// Every preset, the default first.
    pub const PRESETS: [Profile; 3] = [
        Profile::UNIXFS_V1_2025,
        Profile::UNIXFS_V0_2015,
        Profile::KUBO_CIDV1,
    ];

    /// The preset called `name`.
    pub fn by_name(name: &str) -> Result<Profile, ProfileError> {
        Profile::PRESETS
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ProfileError::UnknownProfile {
                name: name.to_owned(),
            })
    }

    /// This profile with kubo-style overrides applied.
    ///
    /// As in kubo, setting the CID version without setting `raw_leaves` makes leaves raw exactly
    /// when the version is 1. The result is named after the preset it equals, if any, and
    /// otherwise `custom-…` with every parameter spelled out, so a name always identifies the
    /// parameters.
    pub fn with_overrides(&self, o: &Overrides) -> Result<Profile, ProfileError> {
        let mut p = self.clone();
        if let Some(v) = o.cid_version {
            p.cid_version = v;
            p.raw_leaves = v == CidVersion::V1;
        }
        if let Some(raw) = o.raw_leaves {
            p.raw_leaves = raw;
        }
        if let Some(size) = o.chunk_size {
            p.chunk_size = size;
        }
        if let Some(links) = o.max_links {
            p.max_links = links;
        }
        p.validate()?;
        p.name = match Profile::PRESETS.into_iter().find(|q| q.same_parameters(&p)) {
            Some(preset) => preset.name,
            None if p.same_parameters(self) => self.name.clone(),
            None => Cow::Owned(p.describe()),
        };
        Ok(p)
    }

    fn same_parameters(&self, other: &Profile) -> bool {
        Profile {
            name: Cow::Borrowed(""),
            ..self.clone()
        } == Profile {
            name: Cow::Borrowed(""),
            ..other.clone()
        }
    }

    fn describe(&self) -> String {
        format!(
            "custom-cidv{}-{}-size-{}-links-{}-{}",
            match self.cid_version {
                CidVersion::V0 => 0,
                CidVersion::V1 => 1,
            },
            if self.raw_leaves { "raw" } else { "pb" },
            self.chunk_size,
            self.max_links,
            self.dir_size_estimate.as_str(),
        )
    }

    fn validate(&self) -> Result<(), ProfileError> {
        let chunk = self.chunk_size as usize;
        let overhead = if self.raw_leaves {
            0
        } else {
            MAX_LEAF_OVERHEAD
        };
        if chunk == 0 || chunk + overhead > BLOCK_SIZE_LIMIT {
            return Err(ProfileError::ChunkSize {
                size: self.chunk_size,
                max: (BLOCK_SIZE_LIMIT - overhead) as u32,
            });
        }
        // A node of one link would never shrink the tree; kubo's balanced builder needs two.
        let max_links = (BLOCK_SIZE_LIMIT / MAX_LINK_COST) as u32 - 1;
        if self.max_links < 2 || self.max_links > max_links {
            return Err(ProfileError::MaxLinks {
                links: self.max_links,
                max: max_links,
            });
        }
        Ok(())
    }

    /// The profile's name: a preset's name, or `custom-…` after overrides.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// CID version of every block (raw leaves are always CIDv1, as in kubo).
    pub fn cid_version(&self) -> CidVersion {
        self.cid_version
    }
    /// Whether leaves are raw blocks rather than dag-pb UnixFS `File` nodes.
    pub fn raw_leaves(&self) -> bool {
        self.raw_leaves
    }
    /// Bytes per chunk.
    pub fn chunk_size(&self) -> usize {
        self.chunk_size as usize
    }
    /// Links per internal file node.
    pub fn max_links(&self) -> usize {
        self.max_links as usize
    }
    /// HAMT switch threshold in bytes of the size estimate (strictly greater than).
    pub fn hamt_threshold(&self) -> u64 {
        self.hamt_threshold
    }
    /// Which directory size estimate is compared with the threshold.
    pub fn dir_size_estimate(&self) -> DirSizeEstimate {
        self.dir_size_estimate
    }
    /// Children per HAMT shard node.
    pub fn hamt_fanout(&self) -> u32 {
        self.hamt_fanout
    }
}

impl Default for Profile {
    fn default() -> Self {
        Profile::UNIXFS_V1_2025
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl FromStr for Profile {
    type Err = ProfileError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::by_name(s)
    }
}

/// kubo-style parameter overrides, each `None` when not given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--cid-version 0|1`.
    pub cid_version: Option<CidVersion>,
    /// `--raw-leaves[=true|false]`.
    pub raw_leaves: Option<bool>,
    /// `--chunker size-N`, as N (see [`parse_chunker`]).
    pub chunk_size: Option<u32>,
    /// `--max-links N`.
    pub max_links: Option<u32>,
}

impl Overrides {
    /// Whether no override is set.
    pub fn is_empty(&self) -> bool {
        *self == Overrides::default()
    }
}

/// Parses a kubo chunker string. Only fixed-size chunking (`size-N`) is supported: rabin and
/// buzhash chunking are content-defined and not part of any shared profile.
pub fn parse_chunker(spec: &str) -> Result<u32, ProfileError> {
    let bad = || ProfileError::Chunker {
        spec: spec.to_owned(),
    };
    let digits = spec.strip_prefix("size-").ok_or_else(bad)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    digits.parse::<u32>().map_err(|_| ProfileError::ChunkSize {
        size: u32::MAX,
        max: BLOCK_SIZE_LIMIT as u32,
    })
}

/// Parses a CID version as kubo's `--cid-version` takes it.
pub fn parse_cid_version(s: &str) -> Result<CidVersion, ProfileError> {
    match s {
        "0" => Ok(CidVersion::V0),
        "1" => Ok(CidVersion::V1),
        _ => Err(ProfileError::CidVersion {
            version: s.to_owned(),
        }),
    }
}

/// A profile name or override that cannot be used.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProfileError {
    /// No preset has this name.
    #[error("unknown profile {name:?} (known: unixfs-v1-2025, unixfs-v0-2015, kubo-cidv1)")]
    UnknownProfile {
        /// The name asked for.
        name: String,
    },
    /// The chunker string is not `size-N`.
    #[error("unsupported chunker {spec:?}: only fixed-size chunking, size-N, is supported")]
    Chunker {
        /// The chunker string given.
        spec: String,
    },
    /// The chunk size is zero or its blocks would exceed [`BLOCK_SIZE_LIMIT`].
    #[error("chunk size {size} is out of range: it must be 1 to {max} bytes so every block fits in 2 MiB")]
    ChunkSize {
        /// The size given.
        size: u32,
        /// The largest size allowed with these leaves.
        max: u32,
    },
    /// The number of links per node is below 2 or its nodes could exceed [`BLOCK_SIZE_LIMIT`].
    #[error(
        "max links {links} is out of range: it must be 2 to {max} so every node fits in 2 MiB"
    )]
    MaxLinks {
        /// The number given.
        links: u32,
        /// The largest number allowed.
        max: u32,
    },
    /// The CID version is not 0 or 1.
    #[error("unknown CID version {version:?}: expected 0 or 1")]
    CidVersion {
        /// The version given.
        version: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_by_name() {
        for p in Profile::PRESETS {
            assert_eq!(Profile::by_name(p.name()).unwrap(), p);
        }
        assert!(matches!(
            Profile::by_name("unixfs-v2"),
            Err(ProfileError::UnknownProfile { .. })
        ));
    }

    #[test]
    fn cid_version_one_implies_raw_leaves_like_kubo() {
        let o = Overrides {
            cid_version: Some(CidVersion::V1),
            ..Overrides::default()
        };
        let p = Profile::UNIXFS_V0_2015.with_overrides(&o).unwrap();
        // `ipfs add --cid-version=1` is exactly the kubo-cidv1 preset.
        assert_eq!(p, Profile::KUBO_CIDV1);
        assert_eq!(p.name(), "kubo-cidv1");
    }

    #[test]
    fn explicit_raw_leaves_wins_over_the_version_default() {
        let o = Overrides {
            cid_version: Some(CidVersion::V1),
            raw_leaves: Some(false),
            ..Overrides::default()
        };
        let p = Profile::UNIXFS_V0_2015.with_overrides(&o).unwrap();
        assert!(!p.raw_leaves());
        assert_eq!(
            p.name(),
            "custom-cidv1-pb-size-262144-links-174-links-bytes"
        );
    }

    #[test]
    fn chunk_size_limits() {
        let with = |size, raw| Overrides {
            chunk_size: Some(size),
            raw_leaves: Some(raw),
            ..Overrides::default()
        };
        let base = Profile::UNIXFS_V0_2015;
        assert!(base
            .with_overrides(&with(BLOCK_SIZE_LIMIT as u32, true))
            .is_ok());
        assert!(base
            .with_overrides(&with(BLOCK_SIZE_LIMIT as u32 + 1, true))
            .is_err());
        // A dag-pb leaf wraps the chunk, so a 2 MiB chunk would make a block over 2 MiB.
        assert!(base
            .with_overrides(&with(BLOCK_SIZE_LIMIT as u32, false))
            .is_err());
        assert!(base.with_overrides(&with(0, true)).is_err());
    }

    #[test]
    fn max_links_limits() {
        let with = |links| Overrides {
            max_links: Some(links),
            ..Overrides::default()
        };
        assert!(Profile::KUBO_CIDV1.with_overrides(&with(1)).is_err());
        assert!(Profile::KUBO_CIDV1.with_overrides(&with(2)).is_ok());
        assert!(Profile::KUBO_CIDV1.with_overrides(&with(32767)).is_ok());
        assert!(Profile::KUBO_CIDV1.with_overrides(&with(32768)).is_err());
    }

    #[test]
    fn chunker_strings() {
        assert_eq!(parse_chunker("size-262144"), Ok(262144));
        assert!(matches!(
            parse_chunker("rabin-1-2-3"),
            Err(ProfileError::Chunker { .. })
        ));
        assert!(matches!(
            parse_chunker("size-"),
            Err(ProfileError::Chunker { .. })
        ));
        assert!(matches!(
            parse_chunker("size--1"),
            Err(ProfileError::Chunker { .. })
        ));
        assert!(matches!(
            parse_chunker("size-99999999999"),
            Err(ProfileError::ChunkSize { .. })
        ));
    }

    #[test]
    fn no_overrides_keeps_the_preset() {
        let p = Profile::UNIXFS_V1_2025
            .with_overrides(&Overrides::default())
            .unwrap();
        assert_eq!(p, Profile::UNIXFS_V1_2025);
    }
}
