//! Which import settings give a file or directory a CID: `ingest verify PATH CID`.
//!
//! [`identify_path`] tries every [`Candidate`]: the presets and kubo's common flags (CID version
//! 0/1, raw or dag-pb leaves, chunks of 256 KiB, 1 MiB and any size given, 174 or 1024 links,
//! and for directories both HAMT size estimates), each also wrapped in a directory (`-w`), and
//! says which give the CID, or why none can.
//!
//! ```text
//! CID ──▶ what the CID alone says (hash function, codec, version) ──▶ stop early, or:
//! file ──▶ one read ──▶ leaves hashed once per (chunk size, leaf encoding), on all cores
//!                       ──▶ one balanced tree per (CID version, links) ──▶ every file root
//! tree ──▶ every file's roots ──▶ one directory per candidate (flat or HAMT) ──▶ every root
//! ```
//!
//! The content is read once. Candidates that share leaves share their hashing: the default set
//! hashes a large file four times (256 KiB and 1 MiB chunks, raw and dag-pb leaves), the
//! cost floor of the question (a raw leaf and a dag-pb leaf of the same chunk have unrelated
//! digests). A file that fits in one chunk of several sizes is hashed once for all of them.
//! A CID made with another hash function, or naming something other than a UnixFS node, is
//! answered without reading anything; a raw CID only needs the file hashed whole.
//!
//! Directories are walked as `ingest add -r` walks them ([`crate::unixfs::import_path`]): names
//! in byte order, hidden entries skipped unless [`IdentifyOptions::hidden`], symlinks stored as
//! symlinks (the path given is followed), empty directories kept.
//!
//! Memory: the file pass holds a few read buffers (2 MiB) and the open nodes of each tree; a
//! directory holds, per entry, its name and its distinct CIDs over the candidates (about
//! 150–300 bytes), for the directories on the current path.

mod candidates;
mod leaves;
mod target;

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use cid::Cid;

pub use candidates::{Candidate, DEFAULT_CHUNK_SIZES, MAX_LINKS};

use crate::io::{ChangedError, FileStamp};
use crate::unixfs::block::{cid_of, encode_symlink, single_block_file, DAG_PB, RAW};
use crate::unixfs::dir::{file_kind, read_children, DirBuilder, DirError, EntryKind, WalkError};
use crate::unixfs::profile::{CidVersion, Overrides, Profile, ProfileError, BLOCK_SIZE_LIMIT};
use crate::unixfs::sink::HashOnly;
use candidates::version_number;
use leaves::{FeedError, GroupKey, LeafGroup, Root};
use target::Plan;

/// What to try besides the defaults, and how hard to work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentifyOptions {
    /// More chunk sizes to try (kubo's `--chunker size-N`), besides [`DEFAULT_CHUNK_SIZES`].
    pub chunk_sizes: Vec<u32>,
    /// Include directory entries whose names start with `.` (kubo's `--hidden`).
    pub hidden: bool,
    /// Threads hashing. 1 does everything on the calling thread. Default: the available
    /// parallelism of the machine.
    pub threads: NonZeroUsize,
}

impl Default for IdentifyOptions {
    fn default() -> Self {
        IdentifyOptions {
            chunk_sizes: Vec::new(),
            hidden: false,
            threads: std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN),
        }
    }
}

/// A setting that gives the CID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// The profile and flags.
    pub candidate: Candidate,
    /// Whether the content was wrapped in a directory holding it under its name (`-w`).
    pub wrapped: bool,
    /// The CID this setting gives: the target itself, or (when not [`Match::exact`]) the same
    /// block named with the other CID version.
    pub cid: Cid,
    /// Whether [`Match::cid`] is the target. When not, the target names the same root block in
    /// the other CID version (`ipfs cid format -v 1` of a CIDv0, say): the same DAG.
    pub exact: bool,
}

impl Match {
    /// The flags on top of the preset, `-w` last when wrapped.
    pub fn flags(&self) -> Vec<String> {
        let mut flags = self.candidate.flags();
        if self.wrapped {
            flags.push("-w".to_owned());
        }
        flags
    }
}

/// `profile NAME [with FLAGS]`, and the CID it gives when that is the target in another version.
impl fmt::Display for Match {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "profile {}", self.candidate.preset().name())?;
        let flags = self.flags();
        if !flags.is_empty() {
            write!(f, " with {}", flags.join(" "))?;
        }
        if !self.exact {
            let other = match self.cid.version() {
                cid::Version::V0 => 0,
                cid::Version::V1 => 1,
            };
            write!(
                f,
                ", whose root {} is the same block written as CIDv{other}",
                self.cid
            )?;
        }
        Ok(())
    }
}

/// What an inlined CID holds, next to the content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InlineContent {
    /// The file's bytes themselves.
    Same,
    /// Other bytes.
    Different,
    /// A block that is not a one-block file (a directory node, another codec).
    NotAFile,
}

/// Why no candidate gives the CID, or a hint where it may come from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// The multihash is not sha2-256, which every profile uses. Nothing was read.
    OtherHash {
        /// The multihash code.
        code: u64,
    },
    /// The codec is neither dag-pb nor raw: not a UnixFS node. Nothing was read.
    OtherCodec {
        /// The codec.
        codec: u64,
    },
    /// A sha2-256 multihash whose digest is not 32 bytes (truncated). Nothing was read.
    TruncatedDigest {
        /// Bytes of the digest.
        len: usize,
    },
    /// The identity multihash: the CID holds its block (kubo's `--inline`), which no profile
    /// makes.
    Inlined {
        /// The CID's codec.
        codec: u64,
        /// What the block holds, next to the content.
        content: InlineContent,
    },
    /// A raw CID names one block of bytes, never a directory. Nothing was read.
    RawForDirectory,
    /// A raw CID, and the file's bytes are not its block.
    RawBlockDiffers {
        /// Bytes of the file.
        size: u64,
    },
    /// The CID is the whole file as one raw block, larger than every chunk size tried.
    WholeFileBlock {
        /// Bytes of the file.
        size: u64,
    },
    /// The CID is that of an entry inside the directory, not of the directory.
    InsideDirectory {
        /// The entry's path, below the directory given.
        path: PathBuf,
        /// A setting that gives it.
        candidate: Candidate,
    },
    /// A sha2-256 dag-pb CID that no balanced DAG of the candidates gives.
    NoTree {
        /// Whether the path is a directory.
        directory: bool,
        /// Whether the file fits in one chunk of every size tried.
        one_chunk: bool,
    },
    /// Hidden entries were skipped, as `ingest add -r` and `ipfs add -r` skip them by default.
    HiddenSkipped {
        /// How many (not counting what is below a hidden directory).
        count: u64,
    },
}

impl Reason {
    /// A short stable name for scripts: `other-hash`, `other-codec`, `truncated-digest`,
    /// `inlined`, `raw-for-directory`, `raw-block-differs`, `whole-file-block`,
    /// `inside-directory`, `no-tree`, `hidden-skipped`.
    pub fn code(&self) -> &'static str {
        match self {
            Reason::OtherHash { .. } => "other-hash",
            Reason::OtherCodec { .. } => "other-codec",
            Reason::TruncatedDigest { .. } => "truncated-digest",
            Reason::Inlined { .. } => "inlined",
            Reason::RawForDirectory => "raw-for-directory",
            Reason::RawBlockDiffers { .. } => "raw-block-differs",
            Reason::WholeFileBlock { .. } => "whole-file-block",
            Reason::InsideDirectory { .. } => "inside-directory",
            Reason::NoTree { .. } => "no-tree",
            Reason::HiddenSkipped { .. } => "hidden-skipped",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::OtherHash { code } => write!(
                f,
                "made with another hash function, {}: every profile uses sha2-256",
                target::named(target::hash_name(*code), *code)
            ),
            Reason::OtherCodec { codec } => write!(
                f,
                "its codec is {}, not dag-pb or raw: it is not a UnixFS file or directory",
                target::named(target::codec_name(*codec), *codec)
            ),
            Reason::TruncatedDigest { len } => write!(
                f,
                "its sha2-256 digest is {len} bytes, not 32: a truncated hash, which no profile makes"
            ),
            Reason::Inlined { content, .. } => {
                f.write_str("an inlined CID (identity multihash, kubo's --inline) ")?;
                f.write_str(match content {
                    InlineContent::Same => {
                        "holding these very bytes: no profile inlines, but the content is this"
                    }
                    InlineContent::Different => "holding other bytes",
                    InlineContent::NotAFile => "whose block is not a one-block file",
                })
            }
            Reason::RawForDirectory => {
                f.write_str("a raw CID names one block of bytes, never a directory")
            }
            Reason::RawBlockDiffers { size } => write!(
                f,
                "a raw CID names one block of bytes, and the file's {size} bytes are not that block"
            ),
            Reason::WholeFileBlock { size } if *size as usize <= BLOCK_SIZE_LIMIT => write!(
                f,
                "it is the whole file as one raw block: raw leaves with chunks of {size} bytes or \
                 more give it (try --chunker size-{size})"
            ),
            Reason::WholeFileBlock { size } => write!(
                f,
                "it is the whole file as one raw block of {size} bytes, larger than any block a \
                 profile makes (2 MiB, the most bitswap moves)"
            ),
            Reason::InsideDirectory { path, candidate } => write!(
                f,
                "it is the CID of {} inside the directory, under {candidate}",
                path.display()
            ),
            Reason::NoTree {
                directory: true, ..
            } => f.write_str(
                "no setting tried gives it for this directory: it may have been added with \
                 other contents, a trickle layout (--trickle), another chunker (rabin, buzhash, \
                 or a size not tried: --chunker size-N), or mode or mtime stored",
            ),
            Reason::NoTree {
                one_chunk: true, ..
            } => f.write_str(
                "no setting tried gives it: the file fits in one chunk of every size tried, so \
                 layout and links make no difference; it may have been added with smaller \
                 chunks (--chunker size-N) or mode or mtime stored, or name other bytes",
            ),
            Reason::NoTree { .. } => f.write_str(
                "no setting tried gives it: the file may have been added with a trickle layout \
                 (--trickle), another chunker (rabin, buzhash, or a size not tried: --chunker \
                 size-N) or mode or mtime stored, or the CID names other bytes",
            ),
            Reason::HiddenSkipped { count } => write!(
                f,
                "{count} hidden entries were skipped, as `ipfs add -r` skips them: try --hidden"
            ),
        }
    }
}

/// The answer for one path and CID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identification {
    /// The CID asked about.
    pub target: Cid,
    /// What the path is (a symlink given as the path is followed).
    pub kind: EntryKind,
    /// Bytes of content: the file's size, or the total of the files below a directory (0 when
    /// nothing was read).
    pub size: u64,
    /// Whether any content was read (not when the CID alone settled it).
    pub read: bool,
    /// Candidates whose result was computed (each also wrapped, `-w`, when the path has a name).
    pub tried: usize,
    /// Every setting that gives the CID, the simplest first (fewest flags, then the preset
    /// order of [`Profile::PRESETS`]; exact CIDs before the same block in another version,
    /// unwrapped before wrapped).
    pub matches: Vec<Match>,
    /// When nothing matched: why, as far as can be told, the most telling first.
    pub reasons: Vec<Reason>,
}

impl Identification {
    /// Whether some setting gives the CID.
    pub fn is_match(&self) -> bool {
        !self.matches.is_empty()
    }
}

/// The path could not be checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentifyError {
    /// Reading the file system failed.
    #[error("cannot read {}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Reading a file's content failed.
    #[error("reading {} failed at byte {offset}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Bytes read before the failure.
        offset: u64,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A name is not UTF-8, which a UnixFS name must be.
    #[error("{} has a name that is not UTF-8", path.display())]
    NonUtf8Name {
        /// The path.
        path: PathBuf,
    },
    /// A FIFO, socket or device.
    #[error("{} is a {kind}, which cannot be imported", path.display())]
    UnsupportedType {
        /// The path.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// A file changed while it was read.
    #[error(transparent)]
    Changed(Box<ChangedError>),
    /// A directory could not be built (a name UnixFS refuses, two names with one hash).
    #[error("cannot build directory {}", path.display())]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: Box<DirError>,
    },
    /// A chunk size given cannot make blocks of 2 MiB or less with either leaf encoding.
    #[error("cannot try chunk size {size}")]
    ChunkSize {
        /// The size.
        size: u32,
        /// Why.
        #[source]
        source: ProfileError,
    },
    /// A hashing thread stopped unexpectedly (it panicked).
    #[error("a hashing thread stopped unexpectedly")]
    Worker,
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> IdentifyError + '_ {
    move |source| IdentifyError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Which settings give `path` (a file, or a directory tree) the CID `target`.
///
/// Reads the content at most once, on [`IdentifyOptions::threads`] threads; `progress` hears of
/// every read (bytes). Not finding a setting is not an error: it is an [`Identification`]
/// without matches, with its reasons.
pub fn identify_path(
    path: &Path,
    target: &Cid,
    options: &IdentifyOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<Identification, IdentifyError> {
    for &size in &options.chunk_sizes {
        let raw = Overrides {
            raw_leaves: Some(true),
            chunk_size: Some(size),
            ..Overrides::default()
        };
        Profile::KUBO_CIDV1
            .with_overrides(&raw)
            .map_err(|source| IdentifyError::ChunkSize { size, source })?;
    }
    let meta = fs::metadata(path).map_err(io_error(path))?;
    let is_dir = meta.is_dir();
    let kind = if is_dir {
        EntryKind::Directory
    } else if meta.is_file() {
        EntryKind::File
    } else {
        return Err(IdentifyError::UnsupportedType {
            path: path.to_owned(),
            kind: file_kind(&meta),
        });
    };
    let mut answer = Identification {
        target: *target,
        kind,
        size: 0,
        read: false,
        tried: 0,
        matches: Vec::new(),
        reasons: Vec::new(),
    };
    let raw_only = match target::plan(target, is_dir) {
        Plan::Stop(reason) => {
            answer.reasons.push(reason);
            return Ok(answer);
        }
        Plan::Inline { codec, block } => {
            let content = inline_content(path, is_dir, codec, &block)?;
            answer.read = !is_dir;
            answer.reasons.push(Reason::Inlined { codec, content });
            return Ok(answer);
        }
        Plan::Read { raw_only } => raw_only,
    };
    let mut cands = candidates::candidates(&options.chunk_sizes, !is_dir);
    if raw_only {
        // Only a file of one chunk with raw leaves has a raw root.
        cands.retain(|c| c.profile().raw_leaves() && c.profile().chunk_size() as u64 >= meta.len());
    }
    let mut walker = Walker {
        cands: &cands,
        options,
        target,
        progress,
        hidden_skipped: 0,
        inside: None,
    };
    answer.read = true;
    let roots: Vec<Root> = if is_dir {
        let (outcome, size) = walker.directory(path, Path::new(""))?;
        answer.size = size;
        (0..cands.len()).map(|j| *outcome.get(j)).collect()
    } else {
        let (roots, size, whole) = walker.file(path, raw_only)?;
        answer.size = size;
        if raw_only && roots.is_empty() {
            answer.reasons.push(match whole {
                Some((cid, _)) if cid == *target => Reason::WholeFileBlock { size },
                _ => Reason::RawBlockDiffers { size },
            });
            return Ok(answer);
        }
        roots
    };
    answer.tried = cands.len();
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| crate::unixfs::dir::check_entry_name(n).is_ok());
    answer.matches = matches(&cands, &roots, target, name.filter(|_| !raw_only));
    if answer.is_match() {
        return Ok(answer);
    }
    let Walker {
        hidden_skipped,
        inside,
        ..
    } = walker;
    if raw_only {
        answer
            .reasons
            .push(Reason::RawBlockDiffers { size: answer.size });
        return Ok(answer);
    }
    if let Some((path, j)) = inside {
        answer.reasons.push(Reason::InsideDirectory {
            path,
            candidate: cands[j].clone(),
        });
    }
    let smallest = cands
        .iter()
        .map(|c| c.profile().chunk_size() as u64)
        .min()
        .unwrap_or(0);
    answer.reasons.push(Reason::NoTree {
        directory: is_dir,
        one_chunk: answer.size <= smallest,
    });
    if hidden_skipped > 0 {
        answer.reasons.push(Reason::HiddenSkipped {
            count: hidden_skipped,
        });
    }
    Ok(answer)
}

/// Every candidate (and its `-w` wrapping, when the content has a `name`) whose root is the
/// target, or the same block in the other version; the simplest first.
fn matches(cands: &[Candidate], roots: &[Root], target: &Cid, name: Option<&str>) -> Vec<Match> {
    let same_block = |cid: &Cid| cid.codec() == target.codec() && cid.hash() == target.hash();
    let mut found = Vec::new();
    let mut wrappers: HashMap<(u8, Root), Option<Cid>> = HashMap::new();
    for (c, root) in cands.iter().zip(roots) {
        let mut consider = |cid: Cid, wrapped: bool| {
            if same_block(&cid) {
                found.push(Match {
                    candidate: c.clone(),
                    wrapped,
                    cid,
                    exact: cid == *target,
                });
            }
        };
        consider(root.0, false);
        let Some(name) = name else { continue };
        let version = version_number(c.profile().cid_version());
        let wrapper = *wrappers.entry((version, *root)).or_insert_with(|| {
            // One entry: never a HAMT, so the estimate makes no difference.
            let mut dir = DirBuilder::new(c.profile());
            // A name a directory refuses cannot be wrapped: no CID to match.
            dir.add(name, root.0, root.1)
                .and_then(|()| dir.finish(&mut HashOnly))
                .ok()
                .map(|summary| summary.root)
        });
        if let Some(wrapper) = wrapper {
            consider(wrapper, true);
        }
    }
    // The same block in the other version only tells something when nothing is exact (with
    // raw leaves under a root of two levels, say, both versions write the same root block).
    if found.iter().any(|m| m.exact) {
        found.retain(|m| m.exact);
    }
    found.sort_by_key(|m| (m.wrapped, m.candidate.simplicity()));
    found
}

/// What an inlined CID's block holds next to the content at `path`.
fn inline_content(
    path: &Path,
    is_dir: bool,
    codec: u64,
    block: &[u8],
) -> Result<InlineContent, IdentifyError> {
    let content = match codec {
        RAW | DAG_PB => single_block_file(codec, block),
        _ => None,
    };
    let Some(content) = content else {
        return Ok(InlineContent::NotAFile);
    };
    if is_dir {
        return Ok(InlineContent::Different);
    }
    // The block is at most 64 bytes (the largest digest a CID holds here): read one byte more
    // than it to see whether the file is longer.
    let file = File::open(path).map_err(io_error(path))?;
    let mut bytes = Vec::new();
    file.take(content.len() as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| IdentifyError::Read {
            path: path.to_owned(),
            offset: 0,
            source,
        })?;
    Ok(if bytes == content {
        InlineContent::Same
    } else {
        InlineContent::Different
    })
}

/// An entry's root under every candidate, stored compactly: candidates that give the same
/// (CID, dag size) share one slot (a small file has 3 distinct roots over 32 candidates).
#[derive(Debug)]
struct Outcome {
    distinct: Vec<Root>,
    index: Vec<u16>,
}

impl Outcome {
    fn new(roots: impl IntoIterator<Item = Root>) -> Outcome {
        let mut distinct: Vec<Root> = Vec::new();
        let index = roots
            .into_iter()
            .map(|r| match distinct.iter().position(|d| *d == r) {
                Some(i) => i as u16,
                None => {
                    distinct.push(r);
                    (distinct.len() - 1) as u16
                }
            })
            .collect();
        Outcome { distinct, index }
    }

    fn get(&self, j: usize) -> &Root {
        &self.distinct[self.index[j] as usize]
    }
}

struct Walker<'a> {
    cands: &'a [Candidate],
    options: &'a IdentifyOptions,
    target: &'a Cid,
    progress: &'a mut dyn FnMut(u64),
    hidden_skipped: u64,
    /// The first entry below the root whose CID is the target, and the candidate giving it.
    inside: Option<(PathBuf, usize)>,
}

impl Walker<'_> {
    /// The roots of the file at `path` under every candidate (all of them, or with `raw_only`
    /// those whose chunk holds the whole file), its size, and with `raw_only` the CID of the
    /// whole file as one raw block.
    fn file(
        &mut self,
        path: &Path,
        raw_only: bool,
    ) -> Result<(Vec<Root>, u64, Option<Root>), IdentifyError> {
        let mut file = File::open(path).map_err(io_error(path))?;
        let stamp = FileStamp::of(&file).map_err(io_error(path))?;
        let size = file.metadata().map_err(io_error(path))?.len();
        // Leaves depend on the chunk size only up to the file's size: every size at or above
        // it makes the one chunk of the whole file.
        let key = |p: &Profile| GroupKey {
            chunk: (p.chunk_size() as u64).min(size),
            raw: p.raw_leaves(),
        };
        let mut keys: Vec<GroupKey> = self.cands.iter().map(|c| key(c.profile())).collect();
        if raw_only {
            keys.push(GroupKey {
                chunk: size,
                raw: true,
            });
        }
        keys.sort_unstable();
        keys.dedup();
        // For each group, the distinct (version, links) of its candidates; for each candidate,
        // its group and tree.
        let mut trees: Vec<Vec<&Profile>> = vec![Vec::new(); keys.len()];
        let mut place = Vec::with_capacity(self.cands.len());
        for c in self.cands {
            let p = c.profile();
            let g = keys.binary_search(&key(p)).expect("every key is listed");
            let t = match trees[g]
                .iter()
                .position(|q| q.cid_version() == p.cid_version() && q.max_links() == p.max_links())
            {
                Some(t) => t,
                None => {
                    trees[g].push(p);
                    trees[g].len() - 1
                }
            };
            place.push((g, t));
        }
        let whole_profile = Profile::KUBO_CIDV1;
        let mut groups: Vec<LeafGroup> = keys
            .iter()
            .zip(&mut trees)
            .map(|(k, t)| {
                if t.is_empty() {
                    t.push(&whole_profile);
                }
                LeafGroup::new(*k, t)
            })
            .collect();
        let read = leaves::feed(
            &mut file,
            size,
            &mut groups,
            self.options.threads.get(),
            &mut *self.progress,
        )
        .map_err(|e| match e {
            FeedError::Read { offset, source } => IdentifyError::Read {
                path: path.to_owned(),
                offset,
                source,
            },
            FeedError::Worker => IdentifyError::Worker,
        })?;
        stamp
            .check(&file, path, read)
            .map_err(|e| IdentifyError::Changed(Box::new(e)))?;
        let mut results = Vec::with_capacity(groups.len());
        for g in &mut groups {
            // The stamp check passed, so every byte came.
            results.push(
                g.finish()
                    .ok_or(IdentifyError::Changed(Box::new(ChangedError {
                        path: path.to_owned(),
                        read,
                        before: size,
                        after: read,
                    })))?,
            );
        }
        let roots = place.iter().map(|&(g, t)| results[g][t]).collect();
        let whole = raw_only
            .then(|| {
                let g = keys.binary_search(&GroupKey {
                    chunk: size,
                    raw: true,
                });
                g.ok().map(|g| results[g][0])
            })
            .flatten();
        Ok((roots, size, whole))
    }

    /// Notes `shown` when one of its roots is the target (the first such entry only, under
    /// the simplest candidate that gives exactly the target, else the same block).
    fn note(&mut self, shown: &Path, outcome: &Outcome) {
        if self.inside.is_some() || shown.as_os_str().is_empty() {
            return;
        }
        let t = self.target;
        let hit = (0..self.cands.len())
            .filter(|&j| {
                let cid = &outcome.get(j).0;
                cid.codec() == t.codec() && cid.hash() == t.hash()
            })
            .min_by_key(|&j| (outcome.get(j).0 != *t, self.cands[j].simplicity()));
        if let Some(j) = hit {
            self.inside = Some((shown.to_owned(), j));
        }
    }

    /// The entry at `path` (shown as `shown`) under every candidate, and its bytes of content.
    fn entry(
        &mut self,
        path: &Path,
        shown: &Path,
        meta: &Metadata,
    ) -> Result<(Outcome, u64), IdentifyError> {
        let t = meta.file_type();
        let (outcome, size) = if t.is_symlink() {
            let target = fs::read_link(path).map_err(io_error(path))?;
            let block = encode_symlink(target.as_os_str().as_bytes());
            let v0 = (cid_of(CidVersion::V0, DAG_PB, &block), block.len() as u64);
            let v1 = (cid_of(CidVersion::V1, DAG_PB, &block), block.len() as u64);
            let outcome =
                Outcome::new(self.cands.iter().map(|c| match c.profile().cid_version() {
                    CidVersion::V0 => v0,
                    CidVersion::V1 => v1,
                }));
            (outcome, target.as_os_str().len() as u64)
        } else if t.is_file() {
            let (roots, size, _) = self.file(path, false)?;
            (Outcome::new(roots), size)
        } else if t.is_dir() {
            self.directory(path, shown)?
        } else {
            return Err(IdentifyError::UnsupportedType {
                path: path.to_owned(),
                kind: file_kind(meta),
            });
        };
        self.note(shown, &outcome);
        Ok((outcome, size))
    }

    /// The directory at `path` under every candidate, and the bytes of the files below it.
    fn directory(&mut self, path: &Path, shown: &Path) -> Result<(Outcome, u64), IdentifyError> {
        // The rules of `ingest add -r`: hidden names skipped unless asked for, names in byte
        // order, names that are not UTF-8 refused.
        let (children, skipped) =
            read_children(path, self.options.hidden).map_err(|e| match e {
                WalkError::Io { path, source } => IdentifyError::Io { path, source },
                WalkError::NonUtf8Name { path } => IdentifyError::NonUtf8Name { path },
                other => IdentifyError::Io {
                    path: path.to_owned(),
                    source: io::Error::other(other.to_string()),
                },
            })?;
        self.hidden_skipped += skipped;
        let mut entries = Vec::with_capacity(children.len());
        let mut size = 0;
        for (name, child) in children {
            let meta = fs::symlink_metadata(&child).map_err(io_error(&child))?;
            let (outcome, bytes) = self.entry(&child, &shown.join(&name), &meta)?;
            size += bytes;
            entries.push((name, outcome));
        }
        // Candidates whose entries all have the same roots and whose version and estimate
        // agree build the same directory: build it once.
        let mut built: HashMap<(u8, u8, Vec<u16>), Root> = HashMap::new();
        let mut roots = Vec::with_capacity(self.cands.len());
        for (j, c) in self.cands.iter().enumerate() {
            let p = c.profile();
            let key = (
                version_number(p.cid_version()),
                p.dir_size_estimate() as u8,
                entries.iter().map(|(_, o)| o.index[j]).collect::<Vec<_>>(),
            );
            if let Some(root) = built.get(&key) {
                roots.push(*root);
                continue;
            }
            let dir_error = |source| IdentifyError::Dir {
                path: path.to_owned(),
                source: Box::new(source),
            };
            let mut dir = DirBuilder::new(p);
            for (name, outcome) in &entries {
                let (cid, dag_size) = *outcome.get(j);
                dir.add(name, cid, dag_size).map_err(dir_error)?;
            }
            let summary = dir.finish(&mut HashOnly).map_err(dir_error)?;
            let root = (summary.root, summary.dag_size);
            built.insert(key, root);
            roots.push(root);
        }
        Ok((Outcome::new(roots), size))
    }
}

#[cfg(test)]
mod tests;
