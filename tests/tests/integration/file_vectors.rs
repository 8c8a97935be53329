//! The file vectors of `fixtures/vectors/files.json` below 1 GiB, under every profile, and one
//! expectation through every code path (slicing, adapters, thread counts, sinks).

use std::collections::BTreeMap;
use std::io::Cursor;
use std::num::NonZeroUsize;

use ingest_core::car::{CarReader, CarWriter};
use ingest_core::unixfs::{
    BlockSink, CountingSink, FileImporter, HashOnly, ImportOptions, ImportWriter, MemorySink,
    Profile,
};
use ingest_tests::{file_vectors_by_content, import_content_for, Content, FileVector};

fn by_content(keep: impl Fn(u64) -> bool) -> BTreeMap<(String, u64), Vec<FileVector>> {
    file_vectors_by_content(keep)
}

fn profile(v: &FileVector) -> Profile {
    Profile::by_name(&v.profile).expect("vector names a known profile")
}

fn describe(v: &FileVector) -> String {
    format!(
        "{}/{} bytes under {} (expected from {})",
        v.seed,
        v.size,
        v.profile,
        v.source.join(", ")
    )
}

#[test]
fn every_file_vector_below_1_gib_under_every_profile() {
    let groups = by_content(|size| size < 1 << 30);
    assert!(groups.len() >= 15, "the vectors were not all found");
    let mut failures = Vec::new();
    let mut checked = 0;
    for ((seed, size), vectors) in groups {
        for (v, (cid, blocks, file_size)) in vectors
            .iter()
            .zip(import_content_for(&seed, size, &vectors))
        {
            checked += 1;
            if cid != v.cid || blocks != v.blocks {
                failures.push(format!(
                    "{}: got {cid} with {blocks} blocks, want {} with {}",
                    describe(v),
                    v.cid,
                    v.blocks
                ));
            }
            assert_eq!(file_size, size);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} vectors differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Imports `data` under `profile` pushed in slices of `slice` bytes.
fn root_in_slices<S: BlockSink>(
    profile: &Profile,
    threads: usize,
    data: &[u8],
    slice: usize,
    sink: S,
) -> (String, S) {
    let options = ImportOptions {
        threads: NonZeroUsize::new(threads).unwrap(),
    };
    let mut importer = FileImporter::with_options(profile, options, sink);
    for piece in data.chunks(slice.max(1)) {
        importer.push(piece).unwrap();
    }
    let (summary, sink) = importer.finish().unwrap();
    (summary.root.to_string(), sink)
}

#[test]
fn one_root_through_every_code_path() {
    // Small multi-chunk vectors: one chunk + 1 byte, several chunks, and a short last chunk.
    let groups = by_content(|size| (1..=2_200_000).contains(&size));
    assert!(!groups.is_empty());
    for ((seed, size), vectors) in groups {
        let data = Content::bytes(&seed, size);
        for v in &vectors {
            let p = profile(v);
            let chunk = p.chunk_size();
            let what = describe(v);
            let slices = [7, chunk - 1, chunk, chunk + 1, data.len()];
            for threads in [1, 2, 3] {
                for slice in slices {
                    let (root, _) = root_in_slices(&p, threads, &data, slice, HashOnly);
                    assert_eq!(root, v.cid, "{what}, {threads} threads, slices of {slice}");
                }
            }
            if size <= 300_000 {
                let (root, _) = root_in_slices(&p, 2, &data, 1, HashOnly);
                assert_eq!(root, v.cid, "{what}, slices of 1");
            }
            // The reader helper, reading straight into chunk buffers.
            let (summary, _) = ingest_core::import_reader(&p, &data[..], HashOnly).unwrap();
            assert_eq!(summary.root.to_string(), v.cid, "{what}, import_reader");
            // The Write adapter.
            let mut writer = ImportWriter::new(&p, HashOnly);
            std::io::copy(&mut &data[..], &mut writer).unwrap();
            assert_eq!(
                writer.finish().unwrap().0.root.to_string(),
                v.cid,
                "{what}, ImportWriter"
            );
            // The in-memory sink keeps every distinct block, the root among them.
            let (root, memory) = root_in_slices(&p, 2, &data, 65_536, MemorySink::new());
            assert_eq!(root, v.cid, "{what}, MemorySink");
            assert_eq!(memory.len() as u64, v.blocks, "{what}, MemorySink blocks");
            // The CAR writer: the root in the header, each block once, every block verified.
            let car =
                CarWriter::with_pending_root(Cursor::new(Vec::new()), p.cid_version()).unwrap();
            let (summary, car) = ingest_core::import_reader(&p, &data[..], car).unwrap();
            let bytes = car.finish_with_root(&summary.root).unwrap().into_inner();
            let mut reader = CarReader::new(&bytes[..]).unwrap();
            assert_eq!(reader.roots()[0].to_string(), v.cid, "{what}, CAR root");
            let blocks = reader
                .by_ref()
                .collect::<Result<Vec<_>, _>>()
                .unwrap()
                .len();
            assert_eq!(blocks as u64, v.blocks, "{what}, CAR blocks");
        }
    }
}

#[test]
fn import_bytes_equals_streaming_for_every_small_vector() {
    for ((seed, size), vectors) in by_content(|size| size <= 1_100_000) {
        let data = Content::bytes(&seed, size);
        for v in &vectors {
            let (summary, sink) =
                ingest_core::unixfs::import_bytes(&profile(v), &data, CountingSink::default())
                    .unwrap();
            assert_eq!(summary.root.to_string(), v.cid, "{}", describe(v));
            assert_eq!(sink.distinct() as u64, v.blocks, "{}", describe(v));
        }
    }
}
