//! Publishing a catalogue: its CAR pushed to a node (and a pinning service), then its root
//! named with IPNS (`name/publish`), ready for a DNSLink record.

use std::path::Path;

use cid::Cid;

use super::pinning::PinningService;
use super::push::{push, PushError, PushEvent, PushInput, PushOptions, PushStatus, Pushed};
use super::rpc::{KuboRpc, Published, RpcError};

/// How to name the catalogue.
#[derive(Clone, Debug, Default)]
pub struct PublishOptions {
    /// The node's key to publish with (`self`, the node's own, by default).
    pub key: Option<String>,
    /// How long the IPNS record is valid (kubo's duration syntax: `24h`, `8760h`).
    pub lifetime: Option<String>,
}

/// A published catalogue.
#[derive(Debug)]
pub struct PublishedCatalogue {
    /// The catalogue's root.
    pub root: Cid,
    /// How the push went.
    pub pushed: Pushed,
    /// The IPNS name, and the path it points to.
    pub published: Published,
    /// Whether the node was offline, so the record was kept by the node but not announced.
    pub offline: bool,
}

impl PublishedCatalogue {
    /// `/ipns/<name>`.
    pub fn ipns_path(&self) -> String {
        format!("/ipns/{}", self.published.name)
    }

    /// The DNSLink TXT record's value: `dnslink=/ipfs/<root>`.
    pub fn dnslink(&self) -> String {
        format!("dnslink=/ipfs/{}", self.root)
    }
}

/// Publishing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The push failed: nothing was published.
    #[error("{path}: not published, the push failed")]
    Push {
        /// The catalogue.
        path: std::path::PathBuf,
        /// Why (boxed, as large as it is).
        #[source]
        source: Box<PushError>,
    },
    /// The node would not publish.
    #[error(transparent)]
    Name(#[from] RpcError),
}

/// Pushes the catalogue CAR at `car` to `node` (and asks `service` to pin it, replacing the
/// pin of the same name), then points the IPNS name of `options.key` at its root. A node
/// without peers keeps the record without announcing it (`allow-offline`), and the result says
/// so.
pub fn publish(
    node: &KuboRpc,
    service: Option<&PinningService>,
    car: &Path,
    push_options: &PushOptions,
    options: &PublishOptions,
    events: &(dyn Fn(PushEvent<'_>) + Sync),
) -> Result<PublishedCatalogue, PublishError> {
    let failed = |source| PublishError::Push {
        path: car.to_owned(),
        source: Box::new(source),
    };
    let input = PushInput::Car {
        path: car.to_owned(),
    };
    let mut results =
        push(Some(node), service, vec![input], push_options, events).map_err(failed)?;
    let mut pushed = results.pop().ok_or_else(|| {
        failed(PushError::NoRoot {
            path: car.to_owned(),
        })
    })?;
    if let Some(error) = pushed.error.take() {
        return Err(failed(error));
    }
    debug_assert!(matches!(
        pushed.status,
        PushStatus::Pushed | PushStatus::AlreadyPinned
    ));
    let root = pushed.root.ok_or_else(|| {
        failed(PushError::NoRoot {
            path: car.to_owned(),
        })
    })?;
    let path = format!("/ipfs/{root}");
    let key = options.key.as_deref();
    let lifetime = options.lifetime.as_deref();
    let (published, offline) = match node.name_publish(&path, key, lifetime, false) {
        Ok(p) => (p, false),
        Err(RpcError::Node { message, .. }) if message.to_lowercase().contains("offline") => {
            (node.name_publish(&path, key, lifetime, true)?, true)
        }
        Err(e) => return Err(e.into()),
    };
    Ok(PublishedCatalogue {
        root,
        pushed,
        published,
        offline,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfs::rpc::RpcOptions;

    #[test]
    fn a_catalogue_that_cannot_be_pushed_is_not_published() {
        let dir = tempfile::tempdir().unwrap();
        let car = dir.path().join("catalogue.car");
        std::fs::write(&car, b"not a CAR").unwrap();
        // Nothing listens on port 1: the node would refuse anything; the CAR fails first.
        let options = RpcOptions {
            retries: 0,
            ..RpcOptions::default()
        };
        let node = KuboRpc::new("http://127.0.0.1:1/".parse().unwrap(), options).unwrap();
        let err = publish(
            &node,
            None,
            &car,
            &PushOptions::default(),
            &PublishOptions::default(),
            &|_| {},
        )
        .unwrap_err();
        assert!(
            matches!(&err, PublishError::Push { path, .. } if *path == car),
            "{err}"
        );
    }

    #[test]
    fn the_names_to_hand_over() {
        let root: Cid = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
            .parse()
            .unwrap();
        let published = PublishedCatalogue {
            root,
            pushed: Pushed {
                input: PushInput::Car {
                    path: "catalogue.car".into(),
                },
                root: Some(root),
                record: None,
                bytes_sent: 0,
                status: PushStatus::AlreadyPinned,
                remote: None,
                error: None,
                notes: Vec::new(),
            },
            published: Published {
                name: "k51qzi5uqu5dl".into(),
                value: format!("/ipfs/{root}"),
            },
            offline: false,
        };
        assert_eq!(published.ipns_path(), "/ipns/k51qzi5uqu5dl");
        assert_eq!(published.dnslink(), format!("dnslink=/ipfs/{root}"));
    }
}
