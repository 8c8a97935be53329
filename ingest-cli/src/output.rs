//! Outputs that never appear half-written: a temporary file beside the target, synced and
//! renamed into place on success, removed on error or drop.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use ingest_core::writer::Writeback;
use tempfile::NamedTempFile;

/// A file being written to a temporary name beside `dest`.
///
/// The data is made durable before the rename, so even a power cut never leaves a truncated
/// file under the final name. Syncing a 1 GiB CAR at the end costs about 0.5 s here; to hide it,
/// a [`Writeback`] syncs what has been written so far every 100 ms, so the disk works while the
/// import hashes and the last sync only has the tail left to write.
#[derive(Debug)]
pub struct AtomicFile {
    tmp: NamedTempFile,
    dest: PathBuf,
    writeback: Option<Writeback>,
}

impl AtomicFile {
    /// Starts writing `dest` (as `.NAME.XXXXXX.partial` in the same directory, so the final
    /// rename never crosses file systems).
    pub fn create(dest: &Path) -> anyhow::Result<Self> {
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = dest
            .file_name()
            .with_context(|| format!("output {} is not a file name", dest.display()))?;
        // 0666 less the umask, as any new file gets (tempfile's own default is 0600).
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{}.", name.to_string_lossy()))
            .suffix(".partial")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a file in {}", dir.display()))?;
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

    /// The temporary file.
    pub fn file(&mut self) -> &mut File {
        self.tmp.as_file_mut()
    }

    /// Syncs the data and renames the file to its final name.
    pub fn commit(mut self) -> anyhow::Result<()> {
        drop(self.writeback.take());
        self.tmp
            .as_file()
            .sync_all()
            .with_context(|| format!("cannot sync {}", self.dest.display()))?;
        self.tmp
            .persist(&self.dest)
            .map_err(|e| e.error)
            .with_context(|| {
                format!(
                    "cannot move the output into place at {}",
                    self.dest.display()
                )
            })?;
        Ok(())
    }
}

/// Prints one JSON object as a line.
pub fn json_line(out: &mut impl Write, value: &serde_json::Value) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}
