//! Property tests of what reads a pinning service's answers ([`answer`], through one
//! [`PinningService::attempt`] each): a status (`PinStatus`), a page of them (`PinResults`),
//! an error (`{"error": {"reason", "details"}}`) and a `Retry-After`, as arbitrary bytes and as
//! the spec writes them with bytes flipped, cut or spliced in, served over HTTP by a tiny
//! server on 127.0.0.1 (a `Response` is only made by a connection). Never a panic, and what
//! comes out (a status, its `info` as text, an error message) is bounded by the answer.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use proptest::prelude::*;

use super::*;
use crate::testutil::{mutate, Edits};

/// An answer to serve: status, `Retry-After`, body.
type Canned = (u16, Option<Vec<u8>>, Vec<u8>);

/// A server of canned answers: `GET /pins/N` gets answer `N` (each served once).
struct Server {
    addr: SocketAddr,
    answers: Arc<Mutex<HashMap<u64, Canned>>>,
    next: AtomicU64,
}

impl Server {
    /// The server of this test process, started once.
    fn get() -> &'static Server {
        static SERVER: OnceLock<Server> = OnceLock::new();
        SERVER.get_or_init(|| {
            let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
            let addr = listener.local_addr().expect("its address");
            let answers: Arc<Mutex<HashMap<u64, Canned>>> = Arc::default();
            let shared = Arc::clone(&answers);
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let answers = Arc::clone(&shared);
                    std::thread::spawn(move || serve(stream, &answers));
                }
            });
            Server {
                addr,
                answers,
                next: AtomicU64::new(0),
            }
        })
    }

    /// Registers `canned`; returns its request id.
    fn add(&self, canned: Canned) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut answers = self.answers.lock().unwrap_or_else(|p| p.into_inner());
        answers.insert(id, canned);
        id
    }
}

/// Answers the requests of one connection (kept alive) until the client closes it.
fn serve(stream: TcpStream, answers: &Mutex<HashMap<u64, Canned>>) {
    let _ = stream.set_nodelay(true);
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    let mut input = BufReader::new(stream);
    loop {
        let mut request = String::new();
        if input.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut header = String::new();
            if input.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            if header == "\r\n" {
                break;
            }
        }
        let id = request
            .split(' ')
            .nth(1)
            .and_then(|path| path.rsplit('/').next())
            .and_then(|id| id.parse::<u64>().ok());
        let canned = id.and_then(|id| {
            let mut answers = answers.lock().unwrap_or_else(|p| p.into_inner());
            answers.remove(&id)
        });
        let (status, retry_after, body) = canned.unwrap_or((404, None, Vec::new()));
        let mut head =
            format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len()).into_bytes();
        if let Some(value) = retry_after {
            head.extend_from_slice(b"Retry-After: ");
            head.extend_from_slice(&value);
            head.extend_from_slice(b"\r\n");
        }
        head.extend_from_slice(b"\r\n");
        // One write: a head and a body in two segments would wait for the client's delayed
        // acknowledgement.
        head.extend_from_slice(&body);
        if out.write_all(&head).is_err() {
            return;
        }
    }
}

/// The client of the test server, made once.
fn service() -> &'static PinningService {
    static SERVICE: OnceLock<PinningService> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let url = format!("http://{}/", Server::get().addr);
        PinningService::new(&url, &Token::new("t"), PinningOptions::default()).expect("a client")
    })
}

/// Answers as the spec writes them.
const STATUS: &[u8] = br#"{"requestid":"r1","status":"failed","created":"2026-01-01T00:00:00Z","pin":{"cid":"bafkqaaa","name":"youtube/x","origins":["/ip4/203.0.113.1/tcp/4001"],"meta":{"site":"youtube"}},"delegates":["/ip4/203.0.113.1/tcp/4001/p2p/QmServicePeerId"],"info":{"status_details":"no provider found","n":1e5,"list":[1,2.5,{"a":null}]}}"#;
const PAGE: &[u8] = br#"{"count":2,"results":[{"requestid":"a","status":"pinned","created":"2026-01-01T00:00:00Z","pin":{"cid":"bafkqaaa"},"delegates":[]},{"requestid":"b","status":"queued","created":"2026-01-01T00:00:00Z","pin":{"cid":"QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn","name":"n"},"delegates":[],"info":{}}]}"#;
const FAILURE: &[u8] =
    r#"{"error":{"reason":"BAD_REQUEST","details":"the cid is not valid: ünïcode"}}"#.as_bytes();

const ANSWERS: [&[u8]; 3] = [STATUS, PAGE, FAILURE];
const STATUSES: [u16; 9] = [200, 202, 400, 401, 403, 404, 429, 500, 503];

/// Serves `body` with `status` (and `retry_after`) once, read as a status or as a page.
fn check(
    status: u16,
    retry_after: Option<Vec<u8>>,
    body: Vec<u8>,
    page: bool,
) -> Result<(), TestCaseError> {
    let len = body.len();
    let id = Server::get().add((status, retry_after, body));
    let url = service().request_url(&id.to_string());
    // An error message names the call (its URL) and the service's reason, cut or whole.
    let bounded = |error: &PinningError| error.to_string().len() <= 3 * len + 500;
    if page {
        let (result, _) = service().attempt::<PinResults>("GET", url, |r| r);
        match result {
            Ok(page) => {
                prop_assert!(page.results.len() <= len);
                for status in &page.results {
                    prop_assert!(status.info_text().len() <= 32 * len + 64);
                }
            }
            Err(error) => prop_assert!(bounded(&error), "{}", error),
        }
    } else {
        let (result, _) = service().attempt::<PinRequestStatus>("GET", url, |r| r);
        match result {
            Ok(status) => {
                prop_assert!(status.requestid.len() <= len);
                // `info` shown again as JSON: a number may grow (`1e5` is `100000.0`), by a
                // bounded factor.
                prop_assert!(status.info_text().len() <= 32 * len + 64);
            }
            Err(error) => prop_assert!(bounded(&error), "{}", error),
        }
    }
    Ok(())
}

fn retry_after() -> impl Strategy<Value = Option<Vec<u8>>> {
    proptest::option::of(prop_oneof![
        "[0-9]{1,25}".prop_map(String::into_bytes),
        Just(b"Wed, 21 Oct 2015 07:28:00 GMT".to_vec()),
        "[ -~]{0,40}".prop_map(String::into_bytes),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// Arbitrary bytes as an answer of any status.
    #[test]
    fn any_answer_reads_bounded(
        status in proptest::sample::select(&STATUSES[..]),
        retry_after in retry_after(),
        body in proptest::collection::vec(any::<u8>(), 0..400),
        page in any::<bool>(),
    ) {
        check(status, retry_after, body, page)?;
    }

    /// The spec's answers, mutated.
    #[test]
    fn mutated_answers_read_bounded(
        status in proptest::sample::select(&STATUSES[..]),
        retry_after in retry_after(),
        answer in proptest::sample::select(&ANSWERS[..]),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..5),
        page in any::<bool>(),
    ) {
        let mut body = answer.to_vec();
        mutate(&mut body, &edits as &Edits);
        check(status, retry_after, body, page)?;
    }
}

#[test]
fn the_specs_answers_read_as_written() {
    let server = Server::get();
    let get = |canned: Canned| {
        let url = service().request_url(&server.add(canned).to_string());
        service().attempt::<PinRequestStatus>("GET", url, |r| r)
    };
    let (status, _) = get((200, None, STATUS.to_vec()));
    let status = status.expect("a status");
    assert_eq!(status.status, PinStatus::Failed);
    assert!(status
        .info_text()
        .contains("status_details: no provider found"));
    let (error, wait) = get((429, Some(b"7".to_vec()), FAILURE.to_vec()));
    let error = error.expect_err("a 429");
    assert!(
        error
            .to_string()
            .ends_with("BAD_REQUEST (the cid is not valid: ünïcode)"),
        "{error}"
    );
    assert_eq!(wait, Some(Duration::from_secs(7)));
    let url = service().request_url(&server.add((200, None, PAGE.to_vec())).to_string());
    let (page, _) = service().attempt::<PinResults>("GET", url, |r| r);
    assert_eq!(page.expect("a page").results.len(), 2);
}
