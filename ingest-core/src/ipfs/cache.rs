//! The local block cache: blocks read from gateways and nodes, kept so that a second read of a
//! catalogue (or a resumed `get`) downloads only what it does not have.
//!
//! Only verified blocks enter it (every caller checks a block against its CID before
//! [`BlockCache::put`]), and every block read from it is checked again: a cache is a disk, and a
//! disk can rot. Its size is bounded: [`BlockCache::trim`] drops the least recently used
//! blocks first (each read touches the block's modification time) until the cache fits.
//!
//! The store is a plain sharded directory of files, one per block, named by the block's
//! multihash (so a block read under a CIDv0 and a CIDv1 is kept once), the way kubo's `flatfs`
//! keeps a repo: `DIR/blocks/<two characters>/<base32 multihash>`, the two characters being the
//! next-to-last two of the name. Why not an embedded database (sled, redb, LMDB):
//! - several `ingest` processes can share one cache without a lock (a block is written to a
//!   temporary file and renamed into place, so a reader sees a whole block or none);
//! - a crash loses at most the blocks being written, never the store;
//! - blocks are small files read whole, which is what a filesystem does well, and the least
//!   recently used order is the modification time the filesystem keeps anyway;
//! - no dependency, no format of ours to migrate, and a user can see and delete it.
//!
//! The price is one file per block (a million-video catalogue's site shards are tens of
//! thousands of files) and a directory scan when trimming, which only happens after a session
//! that added blocks.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use cid::Cid;

use crate::car::block_matches as matches;
use crate::car::MAX_FRAME_LEN;

/// The default bound of a cache: 2 GiB.
pub const DEFAULT_CACHE_SIZE: u64 = 2 << 30;

/// A cache could not be opened, written or trimmed.
#[derive(Debug, thiserror::Error)]
#[error("block cache {path}: {source}")]
pub struct CacheError {
    /// The file or directory.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: io::Error,
}

/// A bounded cache of verified blocks in a directory (see the module doc).
#[derive(Debug)]
pub struct BlockCache {
    blocks: PathBuf,
    tmp: PathBuf,
    max_bytes: u64,
    /// Bytes added by this process.
    added: AtomicU64,
}

/// What [`BlockCache::trim`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Trimmed {
    /// Bytes the cache holds afterwards.
    pub bytes: u64,
    /// Blocks it holds afterwards.
    pub blocks: u64,
    /// Blocks dropped.
    pub dropped: u64,
}

impl BlockCache {
    /// The default directory: `$XDG_CACHE_HOME/ingest`, else `~/.cache/ingest`.
    pub fn default_dir() -> Option<PathBuf> {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME")
                    .filter(|h| !h.is_empty())
                    .map(|h| PathBuf::from(h).join(".cache"))
            })?;
        Some(base.join("ingest"))
    }

    /// Opens (creating it if needed) the cache in `dir`, bounded to `max_bytes`.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<BlockCache, CacheError> {
        let blocks = dir.join("blocks");
        let tmp = dir.join("tmp");
        for d in [&blocks, &tmp] {
            fs::create_dir_all(d).map_err(|source| CacheError {
                path: d.clone(),
                source,
            })?;
        }
        Ok(BlockCache {
            blocks,
            tmp,
            max_bytes,
            added: AtomicU64::new(0),
        })
    }

    /// The file of `cid`'s block.
    fn path_of(&self, cid: &Cid) -> PathBuf {
        let name = data_encoding::BASE32_NOPAD
            .encode(&cid.hash().to_bytes())
            .to_ascii_lowercase();
        let shard = &name[name.len() - 3..name.len() - 1];
        self.blocks.join(shard).join(name)
    }

    /// The block `cid` if the cache holds it, checked against the CID (a block that does not
    /// match is removed and reported absent), its use recorded for [`BlockCache::trim`].
    pub fn get(&self, cid: &Cid) -> Option<Vec<u8>> {
        let path = self.path_of(cid);
        let file = fs::File::open(&path).ok()?;
        let len = file.metadata().ok()?.len();
        if len > MAX_FRAME_LEN {
            let _ = fs::remove_file(&path);
            return None;
        }
        let mut bytes = Vec::with_capacity(len as usize);
        io::Read::read_to_end(&mut io::Read::take(&file, MAX_FRAME_LEN), &mut bytes).ok()?;
        if !matches(cid, &bytes) {
            let _ = fs::remove_file(&path);
            return None;
        }
        let _ = file.set_modified(SystemTime::now());
        Some(bytes)
    }

    /// Whether the cache holds a block for `cid` (not read, not checked).
    pub fn contains(&self, cid: &Cid) -> bool {
        self.path_of(cid).is_file()
    }

    /// Keeps `block`, which the caller has checked against `cid`. A block it already holds is
    /// left as it is.
    pub fn put(&self, cid: &Cid, block: &[u8]) -> Result<(), CacheError> {
        debug_assert!(matches(cid, block), "only verified blocks enter the cache");
        let path = self.path_of(cid);
        if path.is_file() {
            return Ok(());
        }
        let err = |path: &Path| {
            let path = path.to_owned();
            move |source| CacheError { path, source }
        };
        let parent = path.parent().unwrap_or(&self.blocks);
        fs::create_dir_all(parent).map_err(err(parent))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&self.tmp).map_err(err(&self.tmp))?;
        tmp.write_all(block).map_err(err(tmp.path()))?;
        tmp.persist(&path).map_err(|e| CacheError {
            path: path.clone(),
            source: e.error,
        })?;
        self.added.fetch_add(block.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Bytes this process added.
    pub fn added(&self) -> u64 {
        self.added.load(Ordering::Relaxed)
    }

    /// Drops the least recently used blocks until the cache holds at most its bound (to 90 %
    /// of it, so the next session does not trim again at once). Scans the whole directory.
    pub fn trim(&self) -> Result<Trimmed, CacheError> {
        let mut files = Vec::new();
        let mut total = 0u64;
        let err = |path: &Path| {
            let path = path.to_owned();
            move |source| CacheError { path, source }
        };
        for shard in fs::read_dir(&self.blocks).map_err(err(&self.blocks))? {
            let shard = shard.map_err(err(&self.blocks))?.path();
            let Ok(entries) = fs::read_dir(&shard) else {
                continue;
            };
            for entry in entries.flatten() {
                let Ok(meta) = entry.metadata() else { continue };
                if !meta.is_file() {
                    continue;
                }
                total += meta.len();
                let used = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                files.push((used, meta.len(), entry.path()));
            }
        }
        let mut trimmed = Trimmed {
            bytes: total,
            blocks: files.len() as u64,
            dropped: 0,
        };
        if total <= self.max_bytes {
            return Ok(trimmed);
        }
        files.sort_unstable_by_key(|f| f.0);
        let target = self.max_bytes / 10 * 9;
        for (_, len, path) in files {
            if trimmed.bytes <= target {
                break;
            }
            if fs::remove_file(&path).is_ok() {
                trimmed.bytes -= len;
                trimmed.blocks -= 1;
                trimmed.dropped += 1;
            }
        }
        Ok(trimmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::block::{cid_of, RAW};
    use crate::unixfs::profile::CidVersion;

    #[test]
    fn keeps_verified_blocks_and_drops_rotten_ones() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlockCache::open(dir.path(), 1 << 20).unwrap();
        let cid = cid_of(CidVersion::V1, RAW, b"hello");
        assert_eq!(cache.get(&cid), None);
        cache.put(&cid, b"hello").unwrap();
        assert!(cache.contains(&cid));
        assert_eq!(cache.get(&cid).as_deref(), Some(&b"hello"[..]));
        // The same multihash under CIDv0 codec rules is another CID: not a match for raw bytes
        // of a dag-pb CID, so it is not served.
        fs::write(cache.path_of(&cid), b"rotten").unwrap();
        assert_eq!(
            cache.get(&cid),
            None,
            "a block that no longer matches is not served"
        );
        assert!(!cache.contains(&cid), "and it is removed");
    }

    #[test]
    fn trims_least_recently_used_first() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlockCache::open(dir.path(), 2500).unwrap();
        let blocks: Vec<(Cid, Vec<u8>)> = (0..5u8)
            .map(|i| {
                let b = vec![i; 1000];
                (cid_of(CidVersion::V1, RAW, &b), b)
            })
            .collect();
        for (i, (cid, b)) in blocks.iter().enumerate() {
            cache.put(cid, b).unwrap();
            let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1000 + i as u64);
            fs::File::options()
                .write(true)
                .open(cache.path_of(cid))
                .unwrap()
                .set_modified(at)
                .unwrap();
        }
        // Reading block 0 makes it the most recently used.
        assert!(cache.get(&blocks[0].0).is_some());
        let trimmed = cache.trim().unwrap();
        assert_eq!(trimmed.dropped, 3);
        assert_eq!(trimmed.bytes, 2000);
        assert!(cache.contains(&blocks[0].0), "recently read: kept");
        assert!(cache.contains(&blocks[4].0), "newest: kept");
        assert!(!cache.contains(&blocks[1].0));
    }
}
