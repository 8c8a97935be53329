//! CARv1: writing every block of an import to one file, and reading such files back safely.
//!
//! A CARv1 is a varint-prefixed DAG-CBOR header `{roots: [CID], version: 1}` followed by frames
//! `varint(len) CID block`. The root of an import is only known at the end, so
//! [`CarWriter::with_pending_root`] writes a placeholder root of the right length and
//! [`CarWriter::finish_with_root`] patches it in place. (When the real root is longer than the
//! placeholder, which happens only for a one-chunk raw-leaf file under a CIDv0 profile, the body
//! is moved up a few bytes.) Each block is written once: the writer remembers the (codec,
//! digest) of every block, 40 bytes each (160 KiB for a 4 GiB file at 1 MiB chunks).
//!
//! [`CarReader`] reads untrusted CARs with every size bounded by [`MAX_HEADER_LEN`] and
//! [`MAX_FRAME_LEN`], and checks every block against its CID.

use std::collections::HashSet;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Seek, SeekFrom, Write};

use cid::Cid;
use multihash::Multihash;
use serde::{Deserialize, Serialize};

use crate::block::{cid_of, put_varint, DAG_PB, SHA2_256};
use crate::profile::CidVersion;
use crate::sink::BlockSink;

/// The largest CAR header read: 64 KiB. A header holds a few root CIDs (~40 bytes each); a
/// longer one is not a CAR this project reads.
pub const MAX_HEADER_LEN: u64 = 64 * 1024;
/// The largest frame read: a 2 MiB block ([`crate::BLOCK_SIZE_LIMIT`]) plus its CID.
pub const MAX_FRAME_LEN: u64 = crate::profile::BLOCK_SIZE_LIMIT as u64 + 1024;

#[derive(Serialize, Deserialize)]
struct CarHeader {
    // DAG-CBOR orders map keys by length first: `roots` before `version`.
    roots: Vec<Cid>,
    version: u64,
}

fn encode_header(roots: &[Cid]) -> Vec<u8> {
    let header = CarHeader {
        roots: roots.to_vec(),
        version: 1,
    };
    let cbor = serde_ipld_dagcbor::to_vec(&header).expect("a CAR header always encodes");
    let mut out = Vec::with_capacity(cbor.len() + 2);
    put_varint(&mut out, cbor.len() as u64);
    out.extend_from_slice(&cbor);
    out
}

/// Blocks already written: (codec, sha2-256 digest), or the whole CID for other hashes.
#[derive(Debug, Default)]
struct Seen {
    sha256: HashSet<(u64, [u8; 32]), DigestBuild>,
    other: HashSet<Cid>,
}

impl Seen {
    /// Whether `cid` is new (and remembers it).
    fn insert(&mut self, cid: &Cid) -> bool {
        let mh = cid.hash();
        match <[u8; 32]>::try_from(mh.digest()) {
            Ok(d) if mh.code() == SHA2_256 => self.sha256.insert((cid.codec(), d)),
            _ => self.other.insert(*cid),
        }
    }
}

/// Writes a CARv1, each block once. It is a [`BlockSink`].
#[derive(Debug)]
pub struct CarWriter<W: Write> {
    out: BufWriter<W>,
    header_len: usize,
    /// Bytes written after the header.
    body_len: u64,
    seen: Seen,
    blocks: u64,
}

impl<W: Write> CarWriter<W> {
    /// A CAR whose roots are known now; the header is written at once.
    pub fn new(out: W, roots: &[Cid]) -> Result<Self, CarError> {
        let header = encode_header(roots);
        let mut out = BufWriter::with_capacity(256 * 1024, out);
        out.write_all(&header).map_err(CarError::Io)?;
        Ok(CarWriter {
            out,
            header_len: header.len(),
            body_len: 0,
            seen: Seen::default(),
            blocks: 0,
        })
    }

    /// Appends a block unless one with this CID was already written. Returns whether it wrote.
    pub fn write_block(&mut self, cid: &Cid, block: &[u8]) -> Result<bool, CarError> {
        if !self.seen.insert(cid) {
            return Ok(false);
        }
        let mut head = Vec::with_capacity(48);
        put_varint(&mut head, (cid.encoded_len() + block.len()) as u64);
        cid.write_bytes(&mut head)
            .map_err(|e| CarError::Io(io::Error::other(e)))?;
        self.out.write_all(&head).map_err(CarError::Io)?;
        self.out.write_all(block).map_err(CarError::Io)?;
        self.body_len += (head.len() + block.len()) as u64;
        self.blocks += 1;
        Ok(true)
    }

    /// Appends a frame already encoded (`len`, then the CID and block bytes in `frame`). The
    /// caller has checked it and recorded it in `seen`.
    fn write_frame(&mut self, len: u64, frame: &[u8]) -> Result<(), CarError> {
        let mut head = Vec::with_capacity(10);
        put_varint(&mut head, len);
        self.out.write_all(&head).map_err(CarError::Io)?;
        self.out.write_all(frame).map_err(CarError::Io)?;
        self.body_len += (head.len() + frame.len()) as u64;
        self.blocks += 1;
        Ok(())
    }

    /// Appends a whole encoded frame (`varint(len) CID block`), checked by the caller.
    fn write_encoded_frame(&mut self, frame: &[u8]) -> Result<(), CarError> {
        self.out.write_all(frame).map_err(CarError::Io)?;
        self.body_len += frame.len() as u64;
        self.blocks += 1;
        Ok(())
    }

    /// Distinct blocks written.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Bytes written so far, header included.
    pub fn bytes_written(&self) -> u64 {
        self.header_len as u64 + self.body_len
    }

    /// Flushes and returns the output. For a CAR made with [`CarWriter::with_pending_root`] use
    /// [`CarWriter::finish_with_root`] instead, or its header keeps the placeholder.
    pub fn finish(self) -> Result<W, CarError> {
        self.out
            .into_inner()
            .map_err(|e| CarError::Io(e.into_error()))
    }
}

impl<W: Read + Write + Seek> CarWriter<W> {
    /// A CAR whose root is not known yet: the header holds a placeholder CID of the length a
    /// root of `version` has (34 bytes for CIDv0, 36 for a sha2-256 CIDv1), which
    /// [`CarWriter::finish_with_root`] replaces. `out` must be empty and positioned at 0.
    pub fn with_pending_root(out: W, version: CidVersion) -> Result<Self, CarError> {
        let zero = Multihash::<64>::wrap(SHA2_256, &[0; 32]).expect("32 bytes fit");
        let placeholder = match version {
            CidVersion::V0 => Cid::new_v0(zero).expect("sha2-256 is valid for CIDv0"),
            CidVersion::V1 => Cid::new_v1(DAG_PB, zero),
        };
        CarWriter::new(out, &[placeholder])
    }

    /// Writes `root` into the header and returns the output, flushed.
    pub fn finish_with_root(self, root: &Cid) -> Result<W, CarError> {
        let old_len = self.header_len as u64;
        let body_len = self.body_len;
        let mut out = self.finish()?;
        let header = encode_header(std::slice::from_ref(root));
        let new_len = header.len() as u64;
        let io = |r: io::Result<()>| r.map_err(CarError::Io);
        if new_len < old_len {
            return Err(CarError::RootShorter { root: *root });
        }
        if new_len > old_len {
            shift_up(&mut out, old_len, body_len, new_len - old_len).map_err(CarError::Io)?;
        }
        io(out.seek(SeekFrom::Start(0)).map(drop))?;
        io(out.write_all(&header))?;
        io(out.seek(SeekFrom::Start(new_len + body_len)).map(drop))?;
        io(out.flush())?;
        Ok(out)
    }
}

/// Moves `len` bytes at `from` up by `by` bytes, last bytes first.
fn shift_up<F: Read + Write + Seek>(f: &mut F, from: u64, len: u64, by: u64) -> io::Result<()> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut end = from + len;
    while end > from {
        let n = (end - from).min(buf.len() as u64);
        let start = end - n;
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut buf[..n as usize])?;
        f.seek(SeekFrom::Start(start + by))?;
        f.write_all(&buf[..n as usize])?;
        end = start;
    }
    Ok(())
}

impl<W: Write> BlockSink for CarWriter<W> {
    type Error = CarError;
    fn put(&mut self, cid: &Cid, block: &[u8]) -> Result<(), CarError> {
        self.write_block(cid, block).map(drop)
    }
}

/// A CAR could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CarError {
    /// Reading or writing failed.
    #[error("car i/o failed")]
    Io(#[source] io::Error),
    /// The root given at the end is shorter than the placeholder (a CIDv0 placeholder is the
    /// shortest there is, so use it when unsure).
    #[error("root {root} is shorter than the placeholder written in the header")]
    RootShorter {
        /// The root.
        root: Cid,
    },
    /// The header length is over [`MAX_HEADER_LEN`].
    #[error("car header of {len} bytes is over the limit of {max}")]
    HeaderTooLarge {
        /// The announced length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The header is not a DAG-CBOR `{roots, version: 1}`.
    #[error("car header is not a valid CARv1 header: {reason}")]
    BadHeader {
        /// What is wrong.
        reason: String,
    },
    /// A frame is over [`MAX_FRAME_LEN`].
    #[error("frame at byte {offset} announces {len} bytes, over the limit of {max}")]
    FrameTooLarge {
        /// Where the frame starts.
        offset: u64,
        /// The announced length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The file ends inside a varint, CID or block.
    #[error("car is truncated in the frame at byte {offset}")]
    Truncated {
        /// Where the frame starts.
        offset: u64,
    },
    /// A frame does not start with a valid CID.
    #[error("frame at byte {offset} does not start with a valid cid")]
    BadCid {
        /// Where the frame starts.
        offset: u64,
    },
    /// A block's bytes do not hash to its CID.
    #[error("block {cid} at byte {offset} does not match its cid")]
    HashMismatch {
        /// The CID the frame claims.
        cid: Cid,
        /// Where the frame starts.
        offset: u64,
    },
    /// The CID uses a hash function this reader cannot check.
    #[error("block {cid} uses an unsupported hash function (only sha2-256 is checked)")]
    UnsupportedHash {
        /// The CID.
        cid: Cid,
    },
}

/// Reads a CARv1 from an untrusted source, checking every block's hash.
#[derive(Debug)]
pub struct CarReader<R> {
    input: BufReader<R>,
    roots: Vec<Cid>,
    offset: u64,
}

/// Reads a varint; `Ok(None)` at a clean end of input.
fn read_varint<R: BufRead>(r: &mut R) -> io::Result<Option<u64>> {
    let mut value = 0u64;
    for i in 0..10 {
        let mut byte = [0u8];
        if r.read(&mut byte)? == 0 {
            return if i == 0 {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        value |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        "varint too long",
    ))
}

/// Reads a frame's length (the varint before it), bounded by [`MAX_FRAME_LEN`]; `None` at a
/// clean end of the CAR.
fn read_frame_len<R: BufRead>(input: &mut R, offset: u64) -> Result<Option<u64>, CarError> {
    let len = read_varint(input).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => CarError::Truncated { offset },
        _ => CarError::Io(e),
    })?;
    match len {
        Some(len) if len > MAX_FRAME_LEN => Err(CarError::FrameTooLarge {
            offset,
            len,
            max: MAX_FRAME_LEN,
        }),
        other => Ok(other),
    }
}

impl<R: Read> CarReader<R> {
    /// Reads and checks the header.
    pub fn new(input: R) -> Result<Self, CarError> {
        let mut input = BufReader::with_capacity(256 * 1024, input);
        let truncated = |_| CarError::Truncated { offset: 0 };
        let len = read_varint(&mut input)
            .map_err(truncated)?
            .ok_or(CarError::Truncated { offset: 0 })?;
        if len > MAX_HEADER_LEN {
            return Err(CarError::HeaderTooLarge {
                len,
                max: MAX_HEADER_LEN,
            });
        }
        let mut bytes = vec![0; len as usize];
        input.read_exact(&mut bytes).map_err(truncated)?;
        let header: CarHeader =
            serde_ipld_dagcbor::from_slice(&bytes).map_err(|e| CarError::BadHeader {
                reason: e.to_string(),
            })?;
        if header.version != 1 {
            return Err(CarError::BadHeader {
                reason: format!("version {} (only 1 is read)", header.version),
            });
        }
        let offset = crate::block::varint_len(len) as u64 + len;
        Ok(CarReader {
            input,
            roots: header.roots,
            offset,
        })
    }

    /// The roots named in the header.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// The next block, checked against its CID; `None` at the end.
    pub fn next_block(&mut self) -> Result<Option<(Cid, Vec<u8>)>, CarError> {
        let offset = self.offset;
        let truncated = |e: io::Error| match e.kind() {
            io::ErrorKind::UnexpectedEof => CarError::Truncated { offset },
            _ => CarError::Io(e),
        };
        let Some(len) = read_frame_len(&mut self.input, offset)? else {
            return Ok(None);
        };
        let mut frame = vec![0; len as usize];
        self.input.read_exact(&mut frame).map_err(truncated)?;
        let mut cursor = io::Cursor::new(&frame[..]);
        let cid = Cid::read_bytes(&mut cursor).map_err(|_| CarError::BadCid { offset })?;
        let block = frame.split_off(cursor.position() as usize);
        if cid.hash().code() != SHA2_256 {
            return Err(CarError::UnsupportedHash { cid });
        }
        if !block_matches(&cid, &block) {
            return Err(CarError::HashMismatch { cid, offset });
        }
        self.offset += crate::block::varint_len(len) as u64 + len;
        Ok(Some((cid, block)))
    }
}

impl<R: Read> Iterator for CarReader<R> {
    type Item = Result<(Cid, Vec<u8>), CarError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_block().transpose()
    }
}

/// Hashes a (codec, SHA-256 digest) key by taking 8 bytes of the digest: already uniformly
/// distributed, so SipHash over the 40 bytes would only cost time (3 million lookups a merge).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // The digest is the one 32-byte write; the codec's u64 is mixed in by `write_u64`.
        if bytes.len() >= 8 {
            self.0 ^= u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n.rotate_left(32);
    }
    fn write_u128(&mut self, n: u128) {
        self.0 ^= n as u64;
    }
    fn write_usize(&mut self, _: usize) {}
}

/// A capacity guessed from a file's size, capped at 16 million: enough for a few-GB catalogue
/// to be indexed without rehashing, without reserving gigabytes for a huge or hostile CAR.
fn presize(guess: u64) -> usize {
    guess.min(16 << 20) as usize
}

/// A set or map keyed by (codec, SHA-256 digest).
pub(crate) type DigestBuild = std::hash::BuildHasherDefault<DigestHasher>;

/// Random access to the blocks of a CARv1 on disk, for reading a few blocks of a large CAR.
///
/// [`CarIndex::open`] reads every frame header once (the varint and the CID; block bytes are
/// skipped, not hashed) and keeps each block's offset: 48 bytes a block, about 200 MB for the
/// 4 million blocks of a million-record catalogue. [`CarIndex::get`] then reads one block and
/// checks it against its CID.
#[derive(Debug)]
pub struct CarIndex {
    file: std::fs::File,
    roots: Vec<Cid>,
    /// (codec, sha2-256 digest) → (offset of the block bytes, length).
    index: std::collections::HashMap<(u64, [u8; 32]), (u64, u32), DigestBuild>,
    /// Blocks read with `get`.
    pub blocks_read: u64,
}

/// Whether `block` hashes to `cid` (under its own version and codec).
fn block_matches(cid: &Cid, block: &[u8]) -> bool {
    let version = match cid.version() {
        cid::Version::V0 => CidVersion::V0,
        cid::Version::V1 => CidVersion::V1,
    };
    cid_of(version, cid.codec(), block) == *cid
}

fn sha256_key(cid: &Cid) -> Option<(u64, [u8; 32])> {
    let mh = cid.hash();
    let digest = <[u8; 32]>::try_from(mh.digest()).ok()?;
    (mh.code() == SHA2_256).then_some((cid.codec(), digest))
}

/// Records one frame in the index; returns the length of its block.
fn index_frame(
    index: &mut std::collections::HashMap<(u64, [u8; 32]), (u64, u32), DigestBuild>,
    cid: &Cid,
    frame_start: u64,
    head_len: u64,
    len: u64,
    total: u64,
) -> Result<u64, CarError> {
    let varint_len = crate::block::varint_len(len) as u64;
    let block_len = len + varint_len - head_len;
    let block_start = frame_start + head_len;
    if block_start + block_len > total {
        return Err(CarError::Truncated {
            offset: frame_start,
        });
    }
    let key = sha256_key(cid).ok_or(CarError::UnsupportedHash { cid: *cid })?;
    // A repeated block: the first one counts.
    index.entry(key).or_insert((block_start, block_len as u32));
    Ok(block_len)
}

impl CarIndex {
    /// Indexes the CAR at `path`. Frames over [`MAX_FRAME_LEN`], CIDs that do not parse, hashes
    /// other than sha2-256 and a truncated last frame are errors.
    pub fn open(path: &std::path::Path) -> Result<CarIndex, CarError> {
        let file = std::fs::File::open(path).map_err(CarError::Io)?;
        let total = file.metadata().map_err(CarError::Io)?.len();
        let mut reader = CarReader::new(&file)?;
        let roots = reader.roots().to_vec();
        let body_start = reader.offset;
        // Sized for blocks of ~300 bytes (records, small directories), so a catalogue's index
        // is not rehashed again and again while it grows to millions of entries.
        let mut index = std::collections::HashMap::with_capacity_and_hasher(
            presize(total / 300),
            DigestBuild::default(),
        );
        let mut offset = body_start;
        loop {
            let frame_start = offset;
            let truncated = |e: io::Error| match e.kind() {
                io::ErrorKind::UnexpectedEof => CarError::Truncated {
                    offset: frame_start,
                },
                _ => CarError::Io(e),
            };
            let Some(len) = read_frame_len(&mut reader.input, frame_start)? else {
                break;
            };
            let cid = Cid::read_bytes(&mut reader.input).map_err(|_| CarError::BadCid {
                offset: frame_start,
            })?;
            let cid_len = cid.encoded_len() as u64;
            if cid_len > len {
                return Err(CarError::BadCid {
                    offset: frame_start,
                });
            }
            let head_len = crate::block::varint_len(len) as u64 + cid_len;
            let block_len = index_frame(&mut index, &cid, frame_start, head_len, len, total)?;
            reader
                .input
                .seek_relative(block_len as i64)
                .map_err(truncated)?;
            offset = frame_start + head_len + block_len;
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
        sha256_key(cid).is_some_and(|k| self.index.contains_key(&k))
    }

    /// The block `cid`, checked against its CID; `None` if the CAR does not hold it.
    pub fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, CarError> {
        use std::os::unix::fs::FileExt;
        let Some(&(offset, len)) = sha256_key(cid).and_then(|k| self.index.get(&k)) else {
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
pub struct BaseCar {
    file: std::fs::File,
    roots: Vec<Cid>,
    /// Every block: [`compact_key`] → [`Packed`] location.
    index: std::collections::HashMap<u128, Packed, DigestBuild>,
    /// dag-pb frames, each as `varint(len) CID block`, back to back.
    kept: Vec<u8>,
    /// Each kept frame: its key, where it starts in `kept`, its length there.
    kept_frames: Vec<(u128, usize, usize)>,
    /// Keys of the blocks written since the load ([`BaseCar::note_written`]).
    written: std::cell::RefCell<HashSet<u128, DigestBuild>>,
    /// Blocks read by the merge.
    blocks_read: std::cell::Cell<u64>,
    /// Blocks copied while loading.
    pub blocks_copied: u64,
}

/// 16 bytes of the digest with the codec mixed in: 24-byte index entries instead of 56, which is
/// what keeps a 3-million-entry index out of the way. Two blocks sharing it (a chance of
/// 2^-100 in a million-block CAR) could not go unnoticed: every block read is hashed again
/// against its full CID.
fn compact_key(cid: &Cid) -> Option<u128> {
    let (codec, digest) = sha256_key(cid)?;
    let head = u128::from_le_bytes(digest[..16].try_into().expect("16 bytes"));
    Some(head ^ u128::from(codec))
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
    pub fn load<W: Write>(
        path: &std::path::Path,
        out: &mut CarWriter<W>,
    ) -> Result<BaseCar, CarError> {
        const BATCH: usize = 4 << 20;
        let file = std::fs::File::open(path).map_err(CarError::Io)?;
        let total = file.metadata().map_err(CarError::Io)?.len();
        let mut reader = CarReader::new(&file)?;
        let roots = reader.roots().to_vec();
        let mut index = std::collections::HashMap::with_capacity_and_hasher(
            presize(total / 400),
            DigestBuild::default(),
        );
        let mut kept = Vec::with_capacity(presize(total / 4));
        let mut kept_frames = Vec::new();
        let mut copied = 0;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(2);
        let loaded = std::thread::scope(|scope| -> Result<(), CarError> {
            let checker = scope.spawn(move || check_batches(rx));
            let mut offset = reader.offset;
            let mut batch: Batch = (
                Vec::with_capacity(BATCH + MAX_FRAME_LEN as usize),
                Vec::new(),
            );
            let result = (|| -> Result<(), CarError> {
                while let Some(len) = read_frame_len(&mut reader.input, offset)? {
                    let frame_start = offset;
                    let at = batch.0.len();
                    batch.0.resize(at + len as usize, 0);
                    reader
                        .input
                        .read_exact(&mut batch.0[at..])
                        .map_err(|e| match e.kind() {
                            io::ErrorKind::UnexpectedEof => CarError::Truncated {
                                offset: frame_start,
                            },
                            _ => CarError::Io(e),
                        })?;
                    let frame = &batch.0[at..];
                    let mut cursor = io::Cursor::new(frame);
                    let cid = Cid::read_bytes(&mut cursor).map_err(|_| CarError::BadCid {
                        offset: frame_start,
                    })?;
                    let cid_len = cursor.position() as usize;
                    let (_, digest) = sha256_key(&cid).ok_or(CarError::UnsupportedHash { cid })?;
                    let key = compact_key(&cid).expect("a sha2-256 CID");
                    let head = crate::block::varint_len(len) as u64;
                    offset = frame_start + head + len;
                    let block_len = len as usize - cid_len;
                    batch
                        .1
                        .push((at + cid_len..at + len as usize, digest, cid, frame_start));
                    if let std::collections::hash_map::Entry::Vacant(slot) = index.entry(key) {
                        if cid.codec() == crate::block::DAG_PB {
                            let here = kept.len() as u64;
                            put_varint(&mut kept, len);
                            kept.extend_from_slice(frame);
                            kept_frames.push((key, here as usize, kept.len() - here as usize));
                            slot.insert(Packed::new(true, here + head + cid_len as u64, block_len));
                        } else {
                            slot.insert(Packed::new(
                                false,
                                frame_start + head + cid_len as u64,
                                block_len,
                            ));
                            out.write_frame(len, frame)?;
                            copied += 1;
                        }
                    } // else: a repeated block; the first one counts
                    if batch.0.len() >= BATCH {
                        let full = std::mem::replace(
                            &mut batch,
                            (
                                Vec::with_capacity(BATCH + MAX_FRAME_LEN as usize),
                                Vec::new(),
                            ),
                        );
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
            written: Default::default(),
            blocks_read: std::cell::Cell::new(0),
            blocks_copied: copied,
        })
    }

    /// The roots named in the header.
    pub fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// Notes that `cid` was written to the output after the load, so [`BaseCar::copy_kept`]
    /// does not write it again.
    pub fn note_written(&self, cid: &Cid) {
        if let Some(key) = compact_key(cid) {
            self.written.borrow_mut().insert(key);
        }
    }

    /// Blocks the merge read.
    pub fn blocks_read(&self) -> u64 {
        self.blocks_read.get()
    }

    /// Whether the base holds `cid` and it was copied already (it is not dag-pb).
    pub fn copied(&self, cid: &Cid) -> bool {
        compact_key(cid).is_some_and(|k| self.index.get(&k).is_some_and(|p| !p.kept()))
    }

    /// The block `cid`, if the base holds it, checked against its CID.
    pub fn get(&self, cid: &Cid) -> Result<Option<Vec<u8>>, CarError> {
        use std::os::unix::fs::FileExt;
        let Some(&at) = compact_key(cid).and_then(|k| self.index.get(&k)) else {
            return Ok(None);
        };
        self.blocks_read.set(self.blocks_read.get() + 1);
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

    /// Writes the kept dag-pb blocks but those in `except` and those noted as written.
    /// Returns the number written.
    pub fn copy_kept<W: Write>(
        &self,
        out: &mut CarWriter<W>,
        except: &[Cid],
    ) -> Result<u64, CarError> {
        let mut skip = self.written.borrow_mut();
        skip.extend(except.iter().filter_map(compact_key));
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

impl crate::dir::BlockSource for &BaseCar {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, crate::dir::EditError> {
        BaseCar::get(self, cid).map_err(|e| crate::dir::EditError::Source {
            cid: *cid,
            source: Box::new(e),
        })
    }
}

impl crate::dir::BlockSource for CarIndex {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, crate::dir::EditError> {
        CarIndex::get(self, cid).map_err(|e| crate::dir::EditError::Source {
            cid: *cid,
            source: Box::new(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::RAW;
    use std::io::Cursor;

    fn raw(bytes: &[u8]) -> Cid {
        cid_of(CidVersion::V1, RAW, bytes)
    }

    #[test]
    fn round_trip_with_patched_root_and_no_duplicates() {
        let mut car =
            CarWriter::with_pending_root(Cursor::new(Vec::new()), CidVersion::V1).unwrap();
        let (a, b) = (b"first".as_slice(), b"second".as_slice());
        car.put(&raw(a), a).unwrap();
        car.put(&raw(b), b).unwrap();
        car.put(&raw(a), a).unwrap();
        assert_eq!(car.blocks(), 2);
        let bytes = car.finish_with_root(&raw(b)).unwrap().into_inner();
        let mut reader = CarReader::new(&bytes[..]).unwrap();
        assert_eq!(reader.roots(), &[raw(b)]);
        let blocks: Vec<_> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(blocks, vec![(raw(a), a.to_vec()), (raw(b), b.to_vec())]);
    }

    #[test]
    fn a_longer_root_moves_the_body() {
        // A CIDv0 placeholder (34 bytes) replaced by a CIDv1 root (36 bytes).
        let mut car =
            CarWriter::with_pending_root(Cursor::new(Vec::new()), CidVersion::V0).unwrap();
        let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        car.put(&raw(&big), &big).unwrap();
        let bytes = car.finish_with_root(&raw(&big)).unwrap().into_inner();
        let mut reader = CarReader::new(&bytes[..]).unwrap();
        assert_eq!(reader.roots(), &[raw(&big)]);
        assert_eq!(reader.next_block().unwrap().unwrap().1, big);
        assert!(reader.next_block().unwrap().is_none());
    }

    proptest::proptest! {
        /// Untrusted bytes never panic the reader: every outcome is a block or an error.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2000)) {
            if let Ok(mut reader) = CarReader::new(&bytes[..]) {
                for _ in 0..100 {
                    match reader.next_block() {
                        Ok(Some(_)) => {}
                        _ => break,
                    }
                }
            }
        }
    }

    #[test]
    fn corrupt_cars_are_refused() {
        let block = b"payload".as_slice();
        let mut car = CarWriter::new(Vec::new(), &[raw(block)]).unwrap();
        car.put(&raw(block), block).unwrap();
        let good = car.finish().unwrap();

        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let err = CarReader::new(&flipped[..])
            .unwrap()
            .next_block()
            .unwrap_err();
        assert!(matches!(err, CarError::HashMismatch { .. }), "{err}");

        let cut = &good[..good.len() - 3];
        let err = CarReader::new(cut).unwrap().next_block().unwrap_err();
        assert!(matches!(err, CarError::Truncated { .. }), "{err}");

        let mut huge = Vec::new();
        put_varint(&mut huge, MAX_HEADER_LEN + 1);
        assert!(matches!(
            CarReader::new(&huge[..]).unwrap_err(),
            CarError::HeaderTooLarge { .. }
        ));

        let header_len = good.len() - (1 + 36 + block.len());
        let mut big_frame = good[..header_len].to_vec();
        put_varint(&mut big_frame, MAX_FRAME_LEN + 1);
        let err = CarReader::new(&big_frame[..])
            .unwrap()
            .next_block()
            .unwrap_err();
        assert!(matches!(err, CarError::FrameTooLarge { .. }), "{err}");
    }
}
