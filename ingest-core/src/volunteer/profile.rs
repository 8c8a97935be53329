//! Download profiles: the yt-dlp arguments a volunteer's downloads run under, named and fixed
//! as import profiles are, so every volunteer keeps the same bytes of a video: the bytes the
//! site served.
//!
//! What every profile does (and why, from trying yt-dlp 2026.11.23 against a local site):
//! - `--no-config`: no user configuration can add a post-processor (`--embed-thumbnail`
//!   leaves no trace in what yt-dlp reports).
//! - a format chosen with no `+`: a progressive file, or video and audio kept as two files
//!   (`(bv,ba)`, in brackets: `,` binds looser than `/`); never merged by ffmpeg.
//! - `--fixup never`: the default fix-ups rewrite DASH audio and HLS downloads.
//! - `--hls-use-mpegts` with the native downloaders: an HLS download is its segments, joined
//!   byte for byte (an MPEG-TS stream), not remuxed; `--abort-on-unavailable-fragments`: a
//!   missing segment fails the download instead of leaving a hole.
//! - the info.json and the thumbnail written; the output named by id and format id (without the
//!   format id, a second stream would take the first's name and be dropped).
//! - partial files kept (`.part`), resumed by the next run (`--continue`); `-w`: a finished
//!   file is never written again.

/// A named set of yt-dlp arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DownloadProfile {
    /// Its name, as given to `--download-profile`.
    pub name: &'static str,
    /// What it keeps.
    pub description: &'static str,
    /// The format selector (`-f`).
    pub format: &'static str,
    /// Arguments beyond those every profile shares ([`COMMON_ARGS`]).
    pub args: &'static [&'static str],
}

/// The arguments every profile passes, before its own.
pub const COMMON_ARGS: &[&str] = &[
    "--no-config",
    "--no-cache-dir",
    "--fixup",
    "never",
    "--no-mtime",
    "--no-overwrites",
    "--continue",
    "--write-info-json",
    "--write-thumbnail",
    "--no-write-playlist-metafiles",
    "--no-playlist",
    "--socket-timeout",
    "30",
    "--retries",
    "10",
    "--retry-sleep",
    "exp=1:30",
    "--quiet",
    "--no-color",
    "--no-warnings",
];

/// The profiles; the first is the default.
pub static DOWNLOAD_PROFILES: [DownloadProfile; 2] = [
    DownloadProfile {
        name: "as-served-v1",
        description: "a progressive file over HTTP, else video and audio as two HTTP files, else (HLS or DASH segments only) the segments joined byte for byte",
        format: AS_SERVED,
        args: &[
            "--downloader",
            "m3u8:native",
            "--downloader",
            "dash:native",
            "--hls-use-mpegts",
            "--abort-on-unavailable-fragments",
        ],
    },
    DownloadProfile {
        name: "http-files-v1",
        description: "only files served whole over HTTP: a progressive file, else video and audio as two files; a video served only as segments fails",
        format: HTTP_FILES,
        args: &[],
    },
];

/// HTTP files first; segments only where nothing else exists.
const AS_SERVED: &str = concat!(
    "b[protocol^=http][protocol!*=dash]",
    "/(bv[protocol^=http][protocol!*=dash],ba[protocol^=http][protocol!*=dash])",
    "/b/(bv,ba)"
);

/// HTTP files only.
const HTTP_FILES: &str = concat!(
    "b[protocol^=http][protocol!*=dash]",
    "/(bv[protocol^=http][protocol!*=dash],ba[protocol^=http][protocol!*=dash])"
);

/// The profile named `name`.
pub fn download_profile(name: &str) -> Option<&'static DownloadProfile> {
    DOWNLOAD_PROFILES.iter().find(|p| p.name == name)
}

impl DownloadProfile {
    /// The default profile.
    pub fn default_profile() -> &'static DownloadProfile {
        &DOWNLOAD_PROFILES[0]
    }

    /// Every yt-dlp argument of the profile, in order (the worker adds the output directory,
    /// the file names, what yt-dlp prints, and the URL).
    pub fn yt_dlp_args(&self) -> Vec<&'static str> {
        let mut args = COMMON_ARGS.to_vec();
        args.extend(["--format", self.format]);
        args.extend(self.args);
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain HTTP file: not a manifest of segments.
    const HTTP: &str = "[protocol^=http][protocol!*=dash]";

    #[test]
    fn the_http_selector_is_the_one_the_profiles_use() {
        assert!(AS_SERVED.starts_with(&format!("b{HTTP}/(bv{HTTP},ba{HTTP})/")));
        assert_eq!(HTTP_FILES, format!("b{HTTP}/(bv{HTTP},ba{HTTP})"));
    }

    #[test]
    fn no_profile_merges_or_post_processes() {
        for p in DOWNLOAD_PROFILES {
            let args = p.yt_dlp_args();
            assert!(!p.format.contains('+'), "{}", p.name);
            assert!(args.contains(&"--no-config") && args.contains(&"never"));
            for forbidden in [
                "--embed-thumbnail",
                "--embed-subs",
                "--remux-video",
                "--recode-video",
                "--convert-thumbnails",
                "--extract-audio",
                "--no-part",
                "--merge-output-format",
            ] {
                assert!(!args.contains(&forbidden), "{}: {forbidden}", p.name);
            }
        }
        assert_eq!(
            download_profile("as-served-v1"),
            Some(&DOWNLOAD_PROFILES[0])
        );
        assert_eq!(download_profile("nope"), None);
    }
}
