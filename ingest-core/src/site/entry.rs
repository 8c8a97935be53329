//! One video as the site lists it: what a listing page shows, and what the search index and an
//! incremental rebuild need, taken from its record.

use std::cmp::Ordering;

use cid::Cid;
use serde::{Deserialize, Serialize};

use crate::archive::{Record, Role};

/// The most tags of a video the site lists and indexes (its first ones).
pub const MAX_LISTED_TAGS: usize = 32;

/// One video of a listing page (`data/sites/<site>/<n>.json`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    /// The video's id on its site.
    pub(crate) id: String,
    /// Title.
    #[serde(rename = "t", default, skip_serializing_if = "Option::is_none")]
    pub(crate) title: Option<String>,
    /// Uploader.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub(crate) uploader: Option<String>,
    /// Upload date, `YYYYMMDD`.
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub(crate) date: Option<String>,
    /// Duration in milliseconds.
    #[serde(rename = "ms", default, skip_serializing_if = "Option::is_none")]
    pub(crate) duration_ms: Option<u64>,
    /// The thumbnail's name in the per-video directory.
    #[serde(rename = "th", default, skip_serializing_if = "Option::is_none")]
    pub(crate) thumbnail: Option<String>,
    /// The per-video directory: what an incremental rebuild compares.
    #[serde(with = "cid_text")]
    pub(crate) dir: Cid,
    /// The first [`MAX_LISTED_TAGS`] tags.
    #[serde(rename = "k", default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) tags: Vec<String>,
    /// How many other records of this video the catalogue keeps under `_conflicts`.
    #[serde(rename = "c", default, skip_serializing_if = "is_zero")]
    pub(crate) conflicts: u32,
    /// The upload date as a number (`YYYYMMDD`), 0 when undated: what listings sort by.
    #[serde(skip)]
    pub(crate) day: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Entry {
    /// The entry of the video whose per-video directory is `dir` and record `record`; `None`
    /// if its upload date is not `YYYYMMDD` (which a decoded record's always is).
    pub(crate) fn new(dir: Cid, record: Record) -> Option<Entry> {
        let thumbnail = record
            .files
            .iter()
            .find(|f| f.role == Role::Thumbnail)
            .map(|f| f.name.clone());
        let mut meta = record.meta;
        meta.tags.truncate(MAX_LISTED_TAGS);
        Entry {
            id: record.source.id,
            title: meta.title,
            uploader: meta.uploader,
            date: meta.upload_date,
            duration_ms: meta.duration_ms,
            thumbnail,
            dir,
            tags: meta.tags,
            conflicts: 0,
            day: 0,
        }
        .with_day()
    }

    /// The entry with its `day` set from its date; `None` if the date is not `YYYYMMDD`.
    pub(crate) fn with_day(mut self) -> Option<Entry> {
        self.day = match &self.date {
            None => 0,
            Some(d) if d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()) => d.parse().ok()?,
            Some(_) => return None,
        };
        Some(self)
    }

    /// The texts the search index takes this video's words from: its title, uploader and
    /// tags.
    pub(crate) fn indexed_texts(&self) -> impl Iterator<Item = &String> {
        self.title.iter().chain(&self.uploader).chain(&self.tags)
    }
}

/// The order of every listing: newest first by upload date (undated last), then by id (bytes).
pub(crate) fn newest_first(a: &Entry, b: &Entry) -> Ordering {
    // Undated entries have day 0: last.
    b.day
        .cmp(&a.day)
        .then_with(|| a.id.as_bytes().cmp(b.id.as_bytes()))
}

/// A CID as its string (base32 for CIDv1, base58 for CIDv0), as JavaScript shows it.
mod cid_text {
    use cid::Cid;
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(cid: &Cid, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(cid)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Cid, D::Error> {
        d.deserialize_str(CidVisitor)
    }

    struct CidVisitor;

    impl serde::de::Visitor<'_> for CidVisitor {
        type Value = Cid;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a CID as a string")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Cid, E> {
            text.parse().map_err(E::custom)
        }
    }
}
