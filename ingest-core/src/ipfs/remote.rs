//! Blocks from gateways and nodes, through a local cache, every block checked against its CID. A
//! wrong or malicious gateway can delay a reader, never mislead one.
//!
//! [`Remote`] is a [`crate::unixfs::BlockSource`] over trustless gateways ([`super::gateway`],
//! tried in turn, failing over on errors, timeouts and lies) and a node's RPC API (`block/get`),
//! with a [`BlockCache`] in front. Blocks are fetched one by one (`application/vnd.ipld.raw`),
//! many at a time, or as CAR streams (`dag-scope=entity`, [`super::walk`]) where a whole file or a
//! whole subtree of a directory is wanted and the cache has none of it. Paths and IPNS names are
//! resolved in [`super::resolve`].

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cid::Cid;

use super::cache::{BlockCache, CacheError};
use super::gateway::{FetchError, Gateway};
use super::ipns::IpnsError;
use super::rpc::{KuboRpc, RpcError};
use crate::car::block_matches as matches;
use crate::http::retry::Policy;
use crate::unixfs::dir::EditError;
use crate::unixfs::profile::BLOCK_SIZE_LIMIT;
use crate::unixfs::read::ReadError;

/// The identity multihash code: a CID whose "hash" is the block itself.
pub(super) const IDENTITY: u64 = 0x00;

/// Reading from the network failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Nothing to read from.
    #[error("no gateway or node to read {what} from: give --gateway URL (or set $IPFS_GATEWAY) or --api")]
    NoEndpoint {
        /// What was to be read.
        what: String,
    },
    /// Not a content path.
    #[error("{}: {reason}", cut(path, 100))]
    BadPath {
        /// The text.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// No gateway or node served a good copy of a block.
    #[error("block {cid}: no gateway or node served it{}", list(.attempts))]
    Unavailable {
        /// The block.
        cid: Box<Cid>,
        /// What each endpoint answered, in the order tried.
        attempts: Vec<FetchError>,
    },
    /// A path names an entry its directory does not have.
    #[error("{path}: no entry {name:?} in directory {dir}")]
    NotFound {
        /// The path resolved so far.
        path: String,
        /// The entry.
        name: String,
        /// The directory.
        dir: Box<Cid>,
    },
    /// A path goes through something that is not a directory, or a block is not what it
    /// should be.
    #[error("{path}: {reason}")]
    Malformed {
        /// The path or block.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An IPNS record failed its checks.
    #[error("/ipns/{name}")]
    Ipns {
        /// The name.
        name: String,
        /// Why.
        #[source]
        source: IpnsError,
    },
    /// No gateway served a valid IPNS record.
    #[error("/ipns/{name}: no gateway served a valid IPNS record{}", list(.attempts))]
    IpnsUnavailable {
        /// The name.
        name: String,
        /// What each gateway answered.
        attempts: Vec<String>,
    },
    /// Every valid record served for a name is older than one seen before.
    #[error("/ipns/{name}: the newest record served ({from}) has sequence {sequence} ({value}), older than sequence {seen} ({seen_value}) seen before: refusing to go back to an older version")]
    IpnsRollback {
        /// The name.
        name: String,
        /// The highest sequence served now.
        sequence: u64,
        /// Its value.
        value: String,
        /// The gateway that served it.
        from: String,
        /// The highest sequence seen before.
        seen: u64,
        /// Its value.
        seen_value: String,
    },
    /// A DNSLink name with no node to resolve it.
    #[error("/ipns/{name} is a DNSLink name: only a node (--api) resolves those, since a gateway's answer for one cannot be checked; use the key name (k51…) instead")]
    DnsLink {
        /// The name.
        name: String,
    },
    /// The node failed.
    #[error(transparent)]
    Node(#[from] Box<RpcError>),
    /// The cache failed.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// A gateway's URL is not usable.
    #[error(transparent)]
    Gateway(Box<FetchError>),
    /// A directory on a path could not be read.
    #[error("{path}")]
    Directory {
        /// The path being resolved.
        path: String,
        /// Why (boxed: it carries CIDs).
        #[source]
        source: Box<EditError>,
    },
    /// A file or a node could not be read.
    #[error(transparent)]
    Read(#[from] Box<ReadError>),
}

/// `text`, cut to at most `max` bytes (at a character boundary) with `…` when longer: user
/// input echoed in a message.
pub(crate) fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// What each endpoint answered, on the message's line: `: a; b; c`.
fn list<T: fmt::Display>(items: &[T]) -> String {
    let all: Vec<String> = items.iter().map(ToString::to_string).collect();
    if all.is_empty() {
        String::new()
    } else {
        format!(": {}", all.join("; "))
    }
}

/// Where blocks may be fetched from.
#[derive(Debug)]
pub enum Endpoint {
    /// A trustless gateway.
    Gateway(Gateway),
    /// A node's RPC API (`block/get`, `name/resolve`).
    Node(KuboRpc),
}

impl Endpoint {
    /// The endpoint's URL.
    pub fn url(&self) -> String {
        match self {
            Endpoint::Gateway(g) => g.url().to_string(),
            Endpoint::Node(n) => n.url().to_string(),
        }
    }

    pub(super) fn block(&self, cid: &Cid) -> Result<Vec<u8>, FetchError> {
        match self {
            Endpoint::Gateway(g) => g.block(cid),
            Endpoint::Node(node) => {
                let block = node
                    .block_get(cid, BLOCK_SIZE_LIMIT as u64)
                    .map_err(|e| FetchError::Node(Box::new(e)))?;
                if !matches(cid, &block) {
                    return Err(FetchError::Mismatch {
                        endpoint: node.endpoint("block/get"),
                        cid: Box::new(*cid),
                        hint: String::new(),
                    });
                }
                Ok(block)
            }
        }
    }
}

/// How a [`Remote`] behaves.
#[derive(Clone, Debug)]
pub struct RemoteOptions {
    /// Rounds over every endpoint after the first, when failures were transient.
    pub retries: u32,
    /// The first wait between rounds (doubling, with jitter).
    pub backoff: Duration,
    /// Blocks fetched at once.
    pub parallel: usize,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            retries: 2,
            backoff: Duration::from_millis(500),
            parallel: 16,
        }
    }
}

/// What one endpoint delivered.
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) blocks: AtomicU64,
    pub(super) bytes: AtomicU64,
    pub(super) failures: AtomicU64,
}

/// What one endpoint delivered, for reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointStats {
    /// The endpoint.
    pub url: String,
    /// Blocks it served (checked).
    pub blocks: u64,
    /// Bytes it served (bodies).
    pub bytes: u64,
    /// Requests that failed or lied.
    pub failures: u64,
}

/// Totals for progress: read by another thread while a command runs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Blocks fetched from the network.
    pub fetched_blocks: AtomicU64,
    /// Bytes fetched from the network.
    pub fetched_bytes: AtomicU64,
    /// Blocks read from the cache.
    pub cached_blocks: AtomicU64,
}

/// Blocks from gateways and nodes, verified and cached (see the module doc).
#[derive(Debug)]
pub struct Remote {
    pub(super) endpoints: Vec<Endpoint>,
    pub(super) counters: Vec<Counters>,
    pub(super) cache: BlockCache,
    /// The endpoint that served last, tried first.
    pub(super) preferred: AtomicUsize,
    pub(super) options: RemoteOptions,
    pub(super) progress: Arc<Progress>,
}

impl Remote {
    /// Blocks from `endpoints` (tried in this order), through `cache`.
    pub fn new(endpoints: Vec<Endpoint>, cache: BlockCache, options: RemoteOptions) -> Remote {
        let counters = endpoints.iter().map(|_| Counters::default()).collect();
        Remote {
            endpoints,
            counters,
            cache,
            preferred: AtomicUsize::new(0),
            options,
            progress: Arc::default(),
        }
    }

    /// The totals, for a progress display.
    pub fn progress(&self) -> Arc<Progress> {
        self.progress.clone()
    }

    /// The cache.
    pub fn cache(&self) -> &BlockCache {
        &self.cache
    }

    /// What each endpoint delivered.
    pub fn stats(&self) -> Vec<EndpointStats> {
        self.endpoints
            .iter()
            .zip(&self.counters)
            .map(|(e, c)| EndpointStats {
                url: e.url(),
                blocks: c.blocks.load(Ordering::Relaxed),
                bytes: c.bytes.load(Ordering::Relaxed),
                failures: c.failures.load(Ordering::Relaxed),
            })
            .collect()
    }

    pub(super) fn fetched(&self, i: usize, blocks: u64, bytes: u64) {
        self.counters[i].blocks.fetch_add(blocks, Ordering::Relaxed);
        self.counters[i].bytes.fetch_add(bytes, Ordering::Relaxed);
        self.progress
            .fetched_blocks
            .fetch_add(blocks, Ordering::Relaxed);
        self.progress
            .fetched_bytes
            .fetch_add(bytes, Ordering::Relaxed);
    }

    /// The endpoints in the order to try them: the last one that served first.
    pub(super) fn order(&self) -> impl Iterator<Item = usize> + '_ {
        let n = self.endpoints.len();
        let first = self.preferred.load(Ordering::Relaxed) % n.max(1);
        (0..n).map(move |k| (first + k) % n)
    }

    /// The block `cid`: from its CID if it is an identity CID, from the cache, else from the
    /// endpoints in turn (every answer checked; a good one cached).
    pub fn block(&self, cid: &Cid) -> Result<Vec<u8>, SourceError> {
        if cid.hash().code() == IDENTITY {
            return Ok(cid.hash().digest().to_vec());
        }
        if let Some(block) = self.cache.get(cid) {
            self.progress.cached_blocks.fetch_add(1, Ordering::Relaxed);
            return Ok(block);
        }
        if self.endpoints.is_empty() {
            return Err(SourceError::NoEndpoint {
                what: format!("block {cid}"),
            });
        }
        // The one retry policy decides: rounds over the endpoints while a failure may pass, an
        // endpoint that lied or refused not asked again.
        let policy = Policy::new(
            self.options.backoff,
            self.options.backoff * 16,
            self.options.retries,
        );
        let fetched = policy.across(
            || self.order(),
            |i| {
                self.endpoints[i].block(cid).inspect_err(|_| {
                    self.counters[i].failures.fetch_add(1, Ordering::Relaxed);
                })
            },
        );
        match fetched {
            Ok((i, block)) => {
                self.cache.put(cid, &block)?;
                self.fetched(i, 1, block.len() as u64);
                self.preferred.store(i, Ordering::Relaxed);
                Ok(block)
            }
            Err(attempts) => Err(SourceError::Unavailable {
                cid: Box::new(*cid),
                attempts,
            }),
        }
    }

    /// Fetches every block of `cids` the cache lacks, [`RemoteOptions::parallel`] at a time,
    /// into the cache. The first failure is returned (after the requests under way end).
    pub fn fetch_many(&self, cids: &[Cid]) -> Result<(), SourceError> {
        if !self.cache.keeps() {
            // Nothing to fetch into: each block is fetched when it is read.
            return Ok(());
        }
        let wanted: Vec<&Cid> = cids
            .iter()
            .filter(|c| c.hash().code() != IDENTITY && !self.cache.contains(c))
            .collect();
        self.parallel(&wanted, self.options.parallel, |cid| {
            self.block(cid).map(drop)
        })
    }

    /// Runs `f` on every item, `workers` at a time; the first failure is returned (after the
    /// calls under way end; no new one starts).
    pub(super) fn parallel<T: Sync>(
        &self,
        items: &[T],
        workers: usize,
        f: impl Fn(&T) -> Result<(), SourceError> + Sync,
    ) -> Result<(), SourceError> {
        if items.is_empty() {
            return Ok(());
        }
        let next = AtomicUsize::new(0);
        let failed: Mutex<Option<SourceError>> = Mutex::new(None);
        std::thread::scope(|s| {
            for _ in 0..workers.clamp(1, 64).min(items.len()) {
                s.spawn(|| loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(k) else { break };
                    if let Err(e) = f(item) {
                        let mut failed = failed.lock().unwrap_or_else(|p| p.into_inner());
                        failed.get_or_insert(e);
                        next.store(items.len(), Ordering::Relaxed);
                        break;
                    }
                });
            }
        });
        match failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Drops least recently used blocks until the cache fits its bound, if this process added
    /// any.
    pub fn trim_cache(&self) -> Result<(), CacheError> {
        if self.cache.added() > 0 {
            self.cache.trim()?;
        }
        Ok(())
    }
}
