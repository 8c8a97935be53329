//! The base of an incremental merge: an existing catalogue CAR, read once.

use std::collections::HashSet;
use std::io::{self, Write};

use cid::Cid;

use crate::car::{
    block_matches, presize, BlockKey, CarError, CarWriter, Frames, KeyBuild, KeyMap, MAX_FRAME_LEN,
};
use crate::io::FileStamp;
use crate::unixfs::block::DAG_PB;
use crate::unixfs::blocks::{BlockError, BlockSource};

/// The base of an incremental merge.
///
/// A merge can only replace directory nodes (dag-pb): records and file blocks stay. So
/// [`BaseCar::load`] reads the base CAR once: blocks of other codecs are copied to the output at
/// once, and every block's place is indexed (24 bytes a block). The directories stay in the
/// file: the merge reads those on the paths it changes from there (checked again against their
/// CIDs), and [`BaseCar::copy_kept`] streams the base a second time to copy the directories the
/// merge did not replace, checking each again. Memory is the index, whatever the size of the
/// base (it once held every directory: 215 MB for a 200 MB base). Every block is checked
/// against its CID while loading, on a second thread, in batches, while the first goes on
/// reading; a bad block fails the load before anything is committed.
#[derive(Debug)]
pub(crate) struct BaseCar {
    file: std::fs::File,
    roots: Vec<Cid>,
    /// Every block: its key → [`Packed`] location.
    index: KeyMap<Packed>,
    /// Where each directory's frame is, in file order: 16 bytes a directory (32 MB for the two
    /// million of a million-record catalogue), for [`BaseCar::copy_kept`].
    kept: Vec<KeptFrame>,
    /// Blocks copied while loading.
    pub(crate) blocks_copied: u64,
    /// The base file when it was loaded (and every block checked).
    stamp: FileStamp,
}

/// A directory's frame in the base file.
#[derive(Clone, Copy, Debug)]
struct KeptFrame {
    /// Where the frame starts.
    start: u64,
    /// The whole frame's length.
    len: u32,
    /// The length of its head (length varint and CID).
    head: u16,
}

/// Where a block is in the base file: bit 63 set for a kept frame (a directory, copied at the
/// end), clear for one copied while loading; bits 22..63 the offset of the block bytes, bits
/// 0..22 its length (a block is at most 2 MiB).
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

/// Reads from `offset` into `buf` until it is full or the file ends; returns the bytes read.
fn read_at_most(file: &std::fs::File, buf: &mut [u8], offset: u64) -> Result<usize, CarError> {
    use std::os::unix::fs::FileExt;
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], offset + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(CarError::Io(e)),
        }
    }
    Ok(n)
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
        if !file.metadata().map_err(CarError::Io)?.is_file() {
            return Err(CarError::NotAFile);
        }
        let stamp = FileStamp::of(&file).map_err(CarError::Io)?;
        let total = file.metadata().map_err(CarError::Io)?.len();
        let mut frames = Frames::new(&file)?;
        let roots = frames.roots().to_vec();
        let mut index = KeyMap::with_capacity_and_hasher(presize(total / 400), Default::default());
        let mut copied = 0;
        let mut kept = Vec::new();
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
                            slot.insert(Packed::new(true, head.block_start(), block_len));
                            kept.push(KeptFrame {
                                start: head.start,
                                len: (head.end() - head.start) as u32,
                                head: head.head_len as u16,
                            });
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
            blocks_copied: copied,
            stamp,
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

    /// Whether the base holds `cid`.
    pub(crate) fn holds(&self, cid: &Cid) -> bool {
        BlockKey::of(cid).is_some_and(|k| self.index.contains_key(&k))
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

    /// Writes the kept dag-pb blocks but those in `skip`, reading the base file again. Its
    /// blocks were all checked while loading; that the file did not change since is checked
    /// by its length and modification time, before and after (hashing the two million small
    /// directories of a million-record catalogue again would cost a second and a half).
    /// Returns the number written.
    pub(crate) fn copy_kept<W: Write>(
        &self,
        out: &mut CarWriter<W>,
        skip: &HashSet<BlockKey, KeyBuild>,
    ) -> Result<u64, CarError> {
        const WINDOW: u64 = 4 << 20;
        self.unchanged()?;
        // The blocks to leave out, by where they are.
        let skip: HashSet<u64> = skip
            .iter()
            .filter_map(|k| self.index.get(k))
            .filter(|p| p.kept())
            .map(|p| p.offset())
            .collect();
        // Read in windows of 4 MiB, in file order: the frames are never parsed again.
        let mut window = Vec::new();
        let mut window_start = 0u64;
        let mut copied = 0;
        for f in &self.kept {
            if skip.contains(&(f.start + u64::from(f.head))) {
                continue;
            }
            let end = f.start + u64::from(f.len);
            if f.start < window_start || end > window_start + window.len() as u64 {
                window_start = f.start;
                window.resize(WINDOW.max(u64::from(f.len)) as usize, 0);
                let n = read_at_most(&self.file, &mut window, window_start)?;
                window.truncate(n);
                if (window.len() as u64) < u64::from(f.len) {
                    return Err(CarError::Truncated { offset: f.start });
                }
            }
            let at = (f.start - window_start) as usize;
            out.write_encoded_frame(&window[at..at + f.len as usize])?;
            copied += 1;
        }
        self.unchanged()?;
        Ok(copied)
    }

    /// Fails if the base file changed since it was loaded and checked.
    fn unchanged(&self) -> Result<(), CarError> {
        let now = FileStamp::of(&self.file).map_err(CarError::Io)?;
        if now != self.stamp {
            return Err(CarError::Io(io::Error::other(
                "the base catalogue changed while the merge read it",
            )));
        }
        Ok(())
    }
}

impl BlockSource for &BaseCar {
    fn contains(&mut self, cid: &Cid) -> bool {
        self.holds(cid)
    }

    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        BaseCar::get(self, cid).map_err(|e| BlockError::read(cid, e))
    }
}
