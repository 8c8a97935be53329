//! Split invariance: how the bytes arrive (slice sizes, thread count) never changes the root.
//! Small chunk sizes and link counts make deep trees out of a few kilobytes.

use std::num::NonZeroUsize;

use ingest_core::unixfs::{CidVersion, FileImporter, HashOnly, ImportOptions, Overrides, Profile};
use proptest::prelude::*;

fn root(profile: &Profile, threads: usize, data: &[u8], cuts: &[usize]) -> String {
    let options = ImportOptions {
        threads: NonZeroUsize::new(threads).unwrap(),
    };
    let mut importer = FileImporter::with_options(profile, options, HashOnly);
    let mut start = 0;
    for &cut in cuts {
        let cut = cut.clamp(start, data.len());
        importer.push(&data[start..cut]).unwrap();
        start = cut;
    }
    importer.push(&data[start..]).unwrap();
    importer.finish().unwrap().0.root.to_string()
}

fn small_profile() -> impl Strategy<Value = Profile> {
    (
        0..3usize,
        1u32..300,
        2u32..6,
        any::<Option<bool>>(),
        any::<Option<bool>>(),
    )
        .prop_map(|(base, chunk, links, raw, v1)| {
            let o = Overrides {
                chunk_size: Some(chunk),
                max_links: Some(links),
                raw_leaves: raw,
                cid_version: v1.map(|v1| if v1 { CidVersion::V1 } else { CidVersion::V0 }),
            };
            Profile::PRESETS[base].with_overrides(&o).unwrap()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn slicing_and_threads_never_change_the_root(
        profile in small_profile(),
        data in proptest::collection::vec(any::<u8>(), 0..6000),
        mut cuts in proptest::collection::vec(0usize..6000, 0..20),
        threads in 2usize..5,
    ) {
        cuts.sort_unstable();
        let whole = root(&profile, 1, &data, &[]);
        prop_assert_eq!(&root(&profile, threads, &data, &cuts), &whole);
        let chunk = profile.chunk_size();
        for slice in [1, 7, chunk.saturating_sub(1).max(1), chunk, chunk + 1] {
            let even: Vec<usize> = (slice..data.len()).step_by(slice).collect();
            prop_assert_eq!(&root(&profile, threads, &data, &even), &whole, "slices of {}", slice);
        }
    }
}
