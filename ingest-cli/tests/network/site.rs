//! `ingest site` in a real browser: 54 videos over two sites, made from ffmpeg clips with
//! thumbnails and yt-dlp-style info.json files, archived, merged and pushed (archives,
//! catalogue, site) to a js-ipfs node, then opened from the node's path gateway by Debian's
//! Chromium driven by puppeteer-core (`tests/browser.sh`), all inside the private namespace.

use std::path::{Path, PathBuf};
use std::process::Command;

use ingest_tests::ipfs::IpfsNode;
use serde_json::{json, Value};

use super::{json_lines, push, run, s, stderr};

/// One animal per video: a word of exactly one title.
#[rustfmt::skip]
const ANIMALS: [&str; 54] = [
    "Aardvark", "Albatross", "Alpaca", "Anteater", "Armadillo", "Badger", "Barracuda", "Beaver",
    "Bison", "Bobcat", "Buffalo", "Camel", "Capybara", "Caribou", "Chameleon", "Cheetah",
    "Chinchilla", "Cormorant", "Coyote", "Crane", "Dingo", "Dolphin", "Dormouse", "Eland", "Falcon",
    "Ferret", "Flamingo", "Gazelle", "Gecko", "Gibbon", "Giraffe", "Gorilla", "Heron", "Hedgehog",
    "Ibex", "Iguana", "Jackal", "Jaguar", "Kestrel", "Koala", "Lemur", "Leopard", "Lynx", "Manatee",
    "Marmot", "Meerkat", "Narwhal", "Ocelot", "Okapi", "Otter", "Pangolin", "Pelican", "Quokka",
    "Walrus",
];

/// The first 30 videos are youtube's, the rest vimeo's.
const YOUTUBE: usize = 30;

struct Clip {
    mp4: PathBuf,
    jpg: PathBuf,
    seconds: f64,
}

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs (tests/setup.sh installs it)");
    assert!(out.status.success(), "ffmpeg {args:?}: {}", stderr(&out));
}

/// Three H.264/AAC clips of different lengths, and a JPEG thumbnail of each.
fn clips(dir: &Path) -> Vec<Clip> {
    std::fs::create_dir_all(dir).unwrap();
    [
        ("testsrc", 2, 440),
        ("testsrc2", 3, 660),
        ("smptebars", 1, 880),
    ]
    .iter()
    .map(|&(source, seconds, tone)| {
        let mp4 = dir.join(format!("{source}.mp4"));
        let jpg = dir.join(format!("{source}.jpg"));
        let video = format!("{source}=duration={seconds}:size=320x240:rate=25");
        let audio = format!("sine=frequency={tone}:duration={seconds}");
        ffmpeg(&[
            "-f",
            "lavfi",
            "-i",
            &video,
            "-f",
            "lavfi",
            "-i",
            &audio,
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
            "-movflags",
            "+faststart",
            s(&mp4),
        ]);
        let still = format!("{source}=size=320x240");
        ffmpeg(&["-f", "lavfi", "-i", &still, "-frames:v", "1", s(&jpg)]);
        Clip {
            mp4,
            jpg,
            seconds: f64::from(seconds),
        }
    })
    .collect()
}

/// Video `n`: its site, id and upload date (later for a larger `n`).
fn video(n: usize) -> (&'static str, String, String) {
    let site = if n < YOUTUBE { "youtube" } else { "vimeo" };
    let id = format!("{n:02}{}", ANIMALS[n].to_lowercase());
    let date = format!("2024{:02}{:02}", 1 + n / 28, 1 + n % 28);
    (site, id, date)
}

/// The video whose page the browser opens: it has a word with a capital letter outside ASCII
/// in its title, and two records.
const SHOWN: usize = 7;

/// Archives video `n` as yt-dlp would have left it (`<stem>.info.json`, `<stem>.mp4`,
/// `<stem>.jpg`), its record into `records`; returns `ingest archive --json`'s line. `take`
/// changes the description, so another take is another record of the same video.
fn archive(downloads: &Path, records: &Path, n: usize, clip: &Clip, take: u32) -> Value {
    std::fs::create_dir_all(downloads).unwrap();
    let (site, id, date) = video(n);
    let stem = downloads.join(format!("{site}-{id}"));
    std::fs::hard_link(&clip.mp4, stem.with_extension("mp4")).unwrap();
    std::fs::hard_link(&clip.jpg, stem.with_extension("jpg")).unwrap();
    let animal = ANIMALS[n];
    let uploader = ["Wildlife Cam", "Night Shift", "Field Notes"][n % 3];
    let title = match n {
        SHOWN => format!("{animal} at dusk, take {n}: Ökosystem am Fluß"),
        _ => format!("{animal} at dusk, take {n}"),
    };
    let info = json!({
        "id": id, "extractor_key": if n < YOUTUBE { "Youtube" } else { "Vimeo" },
        "title": title,
        "uploader": uploader,
        "upload_date": date, "duration": clip.seconds, "ext": "mp4",
        "tags": ["nature", animal.to_lowercase()],
        "description": format!("A {seconds} s test clip.\nMade by ffmpeg, archived {take}.", seconds = clip.seconds),
        "webpage_url": format!("https://{site}.example/watch/{id}"),
    });
    let info_path = stem.with_extension("info.json");
    std::fs::write(&info_path, info.to_string()).unwrap();
    let o = run(&["archive", s(&info_path), "--out", s(records), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    json_lines(&o).remove(0)
}

/// `ingest site ARGS --json`: its summary.
fn site(args: &[&str]) -> Value {
    let mut all = vec!["site", "--json", "-q", "--title", "Wildlife at dusk"];
    all.extend_from_slice(args);
    let o = run(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    json_lines(&o).remove(0)
}

fn merge(args: &[&str]) -> Value {
    let mut all = vec!["merge", "--json", "-q"];
    all.extend_from_slice(args);
    let o = run(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    json_lines(&o).remove(0)
}

/// Extensions of files a browser runs as a page or a script: one of each kind the site must
/// never link (`.html`, an SVG, a script, a module).
const ACTIVE_EXTENSIONS: [&str; 4] = [".html", ".svg", ".js", ".mjs"];

/// The record at `path` with a file of each of [`ACTIVE_EXTENSIONS`] added (as `ingest` never
/// writes one, and a catalogue made by another tool might hold): its bytes in hex, and the
/// (name, CID) of each file added.
fn hostile_record(path: &Path) -> (String, Vec<(String, String)>) {
    use ingest_core::archive::{RecordFile, Role};
    let mut record = ingest_core::Record::decode(&std::fs::read(path).unwrap()).unwrap();
    let mut added = Vec::new();
    for (i, extension) in ACTIVE_EXTENSIONS.iter().enumerate() {
        let body = format!("<script>alert({i})</script>");
        let cid = ingest_core::unixfs::cid_of(
            ingest_core::unixfs::CidVersion::V1,
            ingest_core::unixfs::RAW,
            body.as_bytes(),
        );
        let name = format!("page{i}{extension}");
        record.files.push(RecordFile {
            role: [Role::Other, Role::Thumbnail, Role::Video, Role::Subtitles][i],
            name: name.clone(),
            cid,
            size: body.len() as u64,
            dag_size: body.len() as u64,
            format_id: None,
        });
        added.push((name, cid.to_string()));
    }
    // The record's own encoding refuses these names: encode its IPLD form directly.
    let bytes = serde_ipld_dagcbor::to_vec(&record.to_ipld()).unwrap();
    let hex = bytes.iter().map(|b| format!("{b:02x}")).collect();
    (hex, added)
}

/// Runs the browser through the site at `base` (`tests/browser.sh run`) with `plan`, leaving
/// its screenshots and report in `out`; returns the report.
fn browse(base: &str, plan: &Value, out: &Path) -> Value {
    std::fs::create_dir_all(out).unwrap();
    let plan_path = out.join("plan.json");
    std::fs::write(&plan_path, plan.to_string()).unwrap();
    let browser = Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/browser.sh"))
        .args(["run", base, s(&plan_path), s(out)])
        .output()
        .expect("bash runs");
    assert!(
        browser.status.success(),
        "tests/browser.sh run {base} failed:\n{}{}",
        String::from_utf8_lossy(&browser.stdout),
        stderr(&browser)
    );
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

/// Where the browser test leaves its screenshots and report: `target/site-browser/`.
fn browser_out() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/site-browser")
}

#[test]
#[ignore = "starts an IPFS node and a browser: run through tests/netns.sh (tests/run.sh does)"]
fn the_site_browses_searches_and_plays_from_a_real_gateway_in_a_real_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let clips = clips(&tmp.path().join("clips"));
    let downloads = tmp.path().join("downloads");
    let records = tmp.path().join("records");
    let archived: Vec<Value> = (0..ANIMALS.len())
        .map(|n| archive(&downloads, &records, n, &clips[n % clips.len()], 1))
        .collect();
    let record_path = |n: usize| archived[n]["record_path"].as_str().unwrap().to_owned();
    // Another record of the shown video: the catalogue keeps both, one under _conflicts.
    let clip = &clips[SHOWN % clips.len()];
    let (other_downloads, other_records) = (tmp.path().join("other"), tmp.path().join("other-r"));
    let other = archive(&other_downloads, &other_records, SHOWN, clip, 2);
    let other_path = other["record_path"].as_str().unwrap().to_owned();

    // The first 40 records and the other record, then all of them onto that catalogue.
    let cat1 = tmp.path().join("cat1.car");
    let first: Vec<String> = (0..40).map(record_path).collect();
    let mut args: Vec<&str> = first.iter().map(String::as_str).collect();
    args.extend([other_path.as_str(), "--out", s(&cat1)]);
    merge(&args);
    let cat2 = tmp.path().join("cat2.car");
    let catalogue = merge(&[s(&records), "--base", s(&cat1), "--out", s(&cat2)]);
    assert_eq!(catalogue["added"], 14);

    // Determinism: two full builds agree, and the incremental build equals them, reading only
    // the 14 new records.
    let site1 = tmp.path().join("site1.car");
    site(&[s(&cat1), "--out", s(&site1)]);
    let site2 = tmp.path().join("site2.car");
    let full = site(&[s(&cat2), "--out", s(&site2)]);
    let again = site(&[s(&cat2), "--out", s(&tmp.path().join("again.car"))]);
    assert_eq!(again["root"], full["root"]);
    let site2b = tmp.path().join("site2b.car");
    let incremental = site(&[s(&cat2), "--base", s(&site1), "--out", s(&site2b)]);
    assert_eq!(incremental["root"], full["root"]);
    assert_eq!(incremental["records_read"], 14);
    assert_eq!(full["records_read"], 54);
    assert_eq!(full["sites"], json!({"vimeo": 24, "youtube": 30}));
    let root = full["root"].as_str().unwrap();

    // The node gets the archives (their files), the catalogue, then the site.
    let node = IpfsNode::start(&tmp.path().join("node"));
    let data = downloads.clone();
    for inputs in [
        vec![s(&records), "--data", s(&data)],
        vec![s(&cat2)],
        vec![s(&site2)],
    ] {
        let (o, lines) = push(&node, &inputs);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(lines.iter().all(|l| l["status"] == "pushed"), "{lines:?}");
    }

    // What the pages must show, from the CLI's own reading of the catalogue.
    let listed = run(&["ls", s(&cat2), "--json"]);
    assert!(listed.status.success(), "{}", stderr(&listed));
    let listed = json_lines(&listed);
    let shown = SHOWN;
    let (shown_site, shown_id, _) = video(shown);
    let ls = listed
        .iter()
        .find(|v| v["site"] == shown_site && v["id"] == shown_id.as_str())
        .expect("ingest ls lists the video");
    let (hostile, active) = hostile_record(Path::new(&record_path(shown)));
    let plan = json!({
        "site": "youtube",
        "search": "ÖKOSYSTEM",
        "absent": "zebra",
        "video": {"site": shown_site, "id": shown_id},
        "missing": {"site": "youtube", "id": "not-archived"},
        "hostile": {"site": shown_site, "id": shown_id, "record": hostile},
    });
    let out = browser_out();
    let _ = std::fs::remove_dir_all(&out);
    let report = browse(&format!("{}/ipfs/{root}/", node.gateway), &plan, &out);
    let context = serde_json::to_string_pretty(&report).unwrap();

    // Home: both sites, with their counts.
    assert_eq!(
        report["home"]["sites"],
        json!([{"name": "vimeo", "count": 24}, {"name": "youtube", "count": 30}]),
        "{context}"
    );
    // A site's first page: the newest videos, in order.
    let ids: Vec<&str> = report["site"]["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let newest: Vec<String> = (0..YOUTUBE).rev().map(|n| video(n).1).collect();
    assert!(ids.len() >= 16, "{context}");
    assert_eq!(ids, newest[..ids.len()], "{context}");
    // Search: the animal's video, and nothing else; a word of no title says so.
    assert_eq!(
        report["search"]["results"],
        json!([{"site": shown_site, "id": shown_id}]),
        "{context}"
    );
    let absent = report["absent"]["status"].as_str().unwrap();
    assert!(absent.contains("zebra"), "{context}");
    // The video plays: metadata loaded, the clip's duration; the thumbnail loads; the CIDs
    // shown are the catalogue's.
    let page = &report["video"];
    assert!(page["readyState"].as_u64().unwrap() >= 1, "{context}");
    let duration = page["duration"].as_f64().unwrap();
    let clip = clips[shown % clips.len()].seconds;
    assert!(
        (duration - clip).abs() < 0.1,
        "{duration} s, not {clip} s: {context}"
    );
    assert!(page["thumbWidth"].as_u64().unwrap() > 0, "{context}");
    assert_eq!(page["record"], ls["record"], "{context}");
    // Its two records: the one at its path, and the other, listed as conflicting.
    let records_of_video = [&archived[shown]["record"], &other["record"]];
    let conflicting: Vec<&Value> = records_of_video
        .into_iter()
        .filter(|r| **r != page["record"])
        .collect();
    assert_eq!(conflicting.len(), 1, "{context}");
    assert_eq!(page["conflicts"], json!([conflicting[0]]), "{context}");
    let mut cids: Vec<&str> = page["cids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    cids.sort_unstable();
    let mut expected: Vec<&str> = archived[shown]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["cid"].as_str().unwrap())
        .collect();
    expected.sort_unstable();
    assert_eq!(cids, expected, "{context}");
    assert!(cids.contains(&ls["video"].as_str().unwrap()), "{context}");
    assert!(
        page["title"].as_str().unwrap().contains(ANIMALS[shown]),
        "{context}"
    );
    // Every page rendered, with no console errors; on a phone, one column that does not
    // scroll sideways.
    for name in ["home", "site", "sitePhone", "search", "absent", "video"] {
        assert_eq!(report[name]["state"], "ready", "{name}: {context}");
        assert_eq!(report[name]["errors"], json!([]), "{name}: {context}");
    }
    assert_eq!(report["sitePhone"]["oneColumn"], true, "{context}");
    assert_eq!(report["sitePhone"]["scrollsSideways"], false, "{context}");
    // A record listing files a browser would run as a page: none of them is linked, named or
    // given a URL; the page says they are withheld, and shows the others.
    let page = &report["hostile"];
    assert_eq!(page["state"], "ready", "{context}");
    assert_eq!(page["errors"], json!([]), "{context}");
    assert_eq!(
        page["cids"].as_array().unwrap().len(),
        expected.len(),
        "{context}"
    );
    let html = page["html"].as_str().unwrap();
    for (name, cid) in &active {
        assert!(
            !html.contains(name.as_str()),
            "{name} is on the page: {context}"
        );
        assert!(
            !html.contains(cid.as_str()),
            "{name}'s CID is on the page: {context}"
        );
    }
    assert!(
        page["text"]
            .as_str()
            .unwrap()
            .contains(&format!("{} files are not shown", active.len())),
        "{context}"
    );
    for url in page["urls"].as_array().unwrap() {
        let url = url.as_str().unwrap();
        assert!(
            !url.contains("catalogue/") || !ACTIVE_EXTENSIONS.iter().any(|e| url.ends_with(e)),
            "{url}: {context}"
        );
    }
    // A video that is not there, and a gateway that does not answer: a message, not a blank.
    for name in ["missing", "unreachable"] {
        assert_eq!(report[name]["state"], "error", "{name}: {context}");
        assert!(
            !report[name]["message"].as_str().unwrap().is_empty(),
            "{context}"
        );
    }
    for shot in ["home", "site", "search", "video", "site-phone"] {
        let png = std::fs::read(out.join(format!("{shot}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 4096,
            "{shot}.png"
        );
    }

    // The same site under a name: published (the node resolves /ipns/ itself), every page
    // reached through /ipns/<name>/ with the same relative links.
    let o = run(&["publish", s(&site2), "--api", &node.api, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let published = json_lines(&o).remove(0);
    assert_eq!(published["root"], root);
    let name = published["ipns"].as_str().unwrap();
    let named = browse(
        &format!("{}{name}/", node.gateway),
        &plan,
        &out.join("ipns"),
    );
    let context = serde_json::to_string_pretty(&named).unwrap();
    assert_eq!(named["home"]["sites"], report["home"]["sites"], "{context}");
    assert_eq!(named["site"]["ids"], report["site"]["ids"], "{context}");
    assert_eq!(
        named["search"]["results"], report["search"]["results"],
        "{context}"
    );
    assert_eq!(
        named["video"]["record"], report["video"]["record"],
        "{context}"
    );
    assert!(
        named["video"]["readyState"].as_u64().unwrap() >= 1,
        "{context}"
    );
    assert!(
        named["video"]["thumbWidth"].as_u64().unwrap() > 0,
        "{context}"
    );
    for page in ["home", "site", "search", "video"] {
        assert_eq!(named[page]["errors"], json!([]), "{page}: {context}");
    }
}
