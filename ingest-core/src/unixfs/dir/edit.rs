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
use crate::unixfs::block::{PbDir, UnixFsType};
use crate::unixfs::blocks::{BlockError, BlockSource};
use crate::unixfs::profile::Profile;
use crate::unixfs::read::read_dir;
use crate::unixfs::sink::BlockSink;

/// Checks that the source holds every block `node` (block `cid`) links to.
pub(crate) fn check_links<Src: BlockSource + ?Sized>(
    src: &mut Src,
    node: &PbDir,
) -> Result<(), EditError> {
    match node.links.iter().find(|l| !src.contains(&l.cid)) {
        Some(l) => Err(BlockError::Missing {
            cid: Box::new(l.cid),
        }
        .into()),
        None => Ok(()),
    }
}

/// An existing directory could not be read or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// A block is not a UnixFS directory this profile could have made.
    #[error("block {cid} is not a UnixFS directory: {reason}")]
    NotADirectory {
        /// The block.
        cid: Cid,
        /// What is wrong.
        reason: &'static str,
    },
    /// The source did not give a block (it lacks it, or failed).
    #[error(transparent)]
    Block(#[from] BlockError),
    /// Building a directory failed.
    #[error(transparent)]
    Dir(#[from] DirError),
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
    use crate::unixfs::read::{list, lookup, lookup_many};
    use crate::unixfs::sink::MemorySink;
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
