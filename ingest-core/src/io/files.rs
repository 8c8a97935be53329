//! Reading inputs that may be hostile: small files read with a bound, from regular files only,
//! and directory trees walked without following links, each file once.

use std::collections::HashSet;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// A small input could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SmallFileError {
    /// Reading failed.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Not a regular file (a directory, a FIFO, a device): never opened, so a FIFO cannot
    /// hang the reader and a device cannot feed it without end.
    #[error("{path} is not a regular file")]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// Longer than the limit.
    #[error("{path} is over the limit of {max} bytes")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The limit.
        max: u64,
    },
}

/// Reads all of the regular file `path` (a link to one is followed: the user named it), at
/// most `max` bytes: one byte more is read to tell a longer file, whatever its metadata says.
pub fn read_small_file(path: &Path, max: u64) -> Result<Vec<u8>, SmallFileError> {
    let io = |source| SmallFileError::Io {
        path: path.to_owned(),
        source,
    };
    if !std::fs::metadata(path).map_err(io)?.is_file() {
        return Err(SmallFileError::NotAFile {
            path: path.to_owned(),
        });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(SmallFileError::TooLarge {
            path: path.to_owned(),
            max,
        });
    }
    Ok(bytes)
}

fn once_dir(seen: &mut HashSet<(u64, u64)>, dir: &Path) -> io::Result<bool> {
    let meta = std::fs::metadata(dir)?;
    Ok(seen.insert((meta.dev(), meta.ino())))
}

/// The files named by `paths`: each path that is not a directory as given, and below each
/// directory the regular files whose name `wanted` accepts, in name order. Links inside a
/// directory are not followed (a link to `.` would read the tree again, and two such links
/// grow the walk exponentially), and a file reached twice is listed once.
pub fn find_files(paths: &[PathBuf], wanted: impl Fn(&str) -> bool) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut seen = HashSet::new();
    let mut once = |path: &Path| -> io::Result<bool> {
        let meta = std::fs::metadata(path)?;
        Ok(seen.insert((meta.dev(), meta.ino())))
    };
    for path in paths {
        let is_dir = std::fs::metadata(path).is_ok_and(|m| m.is_dir());
        if !is_dir {
            // Not read here: a missing or unreadable file is the reader's to report.
            if once(path).unwrap_or(true) {
                files.push(path.clone());
            }
            continue;
        }
        let mut stack = vec![path.clone()];
        let mut found = Vec::new();
        let mut dirs = HashSet::new();
        while let Some(dir) = stack.pop() {
            // A directory mounted inside itself is walked once.
            if !once_dir(&mut dirs, &dir)? {
                continue;
            }
            let with_path =
                |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", dir.display()));
            for entry in std::fs::read_dir(&dir).map_err(with_path)? {
                let entry = entry.map_err(with_path)?;
                let kind = entry.file_type().map_err(with_path)?;
                let p = entry.path();
                if kind.is_dir() {
                    stack.push(p);
                } else if kind.is_file()
                    && entry.file_name().to_str().is_some_and(&wanted)
                    && once(&p)?
                {
                    found.push(p);
                }
            }
        }
        found.sort();
        files.extend(found);
    }
    Ok(files)
}

/// What tells cheaply that a file's content changed while it was read: its length and its
/// modification time, taken before the read and compared after it, with the bytes read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
}

/// A file changed while it was read: its CID would describe bytes that never existed whole.
#[derive(Debug, thiserror::Error)]
#[error("{path} changed while it was read ({read} bytes read; it had {before} bytes, now {after})")]
pub struct ChangedError {
    /// The file.
    pub path: PathBuf,
    /// Bytes read.
    pub read: u64,
    /// Its length before.
    pub before: u64,
    /// Its length after.
    pub after: u64,
}

impl FileStamp {
    /// The stamp of an open file.
    pub fn of(file: &std::fs::File) -> io::Result<FileStamp> {
        let meta = file.metadata()?;
        Ok(FileStamp {
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }

    /// Checks, after `read` bytes were read from `file` (named `path`), that it did not change
    /// since the stamp was taken.
    pub fn check(&self, file: &std::fs::File, path: &Path, read: u64) -> Result<(), ChangedError> {
        let now = FileStamp::of(file).ok();
        if now == Some(*self) && read == self.len {
            return Ok(());
        }
        Err(ChangedError {
            path: path.to_owned(),
            read,
            before: self.len,
            after: now.map_or(0, |n| n.len),
        })
    }
}
