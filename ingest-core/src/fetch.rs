//! Fetching over HTTP(S) (cargo feature `http`): the body goes to a partial file on disk and, in
//! the same pass, into a [`Body`] (usually a [`FileImporter`] writing a CAR), so the CID is known
//! the moment the last byte arrives.
//!
//! The bytes are exactly those the server sends: `Accept-Encoding: identity`, no decoding, no
//! re-encoding. That is what lets two volunteers who download the same video get one CID.
//!
//! A [`Fetcher`] keeps going when the network or the site does not:
//!
//! - connection errors, timeouts (connect, and idle: no byte for a while), `408`, `429` and `5xx`
//!   are retried with exponential backoff and jitter, or after the server's `Retry-After`;
//!   an attempt that brought bytes resets the count, so a long download on a flaky line goes on;
//! - a broken transfer resumes with `Range` and `If-Range`, in the same run or in a later one:
//!   the partial file and a state file beside it (`PART.json`: the URL, the announced length
//!   and validators) survive the process, and a later [`Fetcher::fetch`] re-reads the partial
//!   file into the [`Body`] before asking for the rest;
//! - nothing is ever spliced: a server that ignores `Range`, an answer for another range, a
//!   total length or validator (`ETag`, `Last-Modified`) that changed, or a body that ends
//!   short of the announced length makes the download start again from zero
//!   ([`Body::restart`]);
//! - the body size is bounded (`max_size`), and so are redirects (a loop is named as such);
//!   other `4xx` statuses fail at once with the URL and status;
//! - per host, at most `per_host` requests run at once, and an optional rate limit is shared by
//!   all downloads from it.
//!
//! [`archive_download`] downloads a video and archives it in the same pass; [`archive_many`]
//! does so for a list, several at a time, reporting each download as it runs and ends.
//!
//! ```no_run
//! use ingest_core::fetch::{Fetcher, FetchOptions, ImportBody};
//! use ingest_core::unixfs::{HashOnly, ImportOptions, Profile};
//!
//! let fetcher = Fetcher::new(FetchOptions::default())?;
//! let profile = Profile::UNIXFS_V1_2025;
//! let mut body = ImportBody::new(&profile, ImportOptions::default(), HashOnly, Ok);
//! let part = std::path::Path::new("video.mp4.part");
//! let fetched = fetcher.fetch("https://example.org/video.mp4", part, &mut body, &mut |_| {})?;
//! let (summary, _) = body.finish()?;
//! fetched.persist(std::path::Path::new("video.mp4"))?;
//! println!("{} ({} bytes)", summary.root, summary.file_size);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod archive;
mod batch;
mod host;
mod part;
mod resume;

pub use archive::{archive_download, ArchiveTo, Download, DownloadError, Downloaded};
pub use batch::{archive_many, BatchObserver};

use std::collections::HashMap;
use std::error::Error as StdError;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, Response};
use reqwest::header;
use reqwest::{redirect, StatusCode, Url};

use crate::http::retry::{Decision, Failure, LongRetryAfter, Policy, Stop};
use crate::http::{chain, find_source, header_text};
use crate::unixfs::{BlockSink, FileImporter, FileSummary, ImportError, ImportOptions, Profile};
use host::Host;
use part::{PartFile, State};
use resume::{Answer, Ask, Held, Refusal, Verdict};

/// An error of a [`Body`], boxed: bodies are the caller's.
pub type BodyError = Box<dyn StdError + Send + Sync>;

/// Where the body goes, besides the partial file.
pub trait Body {
    /// Reads `reader` to its end, or to its first error (returned as is). Returns the bytes
    /// read.
    fn read_from(&mut self, reader: &mut dyn Read) -> Result<u64, BodyError>;
    /// Forgets everything read so far: the download starts again from its first byte.
    fn restart(&mut self) -> Result<(), BodyError>;
}

/// A [`Body`] that imports the download with a [`FileImporter`]. `reset` gets the sink back
/// when the download restarts and returns the one to start again with (for a CAR file: the
/// same file, truncated; for [`HashOnly`](crate::HashOnly): `Ok`).
pub struct ImportBody<S, R> {
    profile: Profile,
    options: ImportOptions,
    importer: Option<FileImporter<S>>,
    reset: R,
}

impl<S: BlockSink, R: FnMut(S) -> Result<S, BodyError>> ImportBody<S, R> {
    /// A body importing into `sink` under `profile`.
    pub fn new(profile: &Profile, options: ImportOptions, sink: S, reset: R) -> Self {
        ImportBody {
            profile: profile.clone(),
            options,
            importer: Some(FileImporter::with_options(profile, options, sink)),
            reset,
        }
    }

    /// Ends the file: its summary and the sink.
    pub fn finish(self) -> Result<(FileSummary, S), ImportError> {
        match self.importer {
            Some(importer) => importer.finish(),
            None => Err(ImportError::Worker),
        }
    }

    fn importer(&mut self) -> Result<&mut FileImporter<S>, BodyError> {
        self.importer
            .as_mut()
            .ok_or_else(|| "the importer was lost when a restart failed".into())
    }
}

impl<S: BlockSink, R: FnMut(S) -> Result<S, BodyError>> Body for ImportBody<S, R> {
    fn read_from(&mut self, reader: &mut dyn Read) -> Result<u64, BodyError> {
        Ok(self.importer()?.read_from(reader)?)
    }

    fn restart(&mut self) -> Result<(), BodyError> {
        let old = self.importer.take().ok_or("no importer to restart")?;
        let sink = (self.reset)(old.into_sink())?;
        self.importer = Some(FileImporter::with_options(
            &self.profile,
            self.options,
            sink,
        ));
        Ok(())
    }
}

/// How a [`Fetcher`] behaves. Every limit applies to each download.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
    /// Give up on a connection that brought no byte for this long (and on a request whose
    /// headers take this long).
    pub idle_timeout: Duration,
    /// Failed attempts in a row before giving up (an attempt that brought bytes resets it).
    pub retries: u32,
    /// The first backoff; it doubles with each failure in a row, up to `max_backoff`, and a
    /// random half of it is taken off (jitter, so volunteers do not retry in step).
    pub backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured; a server asking for more makes the download fail.
    pub max_retry_after: Duration,
    /// The largest body accepted.
    pub max_size: u64,
    /// Redirects followed in one request.
    pub max_redirects: usize,
    /// Requests in flight to one host at once, across all downloads of this fetcher.
    pub per_host: usize,
    /// Bytes a second from one host, shared by its downloads; `None` for no limit.
    pub rate: Option<u64>,
    /// The `User-Agent` header.
    pub user_agent: String,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            connect_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            retries: 10,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_retry_after: Duration::from_secs(600),
            max_size: 64 << 30,
            max_redirects: 10,
            per_host: 2,
            rate: None,
            user_agent: crate::http::USER_AGENT.to_owned(),
        }
    }
}

/// Bytes a resume without a strong validator asks for again before its resume point, to prove
/// that the server still sends the same resource: 64 KiB, a few milliseconds on a slow line,
/// and enough to tell apart two versions of a video (their containers differ early and often).
pub const RESUME_OVERLAP: u64 = 64 * 1024;

/// What happens during a download, for progress displays.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// The body's length, when a response announces it (after each restart too).
    Length(Option<u64>),
    /// Bytes taken: received, or re-read from an earlier run's partial file.
    Data(u64),
    /// Every byte so far was dropped: the download starts again from zero.
    Restart {
        /// Why.
        reason: &'a str,
    },
    /// An attempt failed; the next one starts after `wait`.
    Retry {
        /// Failed attempts in a row.
        failures: u32,
        /// The wait before the next attempt.
        wait: Duration,
        /// What went wrong.
        reason: &'a str,
    },
}

/// A finished download. Its bytes are in the partial file, synced;
/// [`Fetched::persist`] moves them to their final name.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL asked for.
    pub url: String,
    /// The URL of the last response, after redirects.
    pub final_url: String,
    /// The body's `Content-Type`, if the server sent one.
    pub content_type: Option<String>,
    /// The body's length.
    pub length: u64,
    /// The `ETag` of the body, if any.
    pub etag: Option<String>,
    /// The `Last-Modified` of the body, if any.
    pub last_modified: Option<String>,
    /// Bytes taken from an earlier run's partial file.
    pub resumed_from: u64,
    /// Requests made.
    pub requests: u32,
    /// Times the download started again from zero.
    pub restarts: u32,
    part: PathBuf,
}

/// The last segment of a URL's path, without query or fragment.
fn url_file_name(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let path = rest.split(['?', '#']).next()?;
    let (_, path) = path.split_once('/')?;
    path.rsplit('/').next().filter(|n| !n.is_empty())
}

/// The file name of a URL's path without its extension (`…/v/42.mp4?tok=1` → `42`): the id a
/// download gets when none is given.
pub fn url_file_stem(url: &str) -> Option<String> {
    let name = url_file_name(url)?;
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    (!stem.is_empty()).then(|| stem.to_owned())
}

/// A file extension for a download: the URL's (as asked, then after redirects) if it looks like
/// one, else one for the Content-Type ([`crate::archive::extension_of_media_type`]), else
/// `bin`.
fn download_extension(url: &str, final_url: &str, content_type: Option<&str>) -> String {
    let from_url = |url: &str| {
        let (_, ext) = url_file_name(url)?.rsplit_once('.')?;
        let ok = (1..=5).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_alphanumeric());
        ok.then(|| ext.to_ascii_lowercase())
    };
    from_url(url)
        .or_else(|| from_url(final_url))
        .or_else(|| {
            content_type
                .and_then(crate::archive::extension_of_media_type)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "bin".to_owned())
}

impl Fetched {
    /// The partial file holding the body, until [`Fetched::persist`] moves it.
    pub fn part_path(&self) -> &Path {
        &self.part
    }

    /// The extension the downloaded file gets: see [`url_file_stem`] for the id; the URL's
    /// extension (as asked, then after redirects), else one for the Content-Type, else `bin`.
    pub fn file_extension(&self) -> String {
        download_extension(&self.url, &self.final_url, self.content_type.as_deref())
    }

    /// Removes the partial file and its state file: the same bytes are under the final name
    /// already.
    pub fn discard(&self) -> io::Result<()> {
        for path in [self.part.clone(), part::state_path(&self.part)] {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        Ok(())
    }

    /// Renames the partial file to `dest` (same file system) and removes its state file. Never
    /// replaces a file: where `dest` exists (another process wrote it meanwhile), the rename fails
    /// with [`io::ErrorKind::AlreadyExists`] and the partial file stays.
    pub fn persist(&self, dest: &Path) -> io::Result<()> {
        rename_no_replace(&self.part, dest)?;
        match std::fs::remove_file(part::state_path(&self.part)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Renames `from` to `to` unless `to` exists, atomically (`RENAME_NOREPLACE`; where the file
/// system lacks it, a hard link then an unlink, which is as atomic: a link never replaces).
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::EXIST => Err(io::ErrorKind::AlreadyExists.into()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            std::fs::hard_link(from, to)?;
            std::fs::remove_file(from)
        }
        Err(e) => Err(e.into()),
    }
}

/// Why a download failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is not an absolute http(s) URL.
    #[error("{url} is not an http(s) URL: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server answered with a status that retrying cannot change (most `4xx`).
    #[error("{url}: the server answered {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: StatusCode,
    },
    /// The server encoded the body (`Content-Encoding`) although `identity` was asked: those
    /// are not the bytes it serves to others, and their CID would be no one else's.
    #[error("{url}: the server sent the body with Content-Encoding {encoding}, not the bytes themselves")]
    Encoded {
        /// The URL.
        url: String,
        /// The encoding.
        encoding: String,
    },
    /// Redirects went round in a loop or were too many.
    #[error("{url}: {reason}")]
    Redirect {
        /// The URL.
        url: String,
        /// The loop, or the limit.
        reason: String,
    },
    /// The body is larger than `max_size`.
    #[error("{url}: the body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: u64,
    },
    /// The body kept changing: more restarts from zero than retries allowed.
    #[error("{url}: gave up after {restarts} restarts from zero: {last}")]
    Restarts {
        /// The URL.
        url: String,
        /// Restarts.
        restarts: u32,
        /// Why the last one happened.
        last: String,
    },
    /// Every retry failed (the partial file is kept, so a later run resumes).
    #[error("{url}: gave up after {failures} failed attempts in a row{}: {last}", restarts_note(*.restarts))]
    GaveUp {
        /// The URL.
        url: String,
        /// Failed attempts in a row.
        failures: u32,
        /// Restarts from zero before (the body changed).
        restarts: u32,
        /// The last failure.
        last: String,
    },
    /// The partial file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The partial file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The [`Body`] failed.
    #[error("{url}: {source}")]
    Body {
        /// The URL.
        url: String,
        /// The body's error.
        #[source]
        source: BodyError,
    },
    /// The server's certificate was refused (retrying cannot change it).
    #[error("{url}: TLS failed: {reason}")]
    Tls {
        /// The URL.
        url: String,
        /// What rustls refused.
        reason: String,
    },
    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Client(#[source] BodyError),
}

impl FetchError {
    /// Whether the partial file is worth keeping for a later run: the server may come back,
    /// and the disk may be freed; a refusal from the server is final.
    fn keeps_partial(&self) -> bool {
        matches!(
            self,
            FetchError::GaveUp { .. } | FetchError::Io { .. } | FetchError::Body { .. }
        )
    }
}

/// `, after N restarts from zero`, when there were any.
fn restarts_note(restarts: u32) -> String {
    match restarts {
        0 => String::new(),
        1 => " (after 1 restart from zero)".into(),
        n => format!(" (after {n} restarts from zero)"),
    }
}

/// Downloads, politely, with retries and resumption. One fetcher is shared by all downloads
/// (it is `Sync`): per-host limits hold across them.
#[derive(Debug)]
pub struct Fetcher {
    client: Client,
    options: FetchOptions,
    hosts: Mutex<HashMap<String, Arc<Host>>>,
}

/// Why a redirect chain was refused.
#[derive(Debug, thiserror::Error)]
enum RedirectError {
    #[error("redirect loop: {0} was already visited")]
    Loop(Url),
    #[error("more than {0} redirects")]
    TooMany(usize),
    #[error("redirected to {0}, which is not an http(s) URL")]
    Scheme(Url),
}

/// How one attempt ended, short of success.
enum Failed {
    /// Another attempt may succeed (`failure` is transient): the policy decides.
    Retry {
        reason: String,
        failure: Failure,
    },
    /// The bytes so far were not those of the resource any more: start again at once.
    Restart(String),
    Fatal(FetchError),
}

impl Fetcher {
    /// A fetcher with `options`. TLS is rustls on the ring provider, checked against the
    /// platform's roots.
    pub fn new(options: FetchOptions) -> Result<Fetcher, FetchError> {
        let client_error = |e: &dyn std::fmt::Display| FetchError::Client(e.to_string().into());
        let max = options.max_redirects;
        let policy = redirect::Policy::custom(move |attempt| {
            if !matches!(attempt.url().scheme(), "http" | "https") {
                let url = attempt.url().clone();
                attempt.error(RedirectError::Scheme(url))
            } else if attempt.previous().contains(attempt.url()) {
                let url = attempt.url().clone();
                attempt.error(RedirectError::Loop(url))
            } else if attempt.previous().len() > max {
                attempt.error(RedirectError::TooMany(max))
            } else {
                attempt.follow()
            }
        });
        let client = crate::http::client_builder(&options.user_agent)
            .map_err(|e| client_error(&e))?
            .connect_timeout(options.connect_timeout)
            .timeout(options.idle_timeout)
            .redirect(policy)
            .build()
            .map_err(|e| client_error(&e))?;
        Ok(Fetcher {
            client,
            options,
            hosts: Mutex::default(),
        })
    }

    /// The options.
    pub fn options(&self) -> &FetchOptions {
        &self.options
    }

    /// Downloads `url` into the partial file `part` and into `body`.
    ///
    /// If `part` and its state file are left from an earlier call for the same URL, their bytes
    /// are read into `body` first and the download continues where it stopped. On success the
    /// whole body is in `part`, synced; [`Fetched::persist`] gives it its final name. On
    /// failure `part` is kept when a later call may resume ([`FetchError::GaveUp`], a local
    /// I/O or body error) and removed when the server's answer is final.
    pub fn fetch(
        &self,
        url: &str,
        part: &Path,
        body: &mut dyn Body,
        events: &mut dyn FnMut(Event),
    ) -> Result<Fetched, FetchError> {
        let parsed = parse_url(url)?;
        let host = self.host(&parsed);
        let io_error = |source| FetchError::Io {
            path: part.to_owned(),
            source,
        };
        let (mut file, state) = PartFile::open(part, url).map_err(io_error)?;
        let resumed_from = file.len;
        if resumed_from > 0 {
            events(Event::Length(state.as_ref().and_then(|s| s.length)));
            let mut existing = file.existing().map_err(io_error)?;
            let read = body
                .read_from(&mut existing)
                .map_err(|e| FetchError::Body {
                    url: url.to_owned(),
                    source: e,
                })?;
            if read != resumed_from {
                return Err(io_error(io::ErrorKind::UnexpectedEof.into()));
            }
            file.seek_end().map_err(io_error)?;
            events(Event::Data(read));
        }
        let mut download = Transfer {
            fetcher: self,
            url: &parsed,
            host: &host,
            part: file,
            state,
            body,
            events,
            requests: 0,
            restarts: 0,
        };
        match download.run() {
            Ok(state) => {
                download.part.sync().map_err(io_error)?;
                Ok(Fetched {
                    url: url.to_owned(),
                    final_url: state.final_url,
                    content_type: state.content_type,
                    length: download.part.len,
                    etag: state.etag,
                    last_modified: state.last_modified,
                    resumed_from,
                    requests: download.requests,
                    restarts: download.restarts,
                    part: part.to_owned(),
                })
            }
            Err(e) => {
                if !e.keeps_partial() {
                    download.part.discard();
                }
                Err(e)
            }
        }
    }

    fn host(&self, url: &Url) -> Arc<Host> {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        hosts
            .entry(key)
            .or_insert_with(|| Arc::new(Host::new(self.options.per_host, self.options.rate)))
            .clone()
    }

    /// The retry policy of a download: the options' `retries`, `backoff` and `max_backoff`;
    /// a `Retry-After` honoured up to `max_retry_after`, and a longer one fails the download.
    fn policy(&self) -> Policy {
        Policy::new(
            self.options.backoff,
            self.options.max_backoff,
            self.options.retries,
        )
        .retry_after(self.options.max_retry_after, LongRetryAfter::GiveUp)
    }
}

fn parse_url(url: &str) -> Result<Url, FetchError> {
    let bad = |reason: String| FetchError::Url {
        url: url.to_owned(),
        reason,
    };
    let parsed = Url::parse(url).map_err(|e| bad(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(bad(format!("the scheme is {}", parsed.scheme())));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(bad("it names no host".into()));
    }
    Ok(parsed)
}

/// One download in progress.
struct Transfer<'a> {
    fetcher: &'a Fetcher,
    url: &'a Url,
    host: &'a Host,
    part: PartFile,
    /// What the response that started the bytes in `part` said; `None` while `part` is empty.
    state: Option<State>,
    body: &'a mut dyn Body,
    events: &'a mut dyn FnMut(Event),
    requests: u32,
    restarts: u32,
}

impl Transfer<'_> {
    /// Attempts until the body is whole or the policy gives up. Failures in a row count
    /// towards the retries (an attempt that brought bytes resets them); restarts from zero
    /// count on their own, up to the same number.
    fn run(&mut self) -> Result<State, FetchError> {
        let options = &self.fetcher.options;
        let policy = self.fetcher.policy();
        let start = Instant::now();
        let mut failures = 0u32;
        loop {
            let ask = resume::ask(self.held());
            if let (Ask::Complete, Some(state)) = (&ask, &self.state) {
                return Ok(state.clone());
            }
            let before = self.part.len;
            let failed = match self.attempt(ask) {
                Ok(state) => return Ok(state),
                Err(failed) => failed,
            };
            if self.part.len > before {
                failures = 0;
            }
            let (reason, failure) = match failed {
                Failed::Fatal(e) => return Err(e),
                // The answer does not continue the bytes so far: as an endpoint that lies, it
                // is left for the next one, and the one other endpoint a download has is the
                // same URL from zero.
                Failed::Restart(reason) => (reason, Failure::Lie),
                Failed::Retry { reason, failure } => (reason, failure),
            };
            let decision = policy.decide(failure, failures.saturating_add(1), start.elapsed());
            if decision == Decision::NextEndpoint {
                self.restart(&reason)?;
                if self.restarts <= options.retries {
                    continue;
                }
                return Err(FetchError::Restarts {
                    url: self.url.to_string(),
                    restarts: self.restarts,
                    last: reason,
                });
            }
            failures = failures.saturating_add(1);
            if self.restarts > options.retries {
                return Err(FetchError::Restarts {
                    url: self.url.to_string(),
                    restarts: self.restarts,
                    last: reason,
                });
            }
            let wait = match decision {
                Decision::Retry(wait) => wait,
                Decision::GiveUp(Stop::RetryAfter(wait)) => {
                    return Err(FetchError::GaveUp {
                        url: self.url.to_string(),
                        failures,
                        restarts: self.restarts,
                        last: format!("{reason}, and the server asks to wait {wait:?}"),
                    })
                }
                Decision::GiveUp(_) | Decision::NextEndpoint => {
                    return Err(FetchError::GaveUp {
                        url: self.url.to_string(),
                        failures,
                        restarts: self.restarts,
                        last: reason,
                    })
                }
            };
            (self.events)(Event::Retry {
                failures,
                wait,
                reason: &reason,
            });
            std::thread::sleep(wait);
        }
    }

    /// Drops every byte so far.
    fn restart(&mut self, reason: &str) -> Result<(), FetchError> {
        self.restarts += 1;
        self.body.restart().map_err(|e| FetchError::Body {
            url: self.url.to_string(),
            source: e,
        })?;
        self.part.reset().map_err(|source| FetchError::Io {
            path: self.part.path.clone(),
            source,
        })?;
        self.state = None;
        (self.events)(Event::Restart { reason });
        Ok(())
    }

    /// What the partial file holds now.
    fn held(&self) -> Held<'_> {
        Held {
            len: self.part.len,
            state: self.state.as_ref(),
        }
    }

    /// One request: continues the body from `part.len` as `ask` says, or starts it; what is
    /// done with the answer is [`resume::decide`]'s verdict.
    fn attempt(&mut self, ask: Ask) -> Result<State, Failed> {
        let _slot = self.host.slot();
        let mut request = self
            .fetcher
            .client
            .get(self.url.clone())
            .header(header::ACCEPT_ENCODING, "identity");
        if let Ask::Rest { from, if_range, .. } = ask {
            request = request.header(header::RANGE, format!("bytes={from}-"));
            if let Some(validator) = if_range {
                request = request.header(header::IF_RANGE, validator);
            }
        }
        self.requests += 1;
        let mut response = request.send().map_err(|e| self.classify(e))?;
        let answer = Answer::new(
            response.status(),
            response.headers(),
            response.content_length(),
        );
        let overlap = match resume::decide(self.held(), &answer) {
            Verdict::Resume { overlap, .. } => overlap,
            Verdict::Accept { restart, length } => {
                if let Some(reason) = restart {
                    self.restart(reason).map_err(Failed::Fatal)?;
                }
                if length.is_some_and(|l| l > self.fetcher.options.max_size) {
                    return Err(Failed::Fatal(self.too_large()));
                }
                let headers = response.headers();
                let state = State {
                    url: self.url.to_string(),
                    length,
                    etag: answer.etag,
                    last_modified: answer.last_modified,
                    content_type: header_text(headers, header::CONTENT_TYPE),
                    final_url: response.url().to_string(),
                };
                self.part.save_state(&state).map_err(|source| {
                    Failed::Fatal(FetchError::Io {
                        path: self.part.path.clone(),
                        source,
                    })
                })?;
                self.state = Some(state);
                (self.events)(Event::Length(length));
                0
            }
            Verdict::Complete(state) => return Ok(state.clone()),
            Verdict::Restart(reason) => return Err(Failed::Restart(reason)),
            Verdict::Retry {
                reason,
                retry_after,
            } => {
                return Err(Failed::Retry {
                    reason,
                    failure: Failure::Busy { retry_after },
                })
            }
            Verdict::Refuse(refusal) => return Err(Failed::Fatal(self.refused(refusal))),
        };
        if overlap > 0 {
            self.check_overlap(&mut response, overlap)?;
        }
        self.receive(response)
    }

    /// The error of an answer that fails the download.
    fn refused(&self, refusal: Refusal) -> FetchError {
        let url = self.url.to_string();
        match refusal {
            Refusal::Encoded(encoding) => FetchError::Encoded { url, encoding },
            Refusal::Redirect { status, location } => FetchError::Redirect {
                url,
                reason: format!(
                    "redirected ({status}) to {location:?}, which cannot be followed (not an http(s) URL)"
                ),
            },
            Refusal::Status(status) => FetchError::Status { url, status },
        }
    }

    /// Reads the `overlap` bytes a validator-less resume asked for before its resume point and
    /// compares them with the partial file's tail: the same bytes, or a restart from zero.
    fn check_overlap(&mut self, response: &mut Response, overlap: u64) -> Result<(), Failed> {
        let mut sent = vec![0u8; overlap as usize];
        response
            .read_exact(&mut sent)
            .map_err(|e| self.classify_io(e))?;
        let have = self.part.tail(overlap).map_err(|source| {
            Failed::Fatal(FetchError::Io {
                path: self.part.path.clone(),
                source,
            })
        })?;
        resume::continues(&sent, &have).map_err(Failed::Restart)
    }

    /// Streams a response body into the partial file and the body.
    fn receive(&mut self, response: Response) -> Result<State, Failed> {
        let limit = self.fetcher.options.max_size;
        let mut tee = Tee {
            response,
            part: &mut self.part,
            host: self.host,
            events: &mut *self.events,
            limit,
            failure: None,
        };
        let result = self.body.read_from(&mut tee);
        let failure = tee.failure.take();
        let state = self
            .state
            .clone()
            .expect("a body is received after its state");
        match (result, failure) {
            (Ok(_), _) => match resume::short(self.part.len, state.length) {
                Some(reason) => Err(Failed::Retry {
                    reason,
                    failure: Failure::Broken,
                }),
                None => Ok(state),
            },
            (Err(_), Some(TeeFailure::Network(e))) => Err(self.classify_io(e)),
            (Err(_), Some(TeeFailure::Disk(source))) => Err(Failed::Fatal(FetchError::Io {
                path: self.part.path.clone(),
                source,
            })),
            (Err(_), Some(TeeFailure::TooLarge)) => Err(Failed::Fatal(self.too_large())),
            (Err(source), None) => Err(Failed::Fatal(FetchError::Body {
                url: self.url.to_string(),
                source,
            })),
        }
    }

    fn too_large(&self) -> FetchError {
        FetchError::TooLarge {
            url: self.url.to_string(),
            limit: self.fetcher.options.max_size,
        }
    }

    /// Sorts a failed request into retry (the network) or fatal (redirects, our own bugs).
    fn classify(&self, e: reqwest::Error) -> Failed {
        if let Some(redirect) = find_source::<RedirectError>(&e) {
            return Failed::Fatal(FetchError::Redirect {
                url: self.url.to_string(),
                reason: redirect.to_string(),
            });
        }
        if let Some(tls) = find_source::<rustls::Error>(&e) {
            return Failed::Fatal(FetchError::Tls {
                url: self.url.to_string(),
                reason: tls.to_string(),
            });
        }
        if e.is_builder() {
            return Failed::Fatal(FetchError::Url {
                url: self.url.to_string(),
                reason: chain(&e),
            });
        }
        let failure = if e.is_timeout() {
            Failure::Timeout
        } else if e.is_connect() {
            Failure::Connection
        } else {
            Failure::Broken
        };
        Failed::Retry {
            reason: chain(&e),
            failure,
        }
    }

    fn classify_io(&self, e: io::Error) -> Failed {
        let failure = match e.kind() {
            io::ErrorKind::TimedOut => Failure::Timeout,
            _ => Failure::Broken,
        };
        Failed::Retry {
            reason: format!(
                "the transfer broke at byte {}: {}",
                self.part.len,
                chain(&e)
            ),
            failure,
        }
    }
}

/// Reads the response, copying each read into the partial file (the reader's buffer is the
/// importer's chunk buffer, so the bytes are copied once into it and once to the disk).
struct Tee<'a> {
    response: Response,
    part: &'a mut PartFile,
    host: &'a Host,
    events: &'a mut dyn FnMut(Event),
    limit: u64,
    failure: Option<TeeFailure>,
}

enum TeeFailure {
    Network(io::Error),
    Disk(io::Error),
    TooLarge,
}

impl Read for Tee<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.response.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                let copy = io::Error::new(e.kind(), chain(&e));
                self.failure = Some(TeeFailure::Network(e));
                return Err(copy);
            }
        };
        if self.part.len + n as u64 > self.limit {
            self.failure = Some(TeeFailure::TooLarge);
            return Err(io::Error::other("the body is too large"));
        }
        if let Err(e) = self.part.append(&buf[..n]) {
            let copy = io::Error::new(e.kind(), e.to_string());
            self.failure = Some(TeeFailure::Disk(e));
            return Err(copy);
        }
        self.host.throttle(n);
        (self.events)(Event::Data(n as u64));
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_download_never_replaces_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let (part, dest) = (dir.path().join("a.part"), dir.path().join("a.mp4"));
        std::fs::write(&part, b"new").unwrap();
        std::fs::write(&dest, b"someone else's").unwrap();
        let err = rename_no_replace(&part, &dest).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&dest).unwrap(), b"someone else's");
        assert_eq!(
            std::fs::read(&part).unwrap(),
            b"new",
            "the download is kept"
        );
        std::fs::remove_file(&dest).unwrap();
        rename_no_replace(&part, &dest).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        assert!(!part.exists());
    }

    #[test]
    fn names_from_urls() {
        assert_eq!(
            url_file_name("https://cdn.example/v/42.mp4?tok=1#t"),
            Some("42.mp4")
        );
        assert_eq!(
            url_file_stem("https://cdn.example/v/42.mp4?tok=1"),
            Some("42".into())
        );
        assert_eq!(url_file_stem("https://cdn.example/v/42"), Some("42".into()));
        assert_eq!(url_file_name("https://cdn.example/"), None);
        assert_eq!(url_file_name("https://cdn.example"), None);
    }

    fn ext(url: &str, content_type: Option<&str>) -> String {
        download_extension(url, url, content_type)
    }

    #[test]
    fn extensions_from_the_url_then_the_content_type() {
        assert_eq!(ext("http://h/a/42.MP4", None), "mp4");
        assert_eq!(
            ext("http://h/watch?v=42", Some("video/webm; codecs=vp9")),
            "webm"
        );
        assert_eq!(ext("http://h/42", None), "bin");
        assert_eq!(ext("http://h/42.not-an-ext", Some("video/mp4")), "mp4");
    }
    #[test]
    fn only_http_urls() {
        assert!(matches!(
            parse_url("ftp://x/y"),
            Err(FetchError::Url { .. })
        ));
        assert!(matches!(
            parse_url("not a url"),
            Err(FetchError::Url { .. })
        ));
        assert!(parse_url("https://example.org/v.mp4").is_ok());
    }
}
