//! Leaf hashing on all cores with a deterministic output order.
//!
//! Leaves are independent, so each full chunk goes to a worker thread that wraps it (dag-pb
//! leaves) and hashes it, while the driving thread keeps reading. Results come back tagged with
//! their sequence number and leave in order, so the DAG and the order of blocks in the sink are
//! the same whatever the thread count and whatever thread finished first.
//!
//! Work is dealt round-robin: chunks are all the same size, so the workers stay even. At most
//! `2 × workers + 1` chunks are in flight: with 2 workers and 1 MiB chunks that is 5 MiB of
//! buffers, whatever the size of the file. Threads start only when a second chunk arrives, so a
//! small file (the common case in a directory) is hashed on the calling thread with no thread
//! spawned.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use cid::Cid;

use crate::block::{cid_of, wrap_file_leaf, DAG_PB, LEAF_HEADROOM, RAW};
use crate::chunker::ChunkBuf;
use crate::profile::{CidVersion, Profile};

/// A hashed leaf: its block is `buf[block]`.
#[derive(Debug)]
pub(super) struct Leaf {
    pub(super) buf: Vec<u8>,
    pub(super) block: Range<usize>,
    pub(super) cid: Cid,
    pub(super) file_size: u64,
}

/// What a leaf depends on in the profile.
#[derive(Clone, Copy, Debug)]
struct LeafKind {
    raw: bool,
    version: CidVersion,
}

impl LeafKind {
    fn make(self, chunk: ChunkBuf) -> Leaf {
        let ChunkBuf { mut buf, len } = chunk;
        let (block, cid) = if self.raw {
            // kubo names raw leaves with CIDv1 even when the rest of the DAG is CIDv0.
            let block = LEAF_HEADROOM..LEAF_HEADROOM + len;
            let cid = cid_of(CidVersion::V1, RAW, &buf[block.clone()]);
            (block, cid)
        } else {
            let block = wrap_file_leaf(&mut buf, len);
            let cid = cid_of(self.version, DAG_PB, &buf[block.clone()]);
            (block, cid)
        };
        Leaf {
            buf,
            block,
            cid,
            file_size: len as u64,
        }
    }
}

/// A worker thread stopped without being asked to: it panicked.
#[derive(Debug)]
pub(super) struct WorkerDied;

/// Turns chunks into leaves, in order.
#[derive(Debug)]
pub(super) struct LeafHasher {
    kind: LeafKind,
    threads: usize,
    /// The first chunk, held back until we know whether a pool is worth starting.
    held: Option<ChunkBuf>,
    /// Leaves hashed on this thread, waiting to be taken.
    ready: Option<Leaf>,
    pool: Option<Pool>,
}

impl LeafHasher {
    pub(super) fn new(profile: &Profile, threads: NonZeroUsize) -> Self {
        LeafHasher {
            kind: LeafKind {
                raw: profile.raw_leaves(),
                version: profile.cid_version(),
            },
            threads: threads.get(),
            held: None,
            ready: None,
            pool: None,
        }
    }

    /// Whether the caller must take a leaf (with `next(true)`) before submitting another chunk.
    pub(super) fn is_full(&self) -> bool {
        self.ready.is_some() || self.pool.as_ref().is_some_and(Pool::is_full)
    }

    /// Queues a chunk. Call only when [`LeafHasher::is_full`] is false.
    pub(super) fn submit(&mut self, chunk: ChunkBuf) -> Result<(), WorkerDied> {
        if let Some(pool) = &mut self.pool {
            return pool.submit(chunk);
        }
        if self.threads == 1 {
            self.ready = Some(self.kind.make(chunk));
            return Ok(());
        }
        match self.held.take() {
            None => self.held = Some(chunk),
            Some(first) => {
                let mut pool = Pool::start(self.kind, self.threads);
                pool.submit(first)?;
                pool.submit(chunk)?;
                self.pool = Some(pool);
            }
        }
        Ok(())
    }

    /// The next leaf in order: waits for it if `wait`, else only if it is already done.
    /// `None` when no chunk is outstanding (or, without `wait`, none is finished yet).
    pub(super) fn next(&mut self, wait: bool) -> Result<Option<Leaf>, WorkerDied> {
        if let Some(leaf) = self.ready.take() {
            return Ok(Some(leaf));
        }
        if let Some(pool) = &mut self.pool {
            return pool.next(wait);
        }
        if wait {
            // Only a held chunk is outstanding: a one-chunk file, hashed right here.
            return Ok(self.held.take().map(|c| self.kind.make(c)));
        }
        Ok(None)
    }
}

type Job = (u64, ChunkBuf);

#[derive(Debug)]
struct Pool {
    jobs: Vec<Sender<Job>>,
    results: Receiver<(u64, Leaf)>,
    handles: Vec<JoinHandle<()>>,
    next_seq: u64,
    next_out: u64,
    /// Leaves that finished ahead of an earlier one.
    early: BTreeMap<u64, Leaf>,
}

impl Pool {
    fn start(kind: LeafKind, threads: usize) -> Pool {
        let (done_tx, results) = mpsc::channel();
        let mut jobs = Vec::with_capacity(threads);
        let mut handles = Vec::with_capacity(threads);
        for i in 0..threads {
            let (tx, rx) = mpsc::channel::<Job>();
            let done = done_tx.clone();
            let handle = std::thread::Builder::new()
                .name(format!("ingest-leaf-{i}"))
                .spawn(move || {
                    for (seq, chunk) in rx {
                        if done.send((seq, kind.make(chunk))).is_err() {
                            break;
                        }
                    }
                })
                .expect("spawning a hashing thread");
            jobs.push(tx);
            handles.push(handle);
        }
        Pool {
            jobs,
            results,
            handles,
            next_seq: 0,
            next_out: 0,
            early: BTreeMap::new(),
        }
    }

    fn is_full(&self) -> bool {
        (self.next_seq - self.next_out) as usize > 2 * self.jobs.len()
    }

    fn submit(&mut self, chunk: ChunkBuf) -> Result<(), WorkerDied> {
        let worker = (self.next_seq % self.jobs.len() as u64) as usize;
        self.jobs[worker]
            .send((self.next_seq, chunk))
            .map_err(|_| WorkerDied)?;
        self.next_seq += 1;
        Ok(())
    }

    fn next(&mut self, wait: bool) -> Result<Option<Leaf>, WorkerDied> {
        loop {
            if let Some(leaf) = self.early.remove(&self.next_out) {
                self.next_out += 1;
                return Ok(Some(leaf));
            }
            if self.next_out == self.next_seq {
                return Ok(None);
            }
            let (seq, leaf) = if wait {
                match self.results.recv_timeout(Duration::from_millis(200)) {
                    Ok(r) => r,
                    Err(RecvTimeoutError::Timeout) => {
                        // A panicked worker never answers: notice it rather than wait forever.
                        if self.handles.iter().any(|h| h.is_finished()) {
                            return Err(WorkerDied);
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => return Err(WorkerDied),
                }
            } else {
                match self.results.try_recv() {
                    Ok(r) => r,
                    Err(mpsc::TryRecvError::Empty) => return Ok(None),
                    Err(mpsc::TryRecvError::Disconnected) => return Err(WorkerDied),
                }
            };
            self.early.insert(seq, leaf);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the job channels ends the workers' loops.
        self.jobs.clear();
        for handle in self.handles.drain(..) {
            let _ = handle.join();
        }
    }
}
