//! The outbox: a volunteer's own catalogue, in the same format as the common one, named by
//! the volunteer's IPNS key. Maintainers follow the name; the volunteer hands it over once.
//!
//! The outbox is merged incrementally (the new records onto the last outbox CAR), only the
//! blocks the last outbox lacked are pushed (a delta CAR), and the new root is named
//! ([`OutboxKey`]): with a key of the node, by the node's `name/publish` (the key is made on
//! the node if missing); with a key `ingest` keeps in a file, by a record signed here and put to
//! Delegated Routing V1 routers (`PUT /routing/v1/ipns/{name}`), its sequence one above the
//! highest the routers (or this outbox) had. Only records whose videos the node pins belong in
//! it: a node asked to pin a catalogue whose videos it lacks would wait for them.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cid::Cid;

use crate::catalogue::{merge_car, MergeCarError};
use crate::ipfs::pinning::PinningService;
use crate::ipfs::routing::{Router, RoutingError};
use crate::ipfs::rpc::KuboRpc;
use crate::ipfs::{
    publish, push, verify_record, IpnsKey, PublishError, PublishOptions, PushError, PushEvent,
    PushInput, PushOptions, RpcError,
};
use crate::unixfs::Profile;

/// The key an outbox is named by.
#[derive(Clone, Debug)]
pub enum OutboxKey {
    /// A key of the node, by its name (made, ed25519, if the node has none of that name): the
    /// node publishes (`name/publish`).
    Node(String),
    /// A key `ingest` keeps: each record is signed here and put to every router.
    Own {
        /// The key.
        key: Arc<IpnsKey>,
        /// The routers (at least one must take the record).
        routers: Vec<Router>,
    },
}

/// How long a record signed here is valid, unless said: 30 days (no node republishes it; every
/// publish of the outbox signs a new one).
pub const OWN_RECORD_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

/// The TTL of a record signed here: how long a reader may cache it.
const OWN_RECORD_TTL: Duration = Duration::from_secs(300);

/// How to publish an outbox.
#[derive(Clone, Debug)]
pub struct OutboxOptions {
    /// The key the outbox is named by.
    pub key: OutboxKey,
    /// How long the IPNS record is valid (kubo's duration syntax), the node's default (or
    /// [`OWN_RECORD_LIFETIME`] for a key of `ingest`'s) if `None`.
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
    /// A key of the node was asked for, and no node was given.
    #[error("the key {key:?} is the node's: give a node, or a key file and routers")]
    NoNode {
        /// The key's name.
        key: String,
    },
    /// No router took the signed record.
    #[error("no router took the outbox's record (sequence {sequence}): {}", reasons.join("; "))]
    Routers {
        /// The sequence of the record.
        sequence: u64,
        /// Each router's error.
        reasons: Vec<String>,
    },
    /// The outbox's sequence could not be kept.
    #[error("{}: {source}", path.display())]
    Sequence {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
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
    let node_key = match (&options.key, node) {
        (OutboxKey::Node(name), Some(node)) => {
            Some(node.key_ensure(name).map_err(|source| OutboxError::Key {
                key: name.clone(),
                source,
            })?)
        }
        (OutboxKey::Node(name), None) => return Err(OutboxError::NoNode { key: name.clone() }),
        (OutboxKey::Own { .. }, _) => None,
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
    let published = match (&options.key, node) {
        (OutboxKey::Node(name), Some(node)) => {
            let publish_options = PublishOptions {
                key: Some(name.clone()),
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
                name: Some(ipns_name(
                    &node_key.map_or(published.published.name, |k| k.id),
                )),
                added: report.summary.added,
                rejected,
                offline: published.offline,
            }
        }
        (OutboxKey::Own { key, routers }, _) => {
            let input = PushInput::Car {
                path: delta.clone(),
            };
            let result = push(node, service, vec![input], &options.push, events);
            let _ = std::fs::remove_file(&delta);
            if let Some(error) = result?.pop().and_then(|p| p.error) {
                return Err(error.into());
            }
            let lifetime = options
                .lifetime
                .as_deref()
                .and_then(parse_lifetime)
                .unwrap_or(OWN_RECORD_LIFETIME);
            name_with_routers(key, routers, outbox, &report.root, lifetime)?;
            PublishedOutbox {
                root: report.root,
                name: Some(key.name().to_string()),
                added: report.summary.added,
                rejected,
                offline: false,
            }
        }
        (OutboxKey::Node(name), None) => return Err(OutboxError::NoNode { key: name.clone() }),
    };
    Ok(published)
}

/// Signs a record pointing `key`'s name at `root`, one sequence above the highest the routers
/// have (verified) and the one kept beside `outbox`, and puts it to every router.
fn name_with_routers(
    key: &IpnsKey,
    routers: &[Router],
    outbox: &Path,
    root: &Cid,
    lifetime: Duration,
) -> Result<u64, OutboxError> {
    let name = key.name();
    let now = SystemTime::now();
    let kept_path = sequence_path(outbox);
    let kept: u64 = std::fs::read_to_string(&kept_path)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0);
    let mut highest = kept;
    for router in routers {
        // A router that cannot be read is not fatal here: the put says whether it works.
        if let Ok(Some(bytes)) = router.get_ipns(&name) {
            if let Ok(record) = verify_record(&name, &bytes, now) {
                highest = highest.max(record.sequence);
            }
        }
    }
    let sequence = highest + 1;
    let record = key.sign(
        &format!("/ipfs/{root}"),
        sequence,
        now + lifetime,
        OWN_RECORD_TTL,
    );
    let mut reasons = Vec::new();
    let mut taken = 0;
    for router in routers {
        match router.put_ipns(&name, &record) {
            Ok(()) => taken += 1,
            Err(e) => reasons.push(crate::http::chain(&e as &RoutingError)),
        }
    }
    if taken == 0 {
        return Err(OutboxError::Routers { sequence, reasons });
    }
    crate::io::AtomicFile::create(&kept_path)
        .and_then(|f| f.write_and_commit(format!("{sequence}\n").as_bytes()))
        .map_err(|e| OutboxError::Sequence {
            path: kept_path.clone(),
            source: std::io::Error::other(e),
        })?;
    Ok(sequence)
}

/// The sequence of the outbox's last record signed here: `outbox.sequence` beside it.
fn sequence_path(outbox: &Path) -> PathBuf {
    outbox.with_extension("sequence")
}

/// A lifetime in kubo's syntax (`48h`, `720h`, `30m`, `90s`).
fn parse_lifetime(text: &str) -> Option<Duration> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

/// A name as the node printed it (a peer id, `12D3Koo…`), in the form kubo prints and
/// gateways take in a subdomain: `k51…` (as it was, if it is not a name).
fn ipns_name(text: &str) -> String {
    crate::ipfs::IpnsName::parse(text).map_or_else(|_| text.to_owned(), |n| n.to_string())
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
