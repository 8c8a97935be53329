//! [`CarReader`]: the blocks of an untrusted CARv1, in order, each checked against its CID.

use std::io::Read;

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
        let Some(head) = self.frames.next_head()? else {
            return Ok(None);
        };
        let mut block = Vec::new();
        self.frames.read_block(&head, &mut block)?;
        if !block_matches(&head.cid, &block) {
            return Err(CarError::HashMismatch {
                cid: head.cid,
                offset: head.start,
            });
        }
        Ok(Some((head.cid, block)))
    }
}

impl<R: Read> Iterator for CarReader<R> {
    type Item = Result<(Cid, Vec<u8>), CarError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_block().transpose()
    }
}
