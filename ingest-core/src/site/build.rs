//! Building a site: the catalogue's videos and records → entries → listing pages, the search
//! index and the conflicts → files and directories, written to a sink.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use cid::Cid;
use serde::Serialize;

use super::base::SiteBase;
use super::entry::{newest_first, Entry};
use super::words::{fnv1a, MAX_WORD_BYTES, MIN_WORD_CHARS};
use super::{
    page_html, pages, search, write_json, SiteError, ASSETS, DEFAULT_TITLE, GENERATOR,
    MAX_TITLE_LEN, PAGES, PROFILE,
};
use crate::car::CarWriter;
use crate::catalogue::{
    record_file_content, record_link, record_of, videos, CatalogueError, CatalogueVideo,
    CONFLICTS_DIR,
};
use crate::io::AtomicFile;
use crate::unixfs::block::decode_node;
use crate::unixfs::blocks::{need, BlockSource};
use crate::unixfs::dir::{dag_size_of, DirBuilder, EditError};
use crate::unixfs::import_bytes;
use crate::unixfs::profile::CidVersion;
use crate::unixfs::read as dir;
use crate::unixfs::sink::BlockSink;

/// How a site is built.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SiteOptions {
    /// The title on every page ([`DEFAULT_TITLE`] when `None`).
    pub title: Option<String>,
}

/// What [`build`] made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteReport {
    /// The site's root directory.
    pub root: Cid,
    /// The catalogue it shows (linked at `catalogue/`).
    pub catalogue: Cid,
    /// Videos listed, over every site.
    pub videos: u64,
    /// Each site of the catalogue and its number of videos, by name.
    pub sites: Vec<(String, u64)>,
    /// Listing pages, over every site.
    pub pages: u64,
    /// Listing pages the base already had (the same block).
    pub pages_reused: u64,
    /// Records read from the catalogue (the others came from the base's pages).
    pub records_read: u64,
    /// Entries copied from the base that were checked against their records (a random
    /// sample of [`BASE_SAMPLE`]).
    pub base_checked: u64,
    /// Search shards.
    pub search_shards: u64,
    /// Videos with conflicting records.
    pub conflicts: u64,
    /// Distinct blocks of the site written (the catalogue's aside).
    pub blocks: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Videos whose directories and records are read together (fetched at once from a network).
const BATCH: usize = 512;

/// Builds the site of the catalogue `root` (read from `catalogue`) into `sink`, the root last.
/// With `base` (the site this version built for an earlier catalogue, read by
/// [`SiteBase::read`]), reads only the records of videos the base does not list with the same
/// per-video directory; the result is the same.
pub fn build<Src, S>(
    catalogue: &mut Src,
    root: &Cid,
    base: Option<SiteBase>,
    options: &SiteOptions,
    sink: &mut S,
) -> Result<SiteReport, SiteError>
where
    Src: BlockSource + ?Sized,
    S: BlockSink + ?Sized,
{
    let title = options.title.as_deref().unwrap_or(DEFAULT_TITLE);
    check_title(title)?;
    let mut old = base.unwrap_or_default();
    let base_pages = std::mem::take(&mut old.pages);
    let listed = videos(catalogue, root, None)?;
    let conflicts = read_conflicts(catalogue, root)?;
    let (mut sites, records_read, base_checked) = read_entries(catalogue, listed, old)?;
    for (site, entries) in &mut sites {
        let of_site = conflicts.get(site.as_str());
        for entry in entries.iter_mut() {
            entry.conflicts = of_site
                .and_then(|c| c.get(&entry.id))
                .map_or(0, |c| c.len() as u32);
        }
        sort_newest_first(entries);
    }
    let catalogue_size = dag_size(catalogue, root)?;

    let mut out = Out {
        sink,
        blocks: HashSet::new(),
        bytes: 0,
    };
    let mut report = SiteReport {
        root: *root,
        catalogue: *root,
        videos: 0,
        sites: Vec::new(),
        pages: 0,
        pages_reused: 0,
        records_read,
        base_checked,
        search_shards: 0,
        conflicts: conflicts.values().map(|ids| ids.len() as u64).sum(),
        blocks: 0,
        bytes: 0,
    };

    // The search index is built on another core while this one writes the listing pages.
    let (index, sites_dir, index_sites) = std::thread::scope(|scope| {
        let search = scope.spawn(|| {
            // Every video, newest first, each with its site's number.
            let all = newest_first_of_all(&sites);
            search::build(&all)
        });
        let listings = write_listings(&mut out, &sites, &base_pages, &mut report);
        let index = search
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        listings.map(|(dir, index_sites)| (index, dir, index_sites))
    })?;
    report.search_shards = index.shards.len() as u64;
    let search_dir = out.numbered("data/search", &index.shards)?;
    drop(index);

    // data/conflicts/<k>.json
    let buckets = (report.conflicts as usize)
        .div_ceil(256)
        .max(1)
        .next_power_of_two();
    let conflict_files = conflict_buckets(&conflicts, buckets);
    let conflicts_dir = out.numbered("data/conflicts", &conflict_files)?;

    // data/index.json
    let mut index_json = Vec::new();
    write_json(
        &mut index_json,
        &IndexJson {
            v: 1,
            title,
            generator: GENERATOR,
            catalogue: root.to_string(),
            videos: report.videos,
            sites: index_sites,
            search: SearchInfo {
                shards: report.search_shards,
                cap: search::CAP as u64,
                min_len: MIN_WORD_CHARS as u64,
                max_len: MAX_WORD_BYTES as u64,
            },
            conflicts: ConflictsInfo {
                buckets: buckets as u64,
            },
        },
    );
    index_json.push(b'\n');
    let mut data = DirBuilder::new(&PROFILE);
    let (cid, size) = out.file("data/index.json", &index_json)?;
    out.add(&mut data, "data", "index.json", cid, size)?;
    out.add(&mut data, "data", "sites", sites_dir.0, sites_dir.1)?;
    out.add(&mut data, "data", "search", search_dir.0, search_dir.1)?;
    out.add(
        &mut data,
        "data",
        "conflicts",
        conflicts_dir.0,
        conflicts_dir.1,
    )?;

    // The root: the pages, assets/, README, catalogue/, data/.
    let mut top = DirBuilder::new(&PROFILE);
    let mut assets = DirBuilder::new(&PROFILE);
    for (path, content) in ASSETS {
        let (cid, size) = out.file(path, content.as_bytes())?;
        let name = path.strip_prefix("assets/").unwrap_or(path);
        out.add(&mut assets, "assets", name, cid, size)?;
    }
    for page in &PAGES {
        let (cid, size) = out.file(page.0, page_html(page, title).as_bytes())?;
        out.add(&mut top, "", page.0, cid, size)?;
    }
    let (cid, size) = out.dir("assets", assets)?;
    out.add(&mut top, "", "assets", cid, size)?;
    let (cid, size) = out.file("README", readme(title, root).as_bytes())?;
    out.add(&mut top, "", "README", cid, size)?;
    let (cid, size) = out.dir("data", data)?;
    out.add(&mut top, "", "data", cid, size)?;
    out.add(&mut top, "", "catalogue", *root, catalogue_size)?;
    let (site_root, _) = out.dir("", top)?;
    report.root = site_root;
    report.blocks = out.blocks.len() as u64;
    report.bytes = out.bytes;
    Ok(report)
}

/// [`build`] into a CAR at `path` (the site's blocks, not the catalogue's), written to a
/// temporary file and renamed into place once complete.
pub fn write_site_car<Src: BlockSource + ?Sized>(
    path: &Path,
    catalogue: &mut Src,
    root: &Cid,
    base: Option<SiteBase>,
    options: &SiteOptions,
) -> Result<SiteReport, SiteError> {
    let write_error = |e| SiteError::Write {
        path: path.to_owned(),
        source: Box::new(e),
    };
    let mut atomic = AtomicFile::create(path)?;
    let mut car =
        CarWriter::with_pending_root(atomic.file(), CidVersion::V1).map_err(write_error)?;
    let report = build(catalogue, root, base, options, &mut car)?;
    car.finish_with_root(&report.root).map_err(write_error)?;
    atomic.commit()?;
    Ok(report)
}

/// Sorts a listing newest first: an order of positions is sorted (entries are large to move),
/// then applied.
fn sort_newest_first(entries: &mut Vec<Entry>) {
    let mut order: Vec<u32> = (0..entries.len() as u32).collect();
    // A stable sort: it finds runs already in order (the base's entries), and merges them.
    order.sort_by(|&a, &b| newest_first(&entries[a as usize], &entries[b as usize]));
    let mut slots: Vec<Option<Entry>> = std::mem::take(entries).into_iter().map(Some).collect();
    entries.extend(order.into_iter().filter_map(|n| slots[n as usize].take()));
}

/// Every video of every site, each with its site's number, newest first (then by site): the
/// sites' listings, each in that order already, merged (a heap of each listing's next video).
fn newest_first_of_all(sites: &[SiteEntries]) -> Vec<(u32, &Entry)> {
    /// A listing's next video, ordered so that the heap's greatest is the newest.
    struct Next<'a>(&'a Entry, u32, usize);
    impl Ord for Next<'_> {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            newest_first(self.0, other.0)
                .then(self.1.cmp(&other.1))
                .reverse()
        }
    }
    impl PartialOrd for Next<'_> {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl PartialEq for Next<'_> {
        fn eq(&self, other: &Self) -> bool {
            self.cmp(other).is_eq()
        }
    }
    impl Eq for Next<'_> {}

    let mut all = Vec::with_capacity(sites.iter().map(|(_, e)| e.len()).sum());
    let mut heap: std::collections::BinaryHeap<Next> = sites
        .iter()
        .enumerate()
        .filter_map(|(n, (_, entries))| entries.first().map(|e| Next(e, n as u32, 0)))
        .collect();
    while let Some(Next(entry, site, at)) = heap.pop() {
        all.push((site, entry));
        if let Some(e) = sites[site as usize].1.get(at + 1) {
            heap.push(Next(e, site, at + 1));
        }
    }
    all
}

/// Writes every site's listing pages (`data/sites/<site>/<n>.json`) and their directories;
/// returns `data/sites` and what `data/index.json` says of each site.
fn write_listings<'s, S: BlockSink + ?Sized>(
    out: &mut Out<'_, S>,
    sites: &'s [SiteEntries],
    base_pages: &HashSet<Cid, foldhash::fast::RandomState>,
    report: &mut SiteReport,
) -> Result<((Cid, u64), Vec<IndexSite<'s>>), SiteError> {
    let mut sites_dir = DirBuilder::new(&PROFILE);
    let mut index_sites = Vec::new();
    for (site, entries) in sites {
        let path = format!("data/sites/{site}");
        let mut dir = DirBuilder::new(&PROFILE);
        let mut pages = 0;
        for (n, page) in pages::pages(site, entries).enumerate() {
            let name = format!("{}.json", n + 1);
            let (cid, size) = out.file(&format!("{path}/{name}"), &page)?;
            report.pages_reused += u64::from(base_pages.contains(&cid));
            out.add(&mut dir, &path, &name, cid, size)?;
            pages += 1;
        }
        let (cid, size) = out.dir(&path, dir)?;
        out.add(&mut sites_dir, "data/sites", site, cid, size)?;
        report.pages += pages;
        report.videos += entries.len() as u64;
        report.sites.push((site.clone(), entries.len() as u64));
        index_sites.push(IndexSite {
            name: site,
            videos: entries.len() as u64,
            pages,
        });
    }
    Ok((out.dir("data/sites", sites_dir)?, index_sites))
}

fn check_title(title: &str) -> Result<(), SiteError> {
    if title.len() > MAX_TITLE_LEN {
        return Err(SiteError::Title("it is longer than 256 bytes"));
    }
    if title.chars().any(char::is_control) {
        return Err(SiteError::Title("it has a control character"));
    }
    Ok(())
}

/// A site's name and the entries of its videos.
pub(super) type SiteEntries = (String, Vec<Entry>);

/// Entries copied from a base that are checked against their records, chosen at random.
pub const BASE_SAMPLE: usize = 64;

/// The videos `listed` (the catalogue's, in name order) by site, each with its entry: from the
/// base when it lists the same per-video directory, else from the record, read in batches.
/// A random sample of the entries copied from the base is checked against their records
/// ([`check_base_sample`]). Returns them, the number of records read and of entries checked.
fn read_entries<Src: BlockSource + ?Sized>(
    src: &mut Src,
    listed: Vec<CatalogueVideo>,
    old: SiteBase,
) -> Result<(Vec<SiteEntries>, u64, u64), SiteError> {
    let SiteBase {
        sites: old_sites,
        index,
        ..
    } = old;
    // Which of the base's entries are kept: those of a listed video, same site, id and directory.
    let mut kept: Vec<Vec<bool>> = old_sites
        .iter()
        .map(|(_, e)| vec![false; e.len()])
        .collect();
    // Each site of the catalogue, with the entries read from records.
    let mut fresh: Vec<SiteEntries> = Vec::new();
    let mut read = 0;
    for chunk in listed.chunks(BATCH) {
        let mut todo = Vec::new();
        for v in chunk {
            if fresh.last().is_none_or(|(site, _)| *site != v.site) {
                fresh.push((v.site.clone(), Vec::new()));
            }
            let base = index.get(&v.directory).copied().filter(|&(s, p)| {
                let (site, entries) = &old_sites[s as usize];
                *site == v.site && entries[p as usize].id == v.id && !kept[s as usize][p as usize]
            });
            match base {
                Some((s, p)) => kept[s as usize][p as usize] = true,
                None => todo.push(v),
            }
        }
        let dirs: Vec<Cid> = todo.iter().map(|v| v.directory).collect();
        src.prefetch(&dirs)?;
        let mut links = Vec::with_capacity(todo.len());
        for v in &todo {
            let block = get(src, &v.directory)?;
            links.push(record_link(&v.directory, &block)?);
        }
        src.prefetch(&links)?;
        for (v, link) in todo.iter().zip(&links) {
            let leaf = get(src, link)?;
            let bytes = record_file_content(&v.directory, link, &leaf)?;
            let (_, record) = record_of(v, &bytes)?;
            let entry = Entry::new(v.directory, record).ok_or_else(|| {
                CatalogueError::BadVideoDirectory {
                    directory: v.directory.to_string(),
                    reason: "its record's upload date is not YYYYMMDD".to_owned(),
                }
            })?;
            let (_, list) = fresh
                .iter_mut()
                .rev()
                .find(|(site, _)| *site == v.site)
                .expect("each listed video's site is in the list");
            list.push(entry);
            read += 1;
        }
    }
    drop(listed);
    let checked = check_base_sample(src, &old_sites, &kept)?;
    // Each site's kept entries, in the base's order (already newest first), then the new ones.
    let mut old_sites: BTreeMap<String, Vec<Entry>> = old_sites
        .into_iter()
        .zip(kept)
        .map(|((site, entries), kept)| {
            let entries = entries
                .into_iter()
                .zip(kept)
                .filter_map(|(e, k)| k.then_some(e));
            (site, entries.collect())
        })
        .collect();
    let sites = fresh
        .into_iter()
        .map(|(site, mut new)| {
            let mut entries = old_sites.remove(&site).unwrap_or_default();
            entries.append(&mut new);
            (site, entries)
        })
        .collect();
    Ok((sites, read, checked))
}

/// Checks a random sample of [`BASE_SAMPLE`] of the entries kept from a base against the records
/// they were made from: a base whose pages were edited (other titles, dates, thumbnails) is
/// refused with a probability that grows with the share of entries edited (a tenth of them:
/// missed once in a thousand builds). One edited entry among many may pass: `--base` is meant
/// for a site you built (see the README); the sample guards against a base taken from others.
/// Returns the number of entries checked.
pub(super) fn check_base_sample<Src: BlockSource + ?Sized>(
    src: &mut Src,
    old_sites: &[SiteEntries],
    kept: &[Vec<bool>],
) -> Result<u64, SiteError> {
    use std::hash::BuildHasher;
    // A fresh random order every run, so which entries are checked cannot be foreseen.
    let random = std::collections::hash_map::RandomState::new();
    let mut candidates: Vec<(u64, usize, usize)> = kept
        .iter()
        .enumerate()
        .flat_map(|(s, k)| {
            k.iter()
                .enumerate()
                .filter(|(_, kept)| **kept)
                .map(move |(p, _)| (s, p))
        })
        .map(|(s, p)| (random.hash_one((s, p)), s, p))
        .collect();
    candidates.sort_unstable();
    candidates.truncate(BASE_SAMPLE);
    for &(_, s, p) in &candidates {
        let (site, entries) = &old_sites[s];
        let copied = &entries[p];
        let video = CatalogueVideo {
            site: site.clone(),
            id: copied.id.clone(),
            directory: copied.dir,
        };
        let block = get(src, &video.directory)?;
        let link = record_link(&video.directory, &block)?;
        let leaf = get(src, &link)?;
        let bytes = record_file_content(&video.directory, &link, &leaf)?;
        let (_, record) = record_of(&video, &bytes)?;
        let fresh = Entry::new(video.directory, record).map(|e| Entry {
            conflicts: copied.conflicts,
            ..e
        });
        if fresh.as_ref() != Some(copied) {
            return Err(SiteError::BadBase(format!(
                "its entry of {site}/{} is not what the video's record says: its pages were edited, or made by another program; build the site without --base",
                copied.id
            )));
        }
    }
    Ok(candidates.len() as u64)
}

fn get<Src: BlockSource + ?Sized>(src: &mut Src, cid: &Cid) -> Result<Vec<u8>, SiteError> {
    Ok(need(src, cid)?)
}

/// The other records of each video that has several: site → id → record CIDs (the names under
/// `_conflicts/<site>/<id>/`).
type Conflicts = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn read_conflicts<Src: BlockSource + ?Sized>(
    src: &mut Src,
    root: &Cid,
) -> Result<Conflicts, SiteError> {
    let mut out = Conflicts::new();
    let Some((top, _)) = dir::lookup(src, root, CONFLICTS_DIR)? else {
        return Ok(out);
    };
    for (site, site_dir, _) in dir::list(src, &top)? {
        let ids = out.entry(site).or_default();
        for (id, id_dir, _) in dir::list(src, &site_dir)? {
            let records = dir::list(src, &id_dir)?.into_iter().map(|(name, ..)| name);
            ids.insert(id, records.collect());
        }
    }
    Ok(out)
}

/// The JSON of each conflicts bucket: `{"v":1,"videos":{"<site>/<id>":["<record>",...]}}`.
fn conflict_buckets(conflicts: &Conflicts, buckets: usize) -> Vec<Vec<u8>> {
    let mut by_bucket: Vec<BTreeMap<String, &Vec<String>>> = vec![BTreeMap::new(); buckets];
    for (site, ids) in conflicts {
        for (id, records) in ids {
            let key = format!("{site}/{id}");
            by_bucket[fnv1a(key.as_bytes()) as usize % buckets].insert(key, records);
        }
    }
    by_bucket
        .iter()
        .map(|videos| {
            let mut json = Vec::new();
            write_json(&mut json, &ConflictsJson { v: 1, videos });
            json.push(b'\n');
            json
        })
        .collect()
}

/// The catalogue root's dag size (the Tsize of the `catalogue` link): its block and the dag
/// sizes of its links, as its own links state them.
fn dag_size<Src: BlockSource + ?Sized>(src: &mut Src, root: &Cid) -> Result<u64, SiteError> {
    let block = get(src, root)?;
    let node = decode_node(&block).map_err(|e| EditError::NotADirectory {
        cid: *root,
        reason: e.0,
    })?;
    dag_size_of(block.len(), node.links.iter().map(|l| l.dag_size)).map_err(|e| {
        SiteError::Directory {
            path: "catalogue".to_owned(),
            source: Box::new(e),
        }
    })
}

fn readme(title: &str, catalogue: &Cid) -> String {
    format!(
        "{title}\n\
         \n\
         A website over an archive of videos kept in IPFS, made by {GENERATOR} from the\n\
         catalogue {catalogue}. Open index.html through any IPFS gateway (a path gateway,\n\
         /ipfs/<this directory's CID>/, a subdomain gateway or /ipns/<name>/) to browse, search\n\
         and watch; every link inside is relative.\n\
         \n\
         index.html, site.html, video.html, search.html  the pages\n\
         assets/                       their script and style\n\
         catalogue/                    the catalogue: catalogue/<site>/<id>/ holds a video's files\n\
         \x20                             and its record (record.cbor, DAG-CBOR); other records of\n\
         \x20                             the same video are under catalogue/_conflicts/<site>/<id>/\n\
         data/index.json               the sites and their counts\n\
         data/sites/<site>/<n>.json    a site's videos, newest first, page n\n\
         data/search/<k>.json          the search index, one shard per group of words\n\
         data/conflicts/<k>.json       the videos with several records\n"
    )
}

#[derive(Serialize)]
struct IndexJson<'a> {
    v: u32,
    title: &'a str,
    generator: &'a str,
    catalogue: String,
    videos: u64,
    sites: Vec<IndexSite<'a>>,
    search: SearchInfo,
    conflicts: ConflictsInfo,
}

#[derive(Serialize)]
struct IndexSite<'a> {
    name: &'a str,
    videos: u64,
    pages: u64,
}

#[derive(Serialize)]
struct SearchInfo {
    shards: u64,
    cap: u64,
    min_len: u64,
    max_len: u64,
}

#[derive(Serialize)]
struct ConflictsInfo {
    buckets: u64,
}

#[derive(Serialize)]
struct ConflictsJson<'a> {
    v: u32,
    videos: &'a BTreeMap<String, &'a Vec<String>>,
}

/// The sink, counting the distinct blocks and bytes written, and the file and directory
/// writers, naming the path in the site of what failed.
struct Out<'a, S: ?Sized> {
    sink: &'a mut S,
    blocks: HashSet<Cid>,
    bytes: u64,
}

impl<S: BlockSink + ?Sized> BlockSink for Out<'_, S> {
    type Error = S::Error;
    fn put(&mut self, cid: &Cid, block: &[u8]) -> Result<(), S::Error> {
        if self.blocks.insert(*cid) {
            self.bytes += block.len() as u64;
        }
        self.sink.put(cid, block)
    }
}

impl<S: BlockSink + ?Sized> Out<'_, S> {
    fn file(&mut self, path: &str, bytes: &[u8]) -> Result<(Cid, u64), SiteError> {
        let (summary, _) =
            import_bytes(&PROFILE, bytes, &mut *self).map_err(|e| SiteError::File {
                path: path.to_owned(),
                source: Box::new(e),
            })?;
        Ok((summary.root, summary.dag_size))
    }

    fn dir(&mut self, path: &str, dir: DirBuilder) -> Result<(Cid, u64), SiteError> {
        let summary = dir.finish(self).map_err(|e| dir_error(path, e))?;
        Ok((summary.root, summary.dag_size))
    }

    fn add(
        &mut self,
        dir: &mut DirBuilder,
        path: &str,
        name: &str,
        cid: Cid,
        size: u64,
    ) -> Result<(), SiteError> {
        dir.add(name, cid, size).map_err(|e| dir_error(path, e))
    }

    /// The directory `path` of the files `files`, named `0.json`, `1.json`, ….
    fn numbered(&mut self, path: &str, files: &[Vec<u8>]) -> Result<(Cid, u64), SiteError> {
        let mut dir = DirBuilder::new(&PROFILE);
        for (k, json) in files.iter().enumerate() {
            let name = format!("{k}.json");
            let (cid, size) = self.file(&format!("{path}/{name}"), json)?;
            self.add(&mut dir, path, &name, cid, size)?;
        }
        self.dir(path, dir)
    }
}

fn dir_error(path: &str, e: crate::unixfs::DirError) -> SiteError {
    SiteError::Directory {
        path: if path.is_empty() { "/" } else { path }.to_owned(),
        source: Box::new(e),
    }
}

#[cfg(test)]
mod unit_tests {
    use super::*;
    use crate::unixfs::block::{cid_of, RAW};
    use crate::unixfs::profile::CidVersion;
    use crate::unixfs::sink::MemorySink;

    fn entry(id: &str, day: u32) -> Entry {
        Entry {
            id: id.to_owned(),
            title: None,
            uploader: None,
            date: None,
            duration_ms: None,
            thumbnail: None,
            dir: cid_of(CidVersion::V1, RAW, id.as_bytes()),
            tags: Vec::new(),
            conflicts: 0,
            day,
        }
    }

    fn ids<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Vec<&'a str> {
        entries.into_iter().map(|e| e.id.as_str()).collect()
    }

    #[test]
    fn a_listing_is_sorted_newest_first_then_by_id_undated_last() {
        let mut entries = vec![
            entry("b", 20200101),
            entry("undated", 0),
            entry("c", 20240101),
            entry("a", 20200101),
        ];
        sort_newest_first(&mut entries);
        assert_eq!(ids(&entries), ["c", "a", "b", "undated"]);
    }

    #[test]
    fn all_sites_merge_as_one_listing_an_exact_tie_by_site() {
        let sites: Vec<SiteEntries> = vec![
            (
                "one".into(),
                vec![
                    entry("x", 20240101),
                    entry("same", 20210101),
                    entry("y", 20200101),
                ],
            ),
            (
                "two".into(),
                vec![
                    entry("p", 20240101),
                    entry("q", 20220101),
                    entry("same", 20210101),
                ],
            ),
            ("three".into(), Vec::new()),
        ];
        let all = newest_first_of_all(&sites);
        let got: Vec<(u32, &str)> = all.iter().map(|(s, e)| (*s, e.id.as_str())).collect();
        assert_eq!(
            got,
            [
                (1, "p"),
                (0, "x"),
                (1, "q"),
                (0, "same"),
                (1, "same"),
                (0, "y")
            ]
        );
    }

    #[test]
    fn a_conflict_lands_in_the_bucket_of_its_key() {
        let mut conflicts = Conflicts::new();
        conflicts
            .entry("youtube".into())
            .or_default()
            .insert("abc".into(), vec!["bafy1".into(), "bafy2".into()]);
        let buckets = conflict_buckets(&conflicts, 4);
        assert_eq!(buckets.len(), 4);
        let at = fnv1a(b"youtube/abc") as usize % 4;
        for (k, bucket) in buckets.iter().enumerate() {
            let value: serde_json::Value = serde_json::from_slice(bucket).unwrap();
            if k == at {
                assert_eq!(
                    value,
                    serde_json::json!({"v": 1, "videos": {"youtube/abc": ["bafy1", "bafy2"]}})
                );
            } else {
                assert_eq!(value, serde_json::json!({"v": 1, "videos": {}}));
            }
        }
    }

    #[test]
    fn titles_over_the_bound_or_with_control_characters_are_refused() {
        assert!(check_title("An archive").is_ok());
        assert!(check_title(&"é".repeat(MAX_TITLE_LEN / 2)).is_ok());
        assert!(check_title(&"x".repeat(MAX_TITLE_LEN + 1)).is_err());
        assert!(check_title("two\nlines").is_err());
    }

    #[test]
    fn the_catalogue_link_carries_its_dag_size() {
        let profile = &crate::unixfs::Profile::UNIXFS_V1_2025;
        let mut store = MemorySink::new();
        let mut dir = DirBuilder::new(profile);
        dir.add("a", cid_of(CidVersion::V1, RAW, b"a"), 1000)
            .unwrap();
        dir.add("b", cid_of(CidVersion::V1, RAW, b"b"), 24).unwrap();
        let built = dir.finish(&mut store).unwrap();
        assert_eq!(dag_size(&mut store, &built.root).unwrap(), built.dag_size);
        let absent = cid_of(CidVersion::V1, crate::unixfs::DAG_PB, b"absent");
        assert!(dag_size(&mut store, &absent).is_err());
    }
}
