//! The volunteer's worker: one long-running job that goes from what the published catalogue
//! still lacks to videos pinned on the volunteer's node and named in the volunteer's outbox.
//!
//! ```text
//! wanted list + catalogue ──▶ catalogue::todo (this share, in a fixed shuffled order)
//!   ──▶ yt-dlp under a download profile (a process, watched) ──▶ archive (record)
//!   ──▶ push queue (blocks derived from the files, confirmed pinned)
//!   ──▶ outbox: the volunteer's own catalogue, merged incrementally, published under IPNS
//! ```
//!
//! - [`profile`]: download profiles, named as import profiles are: the yt-dlp arguments that
//!   keep the bytes as the site served them.
//! - [`ytdlp`]: yt-dlp as a process: the files it printed, a watchdog on its progress, and the
//!   refusal of what it post-processed anyway.
//! - [`journal`]: the worker's crash-safe state (pushed, failed, parked, published).
//! - [`outbox`]: the volunteer's catalogue: merged from the records pushed, pushed and
//!   published under the volunteer's key ([`publish_outbox`], also for records made by hand).
//! - `worker`: the scheduler ([`volunteer`]): what is left and its refreshes, bounded attempts
//!   with backoff, the disk reserve; `download` (one video: yt-dlp, then its archive, on a
//!   thread of its own) and `pusher` (the push queue and the outbox, on one thread) are its
//!   workers.
//!
//! What stays on disk, in the worker's directory ([`Layout`]): the records
//! (`records/<site>-<id>.record.cbor`, as `ingest archive` writes them, each with a
//! `<site>-<id>.download.json` sidecar naming yt-dlp's version and the download profile, never
//! in the record), yt-dlp's downloads (`downloads/<site>-<id>/`, removed once pinned with
//! `prune`), the outbox catalogue (`outbox.car`), the journal (`journal.jsonl`) and the parked
//! videos (`parked.tsv`).

mod download;
pub mod journal;
pub mod outbox;
pub mod profile;
mod pusher;
mod worker;
pub mod ytdlp;

use std::path::{Path, PathBuf};

pub use outbox::{publish_outbox, OutboxError, OutboxKey, OutboxOptions, PublishedOutbox};
pub use profile::{download_profile, DownloadProfile, DOWNLOAD_PROFILES};
pub use worker::{
    volunteer, Targets, VolunteerError, VolunteerEvent, VolunteerOptions, VolunteerSummary,
    WantedList,
};
pub use ytdlp::{DownloadError, Downloaded, YtDlp};

use crate::catalogue::todo::Wanted;

/// Where the worker keeps what it made, under one directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The directory.
    pub root: PathBuf,
}

impl Layout {
    /// The layout under `root`.
    pub fn new(root: &Path) -> Layout {
        Layout {
            root: root.to_owned(),
        }
    }

    /// `records/`: one `<site>-<id>.record.cbor` a video archived, and its sidecar.
    pub fn records(&self) -> PathBuf {
        self.root.join("records")
    }

    /// `downloads/<stem>/`: what yt-dlp wrote for one video.
    pub fn download(&self, stem: &str) -> PathBuf {
        self.root.join("downloads").join(stem)
    }

    /// `outbox.car`: the volunteer's catalogue.
    pub fn outbox(&self) -> PathBuf {
        self.root.join("outbox.car")
    }

    /// `journal.jsonl`: the worker's state.
    pub fn journal(&self) -> PathBuf {
        self.root.join("journal.jsonl")
    }

    /// `parked.tsv`: the videos that failed every attempt, `SITE<TAB>ID<TAB>REASON`.
    pub fn parked(&self) -> PathBuf {
        self.root.join("parked.tsv")
    }
}

/// The seed of the order videos are taken in: fixed, so a share is worked through in the same
/// order on every machine and every start, and neighbours in the list (often one channel) are
/// spread over the run.
pub const ORDER_SEED: &str = "ingest volunteer order v1";

/// `wanted` in the worker's order: by SHA-256 of [`ORDER_SEED`], the site and the id.
pub fn order(wanted: &mut [Wanted]) {
    use sha2::{Digest, Sha256};
    wanted.sort_by_cached_key(|w| {
        let digest: [u8; 32] = Sha256::new()
            .chain_update(ORDER_SEED.as_bytes())
            .chain_update(b"\n")
            .chain_update(w.site.as_bytes())
            .chain_update(b"/")
            .chain_update(w.id.as_bytes())
            .finalize()
            .into();
        (digest, w.site.clone(), w.id.clone())
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(id: &str) -> Wanted {
        Wanted {
            line: format!("example {id}"),
            site: "example".into(),
            id: id.into(),
            url: None,
        }
    }

    #[test]
    fn the_order_is_shuffled_and_the_same_whatever_the_list_order() {
        let mut a: Vec<Wanted> = (0..50).map(|i| wanted(&format!("v{i:02}"))).collect();
        let mut b: Vec<Wanted> = a.iter().rev().cloned().collect();
        order(&mut a);
        order(&mut b);
        assert_eq!(a, b);
        let ids: Vec<&str> = a.iter().map(|w| w.id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        assert_ne!(ids, sorted, "shuffled");
    }
}
