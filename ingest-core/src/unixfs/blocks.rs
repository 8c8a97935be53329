//! Where existing blocks come from: the one trait every reader of blocks takes.
//!
//! A [`BlockSource`] hands out blocks by CID, each checked against its CID before it is
//! returned. It is implemented by a CAR file ([`crate::car::CarIndex`]), an in-memory store
//! ([`MemorySink`]), a catalogue base, and (feature `http`) the verified block cache, gateways
//! and nodes (`ipfs::Remote`) and "a CAR file or IPFS" (`ipfs::Blocks`). Everything that reads
//! UnixFS out of blocks ([`super::read`], directory edits, catalogue reads, the site) takes one,
//! so the same code reads a local file and the network.
//!
//! A source reports its failures as a [`BlockError`]; what went wrong inside it (an I/O error, a
//! CAR that lies, every gateway failing) is the error's source, for the message, never to be
//! downcast back out.

use cid::Cid;

use crate::unixfs::sink::MemorySink;

/// Where existing blocks come from.
pub trait BlockSource {
    /// The block named `cid`, its bytes checked against the CID; `Ok(None)` if absent.
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError>;

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
    fn will_list(&mut self, dir: &Cid) -> Result<(), BlockError> {
        let _ = dir;
        Ok(())
    }

    /// Says that the caller is about to read the whole UnixFS entity `file`: every block of a
    /// file, or every node (HAMT shard) of a directory, not its entries. A source that fetches
    /// over a network fetches them together here (one stream). The default does nothing. An
    /// error here is not final: the reads that follow report what is missing.
    fn will_read(&mut self, file: &Cid) -> Result<(), BlockError> {
        let _ = file;
        Ok(())
    }

    /// Says that the caller is about to read the blocks `cids`, in any order: a source that
    /// fetches over a network fetches them together here (many requests at once). The default
    /// does nothing. An error here is not final: the reads that follow report what is missing.
    fn prefetch(&mut self, cids: &[Cid]) -> Result<(), BlockError> {
        let _ = cids;
        Ok(())
    }
}

/// A block could not be had from a [`BlockSource`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// The source does not hold the block.
    #[error("block {cid} is missing")]
    Missing {
        /// The block.
        cid: Box<Cid>,
    },
    /// The source failed: I/O, a block that does not match its CID, every endpoint failing.
    #[error("cannot read block {cid}")]
    Read {
        /// The block.
        cid: Box<Cid>,
        /// What the source says went wrong.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl BlockError {
    /// A failure of the source while reading `cid`.
    pub fn read(cid: &Cid, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        BlockError::Read {
            cid: Box::new(*cid),
            source: source.into(),
        }
    }

    /// The block named in the error.
    pub fn cid(&self) -> &Cid {
        match self {
            BlockError::Missing { cid } | BlockError::Read { cid, .. } => cid,
        }
    }
}

/// The block `cid`, or [`BlockError::Missing`].
pub fn need<Src: BlockSource + ?Sized>(src: &mut Src, cid: &Cid) -> Result<Vec<u8>, BlockError> {
    src.get(cid)?.ok_or(BlockError::Missing {
        cid: Box::new(*cid),
    })
}

impl BlockSource for MemorySink {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        Ok(MemorySink::get(self, cid).map(<[u8]>::to_vec))
    }
}

impl<T: BlockSource + ?Sized> BlockSource for &mut T {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        (**self).get(cid)
    }
    fn contains(&mut self, cid: &Cid) -> bool {
        (**self).contains(cid)
    }
    fn will_list(&mut self, dir: &Cid) -> Result<(), BlockError> {
        (**self).will_list(dir)
    }
    fn will_read(&mut self, file: &Cid) -> Result<(), BlockError> {
        (**self).will_read(file)
    }
    fn prefetch(&mut self, cids: &[Cid]) -> Result<(), BlockError> {
        (**self).prefetch(cids)
    }
}

impl<T: BlockSource + ?Sized> BlockSource for Box<T> {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        (**self).get(cid)
    }
    fn contains(&mut self, cid: &Cid) -> bool {
        (**self).contains(cid)
    }
    fn will_list(&mut self, dir: &Cid) -> Result<(), BlockError> {
        (**self).will_list(dir)
    }
    fn will_read(&mut self, file: &Cid) -> Result<(), BlockError> {
        (**self).will_read(file)
    }
    fn prefetch(&mut self, cids: &[Cid]) -> Result<(), BlockError> {
        (**self).prefetch(cids)
    }
}
