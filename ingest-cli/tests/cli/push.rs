//! `ingest push` and `ingest publish` without a node: where the API is found, and what the user
//! is told when nothing answers or an input is wrong. (Against a real node and pinning service:
//! `ingest-cli/tests/network`.)

use std::time::{Duration, Instant};

use ingest_tests::fixtures::fake_download;

use crate::common::{cli, ingest, stderr};

/// A port of 127.0.0.1 nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// An archived video: its record's path and its per-video directory's CID.
fn archived(tmp: &std::path::Path) -> (std::path::PathBuf, String) {
    let info = fake_download(&tmp.join("dl"), serde_json::json!({}));
    let json = cli().archive_json(&info, &tmp.join("out"));
    let directory = json["directory"].as_str().unwrap().to_owned();
    (json["record_path"].as_str().unwrap().into(), directory)
}

#[test]
fn a_stopped_node_is_named_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let (record, _) = archived(tmp.path());
    let port = closed_port();
    let api = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    let run = ingest(&["push", record.to_str().unwrap(), "--api", &api]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(
        stderr(&run).contains(&format!("cannot reach the IPFS node at {api}/")),
        "{}",
        stderr(&run)
    );

    // Found as kubo's client finds it: the multiaddr in $IPFS_PATH/api.
    let repo = tmp.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    std::fs::write(repo.join("api"), format!("/ip4/127.0.0.1/tcp/{port}\n")).unwrap();
    let run = cli()
        .command()
        .args(["publish", record.to_str().unwrap()])
        .env("IPFS_PATH", &repo)
        .env_remove("IPFS_API")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains(&format!("{api}/")),
        "{}",
        stderr(&run)
    );
    // $IPFS_API comes first.
    let run = cli()
        .command()
        .args(["push", record.to_str().unwrap()])
        .env("IPFS_PATH", &repo)
        .env("IPFS_API", "not an address")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("bad IPFS API address not an address (from $IPFS_API)"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn inputs_that_are_not_archives_or_cars_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let other = tmp.path().join("notes.txt");
    std::fs::write(&other, "x").unwrap();
    let api = format!("http://127.0.0.1:{}", closed_port());
    let run = ingest(&["push", other.to_str().unwrap(), "--api", &api]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("notes.txt: not a record (*.record.cbor) or a CAR (*.car)"),
        "{}",
        stderr(&run)
    );
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = ingest(&["push", empty.to_str().unwrap(), "--api", &api]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("no record or CAR found"),
        "{}",
        stderr(&run)
    );
    let run = ingest(&[
        "push",
        empty.to_str().unwrap(),
        "--pin-service",
        "http://127.0.0.1:1/psa",
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("--pin-token"), "{}", stderr(&run));
    let run = ingest(&[
        "push",
        empty.to_str().unwrap(),
        "--api-auth",
        "digest:s3cret",
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("invalid --api-auth"),
        "{}",
        stderr(&run)
    );
    assert!(!stderr(&run).contains("s3cret"), "{}", stderr(&run));
    let run = ingest(&[
        "push",
        empty.to_str().unwrap(),
        "--api",
        "http://u:s3cret@127.0.0.1:1",
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(stderr(&run).contains("--api-auth"), "{}", stderr(&run));
    assert!(!stderr(&run).contains("s3cret"), "{}", stderr(&run));
}

/// A damaged CAR is refused before any request carries a byte of it: the API (here a recording
/// stand-in that answers `id` and an empty `pin/ls`) never sees a `dag/import`, not even one
/// cut short at the bad block.
#[test]
fn a_damaged_car_never_reaches_the_api() {
    use ingest_tests::http::{Resource, Server};
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let file = data.join("v.mp4");
    std::fs::write(&file, ingest_tests::Content::bytes("damaged", 12_000_000)).unwrap();
    let run = ingest(&[
        "archive",
        file.to_str().unwrap(),
        "--site",
        "example",
        "--id",
        "damaged",
        "--car",
        "--json",
        "--out",
        tmp.path().join("out").to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let archived: serde_json::Value =
        serde_json::from_str(crate::common::stdout(&run).trim()).unwrap();
    let car = std::path::PathBuf::from(archived["car_path"].as_str().unwrap());
    let root = archived["directory"].as_str().unwrap();
    let mut bytes = std::fs::read(&car).unwrap();
    let at = bytes.len() - 200_000; // inside the last of twelve leaves
    bytes[at] ^= 1;
    let damaged = tmp.path().join("damaged.car");
    std::fs::write(&damaged, &bytes).unwrap();

    let api = Server::start().unwrap();
    api.put(
        "/api/v0/id",
        Resource::new(br#"{"ID":"12D3KooWStandIn","Addresses":[]}"#.to_vec()),
    );
    api.put(
        &format!("/api/v0/pin/ls?arg={root}&type=recursive"),
        Resource::new(br#"{"Keys":{}}"#.to_vec()),
    );
    let run = ingest(&[
        "push",
        damaged.to_str().unwrap(),
        "--api",
        &api.url(""),
        "--retries",
        "0",
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(
        err.contains("damaged.car") && err.contains("does not match its cid"),
        "{err}"
    );
    let paths: Vec<String> = api.seen().into_iter().map(|s| s.path).collect();
    assert!(
        paths.iter().any(|p| p.starts_with("/api/v0/pin/ls")),
        "the stand-in was asked: {paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p.contains("dag/import")),
        "nothing was sent: {paths:?}"
    );
}

/// A pinning service (a recording stand-in) that answers 503 once, then queues the pin and
/// pins it a poll later: the request is retried, polled until `pinned`, and never duplicated.
#[test]
fn a_pin_request_is_retried_then_polled_until_pinned() {
    use ingest_tests::http::{Answer, Body, Resource, Server};
    let tmp = tempfile::tempdir().unwrap();
    let (record, directory) = archived(tmp.path());
    let status = |status: &str| {
        serde_json::to_vec(&serde_json::json!({
            "requestid": "req-1", "status": status, "created": "2026-11-30T00:00:00Z",
            "pin": {"cid": directory, "name": "youtube/vid"}, "delegates": []
        }))
        .unwrap()
    };
    let service = Server::start().unwrap();
    service.put(
        &format!("/psa/pins?cid={directory}&status=queued%2Cpinning%2Cpinned%2Cfailed&limit=1000"),
        Resource::new(br#"{"count":0,"results":[]}"#.to_vec()),
    );
    service.put(
        "/psa/pins",
        Resource::new(status("queued")).answers([Answer::status(503)]),
    );
    service.put(
        "/psa/pins/req-1",
        Resource::new(status("queued")).answers([
            Answer::default(),
            Answer {
                replace: Some((
                    Body::Bytes(std::sync::Arc::new(status("pinned"))),
                    "\"v2\"".into(),
                )),
                ..Answer::default()
            },
        ]),
    );
    let run = ingest(&[
        "push",
        "--json",
        record.to_str().unwrap(),
        "--pin-service",
        &service.url("/psa"),
        "--pin-token",
        "t0ken",
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    let line = &crate::common::json_lines(&run)[0];
    assert_eq!(line["status"], "requested", "{line}");
    assert_eq!(line["remote"]["status"], "pinned", "{line}");
    assert_eq!(line["remote"]["action"], "added", "{line}");
    let paths: Vec<String> = service.seen().into_iter().map(|s| s.path).collect();
    let count = |p: &str| paths.iter().filter(|x| x.as_str() == p).count();
    assert_eq!(count("/psa/pins"), 2, "the 503 retried once: {paths:?}");
    assert_eq!(
        count("/psa/pins/req-1"),
        2,
        "polled until pinned: {paths:?}"
    );
}

/// Two CARs that would take one pin name on a service (each replacing the other's pin) are
/// refused before anything is asked.
#[test]
fn two_cars_under_one_pin_name_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("f.bin");
    std::fs::write(&file, b"some bytes").unwrap();
    let mut cars = Vec::new();
    for dir in ["a", "b"] {
        std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
        let car = tmp.path().join(dir).join("catalogue.car");
        let run = ingest(&[
            "add",
            "-Q",
            file.to_str().unwrap(),
            "--car",
            car.to_str().unwrap(),
        ]);
        assert!(run.status.success(), "{}", stderr(&run));
        cars.push(car);
    }
    let service = format!("http://127.0.0.1:{}/psa", closed_port());
    let run = ingest(&[
        "push",
        cars[0].to_str().unwrap(),
        cars[1].to_str().unwrap(),
        "--pin-service",
        &service,
        "--pin-token",
        "t",
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr(&run).contains("would both be pinned as \"catalogue\""),
        "{}",
        stderr(&run)
    );
}

/// A secret on the command line gets a warning (any local user can read it); from the
/// environment or a file it does not, and it is never printed.
#[test]
fn secrets_come_from_the_environment_or_a_file() {
    let tmp = tempfile::tempdir().unwrap();
    let service = format!("http://127.0.0.1:{}/psa", closed_port());
    let warned =
        |run: &std::process::Output| stderr(run).contains("can be read by every local user");
    let run = ingest(&[
        "push",
        tmp.path().to_str().unwrap(),
        "--pin-service",
        &service,
        "--pin-token",
        "s3cret",
    ]);
    assert!(warned(&run), "{}", stderr(&run));
    assert!(!stderr(&run).contains("s3cret"), "{}", stderr(&run));

    let file = tmp.path().join("token");
    std::fs::write(&file, "s3cret\n").unwrap();
    let run = ingest(&[
        "push",
        tmp.path().to_str().unwrap(),
        "--pin-service",
        &service,
        "--pin-token-file",
        file.to_str().unwrap(),
    ]);
    assert!(!warned(&run), "{}", stderr(&run));
    assert!(
        !stderr(&run).contains("needs an access token"),
        "{}",
        stderr(&run)
    );
    assert!(!stderr(&run).contains("s3cret"), "{}", stderr(&run));

    let run = crate::common::cli()
        .command()
        .args([
            "push",
            tmp.path().to_str().unwrap(),
            "--pin-service",
            &service,
        ])
        .env("INGEST_PIN_TOKEN", "s3cret")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!warned(&run), "{}", stderr(&run));
    assert!(
        !stderr(&run).contains("needs an access token"),
        "{}",
        stderr(&run)
    );

    let run = ingest(&[
        "push",
        tmp.path().to_str().unwrap(),
        "--api-auth",
        "bearer:s3cret",
    ]);
    assert!(warned(&run), "{}", stderr(&run));
    assert!(!stderr(&run).contains("s3cret"), "{}", stderr(&run));
}

/// A service that repeats the token, sends escape sequences and a long body in its error: the
/// message names the service's reason on one short line, the token replaced, nothing that would
/// drive the terminal.
#[test]
fn a_services_error_is_printed_scrubbed_escaped_and_cut() {
    use ingest_tests::http::{Answer, Resource, Server};
    let tmp = tempfile::tempdir().unwrap();
    let (record, directory) = archived(tmp.path());
    let token = "s3cretT0kenXYZ";
    let reason = format!(
        "invalid token Bearer {token}\u{1b}]0;owned\u{7}\u{1b}[2J{}",
        "x".repeat(20_000)
    );
    let body = serde_json::to_vec(&serde_json::json!({"error": {"reason": reason}})).unwrap();
    let service = Server::start().unwrap();
    service.put(
        &format!("/psa/pins?cid={directory}&status=queued%2Cpinning%2Cpinned%2Cfailed&limit=1000"),
        Resource::new(Vec::new()).answers([Answer {
            status_body: Some(body),
            ..Answer::status(401)
        }]),
    );
    let run = crate::common::cli()
        .command()
        .args([
            "push",
            "--json",
            record.to_str().unwrap(),
            "--pin-service",
            &service.url("/psa"),
        ])
        .env("INGEST_PIN_TOKEN", token)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    let all = format!("{}{}", String::from_utf8_lossy(&run.stdout), stderr(&run));
    assert!(all.contains("invalid token"), "{all}");
    assert!(!all.contains(token), "the token is printed: {all}");
    assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "{all:?}");
    assert!(all.len() < 4000, "{} bytes", all.len());
}

/// A service that keeps a pin queued holds each input for --pin-wait at most, and the push
/// goes on with the others.
#[test]
fn a_pin_that_stays_queued_is_waited_for_a_bounded_time() {
    use ingest_tests::http::{Resource, Server};
    let tmp = tempfile::tempdir().unwrap();
    let (record, directory) = archived(tmp.path());
    let queued = serde_json::to_vec(&serde_json::json!({
        "requestid": "req-1", "status": "queued", "created": "2026-11-30T00:00:00Z",
        "pin": {"cid": directory, "name": "youtube/vid"}, "delegates": []
    }))
    .unwrap();
    let service = Server::start().unwrap();
    service.put(
        &format!("/psa/pins?cid={directory}&status=queued%2Cpinning%2Cpinned%2Cfailed&limit=1000"),
        Resource::new(br#"{"count":0,"results":[]}"#.to_vec()),
    );
    service.put("/psa/pins", Resource::new(queued.clone()));
    service.put("/psa/pins/req-1", Resource::new(queued));
    let started = Instant::now();
    let run = crate::common::cli()
        .command()
        .args([
            "push",
            "--json",
            record.to_str().unwrap(),
            "--pin-service",
            &service.url("/psa"),
            "--pin-wait",
            "2s",
        ])
        .env("INGEST_PIN_TOKEN", "t0ken")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let line = &crate::common::json_lines(&run)[0];
    assert_eq!(line["status"], "failed", "{line}");
    assert!(
        line["error"].as_str().unwrap().contains("still queued"),
        "{line}"
    );
}
