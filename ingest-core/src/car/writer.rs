//! [`CarWriter`]: every block of an import to a CARv1, each block once, the root patched into
//! the header at the end.

use std::collections::HashSet;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

use cid::Cid;
use multihash::Multihash;

use super::{encode_header, BlockKey, CarError, KeyBuild};
use crate::unixfs::block::{put_varint, DAG_PB, SHA2_256};
use crate::unixfs::profile::CidVersion;
use crate::unixfs::sink::BlockSink;

/// Blocks already written: their [`BlockKey`] (16 bytes each), or the whole CID for other
/// hashes.
#[derive(Debug, Default)]
struct Seen {
    sha256: HashSet<BlockKey, KeyBuild>,
    other: HashSet<Cid>,
}

impl Seen {
    /// Whether `cid` is new (and remembers it).
    fn insert(&mut self, cid: &Cid) -> bool {
        match BlockKey::of(cid) {
            Some(key) => self.sha256.insert(key),
            None => self.other.insert(*cid),
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
        self.write_frame(cid, block)?;
        Ok(true)
    }

    /// Appends a block without asking whether it was written before (a CAR copied frame by
    /// frame, whose duplicates are kept as they are).
    pub(crate) fn write_frame(&mut self, cid: &Cid, block: &[u8]) -> Result<(), CarError> {
        let mut head = Vec::with_capacity(48);
        put_varint(&mut head, (cid.encoded_len() + block.len()) as u64);
        cid.write_bytes(&mut head)
            .map_err(|e| CarError::Io(io::Error::other(e)))?;
        self.out.write_all(&head).map_err(CarError::Io)?;
        self.out.write_all(block).map_err(CarError::Io)?;
        self.body_len += (head.len() + block.len()) as u64;
        self.blocks += 1;
        Ok(())
    }

    /// Appends a whole encoded frame (`varint(len) CID block`), checked by the caller.
    pub(crate) fn write_encoded_frame(&mut self, frame: &[u8]) -> Result<(), CarError> {
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
