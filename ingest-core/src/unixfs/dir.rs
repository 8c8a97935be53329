//! UnixFS directories, exactly as kubo builds them: flat while small, HAMT-sharded past the
//! profile's threshold.
//!
//! A [`DirBuilder`] takes entries (name → CID, dag size) in any order and needs none of their
//! content, so a directory of videos that are not on this machine can be built from their CIDs
//! alone. [`DirBuilder::finish`] sorts the entries, decides between a flat directory and a HAMT
//! with the profile's size estimate, and writes the blocks to a sink, the root last.
//!
//! - Flat: one dag-pb node, links sorted by name bytes, `Data` = UnixFS `{Type: Directory}`.
//! - Sharded when the estimate is *greater than* [`Profile::hamt_threshold`]: `links-bytes`
//!   estimates Σ (name bytes + CID bytes) (boxo's `linksize`), `block-bytes` the exact encoded
//!   size of the flat node (IPIP-0499). See the private module `hamt` for the shard layout.
//!
//! Memory: one entry per child, about 130 bytes each (the name's own allocation, a CID, a dag
//! size): 130 MB for a directory of a million entries.

mod edit;
pub(crate) mod hamt;
mod walk;

pub use edit::{update, EditError};
pub(crate) use walk::{file_kind, read_children};
pub use walk::{import_path, Added, EntryKind, WalkError, WalkObserver, WalkOptions};

use cid::Cid;

use crate::unixfs::block::{cid_of, dir_link_encoded_len, encode_directory, DAG_PB, DIR_DATA_LEN};
use crate::unixfs::profile::{DirSizeEstimate, Profile};
use crate::unixfs::sink::BlockSink;

/// One child of a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) name: Box<str>,
    pub(crate) cid: Cid,
    pub(crate) dag_size: u64,
}

/// How a directory was encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirKind {
    /// One dag-pb node.
    Flat,
    /// A UnixFS HAMTShard tree.
    Hamt,
}

/// What [`DirBuilder::finish`] produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirSummary {
    /// The directory's CID.
    pub root: Cid,
    /// Bytes of every block under and including the directory node (its Tsize).
    pub dag_size: u64,
    /// Flat or sharded.
    pub kind: DirKind,
    /// Number of entries.
    pub entries: usize,
    /// Directory blocks written (the entries' own blocks not included).
    pub blocks: u64,
}

/// A directory could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirError {
    /// The name cannot be a UnixFS directory entry.
    #[error("invalid entry name {name:?}: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// Two entries have the same name.
    #[error("two entries are named {name:?}")]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// Two names have the same 64-bit murmur3 hash, which a HAMT cannot tell apart.
    #[error("entries {first:?} and {second:?} have the same murmur3 hash")]
    HashCollision {
        /// One name.
        first: String,
        /// The other.
        second: String,
    },
    /// The entries' dag sizes add up past 2^64: no real DAG is that large, so an entry's dag
    /// size is a lie.
    #[error("the dag sizes of the entries add up past 2^64 bytes")]
    DagSizeOverflow,
    /// The sink refused a block.
    #[error("storing directory block {cid} failed")]
    Sink {
        /// The block.
        cid: Cid,
        /// The sink's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// A directory node's dag size: its block and the dag sizes of its entries, which come from
/// records and catalogues that may lie, so the sum is checked.
pub(crate) fn dag_size_of(
    block_len: usize,
    entries: impl Iterator<Item = u64>,
) -> Result<u64, DirError> {
    entries
        .into_iter()
        .try_fold(block_len as u64, u64::checked_add)
        .ok_or(DirError::DagSizeOverflow)
}

/// Checks that `name` can be a directory entry: not empty, not `.` or `..`, no `/` or NUL.
pub fn check_entry_name(name: &str) -> Result<(), DirError> {
    let reason = if name.is_empty() {
        "it is empty"
    } else if name == "." || name == ".." {
        "it is a relative path component"
    } else if name.contains('/') {
        "it contains '/'"
    } else if name.contains('\0') {
        "it contains a NUL byte"
    } else {
        return Ok(());
    };
    Err(DirError::InvalidName {
        name: name.to_owned(),
        reason,
    })
}

/// Puts a block into a sink, turning its error into a [`DirError`].
pub(crate) fn put<S: BlockSink + ?Sized>(
    sink: &mut S,
    cid: &Cid,
    block: &[u8],
) -> Result<(), DirError> {
    sink.put(cid, block).map_err(|e| DirError::Sink {
        cid: *cid,
        source: Box::new(e),
    })
}

/// Builds one UnixFS directory from its entries.
///
/// ```
/// use ingest_core::{DirBuilder, HashOnly, Profile};
///
/// // The same empty file twice, by CID alone.
/// let empty = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH".parse()?;
/// let mut dir = DirBuilder::new(&Profile::UNIXFS_V0_2015);
/// dir.add("b.txt", empty, 6)?;
/// dir.add("a.txt", empty, 6)?;
/// let summary = dir.finish(&mut HashOnly)?;
/// assert_eq!(summary.entries, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct DirBuilder {
    profile: Profile,
    entries: Vec<Entry>,
}

impl DirBuilder {
    /// An empty directory under `profile`.
    pub fn new(profile: &Profile) -> Self {
        DirBuilder {
            profile: profile.clone(),
            entries: Vec::new(),
        }
    }

    /// Adds an entry. Names are checked with [`check_entry_name`]; duplicates are reported by
    /// [`DirBuilder::finish`].
    pub fn add(&mut self, name: &str, cid: Cid, dag_size: u64) -> Result<(), DirError> {
        check_entry_name(name)?;
        self.entries.push(Entry {
            name: name.into(),
            cid,
            dag_size,
        });
        Ok(())
    }

    /// Entries added so far.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no entry was added.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The profile's size estimate of the flat directory node.
    fn estimate(&self) -> u64 {
        match self.profile.dir_size_estimate() {
            DirSizeEstimate::LinksBytes => self
                .entries
                .iter()
                .map(|e| (e.name.len() + e.cid.encoded_len()) as u64)
                .sum(),
            DirSizeEstimate::BlockBytes => {
                DIR_DATA_LEN as u64
                    + self
                        .entries
                        .iter()
                        .map(|e| dir_link_encoded_len(&e.cid, e.name.as_bytes(), e.dag_size) as u64)
                        .sum::<u64>()
            }
        }
    }

    /// Writes the directory's blocks to `sink`, the root last, and returns its summary.
    pub fn finish<S: BlockSink + ?Sized>(mut self, sink: &mut S) -> Result<DirSummary, DirError> {
        self.entries
            .sort_unstable_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        if let Some(pair) = self.entries.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(DirError::DuplicateName {
                name: pair[0].name.to_string(),
            });
        }
        let entries = self.entries.len();
        if self.estimate() > self.profile.hamt_threshold() {
            let (root, dag_size, blocks) = hamt::build(&self.profile, self.entries, sink)?;
            return Ok(DirSummary {
                root,
                dag_size,
                kind: DirKind::Hamt,
                entries,
                blocks,
            });
        }
        let mut block = Vec::new();
        encode_directory(
            &mut block,
            self.entries
                .iter()
                .map(|e| (e.name.as_bytes(), &e.cid, e.dag_size)),
        );
        let root = cid_of(self.profile.cid_version(), DAG_PB, &block);
        put(sink, &root, &block)?;
        let dag_size = dag_size_of(block.len(), self.entries.iter().map(|e| e.dag_size))?;
        Ok(DirSummary {
            root,
            dag_size,
            kind: DirKind::Flat,
            entries,
            blocks: 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::sink::HashOnly;

    fn file_cid() -> Cid {
        "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
            .parse()
            .unwrap()
    }

    #[test]
    fn empty_directory_is_kubos() {
        // `ipfs object new unixfs-dir` in kubo.
        let summary = DirBuilder::new(&Profile::UNIXFS_V0_2015)
            .finish(&mut HashOnly)
            .unwrap();
        assert_eq!(
            summary.root.to_string(),
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        );
        assert_eq!(summary.dag_size, 4);
    }

    #[test]
    fn names_are_checked() {
        let mut dir = DirBuilder::new(&Profile::default());
        for bad in ["", ".", "..", "a/b", "nul\0"] {
            assert!(
                matches!(
                    dir.add(bad, file_cid(), 0),
                    Err(DirError::InvalidName { .. })
                ),
                "{bad:?}"
            );
        }
        dir.add("same", file_cid(), 0).unwrap();
        dir.add("same", file_cid(), 0).unwrap();
        assert!(matches!(
            dir.finish(&mut HashOnly),
            Err(DirError::DuplicateName { .. })
        ));
    }

    #[test]
    fn the_block_bytes_estimate_is_the_flat_block_length() {
        let mut dir = DirBuilder::new(&Profile::UNIXFS_V1_2025);
        for i in 0..300 {
            dir.add(&format!("entry-{i}"), file_cid(), i * 1000)
                .unwrap();
        }
        let estimate = dir.estimate();
        let mut sink = crate::unixfs::sink::MemorySink::new();
        let summary = dir.finish(&mut sink).unwrap();
        assert_eq!(sink.get(&summary.root).unwrap().len() as u64, estimate);
    }
}
