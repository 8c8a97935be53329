//! The balanced DAG layout of boxo (`ipld/unixfs/importer/balanced`), built incrementally.
//!
//! boxo grows the tree one level at a time: a root over `max_links` leaves, then, when more data
//! comes, a new root whose first child is the old one and whose next children are filled
//! depth-first, left to right. The result: every leaf at the same depth `d`, the smallest with
//! `max_links^d ≥ chunks`, every node full except along the right edge, and a node with a single
//! child kept whenever it is not the root (175 chunks at 174 links: a root over a node of 174
//! leaves and a node of 1 leaf, 178 blocks). A single chunk is the root itself.
//!
//! Here the same tree comes out of a stack of open nodes, one per level: a link is added to its
//! level, and a level that is already full is first closed into a node, which goes one level up.
//! At the end every open level is closed from the bottom up until one link is left. State is
//! O(depth × max_links) links: at most 3 levels × 1024 links × ~110 bytes ≈ 340 KiB for a
//! 1 TiB file under `unixfs-v1-2025`, 4 × 174 × 110 ≈ 77 KiB under the 256 KiB-chunk profiles.

use crate::unixfs::block::{cid_of, encode_file_node, Link, DAG_PB};
use crate::unixfs::profile::{CidVersion, Profile};
use crate::unixfs::sink::BlockSink;

/// A finished subtree: its link and the file bytes under it.
pub(crate) type Subtree = (Link, u64);

/// Builds the balanced tree above a sequence of leaves.
#[derive(Debug)]
pub(crate) struct BalancedLayout {
    max_links: usize,
    version: CidVersion,
    /// `levels[0]` holds leaves, `levels[i]` nodes of height i, each at most `max_links` long.
    levels: Vec<Vec<Subtree>>,
    /// Reused encoding buffer for internal nodes.
    buf: Vec<u8>,
    /// Internal nodes written so far.
    pub(crate) nodes: u64,
}

impl BalancedLayout {
    pub(crate) fn new(profile: &Profile) -> Self {
        BalancedLayout {
            max_links: profile.max_links(),
            version: profile.cid_version(),
            levels: Vec::new(),
            buf: Vec::new(),
            nodes: 0,
        }
    }

    /// Adds the next leaf; writes every internal node this completes to `sink`.
    pub(crate) fn push_leaf<S: BlockSink>(
        &mut self,
        leaf: Subtree,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        self.push_at(0, leaf, sink)
    }

    fn push_at<S: BlockSink>(
        &mut self,
        level: usize,
        item: Subtree,
        sink: &mut S,
    ) -> Result<(), S::Error> {
        if self.levels.len() == level {
            self.levels.push(Vec::with_capacity(self.max_links));
        }
        if self.levels[level].len() == self.max_links {
            self.close(level, sink)?;
        }
        self.levels[level].push(item);
        Ok(())
    }

    /// Turns the open node at `level` into a block and adds its link one level up.
    fn close<S: BlockSink>(&mut self, level: usize, sink: &mut S) -> Result<(), S::Error> {
        let children = std::mem::take(&mut self.levels[level]);
        encode_file_node(&mut self.buf, &children);
        let cid = cid_of(self.version, DAG_PB, &self.buf);
        sink.put(&cid, &self.buf)?;
        self.nodes += 1;
        let dag_size =
            self.buf.len() as u64 + children.iter().map(|(l, _)| l.dag_size).sum::<u64>();
        let file_size = children.iter().map(|(_, s)| s).sum();
        // Reuse the allocation for the next node of this level.
        let mut children = children;
        children.clear();
        self.levels[level] = children;
        self.push_at(level + 1, (Link { cid, dag_size }, file_size), sink)
    }

    /// Closes every open node and returns the root, or `None` if no leaf was pushed.
    pub(crate) fn finish<S: BlockSink>(
        &mut self,
        sink: &mut S,
    ) -> Result<Option<Subtree>, S::Error> {
        let mut level = 0;
        while level < self.levels.len() {
            let top = level + 1 == self.levels.len();
            if top && self.levels[level].len() == 1 {
                return Ok(self.levels[level].pop());
            }
            if !self.levels[level].is_empty() {
                self.close(level, sink)?;
            }
            level += 1;
        }
        Ok(None)
    }
}
