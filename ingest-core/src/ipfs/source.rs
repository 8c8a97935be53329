//! Where blocks come from when they are not in a local file: gateways and nodes, through a
//! local cache, every block checked against its CID. A wrong or malicious gateway can delay a
//! reader, never mislead one.
//!
//! - [`ContentPath`]: what users name: a CID, `/ipfs/CID[/path]`, `ipfs://CID[/path]`,
//!   `/ipns/NAME[/path]`, `ipns://NAME[/path]`.
//! - [`Remote`]: a [`BlockSource`] over trustless gateways ([`super::gateway`], tried in turn,
//!   failing over on errors, timeouts and lies) and a node's RPC API (`block/get`), with a
//!   [`BlockCache`] in front. Blocks are fetched one by one (`application/vnd.ipld.raw`), many
//!   at a time, or as CAR streams (`dag-scope=entity`) where a whole file or a whole subtree of
//!   a directory is wanted and the cache has none of it.
//! - Paths are resolved here, by walking verified directory blocks (plain and HAMT-sharded),
//!   never by asking a gateway for a path.
//! - IPNS names: through the node (`name/resolve`) when there is one, else as a signed record
//!   from a gateway, whose signature, validity and value are checked ([`super::ipns`]).
//!   DNSLink names (`/ipns/example.org`) are resolved only by a node: a gateway's answer for one
//!   cannot be checked.

use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cid::Cid;

use super::cache::{BlockCache, CacheError};
use super::gateway::{FetchError, Gateway, Scope};
use super::ipns::{verify_record, IpnsError, IpnsName};
use super::rpc::{KuboRpc, RpcError};
use crate::car::block_matches as matches;
use crate::http::backoff;
use crate::unixfs::block::{decode_node, DAG_PB, RAW};
use crate::unixfs::dir::{self, BlockSource, EditError};
use crate::unixfs::profile::BLOCK_SIZE_LIMIT;

/// The identity multihash code: a CID whose "hash" is the block itself.
const IDENTITY: u64 = 0x00;
/// IPNS names pointing at names, followed at most this deep.
const MAX_NAME_DEPTH: usize = 8;
/// HAMT shards nested at most this deep (64 hash bits at 3 bits a level, the smallest fanout).
const MAX_SHARD_DEPTH: usize = 22;
/// CAR streams asked for at once.
const STREAMS: usize = 4;
/// A file's DAG at most this deep (a balanced DAG of 2 MiB blocks is a few levels).
const MAX_FILE_DEPTH: usize = 32;

/// What a user names: immutable content (`/ipfs/…`) or a name (`/ipns/…`), and a path below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentPath {
    /// `/ipfs/CID[/path]`, `ipfs://CID[/path]` or a bare `CID[/path]`.
    Ipfs {
        /// The root.
        cid: Cid,
        /// The path below it, one entry name each.
        path: Vec<String>,
    },
    /// `/ipns/NAME[/path]` or `ipns://NAME[/path]`.
    Ipns {
        /// The name: a key (`k51…`, `12D3Koo…`) or a DNSLink domain.
        name: String,
        /// The path below what it points to.
        path: Vec<String>,
    },
}

impl ContentPath {
    /// Parses `text`; `None` when it is none of the forms above (a local file, then).
    pub fn parse(text: &str) -> Option<Result<ContentPath, SourceError>> {
        let (ns, rest) = if let Some(rest) = text.strip_prefix("/ipfs/") {
            ("ipfs", rest)
        } else if let Some(rest) = text.strip_prefix("ipfs://") {
            ("ipfs", rest)
        } else if let Some(rest) = text.strip_prefix("/ipns/") {
            ("ipns", rest)
        } else if let Some(rest) = text.strip_prefix("ipns://") {
            ("ipns", rest)
        } else {
            let first = text.split('/').next().unwrap_or_default();
            Cid::try_from(first).ok()?;
            ("ipfs", text)
        };
        Some(Self::parse_parts(text, ns, rest))
    }

    fn parse_parts(text: &str, ns: &str, rest: &str) -> Result<ContentPath, SourceError> {
        let bad = |reason: String| SourceError::BadPath {
            path: text.to_owned(),
            reason,
        };
        let mut parts = rest.split('/');
        let head = parts.next().unwrap_or_default();
        let mut path = Vec::new();
        for part in parts.filter(|p| !p.is_empty()) {
            dir::check_entry_name(part).map_err(|e| bad(e.to_string()))?;
            path.push(part.to_owned());
        }
        if ns == "ipfs" {
            let cid =
                Cid::try_from(head).map_err(|e| bad(format!("{head:?} is not a CID: {e}")))?;
            Ok(ContentPath::Ipfs { cid, path })
        } else if head.is_empty() {
            Err(bad("no name after /ipns/".into()))
        } else {
            Ok(ContentPath::Ipns {
                name: head.to_owned(),
                path,
            })
        }
    }

    /// The path below the root or name.
    pub fn path(&self) -> &[String] {
        match self {
            ContentPath::Ipfs { path, .. } | ContentPath::Ipns { path, .. } => path,
        }
    }
}

impl fmt::Display for ContentPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentPath::Ipfs { cid, .. } => write!(f, "/ipfs/{cid}")?,
            ContentPath::Ipns { name, .. } => write!(f, "/ipns/{name}")?,
        }
        for part in self.path() {
            write!(f, "/{part}")?;
        }
        Ok(())
    }
}

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
    #[error("{path}: {reason}")]
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
    #[error("/ipns/{name}: {source}")]
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
    /// Writing what was read failed.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    items.iter().map(|a| format!("\n  - {a}")).collect()
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

    fn block(&self, cid: &Cid) -> Result<Vec<u8>, FetchError> {
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
struct Counters {
    blocks: AtomicU64,
    bytes: AtomicU64,
    failures: AtomicU64,
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
    endpoints: Vec<Endpoint>,
    counters: Vec<Counters>,
    cache: BlockCache,
    preferred: AtomicUsize,
    options: RemoteOptions,
    progress: Arc<Progress>,
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

    fn fetched(&self, i: usize, blocks: u64, bytes: u64) {
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
    fn order(&self) -> impl Iterator<Item = usize> + '_ {
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
        let mut attempts = Vec::new();
        for round in 0..=self.options.retries {
            if round > 0 {
                std::thread::sleep(backoff(
                    self.options.backoff,
                    self.options.backoff * 16,
                    round,
                ));
            }
            let mut transient = false;
            for i in self.order() {
                match self.endpoints[i].block(cid) {
                    Ok(block) => {
                        self.cache.put(cid, &block)?;
                        self.fetched(i, 1, block.len() as u64);
                        self.preferred.store(i, Ordering::Relaxed);
                        return Ok(block);
                    }
                    Err(e) => {
                        self.counters[i].failures.fetch_add(1, Ordering::Relaxed);
                        transient |= e.is_transient();
                        attempts.push(e);
                    }
                }
            }
            if !transient {
                break;
            }
        }
        Err(SourceError::Unavailable {
            cid: Box::new(*cid),
            attempts,
        })
    }

    /// Fetches every block of `cids` the cache lacks, [`RemoteOptions::parallel`] at a time,
    /// into the cache. The first failure is returned (after the requests under way end).
    pub fn fetch_many(&self, cids: &[Cid]) -> Result<(), SourceError> {
        let wanted: Vec<&Cid> = cids
            .iter()
            .filter(|c| c.hash().code() != IDENTITY && !self.cache.contains(c))
            .collect();
        self.parallel(&wanted, self.options.parallel, |cid| {
            self.block(cid).map(drop)
        })
    }

    /// Fetches the DAG under `root` within `scope` as one CAR stream from the first gateway
    /// that serves it, into the cache, then whatever the stream left out block by block. A
    /// gateway whose stream breaks or lies is left for the next; with no gateway (a node only),
    /// the blocks are fetched one by one.
    pub fn fetch_dag(&self, root: &Cid, scope: Scope) -> Result<(), SourceError> {
        let mut missing = HashSet::new();
        for i in self.order() {
            let Endpoint::Gateway(gateway) = &self.endpoints[i] else {
                continue;
            };
            let result = gateway.car(root, scope, &mut missing, |cid, block| {
                self.cache.put(cid, block)?;
                self.fetched(i, 1, 0);
                Ok(())
            });
            match result {
                Ok(fetched) => {
                    self.counters[i]
                        .bytes
                        .fetch_add(fetched.bytes, Ordering::Relaxed);
                    self.progress
                        .fetched_bytes
                        .fetch_add(fetched.bytes, Ordering::Relaxed);
                    self.preferred.store(i, Ordering::Relaxed);
                    let rest: Vec<Cid> = missing.into_iter().collect();
                    return self
                        .fetch_many(&rest)
                        .and_then(|()| self.walk_missing(root, scope));
                }
                // Counted; what it sent before failing was checked and kept.
                Err(_) => {
                    self.counters[i].failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        // No gateway streamed it: block by block (what was received is cached and verified).
        self.walk_missing(root, scope)
    }

    /// Fetches, level by level and many at a time, every block within `scope` under `root`
    /// that the cache lacks.
    fn walk_missing(&self, root: &Cid, scope: Scope) -> Result<(), SourceError> {
        let mut level = vec![*root];
        let mut seen = HashSet::new();
        while !level.is_empty() {
            self.fetch_many(&level)?;
            let mut next = Vec::new();
            for cid in &level {
                let block = self.block(cid)?;
                let links =
                    super::gateway::links_in_scope(cid, &block, scope).map_err(|reason| {
                        SourceError::Malformed {
                            path: format!("block {cid}"),
                            reason,
                        }
                    })?;
                next.extend(links.into_iter().filter(|l| seen.insert(*l)));
            }
            level = next;
        }
        Ok(())
    }

    /// Fetches every node of the directory `dir` (its HAMT shards, not its entries) that the
    /// cache lacks, level by level, many at a time. A shard the cache holds is not descended
    /// into: its CID names its whole subtree, which is then unchanged. Below the top, a shard
    /// whose sub-shards are nearly all missing (nine in ten) has the rest of its subtree come
    /// as one CAR stream (`dag-scope=entity`; the shard itself is sent again): so a first read
    /// makes a few hundred requests for a million entries, and a read after a change fetches
    /// only the shards that changed (where every second-level shard changes but most below
    /// them do not, the top is no guide, which is why it never asks for a stream).
    pub fn fetch_directory(&self, dir: &Cid) -> Result<(), SourceError> {
        let has_gateway = self
            .endpoints
            .iter()
            .any(|e| matches!(e, Endpoint::Gateway(_)));
        let mut level = vec![*dir];
        let mut top = true;
        for depth in 0.. {
            if level.is_empty() {
                break;
            }
            if depth > MAX_SHARD_DEPTH {
                return Err(SourceError::Malformed {
                    path: format!("directory {dir}"),
                    reason: format!("HAMT shards nested over {MAX_SHARD_DEPTH} levels"),
                });
            }
            self.fetch_many(&level)?;
            let mut next = Vec::new();
            let mut streams = Vec::new();
            for cid in &level {
                if cid.codec() != DAG_PB {
                    continue;
                }
                let block = self.block(cid)?;
                let shards = super::gateway::links_in_scope(cid, &block, Scope::Entity).map_err(
                    |reason| SourceError::Malformed {
                        path: format!("directory {cid}"),
                        reason,
                    },
                )?;
                let absent: Vec<Cid> = shards
                    .iter()
                    .filter(|c| !self.cache.contains(c))
                    .copied()
                    .collect();
                if has_gateway && !top && absent.len() >= 8 && absent.len() * 10 >= shards.len() * 9
                {
                    streams.push(*cid);
                } else {
                    next.extend(absent);
                }
            }
            self.parallel(&streams, STREAMS, |cid| self.fetch_dag(cid, Scope::Entity))?;
            level = next;
            top = false;
        }
        Ok(())
    }

    /// Runs `f` on every item, `workers` at a time; the first failure is returned (after the
    /// calls under way end; no new one starts).
    fn parallel<T: Sync>(
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

    /// Resolves `path` to the CID it names: an IPNS name through the node or a verified
    /// record, then each entry by walking verified directory blocks.
    pub fn resolve(&self, path: &ContentPath) -> Result<Cid, SourceError> {
        let (mut cid, mut rest) = self.resolve_root(path, 0)?;
        rest.extend(path.path().iter().cloned());
        let mut src = self;
        let mut so_far = format!("/ipfs/{cid}");
        for name in &rest {
            match dir::lookup(&mut src, &cid, name) {
                Ok(Some((child, _))) => cid = child,
                Ok(None) => {
                    return Err(SourceError::NotFound {
                        path: so_far,
                        name: name.clone(),
                        dir: Box::new(cid),
                    })
                }
                Err(e) => return Err(edit_error(&so_far, e)),
            }
            so_far = format!("{so_far}/{name}");
        }
        Ok(cid)
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
            return node
                .name_resolve(&format!("/ipns/{name}"))
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
        let mut attempts = Vec::new();
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
                Ok(record) => {
                    self.preferred.store(i, Ordering::Relaxed);
                    return Ok(record.value);
                }
                Err(e) => attempts.push(format!("{}: {e}", gateway.url())),
            }
        }
        if attempts.is_empty() {
            return Err(SourceError::NoEndpoint {
                what: format!("/ipns/{name}"),
            });
        }
        Err(SourceError::IpnsUnavailable {
            name: name.to_owned(),
            attempts,
        })
    }

    /// Writes the content of the UnixFS file `cid` to `out`, fetching what the cache lacks
    /// (the whole file as one CAR stream when the cache holds none of it; else the missing
    /// blocks, many at a time). Returns the bytes written.
    pub fn read_file(&self, cid: &Cid, out: &mut dyn Write) -> Result<u64, SourceError> {
        if cid.codec() == DAG_PB && !self.cache.contains(cid) && cid.hash().code() != IDENTITY {
            self.fetch_dag(cid, Scope::Entity)?;
        }
        self.write_file(cid, out, 0)
    }

    fn write_file(&self, cid: &Cid, out: &mut dyn Write, depth: usize) -> Result<u64, SourceError> {
        let write_error = |source| SourceError::Write {
            path: format!("the content of {cid}"),
            source,
        };
        let block = self.block(cid)?;
        match cid.codec() {
            RAW => {
                out.write_all(&block).map_err(write_error)?;
                return Ok(block.len() as u64);
            }
            DAG_PB => {}
            codec => {
                return Err(SourceError::Malformed {
                    path: format!("block {cid}"),
                    reason: format!("codec 0x{codec:x} is not a UnixFS file"),
                })
            }
        }
        let node = decode_node(&block).map_err(|e| SourceError::Malformed {
            path: format!("block {cid}"),
            reason: e.0.to_owned(),
        })?;
        if !node.kind.is_file() {
            return Err(SourceError::Malformed {
                path: format!("block {cid}"),
                reason: "not a UnixFS file".into(),
            });
        }
        if depth > MAX_FILE_DEPTH {
            return Err(SourceError::Malformed {
                path: format!("block {cid}"),
                reason: format!("a file DAG over {MAX_FILE_DEPTH} levels deep"),
            });
        }
        out.write_all(&node.data).map_err(write_error)?;
        let mut written = node.data.len() as u64;
        let children: Vec<Cid> = node.links.iter().map(|l| l.cid).collect();
        self.fetch_many(&children)?;
        for child in &children {
            written += self.write_file(child, out, depth + 1)?;
        }
        Ok(written)
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

/// A directory error as a source error.
fn edit_error(path: &str, e: EditError) -> SourceError {
    match e {
        EditError::Source { source, .. } => match source.downcast::<SourceError>() {
            Ok(e) => *e,
            Err(other) => SourceError::Malformed {
                path: path.to_owned(),
                reason: other.to_string(),
            },
        },
        e => SourceError::Malformed {
            path: path.to_owned(),
            reason: e.to_string(),
        },
    }
}

impl BlockSource for &Remote {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, EditError> {
        self.block(cid).map(Some).map_err(|e| EditError::Source {
            cid: *cid,
            source: Box::new(e),
        })
    }

    /// Yes: a catalogue read from the network is taken to be whole (a block its publisher
    /// left out is found missing when it is read, not before).
    fn contains(&mut self, _cid: &Cid) -> bool {
        true
    }

    fn will_list(&mut self, dir: &Cid) -> Result<(), EditError> {
        self.fetch_directory(dir).map_err(|e| EditError::Source {
            cid: *dir,
            source: Box::new(e),
        })
    }

    /// [`Remote::fetch_many`]; a block it could not fetch is tried again when it is read.
    fn prefetch(&mut self, cids: &[Cid]) -> Result<(), EditError> {
        let _ = self.fetch_many(cids);
        Ok(())
    }
}

impl BlockSource for Remote {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, EditError> {
        (&*self).get(cid)
    }
    fn contains(&mut self, cid: &Cid) -> bool {
        (&*self).contains(cid)
    }
    fn will_list(&mut self, dir: &Cid) -> Result<(), EditError> {
        (&*self).will_list(dir)
    }
    fn prefetch(&mut self, cids: &[Cid]) -> Result<(), EditError> {
        (&*self).prefetch(cids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_paths() {
        let cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
        let parsed = |t: &str| ContentPath::parse(t).map(|r| r.map(|p| p.to_string()));
        for text in [
            cid.to_owned(),
            format!("/ipfs/{cid}"),
            format!("ipfs://{cid}"),
            format!("/ipfs/{cid}/"),
        ] {
            assert_eq!(
                parsed(&text).unwrap().unwrap(),
                format!("/ipfs/{cid}"),
                "{text}"
            );
        }
        assert_eq!(
            parsed(&format!("ipfs://{cid}/a/b")).unwrap().unwrap(),
            format!("/ipfs/{cid}/a/b")
        );
        assert_eq!(
            parsed("/ipns/k51qzi5uqu5dl/site").unwrap().unwrap(),
            "/ipns/k51qzi5uqu5dl/site"
        );
        assert!(parsed("catalogue.car").is_none(), "a file name");
        assert!(parsed("/ipfs/notacid").unwrap().is_err());
        assert!(parsed(&format!("/ipfs/{cid}/a/../b")).unwrap().is_err());
        assert!(parsed("/ipns/").unwrap().is_err());
    }
}
