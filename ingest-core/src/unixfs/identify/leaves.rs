//! One read of a file, every candidate's root: leaves hashed once per (chunk size, leaf
//! encoding), trees built over them for every (CID version, links per node).
//!
//! A [`LeafGroup`] is sans-IO: it takes the file's bytes in slices of any size and hashes each
//! leaf as the bytes go by, without a chunk buffer. It knows the file's size beforehand, so the
//! dag-pb header of every leaf, which holds the chunk's length, is hashed before the chunk's
//! first byte arrives (the last chunk's length is the size's remainder). A raw leaf is the chunk
//! itself, a dag-pb leaf `header ‖ chunk ‖ trailer` ([`file_leaf_frame`]): the same bytes give
//! the two encodings different digests, so a chunk is hashed once per encoding, never once per
//! candidate. Each leaf's CID is pushed into one balanced layout per (version, links); internal
//! nodes are about 1 in 174 blocks, so building four trees costs little next to the leaves.
//!
//! [`feed`] reads a file once and hands every slice to every group: on the calling thread for a
//! small file or one thread, otherwise to worker threads that share each read buffer (an
//! `Arc`, handed back when every worker is done with it). Memory: [`POOL`] read buffers of
//! [`READ_SIZE`] bytes (2 MiB), whatever the size of the file and the number of groups, plus the
//! open nodes of each layout (see the `layout` module: at most ~340 KiB a tree).

use std::io::{self, Read};
use std::sync::mpsc;
use std::sync::Arc;

use cid::Cid;
use sha2::{Digest, Sha256};

use crate::unixfs::block::{
    cid_of_digest, encode_leaf, file_leaf_frame, Link, DAG_PB, LEAF_HEADROOM, LEAF_TAILROOM, RAW,
};
use crate::unixfs::layout::BalancedLayout;
use crate::unixfs::profile::{CidVersion, Profile};
use crate::unixfs::sink::HashOnly;

/// Bytes per read. Small enough that the buffer a read fills is still in the core's L2 cache
/// (512 KiB on the machine of the benchmarks) when it is hashed four times: with 512 KiB reads
/// the kernel's copy into it cost three times as much (0.15 s against 0.05 s of system time
/// for 256 MiB on one thread), with no difference in the hashing.
pub(super) const READ_SIZE: usize = 64 * 1024;
/// Read buffers in flight (2 MiB): enough for each worker to have several queued while the
/// calling thread reads the next.
const POOL: usize = 32;
/// Buffers queued per worker.
const QUEUE: usize = 8;
/// Files smaller than this are hashed on the calling thread: starting threads would cost more
/// than they save.
pub(super) const PARALLEL_FROM: u64 = 1 << 20;

/// Which leaves: the chunk size (the file's size when it is one chunk under several sizes) and
/// the encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct GroupKey {
    pub(super) chunk: u64,
    pub(super) raw: bool,
}

/// A tree over the group's leaves: a balanced layout under a profile's version and links.
#[derive(Debug)]
struct Tree {
    profile: Profile,
    layout: BalancedLayout,
}

/// The root of one tree: CID and dag size.
pub(super) type Root = (Cid, u64);

/// Hashes the leaves of one (chunk size, encoding) and builds every tree asked for over them.
#[derive(Debug)]
pub(super) struct LeafGroup {
    key: GroupKey,
    trees: Vec<Tree>,
    hasher: Sha256,
    /// The dag-pb trailer of the current chunk.
    tail: Vec<u8>,
    /// Header and trailer bytes of the current chunk (0 for raw leaves).
    frame_len: usize,
    /// Length of the current chunk, and bytes of it hashed.
    chunk_len: usize,
    filled: usize,
    /// Bytes of the file not hashed yet.
    remaining: u64,
    file_size: u64,
}

impl LeafGroup {
    /// A group for leaves `key`, with one tree per (version, links) in `trees` (profiles whose
    /// leaf encoding is `key.raw`; only their version and links are read).
    pub(super) fn new(key: GroupKey, trees: &[&Profile]) -> Self {
        LeafGroup {
            key,
            trees: trees
                .iter()
                .map(|&p| Tree {
                    profile: p.clone(),
                    layout: BalancedLayout::new(p),
                })
                .collect(),
            hasher: Sha256::new(),
            tail: Vec::new(),
            frame_len: 0,
            chunk_len: 0,
            filled: 0,
            remaining: 0,
            file_size: 0,
        }
    }

    /// Starts a file of `size` bytes (its trees start empty).
    pub(super) fn start(&mut self, size: u64) {
        for t in &mut self.trees {
            t.layout = BalancedLayout::new(&t.profile);
        }
        self.remaining = size;
        self.file_size = size;
        if size > 0 {
            self.begin_chunk();
        }
    }

    fn begin_chunk(&mut self) {
        let n = self.key.chunk.min(self.remaining) as usize;
        self.hasher = Sha256::new();
        self.frame_len = 0;
        if !self.key.raw {
            let (head, tail) = file_leaf_frame(n);
            self.hasher.update(&head);
            self.frame_len = head.len() + tail.len();
            self.tail = tail;
        }
        self.chunk_len = n;
        self.filled = 0;
    }

    /// Takes the next bytes of the file. Bytes past the size given to `start` are ignored (the
    /// caller reads no more than that).
    pub(super) fn push(&mut self, mut data: &[u8]) {
        while !data.is_empty() && self.remaining > 0 {
            let k = (self.chunk_len - self.filled).min(data.len());
            self.hasher.update(&data[..k]);
            self.filled += k;
            self.remaining -= k as u64;
            data = &data[k..];
            if self.filled == self.chunk_len {
                self.end_chunk();
                if self.remaining > 0 {
                    self.begin_chunk();
                }
            }
        }
    }

    fn end_chunk(&mut self) {
        if !self.key.raw {
            self.hasher.update(&self.tail);
        }
        let digest: [u8; 32] = self.hasher.finalize_reset().into();
        let dag_size = (self.chunk_len + self.frame_len) as u64;
        let raw_cid = self
            .key
            .raw
            .then(|| cid_of_digest(CidVersion::V1, RAW, &digest));
        for t in &mut self.trees {
            // Raw leaves are CIDv1 whatever the tree's version, as in kubo.
            let version = t.profile.cid_version();
            let cid = raw_cid.unwrap_or_else(|| cid_of_digest(version, DAG_PB, &digest));
            let Ok(()) = t.layout.push_leaf(
                (Link { cid, dag_size }, self.chunk_len as u64),
                &mut HashOnly,
            );
        }
    }

    /// Ends the file: the root of every tree, in the order of the profiles given to `new`.
    /// `None` if fewer bytes came than the size given to `start`.
    pub(super) fn finish(&mut self) -> Option<Vec<Root>> {
        if self.remaining > 0 {
            return None;
        }
        let empty = self.file_size == 0;
        let raw = self.key.raw;
        Some(
            self.trees
                .iter_mut()
                .map(|t| {
                    if empty {
                        // An empty file has no chunk: kubo writes an empty leaf.
                        let mut buf = [0u8; LEAF_HEADROOM + LEAF_TAILROOM];
                        let (range, cid) = encode_leaf(raw, t.profile.cid_version(), &mut buf, 0);
                        return (cid, range.len() as u64);
                    }
                    let Ok(root) = t.layout.finish(&mut HashOnly);
                    let (link, _) = root.expect("a file of one byte or more has a leaf");
                    (link.cid, link.dag_size)
                })
                .collect(),
        )
    }
}

/// A read buffer shared by the workers, and the bytes of it that hold data.
type Job = (Arc<Vec<u8>>, usize);

/// Why [`feed`] stopped.
#[derive(Debug)]
pub(super) enum FeedError {
    /// Reading failed after `offset` bytes.
    Read { offset: u64, source: io::Error },
    /// A worker thread panicked.
    Worker,
}

/// Reads up to `size` bytes of `reader` once and pushes every byte into every group, on
/// `threads` threads; `progress` hears of every read. Returns the bytes read (fewer than `size`
/// if the file ended early: the caller's size check reports it).
pub(super) fn feed(
    reader: &mut dyn Read,
    size: u64,
    groups: &mut [LeafGroup],
    threads: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, FeedError> {
    for g in groups.iter_mut() {
        g.start(size);
    }
    if threads < 2 || size < PARALLEL_FROM || groups.is_empty() {
        let mut buf = vec![0u8; READ_SIZE.min(size as usize).max(1)];
        let mut total = 0;
        loop {
            let want = buf.len().min((size - total) as usize);
            let n = read_full(reader, &mut buf[..want], total)?;
            if n == 0 {
                return Ok(total);
            }
            total += n as u64;
            progress(n as u64);
            for g in groups.iter_mut() {
                g.push(&buf[..n]);
            }
        }
    }
    feed_parallel(reader, size, groups, threads, progress)
}

/// [`feed`] on `threads` threads: groups are dealt round-robin to `min(threads, groups)`
/// shares, one of them the calling thread's, and each buffer read goes to all of them.
fn feed_parallel(
    reader: &mut dyn Read,
    size: u64,
    groups: &mut [LeafGroup],
    threads: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, FeedError> {
    // The calling thread reads and hashes a share too, as the importer's does (no third thread
    // competing for two cores); with a single group it only reads, so reading and hashing
    // overlap.
    let shares = threads.min(groups.len());
    let mut sets: Vec<Vec<&mut LeafGroup>> = (0..shares).map(|_| Vec::new()).collect();
    for (i, g) in groups.iter_mut().enumerate() {
        sets[i % shares].push(g);
    }
    let mut own = if shares >= 2 {
        sets.remove(0)
    } else {
        Vec::new()
    };
    std::thread::scope(|scope| {
        let (back_tx, back_rx) = mpsc::channel::<Arc<Vec<u8>>>();
        let mut jobs = Vec::with_capacity(sets.len());
        let mut handles = Vec::with_capacity(sets.len());
        for mut set in sets {
            let (tx, rx) = mpsc::sync_channel::<Job>(QUEUE);
            let back = back_tx.clone();
            handles.push(scope.spawn(move || {
                for (buf, len) in rx {
                    for g in set.iter_mut() {
                        g.push(&buf[..len]);
                    }
                    if back.send(buf).is_err() {
                        break;
                    }
                }
            }));
            jobs.push(tx);
        }
        drop(back_tx);
        let result = read_into_workers(reader, size, &mut own, &jobs, &back_rx, progress);
        // Closing the job channels ends the workers' loops.
        drop(jobs);
        let mut died = false;
        for h in handles {
            died |= h.join().is_err();
        }
        match result {
            Ok(_) if died => Err(FeedError::Worker),
            other => other,
        }
    })
}

/// Reads `size` bytes into shared buffers, sends each to every worker, and pushes it into the
/// calling thread's `own` groups.
fn read_into_workers(
    reader: &mut dyn Read,
    size: u64,
    own: &mut [&mut LeafGroup],
    jobs: &[mpsc::SyncSender<Job>],
    back: &mpsc::Receiver<Arc<Vec<u8>>>,
    progress: &mut dyn FnMut(u64),
) -> Result<u64, FeedError> {
    let mut allocated = 0;
    let mut total = 0u64;
    while total < size {
        let mut buf = if allocated < POOL {
            allocated += 1;
            vec![0u8; READ_SIZE]
        } else {
            // Every worker hands each buffer back; the last one back is free again.
            loop {
                let returned = back.recv().map_err(|_| FeedError::Worker)?;
                if let Ok(buf) = Arc::try_unwrap(returned) {
                    break buf;
                }
            }
        };
        let want = READ_SIZE.min((size - total) as usize);
        let n = read_full(reader, &mut buf[..want], total)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        progress(n as u64);
        let shared = Arc::new(buf);
        for job in jobs {
            job.send((Arc::clone(&shared), n))
                .map_err(|_| FeedError::Worker)?;
        }
        for g in own.iter_mut() {
            g.push(&shared[..n]);
        }
        // Dropped here, so the last copy a worker hands back can be taken whole.
        drop(shared);
    }
    Ok(total)
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full(reader: &mut dyn Read, buf: &mut [u8], offset: u64) -> Result<usize, FeedError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(source) => {
                return Err(FeedError::Read {
                    offset: offset + filled as u64,
                    source,
                })
            }
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::vector_content;
    use crate::unixfs::profile::Overrides;

    /// `node tests/reference/cid.mjs --profile unixfs-v0-2015 --cid-version V --raw-leaves R
    /// --chunk 1000 --max-links 3 FILE` (ipfs-unixfs-importer 17.1.1) of `vector_content("identify-N",
    /// N)`, for (N, V, R): trees of up to four levels, on every chunk and node boundary.
    const JS_REFERENCE: [(usize, u8, bool, &str); 36] = [
        (
            0,
            0,
            false,
            "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH",
        ),
        (
            0,
            1,
            false,
            "bafybeif7ztnhq65lumvvtr4ekcwd2ifwgm3awq4zfr3srh462rwyinlb4y",
        ),
        (
            0,
            0,
            true,
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
        ),
        (
            0,
            1,
            true,
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku",
        ),
        (
            1,
            0,
            false,
            "QmSevRAatWXtL7UCSZKKi38P7kKXvvx4t6nXhhrphWbXnD",
        ),
        (
            1,
            1,
            false,
            "bafybeicadt3jr6qquwqqpmqd4udzyik6ipdxhhwj3fyx5pzxihjshckz2y",
        ),
        (
            1,
            0,
            true,
            "bafkreiewkjmv6n7n2cgfdx5cmvt6ntlw435cocod4v4epdfdtdjrna32pi",
        ),
        (
            1,
            1,
            true,
            "bafkreiewkjmv6n7n2cgfdx5cmvt6ntlw435cocod4v4epdfdtdjrna32pi",
        ),
        (
            999,
            0,
            false,
            "QmRnmnoUm9MuvKisU6Nu3t8ZWtmr2HoZrnPbTeZTsVsiTG",
        ),
        (
            999,
            1,
            false,
            "bafybeibtiqvrivzbeykcxyn33h27sxmwules5t5l25shdzlqwwcrachha4",
        ),
        (
            999,
            0,
            true,
            "bafkreiathykwp3swptj4lphn2ynxr2zdnke3wxyypvlgurwbj7iulut6wi",
        ),
        (
            999,
            1,
            true,
            "bafkreiathykwp3swptj4lphn2ynxr2zdnke3wxyypvlgurwbj7iulut6wi",
        ),
        (
            1000,
            0,
            false,
            "QmXAzeVeCvf1R2uXcJ6ftmXrWWEKkqbfNqgRyVjts195jp",
        ),
        (
            1000,
            1,
            false,
            "bafybeiedh7vpxlvwovajlyhxhk5s4zjseorpdsi75i3yc2d6ulcvezueqm",
        ),
        (
            1000,
            0,
            true,
            "bafkreigduton3nwqujrijwhcwlk4hvasbhpscoajsp4jvk2wsl4vd2ovni",
        ),
        (
            1000,
            1,
            true,
            "bafkreigduton3nwqujrijwhcwlk4hvasbhpscoajsp4jvk2wsl4vd2ovni",
        ),
        (
            1001,
            0,
            false,
            "QmaPQv44t4G5UWpKVcgjxW3d9KDnUZ53oBxKAcc2wdQ7xy",
        ),
        (
            1001,
            1,
            false,
            "bafybeiaeec7yst6e7ym4yv7a3emfp4vuqhkv7b3sferqu254punx3g7fsm",
        ),
        (
            1001,
            0,
            true,
            "QmXHLuxckrDejyPnWowES71rp5JMePbBuZHqoVEV2FcMF5",
        ),
        (
            1001,
            1,
            true,
            "bafybeiee4bix2zbekpwsxg25zchbckm2awmwhqg3clmpsrzareyx2fmjpa",
        ),
        (
            3000,
            0,
            false,
            "QmQKfP39f8WikMfk1ESf5Z5Vpu154hJefdZEKfUddaxnbA",
        ),
        (
            3000,
            1,
            false,
            "bafybeiedpmhxgrlqow4rx7zqmdd6nbgad3x3pfl6vonpwewb4ihwlvnhpi",
        ),
        (
            3000,
            0,
            true,
            "QmXKMUA1FJDKZMbABxY2nnUP1xxxEMJBMSAZdoNyLgFzoQ",
        ),
        (
            3000,
            1,
            true,
            "bafybeiefmqnyxszl76pqlgfwfzzchgwlm7rshwxevbbi4xwc7dv2exlgq4",
        ),
        (
            3001,
            0,
            false,
            "QmXv3Z6AGb1gWR97ykyb5yiKRagG5SoHf8cugE2Yp1t4rV",
        ),
        (
            3001,
            1,
            false,
            "bafybeigbrrv4w4cdrlb3u7yz73a5pumo64mtezmnzcgaoocxugkmhocq5a",
        ),
        (
            3001,
            0,
            true,
            "QmefZVcvzus329PNYXfTk3NaBBaUJNZgCH61i1yjabhG48",
        ),
        (
            3001,
            1,
            true,
            "bafybeicpsou5yygjzakpxoolwp36edjglvjedhnffbc46qfbe4amhrk52y",
        ),
        (
            9001,
            0,
            false,
            "QmPFeXH83Lsj52sKakfAEPdSAeH3K3MQMSrBCxS6gPG6EL",
        ),
        (
            9001,
            1,
            false,
            "bafybeid7o7fyybp545flplhl6by6zyncghvvjgfjzadpi2icgqmtvozjuy",
        ),
        (
            9001,
            0,
            true,
            "QmRSbTvmkmE55SLiWmkvjuYKMggH9PrWNSpNUhg6NHjhCD",
        ),
        (
            9001,
            1,
            true,
            "bafybeifhyesmpjhdkohvi7y6m3irbvuqtecitwqe6o4zg45zkronirk4jq",
        ),
        (
            27001,
            0,
            false,
            "QmdLeF21kTAoQiHhyG4WQU82Cz1ZsbJKw2tPQFpUXSn8t8",
        ),
        (
            27001,
            1,
            false,
            "bafybeigtog5safopokstfqawg6rinrc3e67m5u5p2g6jmvt7m4yqa3o77i",
        ),
        (
            27001,
            0,
            true,
            "QmS1HscQGgyv9hfQCnruTfB11DGkWXyHTTUQdFcZB4JWPa",
        ),
        (
            27001,
            1,
            true,
            "bafybeibcmiu4vpeb6dkt7oybq3g4qkpjdvcgzevy7iag2tskdprmiiwddi",
        ),
    ];

    fn profile(version: u8, raw: bool) -> Profile {
        let v = if version == 0 {
            CidVersion::V0
        } else {
            CidVersion::V1
        };
        Profile::UNIXFS_V0_2015
            .with_overrides(&Overrides {
                cid_version: Some(v),
                raw_leaves: Some(raw),
                chunk_size: Some(1000),
                max_links: Some(3),
            })
            .unwrap()
    }

    /// Both encodings, both versions, in one group per encoding; fed in slices of 1, 7, 999,
    /// 1000, 1001 bytes and whole, on one and two threads: every root is the JS reference's.
    #[test]
    fn every_tree_equals_the_js_reference_however_fed() {
        let sizes: Vec<usize> = JS_REFERENCE.iter().step_by(4).map(|r| r.0).collect();
        for size in sizes {
            let data = vector_content(&format!("identify-{size}"), size);
            for (slice, threads) in [
                (1, 1),
                (7, 1),
                (999, 1),
                (1000, 2),
                (1001, 2),
                (usize::MAX, 2),
            ] {
                for raw in [false, true] {
                    let profiles = [profile(0, raw), profile(1, raw)];
                    let mut g = LeafGroup::new(
                        GroupKey { chunk: 1000, raw },
                        &[&profiles[0], &profiles[1]],
                    );
                    if slice == usize::MAX {
                        let read = feed(
                            &mut &data[..],
                            size as u64,
                            std::slice::from_mut(&mut g),
                            threads,
                            &mut |_| {},
                        )
                        .unwrap();
                        assert_eq!(read, size as u64);
                    } else {
                        g.start(size as u64);
                        for piece in data.chunks(slice) {
                            g.push(piece);
                        }
                    }
                    let roots = g.finish().unwrap();
                    for (version, root) in [0u8, 1].into_iter().zip(&roots) {
                        let want = JS_REFERENCE
                            .iter()
                            .find(|r| r.0 == size && r.1 == version && r.2 == raw)
                            .unwrap()
                            .3;
                        assert_eq!(
                            root.0.to_string(),
                            want,
                            "{size} bytes, v{version}, raw {raw}, slices of {slice}"
                        );
                    }
                }
            }
        }
    }

    /// A file of a few MiB goes through the worker threads (several read buffers each).
    #[test]
    fn threads_and_one_thread_agree_past_the_parallel_threshold() {
        let data = vector_content("identify-threads", 3 * READ_SIZE + 12_345);
        let size = data.len() as u64;
        let roots = |threads| {
            let profiles = [profile(0, false), profile(1, false)];
            let mut groups: Vec<LeafGroup> = [(1000, false), (4096, false), (1000, true)]
                .into_iter()
                .map(|(chunk, raw)| {
                    LeafGroup::new(GroupKey { chunk, raw }, &[&profiles[0], &profiles[1]])
                })
                .collect();
            let mut seen = 0;
            feed(&mut &data[..], size, &mut groups, threads, &mut |n| {
                seen += n
            })
            .unwrap();
            assert_eq!(seen, size);
            groups
                .iter_mut()
                .map(|g| g.finish().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(roots(1), roots(2));
        assert_eq!(roots(2), roots(5));
    }

    #[test]
    fn a_short_file_has_no_roots() {
        let p = Profile::KUBO_CIDV1;
        let mut g = LeafGroup::new(
            GroupKey {
                chunk: 10,
                raw: true,
            },
            &[&p],
        );
        let read = feed(
            &mut &b"abc"[..],
            5,
            std::slice::from_mut(&mut g),
            1,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(read, 3);
        assert!(g.finish().is_none());
    }
}
