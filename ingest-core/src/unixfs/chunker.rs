//! Fixed-size chunking, boxo's `size-N` splitter: content is cut every `chunk_size` bytes, the
//! last chunk may be short, and an empty input has no chunk at all.
//!
//! The chunker is sans-IO: [`Chunker::fill`] copies from a slice, and [`Chunker::spare`] /
//! [`Chunker::advance`] let a reader write into the chunk buffer directly, so reading a file
//! costs no extra copy. Chunk boundaries depend only on the byte count, never on how the input
//! was sliced. Each buffer keeps [`LEAF_HEADROOM`] bytes in front of the data and
//! [`LEAF_TAILROOM`] after it, so a dag-pb leaf can be wrapped around the chunk in place.

use crate::unixfs::block::{LEAF_HEADROOM, LEAF_TAILROOM};

/// A chunk buffer: `LEAF_HEADROOM` spare bytes, the chunk, then `LEAF_TAILROOM` spare bytes.
#[derive(Debug)]
pub(crate) struct ChunkBuf {
    /// Always `LEAF_HEADROOM + chunk_size + LEAF_TAILROOM` long; allocated (and zeroed) once and
    /// reused, so no chunk is ever zeroed again.
    pub(crate) buf: Vec<u8>,
    /// Content bytes in this chunk.
    pub(crate) len: usize,
}

/// Cuts a stream into fixed-size chunks, recycling buffers handed back with [`Chunker::recycle`].
#[derive(Debug)]
pub(crate) struct Chunker {
    chunk_size: usize,
    current: Option<ChunkBuf>,
    free: Vec<Vec<u8>>,
}

impl Chunker {
    pub(crate) fn new(chunk_size: usize) -> Self {
        Chunker {
            chunk_size,
            current: None,
            free: Vec::new(),
        }
    }

    fn current(&mut self) -> &mut ChunkBuf {
        let size = LEAF_HEADROOM + self.chunk_size + LEAF_TAILROOM;
        let free = &mut self.free;
        self.current.get_or_insert_with(|| ChunkBuf {
            buf: free.pop().unwrap_or_else(|| vec![0; size]),
            len: 0,
        })
    }

    /// Copies as much of `data` as fits in the current chunk and returns how many bytes it took.
    pub(crate) fn fill(&mut self, data: &[u8]) -> usize {
        let spare = self.spare();
        let n = spare.len().min(data.len());
        spare[..n].copy_from_slice(&data[..n]);
        self.advance(n);
        n
    }

    /// The unfilled part of the current chunk (never empty: a full chunk must be taken first).
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        let chunk_size = self.chunk_size;
        let cur = self.current();
        &mut cur.buf[LEAF_HEADROOM + cur.len..LEAF_HEADROOM + chunk_size]
    }

    /// Marks `n` more bytes of [`Chunker::spare`] as filled.
    pub(crate) fn advance(&mut self, n: usize) {
        let cur = self.current();
        cur.len += n;
        debug_assert!(cur.len <= self.chunk_size);
    }

    /// The current chunk if it is full.
    pub(crate) fn take_full(&mut self) -> Option<ChunkBuf> {
        match &self.current {
            Some(c) if c.len == self.chunk_size => self.current.take(),
            _ => None,
        }
    }

    /// The last, possibly short, chunk; `None` if it holds no byte.
    pub(crate) fn take_last(&mut self) -> Option<ChunkBuf> {
        self.current.take().filter(|c| c.len > 0)
    }

    /// Hands a buffer back for reuse.
    pub(crate) fn recycle(&mut self, buf: Vec<u8>) {
        if buf.len() == LEAF_HEADROOM + self.chunk_size + LEAF_TAILROOM {
            self.free.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk_lengths(total: usize, chunk: usize, slice: usize) -> Vec<usize> {
        let data = vec![1u8; total];
        let mut c = Chunker::new(chunk);
        let mut out = Vec::new();
        for piece in data.chunks(slice.max(1)) {
            let mut rest = piece;
            while !rest.is_empty() {
                let n = c.fill(rest);
                rest = &rest[n..];
                if let Some(full) = c.take_full() {
                    out.push(full.len);
                }
            }
        }
        out.extend(c.take_last().map(|c| c.len));
        out
    }

    #[test]
    fn boundaries() {
        assert_eq!(chunk_lengths(0, 4, 3), Vec::<usize>::new());
        assert_eq!(chunk_lengths(1, 4, 3), vec![1]);
        assert_eq!(chunk_lengths(4, 4, 3), vec![4], "at chunk size");
        assert_eq!(chunk_lengths(5, 4, 3), vec![4, 1], "chunk size + 1");
        assert_eq!(chunk_lengths(8, 4, 1), vec![4, 4]);
        assert_eq!(chunk_lengths(11, 4, 100), vec![4, 4, 3]);
    }
}
