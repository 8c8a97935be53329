//! [`Merge`]: records in, the catalogue's changed directories out.

use std::collections::BTreeMap;

use cid::Cid;

use super::read::record_cid_at;
use super::{CatalogueError, Conflict, MergeSummary, Rejected, CONFLICTS_DIR};
use crate::archive::Record;
use crate::unixfs::blocks::{BlockError, BlockSource};
use crate::unixfs::dir::update;
use crate::unixfs::read as dir;
use crate::unixfs::{BlockSink, MemorySink, Profile};

/// A change to one entry of a directory: set it, or change the directory it names.
enum Update {
    /// The entry becomes this CID and dag size.
    Set(Cid, u64),
    /// The entry is a directory (the base's, or a new one) with these changes, in order.
    Dir(Updates),
}

/// Changes to the entries of one directory, in the order they are applied.
type Updates = Vec<(String, Update)>;

/// A record's place in the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    record: Cid,
    directory: Cid,
    dag_size: u64,
}

/// A block source that remembers the blocks it returned: a merge reads the root and the first
/// shards of a site's HAMT once per new id, and then again to rewrite them. At most the blocks a
/// merge reads are kept (about 50,000, 60 MB, for 10,000 new ids onto a million).
struct Cached<'a, Src: ?Sized> {
    inner: &'a mut Src,
    blocks: std::collections::HashMap<Cid, std::rc::Rc<Vec<u8>>>,
    /// Blocks read from `inner`.
    misses: u64,
}

impl<Src: BlockSource + ?Sized> BlockSource for Cached<'_, Src> {
    fn contains(&mut self, cid: &Cid) -> bool {
        self.blocks.contains_key(cid) || self.inner.contains(cid)
    }

    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        if let Some(block) = self.blocks.get(cid) {
            return Ok(Some(block.as_ref().clone()));
        }
        let block = self.inner.get(cid)?;
        if let Some(b) = &block {
            self.misses += 1;
            self.blocks.insert(*cid, std::rc::Rc::new(b.clone()));
        }
        Ok(block)
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
                        misses: 0,
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
    ///
    /// First every touched video's records are gathered (the base's, read on the paths of the
    /// new ids, and the new ones); then the changes form one tree of updates,
    /// `<site>/<id>` and `_conflicts/<site>/<id>/<record>`, applied by one walk that rewrites
    /// each changed directory once, children before parents.
    pub fn finish(mut self) -> Result<MergeSummary, CatalogueError> {
        let base_root = self.base.as_ref().map(|(_, root)| *root);
        let mut sites = Vec::new();
        let mut conflicts = Vec::new();
        let videos = std::mem::take(&mut self.videos);
        for (site, ids) in videos {
            let (winners, losers) = self.resolve(base_root.as_ref(), &site, ids)?;
            if !winners.is_empty() {
                sites.push((site.clone(), Update::Dir(winners)));
            }
            if !losers.is_empty() {
                conflicts.push((site, Update::Dir(losers)));
            }
        }
        // Sites first, then `_conflicts`: the order catalogues have always been written in.
        let mut root_updates = sites;
        if !conflicts.is_empty() {
            root_updates.push((CONFLICTS_DIR.to_owned(), Update::Dir(conflicts)));
        }
        let mut replaced = Vec::new();
        let root = if root_updates.is_empty() && base_root.is_some() {
            base_root
        } else {
            Some(self.apply(base_root, root_updates, &mut replaced)?.0)
        };
        let mut summary = self.summary;
        summary.root = root;
        summary.replaced = replaced;
        summary.blocks_read = self.base.map_or(0, |(src, _)| src.misses);
        Ok(summary)
    }

    /// Decides each video of `site`: its winner (entries of `<site>/`) and, when it has more
    /// than one record, the others (entries of `_conflicts/<site>/`, one directory per id).
    /// Videos whose set of records did not change are left out.
    fn resolve(
        &mut self,
        base_root: Option<&Cid>,
        site: &str,
        ids: BTreeMap<String, Vec<Slot>>,
    ) -> Result<(Updates, Updates), CatalogueError> {
        let site_dir = self.base_entry(base_root, site)?;
        // Which ids the base has already: one walk of the site's directory for all of them.
        let present = match (&mut self.base, &site_dir) {
            (Some((src, _)), Some(site_dir)) => {
                let names: Vec<&str> = ids.keys().map(String::as_str).collect();
                dir::lookup_many(src, site_dir, &names)?
            }
            _ => vec![None; ids.len()],
        };
        let (mut winners, mut losers) = (Vec::new(), Vec::new());
        for ((id, new), present) in ids.into_iter().zip(present) {
            let mut all: BTreeMap<Vec<u8>, Slot> = BTreeMap::new();
            if let (Some((src, _)), Some(entry)) = (&mut self.base, present) {
                for slot in existing_slots(src, base_root, entry, site, &id)? {
                    all.insert(slot.record.to_bytes(), slot);
                }
            }
            let before = all.len();
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
            // The smallest record CID (as bytes) wins.
            let mut slots = all.into_values();
            let winner = slots.next().expect("at least one record");
            let others: Vec<Slot> = slots.collect();
            winners.push((id.clone(), Update::Set(winner.directory, winner.dag_size)));
            if !others.is_empty() {
                let entries = others
                    .iter()
                    .map(|s| (s.record.to_string(), Update::Set(s.directory, s.dag_size)))
                    .collect();
                losers.push((id.clone(), Update::Dir(entries)));
                self.summary.conflicts.push(Conflict {
                    site: site.to_owned(),
                    id,
                    winner: winner.record,
                    others: others.iter().map(|s| s.record).collect(),
                });
            }
        }
        Ok((winners, losers))
    }

    /// Applies `updates` to the base directory `dir` (`None`: a new one): each sub-tree to the
    /// base's entry of that name first, then this directory once. Returns the new CID and dag
    /// size. The depth is that of the update tree, at most 4 (`_conflicts/<site>/<id>/<record>`).
    fn apply(
        &mut self,
        dir: Option<Cid>,
        updates: Updates,
        replaced: &mut Vec<Cid>,
    ) -> Result<(Cid, u64), CatalogueError> {
        let mut entries = BTreeMap::new();
        for (name, update) in updates {
            let entry = match update {
                Update::Set(cid, dag_size) => (cid, dag_size),
                Update::Dir(children) => {
                    let child = self.base_entry(dir.as_ref(), &name)?;
                    self.apply(child, children, replaced)?
                }
            };
            entries.insert(name, entry);
        }
        let mut none = MemorySink::new();
        let (cid, dag_size, _) = match &mut self.base {
            Some((src, _)) => update(
                &self.profile,
                src,
                dir.as_ref(),
                entries,
                self.sink,
                replaced,
            )?,
            None => update(&self.profile, &mut none, None, entries, self.sink, replaced)?,
        };
        Ok((cid, dag_size))
    }

    /// The entry `name` of the base directory `dir`.
    fn base_entry(&mut self, dir: Option<&Cid>, name: &str) -> Result<Option<Cid>, CatalogueError> {
        match (&mut self.base, dir) {
            (Some((src, _)), Some(dir)) => Ok(dir::lookup(src, dir, name)?.map(|x| x.0)),
            _ => Ok(None),
        }
    }
}

/// The records the base already holds for one video, whose entry at `<site>/<id>` is `entry`:
/// that one, then its conflicts.
fn existing_slots<Src: BlockSource + ?Sized>(
    src: &mut Src,
    root: Option<&Cid>,
    entry: (Cid, u64),
    site: &str,
    id: &str,
) -> Result<Vec<Slot>, CatalogueError> {
    let mut slots = Vec::new();
    let (directory, dag_size) = entry;
    slots.push(Slot {
        record: record_cid_at(src, &directory, site, id)?,
        directory,
        dag_size,
    });
    let mut path = vec![CONFLICTS_DIR, site, id];
    let mut at = root.copied();
    while let (Some(dir), Some(name)) = (at, path.first().copied()) {
        at = dir::lookup(src, &dir, name)?.map(|x| x.0);
        path.remove(0);
    }
    if let Some(conflicts) = at {
        for (_, directory, dag_size) in dir::list(src, &conflicts)? {
            slots.push(Slot {
                record: record_cid_at(src, &directory, site, id)?,
                directory,
                dag_size,
            });
        }
    }
    Ok(slots)
}
