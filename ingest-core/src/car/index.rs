//! [`CarIndex`]: random access to the blocks of a CARv1 on disk.

use cid::Cid;

use super::{block_matches, presize, BlockKey, CarError, Frames, KeyMap};
use crate::unixfs::blocks::{BlockError, BlockSource};

/// Random access to the blocks of a CARv1 on disk, for reading a few blocks of a large CAR.
///
/// [`CarIndex::open`] reads every frame head once (the varint and the CID; block bytes are
/// skipped, not hashed) and keeps each block's offset: 32 bytes a block, about 130 MB for the
/// 4 million blocks of a million-record catalogue. [`CarIndex::get`] then reads one block and
/// checks it against its CID.
#[derive(Debug)]
pub struct CarIndex {
    file: std::fs::File,
    roots: Vec<Cid>,
    /// Block key → (offset of the block bytes, length).
    index: KeyMap<(u64, u32)>,
    /// Blocks read with `get`.
    pub blocks_read: u64,
}

impl CarIndex {
    /// Indexes the CAR at `path`. Frames over [`super::MAX_FRAME_LEN`], CIDs that do not parse,
    /// hashes other than sha2-256 and a truncated last frame are errors.
    pub fn open(path: &std::path::Path) -> Result<CarIndex, CarError> {
        let file = std::fs::File::open(path).map_err(CarError::Io)?;
        let meta = file.metadata().map_err(CarError::Io)?;
        if !meta.is_file() {
            return Err(CarError::NotAFile);
        }
        let total = meta.len();
        let mut frames = Frames::new(&file)?;
        let roots = frames.roots().to_vec();
        // Sized for blocks of ~300 bytes (records, small directories), so a catalogue's index
        // is not rehashed again and again while it grows to millions of entries.
        let mut index = KeyMap::with_capacity_and_hasher(presize(total / 300), Default::default());
        while let Some(head) = frames.next_head()? {
            frames.skip_block(&head, total)?;
            // A repeated block: the first one counts.
            index
                .entry(head.key)
                .or_insert((head.block_start(), head.block_len() as u32));
        }
        Ok(CarIndex {
            file,
            roots,
            index,
            blocks_read: 0,
        })
    }

    /// The roots named in the header.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// Number of distinct blocks.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the CAR holds no block.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Whether the CAR holds the block `cid`.
    pub fn contains(&self, cid: &Cid) -> bool {
        BlockKey::of(cid).is_some_and(|k| self.index.contains_key(&k))
    }

    /// The block `cid`, checked against its CID; `None` if the CAR does not hold it.
    pub fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, CarError> {
        use std::os::unix::fs::FileExt;
        let Some(&(offset, len)) = BlockKey::of(cid).and_then(|k| self.index.get(&k)) else {
            return Ok(None);
        };
        let mut block = vec![0u8; len as usize];
        self.file
            .read_exact_at(&mut block, offset)
            .map_err(CarError::Io)?;
        if !block_matches(cid, &block) {
            return Err(CarError::HashMismatch { cid: *cid, offset });
        }
        self.blocks_read += 1;
        Ok(Some(block))
    }
}

impl BlockSource for CarIndex {
    fn contains(&mut self, cid: &Cid) -> bool {
        CarIndex::contains(self, cid)
    }

    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        CarIndex::get(self, cid).map_err(|e| BlockError::read(cid, e))
    }
}
