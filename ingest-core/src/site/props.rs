//! Property tests of [`SiteBase::read`] on untrusted JSON: a base whose `data/index.json` or
//! listing page is arbitrary bytes, or the bytes a real build wrote with some flipped, cut or
//! spliced in. Never a panic; a base read holds no more videos than its pages have bytes for;
//! an error message is bounded by what was read.

use std::sync::OnceLock;

use cid::Cid;
use proptest::prelude::*;

use super::{build, SiteBase, SiteOptions, PROFILE};
use crate::archive::{Meta, Record, RecordFile, Role, Source};
use crate::catalogue::Merge;
use crate::testutil::{mutate, Edits};
use crate::unixfs::block::{cid_of, single_block_file, RAW};
use crate::unixfs::blocks::BlockSource;
use crate::unixfs::read as dir;
use crate::unixfs::{import_bytes, CidVersion, DirBuilder, MemorySink};

/// A record of `alpha`, number `n`.
fn record(n: u32) -> Record {
    let id = format!("id{n:05}");
    let file = |role, name: String| RecordFile {
        role,
        cid: cid_of(CidVersion::V1, RAW, name.as_bytes()),
        name,
        size: 100,
        dag_size: 100,
        format_id: None,
    };
    Record {
        profile: PROFILE.name().to_owned(),
        source: Source {
            site: "alpha".into(),
            id: id.clone(),
            url: None,
        },
        files: vec![
            file(Role::Video, format!("{id}.mp4")),
            file(Role::Thumbnail, format!("{id}.jpg")),
        ],
        meta: Meta {
            title: Some(format!("Clip \"{n}\" ünïcode")),
            uploader: Some("someone".into()),
            upload_date: (!n.is_multiple_of(3))
                .then(|| format!("2024{:02}{:02}", 1 + n % 12, 1 + n % 28)),
            duration_ms: Some(1000 + u64::from(n)),
            tags: vec![format!("tag{n}"), "shared".into()],
            ..Meta::default()
        },
    }
}

/// What a real build writes, read once: `data/index.json` and `data/sites/alpha/1.json`.
fn written() -> &'static (Vec<u8>, Vec<u8>) {
    static WRITTEN: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    WRITTEN.get_or_init(|| {
        let mut store = MemorySink::new();
        let summary = {
            let none: Option<(&mut MemorySink, Cid)> = None;
            let mut merge = Merge::new(&PROFILE, none, &mut store);
            for n in 0..12 {
                merge.add(&record(n)).expect("a valid record");
            }
            merge.finish().expect("a catalogue")
        };
        let root = summary.root.expect("a root");
        let mut site = MemorySink::new();
        let options = SiteOptions {
            title: Some("Props".into()),
        };
        let report = build(&mut store, &root, None, &options, &mut site).expect("a site");
        let mut file = |path: &str| {
            let mut cid = report.root;
            for name in path.split('/') {
                cid = dir::lookup(&mut site, &cid, name)
                    .expect("a directory")
                    .expect("the entry")
                    .0;
            }
            let block = BlockSource::get(&mut site, &cid)
                .expect("the store")
                .expect("the block");
            single_block_file(cid.codec(), &block).expect("a one-block file")
        };
        (file("data/index.json"), file("data/sites/alpha/1.json"))
    })
}

/// A base site of `index` as `data/index.json` and `pages` as `data/sites/<site>/<n>.json`.
fn base_of(index: &[u8], sites: &[(&str, &[&[u8]])]) -> (MemorySink, Cid) {
    let mut store = MemorySink::new();
    let file = |bytes: &[u8], store: &mut MemorySink| {
        let (summary, _) = import_bytes(&PROFILE, bytes, &mut *store).expect("imported");
        (summary.root, summary.dag_size)
    };
    let mut sites_dir = DirBuilder::new(&PROFILE);
    for (site, pages) in sites {
        let mut pages_dir = DirBuilder::new(&PROFILE);
        for (n, page) in pages.iter().enumerate() {
            let (cid, size) = file(page, &mut store);
            pages_dir
                .add(&format!("{}.json", n + 1), cid, size)
                .expect("a name");
        }
        let pages_dir = pages_dir.finish(&mut store).expect("a directory");
        sites_dir
            .add(site, pages_dir.root, pages_dir.dag_size)
            .expect("a name");
    }
    let sites_dir = sites_dir.finish(&mut store).expect("a directory");
    let (index, index_size) = file(index, &mut store);
    let mut data = DirBuilder::new(&PROFILE);
    data.add("index.json", index, index_size).expect("a name");
    data.add("sites", sites_dir.root, sites_dir.dag_size)
        .expect("a name");
    let data = data.finish(&mut store).expect("a directory");
    let mut top = DirBuilder::new(&PROFILE);
    top.add("data", data.root, data.dag_size).expect("a name");
    let top = top.finish(&mut store).expect("a directory");
    (store, top.root)
}

/// Reads the base of `index` and one page of `alpha`; checks the bounds.
fn check(index: &[u8], page: &[u8]) -> Result<(), TestCaseError> {
    let (mut store, root) = base_of(index, &[("alpha", &[page])]);
    match SiteBase::read(&mut store, &root) {
        Ok(base) => {
            // The shortest entry, `{"id":"","dir":"<a CID>"}`, takes more than 16 bytes.
            prop_assert!(base.videos() * 16 <= page.len());
            prop_assert!(base.pages() <= 1);
        }
        Err(error) => {
            let text = error.to_string();
            prop_assert!(
                text.len() <= 3 * (index.len() + page.len()) + 500,
                "{}",
                text
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// The real index and page read back, then either one mutated.
    #[test]
    fn mutated_index_or_page_reads_bounded(
        page_too in any::<bool>(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..5),
    ) {
        let (index, page) = written();
        let (mut index, mut page) = (index.clone(), page.clone());
        if page_too {
            mutate(&mut page, &edits as &Edits);
        } else {
            mutate(&mut index, &edits as &Edits);
        }
        check(&index, &page)?;
    }

    /// Arbitrary bytes as the index (with the real page), and as the page (with the real
    /// index).
    #[test]
    fn any_index_or_page_reads_bounded(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let (index, page) = written();
        check(&bytes, page)?;
        check(index, &bytes)?;
    }
}

#[test]
fn the_written_base_reads_back() {
    let (index, page) = written();
    let (mut store, root) = base_of(index, &[("alpha", &[page])]);
    let base = SiteBase::read(&mut store, &root).expect("the base reads");
    assert_eq!((base.videos(), base.pages()), (12, 1));
}
