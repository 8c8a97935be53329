//! Reading a site built before (`--base`): its listing entries, keyed by the per-video
//! directory they were made from, and its pages' CIDs.
//!
//! A site made by the same version of `ingest` holds, in its listing pages, everything the
//! build takes from a record; a video whose per-video directory is unchanged needs no record
//! read. A site made by another version is refused (its entries may be cut differently), so
//! an incremental build always equals a full one.

use std::collections::{HashMap, HashSet};

use cid::Cid;
use serde::Deserialize;

use super::entry::Entry;
use super::{SiteError, GENERATOR};
use crate::unixfs::block::single_block_file;
use crate::unixfs::blocks::BlockSource;
use crate::unixfs::read as dir;

/// A hash map keyed by CIDs (untrusted, so a seeded hash; a fast one).
pub(crate) type CidMap<V> = HashMap<Cid, V, foldhash::fast::RandomState>;

/// A site built before, read for an incremental build: each site's listing entries (in the
/// listing's order, newest first), where each per-video directory's entry is, and the pages'
/// CIDs.
#[derive(Debug, Default)]
pub struct SiteBase {
    /// Each site and its entries, in its listing's order.
    pub(crate) sites: Vec<(String, Vec<Entry>)>,
    /// Per-video directory → (site number, position in its listing).
    pub(crate) index: CidMap<(u32, u32)>,
    /// Every listing page's CID.
    pub(crate) pages: HashSet<Cid, foldhash::fast::RandomState>,
}

impl SiteBase {
    /// Reads the site `root` from `src`: every listing page of every site it lists (on every
    /// core). Refused: a site another version made, and anything that is not a site.
    pub fn read<Src: BlockSource + ?Sized>(
        src: &mut Src,
        root: &Cid,
    ) -> Result<SiteBase, SiteError> {
        read(src, root)
    }

    /// The videos it lists.
    pub fn videos(&self) -> usize {
        self.sites.iter().map(|(_, entries)| entries.len()).sum()
    }

    /// Its listing pages.
    pub fn pages(&self) -> usize {
        self.pages.len()
    }
}

/// The parts of `data/index.json` a rebuild reads.
#[derive(Deserialize)]
struct Index {
    generator: String,
    sites: Vec<IndexSite>,
}

#[derive(Deserialize)]
struct IndexSite {
    name: String,
    videos: u64,
}

#[derive(Deserialize)]
struct Page {
    videos: Vec<Entry>,
}

/// The most bytes of a data file of the base read (a page is one block; the index too).
const MAX_DATA_FILE: usize = 2 * 1024 * 1024;

/// The content of the one-block file at `path` (names) under `root`.
fn read_file<Src: BlockSource + ?Sized>(
    src: &mut Src,
    root: &Cid,
    path: &[&str],
) -> Result<(Cid, Vec<u8>), SiteError> {
    let cid = lookup_path(src, root, path)?;
    let bytes = read_block_file(src, &cid, &path.join("/"))?;
    Ok((cid, bytes))
}

fn read_block_file<Src: BlockSource + ?Sized>(
    src: &mut Src,
    cid: &Cid,
    what: &str,
) -> Result<Vec<u8>, SiteError> {
    let block = src
        .get(cid)
        .map_err(SiteError::base)?
        .ok_or_else(|| SiteError::BadBase(format!("its block {cid} ({what}) is missing")))?;
    match single_block_file(cid.codec(), &block) {
        Some(bytes) if bytes.len() <= MAX_DATA_FILE => Ok(bytes),
        _ => Err(SiteError::BadBase(format!(
            "{what} is not a one-block file"
        ))),
    }
}

/// The fewest bytes one entry takes in a listing page (`{"id":"x","dir":"<CID>"}`, a CIDv1 in
/// base32 of 59 characters): how many entries a page's bytes can hold at most.
const MIN_ENTRY_BYTES: usize = 64;

/// Reads the site `root`: every listing page of every site it lists.
fn read<Src: BlockSource + ?Sized>(src: &mut Src, root: &Cid) -> Result<SiteBase, SiteError> {
    let (_, index) = read_file(src, root, &["data", "index.json"])?;
    let index: Index = serde_json::from_slice(&index)
        .map_err(|e| SiteError::BadBase(format!("its data/index.json is not valid: {e}")))?;
    if index.generator != GENERATOR {
        return Err(SiteError::BaseVersion {
            generator: index.generator,
        });
    }
    let names: HashSet<&str> = index.sites.iter().map(|s| s.name.as_str()).collect();
    if names.len() != index.sites.len() {
        return Err(SiteError::BadBase(
            "its data/index.json names a site twice".to_owned(),
        ));
    }
    let sites_dir = lookup_path(src, root, &["data", "sites"])?;
    let mut base = SiteBase::default();
    let mut batch = Vec::with_capacity(PAGES_AT_ONCE);
    for site in &index.sites {
        let site_dir = lookup_path(src, &sites_dir, &[&site.name])?;
        // The pages in the listing's order: 1.json, 2.json, ….
        let mut pages = Vec::new();
        for (name, cid, _) in dir::list(src, &site_dir).map_err(SiteError::base)? {
            let number: Option<u64> = name.strip_suffix(".json").and_then(|n| n.parse().ok());
            let number = number.ok_or_else(|| {
                SiteError::BadBase(format!("data/sites/{}/{name} is not a page", site.name))
            })?;
            pages.push((number, name, cid));
        }
        pages.sort_unstable();
        // Room for the videos the index announces, bounded by what its pages can hold (the
        // index is read, not trusted).
        let room = site
            .videos
            .min(pages.len() as u64 * super::MAX_PAGE as u64)
            .min(MAX_RESERVED);
        base.sites.push((site.name.clone(), Vec::new()));
        // Room is made as pages arrive, for as many entries as their bytes can hold: memory
        // follows what was read, never what the index or the links claim (a forged base can
        // announce millions of videos, or link one pages directory from every site).
        let mut room = room as usize;
        for group in pages.chunks(PAGES_AT_ONCE) {
            let cids: Vec<Cid> = group.iter().map(|(_, _, cid)| *cid).collect();
            src.prefetch(&cids).map_err(SiteError::base)?;
            let mut read = 0;
            for (_, name, cid) in group {
                let what = format!("data/sites/{}/{name}", site.name);
                let bytes = read_block_file(src, cid, &what)?;
                read += bytes.len();
                base.pages.insert(*cid);
                batch.push((what, bytes));
            }
            let more = (read / MIN_ENTRY_BYTES).min(room);
            room -= more;
            if let Some((_, entries)) = base.sites.last_mut() {
                entries.reserve(more);
            }
            base.index.reserve(more);
            parse_pages(&mut base, &mut batch)?;
        }
    }
    Ok(base)
}

/// Pages fetched and read before they are parsed, on every core.
const PAGES_AT_ONCE: usize = 64;
/// The most entries of one site room is made for in advance.
const MAX_RESERVED: u64 = 1 << 21;

/// Parses the pages `batch` (name, bytes) on every core, and takes their entries.
fn parse_pages(base: &mut SiteBase, batch: &mut Vec<(String, Vec<u8>)>) -> Result<(), SiteError> {
    let parse = |(what, bytes): &(String, Vec<u8>)| {
        let page: Page = serde_json::from_slice(bytes)
            .map_err(|e| SiteError::BadBase(format!("its {what} is not valid: {e}")))?;
        page.videos
            .into_iter()
            .map(|e| {
                e.with_day().ok_or_else(|| {
                    SiteError::BadBase(format!("its {what} has a date that is not YYYYMMDD"))
                })
            })
            .collect::<Result<Vec<Entry>, SiteError>>()
    };
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let per_thread = batch.len().div_ceil(threads).max(1);
    let parsed: Vec<Result<Vec<Vec<Entry>>, SiteError>> = std::thread::scope(|scope| {
        let threads: Vec<_> = batch
            .chunks(per_thread)
            .map(|pages| scope.spawn(move || pages.iter().map(parse).collect()))
            .collect();
        threads
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    batch.clear();
    let site = base.sites.len() as u32 - 1;
    let (_, list) = base.sites.last_mut().expect("pages are read for a site");
    for entries in parsed {
        for entry in entries?.into_iter().flatten() {
            base.index.insert(entry.dir, (site, list.len() as u32));
            list.push(entry);
        }
    }
    Ok(())
}

fn lookup_path<Src: BlockSource + ?Sized>(
    src: &mut Src,
    root: &Cid,
    path: &[&str],
) -> Result<Cid, SiteError> {
    let mut cid = *root;
    for name in path {
        cid = dir::lookup(src, &cid, name)
            .map_err(SiteError::base)?
            .ok_or_else(|| SiteError::BadBase(format!("it has no {}", path.join("/"))))?
            .0;
    }
    Ok(cid)
}
