//! yt-dlp as a process: run under a download profile, watched, and held to what it reports.
//!
//! - The files are those yt-dlp itself reports, one JSON line per downloaded format
//!   (`--print-to-file after_move:…` into a file of the download's directory), never parsed
//!   from its log: each format's final path, its thumbnails' and its info.json's.
//! - A watchdog reads yt-dlp's progress lines (`--progress-template`, on its standard output):
//!   no new byte for the stall time and the process is killed, its `.part` files kept for the
//!   next attempt, which resumes them.
//! - What yt-dlp post-processed anyway is refused, naming why: a format merged (`+`), a file
//!   renamed after its download (remuxed, recoded), a post-processor run on it.
//! - Its version and the profile go into a sidecar beside the record (`<stem>.download.json`),
//!   never into the record: two yt-dlp versions give one record for the same bytes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::profile::DownloadProfile;
use crate::archive::{ArchiveInput, InfoJsonError, Role};
use crate::io::AtomicFile;

/// The file in a download's directory that yt-dlp reports its files into.
pub(crate) const PRINTED: &str = ".ingest-printed.jsonl";

/// The most of yt-dlp's standard error kept for an error message.
const STDERR_TAIL: usize = 4000;

/// The largest report read back from yt-dlp.
const MAX_PRINTED: u64 = 16 * 1024 * 1024;

/// The yt-dlp to run: its program and its version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YtDlp {
    /// The program (a path, or a name found on `PATH`).
    pub program: PathBuf,
    /// What `--version` printed.
    pub version: String,
}

/// What one download gave: the files yt-dlp reported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Downloaded {
    /// The info.json.
    pub info_json: PathBuf,
    /// Each format downloaded, in yt-dlp's order.
    pub formats: Vec<Format>,
    /// The thumbnails written.
    pub thumbnails: Vec<PathBuf>,
}

/// One downloaded format, as yt-dlp reported it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Format {
    /// The file.
    pub path: PathBuf,
    /// The site's format id.
    pub format_id: String,
    /// How it was fetched (`http`, `https`, `m3u8_native`, …).
    pub protocol: String,
    /// Whether it holds no video (an audio stream).
    pub audio_only: bool,
}

/// A download failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DownloadError {
    /// yt-dlp could not be run.
    #[error("cannot run {}: {source} (install it with `pip install yt-dlp`, or name it with --yt-dlp)", program.display())]
    Spawn {
        /// The program.
        program: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// yt-dlp failed.
    #[error("yt-dlp failed on {target} (exit {code}): {message}")]
    Failed {
        /// The URL or id.
        target: String,
        /// Its exit code (-1: killed by a signal).
        code: i32,
        /// Its last `ERROR:` line, or the end of its standard error.
        message: String,
        /// Whether another attempt cannot help (a page or file that is not there, no video on
        /// the page, no format the profile takes).
        permanent: bool,
    },
    /// yt-dlp made no progress for the stall time and was stopped.
    #[error("yt-dlp made no progress on {target} for {}s: stopped (its partial files are kept)", stall.as_secs())]
    Stalled {
        /// The URL or id.
        target: String,
        /// The stall time.
        stall: Duration,
    },
    /// The download was stopped ([`stop_all`]).
    #[error("stopped")]
    Stopped,
    /// yt-dlp post-processed a file anyway: its bytes are not the site's.
    #[error("{}: {why}: not archived (the download profile keeps the bytes as served)", path.display())]
    PostProcessed {
        /// The file.
        path: PathBuf,
        /// What was done to it.
        why: String,
    },
    /// yt-dlp's report of its files is missing or wrong.
    #[error("{}: {reason}", path.display())]
    Report {
        /// The report (or the file it names).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading the download's directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl DownloadError {
    /// Whether another attempt cannot help.
    pub fn is_permanent(&self) -> bool {
        match self {
            DownloadError::Failed { permanent, .. } => *permanent,
            DownloadError::PostProcessed { .. } => true,
            _ => false,
        }
    }
}

/// The yt-dlp processes running, by PID, for [`stop_all`].
static RUNNING: Mutex<Option<HashMap<u32, ()>>> = Mutex::new(None);
/// Set by [`stop_all`]: no new yt-dlp starts.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Stops every yt-dlp this process runs (SIGTERM: its partial files stay for the next run),
/// and starts no other. For an interrupt handler.
pub fn stop_all() {
    STOPPING.store(true, Ordering::SeqCst);
    let running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    for pid in running.iter().flat_map(|m| m.keys()) {
        if let Some(pid) = rustix::process::Pid::from_raw(*pid as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
    }
}

fn register(pid: u32, on: bool) {
    let mut running = RUNNING.lock().unwrap_or_else(PoisonError::into_inner);
    let map = running.get_or_insert_with(HashMap::new);
    if on {
        map.insert(pid, ());
    } else {
        map.remove(&pid);
    }
}

impl YtDlp {
    /// The yt-dlp at `program` (default: `yt-dlp` on `PATH`), with its version.
    pub fn find(program: Option<&Path>) -> Result<YtDlp, DownloadError> {
        let program = program.map_or_else(|| PathBuf::from("yt-dlp"), Path::to_owned);
        let spawn = |source| DownloadError::Spawn {
            program: program.clone(),
            source,
        };
        let out = Command::new(&program)
            .args(["--no-config", "--version"])
            .stdin(Stdio::null())
            .output()
            .map_err(spawn)?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if !out.status.success() || version.is_empty() || version.len() > 100 {
            return Err(spawn(std::io::Error::other(format!(
                "`{} --version` did not print a version",
                program.display()
            ))));
        }
        Ok(YtDlp { program, version })
    }
}

/// One line of yt-dlp's report: a format moved into place.
#[derive(Deserialize)]
struct Printed {
    #[serde(default)]
    format_id: Option<String>,
    #[serde(default)]
    protocol: Option<String>,
    #[serde(default)]
    ext: Option<String>,
    #[serde(default)]
    vcodec: Option<String>,
    #[serde(default)]
    acodec: Option<String>,
    #[serde(default)]
    filepath: Option<String>,
    #[serde(default)]
    _filename: Option<String>,
    #[serde(default)]
    infojson_filename: Option<String>,
    #[serde(default)]
    thumbnails: Option<Vec<PrintedThumbnail>>,
}

#[derive(Deserialize)]
struct PrintedThumbnail {
    #[serde(default)]
    filepath: Option<String>,
}

/// The end of a video: the post-processors run on each format.
#[derive(Deserialize)]
struct PrintedEnd {
    #[serde(default)]
    postprocessors: Option<Vec<Option<Vec<serde_json::Value>>>>,
}

/// Downloads `target` (a URL, or an id yt-dlp knows) into `dir` under `profile`, calling
/// `progress` with the bytes downloaded as they come; a yt-dlp silent for `stall` is stopped,
/// and so is one running when `stop` is set (its partial files kept).
pub fn download(
    yt_dlp: &YtDlp,
    profile: &DownloadProfile,
    target: &str,
    dir: &Path,
    stall: Duration,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<Downloaded, DownloadError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| DownloadError::Io { path, source }
    };
    let dir = std::path::absolute(dir).map_err(io(dir))?;
    let printed = dir.join(PRINTED);
    std::fs::write(&printed, b"").map_err(io(&printed))?;
    if STOPPING.load(Ordering::SeqCst) {
        return Err(DownloadError::Stopped);
    }
    let mut command = Command::new(&yt_dlp.program);
    command
        .args(profile.yt_dlp_args())
        .arg("--paths")
        .arg(&dir)
        .args(["--output", "%(id)s.f%(format_id)s.%(ext)s"])
        .args(["--output", "infojson:%(id)s.%(ext)s"])
        .args(["--newline", "--progress", "--progress-delta", "1"])
        .args([
            "--progress-template",
            "download:PROGRESS %(info.format_id)s %(progress.downloaded_bytes)s",
        ])
        .arg("--print-to-file")
        .arg(concat!(
            "after_move:%(.{format_id,protocol,ext,vcodec,acodec,filepath,_filename,",
            "infojson_filename,thumbnails})j"
        ))
        .arg(&printed)
        .arg("--print-to-file")
        .arg("after_video:{\"postprocessors\": %(requested_downloads.:.__postprocessors)j}")
        .arg(&printed)
        .arg("--")
        .arg(target)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().map_err(|source| DownloadError::Spawn {
        program: yt_dlp.program.clone(),
        source,
    })?;
    register(child.id(), true);
    let outcome = watch(&mut child, stall, stop, progress);
    register(child.id(), false);
    let (status, stderr) = outcome.map_err(|e| match e {
        DownloadError::Stalled { stall, .. } => DownloadError::Stalled {
            target: target.to_owned(),
            stall,
        },
        e => e,
    })?;
    if !status.success() {
        if STOPPING.load(Ordering::SeqCst) || stop.load(Ordering::SeqCst) {
            return Err(DownloadError::Stopped);
        }
        let (message, permanent) = classify(&stderr);
        return Err(DownloadError::Failed {
            target: target.to_owned(),
            code: status.code().unwrap_or(-1),
            message,
            permanent,
        });
    }
    read_report(&dir, &printed)
}

/// Waits for `child`, feeding `progress` from its progress lines and killing it when no byte
/// came for `stall`: its exit status and the end of its standard error.
fn watch(
    child: &mut Child,
    stall: Duration,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(u64),
) -> Result<(std::process::ExitStatus, String), DownloadError> {
    let (tx, rx) = std::sync::mpsc::channel::<u64>();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let Some(stdout) = stdout else { return };
        // Bytes so far of each format: yt-dlp counts each from zero.
        let mut seen: HashMap<String, u64> = HashMap::new();
        for line in BufReader::new(stdout).take(1 << 30).lines() {
            let Ok(line) = line else { break };
            let mut words = line.split_whitespace();
            if words.next() != Some("PROGRESS") {
                continue;
            }
            let (Some(format), Some(bytes)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(bytes) = bytes.parse::<u64>() else {
                continue;
            };
            let before = seen.insert(format.to_owned(), bytes).unwrap_or(0);
            let _ = tx.send(bytes.saturating_sub(before));
        }
    });
    let errors = std::thread::spawn(move || {
        let mut tail = Vec::new();
        if let Some(mut stderr) = stderr {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&buf[..n]);
                if tail.len() > 4 * STDERR_TAIL {
                    tail.drain(..tail.len() - STDERR_TAIL);
                }
            }
        }
        String::from_utf8_lossy(&tail).into_owned()
    });
    let mut last = Instant::now();
    let mut stdout_open = true;
    let status = loop {
        // Woken by each progress line, and at once when yt-dlp's standard output closes (it
        // is ending): no polling delay after a download.
        if stdout_open {
            match rx.recv_timeout(Duration::from_millis(250)) {
                Ok(n) => {
                    if n > 0 {
                        last = Instant::now();
                        progress(n);
                    }
                    continue;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => stdout_open = false,
            }
        } else {
            std::thread::sleep(Duration::from_millis(5));
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(source) => {
                return Err(DownloadError::Io {
                    path: PathBuf::from("yt-dlp"),
                    source,
                })
            }
        }
        if stop.load(Ordering::SeqCst) {
            let _ = child.kill();
            let _ = child.wait();
            let _ = reader.join();
            let _ = errors.join();
            return Err(DownloadError::Stopped);
        }
        if last.elapsed() >= stall {
            let _ = child.kill();
            let _ = child.wait();
            let _ = reader.join();
            let _ = errors.join();
            return Err(DownloadError::Stalled {
                target: String::new(),
                stall,
            });
        }
    };
    let _ = reader.join();
    while let Ok(n) = rx.try_recv() {
        progress(n);
    }
    let stderr = errors.join().unwrap_or_default();
    Ok((status, stderr))
}

/// yt-dlp's last `ERROR:` line (or the end of its standard error), and whether another
/// attempt cannot help.
fn classify(stderr: &str) -> (String, bool) {
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("ERROR:"))
        .or_else(|| stderr.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("no message")
        .trim();
    let message = crate::io::printable(line, 1000);
    let permanent = [
        "HTTP Error 404",
        "HTTP Error 410",
        "Unsupported URL",
        "Requested format is not available",
        "Video unavailable",
        "This video is private",
        "has been removed",
    ]
    .iter()
    .any(|p| line.contains(p));
    (message, permanent)
}

/// Reads what yt-dlp reported into `printed`, and checks it: every file in `dir`, regular, not
/// post-processed.
fn read_report(dir: &Path, printed: &Path) -> Result<Downloaded, DownloadError> {
    let report = |reason: String| DownloadError::Report {
        path: printed.to_owned(),
        reason,
    };
    let bytes = crate::io::read_small_file(printed, MAX_PRINTED)
        .map_err(|e| report(crate::http::chain(&e)))?;
    let text = String::from_utf8(bytes).map_err(|_| report("not UTF-8".into()))?;
    let mut downloaded = Downloaded::default();
    let mut postprocessed: Vec<String> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if line.starts_with("{\"postprocessors\"") {
            let end: PrintedEnd = serde_json::from_str(line)
                .map_err(|e| report(format!("a line yt-dlp printed: {e}")))?;
            for pp in end.postprocessors.into_iter().flatten().flatten().flatten() {
                postprocessed.push(pp.as_str().map_or_else(|| pp.to_string(), str::to_owned));
            }
            continue;
        }
        let p: Printed = serde_json::from_str(line)
            .map_err(|e| report(format!("a line yt-dlp printed: {e}")))?;
        let path = inside(dir, p.filepath.as_deref(), "filepath").map_err(&report)?;
        let format_id = p.format_id.unwrap_or_default();
        if format_id.contains('+') {
            return Err(DownloadError::PostProcessed {
                path,
                why: format!("formats {format_id} merged by ffmpeg"),
            });
        }
        if let Some(original) = &p._filename {
            let original = inside(dir, Some(original), "_filename").map_err(&report)?;
            if original != path {
                return Err(DownloadError::PostProcessed {
                    path,
                    why: format!(
                        "renamed from {} after its download (remuxed or recoded)",
                        original.display()
                    ),
                });
            }
        }
        if let Some(ext) = &p.ext {
            if path.extension().and_then(|e| e.to_str()) != Some(ext.as_str()) {
                return Err(DownloadError::PostProcessed {
                    path,
                    why: format!("its extension is not the format's ({ext})"),
                });
            }
        }
        if downloaded.info_json.as_os_str().is_empty() {
            if let Some(info) = p.infojson_filename.as_deref() {
                downloaded.info_json =
                    inside(dir, Some(info), "infojson_filename").map_err(&report)?;
            }
        }
        for t in p.thumbnails.into_iter().flatten() {
            if let Some(file) = t.filepath.as_deref() {
                let file = inside(dir, Some(file), "thumbnails").map_err(&report)?;
                if !downloaded.thumbnails.contains(&file) {
                    downloaded.thumbnails.push(file);
                }
            }
        }
        let audio_only = p.vcodec.as_deref() == Some("none") && p.acodec.as_deref() != Some("none");
        if !downloaded.formats.iter().any(|f| f.path == path) {
            downloaded.formats.push(Format {
                path,
                format_id,
                protocol: p.protocol.unwrap_or_default(),
                audio_only,
            });
        }
    }
    if let Some(pp) = postprocessed.first() {
        let path = downloaded
            .formats
            .first()
            .map_or_else(|| printed.to_owned(), |f| f.path.clone());
        return Err(DownloadError::PostProcessed {
            path,
            why: format!("yt-dlp ran {pp} on it"),
        });
    }
    if downloaded.formats.is_empty() {
        return Err(report("yt-dlp reported no file it downloaded".into()));
    }
    if downloaded.info_json.as_os_str().is_empty() {
        return Err(report("yt-dlp reported no info.json".into()));
    }
    // Only one thumbnail: yt-dlp writes one copy a format.
    downloaded.thumbnails.truncate(1);
    for path in downloaded
        .formats
        .iter()
        .map(|f| &f.path)
        .chain(&downloaded.thumbnails)
        .chain([&downloaded.info_json])
    {
        let meta = std::fs::symlink_metadata(path).map_err(|source| DownloadError::Io {
            path: path.clone(),
            source,
        })?;
        if !meta.file_type().is_file() {
            return Err(DownloadError::Report {
                path: path.clone(),
                reason: "not a regular file".into(),
            });
        }
    }
    Ok(downloaded)
}

/// `path` as yt-dlp printed it, which must be a file directly in `dir`.
fn inside(dir: &Path, path: Option<&str>, field: &str) -> Result<PathBuf, String> {
    let path = path.ok_or_else(|| format!("yt-dlp printed no {field}"))?;
    let path = dir.join(path);
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(_)) if parent == dir => Ok(path),
        _ => Err(format!(
            "yt-dlp printed {field} {}, which is not a file of {}",
            path.display(),
            dir.display()
        )),
    }
}

/// The files of `downloaded` to archive: each format (its role from what it holds, its format
/// id) and the thumbnail, under their names.
pub fn inputs(downloaded: &Downloaded) -> Result<Vec<ArchiveInput>, InfoJsonError> {
    let name = |path: &Path| {
        path.file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
            .ok_or_else(|| InfoJsonError::Invalid {
                path: path.to_owned(),
                reason: "a file name that is not UTF-8".into(),
            })
    };
    let mut inputs = Vec::new();
    for f in &downloaded.formats {
        inputs.push(ArchiveInput {
            path: f.path.clone(),
            name: name(&f.path)?,
            role: if f.audio_only {
                Role::Audio
            } else {
                Role::Video
            },
            format_id: Some(f.format_id.clone()).filter(|id| !id.is_empty()),
        });
    }
    for t in &downloaded.thumbnails {
        inputs.push(ArchiveInput {
            path: t.clone(),
            name: name(t)?,
            role: Role::Thumbnail,
            format_id: None,
        });
    }
    Ok(inputs)
}

/// What a sidecar says: how the files were downloaded (never part of the record).
#[derive(serde::Serialize)]
struct Sidecar<'a> {
    yt_dlp: &'a str,
    download_profile: &'a str,
    format: &'a str,
    formats: Vec<SidecarFormat<'a>>,
}

#[derive(serde::Serialize)]
struct SidecarFormat<'a> {
    format_id: &'a str,
    protocol: &'a str,
}

/// Writes `<stem>.download.json` into `dir`: yt-dlp's version, the download profile, and how
/// each format was fetched.
pub fn write_sidecar(
    dir: &Path,
    stem: &str,
    yt_dlp: &YtDlp,
    profile: &DownloadProfile,
    downloaded: &Downloaded,
) -> Result<PathBuf, crate::io::OutputError> {
    let path = dir.join(format!("{stem}.download.json"));
    let sidecar = Sidecar {
        yt_dlp: &yt_dlp.version,
        download_profile: profile.name,
        format: profile.format,
        formats: downloaded
            .formats
            .iter()
            .map(|f| SidecarFormat {
                format_id: &f.format_id,
                protocol: &f.protocol,
            })
            .collect(),
    };
    let mut bytes = serde_json::to_vec_pretty(&sidecar).expect("a sidecar serializes");
    bytes.push(b'\n');
    AtomicFile::create(&path)?.write_and_commit(&bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_by_yt_dlps_message() {
        let (m, permanent) = classify("WARNING: x\nERROR: [generic] nope: Unable to download webpage: HTTP Error 404: Not Found\n");
        assert!(permanent && m.contains("404"), "{m}");
        let (_, permanent) = classify(
            "ERROR: [generic] x: Unable to download webpage: HTTP Error 500: Internal Server Error",
        );
        assert!(!permanent);
        let (_, permanent) = classify("ERROR: Unsupported URL: http://127.0.0.1/novideo.html");
        assert!(permanent);
        let (m, permanent) = classify("Traceback\n  boom\n");
        assert!(!permanent && m == "boom", "{m}");
    }

    fn report(
        lines: &[serde_json::Value],
    ) -> (tempfile::TempDir, Result<Downloaded, DownloadError>) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for name in ["v.f0.mp4", "v.f1.m4a", "v.f0.jpg", "v.info.json"] {
            std::fs::write(d.join(name), b"x").unwrap();
        }
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(d.join(PRINTED), text).unwrap();
        let result = read_report(d, &d.join(PRINTED));
        (dir, result)
    }

    fn format(dir_file: &str, format_id: &str, vcodec: &str) -> serde_json::Value {
        serde_json::json!({
            "format_id": format_id, "protocol": "http", "ext": dir_file.rsplit('.').next().unwrap(),
            "vcodec": vcodec, "acodec": "mp4a", "filepath": dir_file, "_filename": dir_file,
            "infojson_filename": "v.info.json", "thumbnails": [{"filepath": "v.f0.jpg"}, {"url": "x"}]
        })
    }

    #[test]
    fn a_report_of_two_streams_gives_both_and_one_thumbnail() {
        let (_dir, r) = report(&[
            format("v.f0.mp4", "0", "avc1"),
            format("v.f1.m4a", "1", "none"),
            serde_json::json!({"postprocessors": [[], []]}),
        ]);
        let d = r.unwrap();
        assert_eq!(d.formats.len(), 2);
        assert!(!d.formats[0].audio_only && d.formats[1].audio_only);
        assert_eq!(d.thumbnails.len(), 1);
        assert!(d.info_json.ends_with("v.info.json"));
    }

    #[test]
    fn post_processing_is_refused_naming_why() {
        let mut merged = format("v.f0.mp4", "0+1", "avc1");
        merged["format_id"] = "0+1".into();
        let mut remuxed = format("v.f0.mp4", "0", "avc1");
        remuxed["_filename"] = "v.f1.m4a".into();
        for (line, why) in [
            (vec![merged], "merged"),
            (vec![remuxed], "renamed"),
            (
                vec![
                    format("v.f0.mp4", "0", "avc1"),
                    serde_json::json!({"postprocessors": [["<FFmpegFixupM4aPP>"]]}),
                ],
                "FFmpegFixupM4aPP",
            ),
        ] {
            let (_dir, r) = report(&line);
            let err = r.unwrap_err();
            assert!(err.is_permanent());
            assert!(err.to_string().contains(why), "{err}");
        }
    }

    #[test]
    fn a_path_outside_the_download_is_refused() {
        let mut line = format("v.f0.mp4", "0", "avc1");
        line["filepath"] = "/etc/passwd".into();
        line["_filename"] = "/etc/passwd".into();
        let (_dir, r) = report(&[line]);
        assert!(r.unwrap_err().to_string().contains("not a file of"));
    }
}
