//! Downloading a video and archiving it in the same pass: the bytes go to the partial file and
//! into the importer as they arrive, and the outputs are those of
//! [`archive_files`](crate::archive::archive_files): the file, its record and optionally a CAR.

use std::path::{Path, PathBuf};

use super::{Event, FetchError, Fetched, Fetcher, ImportBody};
use crate::archive::{Archive, ArchiveCar, ArchiveError, ArchivePaths, Archived, Meta, RecordFile};
use crate::archive::{Role, Source};
use crate::unixfs::{ImportError, ImportOptions, Profile};

/// One video to download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Download {
    /// The URL of the video file (the bytes the site serves, not its web page).
    pub url: String,
    /// The video's site and id (and page URL).
    pub source: Source,
    /// The video's metadata.
    pub meta: Meta,
    /// The file's name in the record and in the output directory; `None`: `<id>.<ext>`, the
    /// extension from [`Fetched::file_extension`].
    pub name: Option<String>,
}

/// Where and how a download is archived.
#[derive(Clone, Debug)]
pub struct ArchiveTo<'a> {
    /// The output directory (created if needed).
    pub out: &'a Path,
    /// The profile of every CID (a preset: records name one).
    pub profile: &'a Profile,
    /// How hard the importer works (never changes a CID).
    pub import: ImportOptions,
    /// Whether to write `<site>-<id>.car` too.
    pub car: bool,
}

/// How an archived download ended.
#[derive(Debug)]
pub enum Downloaded {
    /// Downloaded and archived: the outputs, what the server said, and where the file is.
    Archived {
        /// The record, its CIDs and the outputs' paths.
        archived: Box<Archived>,
        /// The download.
        fetched: Fetched,
        /// The downloaded file under its final name.
        path: PathBuf,
    },
    /// The video's record is in the output directory already: nothing was downloaded.
    Exists(PathBuf),
}

/// Downloading or archiving a video failed. Nothing was given its final name; a partial file
/// that a later run can resume is kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// The download failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The bytes could not be imported.
    #[error("cannot import {url}")]
    Import {
        /// The URL.
        url: String,
        /// The cause.
        #[source]
        source: Box<ImportError>,
    },
    /// The file's name cannot be used.
    #[error("cannot name the download {name:?}: {reason}")]
    Name {
        /// The name.
        name: String,
        /// Why not.
        reason: String,
    },
    /// Another file stands under the download's name: never overwritten (it may be another
    /// video's, with the same id on another site). The download is kept in its partial file.
    #[error(
        "{path} exists and holds other bytes: give the download another --name, or another --out"
    )]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// Another download of this run takes the same name (the same id on another site, say):
    /// the download is kept in its partial file.
    #[error("{path} is the name of another download of this run too: give one of them another --name (or a list line its own name)")]
    Claimed {
        /// The file.
        path: PathBuf,
    },
    /// The outputs could not be written.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
}

/// Endings of the names this crate gives its own files: a downloaded file may not take one,
/// or a video whose id ends in `.record` could land on another video's record.
const RESERVED_SUFFIXES: &[&str] = &[
    ".record.cbor",
    ".car",
    ".part",
    ".part.json",
    ".json.tmp",
    ".partial",
];

/// Checks a downloaded file's name: a plain entry name, not hidden, and none of the endings
/// of this crate's own outputs.
fn check_file_name(name: &str) -> Result<(), DownloadError> {
    let refuse = |reason: &str| {
        Err(DownloadError::Name {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if let Err(e) = crate::unixfs::check_entry_name(name) {
        return refuse(&e.to_string());
    }
    if name.starts_with('.') {
        return refuse("it would be a hidden file");
    }
    if let Some(suffix) = RESERVED_SUFFIXES.iter().find(|s| name.ends_with(*s)) {
        return refuse(&format!(
            "it ends in {suffix}, which names the outputs of an archive"
        ));
    }
    Ok(())
}

/// Whether the files `a` and `b` hold the same bytes.
fn same_content(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::io::Read;
    let (fa, fb) = (std::fs::File::open(a)?, std::fs::File::open(b)?);
    if fa.metadata()?.len() != fb.metadata()?.len() {
        return Ok(false);
    }
    let (mut ra, mut rb) = (
        std::io::BufReader::with_capacity(1 << 20, fa),
        std::io::BufReader::with_capacity(1 << 20, fb),
    );
    let (mut x, mut y) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let n = ra.read(&mut x)?;
        if n == 0 {
            return Ok(true);
        }
        rb.read_exact(&mut y[..n])?;
        if x[..n] != y[..n] {
            return Ok(false);
        }
    }
}

/// The final paths downloads of this process are about to write: a path is claimed before it
/// is checked and written, so two downloads that come to one name (the same id on two sites)
/// never both take it.
static CLAIMED: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// A final path claimed for one download, given back when dropped.
struct Claim(PathBuf);

impl Claim {
    /// Claims `path`, or `None` if another download of this process holds it.
    fn take(path: &Path) -> Option<Claim> {
        let mut claimed = CLAIMED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if claimed.iter().any(|p| p == path) {
            return None;
        }
        claimed.push(path.to_owned());
        Some(Claim(path.to_owned()))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut claimed = CLAIMED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        claimed.retain(|p| *p != self.0);
    }
}

/// The downloaded file could not be moved to its final name.
#[derive(Debug, thiserror::Error)]
#[error("cannot move the download to {path}")]
struct MoveError {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// Downloads `download` with `fetcher` and archives it as `to` says, in one pass; `events`
/// hears the download's progress. A video whose record is already in the output directory is
/// not downloaded again ([`Downloaded::Exists`]), so a list can be run until it is done.
pub fn archive_download(
    fetcher: &Fetcher,
    download: &Download,
    to: &ArchiveTo<'_>,
    events: &mut dyn FnMut(Event),
) -> Result<Downloaded, DownloadError> {
    let paths = ArchivePaths::new(to.out, &download.source);
    if paths.record.exists() {
        return Ok(Downloaded::Exists(paths.record));
    }
    if let Some(name) = &download.name {
        check_file_name(name)?;
    }
    let version = to.profile.cid_version();
    let (archive, car) = Archive::create(to.out, &download.source, version, to.car)?;
    let restart = move |car: ArchiveCar| Archive::restart_car(car, version).map_err(|e| e.into());
    let mut body = ImportBody::new(to.profile, to.import, car, restart);
    let fetched = fetcher.fetch(&download.url, &paths.part, &mut body, events)?;
    let (summary, car) = body.finish().map_err(|e| DownloadError::Import {
        url: download.url.clone(),
        source: Box::new(e),
    })?;
    let name = match &download.name {
        Some(name) => name.clone(),
        None => format!("{}.{}", download.source.id, fetched.file_extension()),
    };
    check_file_name(&name)?;
    // What a sniffing gateway or browser would take for a page is never archived.
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(fetched.part_path())
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 512), &mut head))
        .map_err(|source| {
            DownloadError::Archive(ArchiveError::Open {
                path: fetched.part_path().to_owned(),
                source,
            })
        })?;
    if let Some(kind) = crate::archive::active::by_content(&head) {
        return Err(DownloadError::Archive(ArchiveError::ActiveContent {
            path: download.url.clone().into(),
            kind,
        }));
    }
    let path = to.out.join(&name);
    // Claimed before it is checked, and held until the record is committed: another download
    // of this run that comes to the same name fails instead of taking it.
    let Some(_claim) = Claim::take(&path) else {
        return Err(DownloadError::Claimed { path });
    };
    let exists = std::fs::symlink_metadata(&path).is_ok();
    if exists {
        let same = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file())
            && same_content(&path, fetched.part_path()).unwrap_or(false);
        if !same {
            return Err(DownloadError::Exists { path });
        }
    }
    let files = vec![RecordFile {
        role: Role::guess(&name),
        name,
        cid: summary.root,
        size: summary.file_size,
        dag_size: summary.dag_size,
        format_id: None,
    }];
    // The record is checked (names, sizes) before anything gets its final name.
    let archived = archive.finish(
        to.profile,
        download.source.clone(),
        download.meta.clone(),
        files,
        car,
        || {
            if exists {
                // The same bytes are there already: the partial file is not needed.
                return fetched.discard().map_err(|source| MoveError {
                    path: path.clone(),
                    source,
                });
            }
            // Never over a file another process wrote since the check.
            fetched.persist(&path).map_err(|source| MoveError {
                path: path.clone(),
                source,
            })
        },
    )?;
    Ok(Downloaded::Archived {
        archived: Box::new(archived),
        fetched,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_final_path_is_claimed_by_one_download_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("42.mp4");
        let first = Claim::take(&path).expect("free");
        assert!(Claim::take(&path).is_none(), "taken by the first");
        assert!(Claim::take(&dir.path().join("43.mp4")).is_some());
        drop(first);
        assert!(Claim::take(&path).is_some(), "given back");
    }
}
