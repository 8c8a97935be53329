//! [`get`]: what `ingest get` does: a verified download of a UnixFS file or directory tree, as
//! `ipfs get` and `ipfs-car unpack` do, byte-identical to what was added.
//!
//! Every block comes through a [`BlockSource`] (a [`super::Remote`]: checked against its CID,
//! cached), read by [`crate::unixfs::read`], so an interrupted `get` resumes from the cache: the blocks it had are not fetched again. Nothing appears under
//! the output's name until the whole tree is there: the tree is written under a temporary name
//! beside it, then renamed. Entry names are checked (no `/`, `.`, `..` or NUL: a directory
//! cannot write outside the output), and so is the depth of the tree.

use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use cid::Cid;

use crate::io::AtomicDir;
use crate::unixfs::block::DAG_PB;
use crate::unixfs::blocks::BlockSource;
use crate::unixfs::dir;
use crate::unixfs::read::{self, Node, ReadError};

/// Directories nested at most this deep.
const MAX_DEPTH: usize = 256;
/// The default bound on the entries of a tree (files, directories and links).
pub const DEFAULT_MAX_ENTRIES: u64 = 1_000_000;

/// Bounds on what [`get`] writes: a DAG of a few blocks can state petabytes, or expand into a
/// hundred million files by linking one directory many times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GetOptions {
    /// Bytes of content at most; `None`: the space free on the output's file system.
    pub max_size: Option<u64>,
    /// Entries (files, directories, links) at most.
    pub max_entries: u64,
}

impl Default for GetOptions {
    fn default() -> Self {
        GetOptions {
            max_size: None,
            max_entries: DEFAULT_MAX_ENTRIES,
        }
    }
}
/// What [`get`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GetSummary {
    /// Files written.
    pub files: u64,
    /// Directories written (the top one included).
    pub directories: u64,
    /// Symbolic links written.
    pub symlinks: u64,
    /// Bytes of file content written.
    pub bytes: u64,
}

/// [`get`] failed; nothing was left under the output's name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GetError {
    /// The output exists already.
    #[error("{0} exists: give another name, or remove it")]
    Exists(PathBuf),
    /// Reading failed.
    #[error("{path}")]
    Read {
        /// Where in the tree.
        path: String,
        /// Why (boxed: it carries CIDs).
        #[source]
        source: Box<ReadError>,
    },
    /// The DAG is not a UnixFS file or directory tree.
    #[error("{path}: {reason}")]
    Malformed {
        /// Where in the tree.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The tree states more content than the bound: nothing was written.
    #[error("{path} states {bytes} bytes of content or more, over {bound}: nothing written")]
    TooLarge {
        /// The tree.
        path: String,
        /// The bytes it states, at least.
        bytes: u64,
        /// What it is over: `--max-size N` or `the N bytes free on FS`.
        bound: String,
    },
    /// The tree has more entries than the bound: nothing was written.
    #[error(
        "{path} has over {max} entries (give a larger --max-entries if it should): nothing written"
    )]
    TooManyEntries {
        /// The tree.
        path: String,
        /// The bound.
        max: u64,
    },
    /// Writing failed.
    #[error("cannot write {path}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Downloads the file or directory `cid` from `src` to `out` (which must not exist), within
/// `options`' bounds: the tree's directories and file roots are read first, and a tree that
/// states more content than the bound (or the free space) or has more entries is refused before
/// anything is written; then every file is written with its sizes checked as it is read
/// ([`read::read_file`]), so a file that holds more than it stated fails too.
pub fn get<Src: BlockSource + ?Sized>(
    src: &mut Src,
    cid: &Cid,
    out: &Path,
    options: &GetOptions,
) -> Result<GetSummary, GetError> {
    if fs::symlink_metadata(out).is_ok() {
        return Err(GetError::Exists(out.to_owned()));
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| GetError::Write { path, source }
    };
    let shown = format!("/ipfs/{cid}");
    let free = crate::io::free_space(parent).map_err(write_error(parent))?;
    let bound = match options.max_size {
        Some(max) if max <= free => (max, format!("--max-size {max}")),
        _ => (
            free,
            format!("the {free} bytes free on {}", parent.display()),
        ),
    };
    let mut plan = Plan {
        bound,
        max_entries: options.max_entries,
        bytes: 0,
        entries: 0,
        shown: shown.clone(),
    };
    plan_entry(src, cid, &shown, 0, &mut plan)?;
    // A temporary directory beside the output holds the tree under a fixed name, renamed out at
    // the end; it is removed on an error, an interrupt, or by the next run after a kill.
    let staging = AtomicDir::create(out).map_err(|e| GetError::Write {
        path: parent.to_owned(),
        source: std::io::Error::other(e),
    })?;
    let inside = staging.path().join("out");
    let mut summary = GetSummary::default();
    write_entry(src, cid, &inside, &shown, 0, &mut summary)?;
    fs::rename(&inside, out).map_err(write_error(out))?;
    Ok(summary)
}

/// What the tree states so far, against the bounds.
struct Plan {
    bound: (u64, String),
    max_entries: u64,
    bytes: u64,
    entries: u64,
    shown: String,
}

/// Counts the entry `cid` and what it states into `plan` (directories listed, file roots
/// read), failing as soon as a bound is passed.
fn plan_entry<Src: BlockSource + ?Sized>(
    src: &mut Src,
    cid: &Cid,
    shown: &str,
    depth: usize,
    plan: &mut Plan,
) -> Result<(), GetError> {
    if depth > MAX_DEPTH {
        return Err(GetError::Malformed {
            path: shown.to_owned(),
            reason: format!("directories nested over {MAX_DEPTH} deep"),
        });
    }
    plan.entries += 1;
    if plan.entries > plan.max_entries {
        return Err(GetError::TooManyEntries {
            path: plan.shown.clone(),
            max: plan.max_entries,
        });
    }
    // Only the entry's first block (a file's root states its size): nothing more is fetched
    // before the bounds are checked.
    match read::node_kind(src, cid).map_err(read_error(shown))? {
        Node::Symlink { .. } => {}
        Node::Directory { .. } => {
            let entries = read::list(src, cid).map_err(|e| GetError::Malformed {
                path: shown.to_owned(),
                reason: e.to_string(),
            })?;
            for (name, child, _) in entries {
                plan_entry(src, &child, &format!("{shown}/{name}"), depth + 1, plan)?;
            }
        }
        Node::File => {
            let size = read::declared_size(src, cid).map_err(read_error(shown))?;
            plan.bytes = plan.bytes.saturating_add(size);
            if plan.bytes > plan.bound.0 {
                return Err(GetError::TooLarge {
                    path: plan.shown.clone(),
                    bytes: plan.bytes,
                    bound: plan.bound.1.clone(),
                });
            }
        }
    }
    Ok(())
}

/// A reading error at `shown`: a malformed block is named as such.
fn read_error(shown: &str) -> impl Fn(ReadError) -> GetError + '_ {
    move |e| match e {
        ReadError::Malformed { cid, reason } => GetError::Malformed {
            path: shown.to_owned(),
            reason: format!("block {cid}: {reason}"),
        },
        e => GetError::Read {
            path: shown.to_owned(),
            source: Box::new(e),
        },
    }
}

/// Writes the entry `cid` at `path` (shown as `shown` in errors).
fn write_entry<Src: BlockSource + ?Sized>(
    src: &mut Src,
    cid: &Cid,
    path: &Path,
    shown: &str,
    depth: usize,
    summary: &mut GetSummary,
) -> Result<(), GetError> {
    let write_error = |source| GetError::Write {
        path: path.to_owned(),
        source,
    };
    let malformed = |reason: String| GetError::Malformed {
        path: shown.to_owned(),
        reason,
    };
    let read_error = read_error(shown);
    if depth > MAX_DEPTH {
        return Err(malformed(format!(
            "directories nested over {MAX_DEPTH} deep"
        )));
    }
    if cid.codec() == DAG_PB {
        // A file (every block) or a directory (every shard) as one stream, the first time;
        // then block by block for what is missing.
        let _ = src.will_read(cid);
    }
    match read::node_kind(src, cid).map_err(&read_error)? {
        Node::Symlink { target } => {
            std::os::unix::fs::symlink(&target, path).map_err(write_error)?;
            summary.symlinks += 1;
        }
        Node::Directory { .. } => {
            fs::create_dir(path).map_err(write_error)?;
            summary.directories += 1;
            let entries = read::list(src, cid).map_err(|e| malformed(e.to_string()))?;
            let mut names = std::collections::HashSet::with_capacity(entries.len());
            for (name, child, _) in entries {
                dir::check_entry_name(&name).map_err(|e| malformed(e.to_string()))?;
                if !names.insert(name.clone()) {
                    return Err(malformed(format!(
                        "the directory lists the name {name:?} twice"
                    )));
                }
                write_entry(
                    src,
                    &child,
                    &path.join(&name),
                    &format!("{shown}/{name}"),
                    depth + 1,
                    summary,
                )?;
            }
        }
        Node::File => {
            let file = fs::File::create_new(path).map_err(write_error)?;
            let mut writer = BufWriter::with_capacity(1 << 20, file);
            summary.bytes += read::read_file(src, cid, &mut writer).map_err(&read_error)?;
            writer
                .into_inner()
                .map_err(|e| write_error(e.into_error()))?;
            summary.files += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::block::{cid_of, encode_symlink};
    use crate::unixfs::dir::DirBuilder;
    use crate::unixfs::importer::import_bytes;
    use crate::unixfs::profile::{CidVersion, Profile};
    use crate::unixfs::sink::{BlockSink, MemorySink};

    /// A tree of a multi-block file, an empty file, a symlink and a HAMT-sharded directory,
    /// under `profile`: its root and the store holding it.
    fn tree(profile: &Profile) -> (MemorySink, Cid, Vec<u8>) {
        let mut store = MemorySink::new();
        let big: Vec<u8> = (0..2_500_000u32).map(|i| (i % 253) as u8).collect();
        let (file, _) = import_bytes(profile, &big, &mut store).unwrap();
        let (empty, _) = import_bytes(profile, b"", &mut store).unwrap();
        let link = encode_symlink(b"big.bin");
        let link_cid = cid_of(profile.cid_version(), DAG_PB, &link);
        store.put(&link_cid, &link).unwrap();
        let mut sharded = DirBuilder::new(profile);
        for i in 0..3000 {
            sharded
                .add(&format!("entry-{i:05}"), empty.root, empty.dag_size)
                .unwrap();
        }
        let sharded = sharded.finish(&mut store).unwrap();
        let mut top = DirBuilder::new(profile);
        top.add("big.bin", file.root, file.dag_size).unwrap();
        top.add("empty", empty.root, empty.dag_size).unwrap();
        top.add("link", link_cid, link.len() as u64).unwrap();
        top.add("many", sharded.root, sharded.dag_size).unwrap();
        let top = top.finish(&mut store).unwrap();
        (store, top.root, big)
    }

    #[test]
    fn a_tree_is_written_whole_under_every_profile() {
        for profile in &Profile::PRESETS {
            let (mut store, root, big) = tree(profile);
            let dir = tempfile::tempdir().unwrap();
            let out = dir.path().join("out");
            let summary = get(&mut store, &root, &out, &GetOptions::default()).unwrap();
            assert_eq!(std::fs::read(out.join("big.bin")).unwrap(), big);
            assert_eq!(std::fs::read(out.join("empty")).unwrap(), b"");
            assert_eq!(
                std::fs::read_link(out.join("link")).unwrap(),
                Path::new("big.bin")
            );
            assert_eq!(std::fs::read_dir(out.join("many")).unwrap().count(), 3000);
            assert_eq!(
                summary,
                GetSummary {
                    files: 3002,
                    directories: 2,
                    symlinks: 1,
                    bytes: big.len() as u64,
                },
                "{}",
                profile.name()
            );
            // Nothing but the output is left beside it.
            let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
            assert_eq!(names.len(), 1);
        }
    }

    #[test]
    fn an_existing_output_is_refused() {
        let (mut store, root, _) = tree(&Profile::UNIXFS_V1_2025);
        let dir = tempfile::tempdir().unwrap();
        let err = get(&mut store, &root, dir.path(), &GetOptions::default()).unwrap_err();
        assert!(matches!(err, GetError::Exists(_)), "{err}");
    }

    #[test]
    fn a_missing_block_leaves_nothing() {
        let (store, root, _) = tree(&Profile::UNIXFS_V1_2025);
        // Every block but one leaf of the big file.
        let mut partial = MemorySink::new();
        let dropped = store
            .blocks()
            .find(|(cid, block)| cid.codec() == crate::unixfs::RAW && block.len() == 1 << 20)
            .map(|(cid, _)| *cid)
            .unwrap();
        for (cid, block) in store.blocks().filter(|(cid, _)| **cid != dropped) {
            partial.put(cid, block).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let err = get(&mut partial, &root, &out, &GetOptions::default()).unwrap_err();
        assert!(
            format!("{err}: {}", std::error::Error::source(&err).unwrap()).contains("big.bin"),
            "{err}"
        );
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn an_entry_name_that_climbs_out_is_refused() {
        let profile = &Profile::UNIXFS_V1_2025;
        let mut store = MemorySink::new();
        let (file, _) = import_bytes(profile, b"x", &mut store).unwrap();
        // A directory node naming an entry `..`, encoded by hand as a hostile peer would.
        let mut dir = DirBuilder::new(profile);
        dir.add("ok", file.root, file.dag_size).unwrap();
        let good = dir.finish(&mut MemorySink::new()).unwrap();
        let mut sink = MemorySink::new();
        let mut d = DirBuilder::new(profile);
        d.add("ok", file.root, file.dag_size).unwrap();
        d.finish(&mut sink).unwrap();
        let block = sink.get(&good.root).unwrap().to_vec();
        let hostile = block
            .windows(2)
            .position(|w| w == b"ok")
            .map(|at| [&block[..at], b"..", &block[at + 2..]].concat())
            .unwrap();
        let hostile_cid = cid_of(CidVersion::V1, DAG_PB, &hostile);
        store.put(&hostile_cid, &hostile).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let err = get(
            &mut store,
            &hostile_cid,
            &tmp.path().join("out"),
            &GetOptions::default(),
        )
        .unwrap_err();
        assert!(matches!(err, GetError::Malformed { .. }), "{err}");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    /// A file node over two leaves, stating `sizes` for them (honest: their lengths).
    fn two_leaves(store: &mut MemorySink, sizes: [u64; 2]) -> Cid {
        use crate::unixfs::block::{encode_file_node, Link, RAW};
        let a = vec![1u8; 1000];
        let b = vec![2u8; 500];
        let mut children = Vec::new();
        for (leaf, size) in [(&a, sizes[0]), (&b, sizes[1])] {
            let cid = cid_of(CidVersion::V1, RAW, leaf);
            store.put(&cid, leaf).unwrap();
            let link = Link {
                cid,
                dag_size: leaf.len() as u64,
            };
            children.push((link, size));
        }
        let mut node = Vec::new();
        encode_file_node(&mut node, &children);
        let cid = cid_of(CidVersion::V1, DAG_PB, &node);
        store.put(&cid, &node).unwrap();
        cid
    }

    #[test]
    fn a_file_holding_more_than_it_states_is_refused_naming_the_block() {
        let mut store = MemorySink::new();
        let honest = two_leaves(&mut store, [1000, 500]);
        let lying = two_leaves(&mut store, [10, 500]);
        let tmp = tempfile::tempdir().unwrap();
        let opts = GetOptions::default();
        get(&mut store, &honest, &tmp.path().join("honest"), &opts).unwrap();
        let err = get(&mut store, &lying, &tmp.path().join("lying"), &opts).unwrap_err();
        assert!(
            matches!(&err, GetError::Malformed { reason, .. } if reason.contains(&lying.to_string()) && reason.contains("holds 1000 bytes")),
            "{err}"
        );
        assert!(!tmp.path().join("lying").exists());
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_tree_stating_more_than_max_size_is_refused_before_writing() {
        let mut store = MemorySink::new();
        // A few hundred bytes of blocks that state 10^15 bytes of content.
        let huge = two_leaves(&mut store, [500_000_000_000_000, 500_000_000_000_000]);
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let err = get(&mut store, &huge, &out, &GetOptions::default()).unwrap_err();
        assert!(
            matches!(&err, GetError::TooLarge { bound, .. } if bound.contains("free on")),
            "{err}"
        );
        let (file, _) = import_bytes(&Profile::UNIXFS_V1_2025, &[7u8; 5000], &mut store).unwrap();
        let opts = GetOptions {
            max_size: Some(4999),
            ..GetOptions::default()
        };
        let err = get(&mut store, &file.root, &out, &opts).unwrap_err();
        assert!(
            matches!(&err, GetError::TooLarge { bytes: 5000, bound, .. } if bound == "--max-size 4999"),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_directory_linked_many_times_is_refused_past_the_entry_bound() {
        let profile = &Profile::UNIXFS_V1_2025;
        let mut store = MemorySink::new();
        let (file, _) = import_bytes(profile, b"x", &mut store).unwrap();
        // Each level links the one below 100 times: 100^3 files from four small blocks.
        let mut below = file.root;
        let mut size = file.dag_size;
        for _ in 0..3 {
            let mut dir = DirBuilder::new(profile);
            for i in 0..100 {
                dir.add(&format!("e{i:03}"), below, size).unwrap();
            }
            let built = dir.finish(&mut store).unwrap();
            (below, size) = (built.root, built.dag_size);
        }
        let tmp = tempfile::tempdir().unwrap();
        let opts = GetOptions {
            max_entries: 10_000,
            ..GetOptions::default()
        };
        let err = get(&mut store, &below, &tmp.path().join("out"), &opts).unwrap_err();
        assert!(
            matches!(err, GetError::TooManyEntries { max: 10_000, .. }),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_killed_gets_staging_is_swept_by_the_next_get() {
        let (mut store, root, _) = tree(&Profile::UNIXFS_V1_2025);
        let tmp = tempfile::tempdir().unwrap();
        // What a get killed by SIGKILL leaves: its staging directory, named for a dead PID.
        let dead = tmp.path().join(".out.2147483632.abcdef.partial");
        std::fs::create_dir_all(dead.join("out")).unwrap();
        std::fs::write(dead.join("out/big.bin"), vec![0u8; 1 << 20]).unwrap();
        get(
            &mut store,
            &root,
            &tmp.path().join("other"),
            &GetOptions::default(),
        )
        .unwrap();
        assert!(!dead.exists());
    }

    #[test]
    fn a_directory_listing_a_name_twice_is_refused_once_named() {
        let profile = &Profile::UNIXFS_V1_2025;
        let mut store = MemorySink::new();
        let (file, _) = import_bytes(profile, b"x", &mut store).unwrap();
        let mut dir = DirBuilder::new(profile);
        dir.add("ab", file.root, file.dag_size).unwrap();
        dir.add("ac", file.root, file.dag_size).unwrap();
        let mut sink = MemorySink::new();
        let built = dir.finish(&mut sink).unwrap();
        let block = sink.get(&built.root).unwrap().to_vec();
        let at = block.windows(2).position(|w| w == b"ac").unwrap();
        let twice = [&block[..at], b"ab", &block[at + 2..]].concat();
        let cid = cid_of(CidVersion::V1, DAG_PB, &twice);
        store.put(&cid, &twice).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let err = get(
            &mut store,
            &cid,
            &tmp.path().join("out"),
            &GetOptions::default(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("lists the name \"ab\" twice"), "{text}");
        assert_eq!(text.matches("File exists").count(), 0, "{text}");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
