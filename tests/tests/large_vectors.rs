//! The 1 GiB and 7.9 GB file vectors under every profile. Minutes of hashing: `tests/run.sh` runs
//! them in release mode; `cargo test --workspace` alone runs them too, only slower.
//!
//! Each content is generated once, on its own thread, and streamed into one importer per profile
//! and into SHA-256 (checked against the vector first); nothing is written to disk.

use ingest_tests::{file_vectors_by_content, import_content_for};

#[test]
fn file_vectors_of_1_gib_and_more() {
    let groups = file_vectors_by_content(|size| size >= 1 << 30);
    assert!(groups.len() >= 2, "the large vectors were not found");
    for ((seed, size), vectors) in groups {
        let started = std::time::Instant::now();
        for (v, (cid, blocks, file_size)) in vectors
            .iter()
            .zip(import_content_for(&seed, size, &vectors))
        {
            assert_eq!(file_size, size);
            assert_eq!(
                (cid, blocks),
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
