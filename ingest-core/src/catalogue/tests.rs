use super::*;
use crate::archive::Record;
use crate::archive::{Meta, RecordFile, Role, Source};
use crate::unixfs::block::cid_of;
use crate::unixfs::block::RAW;
use crate::unixfs::sink::MemorySink;
use crate::unixfs::{BlockSink, CidVersion, Profile};
use proptest::prelude::*;

fn record(site: &str, id: &str, variant: u8, profile: &Profile) -> Record {
    let bytes = [site.as_bytes(), id.as_bytes(), &[variant]].concat();
    Record {
        profile: profile.name().to_owned(),
        source: Source {
            site: site.into(),
            id: id.into(),
            url: None,
        },
        files: vec![RecordFile {
            role: Role::Video,
            name: format!("{id}.mp4"),
            // A file root the profile can make: raw when its leaves are, else dag-pb.
            cid: if profile.raw_leaves() {
                cid_of(CidVersion::V1, RAW, &bytes)
            } else {
                cid_of(profile.cid_version(), crate::unixfs::DAG_PB, &bytes)
            },
            size: 100 + u64::from(variant),
            dag_size: 100 + u64::from(variant),
            format_id: None,
        }],
        meta: Meta {
            title: Some(format!("video {id} v{variant}")),
            ..Meta::default()
        },
    }
}

/// Merges `records` onto `base` (a store and root), returning the new root and a store holding
/// exactly the base's blocks less the replaced ones, plus the new ones.
fn merge_onto(
    profile: &Profile,
    base: Option<(MemorySink, Cid)>,
    records: &[Record],
) -> (MemorySink, Cid, MergeSummary) {
    let mut out = MemorySink::new();
    let (mut store, root) = match base {
        Some((store, root)) => (store, Some(root)),
        None => (MemorySink::new(), None),
    };
    let summary = {
        let mut m = Merge::new(profile, root.map(|r| (&mut store, r)), &mut out);
        for r in records {
            m.add(r).unwrap();
        }
        m.finish().unwrap()
    };
    let mut next = MemorySink::new();
    for (cid, block) in out.blocks() {
        next.put(cid, block).unwrap();
    }
    for (cid, block) in store.blocks() {
        if !summary.replaced.contains(cid) {
            next.put(cid, block).unwrap();
        }
    }
    (next, summary.root.unwrap(), summary)
}

/// Every video of the catalogue with its record's CID, reading only from `store`: fails if a
/// needed block is missing.
fn contents(store: &mut MemorySink, root: &Cid) -> Vec<(String, String, String)> {
    videos(store, root, None)
        .unwrap()
        .into_iter()
        .map(|v| {
            let (cid, _) = read_video_record(store, &v.directory).unwrap();
            (v.site, v.id, cid.to_string())
        })
        .collect()
}

fn shuffle<T>(items: &mut [T], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        items.swap(i, (seed >> 33) as usize % (i + 1));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Shuffled, duplicated and split merges all give one root, and a split merge's store
    /// (base less replaced, plus new) holds the whole catalogue.
    #[test]
    fn order_duplicates_and_steps_never_change_the_root(
        count in 1usize..300,
        conflicts in 0usize..10,
        seed in any::<u64>(),
        cuts in proptest::collection::vec(0usize..400, 0..4),
        profile in 0usize..3,
    ) {
        let profile = &Profile::PRESETS[profile];
        let sites = ["youtube", "vimeo", "example.org"];
        let mut records: Vec<Record> = (0..count)
            .map(|i| record(sites[i % 3], &format!("id-{i}"), 0, profile))
            .collect();
        for i in 0..conflicts.min(count) {
            records.push(record(sites[i % 3], &format!("id-{i}"), 1 + (i % 2) as u8, profile));
        }
        let (_, want, summary) = merge_onto(profile, None, &records);
        prop_assert_eq!(summary.added as usize, records.len());

        let mut shuffled = records.clone();
        shuffled.extend(records.iter().take(count / 2).cloned());
        shuffle(&mut shuffled, seed);
        let (_, got, summary) = merge_onto(profile, None, &shuffled);
        prop_assert_eq!(got, want);
        prop_assert_eq!(summary.unchanged as usize, count / 2);

        let mut cuts = cuts;
        cuts.push(shuffled.len());
        cuts.sort_unstable();
        let mut base: Option<(MemorySink, Cid)> = None;
        let mut start = 0;
        for cut in cuts {
            let cut = cut.min(shuffled.len());
            if cut <= start && base.is_some() {
                continue;
            }
            let (store, root, _) = merge_onto(profile, base.take(), &shuffled[start..cut.max(start)]);
            base = Some((store, root));
            start = cut.max(start);
        }
        let (mut store, root) = base.unwrap();
        prop_assert_eq!(root, want);
        let listed = contents(&mut store, &root);
        let distinct: std::collections::BTreeSet<_> = records.iter().map(|r| (&r.source.site, &r.source.id)).collect();
        prop_assert_eq!(listed.len(), distinct.len());
    }
}

/// Two records of `youtube/x`, merged together (the second first): the records and what
/// [`merge_onto`] gives.
fn a_conflict(p: &Profile) -> (Record, Record, MemorySink, Cid, MergeSummary) {
    let a = record("youtube", "x", 0, p);
    let b = record("youtube", "x", 1, p);
    let (store, root, summary) = merge_onto(p, None, &[b.clone(), a.clone()]);
    (a, b, store, root, summary)
}

#[test]
fn a_conflict_keeps_every_record_and_the_smallest_cid_wins() {
    let p = &Profile::UNIXFS_V1_2025;
    let (a, b, mut store, root, summary) = a_conflict(p);
    let (ca, cb) = (a.cid().unwrap(), b.cid().unwrap());
    let (win, lose) = if ca.to_bytes() < cb.to_bytes() {
        (ca, cb)
    } else {
        (cb, ca)
    };
    assert_eq!(summary.conflicts.len(), 1);
    assert_eq!(summary.conflicts[0].winner, win);
    assert_eq!(summary.conflicts[0].others, [lose]);
    assert_eq!(
        contents(&mut store, &root),
        [("youtube".into(), "x".into(), win.to_string())]
    );
    // The loser is reachable at _conflicts/youtube/x/<cid>.
    let mut at = root;
    for name in [CONFLICTS_DIR, "youtube", "x", &lose.to_string()] {
        at = crate::unixfs::read::lookup(&mut store, &at, name)
            .unwrap()
            .expect(name)
            .0;
    }
    assert_eq!(read_video_record(&mut store, &at).unwrap().0, lose);
}

/// A third record of a video in conflict, merged later, whose CID may be smaller still: the
/// same root as all three at once.
#[test]
fn a_conflicting_record_merged_later_gives_the_root_of_one_merge() {
    let p = &Profile::UNIXFS_V1_2025;
    let (a, b, store, root, _) = a_conflict(p);
    let c = record("youtube", "x", 7, p);
    let (_, later, summary) = merge_onto(p, Some((store, root)), std::slice::from_ref(&c));
    let (_, at_once, _) = merge_onto(p, None, &[a, b, c]);
    assert_eq!(later, at_once);
    assert_eq!(summary.conflicts[0].others.len(), 2);
}

#[test]
fn records_of_another_profile_are_rejected_and_the_rest_merged() {
    let p = &Profile::UNIXFS_V1_2025;
    let good = record("youtube", "a", 0, p);
    let other = record("youtube", "b", 0, &Profile::UNIXFS_V0_2015);
    let (_, root, summary) = merge_onto(p, None, &[good.clone(), other]);
    assert_eq!(summary.rejected.len(), 1);
    assert!(summary.rejected[0].reason.contains("unixfs-v0-2015"));
    assert_eq!(root, merge_onto(p, None, &[good]).1);
}

#[test]
fn a_video_has_one_shard() {
    assert_eq!(
        shard_of("youtube", "dQw4w9WgXcQ", 7),
        shard_of("youtube", "dQw4w9WgXcQ", 7)
    );
}

#[test]
fn shards_are_evenly_spread() {
    let mut counts = [0u32; 4];
    for i in 0..4000 {
        counts[shard_of("youtube", &format!("id{i}"), 4) as usize] += 1;
    }
    assert!(
        counts.iter().all(|&c| (850..1150).contains(&c)),
        "{counts:?}"
    );
}

/// A catalogue whose `youtube/x` holds the record of `example/1` is malformed: readers name it,
/// never count `youtube/x` as archived, and a merge onto it stops rather than moving the
/// genuine record of `youtube/x` to `_conflicts`.
#[test]
fn a_directory_holding_another_videos_record_is_malformed() {
    let p = &Profile::UNIXFS_V1_2025;
    let (mut store, root, _) = merge_onto(p, None, &[record("example", "1", 0, p)]);
    let (example_dir, _) = crate::unixfs::read::lookup(&mut store, &root, "example")
        .unwrap()
        .unwrap();
    let (video_dir, size) = crate::unixfs::read::lookup(&mut store, &example_dir, "1")
        .unwrap()
        .unwrap();
    // youtube/x → example/1's directory.
    let mut replaced = Vec::new();
    let youtube = std::collections::BTreeMap::from([("x".to_owned(), (video_dir, size))]);
    let (youtube_dir, ysize, _) = crate::unixfs::dir::update(
        p,
        &mut store.clone(),
        None,
        youtube,
        &mut store,
        &mut replaced,
    )
    .unwrap();
    let entries = std::collections::BTreeMap::from([("youtube".to_owned(), (youtube_dir, ysize))]);
    let (bad_root, _, _) = crate::unixfs::dir::update(
        p,
        &mut store.clone(),
        Some(&root),
        entries,
        &mut store,
        &mut replaced,
    )
    .unwrap();

    let listed = videos(&mut store, &bad_root, Some("youtube")).unwrap();
    let err = video_record(&mut store, &listed[0]).unwrap_err();
    assert!(
        err.to_string().contains("holds the record of example/1"),
        "{err}"
    );
    let genuine = record("youtube", "x", 0, p);
    let mut out = MemorySink::new();
    let mut m = Merge::new(p, Some((&mut store, bad_root)), &mut out);
    m.add(&genuine).unwrap();
    let err = m.finish().unwrap_err();
    assert!(
        err.to_string().contains("holds the record of example/1")
            || format!("{err:?}").contains("holds the record of example/1"),
        "{err}"
    );
}

/// Two sites sharing one directory would list each video twice: the reader refuses it.
#[test]
fn a_site_directory_linked_twice_is_malformed() {
    let p = &Profile::UNIXFS_V1_2025;
    let (mut store, root, _) = merge_onto(p, None, &[record("youtube", "a", 0, p)]);
    let (site_dir, size) = crate::unixfs::read::lookup(&mut store, &root, "youtube")
        .unwrap()
        .unwrap();
    let entries = std::collections::BTreeMap::from([("vimeo".to_owned(), (site_dir, size))]);
    let (bad_root, _, _) = crate::unixfs::dir::update(
        p,
        &mut store.clone(),
        Some(&root),
        entries,
        &mut store,
        &mut Vec::new(),
    )
    .unwrap();
    let err = videos(&mut store, &bad_root, None).unwrap_err();
    assert!(err.to_string().contains("linked again"), "{err}");
}

/// An adversarial block set for the catalogue reader: `count` dag-pb nodes built bottom-up,
/// each a flat directory or a fanout-256 HAMT shard whose links point at earlier nodes (so
/// diamonds, shared subtrees and deep chains all occur) under names that are right, wrong or
/// malformed for their bucket, plus stray raw leaves.
/// One node of a hostile plan: whether it is a HAMT shard, and its links (an earlier node by
/// index, a bucket, an entry name).
type HostileNode = (bool, Vec<(usize, u8, String)>);

fn hostile_blocks(plan: &[HostileNode]) -> (MemorySink, Cid, usize) {
    use crate::unixfs::block::{encode_directory, encode_hamt_shard, DAG_PB};
    let mut store = MemorySink::new();
    let mut cids: Vec<Cid> = vec![cid_of(CidVersion::V1, RAW, b"leaf")];
    store.put(&cids[0], b"leaf").unwrap();
    let mut links_total = 0;
    for (shard, links) in plan {
        let targets: Vec<(Cid, String, u8)> = links
            .iter()
            .map(|(to, bucket, name)| (cids[to % cids.len()], name.clone(), *bucket))
            .collect();
        links_total += targets.len();
        let mut block = Vec::new();
        if *shard {
            let prefixes: Vec<String> =
                targets.iter().map(|(_, _, b)| format!("{b:02X}")).collect();
            encode_hamt_shard(
                &mut block,
                targets
                    .iter()
                    .zip(&prefixes)
                    .map(|((cid, name, _), p)| (p.as_bytes(), name.as_bytes(), cid, 1)),
                &[0xff; 32],
                256,
            );
        } else {
            encode_directory(
                &mut block,
                targets
                    .iter()
                    .map(|(cid, name, _)| (name.as_bytes(), cid, 1)),
            );
        }
        let cid = cid_of(CidVersion::V1, DAG_PB, &block);
        store.put(&cid, &block).unwrap();
        cids.push(cid);
    }
    (store, *cids.last().unwrap(), links_total)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the blocks, reading a catalogue ends with videos or an error, never a panic,
    /// and never lists more videos than the blocks hold links: shared subtrees are not
    /// walked twice.
    #[test]
    fn the_catalogue_reader_is_bounded_on_hostile_blocks(
        plan in proptest::collection::vec(
            (
                any::<bool>(),
                proptest::collection::vec(
                    (any::<usize>(), any::<u8>(), "(|[a-z]{1,6}|record\\.cbor|_conflicts)"),
                    0..12,
                ),
            ),
            1..40,
        )
    ) {
        let (mut store, root, links_total) = hostile_blocks(&plan);
        if let Ok(listed) = videos(&mut store, &root, None) {
            prop_assert!(listed.len() <= links_total);
            for v in &listed {
                let _ = video_record(&mut store, v);
            }
        }
        let mut out = MemorySink::new();
        let mut merge = Merge::new(
            &Profile::UNIXFS_V1_2025,
            Some((&mut store, root)),
            &mut out,
        );
        merge.add(&record("youtube", "a", 0, &Profile::UNIXFS_V1_2025)).unwrap();
        let _ = merge.finish();
    }
}

/// `todo` lists exactly the wanted videos the catalogue lacks (a bare id is archived when any
/// site has it; conflicts are not sites), in the list's order, and the shares of N volunteers
/// split that list without overlap.
#[test]
fn todo_lists_what_the_catalogue_lacks() {
    let profile = &Profile::UNIXFS_V1_2025;
    let records = [
        record("youtube", "a", 0, profile),
        record("youtube", "b", 0, profile),
        record("youtube", "b", 1, profile), // a conflict: `b` is still archived once
        record("vimeo", "7", 0, profile),
    ];
    let (mut store, root, _) = merge_onto(profile, None, &records);
    let list = "youtube a\nyoutube c\nyoutube b\nvimeo 8\n7\n9\n_conflicts b\n";
    let wanted = todo::read_wanted(list.as_bytes(), "list").unwrap();
    let left: Vec<&str> = todo::todo(&mut store, &root, &wanted, None)
        .unwrap()
        .into_iter()
        .map(|w| w.line.as_str())
        .collect();
    assert_eq!(left, ["youtube c", "vimeo 8", "9", "_conflicts b"]);
    let mut shares = Vec::new();
    for i in 1..=3 {
        for w in todo::todo(&mut store, &root, &wanted, Some((i, 3))).unwrap() {
            assert_eq!(shard_of(&w.site, &w.id, 3), i - 1);
            shares.push(w.line.as_str());
        }
    }
    shares.sort_unstable();
    let mut all = left.clone();
    all.sort_unstable();
    assert_eq!(shares, all);
}
