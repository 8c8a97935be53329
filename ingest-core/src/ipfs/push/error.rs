//! Why pushing an input failed, and which failures are worth another attempt.

use std::path::PathBuf;

use cid::Cid;

use crate::archive::{ArchiveError, RecordError};
use crate::car::CarError;
use crate::http::retry::{Classify, Failure};
use crate::io::SmallFileError;
use crate::ipfs::pinning::PinningError;
use crate::ipfs::rpc::RpcError;

/// Pushing one input failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The inputs could not be listed.
    #[error("cannot list the inputs")]
    Find {
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file named is neither a record nor a CAR.
    #[error("{path}: not a record (*.record.cbor) or a CAR (*.car)")]
    NotAnInput {
        /// The file.
        path: PathBuf,
    },
    /// The record could not be read.
    #[error(transparent)]
    ReadRecord(#[from] SmallFileError),
    /// The record is not valid.
    #[error("{path}: invalid record")]
    Record {
        /// The record.
        path: PathBuf,
        /// Why.
        #[source]
        source: RecordError,
    },
    /// A CAR is damaged (a block that does not match its CID, a truncated frame): nothing of it
    /// was sent.
    #[error("{path}: {source}; nothing of it was sent")]
    BadCar {
        /// The CAR.
        path: PathBuf,
        /// What is wrong (boxed: it carries CIDs).
        #[source]
        source: Box<CarError>,
    },
    /// A CAR names no root.
    #[error("{path}: the CAR names no root")]
    NoRoot {
        /// The CAR.
        path: PathBuf,
    },
    /// The CAR beside a record is rooted elsewhere than the record's directory.
    #[error(
        "{car}: rooted at {car_root}, but the record {record} makes the directory {directory}"
    )]
    CarOfAnotherArchive {
        /// The CAR.
        car: PathBuf,
        /// Its root.
        car_root: Box<Cid>,
        /// The record.
        record: PathBuf,
        /// The record's directory.
        directory: Box<Cid>,
    },
    /// A file of an archive is missing, unreadable or not the one its record names.
    #[error("{record}")]
    Derive {
        /// The record.
        record: PathBuf,
        /// Why (boxed, as large as it is).
        #[source]
        source: Box<ArchiveError>,
    },
    /// Reading a CAR failed while it was sent.
    #[error("{path}: read failed while sending")]
    Read {
        /// The CAR.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The node failed the call (after the retries, for those worth retrying).
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The node answered the import, but did not pin a root.
    #[error("{endpoint}: the node did not pin {root}{}", reason_suffix(.reason))]
    NotPinned {
        /// The call.
        endpoint: String,
        /// The root.
        root: Box<Cid>,
        /// The node's reason, if it gave one.
        reason: String,
    },
    /// The pinning service failed.
    #[error(transparent)]
    Pinning(#[from] PinningError),
    /// Two CARs would take the same pin name on the pinning service, each replacing the other.
    #[error("{first} and {second} would both be pinned as {name:?}, each replacing the other: push them one at a time with their own --name")]
    SameName {
        /// The name.
        name: String,
        /// The first CAR.
        first: PathBuf,
        /// The second.
        second: PathBuf,
    },
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

impl Classify for PushError {
    fn failure(&self) -> Failure {
        match self {
            PushError::Rpc(e) => e.failure(),
            PushError::Pinning(e) => e.failure(),
            PushError::NotPinned { .. } => Failure::Refused,
            // The inputs are ours: no endpoint changes them.
            PushError::Find { .. }
            | PushError::NotAnInput { .. }
            | PushError::ReadRecord(_)
            | PushError::Record { .. }
            | PushError::BadCar { .. }
            | PushError::NoRoot { .. }
            | PushError::CarOfAnotherArchive { .. }
            | PushError::Derive { .. }
            | PushError::Read { .. }
            | PushError::SameName { .. } => Failure::Fatal,
        }
    }
}
