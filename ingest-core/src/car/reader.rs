//! [`CarReader`]: the blocks of an untrusted CARv1, in order, each checked against its CID.

use std::io::Read;
use std::num::NonZeroUsize;
use std::sync::mpsc::sync_channel;
use std::sync::{Mutex, PoisonError};

use cid::Cid;

use super::{block_matches, CarError, Frames};

/// Reads a CARv1 from an untrusted source, checking every block's hash.
#[derive(Debug)]
pub struct CarReader<R> {
    frames: Frames<R>,
}

impl<R: Read> CarReader<R> {
    /// Reads and checks the header.
    pub fn new(input: R) -> Result<Self, CarError> {
        Ok(CarReader {
            frames: Frames::new(input)?,
        })
    }

    /// The roots named in the header.
    pub fn roots(&self) -> &[Cid] {
        self.frames.roots()
    }

    /// The next block, checked against its CID; `None` at the end.
    pub fn next_block(&mut self) -> Result<Option<(Cid, Vec<u8>)>, CarError> {
        let mut block = Vec::new();
        Ok(self.next_block_into(&mut block)?.map(|cid| (cid, block)))
    }

    /// The next block into `block` (its bytes replace what it held, its allocation is reused),
    /// checked against its CID; returns the CID, `None` at the end.
    pub fn next_block_into(&mut self, block: &mut Vec<u8>) -> Result<Option<Cid>, CarError> {
        let Some(head) = self.frames.next_head()? else {
            return Ok(None);
        };
        block.clear();
        self.frames.read_block(&head, block)?;
        if !block_matches(&head.cid, block) {
            return Err(CarError::HashMismatch {
                cid: head.cid,
                offset: head.start,
            });
        }
        Ok(Some(head.cid))
    }
}

impl<R: Read> Iterator for CarReader<R> {
    type Item = Result<(Cid, Vec<u8>), CarError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_block().transpose()
    }
}

/// What [`check_car`] found in a whole CAR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarSummary {
    /// The roots named in the header.
    pub roots: Vec<Cid>,
    /// Blocks (frames) read.
    pub blocks: u64,
    /// Bytes of the CAR.
    pub bytes: u64,
}

/// Reads a whole CARv1 from an untrusted source and checks every block against its CID, hashing
/// on `threads` threads while this one reads. The first bad block (by position) is the error.
/// Memory: a few blocks per thread.
pub fn check_car<R: Read>(input: R, threads: NonZeroUsize) -> Result<CarSummary, CarError> {
    let mut frames = Frames::new(input)?;
    let roots = frames.roots().to_vec();
    let (tx, rx) = sync_channel::<(Cid, u64, Vec<u8>)>(2 * threads.get());
    let rx = Mutex::new(rx);
    // The bad block that comes first in the CAR, once any is found.
    let bad: Mutex<Option<(Cid, u64)>> = Mutex::new(None);
    let read = std::thread::scope(|s| {
        for _ in 0..threads.get() {
            s.spawn(|| loop {
                let job = rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                let Ok((cid, offset, block)) = job else { break };
                if !block_matches(&cid, &block) {
                    let mut bad = bad.lock().unwrap_or_else(PoisonError::into_inner);
                    if bad.is_none_or(|(_, first)| offset < first) {
                        *bad = Some((cid, offset));
                    }
                }
            });
        }
        let mut blocks = 0u64;
        let mut end = frames.offset();
        let result = loop {
            let head = match frames.next_head() {
                Ok(Some(head)) => head,
                Ok(None) => break Ok((blocks, end)),
                Err(e) => break Err(e),
            };
            let mut block = Vec::new();
            if let Err(e) = frames.read_block(&head, &mut block) {
                break Err(e);
            }
            blocks += 1;
            end = head.end();
            if bad.lock().unwrap_or_else(PoisonError::into_inner).is_some()
                || tx.send((head.cid, head.start, block)).is_err()
            {
                break Ok((blocks, end));
            }
        };
        drop(tx);
        result
    });
    if let Some((cid, offset)) = bad.into_inner().unwrap_or_else(PoisonError::into_inner) {
        return Err(CarError::HashMismatch { cid, offset });
    }
    let (blocks, bytes) = read?;
    Ok(CarSummary {
        roots,
        blocks,
        bytes,
    })
}
