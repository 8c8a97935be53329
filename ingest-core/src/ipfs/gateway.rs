//! A trustless-gateway client: blocks and CAR streams over HTTP, as the Trustless Gateway
//! specification defines them, each block checked against its CID before it is handed on.
//!
//! - [`Gateway::block`]: `GET /ipfs/{cid}` with `Accept: application/vnd.ipld.raw`: one block.
//! - [`Gateway::car`]: `GET /ipfs/{cid}?dag-scope=…` with `Accept: application/vnd.ipld.car`:
//!   a CARv1 stream whose header must name the CID asked for and whose blocks must each be one
//!   the DAG under that CID leads to, within the scope (see [`Scope`]): a block not asked for,
//!   a block seen twice, a block over 2 MiB, bytes that do not match their CID, a stream cut
//!   short and a stream that keeps going are all refused, naming the gateway and the CID.
//! - [`Gateway::ipns_record`]: `GET /ipns/{name}` with
//!   `Accept: application/vnd.ipfs.ipns-record`: the signed record (checked by
//!   [`super::ipns`]).
//!
//! Paths are never sent: the caller resolves them by walking verified blocks
//! ([`super::resolve`]), so a gateway cannot answer `/ipfs/ROOT/site` with another subtree.
//!
//! Time is bounded twice: each read waits at most the idle timeout, and a body must keep an
//! average of [`GatewayOptions::min_rate`] once [`GatewayOptions::grace`] has passed, so a
//! gateway that drips bytes cannot hold a reader for ever.

use std::collections::HashSet;
use std::io::{self, Read};
use std::time::{Duration, Instant};

use cid::Cid;
use reqwest::blocking::{Client, Response};
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::{StatusCode, Url};

use crate::car::block_matches as matches;
use crate::car::{CarError, CarReader};
use crate::http::retry::{Classify, Failure};
use crate::http::{chain, header_text};
use crate::unixfs::block::{decode_node, DAG_CBOR, DAG_PB, RAW};
use crate::unixfs::profile::BLOCK_SIZE_LIMIT;
use crate::unixfs::UnixFsType;

/// The media type of one raw block.
pub const RAW_BLOCK: &str = "application/vnd.ipld.raw";
/// The media type of a CAR stream.
pub const CAR_STREAM: &str = "application/vnd.ipld.car";
/// What a CAR request accepts: blocks in depth-first order, each once.
const CAR_REQUEST: &str = "application/vnd.ipld.car; version=1; order=dfs; dups=n";
/// The media type of a signed IPNS record.
pub const IPNS_RECORD: &str = "application/vnd.ipfs.ipns-record";
/// The IPNS record specification's size limit.
pub const MAX_IPNS_RECORD: u64 = 10 * 1024;
/// The largest block read: the IPFS limit of 2 MiB.
const BLOCK_LIMIT_U64: u64 = BLOCK_SIZE_LIMIT as u64;

/// How long a gateway may take.
#[derive(Clone, Debug)]
pub struct GatewayOptions {
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
    /// Give up when a read (or the answer's head) waits this long.
    pub idle_timeout: Duration,
    /// Bytes per second a body must average once `grace` has passed.
    pub min_rate: u64,
    /// How long a body may take before `min_rate` applies.
    pub grace: Duration,
}

impl Default for GatewayOptions {
    fn default() -> Self {
        GatewayOptions {
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            min_rate: 16 * 1024,
            grace: Duration::from_secs(10),
        }
    }
}

/// What part of a DAG a CAR request asks for (the specification's `dag-scope`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The block alone.
    Block,
    /// What it takes to read the entity: a file's every block, a directory's own nodes (every
    /// shard of a HAMT), not its entries.
    Entity,
    /// The whole DAG.
    All,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Block => "block",
            Scope::Entity => "entity",
            Scope::All => "all",
        }
    }
}

/// A request to one gateway (or node) failed. Each names the endpoint; the caller tries the
/// next one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No connection.
    #[error("{endpoint}: unreachable: {reason}")]
    Unreachable {
        /// The request.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// An answer other than a success.
    #[error("{endpoint}: answered {status}{}", if .body.is_empty() { String::new() } else { format!(": {}", .body) })]
    Status {
        /// The request.
        endpoint: String,
        /// The status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// Too slow: nothing for the idle timeout, or under the minimum rate.
    #[error("{endpoint}: too slow: {reason}")]
    TooSlow {
        /// The request.
        endpoint: String,
        /// What was too slow.
        reason: String,
    },
    /// The transfer broke.
    #[error("{endpoint}: transfer failed: {reason}")]
    Transfer {
        /// The request.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// A block's bytes do not hash to its CID.
    #[error("{endpoint}: the bytes served for {cid} do not match it{hint}")]
    Mismatch {
        /// The request.
        endpoint: String,
        /// The CID.
        cid: Box<Cid>,
        /// A guess at why (such as the answer's content type).
        hint: String,
    },
    /// An answer over its limit.
    #[error("{endpoint}: the answer for {cid} is over the limit of {max} bytes")]
    TooLarge {
        /// The request.
        endpoint: String,
        /// The CID.
        cid: Box<Cid>,
        /// The limit.
        max: u64,
    },
    /// A CAR's header does not name the CID asked for.
    #[error("{endpoint}: the CAR's roots are {roots:?}, not {asked}")]
    WrongRoot {
        /// The request.
        endpoint: String,
        /// The CID asked for.
        asked: Box<Cid>,
        /// The roots the header names.
        roots: Vec<String>,
    },
    /// A CAR holds a block that was not asked for (or holds one twice).
    #[error("{endpoint}: the CAR for {asked} holds block {cid}, which was not asked for{again}", again = if *.again { " (again)" } else { "" })]
    Unasked {
        /// The request.
        endpoint: String,
        /// The CID asked for.
        asked: Box<Cid>,
        /// The block.
        cid: Box<Cid>,
        /// Whether it had been received already.
        again: bool,
    },
    /// A CAR stream is malformed: truncated, a frame over the limit, a block that does not
    /// match its CID.
    #[error("{endpoint}: the CAR for {asked} is invalid: {source}")]
    Car {
        /// The request.
        endpoint: String,
        /// The CID asked for.
        asked: Box<Cid>,
        /// What is wrong.
        #[source]
        source: Box<CarError>,
    },
    /// A block could not be read as what its codec says.
    #[error("{endpoint}: block {cid} cannot be decoded: {reason}")]
    Undecodable {
        /// The request.
        endpoint: String,
        /// The block.
        cid: Box<Cid>,
        /// Why.
        reason: String,
    },
    /// The client could not be set up (TLS, a bad URL).
    #[error("gateway {url}: {reason}")]
    Client {
        /// The gateway.
        url: String,
        /// Why.
        reason: String,
    },
    /// A node's RPC API failed (when a node serves blocks).
    #[error(transparent)]
    Node(#[from] Box<super::RpcError>),
    /// The block cache could not keep a block.
    #[error(transparent)]
    Cache(#[from] super::cache::CacheError),
}

impl FetchError {
    /// Whether asking again later may succeed (connection trouble, timeouts, 408/429/5xx);
    /// answers that were wrong are not: that gateway lies or is broken.
    pub fn is_transient(&self) -> bool {
        self.failure().is_transient()
    }
}

impl Classify for FetchError {
    fn failure(&self) -> Failure {
        match self {
            FetchError::Unreachable { .. } => Failure::Connection,
            FetchError::TooSlow { .. } => Failure::Timeout,
            FetchError::Transfer { .. } => Failure::Broken,
            FetchError::Status { status, .. } => match StatusCode::from_u16(*status) {
                Ok(status) => Failure::status(status, None),
                Err(_) => Failure::Refused,
            },
            FetchError::Node(e) => e.failure(),
            FetchError::Mismatch { .. }
            | FetchError::TooLarge { .. }
            | FetchError::WrongRoot { .. }
            | FetchError::Unasked { .. }
            | FetchError::Car { .. }
            | FetchError::Undecodable { .. } => Failure::Lie,
            FetchError::Client { .. } | FetchError::Cache(_) => Failure::Fatal,
        }
    }
}

/// Bytes and blocks one CAR stream delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CarFetched {
    /// Blocks received and checked.
    pub blocks: u64,
    /// Bytes of the body.
    pub bytes: u64,
}

/// A trustless gateway (see the module doc).
#[derive(Debug, Clone)]
pub struct Gateway {
    client: Client,
    base: Url,
    options: GatewayOptions,
}

impl Gateway {
    /// A client of the gateway at `url` (`http(s)://host[:port][/prefix]`).
    pub fn new(url: &str, options: GatewayOptions) -> Result<Gateway, FetchError> {
        let client_error = |reason: String| FetchError::Client {
            url: url.to_owned(),
            reason,
        };
        let base = crate::http::base_url(url).map_err(client_error)?;
        let client = crate::http::client_builder(crate::http::USER_AGENT)
            .map_err(client_error)?
            .connect_timeout(options.connect_timeout)
            .timeout(options.idle_timeout)
            .build()
            .map_err(|e| client_error(chain(&e)))?;
        Ok(Gateway {
            client,
            base,
            options,
        })
    }

    /// The gateway's base URL.
    pub fn url(&self) -> &Url {
        &self.base
    }

    /// `GET` of `path` (relative to the base) as text for errors.
    fn endpoint(&self, path: &str) -> String {
        format!("GET {}{path}", self.base)
    }

    /// One GET with `accept`; the answer if it is a success.
    fn get(&self, path: &str, accept: &str) -> Result<Response, FetchError> {
        let endpoint = self.endpoint(path);
        let url = self.base.join(path).map_err(|e| FetchError::Client {
            url: self.base.to_string(),
            reason: e.to_string(),
        })?;
        let response = self
            .client
            .get(url)
            .header(ACCEPT, accept)
            .send()
            .map_err(|e| send_error(&endpoint, &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        // A redirection the client did not follow (to another scheme, such as file://, or one
        // too many): named, with where it pointed.
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| crate::http::peer_text(l.as_bytes(), &[]));
        let mut body = Vec::new();
        let _ = response.take(512).read_to_end(&mut body);
        let body = match location {
            Some(to) if status.is_redirection() => {
                format!("a redirect to {to}, not followed (only http and https are, at most 10)")
            }
            _ => crate::http::peer_text(&body, &[]),
        };
        Err(FetchError::Status {
            endpoint,
            status: status.as_u16(),
            body,
        })
    }

    /// Reads a whole answer of at most `max` bytes.
    fn read_all(
        &self,
        endpoint: &str,
        response: Response,
        max: u64,
    ) -> Result<Vec<u8>, FetchError> {
        let mut body = Vec::new();
        Paced::new(response, &self.options)
            .take(max + 1)
            .read_to_end(&mut body)
            .map_err(|e| read_error(endpoint, e))?;
        Ok(body)
    }

    /// The block `cid`, checked against it.
    pub fn block(&self, cid: &Cid) -> Result<Vec<u8>, FetchError> {
        let path = format!("ipfs/{cid}");
        let endpoint = self.endpoint(&path);
        let response = self.get(&path, RAW_BLOCK)?;
        let content_type = header_text(response.headers(), CONTENT_TYPE).unwrap_or_default();
        let block = self.read_all(&endpoint, response, BLOCK_LIMIT_U64)?;
        if block.len() as u64 > BLOCK_LIMIT_U64 {
            return Err(FetchError::TooLarge {
                endpoint,
                cid: Box::new(*cid),
                max: BLOCK_LIMIT_U64,
            });
        }
        if !matches(cid, &block) {
            let hint = if content_type.starts_with(RAW_BLOCK) {
                String::new()
            } else {
                format!(
                    " (it answered {content_type:?}, not {RAW_BLOCK}: is it a trustless gateway?)"
                )
            };
            return Err(FetchError::Mismatch {
                endpoint,
                cid: Box::new(*cid),
                hint,
            });
        }
        Ok(block)
    }

    /// The signed IPNS record of `name` (the bytes, at most [`MAX_IPNS_RECORD`]; the caller
    /// checks them).
    pub fn ipns_record(&self, name: &str) -> Result<Vec<u8>, FetchError> {
        let path = format!("ipns/{name}");
        let endpoint = self.endpoint(&path);
        let response = self.get(&path, IPNS_RECORD)?;
        let record = self.read_all(&endpoint, response, MAX_IPNS_RECORD)?;
        if record.len() as u64 > MAX_IPNS_RECORD {
            return Err(FetchError::Transfer {
                endpoint,
                reason: format!("the IPNS record is over the limit of {MAX_IPNS_RECORD} bytes"),
            });
        }
        Ok(record)
    }

    /// A CAR stream of `root` within `scope`. Every block is checked against its CID and
    /// against what was asked for (the DAG under `root`, within the scope, each block once),
    /// then handed to `keep`. Blocks the gateway leaves out are not an error here: `missing`
    /// is left holding the CIDs the scope reaches that did not come (the caller fetches them
    /// one by one); a stream that breaks keeps what came before it (every block kept was
    /// checked).
    pub fn car(
        &self,
        root: &Cid,
        scope: Scope,
        missing: &mut HashSet<Cid>,
        mut keep: impl FnMut(&Cid, &[u8]) -> Result<(), FetchError>,
    ) -> Result<CarFetched, FetchError> {
        let path = format!("ipfs/{root}?dag-scope={}", scope.as_str());
        let endpoint = self.endpoint(&path);
        let response = self.get(&path, CAR_REQUEST)?;
        let counted = Counted::new(Paced::new(response, &self.options));
        let bytes = counted.count.clone();
        let car_error = |source: CarError| match source {
            CarError::Io(e) => read_error(&endpoint, e),
            source => FetchError::Car {
                endpoint: endpoint.clone(),
                asked: Box::new(*root),
                source: Box::new(source),
            },
        };
        let mut reader =
            CarReader::new(io::BufReader::with_capacity(256 << 10, counted)).map_err(car_error)?;
        if reader.roots() != [*root] {
            return Err(FetchError::WrongRoot {
                endpoint,
                asked: Box::new(*root),
                roots: reader.roots().iter().map(Cid::to_string).collect(),
            });
        }
        missing.clear();
        missing.insert(*root);
        let mut received = HashSet::new();
        // A gateway that sends duplicates anyway (`dups=y`) sends a block once per link to it:
        // each link to a block already linked earns one repeat, and no more are taken.
        let mut repeats_allowed = 0u64;
        let mut block = Vec::new();
        let mut fetched = CarFetched::default();
        while let Some(cid) = reader.next_block_into(&mut block).map_err(car_error)? {
            let again = received.contains(&cid);
            if again && repeats_allowed > 0 {
                repeats_allowed -= 1;
                continue;
            }
            if !missing.remove(&cid) {
                return Err(FetchError::Unasked {
                    endpoint,
                    asked: Box::new(*root),
                    again,
                    cid: Box::new(cid),
                });
            }
            received.insert(cid);
            let links =
                links_in_scope(&cid, &block, scope).map_err(|reason| FetchError::Undecodable {
                    endpoint: endpoint.clone(),
                    cid: Box::new(cid),
                    reason,
                })?;
            for link in links {
                if received.contains(&link) || missing.contains(&link) || link == cid {
                    repeats_allowed += 1;
                } else {
                    missing.insert(link);
                }
            }
            keep(&cid, &block)?;
            fetched.blocks += 1;
        }
        fetched.bytes = bytes.get();
        Ok(fetched)
    }
}

/// The blocks `block` (named `cid`) links to that a request of `scope` includes.
pub(crate) fn links_in_scope(cid: &Cid, block: &[u8], scope: Scope) -> Result<Vec<Cid>, String> {
    match (scope, cid.codec()) {
        (Scope::Block, _) | (_, RAW) => Ok(Vec::new()),
        (_, DAG_PB) => {
            let node = decode_node(block).map_err(|e| e.0.to_owned())?;
            let all = scope == Scope::All;
            let file = node.kind.is_file();
            let shard = node.kind == UnixFsType::HamtShard;
            // A shard's links to shards below it have names of exactly the prefix's length.
            let prefix = format!("{:X}", node.fanout.saturating_sub(1)).len();
            Ok(node
                .links
                .into_iter()
                .filter(|l| all || file || (shard && l.name.len() == prefix))
                .map(|l| l.cid)
                .collect())
        }
        (Scope::All, DAG_CBOR) => {
            let value: ipld_core::ipld::Ipld =
                serde_ipld_dagcbor::from_slice(block).map_err(|e| e.to_string())?;
            let mut links = Vec::new();
            cbor_links(&value, &mut links, 0)?;
            Ok(links)
        }
        _ => Ok(Vec::new()),
    }
}

/// Every link in a DAG-CBOR value, nesting bounded.
fn cbor_links(
    value: &ipld_core::ipld::Ipld,
    out: &mut Vec<Cid>,
    depth: usize,
) -> Result<(), String> {
    use ipld_core::ipld::Ipld;
    if depth > 64 {
        return Err("nested over 64 levels".into());
    }
    match value {
        Ipld::Link(cid) => out.push(*cid),
        Ipld::List(items) => {
            for item in items {
                cbor_links(item, out, depth + 1)?;
            }
        }
        Ipld::Map(map) => {
            for item in map.values() {
                cbor_links(item, out, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// A request that got no answer, sorted.
fn send_error(endpoint: &str, e: &reqwest::Error) -> FetchError {
    if e.is_connect() {
        FetchError::Unreachable {
            endpoint: endpoint.to_owned(),
            reason: chain(e),
        }
    } else if e.is_timeout() {
        FetchError::TooSlow {
            endpoint: endpoint.to_owned(),
            reason: "no answer in time".into(),
        }
    } else {
        FetchError::Transfer {
            endpoint: endpoint.to_owned(),
            reason: chain(e),
        }
    }
}

/// A body read that failed, sorted.
fn read_error(endpoint: &str, e: io::Error) -> FetchError {
    if e.kind() == io::ErrorKind::TimedOut {
        FetchError::TooSlow {
            endpoint: endpoint.to_owned(),
            reason: e.to_string(),
        }
    } else {
        FetchError::Transfer {
            endpoint: endpoint.to_owned(),
            reason: chain(&e),
        }
    }
}

/// A body that must keep up: after `grace`, at least `min_rate` bytes a second on average.
struct Paced<R> {
    inner: R,
    start: Instant,
    bytes: u64,
    min_rate: u64,
    grace: Duration,
}

impl<R> Paced<R> {
    fn new(inner: R, options: &GatewayOptions) -> Paced<R> {
        Paced {
            inner,
            start: Instant::now(),
            bytes: 0,
            min_rate: options.min_rate.max(1),
            grace: options.grace,
        }
    }
}

impl<R: Read> Read for Paced<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        let elapsed = self.start.elapsed();
        let allowed =
            self.grace + Duration::from_secs_f64(self.bytes as f64 / self.min_rate as f64);
        if n > 0 && elapsed > allowed {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{} bytes in {:.1} s, under {} bytes a second",
                    self.bytes,
                    elapsed.as_secs_f64(),
                    self.min_rate
                ),
            ));
        }
        Ok(n)
    }
}

/// A reader that counts what went through it.
struct Counted<R> {
    inner: R,
    count: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R> Counted<R> {
    fn new(inner: R) -> Counted<R> {
        Counted {
            inner,
            count: Default::default(),
        }
    }
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::block::cid_of;
    use crate::unixfs::profile::CidVersion;

    #[test]
    fn a_slow_body_is_cut() {
        struct Drip(u32);
        impl Read for Drip {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                std::thread::sleep(Duration::from_millis(20));
                self.0 += 1;
                buf[0] = 0;
                Ok(if self.0 > 1000 { 0 } else { 1 })
            }
        }
        let options = GatewayOptions {
            min_rate: 1000,
            grace: Duration::from_millis(50),
            ..GatewayOptions::default()
        };
        let e = io::copy(&mut Paced::new(Drip(0), &options), &mut io::sink()).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut, "{e}");
    }

    #[test]
    fn scope_of_a_raw_block_is_itself() {
        let cid = cid_of(CidVersion::V1, RAW, b"x");
        assert!(links_in_scope(&cid, b"x", Scope::All).unwrap().is_empty());
    }

    /// The root block of `cid` in `store`, and the CIDs it links to.
    fn root_and_links(store: &crate::unixfs::MemorySink, cid: &Cid) -> (Vec<u8>, Vec<Cid>) {
        let block = store.get(cid).unwrap().to_vec();
        let node = decode_node(&block).unwrap();
        (block, node.links.iter().map(|l| l.cid).collect())
    }

    #[test]
    fn an_entity_of_a_file_is_every_block_of_it() {
        use crate::unixfs::{import_bytes, Profile};
        let mut store = crate::unixfs::MemorySink::new();
        let data = vec![7u8; 3 << 20];
        let (file, _) = import_bytes(&Profile::UNIXFS_V1_2025, &data, &mut store).unwrap();
        let (block, links) = root_and_links(&store, &file.root);
        assert_eq!(links.len(), 3);
        assert_eq!(
            links_in_scope(&file.root, &block, Scope::Entity).unwrap(),
            links
        );
        assert_eq!(
            links_in_scope(&file.root, &block, Scope::All).unwrap(),
            links
        );
        assert!(links_in_scope(&file.root, &block, Scope::Block)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn an_entity_of_a_directory_is_its_shards_not_its_entries() {
        use crate::unixfs::{DirBuilder, Profile};
        let profile = &Profile::UNIXFS_V1_2025;
        let entry = cid_of(CidVersion::V1, RAW, b"entry");
        // A flat directory: its entries are other entities.
        let mut store = crate::unixfs::MemorySink::new();
        let mut flat = DirBuilder::new(profile);
        flat.add("a", entry, 5).unwrap();
        let flat = flat.finish(&mut store).unwrap();
        let (block, links) = root_and_links(&store, &flat.root);
        assert!(links_in_scope(&flat.root, &block, Scope::Entity)
            .unwrap()
            .is_empty());
        assert_eq!(
            links_in_scope(&flat.root, &block, Scope::All).unwrap(),
            links
        );
        // A HAMT: its sub-shards are part of it, its entries are not. 1100 long names: over
        // the threshold, about four a bucket, so the root holds both sub-shards and entries.
        let mut big = DirBuilder::new(&Profile::UNIXFS_V0_2015);
        for i in 0..1100 {
            big.add(&format!("{i:06}-{}", "v".repeat(240)), entry, 5)
                .unwrap();
        }
        let big = big.finish(&mut store).unwrap();
        let (block, links) = root_and_links(&store, &big.root);
        let node = decode_node(&block).unwrap();
        let shards: Vec<Cid> = node
            .links
            .iter()
            .filter(|l| l.name.len() == 2)
            .map(|l| l.cid)
            .collect();
        assert!(!shards.is_empty() && shards.len() < links.len());
        assert_eq!(
            links_in_scope(&big.root, &block, Scope::Entity).unwrap(),
            shards
        );
        assert_eq!(
            links_in_scope(&big.root, &block, Scope::All).unwrap(),
            links
        );
    }
}
