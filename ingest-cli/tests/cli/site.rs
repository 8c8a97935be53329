//! `ingest site`: the website of a catalogue, as a CAR (its browser test is in
//! `tests/network/site.rs`).

use crate::common::{car_root_and_cids, cli, ingest, json_lines, stderr};

/// `tmp/NAME` as a string.
fn at(tmp: &std::path::Path, name: &str) -> String {
    tmp.join(name).to_str().unwrap().to_owned()
}

/// `ingest site --json -q ARGS`, which must succeed: its line of JSON.
fn site_json(args: &[&str]) -> serde_json::Value {
    let o = ingest(&[&["site", "--json", "-q"], args].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    json_lines(&o).remove(0)
}

/// Six records of youtube and three of vimeo archived in `tmp` and merged into `tmp/cat.car`:
/// the catalogue's root.
fn nine_videos(tmp: &std::path::Path) -> String {
    let mut records = cli().archive_many(tmp, "youtube", 6, "site");
    records.extend(cli().archive_many(tmp, "vimeo", 3, "site"));
    let paths: Vec<&str> = records.iter().map(|p| p.to_str().unwrap()).collect();
    let (catalogue, _) = cli().merge_root(&[&paths[..], &["--out", &at(tmp, "cat.car")]].concat());
    catalogue
}

/// The catalogue of [`nine_videos`] and its site, built into `tmp/site.car`: the catalogue's
/// root and the site's line of JSON.
fn nine_videos_site(tmp: &std::path::Path) -> (String, serde_json::Value) {
    let catalogue = nine_videos(tmp);
    let first = site_json(&[&at(tmp, "cat.car"), "--out", &at(tmp, "site.car")]);
    (catalogue, first)
}

#[test]
fn a_site_counts_the_videos_of_its_catalogue() {
    let tmp = tempfile::tempdir().unwrap();
    let (catalogue, first) = nine_videos_site(tmp.path());
    assert_eq!(first["videos"], 9);
    assert_eq!(
        first["sites"],
        serde_json::json!({"vimeo": 3, "youtube": 6})
    );
    assert_eq!(first["catalogue"], catalogue.as_str());
    assert_eq!(first["records_read"], 9);
}

/// The CAR is rooted at the site and holds none of the catalogue's blocks.
#[test]
fn a_site_links_the_catalogue_without_copying_its_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, first) = nine_videos_site(tmp.path());
    let (root, cids) = car_root_and_cids(&tmp.path().join("site.car"));
    assert_eq!(first["root"], root.as_str());
    let (_, catalogue_cids) = car_root_and_cids(&tmp.path().join("cat.car"));
    assert!(cids.iter().all(|c| !catalogue_cids.contains(c)));
}

/// The same catalogue and title give the same root.
#[test]
fn a_site_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, first) = nine_videos_site(tmp.path());
    let path = |name: &str| at(tmp.path(), name);
    let again = site_json(&[&path("cat.car"), "--out", &path("again.car")]);
    assert_eq!(again["root"], first["root"]);
}

#[test]
fn another_title_gives_another_site() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, first) = nine_videos_site(tmp.path());
    let path = |name: &str| at(tmp.path(), name);
    let titled = site_json(&[
        &path("cat.car"),
        "--out",
        &path("t.car"),
        "--title",
        "Other",
    ]);
    assert_ne!(titled["root"], first["root"]);
}

#[test]
fn a_base_changes_nothing_but_what_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, first) = nine_videos_site(tmp.path());
    let path = |name: &str| at(tmp.path(), name);
    let based = site_json(&[
        &path("cat.car"),
        "--base",
        &path("site.car"),
        "--out",
        &path("b.car"),
    ]);
    assert_eq!(based["root"], first["root"]);
    assert_eq!(based["records_read"], 0);
    assert_eq!(based["pages_reused"], based["pages"]);
}

/// A base that is not a site: refused, named, nothing written.
#[test]
fn a_base_that_is_not_a_site_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    nine_videos(tmp.path());
    let path = |name: &str| at(tmp.path(), name);
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
}

/// A catalogue that is not there: named.
#[test]
fn a_missing_catalogue_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let path = |name: &str| at(tmp.path(), name);
    let o = ingest(&["site", &path("nope.car"), "--out", &path("bad.car")]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("nope.car"), "{}", stderr(&o));
}
