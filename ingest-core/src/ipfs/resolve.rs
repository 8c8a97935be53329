//! Content paths resolved to CIDs: an IPNS name through the node or a verified record, then each
//! entry by walking verified directory blocks (plain and HAMT-sharded), never by asking a gateway
//! for a path. DNSLink names (`/ipns/example.org`) are resolved only by a node: a gateway's answer
//! for one cannot be checked.

use std::sync::atomic::Ordering;
use std::time::SystemTime;

use cid::Cid;

use super::ipns::{verify_record, IpnsName};
use super::path::ContentPath;
use super::remote::{Endpoint, Remote, SourceError};
use crate::unixfs::read;

/// IPNS names pointing at names, followed at most this deep.
const MAX_NAME_DEPTH: usize = 8;

impl Remote {
    /// Resolves `path` to the CID it names: an IPNS name through the node or a verified
    /// record, then each entry by walking verified directory blocks.
    pub fn resolve(&self, path: &ContentPath) -> Result<Cid, SourceError> {
        let (root, mut rest) = self.resolve_root(path, 0)?;
        rest.extend(path.path().iter().cloned());
        let shown = |names: &[String]| {
            std::iter::once(format!("/ipfs/{root}"))
                .chain(names.iter().cloned())
                .collect::<Vec<_>>()
                .join("/")
        };
        match read::resolve(&mut &*self, &root, &rest) {
            Ok(Ok(cid)) => Ok(cid),
            Ok(Err(absent)) => Err(SourceError::NotFound {
                path: shown(&absent.walked),
                name: absent.name,
                dir: Box::new(absent.dir),
            }),
            Err(source) => Err(SourceError::Directory {
                path: shown(&rest),
                source: Box::new(source),
            }),
        }
    }

    /// The root CID a content path starts from, and the path an IPNS value adds.
    fn resolve_root(
        &self,
        path: &ContentPath,
        depth: usize,
    ) -> Result<(Cid, Vec<String>), SourceError> {
        let name = match path {
            ContentPath::Ipfs { cid, .. } => return Ok((*cid, Vec::new())),
            ContentPath::Ipns { name, .. } => name,
        };
        if depth >= MAX_NAME_DEPTH {
            return Err(SourceError::Malformed {
                path: format!("/ipns/{name}"),
                reason: format!("names point to names over {MAX_NAME_DEPTH} levels"),
            });
        }
        let value = self.resolve_name(name)?;
        let target = match ContentPath::parse(&value) {
            Some(Ok(target)) => target,
            Some(Err(e)) => return Err(e),
            None => {
                return Err(SourceError::Malformed {
                    path: format!("/ipns/{name}"),
                    reason: format!("it points to {value:?}, not a content path"),
                })
            }
        };
        let (cid, mut rest) = self.resolve_root(&target, depth + 1)?;
        rest.extend(target.path().iter().cloned());
        Ok((cid, rest))
    }

    /// The value of an IPNS name: from the node if there is one, else from a verified record.
    fn resolve_name(&self, name: &str) -> Result<String, SourceError> {
        if let Some(node) = self.endpoints.iter().find_map(|e| match e {
            Endpoint::Node(node) => Some(node),
            Endpoint::Gateway(_) => None,
        }) {
            // A key's name as a peer id (`12D3Koo…`): every node takes that form (js-ipfs
            // reads `k51…` as a domain name).
            let asked = IpnsName::parse(name).map_or_else(|_| name.to_owned(), |n| n.to_peer_id());
            return node
                .name_resolve(&format!("/ipns/{asked}"))
                .map_err(|e| SourceError::Node(Box::new(e)));
        }
        if name.contains('.') {
            return Err(SourceError::DnsLink {
                name: name.to_owned(),
            });
        }
        let key = IpnsName::parse(name).map_err(|source| SourceError::Ipns {
            name: name.to_owned(),
            source,
        })?;
        // Every gateway is asked: one may serve an older record that is still valid, and the
        // newest (highest sequence) wins.
        let mut attempts = Vec::new();
        let mut best: Option<(u64, String, String, usize)> = None;
        for i in self.order() {
            let Endpoint::Gateway(gateway) = &self.endpoints[i] else {
                continue;
            };
            let record = match gateway.ipns_record(name) {
                Ok(bytes) => bytes,
                Err(e) => {
                    attempts.push(e.to_string());
                    continue;
                }
            };
            self.fetched(i, 0, record.len() as u64);
            match verify_record(&key, &record, SystemTime::now()) {
                Ok(record) if best.as_ref().is_none_or(|b| record.sequence > b.0) => {
                    best = Some((record.sequence, record.value, gateway.url().to_string(), i));
                }
                Ok(_) => {}
                Err(e) => attempts.push(format!("{}: {e}", gateway.url())),
            }
        }
        let Some((sequence, value, from, i)) = best else {
            if attempts.is_empty() {
                return Err(SourceError::NoEndpoint {
                    what: format!("/ipns/{name}"),
                });
            }
            return Err(SourceError::IpnsUnavailable {
                name: name.to_owned(),
                attempts,
            });
        };
        // Never back to a lower sequence than one seen before (a rollback to an older
        // catalogue that is still validly signed).
        let canonical = key.to_string();
        if let Some((seen, seen_value)) = self.cache.ipns_seen(&canonical) {
            if sequence < seen {
                return Err(SourceError::IpnsRollback {
                    name: name.to_owned(),
                    sequence,
                    value,
                    from,
                    seen,
                    seen_value,
                });
            }
        }
        self.cache.remember_ipns(&canonical, sequence, &value)?;
        self.preferred.store(i, Ordering::Relaxed);
        Ok(value)
    }
}
