//! Per-video metadata records: small, self-contained, canonical DAG-CBOR.
//!
//! A volunteer who archived a video hands on one [`Record`]: where the video comes from, the
//! profile its CIDs were computed with, each file (role, name, CID, sizes) and the metadata that
//! does not change from one download to the next. Nothing volatile is stored (no counts, no
//! download time, no volunteer, no signed URL, no local path), so two volunteers who archive the
//! same bytes of the same video produce byte-identical records, hence one record CID.
//!
//! The schema is documented in `docs/record-schema.md` and described once in code: the structs
//! of this module and their serde attributes, which both directions follow, plus
//! [`Record::validate`] for the rules a type cannot state (bounds, names, the profile). The
//! codec (`codec`) turns them into canonical DAG-CBOR and back; `directory` builds the
//! per-video directory.
//!
//! [`Record::decode`] reads untrusted bytes: at most [`MAX_RECORD_LEN`] bytes, nesting bounded by
//! the decoder (256 levels) and by the schema (4), strings, files and tags bounded by named
//! limits; non-canonical encodings (anything that does not re-encode to the same bytes), unknown
//! versions, unknown fields, wrong types and invalid values are refused with a
//! [`RecordError`] naming the field.
//!
//! [`Record::write_directory`] turns a record into its per-video UnixFS directory: each file under
//! its name plus `record.cbor`, the record's bytes as a file. Its CID is a pure function of the
//! record.

mod codec;
mod directory;
#[cfg(test)]
mod props;

pub use directory::{VideoDirectory, WriteDirectoryError};

use cid::Cid;
use ipld_core::ipld::Ipld;
use serde::{Deserialize, Deserializer, Serialize};

use crate::unixfs::block::{cid_of, DAG_CBOR, DAG_PB, RAW, SHA2_256};
use crate::unixfs::dir::check_entry_name;
use crate::unixfs::profile::{CidVersion, Profile};

/// The schema version this code writes and reads.
pub const RECORD_VERSION: u64 = 1;
/// The largest record read: 256 KiB. A record with a long description (YouTube allows 5000
/// characters, at most 20 KB of UTF-8), a hundred tags and a dozen files is under 32 KiB.
pub const MAX_RECORD_LEN: usize = 256 * 1024;
/// The most files a record may list.
pub const MAX_FILES: usize = 64;
/// The most tags (and the most categories) a record may list.
pub const MAX_TAGS: usize = 512;
/// The longest description, in bytes.
pub const MAX_DESCRIPTION_LEN: usize = 64 * 1024;
/// The longest of any other string (titles, names, ids, URLs), in bytes.
pub const MAX_FIELD_LEN: usize = 4096;
/// The name of the record's own file in the per-video directory.
pub const RECORD_FILE_NAME: &str = "record.cbor";

/// What a file of a record is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Role {
    /// Video, with or without sound.
    Video,
    /// Sound alone (a separate audio stream).
    Audio,
    /// A thumbnail image.
    Thumbnail,
    /// Subtitles or captions.
    Subtitles,
    /// The description as a text file.
    Description,
    /// Anything else the download produced.
    Other,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [
        Role::Video,
        Role::Audio,
        Role::Thumbnail,
        Role::Subtitles,
        Role::Description,
        Role::Other,
    ];

    /// The name written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Video => "video",
            Role::Audio => "audio",
            Role::Thumbnail => "thumbnail",
            Role::Subtitles => "subtitles",
            Role::Description => "description",
            Role::Other => "other",
        }
    }

    /// The role named `s`.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The role a file most likely has, from the extension of its name (`.mp4` video, `.m4a`
    /// audio, `.jpg` thumbnail, `.vtt` subtitles, `.description`, anything else other).
    pub fn guess(name: &str) -> Role {
        let ext = name
            .rsplit_once('.')
            .map_or("", |(_, e)| e)
            .to_ascii_lowercase();
        super::media::role_of_extension(&ext)
    }
}

/// Where a video comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The site: yt-dlp's extractor key, lower-case (`youtube`, `vimeo`, `generic`).
    pub site: String,
    /// The video's id on that site.
    pub id: String,
    /// The video's page URL (never a signed or expiring media URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// One archived file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordFile {
    /// What it is.
    pub role: Role,
    /// Its name in the per-video directory.
    pub name: String,
    /// Its UnixFS CID under the record's profile.
    pub cid: Cid,
    /// Bytes of content.
    pub size: u64,
    /// Bytes of every block of its DAG (the Tsize its directory link carries).
    pub dag_size: u64,
    /// The site's format id (yt-dlp's `format_id`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_id: Option<String>,
}

/// Metadata that does not change from one download to the next. Every field is optional:
/// absent fields are left out, never written as null, and an empty list is absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Uploader's display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploader: Option<String>,
    /// Uploader's id on the site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploader_id: Option<String>,
    /// Channel name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Channel id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    /// Upload date, `YYYYMMDD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_date: Option<String>,
    /// Upload time, seconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
    /// Duration in milliseconds (yt-dlp gives seconds, sometimes fractional; integers keep the
    /// encoding free of floats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Tags, in the site's order.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "non_empty"
    )]
    pub tags: Vec<String>,
    /// Categories, in the site's order.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "non_empty"
    )]
    pub categories: Vec<String>,
    /// Width of the video in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u64>,
    /// Height of the video in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    /// Language code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// License.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Age limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_limit: Option<u64>,
}

/// A per-video record. Its fields, with the serde attributes below, are the one description of
/// the schema: the encoder and the decoder both follow them (`version` is added and checked by
/// the codec).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The profile every CID of the record was computed with (a preset name).
    pub profile: String,
    /// Where the video comes from.
    pub source: Source,
    /// The archived files.
    pub files: Vec<RecordFile>,
    /// Stable metadata.
    pub meta: Meta,
}

/// A record is invalid, or cannot be decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Over [`MAX_RECORD_LEN`].
    #[error("record of {len} bytes is over the limit of {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not DAG-CBOR (truncated, trailing bytes, a CID that does not parse, …).
    #[error("record is not valid DAG-CBOR: {reason}")]
    Decode {
        /// The decoder's message.
        reason: String,
    },
    /// CBOR, but not in canonical DAG-CBOR form (key order, integer or length widths,
    /// indefinite lengths).
    #[error("record is not canonical DAG-CBOR: {reason}")]
    NotCanonical {
        /// What is not canonical.
        reason: &'static str,
    },
    /// A version this code does not know.
    #[error("record schema version {version} is not supported (this is version {RECORD_VERSION})")]
    UnsupportedVersion {
        /// The version found.
        version: u64,
    },
    /// A required field is missing.
    #[error("field {field}: missing")]
    Missing {
        /// The field's path.
        field: String,
    },
    /// A field the schema does not have.
    #[error("field {field}: not part of schema version {RECORD_VERSION}")]
    UnknownField {
        /// The field's path.
        field: String,
    },
    /// A field of the wrong type.
    #[error("field {field}: expected {expected}")]
    WrongType {
        /// The field's path.
        field: String,
        /// What it should be.
        expected: &'static str,
    },
    /// A value out of bounds or of the wrong form.
    #[error("field {field}: {reason}")]
    Invalid {
        /// The field's path.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

impl TryFrom<String> for Role {
    type Error = String;
    fn try_from(name: String) -> Result<Role, String> {
        Role::parse(&name).ok_or_else(|| format!("unknown role {name:?}"))
    }
}

/// A list that is present must not be empty: an empty list is written by leaving it out.
fn non_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let list = Vec::<String>::deserialize(deserializer)?;
    if list.is_empty() {
        return Err(serde::de::Error::custom(
            "an empty list is written by leaving the field out",
        ));
    }
    Ok(list)
}

fn invalid(field: &str, reason: impl Into<String>) -> RecordError {
    RecordError::Invalid {
        field: field.to_owned(),
        reason: reason.into(),
    }
}

fn check_len(field: &str, s: &str, max: usize) -> Result<(), RecordError> {
    if s.len() > max {
        return Err(invalid(
            field,
            format!("{} bytes, over the limit of {max}", s.len()),
        ));
    }
    Ok(())
}

/// Refuses what could split a line of output or disguise a name on a terminal: control
/// characters (C0, DEL, C1) and the bidirectional overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069). Ids and file names become file names, directory names and lines of
/// `export-archive`, where an `"abc\nexample 2"` would read as two videos.
fn check_plain(field: &str, s: &str) -> Result<(), RecordError> {
    let bad = s
        .chars()
        .find(|c| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'));
    match bad {
        Some(c) => Err(invalid(
            field,
            format!("contains the control character U+{:04X}", c as u32),
        )),
        None => Ok(()),
    }
}

/// A file's CID must be one its profile can give a file's root: a sha2-256 CID, dag-pb under
/// the profile's CID version, or raw (CIDv1) when the profile's leaves are raw (a file of one
/// chunk). Anything else (a CIDv0 under a CIDv1 profile, an identity hash, another codec) names
/// bytes no volunteer's import produces.
fn check_file_cid(field: &str, cid: &Cid, profile: &Profile) -> Result<(), RecordError> {
    let hash = cid.hash();
    if hash.code() != SHA2_256 || hash.digest().len() != 32 {
        return Err(invalid(
            field,
            format!("{cid} is not a sha2-256 CID, which every profile uses"),
        ));
    }
    let version = match cid.version() {
        cid::Version::V0 => CidVersion::V0,
        cid::Version::V1 => CidVersion::V1,
    };
    let ok = match cid.codec() {
        DAG_PB => version == profile.cid_version(),
        RAW => profile.raw_leaves() && version == CidVersion::V1,
        _ => false,
    };
    if !ok {
        return Err(invalid(
            field,
            format!(
                "{cid} is not a file root profile {} can make",
                profile.name()
            ),
        ));
    }
    Ok(())
}

/// Site names: lower-case ASCII letters, digits, `.`, `_`, `-`, as yt-dlp extractor keys are,
/// starting with a letter or digit (so no site is ever the catalogue's `_conflicts`).
fn check_site(site: &str) -> Result<(), RecordError> {
    let ok = site.len() <= 64
        && site
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && site
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !ok {
        return Err(invalid(
            "source.site",
            format!(
                "{site:?} is not a lower-case extractor key (a-z, 0-9, then also '.', '_', '-')"
            ),
        ));
    }
    Ok(())
}

impl Source {
    /// `<site>-<id>`: the stem of every output file of this video.
    pub fn stem(&self) -> String {
        format!("{}-{}", self.site, self.id)
    }

    /// Checks the site (a lower-case extractor key), the id (a valid directory entry name of at
    /// most 256 bytes: it names the video's directory in the catalogue) and the URL's length.
    pub fn validate(&self) -> Result<(), RecordError> {
        check_site(&self.site)?;
        check_entry_name(&self.id).map_err(|e| invalid("source.id", e.to_string()))?;
        check_plain("source.id", &self.id)?;
        check_len("source.id", &self.id, 256)?;
        if let Some(url) = &self.url {
            check_len("source.url", url, MAX_FIELD_LEN)?;
        }
        Ok(())
    }
}

impl Record {
    /// Checks every rule of the schema (bounds, names, profile).
    pub fn validate(&self) -> Result<(), RecordError> {
        let profile = self.profile()?;
        self.source.validate()?;
        if self.files.is_empty() {
            return Err(invalid("files", "a record lists at least one file"));
        }
        if self.files.len() > MAX_FILES {
            return Err(invalid(
                "files",
                format!("{} files, over the limit of {MAX_FILES}", self.files.len()),
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, f) in self.files.iter().enumerate() {
            let field = format!("files[{i}].name");
            check_entry_name(&f.name).map_err(|e| invalid(&field, e.to_string()))?;
            check_plain(&field, &f.name)?;
            check_len(&field, &f.name, 255)?;
            if f.name == RECORD_FILE_NAME {
                return Err(invalid(&field, "record.cbor is the record's own name"));
            }
            if let Some(kind) = crate::archive::active::by_name(&f.name) {
                return Err(invalid(
                    &field,
                    format!("{:?} is {kind}: a record never holds a file a browser would run as a page or a script", f.name),
                ));
            }
            if !names.insert(f.name.as_str()) {
                return Err(invalid(&field, format!("{:?} is listed twice", f.name)));
            }
            check_file_cid(&format!("files[{i}].cid"), &f.cid, &profile)?;
            if f.size > f.dag_size {
                return Err(invalid(
                    &format!("files[{i}].size"),
                    format!(
                        "{} bytes of content cannot be more than the {} bytes of its DAG (dag_size)",
                        f.size, f.dag_size
                    ),
                ));
            }
            if let Some(format_id) = &f.format_id {
                let field = format!("files[{i}].format_id");
                check_len(&field, format_id, 256)?;
                check_plain(&field, format_id)?;
            }
        }
        let m = &self.meta;
        for (field, value) in [
            ("meta.title", &m.title),
            ("meta.uploader", &m.uploader),
            ("meta.uploader_id", &m.uploader_id),
            ("meta.channel", &m.channel),
            ("meta.channel_id", &m.channel_id),
            ("meta.language", &m.language),
            ("meta.license", &m.license),
        ] {
            if let Some(v) = value {
                check_len(field, v, MAX_FIELD_LEN)?;
            }
        }
        if let Some(d) = &m.description {
            check_len("meta.description", d, MAX_DESCRIPTION_LEN)?;
        }
        if let Some(date) = &m.upload_date {
            if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid(
                    "meta.upload_date",
                    format!("{date:?} is not YYYYMMDD"),
                ));
            }
        }
        for (field, list) in [("meta.tags", &m.tags), ("meta.categories", &m.categories)] {
            if list.len() > MAX_TAGS {
                return Err(invalid(
                    field,
                    format!("{} entries, over the limit of {MAX_TAGS}", list.len()),
                ));
            }
            for (i, t) in list.iter().enumerate() {
                check_len(&format!("{field}[{i}]"), t, MAX_FIELD_LEN)?;
            }
        }
        Ok(())
    }

    /// The profile the record's CIDs were computed with.
    pub fn profile(&self) -> Result<Profile, RecordError> {
        Profile::by_name(&self.profile).map_err(|_| {
            invalid(
                "profile",
                format!("{:?} is not a known profile", self.profile),
            )
        })
    }

    /// The main file of the video: the first video file, else the first audio file, else the
    /// first file. Its CID is "the video's CID" in every listing.
    pub fn primary_file(&self) -> &RecordFile {
        self.file(Role::Video)
            .or_else(|| self.file(Role::Audio))
            .unwrap_or(&self.files[0])
    }

    /// The first file of role `role`.
    pub fn file(&self, role: Role) -> Option<&RecordFile> {
        self.files.iter().find(|f| f.role == role)
    }

    /// The record as an IPLD map (what is encoded), for rendering it (DAG-JSON).
    pub fn to_ipld(&self) -> Ipld {
        codec::to_ipld(self)
    }

    /// The record's canonical DAG-CBOR bytes. Fails if the record is invalid.
    pub fn encode(&self) -> Result<Vec<u8>, RecordError> {
        self.validate()?;
        let bytes = codec::encode(self);
        if bytes.len() > MAX_RECORD_LEN {
            return Err(RecordError::TooLarge {
                len: bytes.len(),
                max: MAX_RECORD_LEN,
            });
        }
        Ok(bytes)
    }

    /// The record's CID: CIDv1, DAG-CBOR, sha2-256 of [`Record::encode`].
    pub fn cid(&self) -> Result<Cid, RecordError> {
        Ok(cid_of(CidVersion::V1, DAG_CBOR, &self.encode()?))
    }

    /// Reads a record from untrusted bytes (see the module documentation for what is checked).
    pub fn decode(bytes: &[u8]) -> Result<Record, RecordError> {
        let record = codec::decode(bytes)?;
        record.validate()?;
        Ok(record)
    }
}
