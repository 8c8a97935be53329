//! A local video site and the pinned yt-dlp, for the volunteer's tests: ffmpeg-made clips
//! behind pages yt-dlp's generic extractor reads (`tests/video-site.sh`: progressive videos,
//! one served as separate video and audio files, one that always fails, one served slowly),
//! every request logged; and yt-dlp from PyPI at the version `tests/ytdlp/requirements.txt`
//! locks (`tests/ytdlp.sh`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::ipfs::{require_private_network, script};

/// The site: started in a private network namespace, stopped (by its PID) when dropped.
#[derive(Debug)]
pub struct VideoSite {
    dir: PathBuf,
    /// `http://127.0.0.1:P`.
    pub url: String,
    /// The server's PID.
    pub pid: u32,
}

/// One request the site answered.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Request {
    /// `GET`, `HEAD`.
    pub method: String,
    /// The path.
    pub path: String,
    /// The `Range` header, if sent.
    pub range: Option<String>,
    /// The status answered.
    pub status: u16,
    /// Body bytes sent.
    pub bytes: u64,
}

impl VideoSite {
    /// Makes `count` progressive videos (`v01`…) and the special ones in `dir`, and serves
    /// them; `slow_rate` (bytes a second) is the slow video's speed.
    pub fn start(dir: &Path, count: usize, slow_rate: Option<u64>) -> VideoSite {
        require_private_network();
        let mut command = Command::new("bash");
        command
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("video-site.sh"))
            .args(["start", dir.to_str().unwrap(), &count.to_string()])
            .stdin(Stdio::null());
        if let Some(rate) = slow_rate {
            command.env("VIDEO_SITE_SLOW_RATE", rate.to_string());
        }
        let out = command.output().expect("bash runs");
        assert!(
            out.status.success(),
            "tests/video-site.sh start failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let env: std::collections::HashMap<String, String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        VideoSite {
            dir: dir.to_owned(),
            url: env["url"].clone(),
            pid: env["pid"].parse().unwrap(),
        }
    }

    /// The wanted list of every video: `SITE ID URL` lines.
    pub fn wanted(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("wanted.txt"))
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The file the site serves at `path` (`/media/v01.mp4`).
    pub fn file(&self, path: &str) -> PathBuf {
        self.dir.join("www").join(path.trim_start_matches('/'))
    }

    /// Every request answered so far.
    pub fn requests(&self) -> Vec<Request> {
        std::fs::read_to_string(self.dir.join("requests.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl Drop for VideoSite {
    fn drop(&mut self) {
        script("video-site.sh", &["stop", self.dir.to_str().unwrap()]);
    }
}

/// The pinned yt-dlp (installed by `tests/ytdlp.sh install`, which `tests/run.sh` runs).
pub fn yt_dlp() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ytdlp-venv/bin/yt-dlp");
    assert!(
        path.exists(),
        "{} is missing: run `bash tests/ytdlp.sh install`",
        path.display()
    );
    path
}
