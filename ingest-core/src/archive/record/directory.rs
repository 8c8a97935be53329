//! A record's per-video directory: each file of the record under its name, plus
//! `record.cbor`, the record's own bytes as a file. Its CID is a pure function of the record.

use cid::Cid;

use super::{Record, RecordError, RECORD_FILE_NAME};
use crate::unixfs::block::{cid_of, DAG_CBOR};
use crate::unixfs::dir::{put, DirBuilder, DirError};
use crate::unixfs::importer::{import_bytes, ImportError};
use crate::unixfs::profile::CidVersion;
use crate::unixfs::sink::BlockSink;

impl Record {
    /// Writes the per-video directory to `sink`: the record's own block (DAG-CBOR), the record
    /// as a file `record.cbor`, and the directory holding it and every file of the record (by
    /// CID: the files' own blocks are the caller's). Returns the CIDs.
    pub fn write_directory<S: BlockSink + ?Sized>(
        &self,
        sink: &mut S,
    ) -> Result<VideoDirectory, WriteDirectoryError> {
        let bytes = self.encode()?;
        self.write_directory_encoded(&bytes, sink)
    }

    /// [`Record::write_directory`] for a record whose encoding is at hand: `bytes` must be
    /// what [`Record::encode`] gives (as the bytes [`Record::decode`] accepted are).
    pub fn write_directory_encoded<S: BlockSink + ?Sized>(
        &self,
        bytes: &[u8],
        sink: &mut S,
    ) -> Result<VideoDirectory, WriteDirectoryError> {
        let profile = self.profile()?;
        let record = cid_of(CidVersion::V1, DAG_CBOR, bytes);
        put(sink, &record, bytes)?;
        let (file, _) = import_bytes(&profile, bytes, &mut *sink)?;
        let mut dir = DirBuilder::new(&profile);
        for f in &self.files {
            dir.add(&f.name, f.cid, f.dag_size)?;
        }
        dir.add(RECORD_FILE_NAME, file.root, file.dag_size)?;
        let summary = dir.finish(sink)?;
        Ok(VideoDirectory {
            record,
            record_file: file.root,
            directory: summary.root,
            dag_size: summary.dag_size,
        })
    }
}

/// The CIDs of a per-video directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VideoDirectory {
    /// The record's CID (its DAG-CBOR block).
    pub record: Cid,
    /// The CID of `record.cbor`, the record's bytes as a UnixFS file.
    pub record_file: Cid,
    /// The directory's CID.
    pub directory: Cid,
    /// The directory's dag size, every file included.
    pub dag_size: u64,
}

/// [`Record::write_directory`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteDirectoryError {
    /// The record is invalid.
    #[error("invalid record")]
    Record(#[from] RecordError),
    /// Importing `record.cbor` failed (its sink refused a block).
    #[error("cannot import record.cbor")]
    Import(#[from] ImportError),
    /// Building the directory failed.
    #[error("cannot build the per-video directory")]
    Dir(#[from] DirError),
}
