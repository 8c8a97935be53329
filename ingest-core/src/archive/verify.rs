//! Checking an archive on disk against its record: every file re-imported under the record's
//! profile, every CID and size compared.

use std::path::Path;

use cid::Cid;

use super::output::import_file;
use super::{ArchiveError, Record, RecordFile};
use crate::unixfs::{HashOnly, ImportOptions};

/// How one file of a record compares with the file on disk.
#[derive(Debug)]
pub enum FileCheck {
    /// The file gives the record's CID, size and dag size.
    Ok,
    /// The file cannot be opened.
    Missing(std::io::Error),
    /// The file gives another DAG.
    Differs {
        /// The CID the file gives.
        root: Cid,
        /// Its size.
        file_size: u64,
        /// Its dag size.
        dag_size: u64,
    },
}

impl FileCheck {
    /// Whether the file matches the record.
    pub fn is_ok(&self) -> bool {
        matches!(self, FileCheck::Ok)
    }

    /// The verdict in words, naming both CIDs when they differ (`ok` when it matches).
    pub fn describe(&self, expected: &RecordFile) -> String {
        match self {
            FileCheck::Ok => "ok".to_owned(),
            FileCheck::Missing(e) => format!("missing: {e}"),
            FileCheck::Differs {
                root,
                file_size,
                dag_size,
            } => format!(
                "differs: the file gives {root} ({file_size} bytes, dag size {dag_size}), the record says {} ({} bytes, dag size {})",
                expected.cid, expected.size, expected.dag_size
            ),
        }
    }
}

/// Re-imports each file of `record` from `dir` (under its name in the record) and compares it
/// with the record, in the record's order. A file that cannot be opened is
/// [`FileCheck::Missing`]; one that fails or changes while it is read is an error.
pub fn verify_files<'r>(
    record: &'r Record,
    dir: &Path,
    options: ImportOptions,
) -> Result<Vec<(&'r RecordFile, FileCheck)>, ArchiveError> {
    let profile = record.profile().map_err(ArchiveError::Record)?;
    let mut checks = Vec::with_capacity(record.files.len());
    for f in &record.files {
        let path = dir.join(&f.name);
        let check = match import_file(&profile, options, &path, HashOnly, &mut |_| {}) {
            Err(ArchiveError::Open { source, .. }) => FileCheck::Missing(source),
            Err(e) => return Err(e),
            Ok(got) if (got.root, got.file_size, got.dag_size) == (f.cid, f.size, f.dag_size) => {
                FileCheck::Ok
            }
            Ok(got) => FileCheck::Differs {
                root: got.root,
                file_size: got.file_size,
                dag_size: got.dag_size,
            },
        };
        checks.push((f, check));
    }
    Ok(checks)
}
