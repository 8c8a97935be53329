//! `ingest record show` and `ingest record check`.

use ingest_tests::fixtures::fake_download;

use crate::common::{cli, ingest, stderr, stdout};

#[test]
fn malformed_records_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let info = fake_download(&tmp.path().join("d"), serde_json::json!({}));
    cli().archive_json(&info, &tmp.path().join("o"));
    let good = std::fs::read(tmp.path().join("o/youtube-vid.record.cbor")).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = tmp.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let mut version2 = good.clone();
    let at = good.windows(8).position(|w| w == b"version\x01").unwrap();
    version2[at + 7] = 0x02;
    // The same record with its version written in two bytes (0x18 0x01): same data, not
    // canonical.
    let mut wide = good[..at + 7].to_vec();
    wide.extend([0x18, 0x01]);
    wide.extend_from_slice(&good[at + 8..]);
    let cases = [
        (write("wide.cbor", &wide), "canonical"),
        (
            write("truncated.cbor", &good[..good.len() / 2]),
            "not valid DAG-CBOR",
        ),
        (
            write("json.cbor", b"{\"version\": 1}"),
            "not valid DAG-CBOR",
        ),
        (write("list.cbor", &[0x81, 0x01]), "expected a map"),
        (write("huge.cbor", &vec![0u8; 300 * 1024]), "over the limit"),
        (write("v2.cbor", &version2), "version 2 is not supported"),
    ];
    for (path, needle) in cases {
        for args in [vec!["record", "show"], vec!["record", "check"]] {
            let mut argv = args.clone();
            argv.push(path.to_str().unwrap());
            let out = ingest(&argv);
            let err = stderr(&out);
            assert_eq!(out.status.code(), Some(1), "{argv:?}: {err}");
            assert!(
                err.contains(path.file_name().unwrap().to_str().unwrap()) && err.contains(needle),
                "{argv:?}: {err}"
            );
        }
    }
    let show = ingest(&[
        "record",
        "show",
        tmp.path()
            .join("o/youtube-vid.record.cbor")
            .to_str()
            .unwrap(),
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&show)).unwrap();
    assert_eq!(json["meta"]["duration_ms"], 12500);
    assert!(json["files"][1]["cid"]["/"]
        .as_str()
        .unwrap()
        .starts_with("bafk"));
}

/// `ingest car` derives an archive's CAR from its files and record: byte for byte the CAR
/// `ingest archive` wrote; a file that is not the record's is refused, naming both CIDs, and
/// nothing is written.
#[test]
fn car_derives_the_archive_car_from_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let info = fake_download(&tmp.path().join("dl"), serde_json::json!({}));
    let out = tmp.path().join("out");
    let archived = cli().archive_json(&info, &out);
    let record = out.join("youtube-vid.record.cbor");
    let data = tmp.path().join("dl");
    let derive = |car: &std::path::Path| {
        ingest(&[
            "car",
            record.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--out",
            car.to_str().unwrap(),
        ])
    };
    let derived = tmp.path().join("derived.car");
    let run = derive(&derived);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stdout(&run).contains(archived["directory"].as_str().unwrap()));
    assert!(
        std::fs::read(&derived).unwrap() == std::fs::read(out.join("youtube-vid.car")).unwrap(),
        "the derived CAR is the archive's, byte for byte"
    );

    std::fs::write(tmp.path().join("dl/vid.jpg"), b"another thumbnail").unwrap();
    let again = tmp.path().join("again.car");
    let run = derive(&again);
    assert_eq!(run.status.code(), Some(1));
    let err = stderr(&run);
    assert!(
        err.contains("vid.jpg gives") && err.contains("but the record names"),
        "{err}"
    );
    assert!(!again.exists());
}
