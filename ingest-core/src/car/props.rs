//! Property tests of the one CAR frame parser ([`Frames`]) on untrusted bytes: arbitrary ones
//! (after a valid header or not) and valid CARs with bytes flipped, cut or spliced in.
//!
//! Never a panic; the frames read are bounded by the input (a frame's buffer is at most
//! [`MAX_FRAME_LEN`] before its bytes arrive); and the input read whole, a few bytes at a time
//! (which takes the slow path of a CID split across reads), or skipped through (as
//! [`super::CarIndex`] does) gives the same frames and the same error. [`check_car`] on
//! several threads finds what [`CarReader`] finds on one.

use std::io::{Cursor, Read};
use std::num::NonZeroUsize;

use proptest::prelude::*;

use super::*;
use crate::testutil::{mutate, Edits};
use crate::unixfs::block::{cid_of, DAG_CBOR, DAG_PB, RAW};
use crate::unixfs::sink::BlockSink;
use crate::unixfs::CidVersion;

/// A reader that hands out at most `chunk` bytes a call.
struct Trickle<'a> {
    bytes: &'a [u8],
    chunk: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.chunk.min(buf.len()).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        Ok(n)
    }
}

/// What a pass over a CAR gives: its frames (CID, block), then how it ended (the error's
/// message).
type Outcome = (Vec<(Cid, Vec<u8>)>, Result<(), String>);

/// What a pass skipping the blocks gives: each frame's CID and where its block is, then how it
/// ended.
type Skipped = (Vec<(Cid, std::ops::Range<usize>)>, Result<(), String>);

/// Every frame of `input`, read.
fn read_all<R: Read>(input: R) -> Outcome {
    let mut frames = match Frames::new(input) {
        Ok(frames) => frames,
        Err(e) => return (Vec::new(), Err(e.to_string())),
    };
    let mut out = Vec::new();
    loop {
        let head = match frames.next_head() {
            Ok(Some(head)) => head,
            Ok(None) => return (out, Ok(())),
            Err(e) => return (out, Err(e.to_string())),
        };
        let mut block = Vec::new();
        if let Err(e) = frames.read_block(&head, &mut block) {
            return (out, Err(e.to_string()));
        }
        out.push((head.cid, block));
    }
}

/// Every frame of `bytes`, skipped: the CIDs and where each block is.
fn skip_all(bytes: &[u8]) -> Skipped {
    let mut frames = match Frames::new(Cursor::new(bytes)) {
        Ok(frames) => frames,
        Err(e) => return (Vec::new(), Err(e.to_string())),
    };
    let mut out = Vec::new();
    loop {
        let head = match frames.next_head() {
            Ok(Some(head)) => head,
            Ok(None) => return (out, Ok(())),
            Err(e) => return (out, Err(e.to_string())),
        };
        if let Err(e) = frames.skip_block(&head, bytes.len() as u64) {
            return (out, Err(e.to_string()));
        }
        out.push((head.cid, head.block_start() as usize..head.end() as usize));
    }
}

/// The blocks [`CarReader`] returns, and its error.
fn sequential(bytes: &[u8]) -> (u64, Result<(), String>) {
    let mut reader = match CarReader::new(bytes) {
        Ok(reader) => reader,
        Err(e) => return (0, Err(e.to_string())),
    };
    let mut blocks = 0;
    loop {
        match reader.next_block() {
            Ok(Some(_)) => blocks += 1,
            Ok(None) => return (blocks, Ok(())),
            Err(e) => return (blocks, Err(e.to_string())),
        }
    }
}

/// Checks every way of reading `bytes` against each other, and bounds.
fn check(bytes: &[u8], chunk: usize) -> Result<(), TestCaseError> {
    let whole = read_all(bytes);
    let total: usize = whole.0.iter().map(|(_, b)| b.len()).sum();
    prop_assert!(total <= bytes.len());
    prop_assert!(whole.0.len() <= bytes.len());
    let pieces = read_all(Trickle { bytes, chunk });
    prop_assert_eq!(&pieces, &whole, "read {} bytes at a time", chunk);
    let (skipped, end) = skip_all(bytes);
    prop_assert_eq!(&end, &whole.1);
    prop_assert_eq!(skipped.len(), whole.0.len());
    for ((cid, range), (read_cid, block)) in skipped.into_iter().zip(&whole.0) {
        prop_assert_eq!(&cid, read_cid);
        prop_assert_eq!(&bytes[range], block.as_slice());
    }
    let (blocks, first_error) = sequential(bytes);
    let threads = NonZeroUsize::new(2).expect("2 is not 0");
    match check_car(bytes, threads) {
        Ok(summary) => {
            prop_assert_eq!(first_error, Ok(()));
            prop_assert_eq!(summary.blocks, blocks);
            prop_assert!(summary.bytes <= bytes.len() as u64);
        }
        Err(e) => prop_assert_eq!(first_error, Err(e.to_string())),
    }
    Ok(())
}

/// A valid CAR of `blocks`: raw CIDv1, dag-pb CIDv0 and DAG-CBOR CIDv1 in turn.
fn car_of(blocks: &[Vec<u8>]) -> Vec<u8> {
    let cid = |i: usize, b: &[u8]| match i % 3 {
        0 => cid_of(CidVersion::V1, RAW, b),
        1 => cid_of(CidVersion::V0, DAG_PB, b),
        _ => cid_of(CidVersion::V1, DAG_CBOR, b),
    };
    let roots = [cid(0, &blocks[0])];
    let mut car = CarWriter::new(Vec::new(), &roots).expect("writing to a Vec");
    for (i, b) in blocks.iter().enumerate() {
        car.put(&cid(i, b), b).expect("writing to a Vec");
    }
    car.finish().expect("writing to a Vec")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Arbitrary bytes, alone or after a valid header.
    #[test]
    fn any_bytes_frame_alike_and_within_bounds(
        header in any::<bool>(),
        body in proptest::collection::vec(any::<u8>(), 0..600),
        chunk in 1usize..40,
    ) {
        let mut bytes = if header { encode_header(&[]) } else { Vec::new() };
        bytes.extend_from_slice(&body);
        check(&bytes, chunk)?;
    }

    /// Valid CARs of raw, dag-pb and DAG-CBOR blocks, mutated.
    #[test]
    fn mutated_cars_frame_alike_and_within_bounds(
        blocks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..6),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 0..5),
        chunk in 1usize..40,
    ) {
        let mut bytes = car_of(&blocks);
        mutate(&mut bytes, &edits as &Edits);
        check(&bytes, chunk)?;
    }
}
