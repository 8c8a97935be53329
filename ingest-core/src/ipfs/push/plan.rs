//! Each input read before anything is sent: its roots, where its blocks come from (derived
//! from an archive's files, or copied from a CAR), and what a pinning service is told of it;
//! the checks of a CAR's blocks and of the pin names that would clash.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use cid::Cid;

use super::inputs::car_beside;
use super::{PushError, PushInput, PushOptions};
use crate::archive::{ArchiveError, Record, MAX_RECORD_LEN};
use crate::car::{self, CarError, CarReader};
use crate::io::read_small_file;
use crate::unixfs::HashOnly;

/// Where blocks come from.
pub(super) enum Blocks {
    /// Derived from an archive's files.
    Derive {
        record: Box<Record>,
        path: PathBuf,
        data: PathBuf,
    },
    /// Copied from a CAR, checked.
    Car { path: PathBuf },
}

/// An input, read: its roots and where its blocks come from.
pub(super) struct Planned {
    pub(super) roots: Vec<Cid>,
    pub(super) record: Option<Cid>,
    pub(super) blocks: Blocks,
    /// What a pinning service is told: the pin's name, and its meta.
    pub(super) name: String,
    pub(super) meta: BTreeMap<String, String>,
    /// Whether a new root replaces the service's pin of the same name.
    pub(super) replaces: bool,
    pub(super) bytes: u64,
}

/// Reads an input: the record and its directory's CID (or the CAR, checked whole).
pub(super) fn plan(input: &PushInput, options: &PushOptions) -> Result<Planned, PushError> {
    match input {
        PushInput::Archive { record: path, data } => {
            let bytes = read_small_file(path, MAX_RECORD_LEN as u64)?;
            let record_error = |source| PushError::Record {
                path: path.clone(),
                source,
            };
            let record = Record::decode(&bytes).map_err(record_error)?;
            let cids = record
                .write_directory_encoded(&bytes, &mut HashOnly)
                .map_err(|e| PushError::Derive {
                    record: path.clone(),
                    source: Box::new(ArchiveError::Directory(e)),
                })?;
            let mut meta = BTreeMap::new();
            meta.insert("site".to_owned(), record.source.site.clone());
            meta.insert("id".to_owned(), record.source.id.clone());
            meta.insert("record".to_owned(), cids.record.to_string());
            let name = format!("{}/{}", record.source.site, record.source.id);
            let files_present = record.files.iter().all(|f| data.join(&f.name).is_file());
            let car = car_beside(path);
            let blocks = if !files_present && car.is_file() {
                let (roots, _) = car_roots(&car)?;
                if roots != [cids.directory] {
                    return Err(PushError::CarOfAnotherArchive {
                        car,
                        car_root: Box::new(roots.first().copied().unwrap_or(cids.record)),
                        record: path.clone(),
                        directory: Box::new(cids.directory),
                    });
                }
                Blocks::Car { path: car }
            } else {
                Blocks::Derive {
                    data: data.clone(),
                    path: path.clone(),
                    record: Box::new(record.clone()),
                }
            };
            Ok(Planned {
                roots: vec![cids.directory],
                record: Some(cids.record),
                bytes: record.files.iter().map(|f| f.size).sum(),
                blocks,
                name,
                meta,
                replaces: false,
            })
        }
        PushInput::Car { path } => {
            let (roots, size) = car_roots(path)?;
            let name = options.name.clone().unwrap_or_else(|| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "car".into())
            });
            Ok(Planned {
                roots,
                record: None,
                blocks: Blocks::Car { path: path.clone() },
                name,
                meta: BTreeMap::new(),
                replaces: true,
                bytes: size,
            })
        }
    }
}

/// A CAR's roots (from its header) and size: all a plan needs. Its blocks are checked only if
/// it is to be sent ([`check_car`]).
fn car_roots(path: &Path) -> Result<(Vec<Cid>, u64), PushError> {
    let bad = |source| PushError::BadCar {
        path: path.to_owned(),
        source: Box::new(source),
    };
    let file = File::open(path).map_err(|e| bad(CarError::Io(e)))?;
    let size = file.metadata().map_err(|e| bad(CarError::Io(e)))?.len();
    let roots = CarReader::new(file).map_err(bad)?.roots().to_vec();
    if roots.is_empty() {
        return Err(PushError::NoRoot {
            path: path.to_owned(),
        });
    }
    Ok((roots, size))
}

/// Reads a whole CAR, checking every block against its CID on all cores, and that its roots
/// are still `roots`. Nothing is sent from a CAR that does not pass.
pub(super) fn check_car(path: &Path, roots: &[Cid]) -> Result<(), PushError> {
    let bad = |source| PushError::BadCar {
        path: path.to_owned(),
        source: Box::new(source),
    };
    let file = File::open(path).map_err(|e| bad(CarError::Io(e)))?;
    let threads = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    let summary = car::check_car(file, threads).map_err(bad)?;
    if summary.roots != roots {
        return Err(bad(CarError::BadHeader {
            reason: "its roots changed since it was first read".into(),
        }));
    }
    Ok(())
}

/// Refuses, before anything is sent, two CAR inputs that would replace the service's pin of
/// one name (the same `--name`, or the same file stem): each would undo the other.
pub(super) fn check_names(
    inputs: &[PushInput],
    planned: &[Result<Planned, PushError>],
) -> Result<(), PushError> {
    let mut names: HashMap<&str, &Path> = HashMap::new();
    for (input, planned) in inputs.iter().zip(planned) {
        let Ok(planned) = planned else { continue };
        if !planned.replaces {
            continue;
        }
        if let Some(first) = names.insert(&planned.name, input.path()) {
            return Err(PushError::SameName {
                name: planned.name.clone(),
                first: first.to_owned(),
                second: input.path().to_owned(),
            });
        }
    }
    Ok(())
}
