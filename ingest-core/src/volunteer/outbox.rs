//! The outbox: a volunteer's own catalogue, in the same format as the common one, named by
//! the volunteer's IPNS key. Maintainers follow the name; the volunteer hands it over once.
//!
//! The outbox is merged incrementally (the new records onto the last outbox CAR), only the
//! blocks the last outbox lacked are pushed (a delta CAR), and the new root is published under
//! the key with the node's `name/publish` (the key is made on the node if missing). Only
//! records whose videos the node pins belong in it: a node asked to pin a catalogue whose
//! videos it lacks would wait for them.

use std::path::{Path, PathBuf};

use cid::Cid;

use crate::catalogue::{merge_car, MergeCarError};
use crate::ipfs::pinning::PinningService;
use crate::ipfs::rpc::KuboRpc;
use crate::ipfs::{
    publish, push, PublishError, PublishOptions, PushError, PushEvent, PushInput, PushOptions,
    RpcError,
};
use crate::unixfs::Profile;

/// How to publish an outbox.
#[derive(Clone, Debug)]
pub struct OutboxOptions {
    /// The node's key to publish under (made, ed25519, if the node has none of that name).
    pub key: String,
    /// How long the IPNS record is valid (kubo's duration syntax), the node's default if `None`.
    pub lifetime: Option<String>,
    /// The catalogue's profile (the records').
    pub profile: Profile,
    /// How to push.
    pub push: PushOptions,
}

/// An outbox, published.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedOutbox {
    /// The outbox catalogue's root.
    pub root: Cid,
    /// The IPNS name it is published under (`None`: pushed to a pinning service only).
    pub name: Option<String>,
    /// Records merged into it this time.
    pub added: u64,
    /// Records rejected by the merge, with why.
    pub rejected: Vec<String>,
    /// Whether the node had no peers, so it kept the IPNS record without announcing it.
    pub offline: bool,
}

/// Publishing the outbox failed; the last outbox CAR is unchanged unless the merge finished.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The merge failed.
    #[error("cannot merge the outbox {}", path.display())]
    Merge {
        /// The outbox CAR.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<MergeCarError>,
    },
    /// The key could not be had from the node.
    #[error("cannot get the key {key:?} from the node")]
    Key {
        /// The key's name.
        key: String,
        /// Why.
        #[source]
        source: RpcError,
    },
    /// Pushing or publishing failed.
    #[error(transparent)]
    Publish(#[from] PublishError),
    /// Pushing to the pinning service (no node) failed.
    #[error(transparent)]
    Push(#[from] PushError),
    /// Neither a node nor a pinning service was given.
    #[error("no node and no pinning service to publish the outbox to")]
    NoTarget,
}

/// Merges `records` (record files) onto the outbox catalogue CAR at `outbox` (made if it does
/// not exist), pushes the blocks it did not hold to `node` and `service`, and publishes its
/// root under `options.key` on `node`. The CAR is replaced atomically.
pub fn publish_outbox(
    node: Option<&KuboRpc>,
    service: Option<&PinningService>,
    outbox: &Path,
    records: &[PathBuf],
    options: &OutboxOptions,
    events: &(dyn Fn(PushEvent<'_>) + Sync),
) -> Result<PublishedOutbox, OutboxError> {
    if node.is_none() && service.is_none() {
        return Err(OutboxError::NoTarget);
    }
    let key = match node {
        Some(node) => Some(
            node.key_ensure(&options.key)
                .map_err(|source| OutboxError::Key {
                    key: options.key.clone(),
                    source,
                })?,
        ),
        None => None,
    };
    let base = outbox.exists().then_some(outbox);
    let delta = delta_path(outbox);
    let merged =
        merge_car(&options.profile, base, records, outbox, Some(&delta)).map_err(|source| {
            OutboxError::Merge {
                path: outbox.to_owned(),
                source: Box::new(source),
            }
        });
    let report = match merged {
        Ok(report) => report,
        Err(e) => {
            let _ = std::fs::remove_file(&delta);
            return Err(e);
        }
    };
    let rejected = report
        .summary
        .rejected
        .iter()
        .map(|r| r.reason.clone())
        .collect();
    let published = match node {
        Some(node) => {
            let publish_options = PublishOptions {
                key: Some(options.key.clone()),
                lifetime: options.lifetime.clone(),
            };
            let result = publish(
                node,
                service,
                &delta,
                &options.push,
                &publish_options,
                events,
            );
            let _ = std::fs::remove_file(&delta);
            let published = result?;
            PublishedOutbox {
                root: published.root,
                name: Some(key.map_or(published.published.name, |k| k.id)),
                added: report.summary.added,
                rejected,
                offline: published.offline,
            }
        }
        None => {
            let input = PushInput::Car {
                path: delta.clone(),
            };
            let result = push(None, service, vec![input], &options.push, events);
            let _ = std::fs::remove_file(&delta);
            let mut results = result?;
            if let Some(error) = results.pop().and_then(|p| p.error) {
                return Err(error.into());
            }
            PublishedOutbox {
                root: report.root,
                name: None,
                added: report.summary.added,
                rejected,
                offline: false,
            }
        }
    };
    Ok(published)
}

/// The delta CAR written beside the outbox while it is published: `outbox.delta.car`.
fn delta_path(outbox: &Path) -> PathBuf {
    let mut name = outbox
        .file_stem()
        .map(|s| s.to_os_string())
        .unwrap_or_default();
    name.push(".delta.car");
    outbox.with_file_name(name)
}
