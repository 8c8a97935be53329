//! What a push tells: each input's result, and the events a progress display follows.

use std::path::Path;
use std::time::Duration;

use cid::Cid;

use super::{PushError, PushInput};
use crate::ipfs::pinning::RemotePinned;

/// What a push ended as, for one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PushStatus {
    /// The blocks were sent, and the node confirmed the root pinned.
    Pushed,
    /// The node already pinned the root: nothing was sent.
    AlreadyPinned,
    /// Only a pinning service was asked (no node): see the remote pin.
    Requested,
    /// The push failed: see the error.
    Failed,
}

/// The result of one input.
#[derive(Debug)]
pub struct Pushed {
    /// The input.
    pub input: PushInput,
    /// The root (the per-video directory of an archive, the first root of a CAR); `None` when
    /// the input could not even be read.
    pub root: Option<Cid>,
    /// The record's CID, for an archive.
    pub record: Option<Cid>,
    /// CAR bytes sent to the node (0 when it already pinned the root).
    pub bytes_sent: u64,
    /// How it ended.
    pub status: PushStatus,
    /// The pin on the pinning service, when one was asked.
    pub remote: Option<RemotePinned>,
    /// Why it failed.
    pub error: Option<PushError>,
    /// What went wrong without failing it.
    pub notes: Vec<String>,
}

impl Pushed {
    /// Why it failed, on one line: the error and each of its causes.
    pub fn error_text(&self) -> Option<String> {
        self.error.as_ref().map(|e| crate::http::chain(e))
    }
}

/// What happens during a push, for progress displays. Sent from the pushing threads.
#[derive(Debug)]
pub enum PushEvent<'a> {
    /// The inputs were read: how many, and about how many bytes they hold.
    Planned {
        /// Inputs.
        inputs: usize,
        /// Bytes (the files of archives, the sizes of CARs).
        bytes: u64,
    },
    /// Bytes read and sent.
    Sent(u64),
    /// An attempt failed; the next starts after `wait`.
    Retry {
        /// The input.
        input: &'a Path,
        /// The wait.
        wait: Duration,
        /// What went wrong.
        reason: String,
    },
    /// An input is done.
    Done(&'a Pushed),
}
