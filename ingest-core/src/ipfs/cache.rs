//! The local block cache: blocks read from gateways and nodes, kept so that a second read of a
//! catalogue (or a resumed `get`) downloads only what it does not have.
//!
//! Only verified blocks enter it (every caller checks a block against its CID before
//! [`BlockCache::put`]), and every block read from it is checked again: a cache is a disk, and a
//! disk can rot. Nothing else in its directory is trusted either: a block is read only from a
//! regular file (never through a link, and never blocking on a FIFO or a device), and trimming
//! removes only files named as this cache names blocks, in shard directories that are real
//! directories, so a link planted there, or another program's directory given as the cache,
//! loses nothing. Its size is bounded while a command runs: [`BlockCache::trim`] drops the least
//! recently used blocks first (each read touches the block's modification time) until the cache
//! fits, and [`BlockCache::put`] trims whenever a tenth of the bound was added since the last
//! trim. A bound of 0 keeps nothing: every block is fetched each time it is read.
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
#[error("block cache {path}")]
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
    /// `DIR/ipns`: the highest sequence (and value) seen of each IPNS name.
    names: PathBuf,
    tmp: PathBuf,
    max_bytes: u64,
    /// Bytes added by this process.
    added: AtomicU64,
    /// Bytes added since the last trim.
    pending: AtomicU64,
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
        let names = dir.join("ipns");
        for d in [&blocks, &tmp, &names] {
            fs::create_dir_all(d).map_err(|source| CacheError {
                path: d.clone(),
                source,
            })?;
        }
        Ok(BlockCache {
            blocks,
            names,
            tmp,
            max_bytes,
            added: AtomicU64::new(0),
            pending: AtomicU64::new(0),
        })
    }

    /// Whether the cache keeps blocks at all (a bound of 0 keeps none).
    pub fn keeps(&self) -> bool {
        self.max_bytes > 0
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
    /// match is removed and reported absent), its use recorded for [`BlockCache::trim`]. Only a
    /// regular file is read: a link, a FIFO or a device under a block's name is not a block.
    pub fn get(&self, cid: &Cid) -> Option<Vec<u8>> {
        let path = self.path_of(cid);
        let file = open_block(&path)?;
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

    /// Whether the cache holds a block for `cid` (a regular file under its name; not read, not
    /// checked).
    pub fn contains(&self, cid: &Cid) -> bool {
        fs::symlink_metadata(self.path_of(cid)).is_ok_and(|m| m.is_file())
    }

    /// Keeps `block`, which the caller has checked against `cid`. A block it already holds is
    /// left as it is. When a tenth of the bound was added since the last trim, trims.
    pub fn put(&self, cid: &Cid, block: &[u8]) -> Result<(), CacheError> {
        debug_assert!(matches(cid, block), "only verified blocks enter the cache");
        if !self.keeps() || self.contains(cid) {
            return Ok(());
        }
        let path = self.path_of(cid);
        let err = |path: &Path| {
            let path = path.to_owned();
            move |source| CacheError { path, source }
        };
        let parent = path.parent().unwrap_or(&self.blocks);
        match fs::symlink_metadata(parent) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(CacheError {
                    path: parent.to_owned(),
                    source: io::Error::other("not a directory of this cache (a link?)"),
                })
            }
            Err(_) => fs::create_dir(parent)
                .or_else(|e| match e.kind() {
                    io::ErrorKind::AlreadyExists => Ok(()),
                    _ => Err(e),
                })
                .map_err(err(parent))?,
        }
        let mut tmp = tempfile::NamedTempFile::new_in(&self.tmp).map_err(err(&self.tmp))?;
        tmp.write_all(block).map_err(err(tmp.path()))?;
        tmp.persist(&path).map_err(|e| CacheError {
            path: path.clone(),
            source: e.error,
        })?;
        let len = block.len() as u64;
        self.added.fetch_add(len, Ordering::Relaxed);
        let pending = self.pending.fetch_add(len, Ordering::Relaxed) + len;
        if pending >= (self.max_bytes / 10).max(1) {
            self.pending.store(0, Ordering::Relaxed);
            self.trim()?;
        }
        Ok(())
    }

    /// The highest sequence of the IPNS name `name` (its canonical `k51…` form) seen so far,
    /// and the value it had. A cache directory is not trusted: a forged memory can only make a
    /// reader refuse a record, never accept one.
    pub fn ipns_seen(&self, name: &str) -> Option<(u64, String)> {
        let path = self.names.join(name_file(name)?);
        let file = open_block(&path)?;
        let mut text = String::new();
        io::Read::read_to_string(&mut io::Read::take(&file, 16 * 1024), &mut text).ok()?;
        let (sequence, value) = text.split_once('\n')?;
        Some((sequence.parse().ok()?, value.trim_end().to_owned()))
    }

    /// Remembers that the IPNS name `name` had `value` at `sequence`, if that is higher than
    /// what was remembered.
    pub fn remember_ipns(&self, name: &str, sequence: u64, value: &str) -> Result<(), CacheError> {
        let Some(file) = name_file(name) else {
            return Ok(());
        };
        if self
            .ipns_seen(name)
            .is_some_and(|(seen, _)| seen >= sequence)
        {
            return Ok(());
        }
        let path = self.names.join(file);
        let err = |path: &Path| {
            let path = path.to_owned();
            move |source| CacheError { path, source }
        };
        let mut tmp = tempfile::NamedTempFile::new_in(&self.tmp).map_err(err(&self.tmp))?;
        writeln!(tmp, "{sequence}\n{value}").map_err(err(tmp.path()))?;
        tmp.persist(&path).map_err(|e| CacheError {
            path: path.clone(),
            source: e.error,
        })?;
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
            let shard = shard.map_err(err(&self.blocks))?;
            // Only real shard directories: a link is not followed.
            let is_shard = shard.file_type().is_ok_and(|t| t.is_dir())
                && shard.file_name().to_str().is_some_and(is_shard_name);
            if !is_shard {
                continue;
            }
            let shard_name = shard.file_name();
            let Ok(entries) = fs::read_dir(shard.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let ours = name
                    .to_str()
                    .is_some_and(|n| is_block_name(n, shard_name.to_str().unwrap_or_default()));
                // DirEntry::metadata does not follow links.
                let Ok(meta) = entry.metadata() else { continue };
                if !ours || !meta.is_file() {
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

/// Opens the block file `path` for reading if it is a regular file: links are not followed
/// (`O_NOFOLLOW`) and a FIFO or a device does not block the open (`O_NONBLOCK`), then the file
/// opened is checked to be regular.
fn open_block(path: &Path) -> Option<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    let file = fs::File::options()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .ok()?;
    file.metadata().ok()?.is_file().then_some(file)
}

/// The file name of an IPNS name's memory: the name itself, if it is a plain base36 word.
fn name_file(name: &str) -> Option<&str> {
    (!name.is_empty() && name.len() <= 128 && name.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(name)
}

/// A shard directory's name: two characters of lower-case base32.
fn is_shard_name(name: &str) -> bool {
    name.len() == 2 && name.bytes().all(is_base32)
}

/// A block file's name, as [`BlockCache::path_of`] makes it: the lower-case base32 of a
/// multihash, in the shard of its next-to-last two characters.
fn is_block_name(name: &str, shard: &str) -> bool {
    name.len() > 3
        && name.bytes().all(is_base32)
        && &name[name.len() - 3..name.len() - 1] == shard
        && data_encoding::BASE32_NOPAD
            .decode(name.to_ascii_uppercase().as_bytes())
            .ok()
            .is_some_and(|mh| multihash::Multihash::<64>::from_bytes(&mh).is_ok())
}

fn is_base32(b: u8) -> bool {
    b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::block::{cid_of, RAW};
    use crate::unixfs::profile::CidVersion;

    #[test]
    fn a_block_put_is_kept_and_served() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlockCache::open(dir.path(), 1 << 20).unwrap();
        let cid = cid_of(CidVersion::V1, RAW, b"hello");
        assert_eq!(cache.get(&cid), None);
        cache.put(&cid, b"hello").unwrap();
        assert!(cache.contains(&cid));
        assert_eq!(cache.get(&cid).as_deref(), Some(&b"hello"[..]));
    }

    #[test]
    fn a_rotten_block_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlockCache::open(dir.path(), 1 << 20).unwrap();
        let cid = cid_of(CidVersion::V1, RAW, b"hello");
        cache.put(&cid, b"hello").unwrap();
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
        // Filled through a handle with room for all (a put trims too), trimmed through one
        // bounded to 2500 bytes.
        let filling = BlockCache::open(dir.path(), 1 << 20).unwrap();
        let cache = BlockCache::open(dir.path(), 2500).unwrap();
        let blocks: Vec<(Cid, Vec<u8>)> = (0..5u8)
            .map(|i| {
                let b = vec![i; 1000];
                (cid_of(CidVersion::V1, RAW, &b), b)
            })
            .collect();
        for (i, (cid, b)) in blocks.iter().enumerate() {
            filling.put(cid, b).unwrap();
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

    fn block(i: u32, len: usize) -> (Cid, Vec<u8>) {
        let b: Vec<u8> = i.to_le_bytes().iter().cycle().take(len).copied().collect();
        (cid_of(CidVersion::V1, RAW, &b), b)
    }

    fn bytes_on_disk(dir: &Path) -> u64 {
        let mut total = 0;
        for shard in fs::read_dir(dir.join("blocks")).unwrap().flatten() {
            if shard.file_type().unwrap().is_dir() {
                for f in fs::read_dir(shard.path()).unwrap().flatten() {
                    total += f.metadata().unwrap().len();
                }
            }
        }
        total
    }

    #[test]
    fn trimming_removes_only_its_own_blocks_and_never_follows_a_link() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("precious"), vec![1u8; 5000]).unwrap();
        let cache = BlockCache::open(dir.path(), 1 << 20).unwrap();
        let (cid, b) = block(1, 1000);
        cache.put(&cid, &b).unwrap();
        let shard = cache.path_of(&cid).parent().unwrap().to_owned();
        // A link planted as a shard, a link and a stranger's file inside a real shard, and a
        // kubo-like shard (upper case, `.data` files).
        std::os::unix::fs::symlink(outside.path(), dir.path().join("blocks/zz")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("precious"),
            shard.join("bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"),
        )
        .unwrap();
        fs::write(shard.join("notes.txt"), vec![2u8; 5000]).unwrap();
        fs::create_dir(dir.path().join("blocks/AB")).unwrap();
        fs::write(dir.path().join("blocks/AB/CIQXYZ.data"), vec![3u8; 5000]).unwrap();
        // A bound of 0 bytes for the trim: everything of its own goes, nothing else.
        let tiny = BlockCache::open(dir.path(), 1).unwrap();
        let trimmed = tiny.trim().unwrap();
        assert_eq!(trimmed.dropped, 1);
        assert!(!cache.contains(&cid));
        assert!(outside.path().join("precious").exists());
        assert!(shard.join("notes.txt").exists());
        assert!(dir.path().join("blocks/AB/CIQXYZ.data").exists());
    }

    #[test]
    fn a_fifo_under_a_blocks_name_does_not_block_a_reader() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlockCache::open(dir.path(), 1 << 20).unwrap();
        let (cid, b) = block(2, 1000);
        cache.put(&cid, &b).unwrap();
        let path = cache.path_of(&cid);
        fs::remove_file(&path).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let _ = tx.send((cache.get(&cid), cache.contains(&cid)));
        });
        let got = rx
            .recv_timeout(std::time::Duration::from_secs(10))
            .expect("a FIFO blocked the reader");
        assert_eq!(got, (None, false));
        reader.join().unwrap();
    }

    #[test]
    fn the_bound_holds_while_blocks_are_added() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlockCache::open(dir.path(), 10_000).unwrap();
        for i in 0..50 {
            let (cid, b) = block(100 + i, 1000);
            cache.put(&cid, &b).unwrap();
            assert!(bytes_on_disk(dir.path()) <= 10_000, "after {i} blocks");
        }
        assert!(bytes_on_disk(dir.path()) >= 8_000);
    }

    #[test]
    fn a_bound_of_zero_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlockCache::open(dir.path(), 0).unwrap();
        let (cid, b) = block(3, 1000);
        cache.put(&cid, &b).unwrap();
        assert!(!cache.contains(&cid) && !cache.keeps());
        assert_eq!(bytes_on_disk(dir.path()), 0);
    }
}
