//! The partial file of a download and the small state file beside it that lets a later run
//! resume: which URL it is, the length the server announced and its validators.

use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::io::writer::FileWriter;

/// The state file is ours, but may be damaged: never read more than this.
const MAX_STATE_LEN: u64 = 64 * 1024;

/// What a later run needs to resume a download, kept as `PART.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct State {
    pub url: String,
    pub length: Option<u64>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    pub final_url: String,
}

impl State {
    /// The validator for `If-Range`: a strong ETag, else `Last-Modified`.
    pub fn if_range(&self) -> Option<&str> {
        match &self.etag {
            Some(etag) if !etag.starts_with("W/") => Some(etag),
            _ => self.last_modified.as_deref(),
        }
    }
}

/// The partial file: its length is always the number of body bytes taken so far (some may
/// still be on their way to the disk, on the writer's thread).
#[derive(Debug)]
pub(super) struct PartFile {
    pub path: PathBuf,
    state_path: PathBuf,
    file: FileWriter,
    pub len: u64,
}

impl PartFile {
    /// Opens `path` to continue the download of `url` if the state beside it says it belongs to
    /// that URL, and starts it empty otherwise.
    pub fn open(path: &Path, url: &str) -> io::Result<(PartFile, Option<State>)> {
        let state_path = state_path(path);
        let state = read_state(&state_path).filter(|s| s.url == url);
        let file = no_follow(OpenOptions::new().read(true).write(true).create(true))
            .truncate(false)
            .open(path)
            .map_err(|e| refuse_link(e, path))?;
        if !file.metadata()?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is not a regular file: refusing to write into it",
                    path.display()
                ),
            ));
        }
        // One download of a file at a time: a second process would interleave its bytes.
        file.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => io::Error::new(
                io::ErrorKind::WouldBlock,
                "another process is downloading into this file",
            ),
            std::fs::TryLockError::Error(e) => e,
        })?;
        let len = file.metadata()?.len();
        let mut part = PartFile {
            path: path.to_owned(),
            state_path,
            file: FileWriter::direct(file, path)?,
            len: 0,
        };
        match state {
            Some(state) if state.length.is_none_or(|l| len <= l) => {
                part.len = len;
                part.file.seek(SeekFrom::Start(len))?;
                Ok((part, Some(state)))
            }
            _ => {
                part.reset()?;
                Ok((part, None))
            }
        }
    }

    /// A reader of the bytes already in the file, from the start.
    pub fn existing(&mut self) -> io::Result<impl Read> {
        let mut f = self.file.drain()?.try_clone()?;
        f.seek(SeekFrom::Start(0))?;
        // The clone shares the file position: the writer seeks back to the end afterwards.
        Ok(f.take(self.len))
    }

    /// The last `n` bytes taken (all on disk first).
    pub fn tail(&mut self, n: u64) -> io::Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let n = n.min(self.len);
        let mut bytes = vec![0u8; n as usize];
        self.file.drain()?.read_exact_at(&mut bytes, self.len - n)?;
        Ok(bytes)
    }

    /// Positions the writer at the end again (after [`PartFile::existing`] was read).
    pub fn seek_end(&mut self) -> io::Result<()> {
        self.file.seek(SeekFrom::Start(self.len)).map(drop)
    }

    /// Forgets every byte: the download starts again from zero.
    pub fn reset(&mut self) -> io::Result<()> {
        let file = self.file.drain()?;
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        self.len = 0;
        match std::fs::remove_file(&self.state_path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Appends body bytes.
    pub fn append(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data)?;
        self.len += data.len() as u64;
        Ok(())
    }

    /// Writes the state file (to a temporary name, then renamed, so it is whole or absent).
    /// The temporary is created afresh and never through a link: whatever stands under its
    /// name (a stale one, or a link planted there) is removed first, not written through.
    pub fn save_state(&self, state: &State) -> io::Result<()> {
        let tmp = self.state_path.with_extension("json.tmp");
        match std::fs::remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut file = no_follow(OpenOptions::new().write(true).create_new(true))
            .open(&tmp)
            .map_err(|e| refuse_link(e, &tmp))?;
        file.write_all(&serde_json::to_vec(state).map_err(io::Error::other)?)?;
        drop(file);
        std::fs::rename(&tmp, &self.state_path)
    }

    /// Makes the bytes durable.
    pub fn sync(&mut self) -> io::Result<()> {
        self.file.drain()?.sync_all()
    }

    /// Removes the partial file and its state.
    pub fn discard(self) {
        drop(self.file);
        let _ = std::fs::remove_file(&self.state_path);
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `NAME.json` beside the partial file `NAME`.
pub(super) fn state_path(part: &Path) -> PathBuf {
    let mut name = part.as_os_str().to_owned();
    name.push(".json");
    PathBuf::from(name)
}

/// Options that refuse to open the last component of a path when it is a symbolic link.
fn no_follow(options: &mut OpenOptions) -> &mut OpenOptions {
    use std::os::unix::fs::OpenOptionsExt;
    options.custom_flags(libc::O_NOFOLLOW)
}

/// `ELOOP` from an `O_NOFOLLOW` open, in words.
fn refuse_link(e: io::Error, path: &Path) -> io::Error {
    if e.raw_os_error() == Some(libc::ELOOP) {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is a symbolic link: refusing to write through it",
                path.display()
            ),
        )
    } else {
        e
    }
}

fn read_state(path: &Path) -> Option<State> {
    let mut bytes = Vec::new();
    no_follow(OpenOptions::new().read(true))
        .open(path)
        .ok()?
        .take(MAX_STATE_LEN)
        .read_to_end(&mut bytes)
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(url: &str, length: Option<u64>) -> State {
        State {
            url: url.into(),
            length,
            etag: Some("\"v1\"".into()),
            last_modified: None,
            content_type: None,
            final_url: url.into(),
        }
    }

    #[test]
    fn resumes_only_its_own_url_within_the_announced_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.part");
        let (mut part, old) = PartFile::open(&path, "http://a/1").unwrap();
        assert!(old.is_none());
        part.append(b"hello").unwrap();
        part.save_state(&state("http://a/1", Some(10))).unwrap();
        drop(part);

        let (mut part, old) = PartFile::open(&path, "http://a/1").unwrap();
        assert_eq!(old, Some(state("http://a/1", Some(10))));
        assert_eq!(part.len, 5);
        let mut bytes = Vec::new();
        part.existing().unwrap().read_to_end(&mut bytes).unwrap();
        assert_eq!(bytes, b"hello");
        part.seek_end().unwrap();
        part.append(b" you").unwrap();
        part.sync().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello you");
        drop(part);

        // Another URL starts afresh, and so does a file longer than the announced length.
        let (part, old) = PartFile::open(&path, "http://a/2").unwrap();
        assert!(old.is_none());
        assert_eq!((part.len, std::fs::metadata(&path).unwrap().len()), (0, 0));
        let mut part = part;
        part.append(b"0123456789ab").unwrap();
        part.save_state(&state("http://a/2", Some(10))).unwrap();
        drop(part);
        let (part, old) = PartFile::open(&path, "http://a/2").unwrap();
        assert!(old.is_none() && part.len == 0);
        assert!(!state_path(&path).exists());
    }

    #[test]
    fn one_download_of_a_file_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.part");
        let first = PartFile::open(&path, "http://a/1").unwrap();
        let err = PartFile::open(&path, "http://a/1").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WouldBlock);
        drop(first);
        assert!(PartFile::open(&path, "http://a/1").is_ok());
    }

    #[test]
    fn links_are_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        let path = dir.path().join("x.part");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        let err = PartFile::open(&path, "http://a/1").unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        std::fs::remove_file(&path).unwrap();

        let (part, _) = PartFile::open(&path, "http://a/1").unwrap();
        let tmp = state_path(&path).with_extension("json.tmp");
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        part.save_state(&state("http://a/1", Some(10))).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert!(read_state(&state_path(&path)).is_some());
    }

    #[test]
    fn a_damaged_state_file_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.part");
        std::fs::write(&path, b"stale").unwrap();
        std::fs::write(state_path(&path), b"{not json").unwrap();
        let (part, old) = PartFile::open(&path, "http://a/1").unwrap();
        assert!(old.is_none());
        assert_eq!(part.len, 0);
    }

    #[test]
    fn if_range_prefers_a_strong_etag() {
        let mut s = state("u", None);
        assert_eq!(s.if_range(), Some("\"v1\""));
        s.etag = Some("W/\"weak\"".into());
        assert_eq!(s.if_range(), None);
        s.last_modified = Some("Tue, 01 Dec 2026 00:00:00 GMT".into());
        assert_eq!(s.if_range(), Some("Tue, 01 Dec 2026 00:00:00 GMT"));
    }
}
