//! The 1 GiB and 7.9 GB file vectors under every profile. Minutes of hashing: `.ci/run` runs
//! them in release mode; `cargo test --workspace` alone runs them too, only slower.
//!
//! Each content is generated once, on its own thread, and streamed into one importer per profile
//! and into SHA-256 (checked against the vector first); nothing is written to disk.

use std::collections::BTreeMap;

use ingest_core::{CountingSink, FileImporter, Profile};
use ingest_tests::{file_vectors, generate_in_background, hex};
use sha2::{Digest, Sha256};

#[test]
fn file_vectors_of_1_gib_and_more() {
    let mut groups: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for v in file_vectors().into_iter().filter(|v| v.size >= 1 << 30) {
        groups.entry((v.seed.clone(), v.size)).or_default().push(v);
    }
    assert!(groups.len() >= 2, "the large vectors were not found");
    for ((seed, size), vectors) in groups {
        let started = std::time::Instant::now();
        let mut sha = Sha256::new();
        let mut importers: Vec<_> = vectors
            .iter()
            .map(|v| {
                FileImporter::new(
                    &Profile::by_name(&v.profile).unwrap(),
                    CountingSink::default(),
                )
            })
            .collect();
        for piece in generate_in_background(&seed, size, 4 << 20) {
            sha.update(&piece);
            for importer in &mut importers {
                importer.push(&piece).unwrap();
            }
        }
        assert_eq!(
            hex(&sha.finalize()),
            vectors[0].sha256,
            "content of {seed}/{size}"
        );
        for (v, importer) in vectors.iter().zip(importers) {
            let (summary, sink) = importer.finish().unwrap();
            assert_eq!(summary.file_size, size);
            assert_eq!(
                (summary.root.to_string(), sink.distinct() as u64),
                (v.cid.clone(), v.blocks),
                "{seed}/{size} under {} (expected from {})",
                v.profile,
                v.source.join(", ")
            );
        }
        eprintln!(
            "{seed}: {size} bytes under {} profiles in {:?}",
            vectors.len(),
            started.elapsed()
        );
    }
}
