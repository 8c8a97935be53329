//! The output set of one archived video: its names, and a commit that moves everything into
//! place only once the record is known to be valid.
//!
//! An archive run writes, in one directory:
//!
//! | name | what |
//! | --- | --- |
//! | `<site>-<id>.record.cbor` | the record, canonical DAG-CBOR |
//! | `<site>-<id>.car` | optional: every block (the files, the per-video directory, the record) |
//! | `<site>-<id>.part`, `.part.json` | a download under way (`ingest fetch`) |
//!
//! Every output is written under a temporary name and renamed into place ([`AtomicFile`]); the
//! record is renamed last, so a record on disk always means a finished archive (a re-run of a
//! list skips it).

use std::io::{Read, Seek};
use std::path::{Path, PathBuf};

use crate::archive::WriteDirectoryError;
use crate::archive::{Meta, Record, RecordError, RecordFile, Role, Source, VideoDirectory};
use crate::car::{CarError, CarWriter};
use crate::io::{AtomicFile, ChangedError, FileStamp, FileWriter, OutputError};
use crate::unixfs::{BlockSink, CidVersion, FileImporter, ImportError, ImportOptions, Profile};

/// The names of one video's outputs in a directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchivePaths {
    /// `<site>-<id>.record.cbor`.
    pub record: PathBuf,
    /// `<site>-<id>.car`.
    pub car: PathBuf,
    /// `<site>-<id>.part`: a download under way.
    pub part: PathBuf,
}

/// The longest file name most file systems take (`NAME_MAX`).
pub const MAX_NAME_LEN: usize = 255;

/// What the longest temporary name adds to an output's name: `.` before it, and
/// `.XXXXXX.partial` after it (see [`AtomicFile`]).
const TEMPORARY_EXTRA: usize = 1 + 7 + 8;

impl ArchivePaths {
    /// Checks, before anything is written, that every name an archive of `source` uses (the
    /// record, the CAR, the partial download and its state, and their temporaries) fits in
    /// [`MAX_NAME_LEN`] bytes: a name that does not would fail after the first output was
    /// committed.
    pub fn check(source: &Source) -> Result<(), ArchiveError> {
        let stem = source.stem();
        let longest = [".record.cbor", ".car", ".part", ".part.json.tmp"]
            .iter()
            .map(|suffix| stem.len() + suffix.len() + TEMPORARY_EXTRA)
            .max()
            .unwrap_or(0);
        if longest > MAX_NAME_LEN {
            return Err(ArchiveError::NameTooLong {
                name: format!("{stem}.record.cbor"),
                max: MAX_NAME_LEN,
            });
        }
        Ok(())
    }

    /// The outputs of `source` in `out`.
    pub fn new(out: &Path, source: &Source) -> ArchivePaths {
        let stem = source.stem();
        ArchivePaths {
            record: out.join(format!("{stem}.record.cbor")),
            car: out.join(format!("{stem}.car")),
            part: out.join(format!("{stem}.part")),
        }
    }
}

/// Archiving a video failed. Nothing was moved into place.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArchiveError {
    /// A file's bytes are what a browser would run as a page (see [`crate::archive::active`]).
    #[error("{path}: its bytes are {kind}, which a browser would run as a page on the archive's origin: not archived")]
    ActiveContent {
        /// The file.
        path: PathBuf,
        /// What it looks like.
        kind: &'static str,
    },
    /// The output directory could not be created.
    #[error("cannot create {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An output's name (with its temporary's) would be longer than a file name can be.
    #[error("the output name {name} is too long: with its temporary name it would pass the file system's limit of {max} bytes (use a shorter id)")]
    NameTooLong {
        /// The output's name.
        name: String,
        /// The limit.
        max: usize,
    },
    /// An output could not be written or moved into place.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// The CAR could not be written.
    #[error("cannot write {path}")]
    Car {
        /// The CAR's final name.
        path: PathBuf,
        /// The cause (boxed: it carries CIDs, and keeps this enum small).
        #[source]
        source: Box<CarError>,
    },
    /// An input file could not be opened.
    #[error("cannot open {path}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An input file could not be imported.
    #[error("cannot import {path}")]
    Import {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<ImportError>,
    },
    /// A file is not the one the record names: its bytes give another CID.
    #[error("{path} gives {file}, but the record names {record}: not the archived file")]
    NotTheRecordsFile {
        /// The file.
        path: PathBuf,
        /// The CID its bytes give (boxed, as the CIDs of the other variants).
        file: Box<cid::Cid>,
        /// The CID the record names.
        record: Box<cid::Cid>,
    },
    /// An input file changed while it was read.
    #[error(transparent)]
    Changed(Box<ChangedError>),
    /// The record would not be valid (a name, a size, a field over its limit).
    #[error("the record would be invalid")]
    Record(#[source] RecordError),
    /// The per-video directory could not be built.
    #[error("cannot build the per-video directory")]
    Directory(#[source] WriteDirectoryError),
    /// The caller's own step before the commit failed (see [`Archive::finish`]).
    #[error(transparent)]
    Place(Box<dyn std::error::Error + Send + Sync>),
}

/// The CAR of an [`Archive`] under way, if it writes one: a [`CarWriter`] on a background
/// [`FileWriter`], rooted at a placeholder until [`Archive::finish`].
pub type ArchiveCar = Option<CarWriter<FileWriter>>;

/// The outputs of one video while they are written: the CAR under a temporary name (its
/// [`CarWriter`] is handed out separately, so an importer can own it), then the record.
#[derive(Debug)]
pub struct Archive {
    car: Option<AtomicFile>,
    paths: ArchivePaths,
}

/// What an archive run wrote.
#[derive(Clone, Debug)]
pub struct Archived {
    /// The record.
    pub record: Record,
    /// The CIDs of the record and its per-video directory.
    pub cids: VideoDirectory,
    /// Where the record was written.
    pub record_path: PathBuf,
    /// Where the CAR was written; `None` when no CAR was asked for.
    pub car_path: Option<PathBuf>,
}

impl Archived {
    /// The main file of the video: see [`Record::primary_file`].
    pub fn video(&self) -> &RecordFile {
        self.record.primary_file()
    }
}

impl Archive {
    /// Starts the outputs of `source` in `out` (created if needed): `<site>-<id>.car`, rooted
    /// at a pending CID of `version`, unless `with_car` is false, and `<site>-<id>.record.cbor`.
    pub fn create(
        out: &Path,
        source: &Source,
        version: CidVersion,
        with_car: bool,
    ) -> Result<(Archive, ArchiveCar), ArchiveError> {
        ArchivePaths::check(source)?;
        std::fs::create_dir_all(out).map_err(|source| ArchiveError::CreateDir {
            path: out.to_owned(),
            source,
        })?;
        let paths = ArchivePaths::new(out, source);
        if !with_car {
            return Ok((Archive { car: None, paths }, None));
        }
        let (atomic, car) = pending_car(&paths.car, version)?;
        let archive = Archive {
            car: Some(atomic),
            paths,
        };
        Ok((archive, Some(car)))
    }

    /// The names of the outputs.
    pub fn paths(&self) -> &ArchivePaths {
        &self.paths
    }

    /// Empties the CAR to start again (a download that restarted from zero).
    pub fn restart_car(car: ArchiveCar, version: CidVersion) -> Result<ArchiveCar, CarError> {
        let Some(car) = car else { return Ok(None) };
        let mut writer = car.finish()?;
        let file = writer.drain().map_err(CarError::Io)?;
        file.set_len(0).map_err(CarError::Io)?;
        file.rewind().map_err(CarError::Io)?;
        Ok(Some(CarWriter::with_pending_root(writer, version)?))
    }

    /// Builds the record of `files` and its directory into `car`, then moves the CAR and the
    /// record into place, the record last. `place_files` runs once the record is known to be
    /// valid, before anything is moved (`fetch` moves the downloaded file there); its error is
    /// returned as [`ArchiveError::Place`].
    pub fn finish<E>(
        self,
        profile: &Profile,
        source: Source,
        meta: Meta,
        files: Vec<RecordFile>,
        mut car: ArchiveCar,
        place_files: impl FnOnce() -> Result<(), E>,
    ) -> Result<Archived, ArchiveError>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let record = Record {
            profile: profile.name().to_owned(),
            source,
            files,
            meta,
        };
        let bytes = record.encode().map_err(ArchiveError::Record)?;
        place_files().map_err(|e| ArchiveError::Place(e.into()))?;
        let cids = record
            .write_directory_encoded(&bytes, &mut car)
            .map_err(ArchiveError::Directory)?;
        let car_path = match (self.car, car) {
            (Some(atomic), Some(car)) => {
                commit_car(atomic, car, &cids.directory, &self.paths.car)?;
                Some(self.paths.car)
            }
            _ => None,
        };
        // The record last: a record on disk means the archive is whole. If it cannot be
        // written, the CAR committed just before is removed, so a failure leaves neither.
        let written =
            AtomicFile::create(&self.paths.record).and_then(|f| f.write_and_commit(&bytes));
        if let Err(e) = written {
            if let Some(car) = &car_path {
                let _ = std::fs::remove_file(car);
            }
            return Err(e.into());
        }
        Ok(Archived {
            record,
            cids,
            record_path: self.paths.record,
            car_path,
        })
    }
}

/// A local file to archive: where it is, and its name and role in the record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveInput {
    /// The file on disk.
    pub path: PathBuf,
    /// Its name in the record and the per-video directory.
    pub name: String,
    /// What it is.
    pub role: Role,
    /// The site's format id, when known.
    pub format_id: Option<String>,
}

/// Imports `inputs`, builds the record and its directory, and writes the record (and, with
/// `with_car`, a CAR of every block) atomically into `out`. `progress` is called with the bytes
/// read as the import goes.
#[allow(clippy::too_many_arguments)]
pub fn archive_files(
    profile: &Profile,
    options: ImportOptions,
    source: Source,
    meta: Meta,
    inputs: &[ArchiveInput],
    out: &Path,
    with_car: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<Archived, ArchiveError> {
    let (archive, mut car) = Archive::create(out, &source, profile.cid_version(), with_car)?;
    let mut files = Vec::with_capacity(inputs.len());
    for input in inputs {
        let summary = import_file(profile, options, &input.path, &mut car, &mut *progress)?;
        files.push(RecordFile {
            role: input.role,
            name: input.name.clone(),
            cid: summary.root,
            size: summary.file_size,
            dag_size: summary.dag_size,
            format_id: input.format_id.clone(),
        });
    }
    archive.finish(profile, source, meta, files, car, || {
        Ok::<(), std::convert::Infallible>(())
    })
}

/// Starts a CAR at `path` under a temporary name, rooted at a pending CID of `version`, written
/// on a thread of its own (see `crate::io::writer`).
fn pending_car(
    path: &Path,
    version: CidVersion,
) -> Result<(AtomicFile, CarWriter<FileWriter>), ArchiveError> {
    let mut atomic = AtomicFile::create(path)?;
    let car_error = |source| ArchiveError::Car {
        path: path.to_owned(),
        source: Box::new(source),
    };
    let file = atomic
        .file()
        .try_clone()
        .and_then(|f| FileWriter::direct(f, atomic.path()))
        .map_err(|e| car_error(CarError::Io(e)))?;
    let car = CarWriter::with_pending_root(file, version).map_err(car_error)?;
    Ok((atomic, car))
}

/// Writes `root` into the CAR's header, waits for its writer, and moves it to `path`.
fn commit_car(
    atomic: AtomicFile,
    car: CarWriter<FileWriter>,
    root: &cid::Cid,
    path: &Path,
) -> Result<(), ArchiveError> {
    car.finish_with_root(root)
        .and_then(|w| FileWriter::into_inner(w).map_err(CarError::Io))
        .map_err(|source| ArchiveError::Car {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
    atomic.commit()?;
    Ok(())
}

/// Imports the file at `path` into `sink` under `profile`, reporting the bytes read to
/// `progress`; a file that changes while it is read is an error.
pub(super) fn import_file<S: BlockSink>(
    profile: &Profile,
    options: ImportOptions,
    path: &Path,
    sink: S,
    progress: &mut dyn FnMut(u64),
) -> Result<crate::unixfs::FileSummary, ArchiveError> {
    let open_error = |source| ArchiveError::Open {
        path: path.to_owned(),
        source,
    };
    let import_error = |source| ArchiveError::Import {
        path: path.to_owned(),
        source: Box::new(source),
    };
    let mut file = std::fs::File::open(path).map_err(open_error)?;
    let stamp = FileStamp::of(&file).map_err(open_error)?;
    // What a sniffing gateway or browser would take for a page is never archived.
    let mut head = Vec::with_capacity(512);
    Read::read_to_end(&mut Read::take(&mut file, 512), &mut head).map_err(open_error)?;
    if let Some(kind) = crate::archive::active::by_content(&head) {
        return Err(ArchiveError::ActiveContent {
            path: path.to_owned(),
            kind,
        });
    }
    std::io::Seek::rewind(&mut file).map_err(open_error)?;
    let mut importer = FileImporter::with_options(profile, options, sink);
    let read = importer
        .read_from(&mut Progress {
            inner: &file,
            progress,
        })
        .map_err(import_error)?;
    stamp
        .check(&file, path, read)
        .map_err(|e| ArchiveError::Changed(Box::new(e)))?;
    let (summary, _) = importer.finish().map_err(import_error)?;
    Ok(summary)
}

/// A reader that reports how many bytes it read.
struct Progress<'a, R> {
    inner: R,
    progress: &'a mut dyn FnMut(u64),
}

impl<R: Read> Read for Progress<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}

/// Writes the CAR of an archived video from its files (see [`derive_blocks`]), rooted at its
/// per-video directory. Each file's CID is checked against the record before the CAR gets its
/// name. Returns the directory's CIDs.
pub fn derive_car(
    record: &Record,
    dir: &Path,
    options: ImportOptions,
    out: &Path,
) -> Result<VideoDirectory, ArchiveError> {
    let profile = record.profile().map_err(ArchiveError::Record)?;
    let (atomic, mut car) = pending_car(out, profile.cid_version())?;
    let cids = derive_blocks(record, dir, options, &mut car, &mut |_| {})?;
    commit_car(atomic, car, &cids.directory, out)?;
    Ok(cids)
}

/// Writes every block of an archived video into `sink`, from its files: each file of `record`,
/// re-imported from `dir` (under its name in the record) under the record's profile, then the
/// record and its per-video directory, the directory last. The blocks are a pure function of
/// the files and the record, so an archive needs no CAR on disk to be pushed or exported.
///
/// Each file's CID is checked against the record as soon as it is imported: a file that is not
/// the archived one stops the run with [`ArchiveError::NotTheRecordsFile`] before the
/// directory's blocks are written. `progress` is called with the bytes read.
pub fn derive_blocks<S: BlockSink + ?Sized>(
    record: &Record,
    dir: &Path,
    options: ImportOptions,
    sink: &mut S,
    progress: &mut dyn FnMut(u64),
) -> Result<VideoDirectory, ArchiveError> {
    let profile = record.profile().map_err(ArchiveError::Record)?;
    let bytes = record.encode().map_err(ArchiveError::Record)?;
    for f in &record.files {
        let path = dir.join(&f.name);
        let summary = import_file(&profile, options, &path, &mut *sink, &mut *progress)?;
        if summary.root != f.cid {
            return Err(ArchiveError::NotTheRecordsFile {
                path,
                file: Box::new(summary.root),
                record: Box::new(f.cid),
            });
        }
    }
    record
        .write_directory_encoded(&bytes, sink)
        .map_err(ArchiveError::Directory)
}
