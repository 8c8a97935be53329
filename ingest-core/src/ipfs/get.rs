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
