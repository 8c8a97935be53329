//! Media types: what a file is, from its extension or its HTTP `Content-Type`. The one table of
//! extensions the archive layer knows, used to give files their roles and downloads their names.

use super::Role;

/// Video containers.
pub(super) const VIDEO_EXTS: &[&str] = &[
    "mp4", "webm", "mkv", "mov", "flv", "avi", "m4v", "3gp", "ts", "mpg", "mpeg", "ogv", "wmv",
];
/// Audio containers.
pub(super) const AUDIO_EXTS: &[&str] = &[
    "m4a", "mp3", "opus", "ogg", "oga", "aac", "flac", "wav", "weba", "mka",
];
/// Thumbnails.
const IMAGE_EXTS: &[&str] = &["jpg", "jpeg", "png", "webp", "gif", "avif"];
/// Subtitles.
pub(super) const SUBTITLE_EXTS: &[&str] = &[
    "vtt", "srt", "ass", "ssa", "lrc", "ttml", "srv1", "srv2", "srv3", "json3",
];

/// The role a file extension (lower-case, without the dot) suggests.
pub fn role_of_extension(ext: &str) -> Role {
    if ext == "description" {
        Role::Description
    } else if IMAGE_EXTS.contains(&ext) {
        Role::Thumbnail
    } else if SUBTITLE_EXTS.contains(&ext) {
        Role::Subtitles
    } else if AUDIO_EXTS.contains(&ext) {
        Role::Audio
    } else if VIDEO_EXTS.contains(&ext) {
        Role::Video
    } else {
        Role::Other
    }
}

/// The extension for a `Content-Type` value (parameters and case ignored), for the media
/// types video sites serve; `None` for any other.
pub fn extension_of_media_type(content_type: &str) -> Option<&'static str> {
    let mime = content_type.split(';').next()?.trim().to_ascii_lowercase();
    Some(match mime.as_str() {
        "video/mp4" => "mp4",
        "video/webm" => "webm",
        "video/x-matroska" => "mkv",
        "video/quicktime" => "mov",
        "video/x-flv" => "flv",
        "video/3gpp" => "3gp",
        "video/mp2t" => "ts",
        "audio/mp4" => "m4a",
        "audio/mpeg" => "mp3",
        "audio/webm" => "weba",
        "audio/ogg" => "ogg",
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/webp" => "webp",
        "text/vtt" => "vtt",
        _ => return None,
    })
}
