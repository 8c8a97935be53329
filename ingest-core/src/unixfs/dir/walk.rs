//! Importing a file or a directory tree from disk, with the rules of kubo's `ipfs add -r`:
//!
//! - entries are read in name-byte order (the CID does not depend on it; the order of blocks in
//!   the sink and of [`WalkObserver::added`] calls does);
//! - hidden entries (names starting with `.`) are skipped unless [`WalkOptions::hidden`];
//! - empty directories are kept;
//! - symlinks inside the tree are stored as UnixFS symlinks, never followed; the path given to
//!   [`import_path`] itself is followed if it is a symlink (kubo's `--dereference-args`), so
//!   `ingest add video.mp4` imports the video even when `video.mp4` is a link to it;
//! - mode and mtime are not stored;
//! - names that are not UTF-8, and files that are neither regular files, directories nor
//!   symlinks (FIFOs, sockets, devices), are errors naming the path.
//!
//! Memory: the entries of the directories on the current path (see [`crate::DirBuilder`]) and
//! one [`crate::FileImporter`] at a time, never the content of a file.

use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use cid::Cid;

use super::{put, DirBuilder, DirError};
use crate::io::{ChangedError, FileStamp};
use crate::unixfs::block::{cid_of, encode_symlink, DAG_PB};
use crate::unixfs::importer::{FileImporter, ImportError, ImportOptions};
use crate::unixfs::profile::Profile;
use crate::unixfs::sink::BlockSink;

/// How to walk a tree.
#[derive(Clone, Debug, Default)]
pub struct WalkOptions {
    /// Include entries whose name starts with `.` (kubo's `--hidden`).
    pub hidden: bool,
    /// Wrap the result in a directory holding it under its own name (kubo's `-w`).
    pub wrap: bool,
    /// Options of every file import.
    pub import: ImportOptions,
}

/// What an entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory (flat or sharded).
    Directory,
    /// A symbolic link.
    Symlink,
}

impl EntryKind {
    /// `file`, `directory` or `symlink`.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Directory => "directory",
            EntryKind::Symlink => "symlink",
        }
    }
}

/// One imported entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Added {
    /// The path as shown to a user: the name of the path given to [`import_path`] followed by
    /// the entry's path below it (empty for a `-w` wrapper, as in kubo).
    pub path: PathBuf,
    /// The entry's CID.
    pub cid: Cid,
    /// What it is.
    pub kind: EntryKind,
    /// Bytes of content: a file's size, a symlink target's length, or the total of the files
    /// below a directory.
    pub size: u64,
    /// Bytes of every block under and including the entry (its Tsize).
    pub dag_size: u64,
}

/// Receives progress from [`import_path`]. Every method has a default that ignores it.
pub trait WalkObserver {
    /// An entry is complete: files and symlinks as they are imported, a directory after all it
    /// holds, the root last.
    fn added(&mut self, _entry: &Added) {}
    /// `bytes` more bytes of file content were read.
    fn read(&mut self, _bytes: u64) {}
}

impl WalkObserver for () {}

/// A tree could not be imported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalkError {
    /// Reading the file system failed.
    #[error("cannot read {}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
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
    /// Importing a file failed.
    #[error("cannot import {}", path.display())]
    Import {
        /// The file.
        path: PathBuf,
        /// The error (boxed: it carries a CID, and keeps `WalkError` small).
        #[source]
        source: Box<ImportError>,
    },
    /// A file changed while it was read.
    #[error(transparent)]
    Changed(Box<ChangedError>),
    /// Building a directory failed.
    #[error("cannot build directory {}", path.display())]
    Dir {
        /// The directory.
        path: PathBuf,
        /// The error (boxed, as above).
        #[source]
        source: Box<DirError>,
    },
}

struct Walker<'a, S: ?Sized, O: ?Sized> {
    profile: &'a Profile,
    options: &'a WalkOptions,
    sink: &'a mut S,
    observer: &'a mut O,
}

/// Counts bytes read for the observer.
struct Counting<'a, R, O: ?Sized> {
    inner: R,
    observer: &'a mut O,
}

impl<R: Read, O: WalkObserver + ?Sized> Read for Counting<'_, R, O> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.observer.read(n as u64);
        Ok(n)
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> WalkError + '_ {
    move |source| WalkError::Io {
        path: path.to_owned(),
        source,
    }
}

/// What a special file is, in words (for errors).
pub(crate) fn file_kind(meta: &Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_block_device() || t.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

/// The entries of the directory at `path` as `ipfs add -r` takes them: names in byte order,
/// names starting with `.` skipped unless `hidden` (and counted), a name that is not UTF-8 an
/// error. Returns (name, path) pairs and the number skipped.
pub(crate) fn read_children(
    path: &Path,
    hidden: bool,
) -> Result<(Vec<(String, PathBuf)>, u64), WalkError> {
    let mut children = Vec::new();
    let mut skipped = 0;
    for entry in fs::read_dir(path).map_err(io_error(path))? {
        let entry = entry.map_err(io_error(path))?;
        let child = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .map_err(|_| WalkError::NonUtf8Name {
                path: child.clone(),
            })?;
        if name.starts_with('.') && !hidden {
            skipped += 1;
            continue;
        }
        children.push((name, child));
    }
    children.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    Ok((children, skipped))
}

impl<S: BlockSink + ?Sized, O: WalkObserver + ?Sized> Walker<'_, S, O> {
    fn entry(&mut self, path: &Path, shown: PathBuf, meta: &Metadata) -> Result<Added, WalkError> {
        let t = meta.file_type();
        let added = if t.is_symlink() {
            let target = fs::read_link(path).map_err(io_error(path))?;
            let block = encode_symlink(target.as_os_str().as_bytes());
            let cid = cid_of(self.profile.cid_version(), DAG_PB, &block);
            put(self.sink, &cid, &block).map_err(|source| WalkError::Dir {
                path: path.to_owned(),
                source: Box::new(source),
            })?;
            Added {
                path: shown,
                cid,
                kind: EntryKind::Symlink,
                size: target.as_os_str().len() as u64,
                dag_size: block.len() as u64,
            }
        } else if t.is_file() {
            self.file(path, shown)?
        } else if t.is_dir() {
            self.directory(path, shown)?
        } else {
            return Err(WalkError::UnsupportedType {
                path: path.to_owned(),
                kind: file_kind(meta),
            });
        };
        self.observer.added(&added);
        Ok(added)
    }

    fn file(&mut self, path: &Path, shown: PathBuf) -> Result<Added, WalkError> {
        let file = File::open(path).map_err(io_error(path))?;
        let stamp = FileStamp::of(&file).map_err(io_error(path))?;
        let import_error = |source| WalkError::Import {
            path: path.to_owned(),
            source: Box::new(source),
        };
        let mut importer =
            FileImporter::with_options(self.profile, self.options.import, &mut *self.sink);
        let mut reader = Counting {
            inner: &file,
            observer: &mut *self.observer,
        };
        let read = importer.read_from(&mut reader).map_err(import_error)?;
        stamp
            .check(&file, path, read)
            .map_err(|e| WalkError::Changed(Box::new(e)))?;
        let (summary, _) = importer.finish().map_err(import_error)?;
        Ok(Added {
            path: shown,
            cid: summary.root,
            kind: EntryKind::File,
            size: summary.file_size,
            dag_size: summary.dag_size,
        })
    }

    fn directory(&mut self, path: &Path, shown: PathBuf) -> Result<Added, WalkError> {
        let (children, _) = read_children(path, self.options.hidden)?;
        let mut dir = DirBuilder::new(self.profile);
        let mut size = 0;
        for (name, child) in children {
            let meta = fs::symlink_metadata(&child).map_err(io_error(&child))?;
            let added = self.entry(&child, shown.join(&name), &meta)?;
            size += added.size;
            dir.add(&name, added.cid, added.dag_size)
                .map_err(|source| WalkError::Dir {
                    path: child.clone(),
                    source: Box::new(source),
                })?;
        }
        let summary = dir.finish(self.sink).map_err(|source| WalkError::Dir {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        Ok(Added {
            path: shown,
            cid: summary.root,
            kind: EntryKind::Directory,
            size,
            dag_size: summary.dag_size,
        })
    }
}

/// Imports the file, directory tree or symlink target at `path` into `sink`, and returns the
/// root entry (the wrapping directory with [`WalkOptions::wrap`]).
pub fn import_path<S, O>(
    path: &Path,
    profile: &Profile,
    options: &WalkOptions,
    sink: &mut S,
    observer: &mut O,
) -> Result<Added, WalkError>
where
    S: BlockSink + ?Sized,
    O: WalkObserver + ?Sized,
{
    let meta = fs::metadata(path).map_err(io_error(path))?;
    let name = match path.file_name() {
        Some(n) => n.to_str().ok_or_else(|| WalkError::NonUtf8Name {
            path: path.to_owned(),
        })?,
        // `.`, `..` or `/`: name the root after the directory it resolves to.
        None => "",
    };
    let mut walker = Walker {
        profile,
        options,
        sink,
        observer,
    };
    let top = walker.entry(path, PathBuf::from(name), &meta)?;
    if !options.wrap {
        return Ok(top);
    }
    let mut dir = DirBuilder::new(profile);
    let dir_error = |source| WalkError::Dir {
        path: path.to_owned(),
        source: Box::new(source),
    };
    dir.add(name, top.cid, top.dag_size).map_err(dir_error)?;
    let summary = dir.finish(walker.sink).map_err(dir_error)?;
    let wrapper = Added {
        path: PathBuf::new(),
        cid: summary.root,
        kind: EntryKind::Directory,
        size: top.size,
        dag_size: summary.dag_size,
    };
    walker.observer.added(&wrapper);
    Ok(wrapper)
}
