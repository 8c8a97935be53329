//! Where blocks go: the [`BlockSink`] trait and ready-made sinks.
//!
//! Importers push every block they make into a sink, in a fixed order: children before their
//! parents, leaves in file order, the root last. A sink only borrows each block, so a hash-only
//! run ([`HashOnly`]) never copies a chunk. The CARv1 writer is [`crate::CarWriter`].

use std::collections::HashMap;
use std::convert::Infallible;

use cid::Cid;

/// Receives the blocks of an import.
///
/// Contract:
/// - [`BlockSink::put`] is called once per block made, children before parents, and the root
///   block last. The same block may be put more than once (a file of repeated chunks makes
///   identical leaves); a sink that stores blocks should keep one copy.
/// - An error from `put` stops the import at once and comes back to the caller as
///   [`crate::unixfs::ImportError::Sink`]; the sink is not called again.
/// - Calls come from the thread that drives the importer, so a sink need not be `Send`.
pub trait BlockSink {
    /// What a failed `put` reports.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Takes one block and its CID.
    fn put(&mut self, cid: &Cid, block: &[u8]) -> Result<(), Self::Error>;
}

impl<S: BlockSink + ?Sized> BlockSink for &mut S {
    type Error = S::Error;
    fn put(&mut self, cid: &Cid, block: &[u8]) -> Result<(), Self::Error> {
        (**self).put(cid, block)
    }
}

impl<S: BlockSink + ?Sized> BlockSink for Box<S> {
    type Error = S::Error;
    fn put(&mut self, cid: &Cid, block: &[u8]) -> Result<(), Self::Error> {
        (**self).put(cid, block)
    }
}

/// `Some(sink)` passes every block on; `None` drops them, as [`HashOnly`] does (an output the
/// caller may leave out).
impl<S: BlockSink> BlockSink for Option<S> {
    type Error = S::Error;
    fn put(&mut self, cid: &Cid, block: &[u8]) -> Result<(), Self::Error> {
        match self {
            Some(sink) => sink.put(cid, block),
            None => Ok(()),
        }
    }
}

/// Drops every block: computes CIDs only, like `ipfs add --only-hash`.
#[derive(Clone, Copy, Debug, Default)]
pub struct HashOnly;

impl BlockSink for HashOnly {
    type Error = Infallible;
    fn put(&mut self, _: &Cid, _: &[u8]) -> Result<(), Infallible> {
        Ok(())
    }
}

/// Keeps every distinct block in memory, in the order first seen. For tests, small imports and
/// tools that post-process a DAG; memory grows with the data.
#[derive(Clone, Debug, Default)]
pub struct MemorySink {
    index: HashMap<Cid, usize>,
    blocks: Vec<(Cid, Vec<u8>)>,
}

impl MemorySink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }
    /// The block named `cid`, if it was put.
    pub fn get(&self, cid: &Cid) -> Option<&[u8]> {
        self.index.get(cid).map(|&i| self.blocks[i].1.as_slice())
    }
    /// Distinct blocks, in the order first put.
    pub fn blocks(&self) -> impl ExactSizeIterator<Item = (&Cid, &[u8])> {
        self.blocks.iter().map(|(c, b)| (c, b.as_slice()))
    }
    /// Number of distinct blocks.
    pub fn len(&self) -> usize {
        self.blocks.len()
    }
    /// Whether no block was put.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

impl BlockSink for MemorySink {
    type Error = Infallible;
    fn put(&mut self, cid: &Cid, block: &[u8]) -> Result<(), Infallible> {
        if !self.index.contains_key(cid) {
            self.index.insert(*cid, self.blocks.len());
            self.blocks.push((*cid, block.to_vec()));
        }
        Ok(())
    }
}

/// Counts blocks and bytes without keeping them: the number of blocks put, and of distinct CIDs.
#[derive(Clone, Debug, Default)]
pub struct CountingSink {
    seen: std::collections::HashSet<Cid>,
    /// Blocks put, duplicates included.
    pub blocks: u64,
    /// Bytes put, duplicates included.
    pub bytes: u64,
}

impl CountingSink {
    /// Number of distinct blocks put.
    pub fn distinct(&self) -> usize {
        self.seen.len()
    }
}

impl BlockSink for CountingSink {
    type Error = Infallible;
    fn put(&mut self, cid: &Cid, block: &[u8]) -> Result<(), Infallible> {
        self.seen.insert(*cid);
        self.blocks += 1;
        self.bytes += block.len() as u64;
        Ok(())
    }
}
