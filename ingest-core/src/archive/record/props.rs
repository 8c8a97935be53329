//! Property tests of [`Record::decode`] on untrusted DAG-CBOR (`archive/tests.rs` holds the
//! byte-level ones: arbitrary bytes, mutated encodings re-encoding the same): here, records
//! whose IPLD has one value replaced by any other (a wrong type, an unknown key, a deeper
//! tree, a huge or negative integer), encoded canonically so the decoder's schema walk, not
//! the CBOR reader, meets them. Never a panic; a record decoded is valid and bounded by its
//! bytes; an error message is bounded too.

use std::collections::BTreeMap;

use cid::Cid;
use ipld_core::ipld::Ipld;
use proptest::prelude::*;

use crate::archive::{Meta, Record, RecordFile, Role, Source};
use crate::unixfs::block::{cid_of, RAW};
use crate::unixfs::profile::CidVersion;

fn raw_cid(bytes: &[u8]) -> Cid {
    cid_of(CidVersion::V1, RAW, bytes)
}

/// A valid record with every kind of field set.
fn seed() -> Record {
    let file = |role, name: &str, format_id: Option<&str>| RecordFile {
        role,
        name: name.into(),
        cid: raw_cid(name.as_bytes()),
        size: 1000,
        dag_size: 1000,
        format_id: format_id.map(Into::into),
    };
    Record {
        profile: "unixfs-v1-2025".into(),
        source: Source {
            site: "youtube".into(),
            id: "dQw4w9WgXcQ".into(),
            url: Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ".into()),
        },
        files: vec![
            file(Role::Video, "dQw4w9WgXcQ.mp4", Some("18")),
            file(Role::Thumbnail, "dQw4w9WgXcQ.jpg", None),
        ],
        meta: Meta {
            title: Some("A title".into()),
            uploader: Some("Someone".into()),
            upload_date: Some("20091025".into()),
            timestamp: Some(1_256_450_000),
            duration_ms: Some(212_000),
            description: Some("Words.".into()),
            tags: vec!["music".into(), "80s".into()],
            categories: vec!["Music".into()],
            width: Some(640),
            height: Some(360),
            language: Some("en".into()),
            license: Some("Standard".into()),
            age_limit: Some(0),
            ..Meta::default()
        },
    }
}

/// Any IPLD value, a few levels deep.
fn ipld() -> impl Strategy<Value = Ipld> {
    let leaf = prop_oneof![
        Just(Ipld::Null),
        any::<bool>().prop_map(Ipld::Bool),
        any::<i64>().prop_map(|i| Ipld::Integer(i.into())),
        any::<u64>().prop_map(|i| Ipld::Integer(i.into())),
        (-1e12f64..1e12).prop_map(Ipld::Float),
        "\\PC{0,24}".prop_map(Ipld::String),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(Ipld::Bytes),
        any::<[u8; 4]>().prop_map(|b| Ipld::Link(raw_cid(&b))),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Ipld::List),
            proptest::collection::btree_map("[a-z_]{0,10}", inner, 0..4).prop_map(Ipld::Map),
        ]
    })
}

/// The `n`-th value of `tree` in pre-order (`n` modulo their count), for [`replace`].
fn count(tree: &Ipld) -> usize {
    1 + match tree {
        Ipld::List(items) => items.iter().map(count).sum(),
        Ipld::Map(map) => map.values().map(count).sum(),
        _ => 0,
    }
}

/// Replaces the `n`-th value of `tree` in pre-order by `with`; in a map, `key` may instead add
/// a key beside it.
fn replace(tree: &mut Ipld, n: &mut usize, with: &Ipld, key: Option<&str>) -> bool {
    if *n == 0 {
        *tree = with.clone();
        return true;
    }
    *n -= 1;
    match tree {
        Ipld::List(items) => items.iter_mut().any(|v| replace(v, n, with, key)),
        Ipld::Map(map) => {
            if *n == 0 {
                if let Some(key) = key {
                    map.insert(key.to_owned(), with.clone());
                    return true;
                }
            }
            map.values_mut().any(|v| replace(v, n, with, key))
        }
        _ => false,
    }
}

/// Every string and byte string of a record, and its list lengths: what it holds.
fn held(record: &Record) -> usize {
    let meta = &record.meta;
    let texts = [
        &meta.title,
        &meta.uploader,
        &meta.uploader_id,
        &meta.channel,
        &meta.channel_id,
        &meta.upload_date,
        &meta.description,
        &meta.language,
        &meta.license,
        &record.source.url,
    ];
    record.profile.len()
        + record.source.site.len()
        + record.source.id.len()
        + texts
            .iter()
            .filter_map(|t| t.as_ref())
            .map(String::len)
            .sum::<usize>()
        + meta
            .tags
            .iter()
            .chain(&meta.categories)
            .map(|t| 1 + t.len())
            .sum::<usize>()
        + record
            .files
            .iter()
            .map(|f| 1 + f.name.len() + f.format_id.as_ref().map_or(0, String::len))
            .sum::<usize>()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// A record whose IPLD has one value replaced (or one key added): decoded to a valid
    /// record bounded by its bytes, or refused with a bounded message.
    #[test]
    fn records_with_any_value_replaced_decode_bounded(
        at in any::<usize>(),
        with in ipld(),
        key in proptest::option::of("[a-z_]{1,12}"),
    ) {
        let mut tree: Ipld = serde_ipld_dagcbor::from_slice(&seed().encode().expect("valid"))
            .expect("a record decodes as IPLD");
        let mut n = at % count(&tree);
        prop_assert!(replace(&mut tree, &mut n, &with, key.as_deref()));
        // A float that is not finite has no DAG-CBOR form: nothing to decode.
        let Ok(bytes) = serde_ipld_dagcbor::to_vec(&tree) else {
            return Ok(());
        };
        match Record::decode(&bytes) {
            Ok(record) => {
                prop_assert!(held(&record) <= bytes.len());
                prop_assert_eq!(record.encode().expect("a decoded record is valid"), bytes);
            }
            Err(error) => {
                let text = error.to_string();
                prop_assert!(text.len() <= 3 * bytes.len() + 300, "{}", text);
            }
        }
    }

    /// Arbitrary maps and lists of the record's own keys at the top.
    #[test]
    fn any_tree_decodes_bounded(fields in proptest::collection::btree_map(
        prop_oneof![
            Just("version".to_owned()),
            Just("profile".to_owned()),
            Just("source".to_owned()),
            Just("files".to_owned()),
            Just("meta".to_owned()),
            "[a-z]{1,6}",
        ],
        ipld(),
        0..6,
    )) {
        let tree = Ipld::Map(fields.into_iter().collect::<BTreeMap<_, _>>());
        let Ok(bytes) = serde_ipld_dagcbor::to_vec(&tree) else {
            return Ok(());
        };
        match Record::decode(&bytes) {
            Ok(record) => prop_assert!(held(&record) <= bytes.len()),
            Err(error) => prop_assert!(error.to_string().len() <= 3 * bytes.len() + 300),
        }
    }
}
