//! An HTTP/1.1 server on 127.0.0.1 that serves fixed resources and injects faults on demand,
//! for the fetch tests and the fetch benchmark.
//!
//! Hand-written on `std::net` rather than taken from a server crate: the faults it must produce
//! (a connection cut mid-body, a `Content-Length` that lies, a range answer for the wrong
//! resource) are exactly what well-behaved server crates refuse to do. Each connection serves
//! one request and closes.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a resource serves.
#[derive(Clone, Debug)]
pub enum Body {
    /// Bytes in memory.
    Bytes(Arc<Vec<u8>>),
    /// A file, sent with `io::copy` (sendfile on Linux).
    File(PathBuf),
}

impl Body {
    fn len(&self) -> io::Result<u64> {
        match self {
            Body::Bytes(b) => Ok(b.len() as u64),
            Body::File(p) => Ok(std::fs::metadata(p)?.len()),
        }
    }
}

/// How to answer one request; the default is a correct answer.
#[derive(Clone, Debug, Default)]
pub struct Answer {
    /// Answer this status with an empty body instead.
    pub status: Option<u16>,
    /// With `status`: a `Retry-After` header.
    pub retry_after: Option<String>,
    /// With `status`: this body (an error a peer explains) instead of none.
    pub status_body: Option<Vec<u8>>,
    /// Cut the connection after this many body bytes.
    pub cut_after: Option<u64>,
    /// With `cut_after`: wait this long, silent, before closing (an idle connection).
    pub stall: Option<Duration>,
    /// Send the body at about this many bytes a second.
    pub rate: Option<u64>,
    /// Announce this `Content-Length` (the true body is sent, then the connection closes).
    pub claim_length: Option<u64>,
    /// Before answering, replace the resource's body and `ETag` (a new version of the video;
    /// a resource served without an `ETag` keeps serving none).
    pub replace: Option<(Body, String)>,
}

impl Answer {
    /// A status with an empty body.
    pub fn status(status: u16) -> Answer {
        Answer {
            status: Some(status),
            ..Answer::default()
        }
    }

    /// The body cut after `n` bytes.
    pub fn cut(n: u64) -> Answer {
        Answer {
            cut_after: Some(n),
            ..Answer::default()
        }
    }
}

/// One served path.
#[derive(Clone, Debug)]
pub struct Resource {
    /// The body.
    pub body: Body,
    /// Its `ETag`, if any.
    pub etag: Option<String>,
    /// Its `Last-Modified`, if any.
    pub last_modified: Option<String>,
    /// Its `Content-Type`.
    pub content_type: String,
    /// Whether `Range` requests are answered with 206 (else always 200 and the whole body).
    pub ranges: bool,
    /// Whether `If-Range` is checked (else a range is sent whatever the validator).
    pub if_range: bool,
    /// Answers for the next requests, in order; then correct answers.
    pub answers: VecDeque<Answer>,
    /// Redirect (302) to this location instead of serving.
    pub redirect: Option<String>,
    /// A `Content-Encoding` to announce (the body is sent as it is).
    pub content_encoding: Option<String>,
}

impl Resource {
    /// A well-behaved resource with a strong `ETag`.
    pub fn new(bytes: Vec<u8>) -> Resource {
        Resource::with_body(Body::Bytes(Arc::new(bytes)))
    }

    /// A well-behaved resource serving `body`.
    pub fn with_body(body: Body) -> Resource {
        Resource {
            body,
            etag: Some("\"v1\"".into()),
            last_modified: Some("Wed, 25 Nov 2026 10:00:00 GMT".into()),
            content_type: "video/mp4".into(),
            ranges: true,
            if_range: true,
            answers: VecDeque::new(),
            redirect: None,
            content_encoding: None,
        }
    }

    /// A redirect to `location`.
    pub fn redirect(location: &str) -> Resource {
        Resource {
            redirect: Some(location.to_owned()),
            ..Resource::new(Vec::new())
        }
    }

    /// Queues answers for the next requests.
    pub fn answers(mut self, answers: impl IntoIterator<Item = Answer>) -> Resource {
        self.answers.extend(answers);
        self
    }
}

/// A request as the server saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The path.
    pub path: String,
    /// The `Range` header.
    pub range: Option<String>,
    /// The `If-Range` header.
    pub if_range: Option<String>,
}

#[derive(Default)]
struct Shared {
    resources: HashMap<String, Resource>,
    seen: Vec<Seen>,
    active: usize,
    max_active: usize,
}

/// A running server; it stops accepting when dropped (the listener thread is detached).
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
}

impl Server {
    /// Starts a server on a free port of 127.0.0.1.
    pub fn start() -> io::Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Mutex::new(Shared::default()));
        let for_thread = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                if Arc::strong_count(&for_thread) == 1 {
                    return;
                }
                let shared = Arc::clone(&for_thread);
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        Ok(Server { addr, shared })
    }

    /// Serves `resource` at `path` (which starts with `/`).
    pub fn put(&self, path: &str, resource: Resource) {
        self.shared
            .lock()
            .unwrap()
            .resources
            .insert(path.to_owned(), resource);
    }

    /// The URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.lock().unwrap().seen.clone()
    }

    /// The most requests it was answering at once.
    pub fn max_active(&self) -> usize {
        self.shared.lock().unwrap().max_active
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Wake the accept loop so it sees it is alone and ends.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(stream: TcpStream, shared: &Mutex<Shared>) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split(' ').nth(1).unwrap_or("/").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let seen = Seen {
        path: path.clone(),
        range: headers.get("range").cloned(),
        if_range: headers.get("if-range").cloned(),
    };
    let active = Active::new(shared);
    let (resource, answer) = {
        let mut shared = shared.lock().unwrap();
        shared.seen.push(seen.clone());

        match shared.resources.get_mut(&path) {
            None => (None, Answer::status(404)),
            Some(r) => {
                let answer = r.answers.pop_front().unwrap_or_default();
                if let Some((body, etag)) = &answer.replace {
                    r.body = body.clone();
                    if r.etag.is_some() {
                        r.etag = Some(etag.clone());
                    }
                }
                (Some(r.clone()), answer)
            }
        }
    };
    let mut out = stream;
    if let Some(status) = answer.status {
        let body = answer.status_body.as_deref().unwrap_or_default();
        let mut head = format!(
            "HTTP/1.1 {status} Status\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(after) = &answer.retry_after {
            head.push_str(&format!("Retry-After: {after}\r\n"));
        }
        head.push_str("Connection: close\r\n\r\n");
        out.write_all(head.as_bytes())?;
        return out.write_all(body);
    }
    let resource = resource.expect("a resource or a status");
    if let Some(location) = &resource.redirect {
        let head = format!(
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        return out.write_all(head.as_bytes());
    }
    let total = resource.body.len()?;
    let validator_ok = match &seen.if_range {
        None => true,
        Some(v) => {
            !resource.if_range
                || Some(v) == resource.etag.as_ref()
                || Some(v) == resource.last_modified.as_ref()
        }
    };
    let start = seen
        .range
        .as_deref()
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|_| resource.ranges && validator_ok);
    let mut head = String::new();
    let (from, len) = match start {
        Some(start) if start >= total => {
            let head = format!(
                "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{total}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            return out.write_all(head.as_bytes());
        }
        Some(start) => {
            head.push_str("HTTP/1.1 206 Partial Content\r\n");
            head.push_str(&format!(
                "Content-Range: bytes {start}-{}/{total}\r\n",
                total - 1
            ));
            (start, total - start)
        }
        None => {
            head.push_str("HTTP/1.1 200 OK\r\n");
            (0, total)
        }
    };
    let claimed = answer.claim_length.unwrap_or(len);
    head.push_str(&format!("Content-Length: {claimed}\r\n"));
    head.push_str(&format!("Content-Type: {}\r\n", resource.content_type));
    if resource.ranges {
        head.push_str("Accept-Ranges: bytes\r\n");
    }
    if let Some(etag) = &resource.etag {
        head.push_str(&format!("ETag: {etag}\r\n"));
    }
    if let Some(lm) = &resource.last_modified {
        head.push_str(&format!("Last-Modified: {lm}\r\n"));
    }
    if let Some(encoding) = &resource.content_encoding {
        head.push_str(&format!("Content-Encoding: {encoding}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    out.write_all(head.as_bytes())?;
    let send = answer.cut_after.map_or(len, |cut| cut.min(len));
    let sent = send_body(&resource.body, from, send, answer.rate, &mut out);
    // The answer is over once its last byte is written (the client may ask again at once).
    drop(active);
    sent?;
    out.flush()?;
    if let Some(stall) = answer.stall {
        std::thread::sleep(stall);
    }
    // Closing without sending the rest: the client sees the connection end early.
    out.shutdown(std::net::Shutdown::Both)
}

/// A request being answered, counted while it lives.
struct Active<'a>(&'a Mutex<Shared>);

impl<'a> Active<'a> {
    fn new(shared: &'a Mutex<Shared>) -> Self {
        let mut s = shared.lock().unwrap();
        s.active += 1;
        s.max_active = s.max_active.max(s.active);
        Active(shared)
    }
}

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.lock().unwrap().active -= 1;
    }
}

/// Sends `len` bytes of `body` from `from`, at about `rate` bytes a second if given.
fn send_body(
    body: &Body,
    from: u64,
    len: u64,
    rate: Option<u64>,
    out: &mut TcpStream,
) -> io::Result<()> {
    let mut reader: Box<dyn Read + '_> = match body {
        Body::File(p) => {
            let mut f = File::open(p)?;
            f.seek(SeekFrom::Start(from))?;
            let mut f = f.take(len);
            if rate.is_none() {
                // `File` → `TcpStream` through `io::copy` uses sendfile on Linux: the
                // benchmark's server must not be the bottleneck.
                return io::copy(&mut f, out).map(drop);
            }
            Box::new(f)
        }
        Body::Bytes(b) => Box::new(&b[from as usize..(from + len) as usize]),
    };
    let Some(rate) = rate else {
        return io::copy(&mut reader, out).map(drop);
    };
    // A twentieth of the rate every 50 ms, with no pause after the last piece: the answer ends
    // with its last byte.
    let piece = (rate / 20).max(1);
    let mut left = len;
    while left > 0 {
        let sent = io::copy(&mut (&mut reader).take(piece.min(left)), out)?;
        if sent == 0 {
            break;
        }
        left -= sent;
        if left > 0 {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}
