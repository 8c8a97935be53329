//! Per-video metadata records: small, self-contained, canonical DAG-CBOR.
//!
//! A volunteer who archived a video hands on one [`Record`]: where the video comes from, the
//! profile its CIDs were computed with, each file (role, name, CID, sizes) and the metadata that
//! does not change from one download to the next. Nothing volatile is stored (no counts, no
//! download time, no volunteer, no signed URL, no local path), so two volunteers who archive the
//! same bytes of the same video produce byte-identical records, hence one record CID.
//!
//! The schema is documented in `docs/record-schema.md`. Encoding goes through one path
//! (`Record` → IPLD map → `serde_ipld_dagcbor`, which orders map keys canonically), and
//! absent optional fields are left out, never written as null.
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

use std::collections::BTreeMap;

use cid::Cid;
use ipld_core::ipld::Ipld;

use crate::unixfs::block::{cid_of, DAG_CBOR};
use crate::unixfs::dir::{check_entry_name, put, DirBuilder, DirError};
use crate::unixfs::importer::{import_bytes, ImportError};
use crate::unixfs::profile::{CidVersion, Profile};
use crate::unixfs::sink::BlockSink;

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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Source {
    /// The site: yt-dlp's extractor key, lower-case (`youtube`, `vimeo`, `generic`).
    pub site: String,
    /// The video's id on that site.
    pub id: String,
    /// The video's page URL (never a signed or expiring media URL).
    pub url: Option<String>,
}

/// One archived file.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    pub format_id: Option<String>,
}

/// Metadata that does not change from one download to the next. Every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Meta {
    /// Title.
    pub title: Option<String>,
    /// Uploader's display name.
    pub uploader: Option<String>,
    /// Uploader's id on the site.
    pub uploader_id: Option<String>,
    /// Channel name.
    pub channel: Option<String>,
    /// Channel id.
    pub channel_id: Option<String>,
    /// Upload date, `YYYYMMDD`.
    pub upload_date: Option<String>,
    /// Upload time, seconds since the Unix epoch.
    pub timestamp: Option<u64>,
    /// Duration in milliseconds (yt-dlp gives seconds, sometimes fractional; integers keep the
    /// encoding free of floats).
    pub duration_ms: Option<u64>,
    /// Description.
    pub description: Option<String>,
    /// Tags, in the site's order.
    pub tags: Vec<String>,
    /// Categories, in the site's order.
    pub categories: Vec<String>,
    /// Width of the video in pixels.
    pub width: Option<u64>,
    /// Height of the video in pixels.
    pub height: Option<u64>,
    /// Language code.
    pub language: Option<String>,
    /// License.
    pub license: Option<String>,
    /// Age limit.
    pub age_limit: Option<u64>,
}

/// A per-video record.
#[derive(Clone, Debug, PartialEq, Eq)]
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
        Profile::by_name(&self.profile).map_err(|_| {
            invalid(
                "profile",
                format!("{:?} is not a known profile", self.profile),
            )
        })?;
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
            check_len(&field, &f.name, 255)?;
            if f.name == RECORD_FILE_NAME {
                return Err(invalid(&field, "record.cbor is the record's own name"));
            }
            if !names.insert(f.name.as_str()) {
                return Err(invalid(&field, format!("{:?} is listed twice", f.name)));
            }
            if let Some(format_id) = &f.format_id {
                check_len(&format!("files[{i}].format_id"), format_id, 256)?;
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

    /// The record as an IPLD map (what is encoded).
    pub fn to_ipld(&self) -> Ipld {
        fn s(v: &str) -> Ipld {
            Ipld::String(v.to_owned())
        }
        fn opt_s(map: &mut BTreeMap<String, Ipld>, key: &str, v: &Option<String>) {
            if let Some(v) = v {
                map.insert(key.to_owned(), s(v));
            }
        }
        fn opt_u(map: &mut BTreeMap<String, Ipld>, key: &str, v: Option<u64>) {
            if let Some(v) = v {
                map.insert(key.to_owned(), Ipld::Integer(v.into()));
            }
        }
        fn list(map: &mut BTreeMap<String, Ipld>, key: &str, v: &[String]) {
            if !v.is_empty() {
                map.insert(key.to_owned(), Ipld::List(v.iter().map(|t| s(t)).collect()));
            }
        }
        let mut source = BTreeMap::new();
        source.insert("site".to_owned(), s(&self.source.site));
        source.insert("id".to_owned(), s(&self.source.id));
        opt_s(&mut source, "url", &self.source.url);
        let files = self
            .files
            .iter()
            .map(|f| {
                let mut m = BTreeMap::new();
                m.insert("role".to_owned(), s(f.role.as_str()));
                m.insert("name".to_owned(), s(&f.name));
                m.insert("cid".to_owned(), Ipld::Link(f.cid));
                m.insert("size".to_owned(), Ipld::Integer(f.size.into()));
                m.insert("dag_size".to_owned(), Ipld::Integer(f.dag_size.into()));
                opt_s(&mut m, "format_id", &f.format_id);
                Ipld::Map(m)
            })
            .collect();
        let m = &self.meta;
        let mut meta = BTreeMap::new();
        opt_s(&mut meta, "title", &m.title);
        opt_s(&mut meta, "uploader", &m.uploader);
        opt_s(&mut meta, "uploader_id", &m.uploader_id);
        opt_s(&mut meta, "channel", &m.channel);
        opt_s(&mut meta, "channel_id", &m.channel_id);
        opt_s(&mut meta, "upload_date", &m.upload_date);
        opt_u(&mut meta, "timestamp", m.timestamp);
        opt_u(&mut meta, "duration_ms", m.duration_ms);
        opt_s(&mut meta, "description", &m.description);
        list(&mut meta, "tags", &m.tags);
        list(&mut meta, "categories", &m.categories);
        opt_u(&mut meta, "width", m.width);
        opt_u(&mut meta, "height", m.height);
        opt_s(&mut meta, "language", &m.language);
        opt_s(&mut meta, "license", &m.license);
        opt_u(&mut meta, "age_limit", m.age_limit);
        let mut root = BTreeMap::new();
        root.insert("version".to_owned(), Ipld::Integer(RECORD_VERSION.into()));
        root.insert("profile".to_owned(), s(&self.profile));
        root.insert("source".to_owned(), Ipld::Map(source));
        root.insert("files".to_owned(), Ipld::List(files));
        root.insert("meta".to_owned(), Ipld::Map(meta));
        Ipld::Map(root)
    }

    /// The record's canonical DAG-CBOR bytes. Fails if the record is invalid.
    pub fn encode(&self) -> Result<Vec<u8>, RecordError> {
        self.validate()?;
        let bytes =
            serde_ipld_dagcbor::to_vec(&self.to_ipld()).expect("an IPLD map always encodes");
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
        if bytes.len() > MAX_RECORD_LEN {
            return Err(RecordError::TooLarge {
                len: bytes.len(),
                max: MAX_RECORD_LEN,
            });
        }
        let ipld: Ipld = serde_ipld_dagcbor::from_slice(bytes).map_err(decode_error)?;
        // Canonical form: the bytes must be exactly what this code would write for them. (The
        // version is checked first below, so the error for a newer record names its version.)
        let canonical = serde_ipld_dagcbor::to_vec(&ipld).ok().as_deref() == Some(bytes);
        let mut root = Fields::new("", ipld)?;
        // The version first: a newer record may have a shape this code cannot read.
        match root.take("version")? {
            Ipld::Integer(v) if v == RECORD_VERSION as i128 => {}
            Ipld::Integer(v) if v > 0 => {
                return Err(RecordError::UnsupportedVersion {
                    version: u64::try_from(v).unwrap_or(u64::MAX),
                })
            }
            _ => return Err(wrong("version", "a positive integer")),
        }
        if !canonical {
            return Err(RecordError::NotCanonical {
                reason: "it does not re-encode to the same bytes",
            });
        }
        let profile = root.string("profile")?;
        let mut src = Fields::new("source", root.take("source")?)?;
        let source = Source {
            site: src.string("site")?,
            id: src.string("id")?,
            url: src.opt_string("url")?,
        };
        src.finish()?;
        let files = match root.take("files")? {
            Ipld::List(items) => {
                if items.len() > MAX_FILES {
                    return Err(invalid(
                        "files",
                        format!("{} files, over the limit of {MAX_FILES}", items.len()),
                    ));
                }
                items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let mut f = Fields::new(&format!("files[{i}]"), item)?;
                        let role_field = format!("files[{i}].role");
                        let role_name = f.string("role")?;
                        let role = Role::parse(&role_name).ok_or_else(|| {
                            invalid(&role_field, format!("unknown role {role_name:?}"))
                        })?;
                        let file = RecordFile {
                            role,
                            name: f.string("name")?,
                            cid: f.link("cid")?,
                            size: f.u64("size")?,
                            dag_size: f.u64("dag_size")?,
                            format_id: f.opt_string("format_id")?,
                        };
                        f.finish()?;
                        Ok(file)
                    })
                    .collect::<Result<Vec<_>, RecordError>>()?
            }
            _ => return Err(wrong("files", "a list")),
        };
        let mut m = Fields::new("meta", root.take("meta")?)?;
        let meta = Meta {
            title: m.opt_string("title")?,
            uploader: m.opt_string("uploader")?,
            uploader_id: m.opt_string("uploader_id")?,
            channel: m.opt_string("channel")?,
            channel_id: m.opt_string("channel_id")?,
            upload_date: m.opt_string("upload_date")?,
            timestamp: m.opt_u64("timestamp")?,
            duration_ms: m.opt_u64("duration_ms")?,
            description: m.opt_string("description")?,
            tags: m.strings("tags")?,
            categories: m.strings("categories")?,
            width: m.opt_u64("width")?,
            height: m.opt_u64("height")?,
            language: m.opt_string("language")?,
            license: m.opt_string("license")?,
            age_limit: m.opt_u64("age_limit")?,
        };
        m.finish()?;
        root.finish()?;
        let record = Record {
            profile,
            source,
            files,
            meta,
        };
        record.validate()?;
        Ok(record)
    }

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

/// The decoder's error, in words (its own `Display` is its `Debug`). Decoding into `Ipld`
/// passes through serde, which turns some errors into `Msg` holding their `Debug` text, so both
/// forms are matched.
fn decode_error(e: serde_ipld_dagcbor::DecodeError<std::convert::Infallible>) -> RecordError {
    use serde_ipld_dagcbor::DecodeError as D;
    let text = match &e {
        D::Msg(msg) => msg.clone(),
        other => format!("{other:?}"),
    };
    let not_canonical = |reason| RecordError::NotCanonical { reason };
    if matches!(e, D::NonMinimal { .. }) || text.starts_with("NonMinimal") {
        return not_canonical("an integer or a length is not written in its shortest form");
    }
    if matches!(e, D::IndefiniteSize) || text.starts_with("IndefiniteSize") {
        return not_canonical("it uses an indefinite-length item");
    }
    if matches!(e, D::UnorderedKey) || text.starts_with("UnorderedKey") {
        return not_canonical("its map keys are not in canonical order");
    }
    let reason = match e {
        D::Eof { .. } => "it is truncated".to_owned(),
        D::TrailingData => "bytes follow the end of the record".to_owned(),
        D::DepthOverflow { .. } => "it is nested too deeply".to_owned(),
        _ if text.starts_with("Eof") => "it is truncated".to_owned(),
        _ => text,
    };
    RecordError::Decode { reason }
}

fn wrong(field: &str, expected: &'static str) -> RecordError {
    RecordError::WrongType {
        field: field.to_owned(),
        expected,
    }
}

/// The fields of one map, taken one by one; what is left at the end is an unknown field.
struct Fields {
    path: String,
    map: BTreeMap<String, Ipld>,
}

impl Fields {
    fn new(path: &str, ipld: Ipld) -> Result<Fields, RecordError> {
        let field = if path.is_empty() { "record" } else { path };
        match ipld {
            Ipld::Map(map) => Ok(Fields {
                path: path.to_owned(),
                map,
            }),
            _ => Err(wrong(field, "a map")),
        }
    }

    fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn take_opt(&mut self, key: &str) -> Option<Ipld> {
        self.map.remove(key)
    }

    fn take(&mut self, key: &str) -> Result<Ipld, RecordError> {
        self.map.remove(key).ok_or_else(|| RecordError::Missing {
            field: self.field(key),
        })
    }

    fn string(&mut self, key: &str) -> Result<String, RecordError> {
        match self.take(key)? {
            Ipld::String(s) => Ok(s),
            _ => Err(wrong(&self.field(key), "a string")),
        }
    }

    fn opt_string(&mut self, key: &str) -> Result<Option<String>, RecordError> {
        match self.take_opt(key) {
            None => Ok(None),
            Some(Ipld::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong(&self.field(key), "a string")),
        }
    }

    fn u64(&mut self, key: &str) -> Result<u64, RecordError> {
        let field = self.field(key);
        match self.take(key)? {
            Ipld::Integer(i) => u64::try_from(i).map_err(|_| wrong(&field, "an unsigned integer")),
            _ => Err(wrong(&field, "an unsigned integer")),
        }
    }

    fn opt_u64(&mut self, key: &str) -> Result<Option<u64>, RecordError> {
        if !self.map.contains_key(key) {
            return Ok(None);
        }
        self.u64(key).map(Some)
    }

    fn link(&mut self, key: &str) -> Result<Cid, RecordError> {
        match self.take(key)? {
            Ipld::Link(cid) => Ok(cid),
            _ => Err(wrong(&self.field(key), "a CID link")),
        }
    }

    fn strings(&mut self, key: &str) -> Result<Vec<String>, RecordError> {
        let field = self.field(key);
        match self.take_opt(key) {
            None => Ok(Vec::new()),
            Some(Ipld::List(items)) if items.len() > MAX_TAGS => Err(invalid(
                &field,
                format!("{} entries, over the limit of {MAX_TAGS}", items.len()),
            )),
            // An empty list is never written: absent means empty.
            Some(Ipld::List(items)) if items.is_empty() => Err(invalid(
                &field,
                "an empty list is written by leaving the field out",
            )),
            Some(Ipld::List(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Ipld::String(s) => Ok(s),
                    _ => Err(wrong(&format!("{field}[{i}]"), "a string")),
                })
                .collect(),
            Some(_) => Err(wrong(&field, "a list of strings")),
        }
    }

    fn finish(self) -> Result<(), RecordError> {
        match self.map.into_keys().next() {
            None => Ok(()),
            Some(key) => Err(RecordError::UnknownField {
                field: if self.path.is_empty() {
                    key
                } else {
                    format!("{}.{key}", self.path)
                },
            }),
        }
    }
}
