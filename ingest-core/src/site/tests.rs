use std::collections::HashSet;

use cid::Cid;
use serde_json::Value;

use super::*;
use crate::archive::{Meta, Record, RecordFile, Role, Source};
use crate::catalogue::{Merge, CONFLICTS_DIR};
use crate::unixfs::block::{cid_of, single_block_file, RAW};
use crate::unixfs::blocks::BlockSource;
use crate::unixfs::read as dir;
use crate::unixfs::{BlockSink, CidVersion, MemorySink};

/// A record of `site`/`id`: `variant` changes its bytes (another record of the same video);
/// the upload date is a function of the id's number, so the order is known.
fn record(site: &str, n: u32, variant: u8) -> Record {
    let id = format!("id{n:05}");
    let bytes = [site.as_bytes(), id.as_bytes(), &[variant]].concat();
    let file = |role, name: String, extra: u8| RecordFile {
        role,
        name,
        cid: cid_of(CidVersion::V1, RAW, &[&bytes[..], &[extra]].concat()),
        size: 100,
        dag_size: 100,
        format_id: None,
    };
    Record {
        profile: PROFILE.name().to_owned(),
        source: Source {
            site: site.into(),
            id: id.clone(),
            url: None,
        },
        files: vec![
            file(Role::Video, format!("{id}.mp4"), 0),
            file(Role::Thumbnail, format!("{id}.jpg"), 1),
        ],
        meta: Meta {
            title: Some(format!("Clip {n} of {site}, take {variant}")),
            uploader: Some(
                if n.is_multiple_of(2) {
                    "Even Uploader"
                } else {
                    "odd one"
                }
                .into(),
            ),
            upload_date: (!n.is_multiple_of(7))
                .then(|| format!("2024{:02}{:02}", 1 + n % 12, 1 + n % 28)),
            duration_ms: Some(1000 + u64::from(n)),
            tags: vec![format!("tag{}", n % 5), "Shared".into()],
            ..Meta::default()
        },
    }
}

/// A catalogue of `records` (merged onto `base`, a store and root), in one store.
fn catalogue(base: Option<(MemorySink, Cid)>, records: &[Record]) -> (MemorySink, Cid) {
    let mut out = MemorySink::new();
    let (mut store, root) = match base {
        Some((store, root)) => (store, Some(root)),
        None => (MemorySink::new(), None),
    };
    let summary = {
        let mut m = Merge::new(&PROFILE, root.map(|r| (&mut store, r)), &mut out);
        for r in records {
            m.add(r).unwrap();
        }
        m.finish().unwrap()
    };
    for (cid, block) in out.blocks() {
        store.put(cid, block).unwrap();
    }
    (store, summary.root.unwrap())
}

/// The site of the catalogue (`store`, `root`), onto `base`: its blocks and report.
fn site(
    store: &mut MemorySink,
    root: &Cid,
    base: Option<(&mut MemorySink, &Cid)>,
) -> (MemorySink, SiteReport) {
    let base = base.map(|(src, root)| SiteBase::read(src, root).unwrap());
    let mut out = MemorySink::new();
    let options = SiteOptions {
        title: Some("Test archive".into()),
    };
    let report = build(store, root, base, &options, &mut out).unwrap();
    (out, report)
}

/// The JSON file at `path` of the site.
fn json(site: &mut MemorySink, root: &Cid, path: &str) -> Value {
    let mut cid = *root;
    for name in path.split('/') {
        cid = dir::lookup(site, &cid, name).unwrap().unwrap().0;
    }
    let block = BlockSource::get(site, &cid).unwrap().unwrap();
    serde_json::from_slice(&single_block_file(cid.codec(), &block).unwrap()).unwrap()
}

/// Every video of a site's listing, page after page: (id, date).
fn listing(site: &mut MemorySink, root: &Cid, name: &str, pages: u64) -> Vec<(String, String)> {
    (1..=pages)
        .flat_map(|n| {
            let page = json(site, root, &format!("data/sites/{name}/{n}.json"));
            page["videos"].as_array().unwrap().clone()
        })
        .map(|v| {
            let date = v["d"].as_str().unwrap_or("").to_owned();
            (v["id"].as_str().unwrap().to_owned(), date)
        })
        .collect()
}

/// A catalogue of 1500 videos of `alpha` and 40 of `beta`, one of them (`beta/id00003`) with
/// two records, and its site: the catalogue's store and root, the site's blocks and report.
fn two_sites() -> (MemorySink, Cid, MemorySink, SiteReport) {
    let mut records: Vec<Record> = (0..1500).map(|n| record("alpha", n, 0)).collect();
    records.extend((0..40).map(|n| record("beta", n, 0)));
    records.push(record("beta", 3, 1)); // a conflict: two records of beta/id00003
    let (mut store, root) = catalogue(None, &records);
    let (out, report) = site(&mut store, &root, None);
    (store, root, out, report)
}

/// The listing of `alpha` in the site of [`two_sites`], over as many pages as its index says.
fn alpha_listing(out: &mut MemorySink, report: &SiteReport) -> Vec<(String, String)> {
    let index = json(out, &report.root, "data/index.json");
    let pages = index["sites"][0]["pages"].as_u64().unwrap();
    listing(out, &report.root, "alpha", pages)
}

#[test]
fn a_site_counts_every_video_in_its_report_and_index() {
    let (_, root, mut out, report) = two_sites();
    assert_eq!(report.videos, 1540);
    assert_eq!(report.sites, [("alpha".into(), 1500), ("beta".into(), 40)]);
    assert_eq!(report.records_read, 1540);
    assert_eq!(report.conflicts, 1);
    assert!(report.pages > 3, "{} pages", report.pages);

    let index = json(&mut out, &report.root, "data/index.json");
    assert_eq!(index["title"], "Test archive");
    assert_eq!(index["generator"], GENERATOR);
    assert_eq!(index["catalogue"], root.to_string());
    assert_eq!(index["sites"][0]["name"], "alpha");
    assert_eq!(index["sites"][0]["videos"], 1500);
}

/// Every video once, dated ones newest first, then undated ones, each group by id.
#[test]
fn a_site_lists_every_video_once_newest_first() {
    let (_, _, mut out, report) = two_sites();
    let alpha = alpha_listing(&mut out, &report);
    assert_eq!(alpha.len(), 1500);
    let mut expected = alpha.clone();
    expected.sort_by(|a, b| match (a.1.is_empty(), b.1.is_empty()) {
        (false, false) => b.1.cmp(&a.1).then(a.0.cmp(&b.0)),
        (x, y) => x.cmp(&y).then(a.0.cmp(&b.0)),
    });
    assert_eq!(alpha, expected);
    let ids: HashSet<&String> = alpha.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 1500);
}

#[test]
fn a_site_indexes_the_words_of_its_videos() {
    let (_, _, mut out, report) = two_sites();
    let index = json(&mut out, &report.root, "data/index.json");
    let alpha = alpha_listing(&mut out, &report);
    // A word of one title leads to that video alone; its shard is the one its hash names.
    let shards = index["search"]["shards"].as_u64().unwrap();
    let find = |out: &mut MemorySink, word: &str| {
        let k = u64::from(words::fnv1a(word.as_bytes())) % shards;
        json(out, &report.root, &format!("data/search/{k}.json"))["words"][word].clone()
    };
    let hit = find(&mut out, "1234");
    assert_eq!(hit["n"], 1);
    assert_eq!(hit["r"], serde_json::json!([0, "id01234"]));
    // A word of every video: capped, counted in full, newest first like the listing.
    let shared = find(&mut out, "shared");
    assert_eq!(shared["n"], 1540);
    let refs = shared["r"].as_array().unwrap();
    assert_eq!(refs.len(), 2 * search::CAP);
    assert_eq!(refs[1], Value::String(alpha[0].0.clone()));
    assert!(find(&mut out, "uploader")["n"].as_u64().unwrap() > 700);
    assert!(find(&mut out, "nowhere").is_null());
}

/// The conflict: beta/id00003 counts one other record, listed in its bucket.
#[test]
fn a_site_lists_the_other_records_of_a_video_in_conflict() {
    let (mut store, root, mut out, report) = two_sites();
    let index = json(&mut out, &report.root, "data/index.json");
    let buckets = index["conflicts"]["buckets"].as_u64().unwrap();
    let k = u64::from(words::fnv1a(b"beta/id00003")) % buckets;
    let bucket = json(&mut out, &report.root, &format!("data/conflicts/{k}.json"));
    let others = bucket["videos"]["beta/id00003"].as_array().unwrap();
    assert_eq!(others.len(), 1);
    let beta = json(&mut out, &report.root, "data/sites/beta/1.json");
    let entry = beta["videos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "id00003")
        .unwrap();
    assert_eq!(entry["c"], 1);
    assert_eq!(entry["th"], "id00003.jpg");
    let (conflicts, _) = dir::lookup(&mut store, &root, CONFLICTS_DIR)
        .unwrap()
        .unwrap();
    assert!(dir::lookup(&mut store, &conflicts, "beta")
        .unwrap()
        .is_some());
}

/// The catalogue is linked, not copied.
#[test]
fn a_site_links_the_catalogue_without_copying_it() {
    let (_, root, mut out, report) = two_sites();
    let (linked, _) = dir::lookup(&mut out, &report.root, "catalogue")
        .unwrap()
        .unwrap();
    assert_eq!(linked, root);
    assert!(MemorySink::get(&out, &root).is_none());
}

#[test]
fn a_site_holds_every_page_and_asset() {
    let (_, _, mut out, report) = two_sites();
    let rendered = PAGES
        .iter()
        .map(|page| (page.0, page_html(page, "Test archive")));
    let files = ASSETS
        .iter()
        .map(|(path, content)| (*path, content.to_string()));
    for (path, content) in files.chain(rendered) {
        let mut cid = report.root;
        for name in path.split('/') {
            cid = dir::lookup(&mut out, &cid, name).unwrap().unwrap().0;
        }
        let block = MemorySink::get(&out, &cid).unwrap();
        assert_eq!(
            single_block_file(cid.codec(), block).unwrap(),
            content.as_bytes()
        );
    }
}

#[test]
fn a_page_is_rendered_with_its_title_escaped() {
    let home = page_html(&PAGES[0], "Cats & <Dogs>");
    assert!(
        home.contains("<title>Cats &amp; &lt;Dogs&gt;</title>"),
        "{home}"
    );
    assert!(
        home.contains(r#"<body data-page="home">"#) && !home.contains("{{"),
        "{home}"
    );
}

/// The same catalogue gives the same site.
#[test]
fn a_catalogue_gives_one_site() {
    let (mut store, root, _, report) = two_sites();
    let (_, again) = site(&mut store, &root, None);
    assert_eq!(again.root, report.root);
}

/// A site built, then its catalogue grown: the first site, the grown catalogue and its site
/// built in full.
struct Grown {
    site_a: MemorySink,
    report_a: SiteReport,
    store_b: MemorySink,
    root_b: Cid,
    site_b: MemorySink,
    full: SiteReport,
}

/// The site of 3000 videos of `alpha`, then its catalogue grown by new videos among the old
/// ones, a new site, and conflicts: one won by the new record, one lost by it (which the
/// smaller record CID decides).
fn grown() -> Grown {
    let first: Vec<Record> = (0..3000).map(|n| record("alpha", n * 2, 0)).collect();
    let (store, root) = catalogue(None, &first);
    let mut store_a = store.clone();
    let (site_a, report_a) = site(&mut store_a, &root, None);

    let mut more: Vec<Record> = (0..30).map(|n| record("alpha", n * 200 + 1, 0)).collect();
    more.extend((0..5).map(|n| record("gamma", n, 0)));
    more.push(record("alpha", 10, 1));
    more.push(record("alpha", 20, 2));
    let (mut store_b, root_b) = catalogue(Some((store, root)), &more);
    let (site_b, full) = site(&mut store_b, &root_b, None);
    Grown {
        site_a,
        report_a,
        store_b,
        root_b,
        site_b,
        full,
    }
}

#[test]
fn an_incremental_build_equals_a_full_one() {
    let Grown {
        mut site_a,
        report_a,
        mut store_b,
        root_b,
        full,
        ..
    } = grown();
    let (_, incremental) = site(&mut store_b, &root_b, Some((&mut site_a, &report_a.root)));
    assert_eq!(incremental.root, full.root);
    assert_eq!(incremental.videos, 3035);
    // Only the new records and those that took a video's place are read.
    let wins = |new: &Record, old: &Record| {
        u64::from(new.cid().unwrap().to_bytes() < old.cid().unwrap().to_bytes())
    };
    let winners = wins(&record("alpha", 10, 1), &record("alpha", 10, 0))
        + wins(&record("alpha", 20, 2), &record("alpha", 20, 0));
    assert_eq!(incremental.records_read, 35 + winners);
    assert_eq!(full.records_read, 3035);
    assert_eq!(incremental.conflicts, 2);
}

/// Two more videos change at most the two pages each lands on (one split in two at most);
/// every other page is the same block as before.
#[test]
fn an_incremental_build_keeps_the_pages_no_new_video_lands_on() {
    let Grown {
        store_b,
        root_b,
        mut site_b,
        full,
        ..
    } = grown();
    let two = [record("alpha", 1003, 0), record("alpha", 5003, 0)];
    let (mut store_c, root_c) = catalogue(Some((store_b, root_b)), &two);
    let (_, next) = site(&mut store_c, &root_c, Some((&mut site_b, &full.root)));
    assert_eq!(next.records_read, 2);
    assert!(full.pages > 8, "{} pages", full.pages);
    assert!(
        next.pages_reused + 4 >= full.pages && next.pages_reused > 0,
        "{} of {} pages reused",
        next.pages_reused,
        full.pages
    );
    let (_, check) = site(&mut store_c, &root_c, None);
    assert_eq!(next.root, check.root);
}

#[test]
fn a_base_from_another_version_or_not_a_site_is_refused() {
    let (mut store, root) = catalogue(None, &[record("alpha", 1, 0)]);
    // A directory with a data/index.json of another generator.
    let mut fake = MemorySink::new();
    let index = br#"{"v":1,"generator":"ingest 0.0.1","sites":[]}"#;
    let (file, _) = crate::unixfs::import_bytes(&PROFILE, index, &mut fake).unwrap();
    let mut data = crate::DirBuilder::new(&PROFILE);
    data.add("index.json", file.root, file.dag_size).unwrap();
    let data = data.finish(&mut fake).unwrap();
    let mut top = crate::DirBuilder::new(&PROFILE);
    top.add("data", data.root, data.dag_size).unwrap();
    let top = top.finish(&mut fake).unwrap();
    let err = SiteBase::read(&mut fake, &top.root);
    assert!(
        matches!(&err, Err(SiteError::BaseVersion { generator }) if generator == "ingest 0.0.1"),
        "{err:?}"
    );
    // The catalogue itself is not a site.
    let err = SiteBase::read(&mut store, &root);
    assert!(matches!(err, Err(SiteError::BadBase(_))), "{err:?}");
}

#[test]
fn titles_are_bounded() {
    let (mut store, root) = catalogue(None, &[record("alpha", 1, 0)]);
    for bad in ["x".repeat(MAX_TITLE_LEN + 1), "two\nlines".into()] {
        let options = SiteOptions { title: Some(bad) };
        let err = build(&mut store, &root, None, &options, &mut MemorySink::new());
        assert!(matches!(err, Err(SiteError::Title(_))), "{err:?}");
    }
}

/// The entries of the catalogue's videos as a base would hold them, all kept.
fn base_entries(store: &mut MemorySink, root: &Cid) -> (Vec<build::SiteEntries>, Vec<Vec<bool>>) {
    let mut sites: Vec<build::SiteEntries> = Vec::new();
    for v in crate::catalogue::videos(store, root, None).unwrap() {
        let (_, record) = crate::catalogue::video_record(store, &v).unwrap();
        let entry = entry::Entry::new(v.directory, record).unwrap();
        match sites.last_mut() {
            Some((site, list)) if *site == v.site => list.push(entry),
            _ => sites.push((v.site.clone(), vec![entry])),
        }
    }
    let kept = sites.iter().map(|(_, e)| vec![true; e.len()]).collect();
    (sites, kept)
}

#[test]
fn a_base_whose_entries_match_their_records_passes_the_sample() {
    let records: Vec<Record> = (0..100).map(|n| record("alpha", n, 0)).collect();
    let (mut store, root) = catalogue(None, &records);
    let (sites, kept) = base_entries(&mut store, &root);
    let checked = build::check_base_sample(&mut store, &sites, &kept).unwrap();
    assert_eq!(checked, BASE_SAMPLE as u64);
}

#[test]
fn a_base_with_edited_entries_is_refused() {
    let records: Vec<Record> = (0..100).map(|n| record("alpha", n, 0)).collect();
    let (mut store, root) = catalogue(None, &records);
    let (mut sites, kept) = base_entries(&mut store, &root);
    for e in &mut sites[0].1 {
        e.title = Some("Another title".into());
    }
    let err = build::check_base_sample(&mut store, &sites, &kept).unwrap_err();
    assert!(
        matches!(&err, SiteError::BadBase(m) if m.contains("alpha/") && m.contains("without --base")),
        "{err}"
    );
}
