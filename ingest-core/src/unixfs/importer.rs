//! The file importer: bytes in, blocks out, the root CID at the end.
//!
//! [`FileImporter`] is sans-IO: [`FileImporter::push`] takes bytes and [`FileImporter::finish`]
//! returns the root; neither does any I/O of its own (hashing threads aside). Around it sit
//! thin adapters: [`FileImporter::read_from`] and [`import_reader`] pull from any `Read` straight
//! into the chunk buffers, and [`ImportWriter`] is a `std::io::Write`.
//!
//! Memory is flat in the file size: at most `2 × threads + 2` chunk buffers (5 MiB with 2
//! threads and 1 MiB chunks) plus the layout's open nodes (see the private module `layout`).

mod leaves;

use std::io::{self, Read, Write};
use std::num::NonZeroUsize;

use cid::Cid;

use crate::unixfs::block::{encode_leaf, Link, LEAF_HEADROOM, LEAF_TAILROOM};
use crate::unixfs::chunker::Chunker;
use crate::unixfs::layout::BalancedLayout;
use crate::unixfs::profile::Profile;
use crate::unixfs::sink::BlockSink;
use leaves::{Leaf, LeafHasher, WorkerDied};

/// Settings that change how fast an import runs, never its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ImportOptions {
    /// Threads hashing leaves. 1 hashes on the calling thread. Default: the available
    /// parallelism of the machine.
    pub threads: NonZeroUsize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            threads: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
        }
    }
}

/// What an import produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileSummary {
    /// The root CID: what `ipfs add` prints.
    pub root: Cid,
    /// Bytes of content.
    pub file_size: u64,
    /// Bytes of every block of the DAG (the root link's Tsize).
    pub dag_size: u64,
    /// Blocks written to the sink, repeated leaves counted each time.
    pub blocks: u64,
}

/// An import failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Reading the input failed.
    #[error("reading the input failed at byte {offset}")]
    Read {
        /// Bytes read before the failure.
        offset: u64,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The block sink refused a block.
    #[error("storing block {cid} failed")]
    Sink {
        /// The block being stored.
        cid: Cid,
        /// The sink's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A hashing thread stopped unexpectedly (it panicked).
    #[error("a hashing thread stopped unexpectedly")]
    Worker,
}

impl From<WorkerDied> for ImportError {
    fn from(_: WorkerDied) -> Self {
        ImportError::Worker
    }
}

/// Wraps a sink so its errors carry the CID and lose their concrete type.
struct Tracked<'a, S>(&'a mut S);

impl<S: BlockSink> BlockSink for Tracked<'_, S> {
    type Error = ImportError;
    fn put(&mut self, cid: &Cid, block: &[u8]) -> Result<(), ImportError> {
        self.0.put(cid, block).map_err(|e| ImportError::Sink {
            cid: *cid,
            source: Box::new(e),
        })
    }
}

/// Imports one file into a UnixFS DAG under a [`Profile`].
///
/// ```
/// use ingest_core::{FileImporter, HashOnly, Profile};
///
/// let mut importer = FileImporter::new(&Profile::UNIXFS_V0_2015, HashOnly);
/// importer.push(b"hello ")?;
/// importer.push(b"world\n")?;
/// let (summary, _sink) = importer.finish()?;
/// // The same CID as `printf 'hello world\n' | ipfs add`.
/// assert_eq!(summary.root.to_string(), "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o");
/// # Ok::<(), ingest_core::unixfs::ImportError>(())
/// ```
#[derive(Debug)]
pub struct FileImporter<S> {
    profile: Profile,
    chunker: Chunker,
    leaves: LeafHasher,
    layout: BalancedLayout,
    sink: S,
    file_size: u64,
    leaf_blocks: u64,
}

impl<S: BlockSink> FileImporter<S> {
    /// An importer with default [`ImportOptions`].
    pub fn new(profile: &Profile, sink: S) -> Self {
        Self::with_options(profile, ImportOptions::default(), sink)
    }

    /// An importer with explicit options.
    pub fn with_options(profile: &Profile, options: ImportOptions, sink: S) -> Self {
        FileImporter {
            profile: profile.clone(),
            chunker: Chunker::new(profile.chunk_size()),
            leaves: LeafHasher::new(profile, options.threads),
            layout: BalancedLayout::new(profile),
            sink,
            file_size: 0,
            leaf_blocks: 0,
        }
    }

    /// Bytes taken so far.
    pub fn bytes_pushed(&self) -> u64 {
        self.file_size
    }

    /// The sink.
    pub fn sink(&self) -> &S {
        &self.sink
    }

    /// Abandons the file and returns the sink, which keeps the blocks it was already given.
    pub fn into_sink(self) -> S {
        self.sink
    }

    /// Takes the next bytes of the file. Slicing never changes the result.
    pub fn push(&mut self, mut data: &[u8]) -> Result<(), ImportError> {
        while !data.is_empty() {
            let n = self.chunker.fill(data);
            data = &data[n..];
            self.file_size += n as u64;
            self.after_fill()?;
        }
        Ok(())
    }

    /// Reads `reader` to its end, straight into the chunk buffers. Returns the bytes read.
    pub fn read_from<R: Read + ?Sized>(&mut self, reader: &mut R) -> Result<u64, ImportError> {
        let start = self.file_size;
        loop {
            let n = match reader.read(self.chunker.spare()) {
                Ok(0) => return Ok(self.file_size - start),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(ImportError::Read {
                        offset: self.file_size,
                        source,
                    })
                }
            };
            self.chunker.advance(n);
            self.file_size += n as u64;
            self.after_fill()?;
        }
    }

    fn after_fill(&mut self) -> Result<(), ImportError> {
        if let Some(chunk) = self.chunker.take_full() {
            while self.leaves.is_full() {
                let leaf = self.leaves.next(true)?.ok_or(ImportError::Worker)?;
                self.deliver(leaf)?;
            }
            self.leaves.submit(chunk)?;
            // Hand on what is already done, without waiting, to keep the sink busy.
            while let Some(leaf) = self.leaves.next(false)? {
                self.deliver(leaf)?;
            }
        }
        Ok(())
    }

    fn deliver(&mut self, leaf: Leaf) -> Result<(), ImportError> {
        let Leaf {
            buf,
            block,
            cid,
            file_size,
        } = leaf;
        let mut sink = Tracked(&mut self.sink);
        sink.put(&cid, &buf[block.clone()])?;
        self.leaf_blocks += 1;
        let link = Link {
            cid,
            dag_size: block.len() as u64,
        };
        self.layout.push_leaf((link, file_size), &mut sink)?;
        self.chunker.recycle(buf);
        Ok(())
    }

    /// Ends the file: hashes what is left, writes the upper nodes and returns the summary and
    /// the sink. The root is the last block the sink received.
    pub fn finish(mut self) -> Result<(FileSummary, S), ImportError> {
        if let Some(last) = self.chunker.take_last() {
            while self.leaves.is_full() {
                let leaf = self.leaves.next(true)?.ok_or(ImportError::Worker)?;
                self.deliver(leaf)?;
            }
            self.leaves.submit(last)?;
        }
        while let Some(leaf) = self.leaves.next(true)? {
            self.deliver(leaf)?;
        }
        let mut sink = Tracked(&mut self.sink);
        let (root, dag_size) = match self.layout.finish(&mut sink)? {
            Some((link, _)) => (link.cid, link.dag_size),
            None => {
                // An empty file has no chunk: kubo writes an empty leaf.
                let mut buf = [0u8; LEAF_HEADROOM + LEAF_TAILROOM];
                let (range, cid) = encode_leaf(
                    self.profile.raw_leaves(),
                    self.profile.cid_version(),
                    &mut buf,
                    0,
                );
                let block = &buf[range];
                sink.put(&cid, block)?;
                self.leaf_blocks += 1;
                (cid, block.len() as u64)
            }
        };
        let summary = FileSummary {
            root,
            file_size: self.file_size,
            dag_size,
            blocks: self.leaf_blocks + self.layout.nodes,
        };
        Ok((summary, self.sink))
    }
}

/// Imports a file held in memory. A file of at most one chunk (a record, a thumbnail) is
/// encoded directly, without the chunk buffers a streaming import allocates.
pub fn import_bytes<S: BlockSink>(
    profile: &Profile,
    bytes: &[u8],
    mut sink: S,
) -> Result<(FileSummary, S), ImportError> {
    if bytes.is_empty() || bytes.len() > profile.chunk_size() {
        let mut importer = FileImporter::with_options(
            profile,
            ImportOptions {
                threads: NonZeroUsize::MIN,
            },
            sink,
        );
        importer.push(bytes)?;
        return importer.finish();
    }
    // One chunk: the leaf is the root (raw, or a dag-pb leaf wrapped around the bytes).
    let mut buf = vec![0u8; LEAF_HEADROOM + bytes.len() + LEAF_TAILROOM];
    buf[LEAF_HEADROOM..LEAF_HEADROOM + bytes.len()].copy_from_slice(bytes);
    let (range, cid) = encode_leaf(
        profile.raw_leaves(),
        profile.cid_version(),
        &mut buf,
        bytes.len(),
    );
    let block = &buf[range];
    Tracked(&mut sink).put(&cid, block)?;
    let summary = FileSummary {
        root: cid,
        file_size: bytes.len() as u64,
        dag_size: block.len() as u64,
        blocks: 1,
    };
    Ok((summary, sink))
}

/// Imports everything `reader` yields, with default options.
pub fn import_reader<R: Read, S: BlockSink>(
    profile: &Profile,
    mut reader: R,
    sink: S,
) -> Result<(FileSummary, S), ImportError> {
    let mut importer = FileImporter::new(profile, sink);
    importer.read_from(&mut reader)?;
    importer.finish()
}

/// A [`FileImporter`] behind `std::io::Write`: write the file, then call
/// [`ImportWriter::finish`]. Dropping it without `finish` loses the result.
#[derive(Debug)]
pub struct ImportWriter<S> {
    inner: FileImporter<S>,
}

impl<S: BlockSink> ImportWriter<S> {
    /// A writer importing under `profile` into `sink`.
    pub fn new(profile: &Profile, sink: S) -> Self {
        ImportWriter {
            inner: FileImporter::new(profile, sink),
        }
    }

    /// A writer around an importer built with other options.
    pub fn from_importer(inner: FileImporter<S>) -> Self {
        ImportWriter { inner }
    }

    /// Ends the file and returns the summary and the sink.
    pub fn finish(self) -> Result<(FileSummary, S), ImportError> {
        self.inner.finish()
    }
}

impl<S: BlockSink> Write for ImportWriter<S> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.push(buf).map_err(io::Error::other)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
