//! `ingest fetch` against a fault-injecting HTTP server on 127.0.0.1: for each fault, the file
//! on disk and its CID must be those of the bytes served. Expected CIDs come from
//! `fixtures/vectors` (kubo and the JS importers), never from this project's output.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ingest_tests::http::{Answer, Body, Resource, Server};
use ingest_tests::{file_vectors, Content};

use crate::common::{car_root_and_cids, cli, entries, ingest, json_lines, stderr};

const PROFILE: &str = "unixfs-v1-2025";

/// A vector's bytes and its CID under [`PROFILE`].
struct Video {
    bytes: Vec<u8>,
    cid: String,
}

fn video(seed: &str) -> Video {
    let v = file_vectors()
        .into_iter()
        .find(|v| v.seed == seed && v.profile == PROFILE)
        .expect("the vector exists");
    Video {
        bytes: Content::bytes(&v.seed, v.size),
        cid: v.cid,
    }
}

/// 1,780,975 bytes: 2 leaves of 1 MiB under unixfs-v1-2025.
fn video_a() -> Video {
    video("public-15")
}

/// 2,097,159 bytes: another version of the "same" video.
fn video_b() -> Video {
    video("public-11")
}

/// `ingest fetch --out OUT --json --retry-wait 10ms --car ARGS`: the CAR too, so that every
/// test checks it is whole.
fn fetch(out: &Path, args: &[&str]) -> Output {
    let mut all = vec![
        "fetch",
        "--out",
        out.to_str().unwrap(),
        "--json",
        "--retry-wait",
        "10ms",
        "--car",
    ];
    all.extend_from_slice(args);
    ingest(&all)
}

/// Fetches `url` as example/42 and checks everything a success promises: exit 0, the file
/// holds `expected`'s bytes, the video CID is the vector's, the CAR is whole and rooted at the
/// record's directory, and nothing else is left in the output directory.
fn fetch_ok(url: &str, expected: &Video, args: &[&str]) -> serde_json::Value {
    let out = tempfile::tempdir().unwrap();
    let mut all = vec![url, "--site", "example", "--id", "42"];
    all.extend_from_slice(args);
    let run = fetch(out.path(), &all);
    assert!(run.status.success(), "{}", stderr(&run));
    let [line] = json_lines(&run).try_into().expect("one line");
    assert_eq!(line["status"], "archived", "{line}");
    assert_eq!(line["video"], expected.cid.as_str(), "{line}");
    let path = out.path().join(line["files"][0]["name"].as_str().unwrap());
    assert!(
        std::fs::read(&path).unwrap() == expected.bytes,
        "the file differs from the bytes served"
    );
    let (root, cids) = car_root_and_cids(&out.path().join("example-42.car"));
    assert_eq!(root, line["directory"].as_str().unwrap());
    assert!(
        cids.contains(&expected.cid),
        "the CAR holds the video's root"
    );
    assert_eq!(
        entries(out.path()),
        [
            "42.mp4".to_owned(),
            "example-42.car".into(),
            "example-42.record.cbor".into()
        ],
        "nothing but the outputs is left"
    );
    line
}

fn serve(resource: Resource) -> Server {
    let server = Server::start().unwrap();
    server.put("/v/42.mp4", resource);
    server
}

#[test]
fn a_clean_download_equals_ingest_add_and_ingest_archive() {
    let a = video_a();
    let server = serve(Resource::new(a.bytes.clone()));
    let line = fetch_ok(&server.url("/v/42.mp4"), &a, &[]);
    assert_eq!(line["http"]["length"], a.bytes.len());
    assert_eq!(line["http"]["content_type"], "video/mp4");
    assert_eq!(line["http"]["requests"], 1);

    // The same bytes archived from disk give the same record, directory and video.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("42.mp4");
    std::fs::write(&file, &a.bytes).unwrap();
    let archived = cli()
        .command()
        .args(["archive", "--json", "--site", "example", "--id", "42"])
        .arg(&file)
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(archived.status.success(), "{}", stderr(&archived));
    let [archived] = json_lines(&archived).try_into().unwrap();
    for key in ["record", "directory", "video"] {
        assert_eq!(line[key], archived[key], "{key}");
    }
}

#[test]
fn a_connection_dropped_several_times_resumes_each_time() {
    let a = video_a();
    let server = serve(Resource::new(a.bytes.clone()).answers([
        Answer::cut(300_000),
        Answer::cut(700_000),
        Answer::cut(0),
        Answer::cut(500_000),
    ]));
    let line = fetch_ok(&server.url("/v/42.mp4"), &a, &[]);
    assert_eq!(line["http"]["restarts"], 0);
    assert_eq!(line["http"]["requests"], 5);
    let ranges: Vec<_> = server.seen().into_iter().map(|s| s.range).collect();
    assert_eq!(
        ranges,
        [
            None,
            Some("bytes=300000-".into()),
            Some("bytes=1000000-".into()),
            Some("bytes=1000000-".into()),
            Some("bytes=1500000-".into()),
        ]
    );
    assert!(server.seen()[1..]
        .iter()
        .all(|s| s.if_range.as_deref() == Some("\"v1\"")));
}

/// The idle timeout bounds a silence, not the whole transfer (0.45 s here).
#[test]
fn a_slow_body_is_not_an_idle_connection() {
    let a = video_a();
    let slow = Answer {
        rate: Some(4_000_000),
        ..Answer::default()
    };
    let line = fetch_ok(
        &serve(Resource::new(a.bytes.clone()).answers([slow])).url("/v/42.mp4"),
        &a,
        &["--idle-timeout", "300ms"],
    );
    assert_eq!(line["http"]["requests"], 1);
}

/// A connection that goes silent is given up after --idle-timeout and resumed.
#[test]
fn an_idle_connection_is_given_up_and_resumed() {
    let a = video_a();
    let silent = Answer {
        cut_after: Some(400_000),
        stall: Some(Duration::from_secs(20)),
        ..Answer::default()
    };
    let server = serve(Resource::new(a.bytes.clone()).answers([silent]));
    let start = Instant::now();
    let line = fetch_ok(&server.url("/v/42.mp4"), &a, &["--idle-timeout", "300ms"]);
    assert!(start.elapsed() < Duration::from_secs(15));
    assert_eq!(line["http"]["requests"], 2);
    assert_eq!(server.seen()[1].range.as_deref(), Some("bytes=400000-"));
}

#[test]
fn status_503_with_retry_after_and_429_are_retried() {
    let a = video_a();
    let busy = Answer {
        retry_after: Some("1".into()),
        ..Answer::status(503)
    };
    let server = serve(Resource::new(a.bytes.clone()).answers([busy]));
    let start = Instant::now();
    let line = fetch_ok(&server.url("/v/42.mp4"), &a, &[]);
    assert!(
        start.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 is honoured"
    );
    assert_eq!(line["http"]["requests"], 2);

    let server = serve(Resource::new(a.bytes.clone()).answers([
        Answer::status(429),
        Answer::status(429),
        Answer::status(502),
    ]));
    let line = fetch_ok(&server.url("/v/42.mp4"), &a, &[]);
    assert_eq!(line["http"]["requests"], 4);

    // Retries end: the error names the URL and the last status.
    let out = tempfile::tempdir().unwrap();
    let server = serve(Resource::new(a.bytes.clone()).answers(vec![Answer::status(503); 10]));
    let url = server.url("/v/42.mp4");
    let run = fetch(
        out.path(),
        &[&url, "--site", "example", "--id", "42", "--retries", "3"],
    );
    assert_eq!(run.status.code(), Some(1));
    let err = stderr(&run);
    assert!(
        err.contains(&url) && err.contains("503") && err.contains("gave up after 4"),
        "{err}"
    );
    assert!(
        err.contains("example-42: the server answered 503 Service Unavailable; retry 1 in"),
        "{err}"
    );
    assert_eq!(json_lines(&run)[0]["status"], "failed");
}

#[test]
fn a_server_without_range_support_restarts_cleanly() {
    let a = video_a();
    let mut resource = Resource::new(a.bytes.clone()).answers([Answer::cut(600_000)]);
    resource.ranges = false;
    let server = serve(resource);
    let line = fetch_ok(&server.url("/v/42.mp4"), &a, &[]);
    assert_eq!(line["http"]["restarts"], 1);
    assert_eq!(line["http"]["requests"], 2);
}

#[test]
fn a_wrong_content_length_is_detected_and_restarted() {
    let a = video_a();
    let len = a.bytes.len() as u64;
    // Announces more than it sends: the resume finds the real length differs, and starts over.
    let lie = Answer {
        claim_length: Some(len + 1000),
        ..Answer::default()
    };
    let server = serve(Resource::new(a.bytes.clone()).answers([lie]));
    let line = fetch_ok(&server.url("/v/42.mp4"), &a, &[]);
    assert_eq!(line["http"]["restarts"], 1, "{line}");
    assert_eq!(line["http"]["length"], len);
}

#[test]
fn an_etag_that_changes_between_attempts_is_never_spliced() {
    let (a, b) = (video_a(), video_b());
    for honours_if_range in [true, false] {
        let new_version = Answer {
            replace: Some((Body::Bytes(b.bytes.clone().into()), "\"v2\"".into())),
            ..Answer::default()
        };
        let mut resource =
            Resource::new(a.bytes.clone()).answers([Answer::cut(900_000), new_version]);
        resource.if_range = honours_if_range;
        let server = serve(resource);
        // The result is all of version 2, never the start of 1 and the end of 2.
        let line = fetch_ok(&server.url("/v/42.mp4"), &b, &[]);
        assert_eq!(line["http"]["restarts"], 1, "{line}");
        assert_eq!(line["http"]["etag"], "\"v2\"");
        assert_eq!(server.seen()[1].if_range.as_deref(), Some("\"v1\""));
    }
}

/// The server of video A at `/v/42.mp4`, redirected to from `/r1` through `/r2` (relative)
/// and `/r3` (absolute).
fn three_redirects(a: &Video) -> Server {
    let server = serve(Resource::new(a.bytes.clone()));
    server.put("/r1", Resource::redirect("/r2"));
    server.put("/r2", Resource::redirect(&server.url("/r3")));
    server.put("/r3", Resource::redirect("/v/42.mp4"));
    server
}

#[test]
fn redirects_are_followed() {
    let a = video_a();
    let server = three_redirects(&a);
    let line = fetch_ok(&server.url("/r1"), &a, &[]);
    assert_eq!(line["http"]["final_url"], server.url("/v/42.mp4"));
}

#[test]
fn redirects_are_bounded() {
    let a = video_a();
    let server = three_redirects(&a);
    let out = tempfile::tempdir().unwrap();
    let url = server.url("/r1");
    let run = fetch(
        out.path(),
        &[
            &url,
            "--site",
            "example",
            "--id",
            "42",
            "--max-redirects",
            "2",
        ],
    );
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("more than 2 redirects"),
        "{}",
        stderr(&run)
    );
    assert_eq!(entries(out.path()), Vec::<String>::new(), "nothing is left");
}

#[test]
fn a_redirect_loop_is_named() {
    let a = video_a();
    let server = serve(Resource::new(a.bytes.clone()));
    let out = tempfile::tempdir().unwrap();
    server.put("/loop1", Resource::redirect("/loop2"));
    server.put("/loop2", Resource::redirect("/loop1"));
    let url = server.url("/loop1");
    let run = fetch(out.path(), &[&url, "--site", "example", "--id", "42"]);
    assert_eq!(run.status.code(), Some(1));
    let err = stderr(&run);
    assert!(err.contains("redirect loop") && err.contains(&url), "{err}");
    assert_eq!(entries(out.path()), Vec::<String>::new(), "nothing is left");
}

#[test]
fn not_found_fails_at_once_naming_the_url() {
    let a = video_a();
    let server = serve(Resource::new(a.bytes.clone()));
    let out = tempfile::tempdir().unwrap();
    let url = server.url("/v/missing.mp4");
    let run = fetch(out.path(), &[&url, "--site", "example"]);
    assert_eq!(run.status.code(), Some(1));
    let err = stderr(&run);
    assert!(err.contains(&url) && err.contains("404"), "{err}");
    assert_eq!(server.seen().len(), 1, "a 404 is not retried");
    assert_eq!(entries(out.path()), Vec::<String>::new(), "nothing is left");
}

#[test]
fn too_large_fails_at_once_naming_the_url() {
    let a = video_a();
    let server = serve(Resource::new(a.bytes.clone()));
    let out = tempfile::tempdir().unwrap();
    let url = server.url("/v/42.mp4");
    let run = fetch(out.path(), &[&url, "--site", "example", "--max-size", "1M"]);
    assert_eq!(run.status.code(), Some(1));
    let err = stderr(&run);
    assert!(
        err.contains(&url) && err.contains("larger than the limit of 1048576"),
        "{err}"
    );
    assert_eq!(entries(out.path()), Vec::<String>::new(), "nothing is left");
}

#[test]
fn a_killed_download_resumes_and_nothing_appears_under_a_final_name_before_it_is_whole() {
    let a = video_a();
    let slow = Answer {
        rate: Some(400_000),
        ..Answer::default()
    };
    let server = serve(Resource::new(a.bytes.clone()).answers([slow]));
    let out = tempfile::tempdir().unwrap();
    let url = server.url("/v/42.mp4");
    let mut child = cli()
        .command()
        .args(["fetch", &url, "--site", "example", "--id", "42", "--out"])
        .arg(out.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let part = out.path().join("example-42.part");
    let final_names = ["42.mp4", "example-42.car", "example-42.record.cbor"];
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::fs::metadata(&part).map_or(0, |m| m.len()) < 500_000 {
        assert!(Instant::now() < deadline, "the download never got going");
        for name in final_names {
            assert!(!out.path().join(name).exists(), "{name} appeared early");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let kept = std::fs::metadata(&part).unwrap().len();
    assert!(kept < a.bytes.len() as u64);
    for name in final_names {
        assert!(
            !out.path().join(name).exists(),
            "{name} exists after the kill"
        );
    }

    // The next run re-reads the partial file and asks for the rest only.
    let run = fetch(out.path(), &[&url, "--site", "example", "--id", "42"]);
    assert!(run.status.success(), "{}", stderr(&run));
    let [line] = json_lines(&run).try_into().unwrap();
    assert_eq!(line["video"], a.cid.as_str());
    assert_eq!(line["http"]["resumed_from"], kept);
    assert_eq!(line["http"]["requests"], 1);
    let last = server.seen().pop().unwrap();
    assert_eq!(last.range, Some(format!("bytes={kept}-")));
    assert_eq!(
        std::fs::read(out.path().join("42.mp4")).unwrap(),
        a.bytes,
        "the resumed file is whole"
    );
    assert!(!part.exists());
    assert!(!out.path().join("example-42.part.json").exists());
}

/// A server of video A at `/a/1.mp4` and `/a/3.mp4` and video B at `/b/2.mp4`, each at 4 MB/s,
/// and a directory holding `list.txt`: the three and `/gone.mp4` (not served), B as
/// `other two`. The outputs go to `out` in the directory.
fn a_list(a: &Video, b: &Video) -> (Server, tempfile::TempDir) {
    let server = Server::start().unwrap();
    let slow = || Answer {
        rate: Some(4_000_000),
        ..Answer::default()
    };
    server.put("/a/1.mp4", Resource::new(a.bytes.clone()).answers([slow()]));
    server.put("/b/2.mp4", Resource::new(b.bytes.clone()).answers([slow()]));
    server.put("/a/3.mp4", Resource::new(a.bytes.clone()).answers([slow()]));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("list.txt"),
        format!(
            "# videos\n{}\n\n{} other two\n{}\n{}\n",
            server.url("/a/1.mp4"),
            server.url("/b/2.mp4"),
            server.url("/a/3.mp4"),
            server.url("/gone.mp4"),
        ),
    )
    .unwrap();
    (server, dir)
}

#[test]
fn a_list_with_jobs_and_per_host_politeness() {
    let (a, b) = (video_a(), video_b());
    let (server, dir) = a_list(&a, &b);
    let list = dir.path().join("list.txt");
    let out = dir.path().join("out");
    let args = ["--input", list.to_str().unwrap(), "--site", "example"];
    let run = fetch(
        &out,
        &[&args[..], &["--jobs", "4", "--per-host", "1"]].concat(),
    );
    assert_eq!(run.status.code(), Some(1), "one download failed");
    assert_eq!(server.max_active(), 1, "one request at a time to the host");
    let mut got = json_lines(&run);
    got.sort_by_key(|l| l["url"].as_str().unwrap().to_owned());
    let status: Vec<_> = got.iter().map(|l| l["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["archived", "archived", "archived", "failed"]);
    assert_eq!(got[0]["video"], a.cid.as_str());
    assert_eq!(got[1]["video"], a.cid.as_str());
    assert_eq!(
        (got[2]["site"].as_str(), got[2]["id"].as_str()),
        (Some("other"), Some("two"))
    );
    assert_eq!(got[2]["video"], b.cid.as_str());
    assert!(got[3]["error"].as_str().unwrap().contains("404"));
}

/// A second run skips what is archived.
#[test]
fn a_second_run_of_a_list_skips_what_is_archived() {
    let (a, b) = (video_a(), video_b());
    let (_server, dir) = a_list(&a, &b);
    let list = dir.path().join("list.txt");
    let out = dir.path().join("out");
    let args = ["--input", list.to_str().unwrap(), "--site", "example"];
    fetch(&out, &args);
    let run = fetch(&out, &args);
    let status: Vec<_> = json_lines(&run)
        .iter()
        .map(|l| l["status"].clone())
        .collect();
    assert_eq!(status.iter().filter(|s| *s == "exists").count(), 3);
}

/// A bad list line is named before anything starts.
#[test]
fn a_bad_list_line_is_named() {
    let (a, b) = (video_a(), video_b());
    let (server, dir) = a_list(&a, &b);
    let list = dir.path().join("list.txt");
    let out = dir.path().join("out");
    let args = ["--input", list.to_str().unwrap(), "--site", "example"];
    std::fs::write(
        &list,
        format!(
            "{}\n{} only-a-site\n",
            server.url("/a/1.mp4"),
            server.url("/a/3.mp4")
        ),
    )
    .unwrap();
    let run = fetch(&out, &args);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("list.txt line 2"), "{}", stderr(&run));
}

#[test]
fn the_rate_limit_is_respected() {
    let a = video_a();
    let server = serve(Resource::new(a.bytes.clone()));
    let start = Instant::now();
    fetch_ok(&server.url("/v/42.mp4"), &a, &["--rate", "1M"]);
    // 1,780,975 bytes at 1 MiB/s, less a quarter-second burst: at least 1.4 s.
    assert!(
        start.elapsed() >= Duration::from_millis(1400),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn by_default_only_the_file_and_the_same_record_are_written() {
    let a = video_a();
    let server = serve(Resource::new(a.bytes.clone()));
    let with_car = fetch_ok(&server.url("/v/42.mp4"), &a, &[]);
    for extra in [&[][..], &["--no-car"], &["--car", "--no-car"]] {
        let out = tempfile::tempdir().unwrap();
        let mut args = vec![
            "fetch",
            "--out",
            out.path().to_str().unwrap(),
            "--json",
            "--site",
            "example",
        ];
        let url = server.url("/v/42.mp4");
        args.push(&url);
        args.extend_from_slice(extra);
        let run = ingest(&args);
        assert!(run.status.success(), "{}", stderr(&run));
        let [line] = json_lines(&run).try_into().unwrap();
        for key in ["record", "directory", "video"] {
            assert_eq!(line[key], with_car[key], "{key}");
        }
        assert_eq!(line["car_path"], serde_json::Value::Null);
        assert_eq!(entries(out.path()), ["42.mp4", "example-42.record.cbor"]);
        assert!(std::fs::read(out.path().join("42.mp4")).unwrap() == a.bytes);
    }
}

/// `openssl s_server -WWW` serving `dir` over HTTPS on a free port of 127.0.0.1, with a
/// self-signed certificate for `localhost` written to `dir/cert.pem`; killed when dropped.
struct TlsServer {
    child: std::process::Child,
    port: u16,
}

impl TlsServer {
    fn start(dir: &Path) -> TlsServer {
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .expect("openssl runs (tests/setup.sh installs it)");
            assert!(out.status.success(), "{}", stderr(&out));
        };
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("openssl")
            .args([
                "s_server", "-quiet", "-WWW", "-cert", "cert.pem", "-key", "key.pem",
            ])
            .args(["-accept", &format!("127.0.0.1:{port}")])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "openssl s_server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        TlsServer { child, port }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn https_with_rustls_checks_the_certificate() {
    let a = video_a();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("42.mp4"), &a.bytes).unwrap();
    let server = TlsServer::start(site.path());
    let url = format!("https://localhost:{}/42.mp4", server.port);

    // Not trusted: refused at once (a certificate does not get better with retries).
    let out = tempfile::tempdir().unwrap();
    let start = Instant::now();
    let run = fetch(out.path(), &[&url, "--site", "example"]);
    assert_eq!(run.status.code(), Some(1));
    let err = stderr(&run);
    assert!(err.contains(&url) && err.contains("TLS failed"), "{err}");
    assert!(start.elapsed() < Duration::from_secs(5), "not retried");

    // Trusted (SSL_CERT_FILE names the roots, as for OpenSSL): the vector's CID.
    let run = cli()
        .command()
        .args(["fetch", &url, "--site", "example", "--json", "--out"])
        .arg(out.path())
        .env("SSL_CERT_FILE", site.path().join("cert.pem"))
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", stderr(&run));
    let [line] = json_lines(&run).try_into().unwrap();
    assert_eq!(line["video"], a.cid.as_str());
    assert!(std::fs::read(out.path().join("42.mp4")).unwrap() == a.bytes);
}

/// Links planted in `--out` where a download's partial file or its state's temporary go are
/// never written through: the temporary's link is replaced, the partial file's refused.
#[test]
fn links_planted_in_the_output_are_never_written_through() {
    let a = video_a();
    let server = serve(Resource::new(a.bytes.clone()));
    let url = server.url("/v/42.mp4");
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();

    let out = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&victim, out.path().join("t-42.part.json.tmp")).unwrap();
    let run = fetch(out.path(), &[&url, "--site", "t"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    let file = out.path().join("42.mp4");
    assert!(std::fs::symlink_metadata(&file).unwrap().is_file());
    assert!(std::fs::read(&file).unwrap() == a.bytes);

    let out = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&victim, out.path().join("t-42.part")).unwrap();
    let run = fetch(out.path(), &[&url, "--site", "t"]);
    assert!(!run.status.success());
    let err = stderr(&run);
    assert!(
        err.contains("t-42.part is a symbolic link"),
        "the error names the link: {err}"
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    assert!(!out.path().join("42.mp4").exists());
    assert!(!out.path().join("t-42.record.cbor").exists());
}

/// A server that gives no `ETag` or `Last-Modified` cannot say a resumed body is the same
/// resource: the resume asks again for the 64 KiB before its point and compares them with the
/// partial file. The same bytes: resumed; other bytes (a new version): started again from zero,
/// never the old prefix spliced to the new tail.
#[test]
fn a_resume_without_validators_proves_continuity() {
    let (a, b) = (video_a(), video_b());
    let bare = |resource: Resource| Resource {
        etag: None,
        last_modified: None,
        ..resource
    };
    // Unchanged: resumed from 100,000 - 65,536.
    let server = serve(bare(Resource::new(a.bytes.clone())).answers([Answer::cut(100_000)]));
    let line = fetch_ok(&server.url("/v/42.mp4"), &a, &[]);
    assert_eq!(line["http"]["restarts"], 0, "{line}");
    let ranges: Vec<_> = server.seen().iter().map(|s| s.range.clone()).collect();
    assert_eq!(ranges, [None, Some("bytes=34464-".into())]);

    // Changed under the same URL: detected, started again, all of the new version.
    let new_version = Answer {
        replace: Some((Body::Bytes(b.bytes.clone().into()), String::new())),
        ..Answer::default()
    };
    let server =
        serve(bare(Resource::new(a.bytes.clone())).answers([Answer::cut(100_000), new_version]));
    let line = fetch_ok(&server.url("/v/42.mp4"), &b, &[]);
    assert_eq!(line["http"]["restarts"], 1, "{line}");
}

/// A body sent with a `Content-Encoding` (gzip) although `identity` was asked is not the bytes
/// the site serves to others: refused, naming the URL and the encoding.
#[test]
fn an_encoded_body_is_refused() {
    let a = video_a();
    let server = serve(Resource {
        content_encoding: Some("gzip".into()),
        ..Resource::new(a.bytes.clone())
    });
    let out = tempfile::tempdir().unwrap();
    let url = server.url("/v/42.mp4");
    let run = fetch(out.path(), &[&url, "--site", "example"]);
    assert_eq!(run.status.code(), Some(1));
    let err = stderr(&run);
    assert!(
        err.contains("Content-Encoding gzip") && err.contains(&url),
        "{err}"
    );
    assert!(!out.path().join("example-42.record.cbor").exists());
}

/// A download never lands on another archive's file: the same id on two sites, the second
/// download is refused (the first video's record still matches its file); a name that ends
/// like an archive's own outputs (`a-b.record.cbor` from the URL) is refused too, as is a
/// `--name` that leaves `--out`, before anything is downloaded.
#[test]
fn downloads_never_land_on_another_archives_files() {
    let (a, b) = (video_a(), video_b());
    let server = serve(Resource::new(a.bytes.clone()));
    server.put("/other/42.mp4", Resource::new(b.bytes.clone()));
    server.put("/v/a-b.record.cbor", Resource::new(b.bytes.clone()));
    let out = tempfile::tempdir().unwrap();
    let list = out.path().join("list.txt");
    std::fs::write(
        &list,
        format!(
            "{} sitea 42\n{} siteb 42\n",
            server.url("/v/42.mp4"),
            server.url("/other/42.mp4")
        ),
    )
    .unwrap();
    let run = fetch(
        out.path(),
        &["--input", list.to_str().unwrap(), "--jobs", "1"],
    );
    assert_eq!(run.status.code(), Some(1));
    let lines = json_lines(&run);
    assert_eq!(lines[0]["status"], "archived", "{}", lines[0]);
    assert_eq!(lines[1]["status"], "failed", "{}", lines[1]);
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("exists and holds other bytes"),
        "{}",
        lines[1]
    );
    assert!(std::fs::read(out.path().join("42.mp4")).unwrap() == a.bytes);
    let check = ingest(&[
        "record",
        "check",
        out.path().join("sitea-42.record.cbor").to_str().unwrap(),
        "--data",
        out.path().to_str().unwrap(),
    ]);
    assert!(check.status.success(), "{}", stderr(&check));

    let run = fetch(
        out.path(),
        &[&server.url("/v/a-b.record.cbor"), "--site", "x"],
    );
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("ends in .record.cbor"),
        "{}",
        stderr(&run)
    );

    let requests = server.seen().len();
    let run = fetch(
        out.path(),
        &[
            &server.url("/v/42.mp4"),
            "--site",
            "y",
            "--name",
            "../x.mp4",
        ],
    );
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("../x.mp4"), "{}", stderr(&run));
    assert_eq!(server.seen().len(), requests, "refused before any request");
}

/// Messages name the real problem: a redirect to another scheme names where it led, too many
/// restarts are counted as restarts, and a video listed twice is named before any download.
#[test]
fn fetch_errors_name_the_real_problem() {
    let a = video_a();
    let server = serve(Resource::new(a.bytes.clone()));
    server.put("/to-ftp", Resource::redirect("ftp://files.example/42.mp4"));
    server.put("/to-file", Resource::redirect("file:///etc/passwd"));
    let out = tempfile::tempdir().unwrap();
    for (path, target) in [
        ("/to-ftp", "ftp://files.example/42.mp4"),
        ("/to-file", "file:///etc/passwd"),
    ] {
        let run = fetch(
            out.path(),
            &[&server.url(path), "--site", "example", "--id", "1"],
        );
        assert_eq!(run.status.code(), Some(1));
        let err = stderr(&run);
        assert!(
            err.contains(target) && err.contains("not an http(s) URL"),
            "{err}"
        );
    }

    // A body that changes at every attempt: the restarts are what is counted.
    let b = video_b();
    let version = |bytes: &[u8], etag: &str| Answer {
        replace: Some((Body::Bytes(bytes.to_vec().into()), etag.into())),
        cut_after: Some(100_000),
        ..Answer::default()
    };
    server.put(
        "/changing",
        Resource::new(a.bytes.clone()).answers([
            Answer::cut(100_000),
            version(&b.bytes, "\"v2\""),
            version(&a.bytes, "\"v3\""),
            version(&b.bytes, "\"v4\""),
        ]),
    );
    let run = fetch(
        out.path(),
        &[
            &server.url("/changing"),
            "--site",
            "example",
            "--id",
            "2",
            "--retries",
            "2",
        ],
    );
    assert_eq!(run.status.code(), Some(1));
    let err = stderr(&run);
    assert!(
        err.contains("(after 2 restarts from zero)") || err.contains("gave up after 3 restarts"),
        "the restarts are counted: {err}"
    );

    let list = out.path().join("list.txt");
    let url = server.url("/v/42.mp4");
    std::fs::write(&list, format!("{url} example 42\n{url} example 42\n")).unwrap();
    let requests = server.seen().len();
    let run = fetch(out.path(), &["--input", list.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("lists example/42 twice"),
        "{}",
        stderr(&run)
    );
    assert_eq!(server.seen().len(), requests);
}

/// Two downloads of one run that come to one name (the same id on two sites), at the same
/// time: one is archived, the other fails naming the file, and the file on disk is the one the
/// archived record names. Run a few times: the two race differently each time.
#[test]
fn two_downloads_racing_to_one_name_never_lose_a_file() {
    let (a, b) = (video_a(), video_b());
    let server = serve(Resource::new(a.bytes.clone()));
    server.put("/other/42.mp4", Resource::new(b.bytes.clone()));
    for round in 0..4 {
        let out = tempfile::tempdir().unwrap();
        let list = out.path().join("list.txt");
        std::fs::write(
            &list,
            format!(
                "{} sitea 42\n{} siteb 42\n",
                server.url("/v/42.mp4"),
                server.url("/other/42.mp4")
            ),
        )
        .unwrap();
        let run = fetch(
            out.path(),
            &["--input", list.to_str().unwrap(), "--jobs", "2"],
        );
        assert_eq!(
            run.status.code(),
            Some(1),
            "round {round}: {}",
            stderr(&run)
        );
        let lines = json_lines(&run);
        let archived: Vec<_> = lines.iter().filter(|l| l["status"] == "archived").collect();
        let failed: Vec<_> = lines.iter().filter(|l| l["status"] == "failed").collect();
        assert_eq!(
            (archived.len(), failed.len()),
            (1, 1),
            "round {round}: {lines:?}"
        );
        let error = failed[0]["error"].as_str().unwrap();
        assert!(error.contains("42.mp4"), "round {round}: {error}");
        let site = archived[0]["site"].as_str().unwrap();
        let check = ingest(&[
            "record",
            "check",
            out.path()
                .join(format!("{site}-42.record.cbor"))
                .to_str()
                .unwrap(),
            "--data",
            out.path().to_str().unwrap(),
        ]);
        assert!(
            check.status.success(),
            "round {round}: {}",
            String::from_utf8_lossy(&check.stdout)
        );
    }
}

#[test]
fn a_download_whose_bytes_are_a_page_is_refused_naming_it() {
    let server = serve(Resource::new(
        b"<!DOCTYPE html><script>alert(document.cookie)</script>".to_vec(),
    ));
    let out = tempfile::tempdir().unwrap();
    let run = fetch(out.path(), &[&server.url("/v/42.mp4"), "--site", "example"]);
    assert_eq!(run.status.code(), Some(1));
    let err = stderr(&run);
    assert!(err.contains("/v/42.mp4") && err.contains("HTML"), "{err}");
    assert!(!out.path().join("42.mp4").exists());
    assert!(!out.path().join("example-42.record.cbor").exists());
}
