//! The push thread: its own queue of archives (a failing push goes to the back, tried again
//! after a backoff, and the others go on; a node that is down never stops a download), and
//! the outbox published when the queue runs dry.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cid::Cid;

use super::journal::Key;
use super::outbox::{publish_outbox, OutboxOptions};
use super::worker::{backoff, Message, Targets, VolunteerEvent, VolunteerOptions};
use super::Layout;
use crate::http::retry::Classify;
use crate::ipfs::{push, PushInput, PushStatus};

/// An archive waiting to be pushed.
#[derive(Clone, Debug)]
pub(super) struct PushJob {
    key: Key,
    record: PathBuf,
    data: PathBuf,
    failures: u32,
    not_before: Instant,
}

/// A push of the archive of `key` whose record is `record`.
pub(super) fn push_job(layout: &Layout, key: &Key, record: PathBuf) -> PushJob {
    PushJob {
        key: key.clone(),
        record,
        data: layout.download(&format!("{}-{}", key.0, key.1)),
        failures: 0,
        not_before: Instant::now(),
    }
}

/// The push thread: pushes each archive sent (a failing one goes to the back of the queue,
/// tried again after a backoff, and the others go on), and publishes the outbox when the queue
/// runs dry with something new pinned; ends when the sender is dropped and the queue is empty
/// (or at `stop`).
pub(super) fn push_loop(
    options: &VolunteerOptions,
    targets: Targets<'_>,
    rx: mpsc::Receiver<PushJob>,
    tx: &mpsc::Sender<Message>,
    pushed_before: Vec<PathBuf>,
    events: &(dyn Fn(VolunteerEvent) + Sync),
    stop: &AtomicBool,
) {
    let mut queue: VecDeque<PushJob> = VecDeque::new();
    let mut closed = false;
    // Records pinned but not yet in the outbox.
    let mut for_outbox: Vec<PathBuf> = pushed_before;
    let mut publish_failures: u32 = 0;
    let mut publish_not_before = Instant::now();
    let mut last_published: Option<Instant> = None;
    let has_target = targets.node.is_some() || targets.service.is_some();
    loop {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        // Take what was sent; wait for more only when nothing is ready.
        let ready = queue.iter().any(|j| j.not_before <= Instant::now());
        let next = if ready || closed {
            rx.try_recv()
                .map_err(|e| matches!(e, mpsc::TryRecvError::Disconnected))
        } else {
            rx.recv_timeout(Duration::from_millis(500))
                .map_err(|e| matches!(e, mpsc::RecvTimeoutError::Disconnected))
        };
        match next {
            Ok(job) => {
                queue.push_back(job);
                continue;
            }
            Err(true) => closed = true,
            Err(false) => {}
        }
        if !has_target {
            // Nowhere to push: the archives stay unpushed.
            if closed {
                return;
            }
            queue.clear();
            continue;
        }
        let now = Instant::now();
        let position = queue.iter().position(|j| j.not_before <= now);
        if let Some(i) = position {
            let Some(mut job) = queue.remove(i) else {
                continue;
            };
            match push_one(options, targets, &job) {
                Ok(record) => {
                    for_outbox.push(job.record.clone());
                    let _ = tx.send(Message::Pushed {
                        key: job.key.clone(),
                        record,
                    });
                }
                Err((reason, fatal)) => {
                    job.failures += 1;
                    if fatal && job.failures >= options.attempts {
                        let _ = tx.send(Message::PushParked {
                            key: job.key.clone(),
                            reason,
                        });
                    } else {
                        let retry_in = backoff(options, job.failures);
                        events(VolunteerEvent::PushFailed {
                            site: job.key.0.clone(),
                            id: job.key.1.clone(),
                            reason,
                            retry_in,
                        });
                        job.not_before = Instant::now() + retry_in;
                        queue.push_back(job);
                    }
                }
            }
            continue;
        }
        // The queue is dry (or waiting): the outbox, if something new is pinned.
        if let Some(key) = &options.outbox {
            let due = closed || last_published.is_none_or(|t| t.elapsed() >= options.publish_every);
            if !for_outbox.is_empty() && publish_not_before <= now && due {
                let outbox_options = OutboxOptions {
                    key: key.clone(),
                    lifetime: None,
                    profile: options.profile.clone(),
                    push: options.push.clone(),
                };
                match publish_outbox(
                    targets.node,
                    targets.service,
                    &options.layout.outbox(),
                    &for_outbox,
                    &outbox_options,
                    &|_| {},
                ) {
                    Ok(published) => {
                        for_outbox.clear();
                        last_published = Some(Instant::now());
                        publish_failures = 0;
                        let _ = tx.send(Message::Published(published));
                    }
                    Err(e) => {
                        publish_failures += 1;
                        publish_not_before = Instant::now() + backoff(options, publish_failures);
                        events(VolunteerEvent::PublishFailed {
                            reason: crate::http::chain(&e),
                        });
                    }
                }
                continue;
            }
        }
        if closed && queue.is_empty() && (for_outbox.is_empty() || options.outbox.is_none()) {
            return;
        }
        // Every archive is pinned and the outbox keeps failing: given up after the bounded
        // attempts (the next start publishes it, with everything pinned since).
        if closed && queue.is_empty() && publish_failures >= options.attempts {
            return;
        }
        if closed {
            // Waiting for a push's or the outbox's backoff.
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Pushes one archive: its record's CID, or why not and whether the fault is the archive's
/// (its files missing or changed: no node will take it).
fn push_one(
    options: &VolunteerOptions,
    targets: Targets<'_>,
    job: &PushJob,
) -> Result<Cid, (String, bool)> {
    let input = PushInput::Archive {
        record: job.record.clone(),
        data: job.data.clone(),
    };
    let mut results = push(
        targets.node,
        targets.service,
        vec![input],
        &options.push,
        &|_| {},
    )
    .map_err(|e| {
        let fatal = matches!(e.failure(), crate::http::retry::Failure::Fatal);
        (crate::http::chain(&e), fatal)
    })?;
    let pushed = results
        .pop()
        .ok_or_else(|| ("the push gave no result".to_owned(), false))?;
    if let Some(error) = &pushed.error {
        let fatal = matches!(error.failure(), crate::http::retry::Failure::Fatal);
        return Err((crate::http::chain(error), fatal));
    }
    match (pushed.status, pushed.record) {
        (PushStatus::Pushed | PushStatus::AlreadyPinned | PushStatus::Requested, Some(cid)) => {
            Ok(cid)
        }
        _ => Err(("the push confirmed no record".to_owned(), false)),
    }
}
