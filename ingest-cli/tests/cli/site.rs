//! `ingest site`: the website of a catalogue, as a CAR (its browser test is in
//! `tests/network/site.rs`).

use crate::common::{car_root_and_cids, cli, ingest, json_lines, stderr};

#[test]
fn a_site_is_deterministic_links_the_catalogue_and_refuses_a_bad_base() {
    let tmp = tempfile::tempdir().unwrap();
    let mut records = cli().archive_many(tmp.path(), "youtube", 6, "site");
    records.extend(cli().archive_many(tmp.path(), "vimeo", 3, "site"));
    let paths: Vec<&str> = records.iter().map(|p| p.to_str().unwrap()).collect();
    let path = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();
    let (catalogue, _) = cli().merge_root(&[&paths[..], &["--out", &path("cat.car")]].concat());

    let site = |args: &[&str]| {
        let o = ingest(&[&["site", "--json", "-q"], args].concat());
        assert!(o.status.success(), "{}", stderr(&o));
        json_lines(&o).remove(0)
    };
    let first = site(&[&path("cat.car"), "--out", &path("site.car")]);
    assert_eq!(first["videos"], 9);
    assert_eq!(
        first["sites"],
        serde_json::json!({"vimeo": 3, "youtube": 6})
    );
    assert_eq!(first["catalogue"], catalogue.as_str());
    assert_eq!(first["records_read"], 9);
    // The CAR is rooted at the site and holds none of the catalogue's blocks.
    let (root, cids) = car_root_and_cids(&tmp.path().join("site.car"));
    assert_eq!(first["root"], root.as_str());
    let (_, catalogue_cids) = car_root_and_cids(&tmp.path().join("cat.car"));
    assert!(cids.iter().all(|c| !catalogue_cids.contains(c)));
    // The same catalogue and title give the same root; another title another one; a base
    // changes nothing but what is read.
    let again = site(&[&path("cat.car"), "--out", &path("again.car")]);
    assert_eq!(again["root"], first["root"]);
    let titled = site(&[
        &path("cat.car"),
        "--out",
        &path("t.car"),
        "--title",
        "Other",
    ]);
    assert_ne!(titled["root"], first["root"]);
    let based = site(&[
        &path("cat.car"),
        "--base",
        &path("site.car"),
        "--out",
        &path("b.car"),
    ]);
    assert_eq!(based["root"], first["root"]);
    assert_eq!(based["records_read"], 0);
    assert_eq!(based["pages_reused"], based["pages"]);

    // A base that is not a site: refused, named, nothing written.
    let o = ingest(&[
        "site",
        &path("cat.car"),
        "--base",
        &path("cat.car"),
        "--out",
        &path("bad.car"),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("not a site"), "{}", stderr(&o));
    assert!(!tmp.path().join("bad.car").exists());
    // A catalogue that is not there: named.
    let o = ingest(&["site", &path("nope.car"), "--out", &path("bad.car")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nope.car"), "{}", stderr(&o));
}
