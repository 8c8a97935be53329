//! One archived video: its record, what yt-dlp wrote about it, and the files an archive run
//! writes.
//!
//! - [`Record`]: the per-video record, small canonical DAG-CBOR holding only what every
//!   volunteer who archives the same bytes agrees on (schema in `docs/record-schema.md`);
//!   [`Record::write_directory`] builds its per-video UnixFS directory.
//! - [`InfoJson`]: a yt-dlp `.info.json` and the files it names beside it.
//! - [`Archive`] / [`archive_files`]: the output set of one video (`<site>-<id>.record.cbor`,
//!   optionally `<site>-<id>.car`), committed atomically, record last; used by `ingest archive`
//!   and `ingest fetch` alike.
//! - [`verify_files`]: re-imports a record's files from disk and compares every CID;
//!   [`derive_car`] writes an archive's CAR from its files and record, when one is wanted.

pub mod active;
mod media;
mod output;
mod record;
mod verify;
mod ytdlp;

pub use media::{extension_of_media_type, role_of_extension};
pub use output::{
    archive_files, derive_blocks, derive_car, Archive, ArchiveCar, ArchiveError, ArchiveInput,
    ArchivePaths, Archived, MAX_NAME_LEN,
};
pub use record::{
    Meta, Record, RecordError, RecordFile, Role, Source, VideoDirectory, WriteDirectoryError,
    MAX_DESCRIPTION_LEN, MAX_FIELD_LEN, MAX_FILES, MAX_RECORD_LEN, MAX_TAGS, RECORD_FILE_NAME,
    RECORD_VERSION,
};
pub use verify::{verify_files, FileCheck};
pub use ytdlp::{InfoJson, InfoJsonError, MAX_INFO_JSON_LEN};

#[cfg(test)]
mod tests;
