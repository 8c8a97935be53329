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
//! **Merging** onto an existing catalogue ([`merge`] with a base) reads only the blocks on the
//! paths it changes: the root, the shards of the site directories on the paths of new ids, and,
//! for an id already present, its per-video directory and `record.cbor`. It returns the base
//! blocks it replaced, so a caller copying the base can leave them out.

use std::collections::BTreeMap;

use cid::Cid;

use crate::block::{cid_of, decode_dir, single_block_file, DAG_CBOR};
use crate::dir::{self, BlockSource, EditError};
use crate::profile::{CidVersion, Profile};
use crate::record::{Record, RecordError, WriteDirectoryError, RECORD_FILE_NAME};
use crate::sink::BlockSink;

/// A block source that remembers the blocks it returned: a merge reads the root and the first
/// shards of a site's HAMT once per new id, and then again to rewrite them. At most the blocks a
/// merge reads are kept (about 50,000, 60 MB, for 10,000 new ids onto a million).
struct Cached<'a, Src: ?Sized> {
    inner: &'a mut Src,
    blocks: std::collections::HashMap<Cid, std::rc::Rc<Vec<u8>>>,
}

impl<Src: BlockSource + ?Sized> BlockSource for Cached<'_, Src> {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, EditError> {
        if let Some(block) = self.blocks.get(cid) {
            return Ok(Some(block.as_ref().clone()));
        }
        let block = self.inner.get(cid)?;
        if let Some(b) = &block {
            self.blocks.insert(*cid, std::rc::Rc::new(b.clone()));
        }
        Ok(block)
    }
}

/// The root directory holding every record that lost a conflict.
pub const CONFLICTS_DIR: &str = "_conflicts";

/// Directory entries by name: CID and dag size.
type Entries = BTreeMap<String, (Cid, u64)>;

/// A record's place in the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    record: Cid,
    directory: Cid,
    dag_size: u64,
}

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
}

/// A merge failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogueError {
    /// The base catalogue could not be read or changed.
    #[error("cannot read the base catalogue")]
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

/// Builds or extends a catalogue.
///
/// Feed records with [`Merge::add`] (each one's per-video directory is written to the sink at
/// once, so only its CIDs stay in memory: about 400 bytes a record), then [`Merge::finish`].
pub struct Merge<'a, S: ?Sized, Src: ?Sized> {
    profile: Profile,
    base: Option<(Cached<'a, Src>, Cid)>,
    sink: &'a mut S,
    videos: BTreeMap<String, BTreeMap<String, Vec<Slot>>>,
    summary: MergeSummary,
}

impl<'a, S: BlockSink + ?Sized, Src: BlockSource + ?Sized> Merge<'a, S, Src> {
    /// A merge under `profile` onto `base` (a block source and the catalogue root in it), or
    /// onto nothing.
    pub fn new(profile: &Profile, base: Option<(&'a mut Src, Cid)>, sink: &'a mut S) -> Self {
        Merge {
            profile: profile.clone(),
            base: base.map(|(inner, root)| {
                (
                    Cached {
                        inner,
                        blocks: std::collections::HashMap::new(),
                    },
                    root,
                )
            }),
            sink,
            videos: BTreeMap::new(),
            summary: MergeSummary::default(),
        }
    }

    /// Adds one record. A record of another profile is rejected (listed in the summary) and
    /// the merge goes on.
    pub fn add(&mut self, record: &Record) -> Result<(), CatalogueError> {
        let bytes = record.encode().map_err(|e| CatalogueError::Record {
            site: record.source.site.clone(),
            id: record.source.id.clone(),
            source: Box::new(e.into()),
        })?;
        self.add_encoded(record, &bytes)
    }

    /// [`Merge::add`] for a record decoded from `bytes` (its canonical encoding), which saves
    /// encoding it again.
    pub fn add_encoded(&mut self, record: &Record, bytes: &[u8]) -> Result<(), CatalogueError> {
        let (site, id) = (&record.source.site, &record.source.id);
        if record.profile != self.profile.name() {
            self.summary.rejected.push(Rejected {
                video: Some((site.clone(), id.clone())),
                reason: format!(
                    "record of profile {}, the catalogue is {}",
                    record.profile,
                    self.profile.name()
                ),
            });
            return Ok(());
        }
        let vd = record
            .write_directory_encoded(bytes, self.sink)
            .map_err(|source| CatalogueError::Record {
                site: site.clone(),
                id: id.clone(),
                source: Box::new(source),
            })?;
        self.videos
            .entry(site.clone())
            .or_default()
            .entry(id.clone())
            .or_default()
            .push(Slot {
                record: vd.record,
                directory: vd.directory,
                dag_size: vd.dag_size,
            });
        Ok(())
    }

    /// Records a rejection that happened before [`Merge::add`] (an unreadable input).
    pub fn reject(&mut self, reason: String) {
        self.summary.rejected.push(Rejected {
            video: None,
            reason,
        });
    }

    /// Writes the changed directories and returns the summary.
    pub fn finish(mut self) -> Result<MergeSummary, CatalogueError> {
        let profile = self.profile.clone();
        let mut replaced = Vec::new();
        let base_root = self.base.as_ref().map(|(_, root)| *root);
        let mut root_updates: BTreeMap<String, (Cid, u64)> = BTreeMap::new();
        // _conflicts/<site>/<id> → record CID → directory.
        let mut conflict_updates: BTreeMap<String, BTreeMap<String, Entries>> = BTreeMap::new();
        let videos = std::mem::take(&mut self.videos);
        for (site, ids) in videos {
            let site_dir = match (&mut self.base, &base_root) {
                (Some((src, _)), Some(root)) => {
                    dir::lookup(&profile, src, root, &site)?.map(|x| x.0)
                }
                _ => None,
            };
            let mut site_updates: BTreeMap<String, (Cid, u64)> = BTreeMap::new();
            // Which ids the base has already: one walk of the site's directory for all of them.
            let present = match (&mut self.base, &site_dir) {
                (Some((src, _)), Some(site_dir)) => {
                    let names: Vec<&str> = ids.keys().map(String::as_str).collect();
                    dir::lookup_many(&profile, src, site_dir, &names)?
                }
                _ => vec![None; ids.len()],
            };
            for ((id, new), present) in ids.into_iter().zip(present) {
                let mut all: BTreeMap<Vec<u8>, Slot> = BTreeMap::new();
                let mut before = 0;
                if let (Some((src, _)), Some(entry)) = (&mut self.base, present) {
                    for slot in
                        existing_slots(&profile, src, base_root.as_ref(), entry, &site, &id)?
                    {
                        all.insert(slot.record.to_bytes(), slot);
                        before += 1;
                    }
                }
                for slot in new {
                    if all.insert(slot.record.to_bytes(), slot).is_some() {
                        self.summary.unchanged += 1;
                    } else {
                        self.summary.added += 1;
                    }
                }
                if all.len() == before {
                    continue;
                }
                let mut slots = all.into_values();
                let winner = slots.next().expect("at least one record");
                let others: Vec<Slot> = slots.collect();
                site_updates.insert(id.clone(), (winner.directory, winner.dag_size));
                if !others.is_empty() {
                    let entries = others
                        .iter()
                        .map(|s| (s.record.to_string(), (s.directory, s.dag_size)))
                        .collect();
                    conflict_updates
                        .entry(site.clone())
                        .or_default()
                        .insert(id.clone(), entries);
                    self.summary.conflicts.push(Conflict {
                        site: site.clone(),
                        id,
                        winner: winner.record,
                        others: others.iter().map(|s| s.record).collect(),
                    });
                }
            }
            if site_updates.is_empty() {
                continue;
            }
            let (cid, size, _) = self.update(site_dir.as_ref(), site_updates, &mut replaced)?;
            root_updates.insert(site, (cid, size));
        }
        if !conflict_updates.is_empty() {
            let conflicts_dir = self.base_entry(base_root.as_ref(), CONFLICTS_DIR)?;
            let mut site_entries = BTreeMap::new();
            for (site, ids) in conflict_updates {
                let site_dir = match &conflicts_dir {
                    Some(c) => self.base_entry(Some(c), &site)?,
                    None => None,
                };
                let mut id_entries = BTreeMap::new();
                for (id, records) in ids {
                    let id_dir = match &site_dir {
                        Some(s) => self.base_entry(Some(s), &id)?,
                        None => None,
                    };
                    let (cid, size, _) = self.update(id_dir.as_ref(), records, &mut replaced)?;
                    id_entries.insert(id, (cid, size));
                }
                let (cid, size, _) = self.update(site_dir.as_ref(), id_entries, &mut replaced)?;
                site_entries.insert(site, (cid, size));
            }
            let (cid, size, _) =
                self.update(conflicts_dir.as_ref(), site_entries, &mut replaced)?;
            root_updates.insert(CONFLICTS_DIR.to_owned(), (cid, size));
        }
        let root = if root_updates.is_empty() && base_root.is_some() {
            base_root
        } else {
            Some(
                self.update(base_root.as_ref(), root_updates, &mut replaced)?
                    .0,
            )
        };
        let mut summary = self.summary;
        summary.root = root;
        summary.replaced = replaced;
        Ok(summary)
    }

    /// The entry `name` of the base directory `dir`.
    fn base_entry(&mut self, dir: Option<&Cid>, name: &str) -> Result<Option<Cid>, CatalogueError> {
        match (&mut self.base, dir) {
            (Some((src, _)), Some(dir)) => {
                Ok(dir::lookup(&self.profile, src, dir, name)?.map(|x| x.0))
            }
            _ => Ok(None),
        }
    }

    fn update(
        &mut self,
        dir: Option<&Cid>,
        entries: BTreeMap<String, (Cid, u64)>,
        replaced: &mut Vec<Cid>,
    ) -> Result<(Cid, u64, dir::DirKind), CatalogueError> {
        let mut none = crate::sink::MemorySink::new();
        let out = match &mut self.base {
            Some((src, _)) => dir::update(&self.profile, src, dir, entries, self.sink, replaced)?,
            None => dir::update(&self.profile, &mut none, None, entries, self.sink, replaced)?,
        };
        Ok(out)
    }
}

/// The records the base already holds for one video, whose entry at `<site>/<id>` is `entry`:
/// that one, then its conflicts.
fn existing_slots<Src: BlockSource + ?Sized>(
    profile: &Profile,
    src: &mut Src,
    root: Option<&Cid>,
    entry: (Cid, u64),
    site: &str,
    id: &str,
) -> Result<Vec<Slot>, CatalogueError> {
    let mut slots = Vec::new();
    let (directory, dag_size) = entry;
    slots.push(Slot {
        record: record_cid_of(src, &directory)?,
        directory,
        dag_size,
    });
    let mut path = vec![CONFLICTS_DIR, site, id];
    let mut at = root.copied();
    while let (Some(dir), Some(name)) = (at, path.first().copied()) {
        at = dir::lookup(profile, src, &dir, name)?.map(|x| x.0);
        path.remove(0);
    }
    if let Some(conflicts) = at {
        for (_, directory, dag_size) in dir::list(profile, src, &conflicts)? {
            slots.push(Slot {
                record: record_cid_of(src, &directory)?,
                directory,
                dag_size,
            });
        }
    }
    Ok(slots)
}

/// The bytes of `record.cbor` in a per-video directory.
fn record_bytes<Src: BlockSource + ?Sized>(
    src: &mut Src,
    directory: &Cid,
) -> Result<Vec<u8>, CatalogueError> {
    let bad = |reason: &str| CatalogueError::BadVideoDirectory {
        directory: directory.to_string(),
        reason: reason.to_owned(),
    };
    let block = src
        .get(directory)?
        .ok_or(EditError::Missing { cid: *directory })?;
    let node = decode_dir(&block).map_err(|e| bad(e.0))?;
    let link = node
        .links
        .iter()
        .find(|l| l.name == RECORD_FILE_NAME)
        .ok_or_else(|| bad("no record.cbor entry"))?;
    let leaf = src
        .get(&link.cid)?
        .ok_or(EditError::Missing { cid: link.cid })?;
    single_block_file(link.cid.codec(), &leaf)
        .ok_or_else(|| bad("record.cbor is not a one-block file"))
}

fn record_cid_of<Src: BlockSource + ?Sized>(
    src: &mut Src,
    directory: &Cid,
) -> Result<Cid, CatalogueError> {
    Ok(cid_of(
        CidVersion::V1,
        DAG_CBOR,
        &record_bytes(src, directory)?,
    ))
}

/// One video of a catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogueVideo {
    /// The site.
    pub site: String,
    /// The id.
    pub id: String,
    /// Its per-video directory.
    pub directory: Cid,
}

/// Every video at `<site>/<id>` of the catalogue `root` (conflicts aside), in name order.
/// Reads the root and the site directories only.
pub fn videos<Src: BlockSource + ?Sized>(
    profile: &Profile,
    src: &mut Src,
    root: &Cid,
    site: Option<&str>,
) -> Result<Vec<CatalogueVideo>, CatalogueError> {
    let mut out = Vec::new();
    for (name, site_dir, _) in dir::list(profile, src, root)? {
        if name == CONFLICTS_DIR || site.is_some_and(|s| s != name) {
            continue;
        }
        for (id, directory, _) in dir::list(profile, src, &site_dir)? {
            out.push(CatalogueVideo {
                site: name.clone(),
                id,
                directory,
            });
        }
    }
    Ok(out)
}

/// The record of a per-video directory, and its CID.
pub fn read_video_record<Src: BlockSource + ?Sized>(
    src: &mut Src,
    directory: &Cid,
) -> Result<(Cid, Record), CatalogueError> {
    let bytes = record_bytes(src, directory)?;
    let record =
        Record::decode(&bytes).map_err(|e: RecordError| CatalogueError::BadVideoDirectory {
            directory: directory.to_string(),
            reason: e.to_string(),
        })?;
    Ok((cid_of(CidVersion::V1, DAG_CBOR, &bytes), record))
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
