//! Block sources of the network layer, each a [`BlockSource`]: the verified cache
//! ([`BlockCache`]), one gateway or node ([`Gateway`], [`Endpoint`]), all of them with fail-over
//! through the cache ([`Remote`]), and what every reader of a catalogue, record or tree takes
//! when the user names either a local CAR file or something in IPFS: [`Source`], opened from the
//! user's text by [`open`] with the gateways, node and cache of a [`SourceConfig`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use cid::Cid;

use super::cache::{BlockCache, DEFAULT_CACHE_SIZE};
use super::gateway::{Gateway, GatewayOptions, Scope};
use super::path::ContentPath;
use super::remote::{Endpoint, Remote, RemoteOptions, SourceError};
use super::rpc::{find_api, KuboRpc, RpcOptions};
use crate::car::CarIndex;
use crate::catalogue::{Catalogue, OpenError};
use crate::unixfs::block::DAG_PB;
use crate::unixfs::blocks::{BlockError, BlockSource};

/// Only what the cache holds (every block re-checked as it is read); nothing is fetched.
impl BlockSource for BlockCache {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        Ok(BlockCache::get(self, cid))
    }
    fn contains(&mut self, cid: &Cid) -> bool {
        BlockCache::contains(self, cid)
    }
}

/// One gateway, every block checked against its CID; not cached, no fail-over.
impl BlockSource for Gateway {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        self.block(cid)
            .map(Some)
            .map_err(|e| BlockError::read(cid, e))
    }
}

/// One gateway or node, every block checked against its CID; not cached, no fail-over.
impl BlockSource for Endpoint {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        self.block(cid)
            .map(Some)
            .map_err(|e| BlockError::read(cid, e))
    }
}

impl BlockSource for &Remote {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        self.block(cid)
            .map(Some)
            .map_err(|e| BlockError::read(cid, e))
    }

    /// Yes: a catalogue read from the network is taken to be whole (a block its publisher
    /// left out is found missing when it is read, not before).
    fn contains(&mut self, _cid: &Cid) -> bool {
        true
    }

    fn will_list(&mut self, dir: &Cid) -> Result<(), BlockError> {
        self.fetch_directory(dir)
            .map_err(|e| BlockError::read(dir, e))
    }

    /// The whole entity as one CAR stream (`dag-scope=entity`) when the cache lacks its root,
    /// or holds the root (read alone, to learn what it is) but none of what it links to.
    fn will_read(&mut self, file: &Cid) -> Result<(), BlockError> {
        if file.codec() != DAG_PB {
            return Ok(());
        }
        let wanted = match self.cache().get(file) {
            None => true,
            Some(block) => {
                super::gateway::links_in_scope(file, &block, Scope::Entity).is_ok_and(|links| {
                    links.iter().all(|l| !self.cache().contains(l)) && !links.is_empty()
                })
            }
        };
        if wanted {
            self.fetch_dag(file, Scope::Entity)
                .map_err(|e| BlockError::read(file, e))?;
        }
        Ok(())
    }

    /// [`Remote::fetch_many`]; a block it could not fetch is tried again when it is read.
    fn prefetch(&mut self, cids: &[Cid]) -> Result<(), BlockError> {
        let _ = self.fetch_many(cids);
        Ok(())
    }
}

impl BlockSource for Remote {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        (&*self).get(cid)
    }
    fn contains(&mut self, cid: &Cid) -> bool {
        (&*self).contains(cid)
    }
    fn will_list(&mut self, dir: &Cid) -> Result<(), BlockError> {
        (&*self).will_list(dir)
    }
    fn will_read(&mut self, file: &Cid) -> Result<(), BlockError> {
        (&*self).will_read(file)
    }
    fn prefetch(&mut self, cids: &[Cid]) -> Result<(), BlockError> {
        (&*self).prefetch(cids)
    }
}

/// Blocks from a local CAR file or from IPFS.
#[derive(Debug)]
pub enum Source {
    /// A CAR file, indexed.
    Car(CarIndex),
    /// Gateways and nodes, through the cache.
    Remote(Remote),
}

impl Source {
    /// The remote, when the source is not a file.
    pub fn remote(&self) -> Option<&Remote> {
        match self {
            Source::Remote(r) => Some(r),
            Source::Car(_) => None,
        }
    }
}

impl BlockSource for Source {
    fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
        match self {
            Source::Car(car) => BlockSource::get(car, cid),
            Source::Remote(remote) => BlockSource::get(remote, cid),
        }
    }
    fn contains(&mut self, cid: &Cid) -> bool {
        match self {
            Source::Car(car) => BlockSource::contains(car, cid),
            Source::Remote(remote) => BlockSource::contains(remote, cid),
        }
    }
    fn will_list(&mut self, dir: &Cid) -> Result<(), BlockError> {
        match self {
            Source::Car(car) => car.will_list(dir),
            Source::Remote(remote) => remote.will_list(dir),
        }
    }
    fn will_read(&mut self, file: &Cid) -> Result<(), BlockError> {
        match self {
            Source::Car(car) => car.will_read(file),
            Source::Remote(remote) => remote.will_read(file),
        }
    }
    fn prefetch(&mut self, cids: &[Cid]) -> Result<(), BlockError> {
        match self {
            Source::Car(car) => car.prefetch(cids),
            Source::Remote(remote) => remote.prefetch(cids),
        }
    }
}

/// Where blocks come from when the user names a CID, `/ipfs/…`, `ipfs://…` or `/ipns/…`: the
/// gateways, the node and the cache (what `--gateway`, `--api`, `--cache` and their friends set).
#[derive(Clone, Debug)]
pub struct SourceConfig {
    /// Trustless gateways' URLs, tried in this order after the node.
    pub gateways: Vec<String>,
    /// A node's Kubo RPC API (a URL or a multiaddr): blocks (`block/get`) and IPNS names.
    pub api: Option<String>,
    /// The cache's directory; `None`: [`BlockCache::default_dir`].
    pub cache: Option<PathBuf>,
    /// The cache's bound in bytes, kept while a command runs; 0 keeps nothing (every block is
    /// fetched each time it is read).
    pub cache_size: u64,
    /// An endpoint that sends nothing for this long is given up (the next one is tried).
    pub timeout: Duration,
    /// Rounds over every endpoint after the first, when the failures may pass.
    pub retries: u32,
}

impl Default for SourceConfig {
    fn default() -> Self {
        SourceConfig {
            gateways: Vec::new(),
            api: None,
            cache: None,
            cache_size: DEFAULT_CACHE_SIZE,
            timeout: Duration::from_secs(30),
            retries: RemoteOptions::default().retries,
        }
    }
}

/// Opening a source failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenSourceError {
    /// The text is neither a file nor a content path.
    #[error("{0}: no such file, and not a CID, /ipfs/ or /ipns/ path either")]
    NotASource(String),
    /// A gateway's URL carries credentials: they would be printed with the URL, and a
    /// trustless gateway needs none.
    #[error("gateway {url}: a URL with a user name or password (not shown) would print them in messages; a trustless gateway needs none")]
    Credentials {
        /// The URL, credentials removed.
        url: String,
    },
    /// No cache directory could be found.
    #[error("no cache directory: set --cache, $XDG_CACHE_HOME or $HOME")]
    NoCacheDir,
    /// A CAR file could not be opened as a catalogue.
    #[error(transparent)]
    Car(#[from] OpenError),
    /// The remote could not be set up.
    #[error(transparent)]
    Remote(Box<SourceError>),
    /// The path could not be resolved.
    #[error("cannot resolve {path}")]
    Resolve {
        /// The path.
        path: String,
        /// Why (boxed: it is large).
        #[source]
        source: Box<SourceError>,
    },
}

impl From<SourceError> for OpenSourceError {
    fn from(e: SourceError) -> Self {
        OpenSourceError::Remote(Box::new(e))
    }
}

impl SourceConfig {
    /// A block source over the gateways and the node named, through the cache.
    pub fn remote(&self) -> Result<Remote, OpenSourceError> {
        let defaults = GatewayOptions::default();
        let options = GatewayOptions {
            idle_timeout: self.timeout,
            grace: defaults.grace.min(self.timeout),
            ..defaults
        };
        let mut endpoints = Vec::new();
        if let Some(api) = &self.api {
            let api = find_api(Some(api)).map_err(|e| SourceError::Node(Box::new(e)))?;
            let rpc = RpcOptions {
                timeout: self.timeout,
                retries: 0,
                ..RpcOptions::default()
            };
            let node = KuboRpc::new(api.url, rpc).map_err(|e| SourceError::Node(Box::new(e)))?;
            endpoints.push(Endpoint::Node(node));
        }
        for url in self.gateways.iter().filter(|u| !u.trim().is_empty()) {
            if let Ok(mut parsed) = reqwest::Url::parse(url.trim()) {
                if !parsed.username().is_empty() || parsed.password().is_some() {
                    let _ = parsed.set_username("");
                    let _ = parsed.set_password(None);
                    return Err(OpenSourceError::Credentials {
                        url: parsed.to_string(),
                    });
                }
            }
            let gateway = Gateway::new(url.trim(), options.clone())
                .map_err(|e| SourceError::Gateway(Box::new(e)))?;
            endpoints.push(Endpoint::Gateway(gateway));
        }
        let dir = match &self.cache {
            Some(dir) => dir.clone(),
            None => BlockCache::default_dir().ok_or(OpenSourceError::NoCacheDir)?,
        };
        let cache = BlockCache::open(&dir, self.cache_size).map_err(SourceError::Cache)?;
        let options = RemoteOptions {
            retries: self.retries,
            ..RemoteOptions::default()
        };
        Ok(Remote::new(endpoints, cache, options))
    }

    /// `text` as a content path, resolved through the gateways and node.
    pub fn resolve(&self, text: &str) -> Result<(Remote, Cid), OpenSourceError> {
        let path = match ContentPath::parse(text) {
            Some(path) => path?,
            None => return Err(OpenSourceError::NotASource(text.to_owned())),
        };
        let remote = self.remote()?;
        let root = remote
            .resolve(&path)
            .map_err(|source| OpenSourceError::Resolve {
                path: path.to_string(),
                source: Box::new(source),
            })?;
        Ok((remote, root))
    }
}

/// `text` as a local file, if it is one (or cannot be anything else).
pub fn local(text: &str) -> Option<&Path> {
    let path = Path::new(text);
    (path.exists() || ContentPath::parse(text).is_none()).then_some(path)
}

/// Opens `text` as a catalogue (or any DAG): a local CAR file (its root), else a content path
/// read through `config`'s gateways and node (the path resolved by walking verified blocks).
pub fn open(text: &str, config: &SourceConfig) -> Result<(Source, Cid), OpenSourceError> {
    if let Some(path) = local(text) {
        let catalogue = Catalogue::open(path)?;
        return Ok((Source::Car(catalogue.blocks), catalogue.root));
    }
    let (remote, root) = config.resolve(text)?;
    Ok((Source::Remote(remote), root))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::importer::import_bytes;
    use crate::unixfs::read::{read_file, ReadError};
    use crate::unixfs::sink::MemorySink;
    use crate::unixfs::Profile;

    /// The cache is a source like any other: a file reads back from it whole, and a block it
    /// lacks is named as missing (nothing is fetched).
    #[test]
    fn a_file_reads_back_from_the_cache() {
        let data: Vec<u8> = (0..700_000u32).map(|i| (i % 241) as u8).collect();
        let mut store = MemorySink::new();
        let (file, _) = import_bytes(&Profile::UNIXFS_V0_2015, &data, &mut store).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut cache = BlockCache::open(dir.path(), 1 << 30).unwrap();
        let mut first_leaf = None;
        for (cid, block) in store.blocks() {
            if *cid != file.root && first_leaf.is_none() {
                first_leaf = Some(*cid);
                continue;
            }
            cache.put(cid, block).unwrap();
        }
        let err = read_file(&mut cache, &file.root, &mut Vec::new()).unwrap_err();
        assert!(
            matches!(&err, ReadError::Block(BlockError::Missing { cid }) if Some(**cid) == first_leaf),
            "{err}"
        );
        let leaf = first_leaf.unwrap();
        cache.put(&leaf, store.get(&leaf).unwrap()).unwrap();
        let mut out = Vec::new();
        read_file(&mut cache, &file.root, &mut out).unwrap();
        assert!(out == data);
    }
}
