//! Outputs that never appear half-written: a temporary file beside the target, synced and
//! renamed into place on success, removed on error or drop.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::Writeback;

/// An output could not be written or moved into place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// The output path has no file name (`..`, `/`).
    #[error("output {path} is not a file name")]
    NotAFileName {
        /// The path given.
        path: PathBuf,
    },
    /// The temporary file could not be created.
    #[error("cannot create a file in {dir}")]
    Create {
        /// The directory it was to be created in.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Writing the output failed.
    #[error("cannot write {path}")]
    Write {
        /// The output's final name.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Syncing the output failed.
    #[error("cannot sync {path}")]
    Sync {
        /// The output's final name.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The rename into place failed.
    #[error("cannot move the output into place at {path}")]
    Rename {
        /// The output's final name.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// A file being written to a temporary name beside `dest`.
///
/// The data is made durable before the rename, so even a power cut never leaves a truncated
/// file under the final name. Syncing a large CAR only at the end would stall the caller for
/// as long as the disk needs to write it all; a [`Writeback`] syncs what has been written so far
/// every 100 ms instead, so the disk works while the import hashes and the last sync only has
/// the tail left to write.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: NamedTempFile,
    dest: PathBuf,
    writeback: Option<Writeback>,
}

impl AtomicFile {
    /// Starts writing `dest` (as `.NAME.XXXXXX.partial` in the same directory, so the final
    /// rename never crosses file systems).
    pub fn create(dest: &Path) -> Result<Self, OutputError> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = dest.file_name().ok_or_else(|| OutputError::NotAFileName {
            path: dest.to_owned(),
        })?;
        // 0666 less the umask, as any new file gets (tempfile's own default is 0600).
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{}.", name.to_string_lossy()))
            .suffix(".partial")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .tempfile_in(dir)
            .map_err(|source| OutputError::Create {
                dir: dir.to_owned(),
                source,
            })?;
        let writeback = tmp.as_file().try_clone().ok().map(Writeback::start);
        Ok(AtomicFile {
            tmp,
            dest: dest.to_owned(),
            writeback,
        })
    }

    /// The temporary file's path.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// The final name.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// The temporary file.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Writes all of `bytes`, then commits: a small output in one call.
    pub fn write_and_commit(mut self, bytes: &[u8]) -> Result<(), OutputError> {
        io::Write::write_all(self.file(), bytes).map_err(|source| OutputError::Write {
            path: self.dest.clone(),
            source,
        })?;
        self.commit()
    }

    /// Syncs the data and renames the file to its final name.
    pub fn commit(mut self) -> Result<(), OutputError> {
        drop(self.writeback.take());
        self.tmp
            .as_file()
            .sync_all()
            .map_err(|source| OutputError::Sync {
                path: self.dest.clone(),
                source,
            })?;
        self.tmp
            .persist(&self.dest)
            .map_err(|e| OutputError::Rename {
                path: self.dest.clone(),
                source: e.error,
            })?;
        Ok(())
    }
}
