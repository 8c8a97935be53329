//! Outputs that never appear half-written: a temporary file beside the target, synced and
//! renamed into place on success, removed on error or drop.

use std::collections::HashSet;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

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
    /// The output's name is a directory: the final rename would fail after all the work.
    #[error("output {path} is a directory: give a file name")]
    IsDirectory {
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

/// The temporaries alive in this process, for [`remove_temporaries`].
static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The directories swept of stale temporaries in this process (once each).
static SWEPT: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);

/// Removes every temporary file and directory this process has not committed yet: what a
/// handler of SIGINT or SIGTERM calls before the process exits, so an interrupted run leaves no
/// `.NAME.PID.XXXXXX.partial` behind (a killed one is swept by the next run: see
/// [`AtomicFile::create`] and [`AtomicDir::create`]).
pub fn remove_temporaries() {
    let paths = std::mem::take(&mut *TEMPORARIES.lock().unwrap_or_else(PoisonError::into_inner));
    for path in paths {
        remove_entry(&path);
    }
}

/// Removes a temporary file, or a temporary directory and everything in it (links are removed,
/// never followed).
fn remove_entry(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

fn forget_temporary(path: &Path) {
    let mut all = TEMPORARIES.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(i) = all.iter().position(|p| p == path) {
        all.swap_remove(i);
    }
}

/// Whether the process `pid` may be alive: `/proc/PID` exists for every live process. Where
/// `/proc` is not mounted nothing can be told, and every process counts as alive.
fn alive(pid: i32) -> bool {
    !Path::new("/proc/self").exists() || Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes, once a process per directory, the temporaries of runs that are no longer alive:
/// `.NAME.PID.XXXXXX.partial` files and directories whose PID is gone (a run killed by SIGKILL,
/// or a power cut). Temporaries of live processes, links, and entries of any other naming are
/// left alone.
fn sweep(dir: &Path) {
    {
        let mut swept = SWEPT.lock().unwrap_or_else(PoisonError::into_inner);
        if !swept
            .get_or_insert_with(HashSet::new)
            .insert(dir.to_owned())
        {
            return;
        }
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temporary_pid) else {
            continue;
        };
        if pid != std::process::id() as i32
            && !alive(pid)
            && entry.file_type().is_ok_and(|t| t.is_file() || t.is_dir())
        {
            remove_entry(&entry.path());
        }
    }
}

/// The PID in a temporary's name `.NAME.PID.XXXXXX.partial`, if it is one.
fn temporary_pid(name: &str) -> Option<i32> {
    let inner = name.strip_prefix('.')?.strip_suffix(".partial")?;
    let mut parts = inner.rsplitn(3, '.');
    let random = parts.next()?;
    let pid = parts.next()?;
    parts.next()?; // NAME
    (random.len() == 6).then_some(())?;
    pid.parse().ok().filter(|p: &i32| *p > 0)
}

/// The directory a temporary for `dest` goes in (its own, `.` for a bare name) and `dest`'s
/// file name.
fn beside(dest: &Path) -> Result<(&Path, &std::ffi::OsStr), OutputError> {
    let dir = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = dest.file_name().ok_or_else(|| OutputError::NotAFileName {
        path: dest.to_owned(),
    })?;
    Ok((dir, name))
}

/// A file being written to a temporary name beside `dest`; dropped uncommitted, the temporary
/// is removed (and a signal handler can remove it too: [`remove_temporaries`]).
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
    /// Starts writing `dest` (as `.NAME.PID.XXXXXX.partial` in the same directory, so the final
    /// rename never crosses file systems). The first time this process writes into a
    /// directory, the temporaries that dead runs left there are removed.
    pub fn create(dest: &Path) -> Result<Self, OutputError> {
        let (dir, name) = beside(dest)?;
        if dest.is_dir() {
            return Err(OutputError::IsDirectory {
                path: dest.to_owned(),
            });
        }
        sweep(dir);
        // 0666 less the umask, as any new file gets (tempfile's own default is 0600).
        let tmp = tempfile::Builder::new()
            .prefix(&format!(
                ".{}.{}.",
                name.to_string_lossy(),
                std::process::id()
            ))
            .suffix(".partial")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .tempfile_in(dir)
            .map_err(|source| OutputError::Create {
                dir: dir.to_owned(),
                source,
            })?;
        let writeback = tmp.as_file().try_clone().ok().map(Writeback::start);
        TEMPORARIES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tmp.path().to_owned());
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
        forget_temporary(self.tmp.path());
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

/// A directory tree being written under a temporary name beside `dest`
/// (`.NAME.PID.XXXXXX.partial`), renamed into place by [`AtomicDir::commit`]; dropped
/// uncommitted, it is removed with everything in it, and so it is by [`remove_temporaries`] on
/// an interrupt, and by the next run into the same directory after a kill.
#[derive(Debug)]
pub struct AtomicDir {
    tmp: Option<PathBuf>,
    dest: PathBuf,
}

impl AtomicDir {
    /// Creates the temporary directory for `dest`, which must not exist yet. The first time this
    /// process writes into a directory, the temporaries that dead runs left there are removed.
    pub fn create(dest: &Path) -> Result<Self, OutputError> {
        let (dir, name) = beside(dest)?;
        sweep(dir);
        let tmp = tempfile::Builder::new()
            .prefix(&format!(
                ".{}.{}.",
                name.to_string_lossy(),
                std::process::id()
            ))
            .suffix(".partial")
            .tempdir_in(dir)
            .map_err(|source| OutputError::Create {
                dir: dir.to_owned(),
                source,
            })?
            .keep();
        TEMPORARIES
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(tmp.clone());
        Ok(AtomicDir {
            tmp: Some(tmp),
            dest: dest.to_owned(),
        })
    }

    /// The temporary directory's path.
    pub fn path(&self) -> &Path {
        self.tmp.as_deref().unwrap_or(&self.dest)
    }

    /// Renames the temporary directory to its final name.
    pub fn commit(mut self) -> Result<(), OutputError> {
        let Some(tmp) = self.tmp.take() else {
            return Ok(());
        };
        forget_temporary(&tmp);
        std::fs::rename(&tmp, &self.dest).map_err(|source| {
            remove_entry(&tmp);
            OutputError::Rename {
                path: self.dest.clone(),
                source,
            }
        })
    }
}

impl Drop for AtomicDir {
    fn drop(&mut self) {
        if let Some(tmp) = self.tmp.take() {
            forget_temporary(&tmp);
            remove_entry(&tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_appears_only_when_committed() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("tree");
        let tmp = AtomicDir::create(&dest).unwrap();
        std::fs::write(tmp.path().join("a"), b"x").unwrap();
        assert!(!dest.exists());
        tmp.commit().unwrap();
        assert_eq!(std::fs::read(dest.join("a")).unwrap(), b"x");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_dropped_directory_is_removed_with_what_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = AtomicDir::create(&dir.path().join("tree")).unwrap();
        std::fs::create_dir(tmp.path().join("sub")).unwrap();
        std::fs::write(tmp.path().join("sub/a"), b"x").unwrap();
        drop(tmp);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn the_temporaries_of_a_dead_run_are_swept_links_and_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        // PID 0x7ffffff0 is never a live process here.
        let dead_dir = dir.path().join(".tree.2147483632.abcdef.partial");
        std::fs::create_dir(&dead_dir).unwrap();
        std::fs::write(dead_dir.join("big"), b"x").unwrap();
        let dead_file = dir.path().join(".out.car.2147483632.abcdef.partial");
        std::fs::write(&dead_file, b"x").unwrap();
        let outside = tempfile::tempdir().unwrap();
        let link = dir.path().join(".link.2147483632.abcdef.partial");
        std::os::unix::fs::symlink(outside.path(), &link).unwrap();
        let other = dir.path().join("keep.partial");
        std::fs::write(&other, b"x").unwrap();
        let tmp = AtomicDir::create(&dir.path().join("tree")).unwrap();
        assert!(!dead_dir.exists() && !dead_file.exists());
        assert!(link.symlink_metadata().is_ok() && outside.path().exists() && other.exists());
        drop(tmp);
    }
}
