//! Editing directories that already exist as blocks: look up one entry, list them all, or set
//! entries, reading only the nodes on the paths involved.
//!
//! A flat directory is read whole and rebuilt with its new entries (it is at most 256 KiB, and it
//! may cross the HAMT threshold while growing). A HAMT is edited by path copying (see
//! [`super::hamt`]): only the shards on the paths of the new names are read and rewritten, and
//! the result is the same tree a full build of the whole new set of entries gives, because that
//! tree depends only on the set.

use std::collections::BTreeMap;

use cid::Cid;

use super::{hamt, DirBuilder, DirError, DirKind, Entry};
use crate::unixfs::block::{decode_dir, PbDir, UnixFsType};
use crate::unixfs::profile::Profile;
use crate::unixfs::sink::{BlockSink, MemorySink};

/// Where existing blocks come from.
pub trait BlockSource {
    /// The block named `cid`, its bytes checked against the CID; `Ok(None)` if absent.
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, EditError>;

    /// Whether the source holds `cid`, without reading it. Editing a directory checks that
    /// every block the nodes it rewrites link to is there, so a new tree never links a block
    /// its source lacked. The default says yes: a source of directories whose entries live
    /// elsewhere (files that are not on this machine) cannot tell, and does not check. A
    /// catalogue's sources, which hold every directory, answer for real.
    fn contains(&mut self, cid: &Cid) -> bool {
        let _ = cid;
        true
    }

    /// Says that the caller is about to read every node of the directory `dir` (each shard of
    /// a HAMT): a source that fetches blocks over a network fetches them together here rather
    /// than one request at a time. The default does nothing.
    fn will_list(&mut self, dir: &Cid) -> Result<(), EditError> {
        let _ = dir;
        Ok(())
    }

    /// Says that the caller is about to read the blocks `cids`, in any order: a source that
    /// fetches over a network fetches them together here (many requests at once). The default
    /// does nothing. An error here is not final: the reads that follow report what is missing.
    fn prefetch(&mut self, cids: &[Cid]) -> Result<(), EditError> {
        let _ = cids;
        Ok(())
    }
}

impl BlockSource for MemorySink {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, EditError> {
        Ok(MemorySink::get(self, cid).map(<[u8]>::to_vec))
    }
}

impl<T: BlockSource + ?Sized> BlockSource for &mut T {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, EditError> {
        (**self).get(cid)
    }
    fn contains(&mut self, cid: &Cid) -> bool {
        (**self).contains(cid)
    }
    fn will_list(&mut self, dir: &Cid) -> Result<(), EditError> {
        (**self).will_list(dir)
    }
    fn prefetch(&mut self, cids: &[Cid]) -> Result<(), EditError> {
        (**self).prefetch(cids)
    }
}

/// Checks that the source holds every block `node` (block `cid`) links to.
pub(crate) fn check_links<Src: BlockSource + ?Sized>(
    src: &mut Src,
    node: &PbDir,
) -> Result<(), EditError> {
    match node.links.iter().find(|l| !src.contains(&l.cid)) {
        Some(l) => Err(EditError::Missing { cid: l.cid }),
        None => Ok(()),
    }
}

/// An existing directory could not be read or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// A block the directory links to is not in the source.
    #[error("block {cid} is missing")]
    Missing {
        /// The block.
        cid: Cid,
    },
    /// A block is not a UnixFS directory this profile could have made.
    #[error("block {cid} is not a UnixFS directory: {reason}")]
    NotADirectory {
        /// The block.
        cid: Cid,
        /// What is wrong.
        reason: &'static str,
    },
    /// The source failed (I/O, or a block that does not match its CID).
    #[error("reading block {cid} failed")]
    Source {
        /// The block.
        cid: Cid,
        /// The source's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Building a directory failed.
    #[error(transparent)]
    Dir(#[from] DirError),
}

/// Reads and decodes the directory node `cid`.
pub(crate) fn read_dir<Src: BlockSource + ?Sized>(
    src: &mut Src,
    cid: &Cid,
) -> Result<PbDir, EditError> {
    let block = src.get(cid)?.ok_or(EditError::Missing { cid: *cid })?;
    decode_dir(&block).map_err(|e| EditError::NotADirectory {
        cid: *cid,
        reason: e.0,
    })
}

/// The entry `name` of the directory `dir`, if it has one.
pub fn lookup<Src: BlockSource + ?Sized>(
    src: &mut Src,
    dir: &Cid,
    name: &str,
) -> Result<Option<(Cid, u64)>, EditError> {
    let node = read_dir(src, dir)?;
    if node.kind == UnixFsType::HamtShard {
        return hamt::lookup(src, node, dir, name);
    }
    Ok(node
        .links
        .into_iter()
        .find(|l| l.name == name)
        .map(|l| (l.cid, l.dag_size)))
}

/// The entries `names` of the directory `dir` (each `None` if absent), reading every node on
/// their paths once.
pub fn lookup_many<Src: BlockSource + ?Sized>(
    src: &mut Src,
    dir: &Cid,
    names: &[&str],
) -> Result<Vec<Option<(Cid, u64)>>, EditError> {
    let node = read_dir(src, dir)?;
    if node.kind == UnixFsType::HamtShard {
        return hamt::lookup_many(src, dir, names);
    }
    let links: std::collections::HashMap<&str, (Cid, u64)> = node
        .links
        .iter()
        .map(|l| (l.name.as_str(), (l.cid, l.dag_size)))
        .collect();
    Ok(names.iter().map(|n| links.get(n).copied()).collect())
}

/// Every entry of the directory `dir`: (name, CID, dag size), in name order.
pub fn list<Src: BlockSource + ?Sized>(
    src: &mut Src,
    dir: &Cid,
) -> Result<Vec<(String, Cid, u64)>, EditError> {
    src.will_list(dir)?;
    let node = read_dir(src, dir)?;
    let mut out = Vec::new();
    if node.kind == UnixFsType::HamtShard {
        hamt::list(src, dir, &mut out)?;
        out.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    } else {
        out = node
            .links
            .into_iter()
            .map(|l| (l.name, l.cid, l.dag_size))
            .collect();
    }
    Ok(out)
}

/// Sets `entries` (name → CID and dag size; new names are added, existing ones replaced) in the
/// directory `dir` (`None`: an empty one), writing the new nodes to `sink`. Every node read and
/// replaced is pushed to `replaced`. Returns the new directory's CID, dag size and kind.
pub fn update<S: BlockSink + ?Sized, Src: BlockSource + ?Sized>(
    profile: &Profile,
    src: &mut Src,
    dir: Option<&Cid>,
    entries: BTreeMap<String, (Cid, u64)>,
    sink: &mut S,
    replaced: &mut Vec<Cid>,
) -> Result<(Cid, u64, DirKind), EditError> {
    let entries: Vec<Entry> = entries
        .into_iter()
        .map(|(name, (cid, dag_size))| Entry {
            name: name.into(),
            cid,
            dag_size,
        })
        .collect();
    let node = match dir {
        Some(cid) => Some((cid, read_dir(src, cid)?)),
        None => None,
    };
    if let Some((cid, node)) = &node {
        if node.kind == UnixFsType::HamtShard {
            let (root, dag_size, _) = hamt::update(profile, src, cid, entries, sink, replaced)?;
            return Ok((root, dag_size, DirKind::Hamt));
        }
    }
    // Flat (or new): the old entries, then the new ones over them.
    let mut all: BTreeMap<String, (Cid, u64)> = BTreeMap::new();
    if let Some((cid, node)) = node {
        check_links(src, &node)?;
        replaced.push(*cid);
        for l in node.links {
            all.insert(l.name, (l.cid, l.dag_size));
        }
    }
    for e in entries {
        all.insert(e.name.into(), (e.cid, e.dag_size));
    }
    let mut builder = DirBuilder::new(profile);
    for (name, (cid, dag_size)) in all {
        builder.add(&name, cid, dag_size)?;
    }
    let summary = builder.finish(sink)?;
    Ok((summary.root, summary.dag_size, summary.kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::block::{cid_of, RAW};
    use crate::unixfs::profile::CidVersion;
    use proptest::prelude::*;

    fn entries(names: impl IntoIterator<Item = String>) -> BTreeMap<String, (Cid, u64)> {
        names
            .into_iter()
            .map(|n| {
                let cid = cid_of(CidVersion::V1, RAW, n.as_bytes());
                (n, (cid, 7))
            })
            .collect()
    }

    /// A directory built in one go.
    fn full(profile: &Profile, all: &BTreeMap<String, (Cid, u64)>) -> Cid {
        let mut sink = MemorySink::new();
        update(
            profile,
            &mut MemorySink::new(),
            None,
            all.clone(),
            &mut sink,
            &mut Vec::new(),
        )
        .unwrap()
        .0
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(12))]

        /// Adding entries to an existing directory, flat or sharded, in one or two steps, gives
        /// the directory a full build of the union gives; lookups find every entry.
        #[test]
        fn editing_equals_building(first in 0usize..7000, second in 0usize..3000, profile in 0usize..3, replace in any::<bool>()) {
            let profile = &Profile::PRESETS[profile];
            let a = entries((0..first).map(|i| format!("video-{i:07}")));
            let mut b = entries((0..second).map(|i| format!("new-{i:05}")));
            if replace && first > 0 {
                // A new CID for an existing name.
                b.insert("video-0000000".into(), (cid_of(CidVersion::V1, RAW, b"other"), 9));
            }
            let mut store = MemorySink::new();
            let (base, _, _) = update(profile, &mut MemorySink::new(), None, a.clone(), &mut store, &mut Vec::new()).unwrap();
            let mut replaced = Vec::new();
            let mut out = MemorySink::new();
            let (edited, _, _) = update(profile, &mut store.clone(), Some(&base), b.clone(), &mut out, &mut replaced).unwrap();
            let mut union = a.clone();
            union.extend(b.clone());
            prop_assert_eq!(edited, full(profile, &union));
            // Lookups through the edited tree (new blocks first, then the base's).
            for (block_cid, bytes) in out.blocks() {
                store.put(block_cid, bytes).unwrap();
            }
            let names = ["video-0000000", "video-0006999", "new-00000", "new-02999", "absent"];
            let many = lookup_many(&mut store, &edited, &names).unwrap();
            for (name, found_many) in names.iter().zip(many) {
                let found = lookup(&mut store, &edited, name).unwrap();
                prop_assert_eq!(found, union.get(*name).copied(), "{}", name);
                prop_assert_eq!(found_many, found, "{}", name);
            }
            if first + second < 9000 {
                let listed = list(&mut store, &edited).unwrap();
                prop_assert_eq!(listed.len(), union.len());
            }
        }
    }
}
