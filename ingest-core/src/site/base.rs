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
use crate::unixfs::dir::{self, BlockSource};

/// The entries and pages of an old site.
#[derive(Default)]
pub(crate) struct BaseSite {
    /// Entries by per-video directory.
    pub(crate) entries: HashMap<Cid, Entry>,
    /// Every listing page's CID.
    pub(crate) pages: HashSet<Cid>,
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

/// Reads the site `root`: every listing page of every site it lists.
pub(crate) fn read<Src: BlockSource + ?Sized>(
    src: &mut Src,
    root: &Cid,
) -> Result<BaseSite, SiteError> {
    let (_, index) = read_file(src, root, &["data", "index.json"])?;
    let index: Index = serde_json::from_slice(&index)
        .map_err(|e| SiteError::BadBase(format!("its data/index.json is not valid: {e}")))?;
    if index.generator != GENERATOR {
        return Err(SiteError::BaseVersion {
            generator: index.generator,
        });
    }
    let sites_dir = lookup_path(src, root, &["data", "sites"])?;
    let mut base = BaseSite::default();
    for site in &index.sites {
        let site_dir = lookup_path(src, &sites_dir, &[&site.name])?;
        for (name, cid, _) in dir::list(src, &site_dir).map_err(SiteError::base)? {
            let what = format!("data/sites/{}/{name}", site.name);
            let bytes = read_block_file(src, &cid, &what)?;
            let page: Page = serde_json::from_slice(&bytes)
                .map_err(|e| SiteError::BadBase(format!("its {what} is not valid: {e}")))?;
            base.pages.insert(cid);
            base.entries
                .extend(page.videos.into_iter().map(|e| (e.dir, e)));
        }
    }
    Ok(base)
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
