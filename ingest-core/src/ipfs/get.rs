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

use crate::unixfs::block::DAG_PB;
use crate::unixfs::blocks::BlockSource;
use crate::unixfs::dir;
use crate::unixfs::read::{self, Node, ReadError};

/// Directories nested at most this deep.
const MAX_DEPTH: usize = 256;
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
    /// Writing failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Downloads the file or directory `cid` from `src` to `out` (which must not exist).
pub fn get<Src: BlockSource + ?Sized>(
    src: &mut Src,
    cid: &Cid,
    out: &Path,
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
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // The temporary directory holds the tree under a fixed name, renamed out at the end.
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.ingest-get-"))
        .tempdir_in(parent)
        .map_err(write_error(parent))?;
    let inside = staging.path().join("out");
    let mut summary = GetSummary::default();
    write_entry(src, cid, &inside, &format!("/ipfs/{cid}"), 0, &mut summary)?;
    fs::rename(&inside, out).map_err(write_error(out))?;
    Ok(summary)
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
    let read_error = |e: ReadError| match e {
        ReadError::Malformed { cid, reason } => malformed(format!("block {cid}: {reason}")),
        e => GetError::Read {
            path: shown.to_owned(),
            source: Box::new(e),
        },
    };
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
    match read::node_kind(src, cid).map_err(read_error)? {
        Node::Symlink { target } => {
            std::os::unix::fs::symlink(&target, path).map_err(write_error)?;
            summary.symlinks += 1;
        }
        Node::Directory { .. } => {
            fs::create_dir(path).map_err(write_error)?;
            summary.directories += 1;
            let entries = read::list(src, cid).map_err(|e| malformed(e.to_string()))?;
            for (name, child, _) in entries {
                dir::check_entry_name(&name).map_err(|e| malformed(e.to_string()))?;
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
            summary.bytes += read::read_file(src, cid, &mut writer).map_err(read_error)?;
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
            let summary = get(&mut store, &root, &out).unwrap();
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
        let err = get(&mut store, &root, dir.path()).unwrap_err();
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
        let err = get(&mut partial, &root, &out).unwrap_err();
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
        let err = get(&mut store, &hostile_cid, &tmp.path().join("out")).unwrap_err();
        assert!(matches!(err, GetError::Malformed { .. }), "{err}");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
