//! The library's fetcher against the test kit's fault-injecting server: under every profile, a
//! download broken several times gives the vector's CID, and one given up on resumes later.

use std::time::Duration;

use ingest_core::fetch::{Event, FetchError, FetchOptions, Fetcher, ImportBody};
use ingest_core::unixfs::{HashOnly, ImportOptions, Profile};
use ingest_tests::http::{Answer, Resource, Server};
use ingest_tests::{file_vectors, Content};

fn fast() -> FetchOptions {
    FetchOptions {
        backoff: Duration::from_millis(5),
        ..FetchOptions::default()
    }
}

#[test]
fn a_broken_download_gives_the_vector_cid_under_every_profile() {
    let dir = tempfile::tempdir().unwrap();
    let fetcher = Fetcher::new(fast()).unwrap();
    for v in file_vectors().into_iter().filter(|v| v.seed == "public-15") {
        let server = Server::start().unwrap();
        let bytes = Content::bytes(&v.seed, v.size);
        server.put(
            "/v.mp4",
            Resource::new(bytes.clone()).answers([Answer::cut(262_144), Answer::cut(1)]),
        );
        let profile = Profile::by_name(&v.profile).unwrap();
        let mut body = ImportBody::new(&profile, ImportOptions::default(), HashOnly, Ok);
        let part = dir.path().join(format!("{}.part", v.profile));
        let mut received = 0;
        let fetched = fetcher
            .fetch(&server.url("/v.mp4"), &part, &mut body, &mut |e| {
                if let Event::Data(n) = e {
                    received += n;
                }
            })
            .unwrap();
        let (summary, _) = body.finish().unwrap();
        assert_eq!(summary.root.to_string(), v.cid, "{}", v.profile);
        assert_eq!((fetched.length, fetched.requests), (v.size, 3));
        assert_eq!(received, v.size, "each byte is reported once");
        let dest = dir.path().join(format!("{}.mp4", v.profile));
        fetched.persist(&dest).unwrap();
        assert!(std::fs::read(&dest).unwrap() == bytes);
    }
}

#[test]
fn a_download_given_up_on_is_resumed_by_a_later_call() {
    let v = file_vectors()
        .into_iter()
        .find(|v| v.seed == "public-15" && v.profile == "unixfs-v0-2015")
        .unwrap();
    let bytes = Content::bytes(&v.seed, v.size);
    let server = Server::start().unwrap();
    server.put(
        "/v.mp4",
        Resource::new(bytes.clone()).answers([
            Answer::cut(700_000),
            Answer::status(503),
            Answer::status(503),
        ]),
    );
    let dir = tempfile::tempdir().unwrap();
    let part = dir.path().join("v.part");
    let profile = Profile::UNIXFS_V0_2015;
    let fetcher = Fetcher::new(FetchOptions {
        retries: 1,
        ..fast()
    })
    .unwrap();
    let mut body = ImportBody::new(&profile, ImportOptions::default(), HashOnly, Ok);
    let err = fetcher
        .fetch(&server.url("/v.mp4"), &part, &mut body, &mut |_| {})
        .unwrap_err();
    assert!(
        matches!(err, FetchError::GaveUp { failures: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(
        std::fs::metadata(&part).unwrap().len(),
        700_000,
        "the partial file is kept"
    );

    // A new body: the partial file is re-read into it, then only the rest is asked for.
    let mut body = ImportBody::new(&profile, ImportOptions::default(), HashOnly, Ok);
    let fetched = fetcher
        .fetch(&server.url("/v.mp4"), &part, &mut body, &mut |_| {})
        .unwrap();
    assert_eq!(fetched.resumed_from, 700_000);
    assert_eq!(
        server.seen().last().unwrap().range.as_deref(),
        Some("bytes=700000-")
    );
    assert_eq!(body.finish().unwrap().0.root.to_string(), v.cid);
}
