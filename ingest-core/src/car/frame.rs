//! The one CARv1 frame parser: every reader of CAR bytes (the streaming reader, the index, a
//! catalogue's base) goes through [`Frames`], so every length is bounded and every truncation
//! is reported the same way, and every block is known by one key, [`BlockKey`].

use std::io::{self, BufRead, BufReader, Read, Seek};

use cid::Cid;

use super::{CarError, CarHeader, MAX_FRAME_LEN, MAX_HEADER_LEN};
use crate::unixfs::block::{cid_of, put_varint, varint_len, SHA2_256};
use crate::unixfs::CidVersion;

/// The key a block is known by in every index of this crate: 16 bytes of its SHA-256 digest
/// with the codec mixed in.
///
/// 16 bytes instead of the 40 of (codec, digest) keep a multi-million-entry index small (24-byte
/// entries instead of 56). Two blocks sharing a key (a chance of about 2^-88 among a million
/// blocks) could not go unnoticed: every block read through an index is hashed again against
/// its full CID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct BlockKey(u128);

impl BlockKey {
    /// The key of `cid`; `None` unless its hash is sha2-256 (the only hash this crate checks).
    pub(crate) fn of(cid: &Cid) -> Option<BlockKey> {
        let mh = cid.hash();
        if mh.code() != SHA2_256 || mh.digest().len() != 32 {
            return None;
        }
        let head = u128::from_le_bytes(mh.digest()[..16].try_into().expect("16 bytes"));
        Some(BlockKey(head ^ u128::from(cid.codec())))
    }
}

/// Hashes a [`BlockKey`] by taking 8 of its bytes: already uniformly distributed, so SipHash
/// would only cost time (millions of lookups a merge).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u128` is expected; fold anything else in.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(word);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 ^= n as u64;
    }
}

/// A map or set keyed by [`BlockKey`].
pub(crate) type KeyBuild = std::hash::BuildHasherDefault<KeyHasher>;

/// A map keyed by [`BlockKey`].
pub(crate) type KeyMap<V> = std::collections::HashMap<BlockKey, V, KeyBuild>;

/// A capacity guessed from a file's size, capped at 16 million: enough for a few-GB catalogue
/// to be indexed without rehashing, without reserving gigabytes for a huge or hostile CAR.
pub(crate) fn presize(guess: u64) -> usize {
    guess.min(16 << 20) as usize
}

/// Whether `block` hashes to `cid` (under its own version and codec).
pub(crate) fn block_matches(cid: &Cid, block: &[u8]) -> bool {
    let version = match cid.version() {
        cid::Version::V0 => CidVersion::V0,
        cid::Version::V1 => CidVersion::V1,
    };
    cid_of(version, cid.codec(), block) == *cid
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

/// The head of one frame (`varint(len) CID block`): where it is and what it holds.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FrameHead {
    /// Where the frame starts in the CAR.
    pub(crate) start: u64,
    /// The frame's length varint: the CID and the block.
    pub(crate) len: u64,
    /// The block's CID.
    pub(crate) cid: Cid,
    /// The block's key.
    pub(crate) key: BlockKey,
    /// Bytes of the length varint and the CID.
    pub(crate) head_len: u64,
}

impl FrameHead {
    /// Bytes of the block.
    pub(crate) fn block_len(&self) -> usize {
        (self.start + varint_len(self.len) as u64 + self.len - self.block_start()) as usize
    }

    /// Where the block's bytes start in the CAR.
    pub(crate) fn block_start(&self) -> u64 {
        self.start + self.head_len
    }

    /// Where the next frame starts.
    pub(crate) fn end(&self) -> u64 {
        self.block_start() + self.block_len() as u64
    }
}

/// The frames of a CARv1, read from an untrusted source with every length bounded.
#[derive(Debug)]
pub(crate) struct Frames<R> {
    input: BufReader<R>,
    roots: Vec<Cid>,
    /// Where the next frame starts.
    offset: u64,
    /// The head of the frame just read ([`Frames::head_bytes`]).
    head: Vec<u8>,
}

impl<R: Read> Frames<R> {
    /// Reads and checks the header: at most [`MAX_HEADER_LEN`] bytes of DAG-CBOR
    /// `{roots, version: 1}`.
    pub(crate) fn new(input: R) -> Result<Frames<R>, CarError> {
        let mut input = BufReader::with_capacity(256 * 1024, input);
        let truncated = |e: io::Error| match e.kind() {
            io::ErrorKind::InvalidData => CarError::BadHeader {
                reason: "its length is a varint of more than 10 bytes".into(),
            },
            io::ErrorKind::UnexpectedEof => CarError::Truncated { offset: 0 },
            _ => CarError::Io(e),
        };
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
        // The version first: a CARv2 starts with a header `{version: 2}` and no roots.
        let version = match serde_ipld_dagcbor::from_slice::<ipld_core::ipld::Ipld>(&bytes) {
            Ok(ipld_core::ipld::Ipld::Map(map)) => map.get("version").cloned(),
            _ => None,
        };
        match version {
            Some(ipld_core::ipld::Ipld::Integer(2)) => return Err(CarError::CarV2),
            Some(ipld_core::ipld::Ipld::Integer(v)) if v != 1 => {
                return Err(CarError::BadHeader {
                    reason: format!("version {v} (only 1 is read)"),
                })
            }
            _ => {}
        }
        let header: CarHeader =
            serde_ipld_dagcbor::from_slice(&bytes).map_err(|e| CarError::BadHeader {
                reason: e.to_string(),
            })?;
        Ok(Frames {
            input,
            roots: header.roots,
            offset: varint_len(len) as u64 + len,
            head: Vec::with_capacity(64),
        })
    }

    /// The roots named in the header.
    pub(crate) fn roots(&self) -> &[Cid] {
        &self.roots
    }

    /// Where the next frame starts (after the header, at first).
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    fn truncated(&self, e: io::Error) -> CarError {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => CarError::Truncated {
                offset: self.offset,
            },
            _ => CarError::Io(e),
        }
    }

    /// Reads the next frame's length and CID; `None` at a clean end of the CAR. The caller then
    /// takes the block with [`Frames::read_block`] or [`Frames::skip_block`].
    pub(crate) fn next_head(&mut self) -> Result<Option<FrameHead>, CarError> {
        let start = self.offset;
        let Some(len) = read_varint(&mut self.input).map_err(|e| self.truncated(e))? else {
            return Ok(None);
        };
        if len > MAX_FRAME_LEN {
            return Err(CarError::FrameTooLarge {
                offset: start,
                len,
                max: MAX_FRAME_LEN,
            });
        }
        self.head.clear();
        put_varint(&mut self.head, len);
        let cid = self.read_cid(start, len)?;
        let key = BlockKey::of(&cid).ok_or(CarError::UnsupportedHash { cid })?;
        let head_len = varint_len(len) as u64 + cid.encoded_len() as u64;
        Ok(Some(FrameHead {
            start,
            len,
            cid,
            key,
            head_len,
        }))
    }

    /// Reads the CID at the start of a frame of `len` bytes (starting at `start`), appending its
    /// bytes to `self.head`. The CID is read within the frame's own bytes, so it can never run
    /// past them. Parsing it straight from the reader's buffer is the common case (a CID
    /// straddles the end of the buffer once in thousands of frames): going through `Read` one
    /// varint byte at a time costs about 0.3 µs a frame, a second for a catalogue's 3 million.
    fn read_cid(&mut self, start: u64, len: u64) -> Result<Cid, CarError> {
        let buf = match self.input.fill_buf() {
            Ok(buf) => buf,
            Err(e) => return Err(CarError::Io(e)),
        };
        let avail = &buf[..buf.len().min(len as usize)];
        if let Ok(cid) = Cid::read_bytes(avail) {
            let n = cid.encoded_len();
            self.head.extend_from_slice(&avail[..n]);
            self.input.consume(n);
            return Ok(cid);
        }
        if avail.len() as u64 == len {
            // The whole frame was there to parse: no CID starts it.
            return Err(CarError::BadCid { offset: start });
        }
        self.read_cid_slow(start, len)
    }

    /// [`Frames::read_cid`] when the CID is not whole in the buffer: its bytes are read one by
    /// one, as its structure says (`0x12 0x20` + 32 bytes for CIDv0; version, codec, hash code
    /// and digest length varints + digest for CIDv1), so nothing past it is consumed, and the
    /// end of the input inside it is told apart from bytes that are no CID.
    fn read_cid_slow(&mut self, start: u64, len: u64) -> Result<Cid, CarError> {
        let head_start = self.head.len();
        let mut frame = (&mut self.input).take(len);
        let head = &mut self.head;
        let mut byte = || -> Result<u8, CarError> {
            let mut b = [0u8];
            match frame.read(&mut b) {
                Ok(1) => {
                    head.push(b[0]);
                    Ok(b[0])
                }
                // The frame ends inside its CID: no CID starts it.
                Ok(_) if frame.limit() == 0 => Err(CarError::BadCid { offset: start }),
                Ok(_) => Err(CarError::Truncated { offset: start }),
                Err(e) => Err(CarError::Io(e)),
            }
        };
        let mut varint = || -> Result<u64, CarError> {
            let mut value = 0u64;
            for i in 0..9 {
                let b = byte()?;
                value |= u64::from(b & 0x7f) << (7 * i);
                if b & 0x80 == 0 {
                    return Ok(value);
                }
            }
            Err(CarError::BadCid { offset: start })
        };
        let first = varint()?;
        if first != 0x12 {
            varint()?; // codec
            varint()?; // hash code
        }
        let digest_len = varint()?;
        if digest_len > 64 {
            return Err(CarError::BadCid { offset: start });
        }
        for _ in 0..digest_len {
            byte()?;
        }
        Cid::try_from(&self.head[head_start..]).map_err(|_| CarError::BadCid { offset: start })
    }

    /// The bytes of the frame head just read: the length varint and the CID, as they are in
    /// the CAR.
    pub(crate) fn head_bytes(&self) -> &[u8] {
        &self.head
    }

    /// Appends the block of the frame `head` (just read) to `out`.
    pub(crate) fn read_block(
        &mut self,
        head: &FrameHead,
        out: &mut Vec<u8>,
    ) -> Result<(), CarError> {
        let at = out.len();
        out.resize(at + head.block_len(), 0);
        self.input
            .read_exact(&mut out[at..])
            .map_err(|e| self.truncated(e))?;
        self.offset = head.end();
        Ok(())
    }
}

impl<R: Read + Seek> Frames<R> {
    /// Skips the block of the frame `head` (just read). `total` is the CAR's length: a block
    /// that would end past it is a truncated CAR.
    pub(crate) fn skip_block(&mut self, head: &FrameHead, total: u64) -> Result<(), CarError> {
        if head.end() > total {
            return Err(CarError::Truncated { offset: head.start });
        }
        self.input
            .seek_relative(head.block_len() as i64)
            .map_err(|e| self.truncated(e))?;
        self.offset = head.end();
        Ok(())
    }
}
