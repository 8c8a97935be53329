//! Fixtures for the tests and the benchmarks: records with made-up CIDs and CARs of them, built
//! with the library.
//!
//! Every use of the library's record and CAR types by a fixture is in this module, and its users
//! take [`Record`] and [`Role`] from here: when the library's paths move, only this file changes.

use std::path::Path;

use ingest_core::{cid_of, CarWriter, CidVersion, Meta, RecordFile, Source, RAW};
pub use ingest_core::{Record, Role};

/// Builds a [`Record`] of `site`/`id` under `unixfs-v1-2025`, whose files have made-up CIDs:
/// each file's CID is the raw CID of its name, so a record is cheap to make by the million and
/// never needs its files' bytes. Metadata not set is left out.
#[derive(Clone, Debug)]
pub struct RecordBuilder {
    record: Record,
}

impl RecordBuilder {
    /// A record of `site`/`id` with no URL, no files and no metadata.
    pub fn new(site: impl Into<String>, id: impl Into<String>) -> Self {
        RecordBuilder {
            record: Record {
                profile: "unixfs-v1-2025".into(),
                source: Source {
                    site: site.into(),
                    id: id.into(),
                    url: None,
                },
                files: Vec::new(),
                meta: Meta::default(),
            },
        }
    }

    /// The video's page.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.record.source.url = Some(url.into());
        self
    }

    /// One more file of `size` bytes (its DAG size too), with the raw CID of `name` as its CID.
    pub fn file(mut self, role: Role, name: impl Into<String>, size: u64) -> Self {
        let name = name.into();
        self.record.files.push(RecordFile {
            role,
            cid: cid_of(CidVersion::V1, RAW, name.as_bytes()),
            name,
            size,
            dag_size: size,
            format_id: None,
        });
        self
    }

    /// The title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.record.meta.title = Some(title.into());
        self
    }

    /// The uploader.
    pub fn uploader(mut self, uploader: impl Into<String>) -> Self {
        self.record.meta.uploader = Some(uploader.into());
        self
    }

    /// The upload date, `YYYYMMDD`.
    pub fn upload_date(mut self, date: impl Into<String>) -> Self {
        self.record.meta.upload_date = Some(date.into());
        self
    }

    /// The duration in milliseconds.
    pub fn duration_ms(mut self, ms: u64) -> Self {
        self.record.meta.duration_ms = Some(ms);
        self
    }

    /// The tags, in this order.
    pub fn tags(mut self, tags: Vec<String>) -> Self {
        self.record.meta.tags = tags;
        self
    }

    /// The record.
    pub fn build(self) -> Record {
        self.record
    }
}

/// Writes `records` into a CARv1 at `path` (no roots, one block a record), under
/// `path.with_extension("partial")` then renamed, so an interrupted run leaves no truncated CAR
/// under its final name.
pub fn write_records_car(path: &Path, records: impl IntoIterator<Item = Record>) {
    let tmp = path.with_extension("partial");
    let mut car = CarWriter::new(std::fs::File::create(&tmp).unwrap(), &[]).unwrap();
    for r in records {
        car.write_block(&r.cid().unwrap(), &r.encode().unwrap())
            .unwrap();
    }
    car.finish().unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_record_is_valid_and_round_trips() {
        let record = RecordBuilder::new("youtube", "v1")
            .url("https://www.youtube.com/watch?v=v1")
            .file(Role::Video, "v1.mp4", 1000)
            .file(Role::Thumbnail, "v1.jpg", 10)
            .title("A title")
            .tags(vec!["a".into()])
            .build();
        record.validate().unwrap();
        assert_eq!(record.files[0].cid, cid_of(CidVersion::V1, RAW, b"v1.mp4"));
        assert_eq!(Record::decode(&record.encode().unwrap()).unwrap(), record);
    }
}
