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
//! Every reader goes through one frame parser (`frame`), which bounds every size by
//! [`MAX_HEADER_LEN`] and [`MAX_FRAME_LEN`] and knows every block by one key:
//!
//! - [`CarReader`] streams the blocks of an untrusted CAR, checking each against its CID;
//! - [`CarIndex`] reads every frame head once and then serves blocks at random, checking each
//!   one it serves (for reading a few blocks of a large catalogue).
//!
//! The base of an incremental catalogue merge, which also reads CARs through this parser, is
//! the catalogue's: `crate::catalogue`.

use std::io;

use cid::Cid;
use serde::{Deserialize, Serialize};

use crate::unixfs::block::put_varint;

mod frame;
mod index;
mod reader;
mod writer;

pub(crate) use frame::{block_matches, presize, BlockKey, Frames, KeyBuild, KeyMap};
pub use index::CarIndex;
pub use reader::{check_car, CarReader, CarSummary};
pub use writer::CarWriter;

/// The largest CAR header read: 64 KiB. A header holds a few root CIDs (~40 bytes each); a
/// longer one is not a CAR this project reads.
pub const MAX_HEADER_LEN: u64 = 64 * 1024;
/// The largest frame read: a 2 MiB block ([`crate::unixfs::BLOCK_SIZE_LIMIT`]) plus its CID.
pub const MAX_FRAME_LEN: u64 = crate::unixfs::profile::BLOCK_SIZE_LIMIT as u64 + 1024;

#[derive(Serialize, Deserialize)]
pub(crate) struct CarHeader {
    // DAG-CBOR orders map keys by length first: `roots` before `version`.
    pub(crate) roots: Vec<Cid>,
    pub(crate) version: u64,
}

pub(crate) fn encode_header(roots: &[Cid]) -> Vec<u8> {
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
    /// A CARv2 (a CARv1 inside, with an index after it), which this reader does not read.
    #[error("it is a CARv2: only CARv1 is read (`car` or `ipfs dag export` write one)")]
    CarV2,
    /// The input cannot be read at random (a pipe): an index needs a file.
    #[error("it is not a regular file (a pipe?): a catalogue is read at random, so give a file")]
    NotAFile,
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

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::block::{cid_of, RAW};
    use crate::unixfs::sink::BlockSink;
    use crate::unixfs::CidVersion;
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

    /// A CAR of 200 raw blocks of different lengths: the blocks, where each frame starts, and
    /// the CAR.
    fn two_hundred_blocks() -> (Vec<Vec<u8>>, Vec<u64>, Vec<u8>) {
        let blocks: Vec<Vec<u8>> = (0..200u32)
            .map(|i| i.to_le_bytes().repeat(100 + i as usize))
            .collect();
        let mut car = CarWriter::new(Vec::new(), &[raw(&blocks[0])]).unwrap();
        let mut starts = Vec::new();
        for b in &blocks {
            starts.push(car.bytes_written());
            car.put(&raw(b), b).unwrap();
        }
        let bytes = car.finish().unwrap();
        (blocks, starts, bytes)
    }

    /// The numbers of threads a CAR is checked on.
    fn thread_counts() -> impl Iterator<Item = std::num::NonZeroUsize> {
        [1, 2, 4]
            .into_iter()
            .map(|n| std::num::NonZeroUsize::new(n).unwrap())
    }

    #[test]
    fn a_whole_car_is_checked_on_several_threads() {
        let (blocks, _, bytes) = two_hundred_blocks();
        for threads in thread_counts() {
            let summary = check_car(&bytes[..], threads).unwrap();
            assert_eq!(summary.roots, [raw(&blocks[0])]);
            assert_eq!(summary.blocks, 200);
            assert_eq!(summary.bytes, bytes.len() as u64);
        }
    }

    /// Two damaged blocks: the earlier one is named, whichever thread saw it.
    #[test]
    fn the_first_bad_block_is_named_whichever_thread_saw_it() {
        let (blocks, starts, bytes) = two_hundred_blocks();
        for threads in thread_counts() {
            let mut bad = bytes.clone();
            for i in [150, 37] {
                let last = (starts.get(i + 1).copied().unwrap()) as usize - 1;
                bad[last] ^= 0x80;
            }
            match check_car(&bad[..], threads) {
                Err(CarError::HashMismatch { cid, offset }) => {
                    assert_eq!((cid, offset), (raw(&blocks[37]), starts[37]));
                }
                other => panic!("{threads} threads: {other:?}"),
            }
        }
    }

    #[test]
    fn a_truncated_car_is_refused_on_several_threads() {
        let (_, _, bytes) = two_hundred_blocks();
        for threads in thread_counts() {
            let cut = &bytes[..bytes.len() - 3];
            assert!(matches!(
                check_car(cut, threads),
                Err(CarError::Truncated { .. })
            ));
        }
    }

    /// A reader that hands out one byte a call, so every CID straddles the end of the frame
    /// parser's buffer and takes its slow path.
    struct Trickle<'a>(&'a [u8]);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            if buf.is_empty() {
                return Ok(0);
            }
            buf[0] = first;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn cids_split_across_reads_give_the_same_blocks() {
        let blocks: Vec<Vec<u8>> = (0..50u8).map(|i| vec![i; usize::from(i) * 7]).collect();
        let mut car = CarWriter::new(Vec::new(), &[raw(&blocks[0])]).unwrap();
        for b in &blocks {
            car.put(&raw(b), b).unwrap();
        }
        let bytes = car.finish().unwrap();
        let whole: Vec<_> = CarReader::new(&bytes[..])
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let trickled: Vec<_> = CarReader::new(Trickle(&bytes))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(whole.len(), blocks.len());
        assert_eq!(whole, trickled);
        // And a CAR cut inside a CID is truncated, not a bad CID.
        let cut = &bytes[..bytes.len() - blocks[49].len() - 10];
        let err = CarReader::new(Trickle(cut))
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_err();
        assert!(matches!(err, CarError::Truncated { .. }), "{err}");
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

    proptest::proptest! {
        /// Adversarial CARs: a valid CAR of random blocks with bytes flipped, cut or spliced in.
        /// Reading ends in blocks or an error, never a panic, and every block it returns
        /// matches its CID.
        #[test]
        fn mutated_cars_never_panic_and_never_yield_a_bad_block(
            blocks in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), 1..8),
            edits in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>(), 0u8..3), 1..6),
        ) {
            let mut car = CarWriter::new(Vec::new(), &[raw(&blocks[0])]).unwrap();
            for b in &blocks {
                car.put(&raw(b), b).unwrap();
            }
            let mut bytes = car.finish().unwrap();
            crate::testutil::mutate(&mut bytes, &edits);
            if let Ok(reader) = CarReader::new(&bytes[..]) {
                for block in reader.take(64) {
                    match block {
                        Ok((cid, data)) => proptest::prop_assert!(frame::block_matches(&cid, &data)),
                        Err(_) => break,
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
