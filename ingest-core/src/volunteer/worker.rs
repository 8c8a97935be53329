//! The scheduler: what is left (read again every `refresh`), downloads started on threads of
//! their own (at most `jobs` at once, none under the disk reserve; `download`), archives sent
//! to the push thread (`pusher`), failures retried after a growing backoff and parked after
//! the last attempt; every step journaled before it counts.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cid::Cid;

use super::download::download_and_archive;
use super::journal::{cut_reason, Entry, Journal, JournalError, Key, State};
use super::outbox::{OutboxKey, PublishedOutbox};
use super::profile::DownloadProfile;
use super::pusher::{push_job, push_loop, PushJob};
use super::ytdlp::{self, YtDlp};
use super::{order, Layout};
use crate::archive::Record;
use crate::catalogue::todo::{self, Wanted};
use crate::io::{read_small_file, AtomicFile};
use crate::ipfs::pinning::PinningService;
use crate::ipfs::rpc::KuboRpc;
use crate::ipfs::{PushOptions, SourceConfig};
use crate::unixfs::{ImportOptions, Profile};

/// What the worker does, and how.
#[derive(Clone, Debug)]
pub struct VolunteerOptions {
    /// The published catalogue (a CAR, a CID, `/ipfs/…`, `/ipns/…`), read as `todo` reads it;
    /// `None`: nothing is archived yet, every wanted video is left.
    pub catalogue: Option<String>,
    /// How the catalogue is read from IPFS.
    pub source: SourceConfig,
    /// The wanted videos.
    pub wanted: WantedList,
    /// Only share `i` (from 1) of `n`.
    pub shard: Option<(u64, u64)>,
    /// Where the worker keeps what it made.
    pub layout: Layout,
    /// The import profile of the records.
    pub profile: Profile,
    /// How files are read when imported and pushed.
    pub import: ImportOptions,
    /// The download profile.
    pub download: &'static DownloadProfile,
    /// Downloads at once.
    pub jobs: usize,
    /// Attempts at one video before it is parked.
    pub attempts: u32,
    /// The wait after a first failure, doubled after each one, up to `max_backoff`.
    pub backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
    /// No download starts while the disk holding the worker's directory has less free.
    pub disk_reserve: u64,
    /// A yt-dlp that makes no progress for this long is stopped, and its video tried again.
    pub stall: Duration,
    /// How often the catalogue is read again to drop what others archived meanwhile.
    pub refresh: Duration,
    /// The outbox is published when the push queue runs dry, at most this often (and once
    /// more at the end).
    pub publish_every: Duration,
    /// Keep going when nothing is left: wait for the catalogue or the list to change.
    pub watch: bool,
    /// Try the parked videos again.
    pub retry_failed: bool,
    /// Delete a video's downloaded files once its archive is pinned (the record stays).
    pub prune: bool,
    /// The key the outbox is named by; `None`: no outbox is published.
    pub outbox: Option<OutboxKey>,
    /// How pushes are made.
    pub push: PushOptions,
}

/// The wanted videos (see [`todo::read_wanted`] for the lines).
#[derive(Clone, Debug)]
pub enum WantedList {
    /// A file, read at the start and again at each refresh, so lines added while the worker
    /// runs are taken. Only the share's lines are kept.
    File(PathBuf),
    /// A list given whole.
    List(Vec<Wanted>),
}

/// Where archives and the outbox go.
#[derive(Clone, Copy, Debug, Default)]
pub struct Targets<'a> {
    /// The volunteer's node.
    pub node: Option<&'a KuboRpc>,
    /// A pinning service.
    pub service: Option<&'a PinningService>,
}

/// What the worker does, for progress displays and `--json` events. Sent from the worker's
/// threads.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VolunteerEvent {
    /// What is left was read: videos left in the share (not counting this worker's own).
    Left {
        /// Videos to download.
        left: usize,
        /// Videos this worker archived before (in its records).
        archived: usize,
        /// Videos parked.
        parked: usize,
    },
    /// Reading what is left failed; the last list is kept.
    RefreshFailed {
        /// Why.
        reason: String,
    },
    /// A download started.
    Downloading {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// Which attempt (from 1).
        attempt: u32,
    },
    /// Bytes downloaded so far, across every download (sent at most every second).
    Progress {
        /// Bytes.
        bytes: u64,
    },
    /// A video was downloaded and archived.
    Archived {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// Its record.
        record: Cid,
        /// Bytes of its files.
        bytes: u64,
    },
    /// An attempt failed; the video is tried again after `retry_in`.
    Failed {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// Which attempt failed.
        attempt: u32,
        /// Why.
        reason: String,
        /// When it is tried again.
        retry_in: Duration,
    },
    /// The video failed every attempt and is parked.
    Parked {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// Why.
        reason: String,
    },
    /// A video's archive is pinned.
    Pushed {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// Its record.
        record: Cid,
    },
    /// A push failed; it is tried again after `retry_in` (the others go on).
    PushFailed {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// Why.
        reason: String,
        /// When it is tried again.
        retry_in: Duration,
    },
    /// The outbox was published.
    Published {
        /// Its root.
        root: Cid,
        /// The IPNS name, when published under one.
        name: Option<String>,
        /// Records added this time.
        added: u64,
    },
    /// Publishing the outbox failed; it is tried again after the next push.
    PublishFailed {
        /// Why.
        reason: String,
    },
    /// No download starts: the disk holding the worker's directory has less free than the
    /// reserve.
    DiskReserve {
        /// Bytes free.
        free: u64,
        /// The reserve.
        reserve: u64,
    },
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VolunteerSummary {
    /// Videos downloaded and archived by this run.
    pub archived: u64,
    /// Archives pinned by this run.
    pub pushed: u64,
    /// Videos parked by this run.
    pub parked: u64,
    /// Videos parked, all told (this run's and before).
    pub parked_total: u64,
    /// Bytes downloaded (the archived files').
    pub bytes: u64,
    /// Videos still left (in the share, not archived, not parked) when the run ended.
    pub left: u64,
    /// Archives not pinned when the run ended.
    pub unpushed: u64,
    /// The outbox last published.
    pub outbox: Option<PublishedOutbox>,
    /// Whether the run was stopped before it was done.
    pub stopped: bool,
}

/// The worker could not start, or could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VolunteerError {
    /// The journal could not be read or written.
    #[error(transparent)]
    Journal(#[from] JournalError),
    /// The worker's directory could not be used.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The wanted list could not be read at the start.
    #[error("cannot read the wanted list {}: {reason}", path.display())]
    Wanted {
        /// The list.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The catalogue could not be read at the start.
    #[error("cannot read the catalogue {catalogue}: {reason}")]
    Catalogue {
        /// The catalogue as given.
        catalogue: String,
        /// Why.
        reason: String,
    },
}

/// A video being worked on.
#[derive(Clone, Debug)]
pub(super) struct Job {
    pub(super) wanted: Wanted,
    pub(super) key: Key,
}

/// What the threads tell the scheduler.
pub(super) enum Message {
    /// A download thread ended: the record's CID and the bytes of its files, or why not and
    /// whether another attempt cannot help.
    Done {
        key: Key,
        result: Result<(Cid, u64), String>,
        permanent: bool,
    },
    /// Bytes downloaded by a download thread since it last said.
    Bytes(u64),
    /// The push thread pinned an archive.
    Pushed { key: Key, record: Cid },
    /// The push thread gave up on an archive whose files are wrong.
    PushParked { key: Key, reason: String },
    /// The push thread published the outbox.
    Published(PublishedOutbox),
    /// The push thread ended.
    PusherDone,
}

/// Runs the worker until nothing is left (or, with `watch`, until `stop` is set), then
/// publishes the outbox a last time. `stop` set: no new download or push starts, the running
/// downloads are stopped (their partial files kept for the next start), and the run returns.
pub fn volunteer(
    options: &VolunteerOptions,
    targets: Targets<'_>,
    yt_dlp: &YtDlp,
    events: &(dyn Fn(VolunteerEvent) + Sync),
    stop: &AtomicBool,
) -> Result<VolunteerSummary, VolunteerError> {
    let layout = &options.layout;
    for dir in [
        layout.root.clone(),
        layout.records(),
        layout.root.join("downloads"),
    ] {
        std::fs::create_dir_all(&dir).map_err(|source| VolunteerError::Io { path: dir, source })?;
    }
    let (mut journal, mut state) = Journal::open(&layout.journal())?;
    if options.retry_failed {
        let parked: Vec<Key> = state.parked.keys().cloned().collect();
        for (site, id) in parked {
            journal.append(&Entry::Freed { site, id })?;
        }
        (journal, state) = Journal::open(&layout.journal())?;
        write_parked(layout, &state)?;
    }
    let mut share = match &options.wanted {
        WantedList::File(path) => {
            read_share(options, path).map_err(|reason| VolunteerError::Wanted {
                path: path.clone(),
                reason,
            })?
        }
        WantedList::List(list) => share_of(options, list),
    };
    // Read once here; the first refresh takes it, later ones read the records again.
    let mut archived_before = Some(own_records(layout)?);
    let mut summary = VolunteerSummary::default();

    let (tx, rx) = mpsc::channel::<Message>();
    let (push_tx, push_rx) = mpsc::channel::<PushJob>();
    // Archived before but not pinned: pushed first.
    let mut unpushed: HashSet<Key> = HashSet::new();
    for (key, record) in archived_before.iter().flatten() {
        if !state.pushed.contains_key(key) {
            unpushed.insert(key.clone());
            let _ = push_tx.send(push_job(layout, key, record.clone()));
        }
    }
    // Records pinned before go into the outbox again (unchanged if they are in it): the
    // outbox is published once at the start, and so is never behind what the node pins.
    let pushed_before: Vec<PathBuf> = if options.outbox.is_some() {
        state
            .pushed
            .keys()
            .filter_map(|k| archived_before.as_ref().and_then(|a| a.get(k)).cloned())
            .collect()
    } else {
        Vec::new()
    };

    // Positions in `share` of the videos to download, in order; videos whose wait after a
    // failure is over go first (`ready`).
    let mut left: VecDeque<usize> = VecDeque::new();
    let mut ready: VecDeque<Job> = VecDeque::new();
    let mut waiting: BTreeMap<Instant, Vec<Job>> = BTreeMap::new();
    let mut running: HashSet<Key> = HashSet::new();
    let mut last_refresh: Option<Instant> = None;
    let mut reserve_said = false;
    let mut bytes_total: u64 = 0;
    let mut last_progress = Instant::now();
    let mut pusher_done = false;

    std::thread::scope(|s| -> Result<(), VolunteerError> {
        let pusher_tx = tx.clone();
        let pusher = s.spawn(move || {
            push_loop(
                options,
                targets,
                push_rx,
                &pusher_tx,
                pushed_before,
                events,
                stop,
            );
            let _ = pusher_tx.send(Message::PusherDone);
        });
        let mut push_tx = Some(push_tx);
        loop {
            let now = Instant::now();
            // What is left: at the start, and every `refresh`.
            if last_refresh.is_none_or(|t| now.duration_since(t) >= options.refresh)
                && !stop.load(Ordering::Relaxed)
            {
                if let (WantedList::File(path), Some(_)) = (&options.wanted, last_refresh) {
                    match read_share(options, path) {
                        Ok(new) => share = new,
                        Err(reason) => events(VolunteerEvent::RefreshFailed { reason }),
                    }
                }
                match what_is_left(options, &share) {
                    Ok(list) => {
                        let archived = match archived_before.take() {
                            Some(archived) => archived,
                            None => own_records(layout)?,
                        };
                        let aside: HashSet<&Key> = waiting
                            .values()
                            .flatten()
                            .chain(&ready)
                            .map(|j| &j.key)
                            .collect();
                        left = list
                            .into_iter()
                            .filter(|&i| {
                                let key = (share[i].site.clone(), share[i].id.clone());
                                !archived.contains_key(&key)
                                    && !state.pushed.contains_key(&key)
                                    && !state.parked.contains_key(&key)
                                    && !running.contains(&key)
                                    && !aside.contains(&key)
                            })
                            .collect();
                        events(VolunteerEvent::Left {
                            left: left.len()
                                + ready.len()
                                + waiting.values().map(Vec::len).sum::<usize>(),
                            archived: archived.len(),
                            parked: state.parked.len(),
                        });
                    }
                    Err(reason) if last_refresh.is_none() => {
                        stop.store(true, Ordering::Relaxed);
                        drop(push_tx.take());
                        let _ = pusher.join();
                        return Err(VolunteerError::Catalogue {
                            catalogue: options.catalogue.clone().unwrap_or_default(),
                            reason,
                        });
                    }
                    Err(reason) => events(VolunteerEvent::RefreshFailed { reason }),
                }
                last_refresh = Some(now);
            }
            // Videos whose wait is over go back to the front.
            while let Some(entry) = waiting.first_entry() {
                if *entry.key() > now {
                    break;
                }
                ready.extend(entry.remove());
            }
            // Start downloads while there is room, work and disk.
            while running.len() < options.jobs.max(1)
                && !(left.is_empty() && ready.is_empty())
                && !stop.load(Ordering::Relaxed)
            {
                let free = crate::io::free_space(&layout.root).unwrap_or(u64::MAX);
                if free < options.disk_reserve {
                    if !reserve_said {
                        events(VolunteerEvent::DiskReserve {
                            free,
                            reserve: options.disk_reserve,
                        });
                        reserve_said = true;
                    }
                    break;
                }
                reserve_said = false;
                let job = match ready.pop_front() {
                    Some(job) => job,
                    None => {
                        let Some(i) = left.pop_front() else { break };
                        Job {
                            key: (share[i].site.clone(), share[i].id.clone()),
                            wanted: share[i].clone(),
                        }
                    }
                };
                let attempt = state.attempts.get(&job.key).copied().unwrap_or(0) + 1;
                events(VolunteerEvent::Downloading {
                    site: job.key.0.clone(),
                    id: job.key.1.clone(),
                    attempt,
                });
                running.insert(job.key.clone());
                let tx = tx.clone();
                s.spawn(move || {
                    let (result, permanent) =
                        download_and_archive(options, yt_dlp, &job, &tx, stop);
                    let _ = tx.send(Message::Done {
                        key: job.key,
                        result,
                        permanent,
                    });
                });
            }
            let downloads_over = running.is_empty()
                && (stop.load(Ordering::Relaxed)
                    || (left.is_empty()
                        && ready.is_empty()
                        && waiting.is_empty()
                        && !options.watch));
            if downloads_over && push_tx.is_some() {
                // No more archives: the push thread finishes its queue and the outbox.
                drop(push_tx.take());
            }
            if downloads_over && pusher_done {
                break;
            }
            let wait = waiting
                .keys()
                .next()
                .map(|t| t.saturating_duration_since(now))
                .unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(1));
            let message = match rx.recv_timeout(wait.max(Duration::from_millis(10))) {
                Ok(m) => m,
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            };
            match message {
                Message::Bytes(n) => {
                    bytes_total += n;
                    if last_progress.elapsed() >= Duration::from_secs(1) {
                        events(VolunteerEvent::Progress { bytes: bytes_total });
                        last_progress = Instant::now();
                    }
                }
                Message::Done {
                    key,
                    result,
                    permanent,
                } => {
                    running.remove(&key);
                    match result {
                        Ok((record, bytes)) => {
                            summary.archived += 1;
                            summary.bytes += bytes;
                            events(VolunteerEvent::Archived {
                                site: key.0.clone(),
                                id: key.1.clone(),
                                record,
                                bytes,
                            });
                            let path = layout
                                .records()
                                .join(format!("{}-{}.record.cbor", key.0, key.1));
                            unpushed.insert(key.clone());
                            if let Some(push_tx) = &push_tx {
                                let _ = push_tx.send(push_job(layout, &key, path));
                            }
                        }
                        Err(_) if stop.load(Ordering::Relaxed) => {
                            // Stopped by the caller: not a failure of the video.
                        }
                        Err(reason) => {
                            let reason = cut_reason(&reason);
                            let attempt = state.attempts.get(&key).copied().unwrap_or(0) + 1;
                            if permanent || attempt >= options.attempts {
                                journal.append(&Entry::Parked {
                                    site: key.0.clone(),
                                    id: key.1.clone(),
                                    reason: reason.clone(),
                                })?;
                                state.attempts.remove(&key);
                                state.parked.insert(key.clone(), reason.clone());
                                write_parked(layout, &state)?;
                                // Nothing downloaded: no directory left behind.
                                let dir = layout.download(&format!("{}-{}", key.0, key.1));
                                let _ = std::fs::remove_file(dir.join(ytdlp::PRINTED));
                                let _ = std::fs::remove_dir(dir);
                                summary.parked += 1;
                                events(VolunteerEvent::Parked {
                                    site: key.0,
                                    id: key.1,
                                    reason,
                                });
                            } else {
                                journal.append(&Entry::Failed {
                                    site: key.0.clone(),
                                    id: key.1.clone(),
                                    attempt,
                                    reason: reason.clone(),
                                })?;
                                state.attempts.insert(key.clone(), attempt);
                                let retry_in = backoff(options, attempt);
                                events(VolunteerEvent::Failed {
                                    site: key.0.clone(),
                                    id: key.1.clone(),
                                    attempt,
                                    reason,
                                    retry_in,
                                });
                                let wanted = share
                                    .iter()
                                    .find(|w| w.site == key.0 && w.id == key.1)
                                    .cloned();
                                if let Some(wanted) = wanted {
                                    waiting
                                        .entry(Instant::now() + retry_in)
                                        .or_default()
                                        .push(Job { wanted, key });
                                }
                            }
                        }
                    }
                }
                Message::Pushed { key, record } => {
                    journal.append(&Entry::Pushed {
                        site: key.0.clone(),
                        id: key.1.clone(),
                        record: record.to_string(),
                    })?;
                    state.pushed.insert(key.clone(), record.to_string());
                    unpushed.remove(&key);
                    summary.pushed += 1;
                    if options.prune {
                        let _ = std::fs::remove_dir_all(
                            layout.download(&format!("{}-{}", key.0, key.1)),
                        );
                    }
                    events(VolunteerEvent::Pushed {
                        site: key.0,
                        id: key.1,
                        record,
                    });
                }
                Message::PushParked { key, reason } => {
                    let reason = cut_reason(&reason);
                    journal.append(&Entry::Parked {
                        site: key.0.clone(),
                        id: key.1.clone(),
                        reason: reason.clone(),
                    })?;
                    state.parked.insert(key.clone(), reason.clone());
                    unpushed.remove(&key);
                    write_parked(layout, &state)?;
                    summary.parked += 1;
                    events(VolunteerEvent::Parked {
                        site: key.0,
                        id: key.1,
                        reason,
                    });
                }
                Message::Published(published) => {
                    journal.append(&Entry::Published {
                        root: published.root.to_string(),
                        name: published.name.clone().unwrap_or_default(),
                    })?;
                    events(VolunteerEvent::Published {
                        root: published.root,
                        name: published.name.clone(),
                        added: published.added,
                    });
                    summary.outbox = Some(published);
                }
                Message::PusherDone => pusher_done = true,
            }
        }
        drop(push_tx.take());
        let _ = pusher.join();
        Ok(())
    })?;
    summary.left =
        (left.len() + ready.len() + waiting.values().map(Vec::len).sum::<usize>()) as u64;
    summary.unpushed = unpushed.len() as u64;
    summary.parked_total = state.parked.len() as u64;
    summary.stopped = stop.load(Ordering::Relaxed);
    Ok(summary)
}

/// The wait after failed attempt `attempt` (from 1): `backoff` doubled each time, capped.
pub(super) fn backoff(options: &VolunteerOptions, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(20);
    options
        .backoff
        .saturating_mul(factor)
        .min(options.max_backoff)
}

/// The videos of `wanted` in the share, in the worker's order.
fn share_of(options: &VolunteerOptions, wanted: &[Wanted]) -> Vec<Wanted> {
    let mut share: Vec<Wanted> = wanted
        .iter()
        .filter(|w| in_share(options, w))
        .cloned()
        .collect();
    order(&mut share);
    share
}

fn in_share(options: &VolunteerOptions, w: &Wanted) -> bool {
    options
        .shard
        .is_none_or(|(i, n)| crate::catalogue::shard_of(&w.site, &w.id, n) == i - 1)
}

/// The share of the wanted list at `path`, read a line at a time (the rest is never held), in
/// the worker's order. The lines themselves are not kept: site, id and URL are.
fn read_share(options: &VolunteerOptions, path: &std::path::Path) -> Result<Vec<Wanted>, String> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| format!("{name}: {e}"))?;
    let mut share = Vec::new();
    todo::for_each_wanted(std::io::BufReader::new(file), &name, |mut w| {
        if in_share(options, &w) {
            w.line = String::new();
            share.push(w);
        }
    })
    .map_err(|e| crate::http::chain(&e))?;
    share.shrink_to_fit();
    order(&mut share);
    Ok(share)
}

/// The positions in `share` of the videos the catalogue lacks (all of them without a
/// catalogue), in order.
fn what_is_left(options: &VolunteerOptions, share: &[Wanted]) -> Result<Vec<usize>, String> {
    let Some(catalogue) = &options.catalogue else {
        return Ok((0..share.len()).collect());
    };
    let (mut blocks, root) =
        crate::ipfs::open(catalogue, &options.source).map_err(|e| crate::http::chain(&e))?;
    todo::todo_indices(&mut blocks, &root, share, None).map_err(|e| crate::http::chain(&e))
}

/// The worker's records: (site, id) → record path.
fn own_records(layout: &Layout) -> Result<HashMap<Key, PathBuf>, VolunteerError> {
    let dir = layout.records();
    let io = |source| VolunteerError::Io {
        path: dir.clone(),
        source,
    };
    let mut found = HashMap::new();
    for entry in std::fs::read_dir(&dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.ends_with(".record.cbor") || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let Ok(bytes) = read_small_file(&path, crate::archive::MAX_RECORD_LEN as u64) else {
            continue;
        };
        if let Ok(record) = Record::decode(&bytes) {
            found.insert((record.source.site, record.source.id), path);
        }
    }
    Ok(found)
}

/// Writes `parked.tsv` from `state`, atomically.
fn write_parked(layout: &Layout, state: &State) -> Result<(), VolunteerError> {
    let path = layout.parked();
    let io = |source| VolunteerError::Io {
        path: path.clone(),
        source,
    };
    let mut lines: Vec<String> = state
        .parked
        .iter()
        .map(|((site, id), reason)| {
            format!(
                "{site}\t{id}\t{}\n",
                reason.replace(['\t', '\n', '\r'], " ")
            )
        })
        .collect();
    lines.sort();
    AtomicFile::create(&path)
        .and_then(|file| file.write_and_commit(lines.concat().as_bytes()))
        .map_err(|e| io(std::io::Error::other(e)))
}
