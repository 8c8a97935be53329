//! `ingest volunteer` against real components: a local video site (ffmpeg clips behind pages
//! yt-dlp's generic extractor reads, one video as separate video and audio files), the real
//! yt-dlp from PyPI at its locked version, and a js-ipfs node, all in the private namespace.

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ingest_tests::ipfs::{IpfsNode, PinningMock, RoutingServer};
use ingest_tests::videosite::{yt_dlp, VideoSite};
use serde_json::Value;

use super::{json_lines, run, s, stderr};

/// `ingest volunteer --json` with the pinned yt-dlp, no disk reserve, short waits, and `args`.
fn volunteer(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ingest"));
    command.args(["volunteer", "--json"]);
    if !args.contains(&"--disk-reserve") {
        command.args(["--disk-reserve", "0"]);
    }
    command
        .args(["--backoff", "1s", "--max-backoff", "2s"])
        .arg("--yt-dlp")
        .arg(yt_dlp())
        .args(args)
        .stdin(Stdio::null())
        .env_remove("IPFS_GATEWAY")
        .env_remove("IPFS_API");
    command
}

/// A wanted list of `lines` at `path`.
fn wanted(path: &Path, lines: &[&String]) -> PathBuf {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(path, text).unwrap();
    path.to_owned()
}

/// The events of a run, `(event, object)`.
fn events(lines: &[Value]) -> Vec<(String, Value)> {
    lines
        .iter()
        .map(|l| (l["event"].as_str().unwrap().to_owned(), l.clone()))
        .collect()
}

/// `site/id` of each event named `name`.
fn videos(lines: &[Value], name: &str) -> Vec<String> {
    events(lines)
        .into_iter()
        .filter(|(e, _)| e == name)
        .map(|(_, v)| {
            format!(
                "{}/{}",
                v["site"].as_str().unwrap(),
                v["id"].as_str().unwrap()
            )
        })
        .collect()
}

/// `site/id` of a wanted line.
fn video_of(line: &str) -> String {
    let mut words = line.split_whitespace();
    format!("{}/{}", words.next().unwrap(), words.next().unwrap())
}

/// Full downloads (status 200) of each video and audio file the site served (yt-dlp fetches
/// a thumbnail once per stream it downloads).
fn media_downloads(site: &VideoSite) -> HashMap<String, usize> {
    let mut count = HashMap::new();
    for r in site.requests() {
        let media = [".mp4", ".m4a"].iter().any(|e| r.path.ends_with(e));
        if r.method == "GET" && r.path.starts_with("/media/") && media && r.status == 200 {
            *count.entry(r.path).or_default() += 1;
        }
    }
    count
}

/// Three volunteers with shares 1/3, 2/3 and 3/3 of one list archive every video exactly once;
/// each outbox, published under its own key, resolves to a catalogue of exactly its videos;
/// every file is pinned and reads back byte-identical through the node's gateway; the video
/// served as separate video and audio keeps both, unmerged.
#[test]
#[ignore = "starts a video site and an IPFS node: run through tests/netns.sh (tests/run.sh does)"]
fn three_volunteers_archive_every_video_once_and_publish_their_outboxes() {
    let tmp = tempfile::tempdir().unwrap();
    let site = VideoSite::start(&tmp.path().join("site"), 30, None);
    let node = IpfsNode::start(&tmp.path().join("node"));
    let all = site.wanted();
    let lines: Vec<&String> = all
        .iter()
        .filter(|l| !l.contains(" fail ") && !l.contains(" slow "))
        .collect();
    assert_eq!(lines.len(), 31, "{all:?}");
    let list = wanted(&tmp.path().join("wanted.txt"), &lines);
    let served = served_files(&site);
    let mut archived_by: Vec<BTreeSet<String>> = Vec::new();
    for i in 1..=3 {
        let out = tmp.path().join(format!("volunteer-{i}"));
        let shard = format!("{i}/3");
        let key = format!("volunteer-{i}");
        let mut args = vec![
            "--wanted",
            s(&list),
            "--shard",
            &shard,
            "--out",
            s(&out),
            "--api",
            &node.api,
            "--key",
            &key,
        ];
        // The third has little disk: its downloads go once the node pins them.
        if i == 3 {
            args.push("--prune");
        }
        let o = volunteer(&args).output().unwrap();
        assert!(o.status.success(), "volunteer {i}: {}", stderr(&o));
        let lines = json_lines(&o);
        let archived: BTreeSet<String> = videos(&lines, "archived").into_iter().collect();
        let pushed: BTreeSet<String> = videos(&lines, "pushed").into_iter().collect();
        assert_eq!(archived, pushed, "volunteer {i}: every archive pinned");
        let summary = lines.last().unwrap();
        assert_eq!(summary["event"], "summary", "{summary}");
        assert_eq!(summary["left"], 0, "{summary}");
        assert_eq!(summary["unpushed"], 0, "{summary}");
        let ipns = summary["ipns"].as_str().unwrap().to_owned();
        let root = summary["outbox"].as_str().unwrap().to_owned();

        // The outbox, read back through the node by its name: exactly this share's videos.
        let o = run(&["ls", &ipns, "--api", &node.api, "--json"]);
        assert!(o.status.success(), "ls {ipns}: {}", stderr(&o));
        let listed = json_lines(&o);
        let in_outbox: BTreeSet<String> = listed
            .iter()
            .map(|v| {
                format!(
                    "{}/{}",
                    v["site"].as_str().unwrap(),
                    v["id"].as_str().unwrap()
                )
            })
            .collect();
        assert_eq!(
            in_outbox, archived,
            "volunteer {i}: the outbox holds its videos"
        );
        // `ingest merge` of its directory gives the outbox's root.
        let merged = run(&[
            "merge",
            s(&out),
            "--out",
            s(&tmp.path().join(format!("check-{i}.car"))),
            "--json",
        ]);
        assert!(merged.status.success(), "{}", stderr(&merged));
        assert_eq!(json_lines(&merged).last().unwrap()["root"], root.as_str());
        // Every file pinned and served byte for byte as the site served it.
        for v in &listed {
            let record = v["record"].as_str().unwrap();
            let shown = run(&[
                "record",
                "show",
                &format!("/ipfs/{record}"),
                "--api",
                &node.api,
            ]);
            assert!(shown.status.success(), "{}", stderr(&shown));
            let record: Value = serde_json::from_slice(&shown.stdout).unwrap();
            for f in record["files"].as_array().unwrap() {
                let cid = f["cid"]["/"].as_str().unwrap();
                let name = f["name"].as_str().unwrap();
                let (status, bytes) = node.get(&format!("/ipfs/{cid}"));
                assert_eq!(status, 200, "{name}");
                assert!(
                    served.contains(&sha256(&bytes)),
                    "{name}: not a file the site served"
                );
            }
        }
        if i == 3 {
            let left = std::fs::read_dir(out.join("downloads")).unwrap().count();
            assert_eq!(
                left, 0,
                "pruned: the node holds the blocks, the records stay"
            );
            assert_eq!(
                std::fs::read_dir(out.join("records")).unwrap().count(),
                2 * archived.len(),
                "a record and its sidecar a video"
            );
        }
        archived_by.push(archived);
    }
    // Every video once, by exactly one volunteer.
    let mut union = BTreeSet::new();
    for set in &archived_by {
        for v in set {
            assert!(union.insert(v.clone()), "{v} archived twice");
        }
    }
    let want: BTreeSet<String> = lines.iter().map(|l| video_of(l)).collect();
    assert_eq!(union, want);
    for (path, n) in media_downloads(&site) {
        assert_eq!(n, 1, "{path} downloaded {n} times");
    }
    // The video served as two streams: both kept, as two files.
    let sep = archived_by
        .iter()
        .position(|s| s.contains("html5mediaembed/sep-1"))
        .unwrap();
    let record = tmp
        .path()
        .join(format!("volunteer-{}", sep + 1))
        .join("records/html5mediaembed-sep-1.record.cbor");
    let shown = run(&["record", "show", s(&record)]);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    let roles: BTreeSet<&str> = shown["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["role"].as_str().unwrap())
        .collect();
    assert!(
        roles.contains("video") && roles.contains("audio"),
        "{shown}"
    );
}

/// SHA-256 of every file the site serves under `/media/`, in hex.
fn served_files(site: &VideoSite) -> BTreeSet<String> {
    std::fs::read_dir(site.file("/media"))
        .unwrap()
        .map(|e| sha256(&std::fs::read(e.unwrap().path()).unwrap()))
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    ingest_core::unixfs::sha2_256(bytes)
        .to_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads a running volunteer's JSON events until `until` holds for the events so far (or 120 s).
fn wait_for(child: &mut Child, seen: &mut Vec<Value>, until: impl Fn(&[Value]) -> bool) {
    let stdout = child.stdout.as_mut().unwrap();
    let mut reader = BufReader::new(stdout);
    let started = Instant::now();
    while !until(seen) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "waited too long: {seen:?}"
        );
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            panic!("the volunteer ended early: {seen:?}");
        }
        seen.push(serde_json::from_str(&line).unwrap());
    }
}

fn count(seen: &[Value], event: &str) -> usize {
    seen.iter().filter(|e| e["event"] == event).count()
}

/// Faults: the node stopped mid-run (downloads go on, pushes resume when it is back), and a
/// video that always fails (parked with its reason after the bounded attempts, the rest done).
#[test]
#[ignore = "starts a video site and an IPFS node: run through tests/netns.sh (tests/run.sh does)"]
fn downloads_go_on_while_the_node_is_down_and_a_failing_video_is_parked() {
    let tmp = tempfile::tempdir().unwrap();
    let site = VideoSite::start(&tmp.path().join("site"), 6, None);
    let mut node = IpfsNode::start(&tmp.path().join("node"));
    let all = site.wanted();
    let lines: Vec<&String> = all
        .iter()
        .filter(|l| !l.contains(" slow ") && !l.contains(" sep"))
        .collect();
    assert_eq!(lines.len(), 7);
    let list = wanted(&tmp.path().join("wanted.txt"), &lines);
    let out = tmp.path().join("volunteer");
    let mut child = volunteer(&[
        "--wanted",
        s(&list),
        "--out",
        s(&out),
        "--api",
        &node.api,
        "--key",
        "faults",
        "--jobs",
        "1",
        "--attempts",
        "3",
        "--retries",
        "1",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut seen = Vec::new();
    wait_for(&mut child, &mut seen, |s| count(s, "pushed") >= 1);
    node.kill();
    let archived_at_kill = count(&seen, "archived");
    // Downloads go on while pushes fail.
    wait_for(&mut child, &mut seen, |s| {
        count(s, "archived") >= archived_at_kill + 2 && count(s, "push_failed") >= 1
    });
    node.restart();
    let output = child.wait_with_output().unwrap();
    seen.extend(json_lines(&output));
    assert_eq!(
        output.status.code(),
        Some(3),
        "a parked video: {}",
        stderr(&output)
    );
    let summary = seen.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(count(&seen, "archived"), 6, "{seen:?}");
    assert_eq!(summary["unpushed"], 0, "{summary}");
    assert_eq!(summary["parked"], 1, "{summary}");
    let parked: Vec<&Value> = seen.iter().filter(|e| e["event"] == "parked").collect();
    assert_eq!(parked[0]["id"], "fail");
    assert!(
        parked[0]["reason"].as_str().unwrap().contains("500"),
        "{:?}",
        parked[0]
    );
    assert_eq!(
        count(&seen, "failed"),
        2,
        "two failed attempts, then parked on the third"
    );
    let tsv = std::fs::read_to_string(out.join("parked.tsv")).unwrap();
    assert!(
        tsv.starts_with("generic\tfail\t") && tsv.contains("500"),
        "{tsv}"
    );
    // Every archive pinned on the node that came back.
    for e in seen.iter().filter(|e| e["event"] == "archived") {
        let record = e["record"].as_str().unwrap();
        let (status, _) = node.rpc("block/stat", &format!("arg={record}"));
        assert_eq!(status, 200, "{record}");
    }
    // A second run has nothing to do, and fetches nothing; --retry-failed tries the parked one.
    let before = site.requests().len();
    let o = volunteer(&[
        "--wanted",
        s(&list),
        "--out",
        s(&out),
        "--api",
        &node.api,
        "--key",
        "faults",
    ])
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(site.requests().len(), before, "nothing fetched again");
    let o = volunteer(&[
        "--wanted",
        s(&list),
        "--out",
        s(&out),
        "--api",
        &node.api,
        "--retry-failed",
        "--attempts",
        "1",
    ])
    .output()
    .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert_eq!(videos(&json_lines(&o), "downloading"), ["generic/fail"]);
}

/// SIGKILL mid-download, then a restart: no finished video is fetched again (the site's log
/// says so), and the partial download resumes where it stopped (a `Range` request).
#[test]
#[ignore = "starts a video site and an IPFS node: run through tests/netns.sh (tests/run.sh does)"]
fn a_killed_volunteer_resumes_without_fetching_a_finished_video_again() {
    let tmp = tempfile::tempdir().unwrap();
    let site = VideoSite::start(&tmp.path().join("site"), 3, Some(256 << 10));
    let node = IpfsNode::start(&tmp.path().join("node"));
    let all = site.wanted();
    let lines: Vec<&String> = all
        .iter()
        .filter(|l| l.contains(" slow ") || l.contains(" v0"))
        .collect();
    assert_eq!(lines.len(), 4);
    let list = wanted(&tmp.path().join("wanted.txt"), &lines);
    let out = tmp.path().join("volunteer");
    let args = [
        "--wanted",
        s(&list),
        "--out",
        s(&out),
        "--api",
        &node.api,
        "--jobs",
        "1",
    ];
    let mut child = volunteer(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    wait_for(&mut child, &mut seen, |s| {
        s.iter()
            .any(|e| e["event"] == "downloading" && e["id"] == "slow")
    });
    let part = out.join("downloads/generic-slow");
    let started = Instant::now();
    while part_bytes(&part) < 512 << 10 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no partial download"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The worker and its yt-dlp killed at once, as a power cut would.
    let children = children_of(child.id());
    assert!(!children.is_empty(), "yt-dlp runs");
    child.kill().unwrap();
    for pid in children {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    child.wait().unwrap();
    let finished: Vec<String> = seen
        .iter()
        .filter(|e| e["event"] == "archived")
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let before = site.requests().len();
    let o = volunteer(&args).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = json_lines(&o);
    let again: Vec<String> = videos(&lines, "archived");
    for id in &finished {
        assert!(
            !again.contains(&format!("generic/{id}")),
            "{id} archived again"
        );
    }
    // The site logs a request when its answer ends: the killed download's line comes after the
    // kill, and the resumed one's may come just after the run.
    let resumed = |r: &ingest_tests::videosite::Request| {
        r.path == "/media/slow.mp4" && r.method == "GET" && r.range.is_some()
    };
    let logged = Instant::now();
    let mut after: Vec<_> = Vec::new();
    while logged.elapsed() < Duration::from_secs(10) {
        after = site.requests().into_iter().skip(before).collect();
        if after.iter().any(resumed) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for id in &finished {
        assert!(
            !after.iter().any(|r| r.path.contains(&format!("/{id}."))),
            "{id} fetched again: {after:?}"
        );
    }
    let resumed = after
        .iter()
        .find(|r| resumed(r))
        .expect("the slow video resumed");
    let range = resumed.range.as_deref().unwrap_or_default();
    assert!(
        range.starts_with("bytes=") && !range.starts_with("bytes=0-"),
        "resumed where it stopped: {resumed:?}"
    );
    assert!(
        !after.iter().any(|r| r.path == "/media/slow.mp4"
            && r.range.is_none()
            && r.status == 200
            && r.bytes > 5_000_000),
        "not downloaded whole again: {after:?}"
    );
    let summary = lines.last().unwrap();
    assert_eq!(summary["left"], 0, "{summary}");
    assert_eq!(summary["unpushed"], 0, "{summary}");
}

/// The processes `pid` started (from `/proc`), and theirs.
fn children_of(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    for task in tasks.flatten() {
        let text = std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
        for child in text
            .split_whitespace()
            .filter_map(|c| c.parse::<u32>().ok())
        {
            all.push(child);
            all.extend(children_of(child));
        }
    }
    all
}

/// Bytes of yt-dlp's partial files in `dir`.
fn part_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".part"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Under the disk reserve no download starts: the site sees no request.
#[test]
#[ignore = "starts a video site: run through tests/netns.sh (tests/run.sh does)"]
fn no_download_starts_under_the_disk_reserve() {
    let tmp = tempfile::tempdir().unwrap();
    let site = VideoSite::start(&tmp.path().join("site"), 2, None);
    let all = site.wanted();
    let lines: Vec<&String> = all.iter().filter(|l| l.contains(" v0")).collect();
    let list = wanted(&tmp.path().join("wanted.txt"), &lines);
    let out = tmp.path().join("volunteer");
    let mut child = volunteer(&[
        "--wanted",
        s(&list),
        "--out",
        s(&out),
        "--api",
        "http://127.0.0.1:9",
        "--disk-reserve",
        "1000000TiB",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut seen = Vec::new();
    wait_for(&mut child, &mut seen, |s| count(s, "disk_reserve") == 1);
    std::thread::sleep(Duration::from_secs(2));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(count(&seen, "downloading"), 0, "{seen:?}");
    assert!(site.requests().is_empty(), "{:?}", site.requests());
}

/// A volunteer whose outbox is named by a key `ingest` keeps (`--key-file`): each record is
/// signed here and put to a Delegated Routing V1 server, which checks it (the `ipns` package's
/// validator) before it keeps it; the record read back is checked again by the JavaScript
/// reference, points at the outbox's root, and a later publish raises its sequence. By hand,
/// `ingest publish DIR --key-file --router` with only a pinning service, no node.
#[test]
#[ignore = "starts a video site, an IPFS node, a router and a pinning service: run through tests/netns.sh (tests/run.sh does)"]
fn an_outbox_named_by_a_key_of_ingests_goes_to_a_router() {
    let tmp = tempfile::tempdir().unwrap();
    let site = VideoSite::start(&tmp.path().join("site"), 2, None);
    let node = IpfsNode::start(&tmp.path().join("node"));
    let router = RoutingServer::start(&tmp.path().join("router"));
    let all = site.wanted();
    let lines: Vec<&String> = all.iter().filter(|l| l.contains(" v0")).collect();
    let list = wanted(&tmp.path().join("wanted.txt"), &lines);
    let out = tmp.path().join("volunteer");
    let key = tmp.path().join("keys/outbox.key");
    let args = [
        "--wanted",
        s(&list),
        "--out",
        s(&out),
        "--api",
        &node.api,
        "--key-file",
        s(&key),
        "--router",
        &router.url,
    ];
    let o = volunteer(&args).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("made a new IPNS key"), "{}", stderr(&o));
    let summary = json_lines(&o).pop().unwrap();
    let ipns = summary["ipns"].as_str().unwrap();
    let name = ipns.strip_prefix("/ipns/").unwrap();
    assert!(name.starts_with("k51"), "{name}");
    let root = summary["outbox"].as_str().unwrap();
    let record = router
        .ipns_record(name)
        .expect("the router keeps the record");
    let checked = router.verify_with_js(name, &record);
    assert_eq!(checked["valid"], true, "{checked}");
    assert_eq!(checked["value"], format!("/ipfs/{root}"), "{checked}");
    let first = checked["sequence"].as_u64().unwrap();
    // The next start publishes again: the same root, a higher sequence, the same key.
    let o = volunteer(&args).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("made a new IPNS key"));
    let again = router.verify_with_js(name, &router.ipns_record(name).unwrap());
    assert_eq!(again["value"], format!("/ipfs/{root}"), "{again}");
    assert!(again["sequence"].as_u64().unwrap() > first, "{again}");

    // By hand, with a pinning service and no node: the archives are asked for, the outbox is
    // named through the router.
    let service = PinningMock::start(&tmp.path().join("service"), "token");
    let hand = super::archive(tmp.path(), "example", "by-hand", 10_000, &[]);
    let hand_key = tmp.path().join("keys/hand.key");
    let o = run(&[
        "publish",
        s(&hand.out),
        "--data",
        s(&hand.data),
        "--key-file",
        s(&hand_key),
        "--router",
        &router.url,
        "--pin-service",
        &service.url,
        "--pin-token",
        &service.token,
        "--no-wait",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let published = json_lines(&o).pop().unwrap();
    let name = published["ipns"]
        .as_str()
        .unwrap()
        .strip_prefix("/ipns/")
        .unwrap()
        .to_owned();
    let checked = router.verify_with_js(&name, &router.ipns_record(&name).unwrap());
    assert_eq!(
        checked["value"],
        format!("/ipfs/{}", published["root"].as_str().unwrap())
    );
    assert_eq!(published["archives"], 1, "{published}");
    assert!(!service.pins("").is_empty(), "the service was asked to pin");
}
