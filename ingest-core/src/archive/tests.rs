use super::*;
use crate::unixfs::block::RAW;
use crate::unixfs::block::{cid_of, DAG_PB};
use crate::unixfs::profile::{CidVersion, Profile};
use crate::unixfs::sink::MemorySink;
use cid::Cid;
use ipld_core::ipld::Ipld;
use proptest::prelude::*;

fn raw_cid(bytes: &[u8]) -> Cid {
    cid_of(CidVersion::V1, RAW, bytes)
}

fn sample() -> Record {
    Record {
        profile: "unixfs-v1-2025".into(),
        source: Source {
            site: "youtube".into(),
            id: "dQw4w9WgXcQ".into(),
            url: Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ".into()),
        },
        files: vec![RecordFile {
            role: Role::Video,
            name: "dQw4w9WgXcQ.mp4".into(),
            cid: raw_cid(b"video"),
            size: 5,
            dag_size: 5,
            format_id: Some("18".into()),
        }],
        meta: Meta {
            title: Some("A title".into()),
            tags: vec!["music".into(), "80s".into()],
            duration_ms: Some(212_000),
            ..Meta::default()
        },
    }
}

/// Minimal CBOR writing, to make records this crate would never write.
fn cbor_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend(n.to_be_bytes());
        }
    }
}

fn cbor_str(out: &mut Vec<u8>, s: &str) {
    cbor_head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

#[test]
fn encode_decode_encode_is_byte_identical() {
    let r = sample();
    let bytes = r.encode().unwrap();
    let back = Record::decode(&bytes).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.encode().unwrap(), bytes);
}

#[test]
fn absent_fields_are_left_out() {
    let bytes = sample().encode().unwrap();
    let ipld: Ipld = serde_ipld_dagcbor::from_slice(&bytes).unwrap();
    let Ipld::Map(root) = ipld else { panic!() };
    let Ipld::Map(meta) = &root["meta"] else {
        panic!()
    };
    assert!(!meta.contains_key("uploader"));
    assert!(
        !meta.contains_key("categories"),
        "an empty list is left out"
    );
    fn has_null(ipld: &Ipld) -> bool {
        match ipld {
            Ipld::Null => true,
            Ipld::List(items) => items.iter().any(has_null),
            Ipld::Map(m) => m.values().any(has_null),
            _ => false,
        }
    }
    assert!(!has_null(&Ipld::Map(root.clone())), "no null anywhere");
}

#[test]
fn unknown_versions_are_refused_before_anything_else() {
    let mut ipld = sample().to_ipld();
    if let Ipld::Map(m) = &mut ipld {
        m.insert("version".into(), Ipld::Integer(2));
        m.insert("something_new".into(), Ipld::Bool(true));
    }
    let bytes = serde_ipld_dagcbor::to_vec(&ipld).unwrap();
    assert!(matches!(
        Record::decode(&bytes),
        Err(RecordError::UnsupportedVersion { version: 2 })
    ));
}

fn with_field(path: &[&str], value: Option<Ipld>) -> Vec<u8> {
    fn set(ipld: &mut Ipld, path: &[&str], value: Option<Ipld>) {
        match (ipld, path) {
            (Ipld::Map(m), [key]) => {
                match value {
                    Some(v) => m.insert((*key).into(), v),
                    None => m.remove(*key),
                };
            }
            (Ipld::Map(m), [key, rest @ ..]) => set(m.get_mut(*key).unwrap(), rest, value),
            (Ipld::List(l), [index, rest @ ..]) => {
                set(&mut l[index.parse::<usize>().unwrap()], rest, value)
            }
            _ => panic!("bad path"),
        }
    }
    let mut ipld = sample().to_ipld();
    set(&mut ipld, path, value);
    serde_ipld_dagcbor::to_vec(&ipld).unwrap()
}

#[test]
fn errors_name_the_field() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (with_field(&["profile"], None), "field profile: missing"),
        (
            with_field(&["profile"], Some(Ipld::Integer(1))),
            "field profile: expected a string",
        ),
        (
            with_field(&["source", "site"], Some(Ipld::String("YouTube".into()))),
            "field source.site",
        ),
        (
            with_field(&["source", "id"], Some(Ipld::String("a/b".into()))),
            "field source.id",
        ),
        (
            with_field(&["files", "0", "cid"], Some(Ipld::String("bafy".into()))),
            "field files[0].cid: expected a CID link",
        ),
        (
            with_field(&["files", "0", "size"], Some(Ipld::Integer(-1))),
            "field files[0].size",
        ),
        (
            with_field(
                &["files", "0", "role"],
                Some(Ipld::String("trailer".into())),
            ),
            "field files[0].role: unknown role",
        ),
        (
            with_field(&["files", "0", "extra"], Some(Ipld::Null)),
            "field files[0].extra: not part of schema",
        ),
        (
            with_field(&["meta", "title"], Some(Ipld::Null)),
            "field meta.title: expected a string",
        ),
        (
            with_field(&["meta", "tags"], Some(Ipld::List(vec![]))),
            "field meta.tags",
        ),
        (
            with_field(
                &["meta", "upload_date"],
                Some(Ipld::String("2024-01-01".into())),
            ),
            "field meta.upload_date",
        ),
        (
            with_field(&["files"], Some(Ipld::List(vec![]))),
            "field files",
        ),
        (
            with_field(&["profile"], Some(Ipld::String("unixfs-v9".into()))),
            "field profile",
        ),
        (
            with_field(
                &["meta", "description"],
                Some(Ipld::String("x".repeat(MAX_DESCRIPTION_LEN + 1))),
            ),
            "field meta.description",
        ),
        (
            with_field(
                &["meta", "tags"],
                Some(Ipld::List(vec![Ipld::String("t".into()); MAX_TAGS + 1])),
            ),
            "field meta.tags",
        ),
    ];
    for (bytes, want) in cases {
        let err = Record::decode(&bytes).unwrap_err().to_string();
        assert!(err.contains(want), "{err:?} does not contain {want:?}");
    }
}

#[test]
fn a_truncated_record_is_refused() {
    let bytes = sample().encode().unwrap();
    for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            matches!(
                Record::decode(&bytes[..cut]),
                Err(RecordError::Decode { .. })
            ),
            "cut at {cut}"
        );
    }
}

#[test]
fn a_record_with_a_trailing_byte_is_refused() {
    let mut trailing = sample().encode().unwrap();
    trailing.push(0);
    assert!(matches!(
        Record::decode(&trailing),
        Err(RecordError::Decode { .. })
    ));
}

#[test]
fn an_oversized_record_is_refused() {
    let huge = vec![0u8; MAX_RECORD_LEN + 1];
    assert!(matches!(
        Record::decode(&huge),
        Err(RecordError::TooLarge { .. })
    ));
}

#[test]
fn non_canonical_encodings_are_refused() {
    // `{"version": 1}` alone is canonical but incomplete; the same map with its integer in two
    // bytes (0x18 0x01) is the same data, not canonical.
    let canonical = sample().encode().unwrap();
    let needle = [0x67, b'v', b'e', b'r', b's', b'i', b'o', b'n', 0x01];
    let at = canonical
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut wide = canonical[..at + needle.len() - 1].to_vec();
    wide.extend([0x18, 0x01]);
    wide.extend_from_slice(&canonical[at + needle.len()..]);
    let err = Record::decode(&wide).unwrap_err();
    assert!(matches!(err, RecordError::NotCanonical { .. }), "{err}");

    // Keys out of canonical order: "version" written before "meta".
    let Ipld::Map(root) = sample().to_ipld() else {
        panic!()
    };
    let mut keys: Vec<&String> = root.keys().collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
    let mut out = Vec::new();
    cbor_head(&mut out, 5, keys.len() as u64);
    for k in keys {
        cbor_str(&mut out, k);
        out.extend(serde_ipld_dagcbor::to_vec(&root[k]).unwrap());
    }
    let err = Record::decode(&out).unwrap_err();
    assert!(matches!(err, RecordError::NotCanonical { .. }), "{err}");
}

#[test]
fn a_cid_that_does_not_parse_is_refused() {
    let bytes = sample().encode().unwrap();
    // The file CID is tag 42 over bytes 0x00 + CID; break the CID's version byte.
    let cid_bytes = raw_cid(b"video").to_bytes();
    let at = bytes
        .windows(cid_bytes.len())
        .position(|w| w == cid_bytes)
        .unwrap();
    let mut broken = bytes.clone();
    broken[at] = 0x07;
    assert!(matches!(
        Record::decode(&broken),
        Err(RecordError::Decode { .. })
    ));
}

#[test]
fn the_directory_is_a_function_of_the_record() {
    let r = sample();
    let mut a = MemorySink::new();
    let mut b = MemorySink::new();
    let first = r.write_directory(&mut a).unwrap();
    let second = r.clone().write_directory(&mut b).unwrap();
    assert_eq!(first, second);
    assert_eq!(first.record, r.cid().unwrap());
    // The record's block and its file are both there, with the record's bytes.
    assert_eq!(a.get(&first.record).unwrap(), r.encode().unwrap());
    assert_eq!(
        a.get(&first.record_file).unwrap(),
        r.encode().unwrap(),
        "a raw leaf"
    );
}

fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-zA-Z0-9 éü\\-_.]{{0,{max}}}")).unwrap()
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9][a-zA-Z0-9_.-]{0,30}".prop_filter("not the record's name, not a page", |s| {
        s != "record.cbor" && crate::archive::active::by_name(s).is_none()
    })
}

fn record() -> impl Strategy<Value = Record> {
    let files = proptest::collection::btree_map(
        name(),
        (
            0usize..6,
            any::<[u8; 4]>(),
            any::<u64>(),
            any::<u64>(),
            proptest::option::of(text(8)),
        ),
        1..5,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(
                |(name, (role, seed, size, dag_size, format_id))| RecordFile {
                    role: Role::ALL[role],
                    name,
                    cid: raw_cid(&seed),
                    size,
                    dag_size,
                    format_id,
                },
            )
            .collect::<Vec<_>>()
    });
    let meta = (
        (
            proptest::option::of(text(40)),
            proptest::option::of(text(20)),
            proptest::option::of(text(20)),
        ),
        (
            proptest::option::of("[0-9]{8}"),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
        ),
        (
            proptest::option::of(text(200)),
            proptest::collection::vec(text(10), 0..5),
        ),
        (
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
        ),
    )
        .prop_map(
            |(
                (title, uploader, channel),
                (upload_date, timestamp, duration_ms),
                (description, tags),
                (width, height),
            )| Meta {
                title,
                uploader,
                channel,
                upload_date,
                timestamp,
                duration_ms,
                description,
                tags,
                width,
                height,
                ..Meta::default()
            },
        );
    (
        0usize..3,
        "[a-z0-9]{1,12}",
        name(),
        proptest::option::of(text(60)),
        files,
        meta,
    )
        .prop_map(|(profile, site, id, url, mut files, meta)| {
            // What an import under the profile can give: a file root it can make, and no
            // more content than DAG (sizes well below 2^64, so a directory's sum fits).
            let p = &Profile::PRESETS[profile];
            for f in &mut files {
                if !p.raw_leaves() {
                    f.cid = cid_of(p.cid_version(), DAG_PB, &f.cid.to_bytes());
                }
                let (a, b) = (f.size >> 14, f.dag_size >> 14);
                (f.size, f.dag_size) = (a.min(b), a.max(b));
            }
            Record {
                profile: p.name().to_owned(),
                source: Source { site, id, url },
                files,
                meta,
            }
        })
}

proptest! {
    #[test]
    fn round_trips(r in record()) {
        let bytes = r.encode().unwrap();
        let back = Record::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &r);
        prop_assert_eq!(back.encode().unwrap(), bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Record::decode(&bytes);
    }

    /// Adversarial records: a valid record's bytes with some flipped, cut or spliced in.
    /// Decoding ends in an error or in a record that is valid and re-encodes to the same
    /// bytes, never a panic.
    #[test]
    fn mutated_records_decode_only_to_canonical_valid_records(
        r in record(),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let mut bytes = r.encode().unwrap();
        crate::testutil::mutate(&mut bytes, &edits);
        if let Ok(back) = Record::decode(&bytes) {
            prop_assert_eq!(back.encode().unwrap(), bytes);
        }
    }
}

/// An id or a file name with a control character or a bidirectional override would split a
/// line of `export-archive` (plain yt-dlp would then skip a video nobody archived) or disguise
/// a name: refused on decoding (each `value` at its `path` here), naming the field, and on
/// encoding.
fn assert_refused_on_decoding(cases: &[(&[&str], &str)]) {
    for &(path, value) in cases {
        let bytes = with_field(path, Some(Ipld::String(value.into())));
        let err = Record::decode(&bytes).unwrap_err();
        assert!(
            err.to_string().contains("control character"),
            "{path:?} = {value:?}: {err}"
        );
    }
}

#[test]
fn a_control_character_in_an_id_is_refused_on_decoding() {
    assert_refused_on_decoding(&[
        (&["source", "id"], "abc\nexample 2"),
        (&["source", "id"], "abc\r"),
        (&["source", "id"], "a\u{85}b"),
    ]);
}

#[test]
fn a_control_character_in_a_file_name_or_format_is_refused_on_decoding() {
    assert_refused_on_decoding(&[
        (&["files", "0", "name"], "clip\u{202E}4pm.exe"),
        (&["files", "0", "name"], "clip\u{7f}.mp4"),
        (&["files", "0", "format_id"], "18\u{1b}[31m"),
    ]);
}

/// A record whose id has a control character is not encoded either, naming the field.
#[test]
fn a_control_character_in_an_id_is_refused_on_encoding() {
    let mut record = sample();
    record.source.id = "abc\nexample 2".into();
    let err = record.encode().unwrap_err();
    assert!(err.to_string().starts_with("field source.id:"), "{err}");
}

/// A record must describe what its profile's import gives: a file root of the profile's kind
/// (not a CIDv0 under a CIDv1 profile, an identity hash, another codec), no more content
/// than DAG; and a directory's dag size never wraps around.
#[test]
fn records_that_no_import_under_their_profile_gives_are_refused() {
    let identity = Cid::new_v1(RAW, multihash::Multihash::<64>::wrap(0, b"hi").unwrap());
    let v0 = cid_of(CidVersion::V0, DAG_PB, b"node");
    let cbor = cid_of(CidVersion::V1, crate::unixfs::DAG_CBOR, b"x");
    for (cid, why) in [
        (v0, "a CIDv0"),
        (identity, "an identity hash"),
        (cbor, "DAG-CBOR"),
    ] {
        let bytes = with_field(&["files", "0", "cid"], Some(Ipld::Link(cid)));
        let err = Record::decode(&bytes).unwrap_err();
        assert!(
            err.to_string().starts_with("field files[0].cid:"),
            "{why}: {err}"
        );
    }
    // Under unixfs-v0-2015 a raw CIDv1 is no file root, a dag-pb CIDv0 is.
    let mut r = sample();
    r.profile = "unixfs-v0-2015".into();
    assert!(r.encode().is_err());
    r.files[0].cid = v0;
    r.encode().unwrap();

    let bytes = with_field(&["files", "0", "size"], Some(Ipld::Integer(10_000_000_000)));
    let err = Record::decode(&bytes).unwrap_err();
    assert!(err.to_string().starts_with("field files[0].size:"), "{err}");

    let mut r = sample();
    let mut second = r.files[0].clone();
    second.name = "other.mp4".into();
    for f in [&mut r.files[0], &mut second] {
        (f.size, f.dag_size) = (1, 1 << 63);
    }
    r.files.push(second);
    let err = r.write_directory(&mut MemorySink::new()).unwrap_err();
    assert!(format!("{err:?}").contains("DagSizeOverflow"), "{err:?}");
}

/// Any JSON value: what a hostile or broken info.json can hold.
fn json() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "(vid|18|mp4|none|youtube|Youtube|[a-z0-9.\\n]{0,12})".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(
                "(id|extractor_key|extractor|webpage_url|title|duration|tags|formats|format_id|ext|vcodec|requested_formats|subtitles|filesize|upload_date|timestamp|[a-z_]{1,8})",
                inner,
                0..12,
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever an info.json holds, reading it, its source, metadata, files and warnings ends
    /// in values or errors, never a panic.
    #[test]
    fn the_info_json_reader_never_panics(value in json()) {
        let dir = tempfile::tempdir().unwrap();
        for name in ["vid.mp4", "vid.f18.mp4", "vid.en.vtt", "vid.x.mp4", "vid.jpg"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let path = dir.path().join("vid.info.json");
        std::fs::write(&path, serde_json::to_vec(&value).unwrap()).unwrap();
        if let Ok(info) = InfoJson::read(&path) {
            let _ = info.source().map(|s| s.validate());
            let _ = info.meta();
            if let Ok(files) = info.files() {
                let _ = info.warnings(&files);
            }
        }
    }
}

/// A file whose CID and size match but whose dag size does not is told apart in words: both
/// dag sizes are named, not two identical CIDs.
#[test]
fn a_differing_dag_size_is_named() {
    let r = sample();
    let f = &r.files[0];
    let check = FileCheck::Differs {
        root: f.cid,
        file_size: f.size,
        dag_size: f.dag_size + 1,
    };
    let words = check.describe(f);
    assert!(
        words.contains(&format!("dag size {}", f.dag_size + 1))
            && words.contains(&format!("dag size {}", f.dag_size)),
        "{words}"
    );
}

#[test]
fn a_record_holding_a_page_or_a_script_is_refused() {
    for name in ["notes.html", "thumb.svg", "player.js", "feed.XML"] {
        let bytes = with_field(&["files", "0", "name"], Some(Ipld::String(name.into())));
        let err = Record::decode(&bytes).unwrap_err().to_string();
        assert!(
            err.contains("files[0].name") && err.contains(name) && err.contains("page or a script"),
            "{name}: {err}"
        );
    }
    // Media named like their containers are not pages.
    let bytes = with_field(&["files", "0", "name"], Some(Ipld::String("seg.ts".into())));
    Record::decode(&bytes).unwrap();
}
