//! The directory vectors of `fixtures/vectors/dirs.json` under every profile, two ways: built
//! in memory from the files' CIDs alone (as the catalogue builds directories of videos it does
//! not hold), and imported from a tree written to disk (as `ingest add -r` does).

use std::collections::{BTreeMap, HashMap};

use ingest_core::unixfs::{
    import_path, CountingSink, DirBuilder, DirKind, FileImporter, HashOnly, Profile, WalkOptions,
};
use ingest_core::Cid;
use ingest_tests::{dir_vectors, Content, DirVector};

enum Node {
    File { cid: Cid, dag_size: u64 },
    Dir(BTreeMap<String, Node>),
}

fn dir_at<'a>(
    root: &'a mut BTreeMap<String, Node>,
    path: &[&str],
) -> &'a mut BTreeMap<String, Node> {
    let mut dir = root;
    for part in path {
        match dir
            .entry(part.to_string())
            .or_insert_with(|| Node::Dir(BTreeMap::new()))
        {
            Node::Dir(children) => dir = children,
            Node::File { .. } => panic!("{part} is a file"),
        }
    }
    dir
}

/// Builds `children` bottom-up with `DirBuilder`; returns (cid, dag size, kind).
fn build(
    children: BTreeMap<String, Node>,
    profile: &Profile,
    sink: &mut CountingSink,
) -> (Cid, u64, DirKind) {
    let mut dir = DirBuilder::new(profile);
    // Add in reverse order: the builder must not depend on it.
    for (name, node) in children.into_iter().rev() {
        let (cid, dag_size) = match node {
            Node::File { cid, dag_size } => (cid, dag_size),
            Node::Dir(grandchildren) => {
                let (cid, dag_size, _) = build(grandchildren, profile, sink);
                (cid, dag_size)
            }
        };
        dir.add(&name, cid, dag_size).unwrap();
    }
    let summary = dir.finish(sink).unwrap();
    (summary.root, summary.dag_size, summary.kind)
}

fn in_memory(v: &DirVector) -> (String, u64, DirKind) {
    let profile = Profile::by_name(&v.profile).unwrap();
    let mut sink = CountingSink::default();
    let mut root = BTreeMap::new();
    for d in &v.empty_dirs {
        let parts: Vec<&str> = d.split('/').collect();
        dir_at(&mut root, &parts);
    }
    for f in v.files() {
        let mut importer = FileImporter::new(&profile, &mut sink);
        importer.push(&Content::bytes(&f.seed, f.size)).unwrap();
        let (summary, _) = importer.finish().unwrap();
        let parts: Vec<&str> = f.path.split('/').collect();
        let (name, parents) = parts.split_last().unwrap();
        let node = Node::File {
            cid: summary.root,
            dag_size: summary.dag_size,
        };
        dir_at(&mut root, parents).insert(name.to_string(), node);
    }
    let (cid, _, kind) = build(root, &profile, &mut sink);
    (cid.to_string(), sink.distinct() as u64, kind)
}

fn describe(v: &DirVector) -> String {
    format!(
        "{} under {} ({}; expected from {})",
        v.name,
        v.profile,
        v.description,
        v.source.join(", ")
    )
}

#[test]
fn every_dir_vector_built_from_cids() {
    let vectors = dir_vectors();
    assert!(
        vectors.len() >= 24,
        "the directory vectors were not all found"
    );
    let mut failures = Vec::new();
    for v in &vectors {
        let (cid, blocks, kind) = in_memory(v);
        let root_type = match kind {
            DirKind::Flat => "directory",
            DirKind::Hamt => "hamt-sharded-directory",
        };
        if (cid.as_str(), blocks, root_type) != (v.cid.as_str(), v.blocks, v.root_type.as_str()) {
            failures.push(format!(
                "{}: got {cid} ({root_type}, {blocks} blocks), want {} ({}, {} blocks)",
                describe(v),
                v.cid,
                v.root_type,
                v.blocks
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        vectors.len(),
        failures.join("\n")
    );
}

#[test]
fn every_dir_vector_imported_from_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let mut trees: HashMap<String, std::path::PathBuf> = HashMap::new();
    for v in dir_vectors() {
        let tree = trees
            .entry(v.name.clone())
            .or_insert_with(|| {
                let path = tmp.path().join(&v.name);
                v.materialize(&path).unwrap();
                path
            })
            .clone();
        let profile = Profile::by_name(&v.profile).unwrap();
        let mut sink = CountingSink::default();
        let root =
            import_path(&tree, &profile, &WalkOptions::default(), &mut sink, &mut ()).unwrap();
        assert_eq!(
            (root.cid.to_string(), sink.distinct() as u64),
            (v.cid.clone(), v.blocks),
            "{}",
            describe(&v)
        );
    }
}

mod order {
    use super::*;
    use proptest::prelude::*;

    /// A deterministic shuffle (splitmix64 driving Fisher-Yates).
    fn shuffle<T>(items: &mut [T], mut seed: u64) {
        for i in (1..items.len()).rev() {
            seed = seed.wrapping_add(0x9e3779b97f4a7c15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
            z ^= z >> 31;
            items.swap(i, (z % (i as u64 + 1)) as usize);
        }
    }

    fn root(profile: &Profile, entries: &[(String, Cid, u64)]) -> Cid {
        let mut dir = DirBuilder::new(profile);
        for (name, cid, size) in entries {
            dir.add(name, *cid, *size).unwrap();
        }
        dir.finish(&mut HashOnly).unwrap().root
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Small and HAMT-sized directories (6000 entries cross every profile's threshold).
        #[test]
        fn insertion_order_never_changes_the_root(
            count in prop_oneof![0usize..40, 5000usize..6500],
            tag in "[a-z]{0,8}",
            seed in any::<u64>(),
            profile in 0usize..3,
        ) {
            let profile = &Profile::PRESETS[profile];
            let entries: Vec<(String, Cid, u64)> = (0..count)
                .map(|i| {
                    let name = format!("{tag}{i}");
                    let cid = ingest_core::unixfs::cid_of(ingest_core::unixfs::CidVersion::V1, ingest_core::unixfs::RAW, name.as_bytes());
                    (name, cid, i as u64)
                })
                .collect();
            let want = root(profile, &entries);
            let mut shuffled = entries.clone();
            shuffle(&mut shuffled, seed);
            prop_assert_eq!(root(profile, &shuffled), want);
            shuffled.reverse();
            prop_assert_eq!(root(profile, &shuffled), want);
        }
    }
}
