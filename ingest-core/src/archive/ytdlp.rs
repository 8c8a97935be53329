//! Reading what yt-dlp wrote: the `.info.json` of a video and the files beside it.
//!
//! Only stable fields are taken into a record ([`InfoJson::meta`]); everything yt-dlp writes
//! differently on every run (`epoch`, counts, format URLs with tokens, `filepath`, `_filename`,
//! HTTP headers) is ignored. yt-dlp writes the info.json before it downloads and leaves the
//! output name out of it, so the files of a video are found by name: every file beside
//! `STEM.info.json` whose name starts with `STEM.` (`STEM.mp4`, `STEM.f137.mp4`, `STEM.jpg`,
//! `STEM.en.vtt`, …), except yt-dlp's partial and temporary files.
//!
//! yt-dlp's merged or post-processed output is not byte-reproducible (ffmpeg writes its own
//! muxer version and timing), so [`InfoJson::warnings`] names the signs of it: formats merged
//! with `+`, a size that differs from what the site announced, an extension that changed.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::media::{role_of_extension, AUDIO_EXTS, SUBTITLE_EXTS, VIDEO_EXTS};
use super::{ArchiveInput, Meta, Role, Source};

/// The largest info.json read: 64 MiB (one with every format and subtitle listed is a few MiB).
pub const MAX_INFO_JSON_LEN: u64 = 64 * 1024 * 1024;

/// An info.json could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InfoJsonError {
    /// Reading it failed.
    #[error("cannot read {}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// Over [`MAX_INFO_JSON_LEN`].
    #[error("{} is over the limit of {max} bytes", path.display())]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// The limit.
        max: u64,
    },
    /// A file named as one of the video's is a symbolic link: only the bytes yt-dlp wrote are
    /// archived, never what a link points to (it could be anything on the machine).
    #[error("{} is a symbolic link: only regular files beside the info.json are archived (to archive what it points to, name that file with --site and --id)", path.display())]
    Link {
        /// The link.
        path: PathBuf,
    },
    /// Not a JSON object.
    #[error("{} is not a yt-dlp info.json: {reason}", path.display())]
    Invalid {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// A parsed `.info.json`.
#[derive(Clone, Debug)]
pub struct InfoJson {
    path: PathBuf,
    info: Map<String, Value>,
}

/// yt-dlp's unfinished files: never archived.
const PARTIAL_SUFFIXES: &[&str] = &[".part", ".ytdl", ".temp", ".info.json"];

impl InfoJson {
    /// Reads `path` (at most [`MAX_INFO_JSON_LEN`] bytes).
    pub fn read(path: &Path) -> Result<InfoJson, InfoJsonError> {
        let io = |source| InfoJsonError::Io {
            path: path.to_owned(),
            source,
        };
        let file = fs::File::open(path).map_err(io)?;
        let mut text = Vec::new();
        file.take(MAX_INFO_JSON_LEN + 1)
            .read_to_end(&mut text)
            .map_err(io)?;
        if text.len() as u64 > MAX_INFO_JSON_LEN {
            return Err(InfoJsonError::TooLarge {
                path: path.to_owned(),
                max: MAX_INFO_JSON_LEN,
            });
        }
        let value: Value = serde_json::from_slice(&text).map_err(|e| InfoJsonError::Invalid {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        InfoJson::from_value(path, value)
    }

    /// An info.json already parsed; `path` is where it lies (its siblings are its files).
    pub fn from_value(path: &Path, value: Value) -> Result<InfoJson, InfoJsonError> {
        match value {
            Value::Object(info) => Ok(InfoJson {
                path: path.to_owned(),
                info,
            }),
            _ => Err(InfoJsonError::Invalid {
                path: path.to_owned(),
                reason: "not a JSON object".into(),
            }),
        }
    }

    fn str(&self, key: &str) -> Option<String> {
        match self.info.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }

    fn uint(&self, key: &str) -> Option<u64> {
        self.info.get(key).and_then(Value::as_u64)
    }

    fn strings(&self, key: &str) -> Vec<String> {
        match self.info.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Where the video comes from: the extractor key lower-cased, the id, the page URL.
    pub fn source(&self) -> Result<Source, InfoJsonError> {
        let missing = |key: &str| InfoJsonError::Invalid {
            path: self.path.clone(),
            reason: format!("it has no {key}"),
        };
        let site = self
            .str("extractor_key")
            .or_else(|| self.str("extractor"))
            .ok_or_else(|| missing("extractor_key"))?
            .to_lowercase();
        let id = self.str("id").ok_or_else(|| missing("id"))?;
        Ok(Source {
            site,
            id,
            url: self.str("webpage_url"),
        })
    }

    /// The longest duration taken as real: a year (the longest streams yt-dlp archives last
    /// days). A larger one (`1e300`) would be saturated by the conversion to milliseconds and
    /// stored as if it were measured: it is left out, with a warning.
    const MAX_DURATION_S: f64 = 365.0 * 24.0 * 3600.0;

    /// The duration in milliseconds, if the info.json gives a plausible one.
    fn duration_ms(&self) -> Option<u64> {
        self.info
            .get("duration")
            .and_then(Value::as_f64)
            .filter(|d| d.is_finite() && (0.0..=Self::MAX_DURATION_S).contains(d))
            .map(|d| (d * 1000.0).round() as u64)
    }

    /// The stable metadata.
    pub fn meta(&self) -> Meta {
        let duration_ms = self.duration_ms();
        Meta {
            title: self.str("title"),
            uploader: self.str("uploader"),
            uploader_id: self.str("uploader_id"),
            channel: self.str("channel"),
            channel_id: self.str("channel_id"),
            upload_date: self.str("upload_date"),
            timestamp: self.uint("timestamp"),
            duration_ms,
            description: self.str("description"),
            tags: self.strings("tags"),
            categories: self.strings("categories"),
            width: self.uint("width"),
            height: self.uint("height"),
            language: self.str("language"),
            license: self.str("license"),
            age_limit: self.uint("age_limit"),
        }
    }

    /// `STEM` of `STEM.info.json`.
    fn stem(&self) -> Option<String> {
        let name = self.path.file_name()?.to_str()?;
        name.strip_suffix(".info.json")
            .filter(|stem| !stem.is_empty())
            .map(str::to_owned)
    }

    /// The format entry with this id, from `formats` (or the top level for a single format).
    fn format(&self, id: &str) -> Option<&Map<String, Value>> {
        if let Some(Value::Array(formats)) = self.info.get("formats") {
            let found = formats
                .iter()
                .filter_map(Value::as_object)
                .find(|f| f.get("format_id").and_then(Value::as_str) == Some(id));
            if found.is_some() {
                return found;
            }
        }
        (self.str("format_id").as_deref() == Some(id)).then_some(&self.info)
    }

    /// The role of a file: by extension, except that a video container holding a format with
    /// no video codec (`vcodec: none`, an audio-only WebM) is audio.
    fn role_of(&self, ext: &str, format_id: Option<&str>) -> Role {
        let format = format_id.and_then(|id| self.format(id));
        let vcodec = format.and_then(|f| f.get("vcodec")).and_then(Value::as_str);
        match role_of_extension(ext) {
            Role::Video if vcodec == Some("none") => Role::Audio,
            role => role,
        }
    }

    /// Whether `rest` (a file name after `STEM.`) is one yt-dlp gives this video's files, by
    /// its output template: `EXT` (the download, a thumbnail, `description`), `fID.EXT` (one
    /// format kept apart), `LANG.EXT` (subtitles in a language the info.json lists). Returns
    /// the format id the file holds, if known, and its extension (lower-case).
    fn own_file(&self, rest: &str) -> Option<(Option<String>, String)> {
        let parts: Vec<&str> = rest.split('.').collect();
        let ext = parts.last()?.to_ascii_lowercase();
        match parts.as_slice() {
            [_ext] if VIDEO_EXTS.contains(&ext.as_str()) || AUDIO_EXTS.contains(&ext.as_str()) => {
                Some((self.str("format_id"), ext))
            }
            [_ext] => Some((None, ext)),
            // `STEM.f137.mp4`: one format kept apart (yt-dlp's name for unmerged formats).
            [f, _ext] if f.starts_with('f') && self.format(&f[1..]).is_some() => {
                Some((Some(f[1..].to_owned()), ext))
            }
            [lang, _ext] if SUBTITLE_EXTS.contains(&ext.as_str()) && self.has_subtitles(lang) => {
                Some((None, ext))
            }
            _ => None,
        }
    }

    /// Whether the info.json lists subtitles or captions in `lang`.
    fn has_subtitles(&self, lang: &str) -> bool {
        ["requested_subtitles", "subtitles", "automatic_captions"]
            .iter()
            .any(|key| {
                self.info
                    .get(*key)
                    .and_then(Value::as_object)
                    .is_some_and(|m| m.contains_key(lang))
            })
    }

    /// Every file yt-dlp left beside the info.json for this video, in name order: the names
    /// its output template gives them (see `own_file`), regular files only. A link under such
    /// a name is an error.
    pub fn files(&self) -> Result<Vec<ArchiveInput>, InfoJsonError> {
        let Some(stem) = self.stem() else {
            return Err(InfoJsonError::Invalid {
                path: self.path.clone(),
                reason: "its name is not NAME.info.json".into(),
            });
        };
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        let io = |source| InfoJsonError::Io {
            path: dir.clone(),
            source,
        };
        let prefix = format!("{stem}.");
        let mut found = Vec::new();
        for entry in fs::read_dir(&dir).map_err(io)? {
            let entry = entry.map_err(io)?;
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Some(rest) = name.strip_prefix(&prefix) else {
                continue;
            };
            if PARTIAL_SUFFIXES.iter().any(|s| name.ends_with(s)) {
                continue;
            }
            let Some((format_id, ext)) = self.own_file(rest) else {
                continue; // another video's file whose name starts the same (`STEM.x.mp4`)
            };
            let kind = entry.file_type().map_err(io)?;
            if kind.is_symlink() {
                return Err(InfoJsonError::Link { path: entry.path() });
            }
            if !kind.is_file() {
                continue;
            }
            let role = self.role_of(&ext, format_id.as_deref());
            found.push(ArchiveInput {
                path: entry.path(),
                name,
                role,
                format_id,
            });
        }
        found.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(found)
    }

    /// Signs that `files` are not the bytes the site serves, each naming its reason, and
    /// metadata left out of the record because it is not plausible.
    pub fn warnings(&self, files: &[ArchiveInput]) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(d) = self.info.get("duration") {
            if !d.is_null() && self.duration_ms().is_none() {
                warnings.push(format!(
                    "duration {d} is not a plausible length in seconds: left out of the record"
                ));
            }
        }
        let merged: Vec<String> = match self.info.get("requested_formats") {
            Some(Value::Array(formats)) if formats.len() > 1 => formats
                .iter()
                .filter_map(|f| {
                    f.get("format_id")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .collect(),
            _ => Vec::new(),
        };
        for f in files {
            if !matches!(f.role, Role::Video | Role::Audio) {
                continue;
            }
            let is_merged_output = f.format_id.as_deref().is_some_and(|id| id.contains('+'));
            if is_merged_output || (!merged.is_empty() && f.format_id == self.str("format_id")) {
                warnings.push(format!(
                    "{}: merged from formats {} by ffmpeg, so other volunteers will not get the same bytes; keep the formats as separate files (-f {}) or pick one pre-muxed format",
                    f.name,
                    merged.join("+"),
                    merged.join(","),
                ));
                continue;
            }
            let Some(format) = f.format_id.as_deref().and_then(|id| self.format(id)) else {
                continue;
            };
            let announced = format.get("filesize").and_then(Value::as_u64);
            let actual = fs::metadata(&f.path).map(|m| m.len()).ok();
            if let (Some(announced), Some(actual)) = (announced, actual) {
                if announced != actual {
                    warnings.push(format!(
                        "{}: {actual} bytes, but the site announced {announced} for format {}: the file was post-processed (fixup, remux or embedding), so other volunteers will not get the same bytes",
                        f.name,
                        f.format_id.as_deref().unwrap_or("?"),
                    ));
                }
            }
            let ext = f.name.rsplit('.').next().unwrap_or("");
            if let Some(format_ext) = format.get("ext").and_then(Value::as_str) {
                if !ext.eq_ignore_ascii_case(format_ext) {
                    warnings.push(format!(
                        "{}: the format is .{format_ext} but the file is .{ext}: it was remuxed or converted, so other volunteers will not get the same bytes",
                        f.name
                    ));
                }
            }
        }
        warnings
    }
}
