//! One video's download and archive, on a thread of its own: yt-dlp under the download
//! profile, then the files it reported archived into the records, with their sidecar.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

use cid::Cid;

use super::worker::{Job, Message, VolunteerOptions};
use super::ytdlp::{self, Downloaded, YtDlp};
use crate::archive::{archive_files, InfoJson, Role, Source};

/// Downloads the video of `job` with yt-dlp, then archives it into the records: the record's
/// CID and the bytes of its files, or why not (and whether trying again cannot help).
pub(super) fn download_and_archive(
    options: &VolunteerOptions,
    yt_dlp: &YtDlp,
    job: &Job,
    tx: &mpsc::Sender<Message>,
    stop: &AtomicBool,
) -> (Result<(Cid, u64), String>, bool) {
    let stem = format!("{}-{}", job.key.0, job.key.1);
    let dir = options.layout.download(&stem);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return (Err(format!("{}: {e}", dir.display())), false);
    }
    let target = job
        .wanted
        .url
        .clone()
        .unwrap_or_else(|| job.wanted.id.clone());
    let mut progress = |n: u64| {
        let _ = tx.send(Message::Bytes(n));
    };
    let downloaded = match ytdlp::download(
        yt_dlp,
        options.download,
        &target,
        &dir,
        options.stall,
        stop,
        &mut progress,
    ) {
        Ok(d) => d,
        Err(e) => {
            let permanent = e.is_permanent();
            return (Err(crate::http::chain(&e)), permanent);
        }
    };
    match archive_download(options, yt_dlp, job, &downloaded) {
        Ok(done) => (Ok(done), false),
        Err(reason) => (Err(reason), false),
    }
}

/// Archives what yt-dlp downloaded for `job` into the records, with its sidecar.
fn archive_download(
    options: &VolunteerOptions,
    yt_dlp: &YtDlp,
    job: &Job,
    downloaded: &Downloaded,
) -> Result<(Cid, u64), String> {
    let info = InfoJson::read(&downloaded.info_json).map_err(|e| crate::http::chain(&e))?;
    let source: Source = info.source().map_err(|e| crate::http::chain(&e))?;
    if (source.site.as_str(), source.id.as_str()) != (job.key.0.as_str(), job.key.1.as_str()) {
        return Err(format!(
            "yt-dlp downloaded {}/{}, not {}/{}: fix the wanted list's line for {}/{}{}",
            source.site,
            source.id,
            job.key.0,
            job.key.1,
            job.key.0,
            job.key.1,
            job.wanted
                .url
                .as_deref()
                .map(|u| format!(" ({u})"))
                .unwrap_or_default()
        ));
    }
    let inputs = ytdlp::inputs(downloaded).map_err(|e| crate::http::chain(&e))?;
    if !inputs
        .iter()
        .any(|i| matches!(i.role, Role::Video | Role::Audio))
    {
        return Err("yt-dlp wrote no video or audio file".to_owned());
    }
    let bytes: u64 = inputs
        .iter()
        .filter_map(|i| std::fs::metadata(&i.path).ok())
        .map(|m| m.len())
        .sum();
    // The sidecar first: a record is only ever beside its sidecar.
    ytdlp::write_sidecar(
        &options.layout.records(),
        &format!("{}-{}", job.key.0, job.key.1),
        yt_dlp,
        options.download,
        downloaded,
    )
    .map_err(|e| crate::http::chain(&e))?;
    let archived = archive_files(
        &options.profile,
        options.import,
        source,
        info.meta(),
        &inputs,
        &options.layout.records(),
        false,
        &mut |_| {},
    )
    .map_err(|e| crate::http::chain(&e))?;
    Ok((archived.cids.record, bytes))
}
