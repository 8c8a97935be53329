//! What to push: the records and CARs named, and those in the directories named (walked), each
//! archive found once (a CAR beside its record belongs to it).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::PushError;
use crate::io::find_files;

/// The suffix of a record file.
const RECORD_SUFFIX: &str = ".record.cbor";

/// One thing to push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushInput {
    /// An archived video: its record, and the directory holding its files (and maybe its CAR,
    /// `<site>-<id>.car` beside the record, used when a file is missing).
    Archive {
        /// `<site>-<id>.record.cbor`.
        record: PathBuf,
        /// Where its files are, under their names in the record.
        data: PathBuf,
    },
    /// A CAR file (a catalogue, a delta, an archive's CAR without its record).
    Car {
        /// The CAR.
        path: PathBuf,
    },
}

impl PushInput {
    /// The file that names this input.
    pub fn path(&self) -> &Path {
        match self {
            PushInput::Archive { record, .. } => record,
            PushInput::Car { path } => path,
        }
    }
}

/// The inputs named by `paths`: records (with their files in `data`, or beside them), CARs, and
/// directories of these, walked. Each archive is found once: a CAR beside its record
/// (`<stem>.car` next to `<stem>.record.cbor`) belongs to the record.
pub fn find_inputs(paths: &[PathBuf], data: Option<&Path>) -> Result<Vec<PushInput>, PushError> {
    let wanted = |name: &str| name.ends_with(RECORD_SUFFIX) || name.ends_with(".car");
    let files = find_files(paths, wanted).map_err(|source| PushError::Find { source })?;
    let records: HashSet<PathBuf> = files
        .iter()
        .filter(|f| is_record(f))
        .map(|f| car_beside(f))
        .collect();
    let mut inputs = Vec::new();
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if is_record(&file) {
            let data = match data {
                Some(dir) => dir.to_owned(),
                None => parent_of(&file),
            };
            inputs.push(PushInput::Archive { record: file, data });
        } else if name.ends_with(".car") {
            if !records.contains(&file) {
                inputs.push(PushInput::Car { path: file });
            }
        } else {
            return Err(PushError::NotAnInput { path: file });
        }
    }
    Ok(inputs)
}

fn is_record(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(RECORD_SUFFIX))
}

/// `<stem>.car` beside `<stem>.record.cbor`.
pub(super) fn car_beside(record: &Path) -> PathBuf {
    let name = record.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.strip_suffix(RECORD_SUFFIX).unwrap_or(name);
    record.with_file_name(format!("{stem}.car"))
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}
