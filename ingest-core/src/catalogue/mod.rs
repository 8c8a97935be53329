//! The catalogue: every archived video in one deterministic UnixFS tree.
//!
//! ```text
//! root/
//!   <site>/<id>/                      the per-video directory of the video's record
//!   _conflicts/<site>/<id>/<record>/  every other record of that video, under its CID
//! ```
//!
//! The root is a pure function of the set of records: duplicates collapse (a record is its
//! CID), and the directories are the canonical UnixFS directories of their entries, sharded as
//! kubo shards them, so the tree is exactly what `ipfs add -r` of the same tree on disk gives.
//!
//! **Conflicts** (two different records for one video: other bytes or other metadata) are never
//! dropped. The record with the smallest CID (compared as binary CIDs) is the video's entry at
//! `<site>/<id>`; every other one is kept at `_conflicts/<site>/<id>/<record CID>/`. The rule
//! depends only on the set of records, so every maintainer resolves a conflict the same way,
//! and the merge summary lists each conflict it touched. Site names start with a letter or a
//! digit, so `_conflicts` is never a site.
//!
//! **Merging** ([`Merge`]) onto an existing catalogue reads only the blocks on the paths it
//! changes: the root, the shards of the site directories on the paths of new ids, and, for an
//! id already present, its per-video directory and `record.cbor`. [`merge_car`] is the whole
//! operation on files: it reads the base CAR once, merges records from `.record.cbor` files and
//! CARs, and writes the new catalogue CAR (every block of the base that is still part of the
//! catalogue, and the new ones) atomically.
//!
//! **Reading** ([`Catalogue`], [`videos`], [`read_video_record`]) needs no profile: the
//! directories say how they are sharded. [`todo`](mod@todo) says what of a wanted list is left to do,
//! reading only the directories of the sites the list names.
//!
//! **Known limit: the visible path can be taken by grinding.** The smallest record CID takes
//! `<site>/<id>`, so anyone can vary a field of a record until its CID sorts first and displace
//! the genuine record at the visible path; both stay reachable (the other under `_conflicts`).
//! The mission leaves bad actors out for now; this rule is chosen because it needs no trust and
//! no coordination, not because it resists an attacker.

mod base;
mod incremental;
mod merge;
mod read;
pub mod todo;

pub use incremental::{merge_car, merge_into, MergeBase, MergeCarError, MergeInput, MergeReport};
pub use merge::Merge;
pub use read::{read_video_record, video_record, videos, Catalogue, CatalogueVideo, OpenError};
pub(crate) use read::{record_file_content, record_link, record_of};

use cid::Cid;

use crate::archive::WriteDirectoryError;
use crate::unixfs::dir::EditError;

/// The root directory holding every record that lost a conflict.
pub const CONFLICTS_DIR: &str = "_conflicts";

/// Two or more records for one video.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    /// The site.
    pub site: String,
    /// The video's id.
    pub id: String,
    /// The record at `<site>/<id>` (the smallest CID).
    pub winner: Cid,
    /// The records under `_conflicts/<site>/<id>/`.
    pub others: Vec<Cid>,
}

/// A record left out of a merge, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// The record's site and id, when it has them.
    pub video: Option<(String, String)>,
    /// Why.
    pub reason: String,
}

/// What a merge did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MergeSummary {
    /// The new catalogue root (the base's if nothing changed).
    pub root: Option<Cid>,
    /// Records that were not in the catalogue before.
    pub added: u64,
    /// Records that were already there (or given twice).
    pub unchanged: u64,
    /// Videos with more than one record, among those this merge touched.
    pub conflicts: Vec<Conflict>,
    /// Records refused (another profile).
    pub rejected: Vec<Rejected>,
    /// Blocks of the base that are no longer part of the catalogue.
    pub replaced: Vec<Cid>,
    /// Blocks read from the base.
    pub blocks_read: u64,
}

/// A merge failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogueError {
    /// A directory of the catalogue (the base of a merge, or the one being read) could not be
    /// read or changed.
    #[error("cannot read a directory of the catalogue")]
    Base(#[source] Box<EditError>),
    /// A per-video directory could not be written.
    #[error("cannot write the directory of {site}/{id}")]
    Record {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// The error (boxed: it carries CIDs, and keeps this enum small).
        #[source]
        source: Box<WriteDirectoryError>,
    },
    /// A per-video directory of the base has no readable `record.cbor`.
    #[error("the base's directory {directory} has no readable record.cbor: {reason}")]
    BadVideoDirectory {
        /// The directory's CID.
        directory: String,
        /// What is wrong.
        reason: String,
    },
}

impl From<EditError> for CatalogueError {
    fn from(e: EditError) -> Self {
        CatalogueError::Base(Box::new(e))
    }
}

impl From<crate::unixfs::BlockError> for CatalogueError {
    fn from(e: crate::unixfs::BlockError) -> Self {
        CatalogueError::Base(Box::new(e.into()))
    }
}

/// Which of `n` volunteers takes the video `site`/`id`: the first 8 bytes of
/// SHA-256(`site` `/` `id`), big-endian, modulo `n`. The same on every machine.
pub fn shard_of(site: &str, id: &str, n: u64) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(site.as_bytes())
        .chain_update(b"/")
        .chain_update(id.as_bytes())
        .finalize();
    let first: [u8; 8] = digest[..8].try_into().expect("8 bytes");
    u64::from_be_bytes(first) % n.max(1)
}

#[cfg(test)]
mod tests;
