//! The base of an incremental merge: an existing catalogue CAR, read once.

use std::collections::HashSet;
use std::io::{self, Write};

use cid::Cid;

use crate::car::{
    block_matches, presize, BlockKey, CarError, CarWriter, Frames, KeyBuild, KeyMap, MAX_FRAME_LEN,
};
use crate::unixfs::block::DAG_PB;
use crate::unixfs::dir::{BlockSource, EditError};

/// The base of an incremental merge, read in one pass.
///
/// A merge can only replace directory nodes (dag-pb): records and file blocks stay. So
/// [`BaseCar::load`] reads the base CAR once: blocks of other codecs are copied to the output at
/// once, and dag-pb frames (directories: about 200 bytes a video, 250 MB for a million) are kept
/// in memory, where the merge reads them; [`BaseCar::copy_kept`] then writes the kept frames
/// the merge did not replace. Every block is checked against its CID on a second thread, in
/// batches, while the first goes on reading (SHA-256 of the whole base is a sixth of the work);
/// a bad block fails the load before anything is committed.
#[derive(Debug)]
pub(crate) struct BaseCar {
    file: std::fs::File,
    roots: Vec<Cid>,
    /// Every block: its key → [`Packed`] location.
    index: KeyMap<Packed>,
    /// dag-pb frames, each as `varint(len) CID block`, back to back.
    kept: Vec<u8>,
    /// Each kept frame: its key, where it starts in `kept`, its length there.
    kept_frames: Vec<(BlockKey, usize, usize)>,
    /// Blocks copied while loading.
    pub(crate) blocks_copied: u64,
}

/// Where a block is: bit 63 set for a kept frame (offset in `kept`), clear for the file; bits
/// 22..63 the offset of the block bytes, bits 0..22 its length (a block is at most 2 MiB).
#[derive(Clone, Copy, Debug)]
struct Packed(u64);

impl Packed {
    const KEPT: u64 = 1 << 63;
    fn new(kept: bool, offset: u64, len: usize) -> Packed {
        debug_assert!(len < 1 << 22 && offset < 1 << 41);
        Packed(if kept { Self::KEPT } else { 0 } | offset << 22 | len as u64)
    }
    fn kept(self) -> bool {
        self.0 & Self::KEPT != 0
    }
    fn offset(self) -> u64 {
        (self.0 & !Self::KEPT) >> 22
    }
    fn len(self) -> usize {
        (self.0 & ((1 << 22) - 1)) as usize
    }
}

/// A batch of frames for the checking thread: the bytes, and for each block its range, its
/// expected digest and the frame's offset in the CAR.
type Batch = (Vec<u8>, Vec<(std::ops::Range<usize>, [u8; 32], Cid, u64)>);

fn check_batches(batches: std::sync::mpsc::Receiver<Batch>) -> Result<(), CarError> {
    use sha2::Digest;
    for (bytes, blocks) in batches {
        for (range, digest, cid, offset) in blocks {
            if sha2::Sha256::digest(&bytes[range])[..] != digest {
                return Err(CarError::HashMismatch { cid, offset });
            }
        }
    }
    Ok(())
}

impl BaseCar {
    /// Reads the base CAR at `path`, checking every block, and copies every block that is not
    /// dag-pb into `out`. Nothing of the base is trusted: a truncated CAR, a frame over
    /// [`MAX_FRAME_LEN`] or a block that does not match its CID is an error.
    pub(crate) fn load<W: Write>(
        path: &std::path::Path,
        out: &mut CarWriter<W>,
    ) -> Result<BaseCar, CarError> {
        const BATCH: usize = 4 << 20;
        let file = std::fs::File::open(path).map_err(CarError::Io)?;
        let total = file.metadata().map_err(CarError::Io)?.len();
        let mut frames = Frames::new(&file)?;
        let roots = frames.roots().to_vec();
        let mut index = KeyMap::with_capacity_and_hasher(presize(total / 400), Default::default());
        let mut kept = Vec::with_capacity(presize(total / 4));
        let mut kept_frames = Vec::new();
        let mut copied = 0;
        let new_batch = || -> Batch {
            (
                Vec::with_capacity(BATCH + MAX_FRAME_LEN as usize),
                Vec::new(),
            )
        };
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(2);
        let loaded = std::thread::scope(|scope| -> Result<(), CarError> {
            let checker = scope.spawn(move || check_batches(rx));
            let mut batch = new_batch();
            let result = (|| -> Result<(), CarError> {
                while let Some(head) = frames.next_head()? {
                    // The whole frame, as it will be copied: `varint(len) CID block`.
                    let at = batch.0.len();
                    batch.0.extend_from_slice(frames.head_bytes());
                    let block_at = batch.0.len();
                    frames.read_block(&head, &mut batch.0)?;
                    let digest: [u8; 32] = head
                        .cid
                        .hash()
                        .digest()
                        .try_into()
                        .expect("a sha2-256 digest");
                    batch
                        .1
                        .push((block_at..batch.0.len(), digest, head.cid, head.start));
                    let frame = &batch.0[at..];
                    let block_len = head.block_len();
                    if let std::collections::hash_map::Entry::Vacant(slot) = index.entry(head.key) {
                        if head.cid.codec() == DAG_PB {
                            let here = kept.len();
                            kept.extend_from_slice(frame);
                            kept_frames.push((head.key, here, frame.len()));
                            let block_at = (here + frame.len() - block_len) as u64;
                            slot.insert(Packed::new(true, block_at, block_len));
                        } else {
                            slot.insert(Packed::new(false, head.block_start(), block_len));
                            out.write_encoded_frame(frame)?;
                            copied += 1;
                        }
                    } // else: a repeated block; the first one counts
                    if batch.0.len() >= BATCH {
                        let full = std::mem::replace(&mut batch, new_batch());
                        if tx.send(full).is_err() {
                            break; // the checker stopped: it found a bad block
                        }
                    }
                }
                let _ = tx.send(batch);
                Ok(())
            })();
            drop(tx);
            let checked = checker.join().unwrap_or(Err(CarError::Io(io::Error::other(
                "the checking thread panicked",
            ))));
            result.and(checked)
        });
        loaded?;
        Ok(BaseCar {
            file,
            roots,
            index,
            kept,
            kept_frames,
            blocks_copied: copied,
        })
    }

    /// The roots named in the header.
    pub(crate) fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// Whether the base holds `cid` and it was copied already (it is not dag-pb).
    pub(crate) fn copied(&self, cid: &Cid) -> bool {
        BlockKey::of(cid).is_some_and(|k| self.index.get(&k).is_some_and(|p| !p.kept()))
    }

    /// The block `cid`, if the base holds it, checked against its CID.
    pub(crate) fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, CarError> {
        use std::os::unix::fs::FileExt;
        let Some(&at) = BlockKey::of(cid).and_then(|k| self.index.get(&k)) else {
            return Ok(None);
        };
        let mismatch = || CarError::HashMismatch {
            cid: *cid,
            offset: at.offset(),
        };
        if at.kept() {
            // Checked while loading; its frame's own CID, just before it, tells a compact-key
            // collision apart without hashing again.
            let (start, end) = (at.offset() as usize, at.offset() as usize + at.len());
            let cid_bytes = cid.to_bytes();
            if start < cid_bytes.len() || self.kept[start - cid_bytes.len()..start] != cid_bytes[..]
            {
                return Err(mismatch());
            }
            return Ok(Some(self.kept[start..end].to_vec()));
        }
        let mut block = vec![0u8; at.len()];
        self.file
            .read_exact_at(&mut block, at.offset())
            .map_err(CarError::Io)?;
        // Checked while loading, and again: the file may have changed since.
        if !block_matches(cid, &block) {
            return Err(mismatch());
        }
        Ok(Some(block))
    }

    /// Writes the kept dag-pb blocks but those in `skip`. Returns the number written.
    pub(crate) fn copy_kept<W: Write>(
        &self,
        out: &mut CarWriter<W>,
        skip: &HashSet<BlockKey, KeyBuild>,
    ) -> Result<u64, CarError> {
        let mut copied = 0;
        for &(key, start, len) in &self.kept_frames {
            if skip.contains(&key) {
                continue;
            }
            out.write_encoded_frame(&self.kept[start..start + len])?;
            copied += 1;
        }
        Ok(copied)
    }
}

impl BlockSource for &BaseCar {
    fn contains(&mut self, cid: &Cid) -> bool {
        BlockKey::of(cid).is_some_and(|k| self.index.contains_key(&k))
    }

    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, EditError> {
        BaseCar::get(self, cid).map_err(|e| EditError::Source {
            cid: *cid,
            source: Box::new(e),
        })
    }
}
