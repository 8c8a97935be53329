//! A client of the IPFS Pinning Service API (the API of Pinata-style services, of IPFS Cluster,
//! and of kubo's `pin remote`): ask a service to pin a CID, wait for it, replace a pin.
//!
//! The service fetches the blocks itself, from the network; `origins` (the pushing node's
//! addresses) tell it where to look first. The `delegates` it answers with are dialled only
//! when asked for (`PushOptions::connect_delegates`), by the node, never by this client.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

use cid::Cid;
use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::http::chain;

mod answer;
use crate::http::retry::{After, Classify, Failure, LongRetryAfter, Policy};
use answer::answer;

/// Pins asked for in one page of `GET /pins` (the spec's largest; its default is 10).
const PAGE: &str = "1000";

/// The largest answer read (a page of pins).
const MAX_ANSWER: u64 = 8 << 20;

/// How a [`PinningService`] behaves.
#[derive(Clone, Debug)]
pub struct PinningOptions {
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
    /// Give up on a call without an answer for this long.
    pub timeout: Duration,
    /// Failed attempts in a row before a call gives up (connection errors, `429`, `5xx`).
    pub retries: u32,
    /// The first backoff (retries, and polling a pin); it doubles up to `max_backoff`.
    pub backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
}

impl Default for PinningOptions {
    fn default() -> Self {
        PinningOptions {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(60),
            retries: 8,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// A secret that is never printed.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    /// A token.
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into())
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

/// What is asked of a service: the spec's `Pin` object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinRequest {
    /// The CID to pin.
    #[serde(with = "cid_text")]
    pub cid: Cid,
    /// A name for people (`<site>/<id>`, `catalogue`).
    #[serde(default)]
    pub name: String,
    /// Multiaddrs of nodes that hold the blocks.
    #[serde(default)]
    pub origins: Vec<String>,
    /// Metadata, for people and tools.
    #[serde(default)]
    pub meta: BTreeMap<String, String>,
}

/// CIDs as text in JSON (the `cid` crate's own serde form is the IPLD link).
mod cid_text {
    use cid::Cid;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(cid: &Cid, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(cid)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Cid, D::Error> {
        let text = String::deserialize(d)?;
        Cid::try_from(text.as_str()).map_err(serde::de::Error::custom)
    }
}

/// Where a pin request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PinStatus {
    /// Waiting.
    Queued,
    /// Fetching the blocks.
    Pinning,
    /// Done.
    Pinned,
    /// Given up (see `info`).
    Failed,
}

impl PinStatus {
    /// Whether the status will not change any more.
    pub fn is_final(self) -> bool {
        matches!(self, PinStatus::Pinned | PinStatus::Failed)
    }
}

/// The spec's `PinStatus` object: a request, and where it stands.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PinRequestStatus {
    /// The request's id.
    pub requestid: String,
    /// Where it stands.
    pub status: PinStatus,
    /// When it was made (RFC 3339).
    #[serde(default)]
    pub created: String,
    /// What was asked.
    pub pin: PinRequest,
    /// Addresses of the service's nodes (never dialled here).
    #[serde(default)]
    pub delegates: Vec<String>,
    /// Extra information, such as why a pin failed.
    #[serde(default)]
    pub info: BTreeMap<String, serde_json::Value>,
}

impl PinRequestStatus {
    /// `info` as one line (`key: value, …`, cut to 300 bytes, control characters escaped), or
    /// `no reason given`.
    pub fn info_text(&self) -> String {
        if self.info.is_empty() {
            return "no reason given".into();
        }
        let text = self
            .info
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                v => format!("{k}: {v}"),
            })
            .collect::<Vec<_>>()
            .join(", ");
        // The service's own words: cut and escaped like any peer's text.
        crate::http::peer_text(text.as_bytes(), &[])
    }
}

/// What [`PinningService::pin`] did.
#[derive(Clone, Debug)]
pub struct RemotePinned {
    /// The request, as last seen.
    pub status: PinRequestStatus,
    /// How it came about.
    pub action: PinAction,
}

/// How a pin came about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PinAction {
    /// A request for this CID already existed.
    Existing,
    /// A new request.
    Added,
    /// An existing pin of the same name was replaced (the old CID stays pinned until the new
    /// one is).
    Replaced {
        /// The CID the name pinned before.
        old: String,
    },
}

/// A pinning service call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PinningError {
    /// The service URL is not an http(s) URL.
    #[error("bad pinning service URL {url}: {reason}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The service refused the access token (the token itself is never printed).
    #[error("{endpoint}: the pinning service refused the access token ({status}): {reason}")]
    Unauthorized {
        /// The call.
        endpoint: String,
        /// `401` or `403`.
        status: u16,
        /// The service's reason.
        reason: String,
    },
    /// The service answered with an error.
    #[error("{endpoint}: the pinning service answered {status}: {reason}")]
    Service {
        /// The call.
        endpoint: String,
        /// The status.
        status: u16,
        /// The service's `error.reason` and `error.details`.
        reason: String,
    },
    /// The service could not be reached, or the connection broke (after the retries).
    #[error("{endpoint}: {reason}")]
    Transfer {
        /// The call.
        endpoint: String,
        /// What happened.
        reason: String,
    },
    /// The answer is not what the API documents.
    #[error("{endpoint}: unexpected answer: {reason}")]
    Protocol {
        /// The call.
        endpoint: String,
        /// What is wrong.
        reason: String,
    },
    /// The service gave up pinning.
    #[error("{service}: pinning {cid} failed: {info}")]
    Failed {
        /// The service.
        service: String,
        /// The CID.
        cid: Box<Cid>,
        /// The service's `info`.
        info: String,
    },
    /// The pin did not reach `pinned` or `failed` in time.
    #[error("{service}: {cid} is still {} after {}s", status_name(*.status), .waited.as_secs())]
    Timeout {
        /// The service.
        service: String,
        /// The CID.
        cid: Box<Cid>,
        /// Its last status.
        status: PinStatus,
        /// How long it was waited for.
        waited: Duration,
    },
    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

fn status_name(status: PinStatus) -> &'static str {
    match status {
        PinStatus::Queued => "queued",
        PinStatus::Pinning => "pinning",
        PinStatus::Pinned => "pinned",
        PinStatus::Failed => "failed",
    }
}

impl PinningError {
    /// Whether another attempt may succeed (the connection, `429`, `5xx`).
    pub fn is_retryable(&self) -> bool {
        self.failure().is_transient()
    }
}

impl Classify for PinningError {
    fn failure(&self) -> Failure {
        match self {
            PinningError::Transfer { .. } => Failure::Broken,
            PinningError::Service { status, .. } => match StatusCode::from_u16(*status) {
                Ok(status) => Failure::status(status, None),
                Err(_) => Failure::Refused,
            },
            PinningError::Unauthorized { .. } | PinningError::Failed { .. } => Failure::Refused,
            PinningError::Protocol { .. } => Failure::Lie,
            PinningError::Url { .. } | PinningError::Timeout { .. } | PinningError::Client(_) => {
                Failure::Fatal
            }
        }
    }
}

/// An attempt's result as [`Policy::run`] takes it: the error with its `Retry-After`.
fn with_retry_after<T>(
    (result, retry_after): (Result<T, PinningError>, Option<Duration>),
) -> Result<T, After<PinningError>> {
    result.map_err(|error| After { error, retry_after })
}

/// A Pinning Service API client.
#[derive(Debug, Clone)]
pub struct PinningService {
    client: Client,
    base: Url,
    token: HeaderValue,
    options: PinningOptions,
}

/// The spec's page of pins.
#[derive(Deserialize)]
struct PinResults {
    #[serde(default)]
    results: Vec<PinRequestStatus>,
}

impl PinningService {
    /// A client of the service at `url` (its API root: `/pins` is appended), authenticated
    /// with `token`.
    pub fn new(url: &str, token: &Token, options: PinningOptions) -> Result<Self, PinningError> {
        let bad = |reason: String| PinningError::Url {
            url: url.to_owned(),
            reason,
        };
        let mut base = Url::parse(url).map_err(|e| bad(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("expected an http(s) URL".into()));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(PinningError::Url {
                url: "(not shown: it holds credentials)".into(),
                reason: "credentials go in the access token, not in the URL".into(),
            });
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let mut header = HeaderValue::from_str(&format!("Bearer {}", token.0))
            .map_err(|_| PinningError::Client("the token is not valid header text".into()))?;
        header.set_sensitive(true);
        let client = crate::http::client_builder(crate::http::USER_AGENT)
            .map_err(PinningError::Client)?
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| PinningError::Client(chain(&e)))?;
        Ok(PinningService {
            client,
            base,
            token: header,
            options,
        })
    }

    /// The service's URL.
    pub fn url(&self) -> &Url {
        &self.base
    }

    fn url_of(&self, path: &str) -> Url {
        // `path` is `pins` or `pins/<id>`, relative to a base ending in `/`.
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    /// One attempt: the answer, or the error and the service's `Retry-After`.
    fn attempt<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        url: Url,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> (Result<T, PinningError>, Option<Duration>) {
        let endpoint = format!("{method} {url}");
        let request = match method {
            "GET" => self.client.get(url),
            _ => self.client.post(url),
        };
        match build(request.header(AUTHORIZATION, self.token.clone())).send() {
            Ok(response) => {
                let (answer, wait) = answer(&endpoint, response);
                (answer.map_err(|e| self.scrubbed(e)), wait)
            }
            Err(e) => (
                Err(PinningError::Transfer {
                    endpoint,
                    reason: chain(&e),
                }),
                None,
            ),
        }
    }

    /// `e` with the token (as sent, with or without its `Bearer ` prefix) replaced wherever the
    /// service repeated it.
    fn scrubbed(&self, e: PinningError) -> PinningError {
        let sent = self.token.to_str().unwrap_or_default();
        let bare = sent.strip_prefix("Bearer ").unwrap_or(sent);
        let scrub = |reason: String| crate::http::peer_text(reason.as_bytes(), &[sent, bare]);
        match e {
            PinningError::Unauthorized {
                endpoint,
                status,
                reason,
            } => PinningError::Unauthorized {
                endpoint,
                status,
                reason: scrub(reason),
            },
            PinningError::Service {
                endpoint,
                status,
                reason,
            } => PinningError::Service {
                endpoint,
                status,
                reason: scrub(reason),
            },
            PinningError::Protocol { endpoint, reason } => PinningError::Protocol {
                endpoint,
                reason: scrub(reason),
            },
            e => e,
        }
    }

    /// The retry policy: the options' `retries`, `backoff` and `max_backoff`; the service's
    /// `Retry-After` honoured up to four times the longest backoff (a longer one waits that
    /// long).
    fn policy(&self) -> Policy {
        Policy::new(
            self.options.backoff,
            self.options.max_backoff,
            self.options.retries,
        )
        .retry_after(
            self.options.max_backoff.saturating_mul(4),
            LongRetryAfter::Cap,
        )
    }

    /// A `GET`, retried with backoff on connection errors, `429` (after its `Retry-After`)
    /// and `5xx`. (A `POST` is never retried blindly: see [`PinningService::pin`].)
    fn get_json<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, PinningError> {
        self.policy()
            .run(|| with_retry_after(self.attempt("GET", url.clone(), |r| r)))
            .map_err(|e| e.error)
    }

    /// The requests for `cid` in any status.
    pub fn find_by_cid(&self, cid: &Cid) -> Result<Vec<PinRequestStatus>, PinningError> {
        let mut url = self.url_of("pins");
        url.query_pairs_mut()
            .append_pair("cid", &cid.to_string())
            .append_pair("status", "queued,pinning,pinned,failed")
            .append_pair("limit", PAGE);
        Ok(self.get_json::<PinResults>(url)?.results)
    }

    /// The requests named exactly `name`, in any status.
    pub fn find_by_name(&self, name: &str) -> Result<Vec<PinRequestStatus>, PinningError> {
        let mut url = self.url_of("pins");
        url.query_pairs_mut()
            .append_pair("name", name)
            .append_pair("match", "exact")
            .append_pair("status", "queued,pinning,pinned,failed")
            .append_pair("limit", PAGE);
        Ok(self.get_json::<PinResults>(url)?.results)
    }

    /// `POST /pins`: a new request. One attempt: a request whose answer was lost may have
    /// been made, so a retry must look first ([`PinningService::pin`] does).
    pub fn add(&self, request: &PinRequest) -> Result<PinRequestStatus, PinningError> {
        self.post(self.url_of("pins"), request).0
    }

    /// One `POST` of `request` as JSON.
    fn post(
        &self,
        url: Url,
        request: &PinRequest,
    ) -> (Result<PinRequestStatus, PinningError>, Option<Duration>) {
        match json_body(request) {
            Ok(body) => self.attempt("POST", url, |r| with_json(r, &body)),
            Err(e) => (Err(e), None),
        }
    }

    /// `GET /pins/{requestid}`.
    pub fn get(&self, requestid: &str) -> Result<PinRequestStatus, PinningError> {
        self.get_json(self.request_url(requestid))
    }

    /// `POST /pins/{requestid}`: replaces a request with another (the service unpins the old
    /// CID only once the new one is pinned). One attempt, as [`PinningService::add`].
    pub fn replace(
        &self,
        requestid: &str,
        request: &PinRequest,
    ) -> Result<PinRequestStatus, PinningError> {
        self.post(self.request_url(requestid), request).0
    }

    fn request_url(&self, requestid: &str) -> Url {
        let mut url = self.url_of("pins/");
        url.path_segments_mut()
            .map(|mut s| {
                s.pop_if_empty().push(requestid);
            })
            .ok();
        url
    }

    /// Polls a request until it is `pinned` or `failed`, backing off between polls, for at
    /// most `limit`.
    pub fn wait(
        &self,
        mut status: PinRequestStatus,
        limit: Duration,
    ) -> Result<PinRequestStatus, PinningError> {
        let start = Instant::now();
        let mut polls = 0;
        while !status.status.is_final() {
            if start.elapsed() >= limit {
                return Err(PinningError::Timeout {
                    service: self.base.to_string(),
                    cid: Box::new(status.pin.cid),
                    status: status.status,
                    waited: start.elapsed(),
                });
            }
            polls += 1;
            std::thread::sleep(self.policy().backoff(polls));
            status = self.get(&status.requestid)?;
        }
        Ok(status)
    }

    /// Asks the service to pin `request.cid`, without duplicating: a request for the same CID
    /// is reused (a failed one is asked again); with `replace`, a pin of the same name and
    /// another CID is replaced. With `wait`, polls until the pin is `pinned` or `failed`.
    ///
    /// A `POST` that fails in a way worth retrying (the connection, `429`, `5xx`) is not sent
    /// again blindly: the service may have taken it, so the next attempt looks for the CID
    /// first, as the first did.
    pub fn pin(
        &self,
        request: &PinRequest,
        replace: bool,
        wait: bool,
        limit: Duration,
    ) -> Result<RemotePinned, PinningError> {
        let pinned = self
            .policy()
            .run(|| with_retry_after(self.pin_once(request, replace)))
            .map_err(|e| e.error)?;
        let RemotePinned { status, action } = pinned;
        let status = if wait {
            self.wait(status, limit)?
        } else {
            status
        };
        Ok(RemotePinned { status, action })
    }

    /// One attempt of [`PinningService::pin`], without the wait: look, then ask once.
    fn pin_once(
        &self,
        request: &PinRequest,
        replace: bool,
    ) -> (Result<RemotePinned, PinningError>, Option<Duration>) {
        let existing = match self.find_by_cid(&request.cid) {
            Ok(existing) => existing,
            Err(e) => return (Err(e), None),
        };
        let live = existing
            .iter()
            .find(|s| s.status != PinStatus::Failed && s.pin.cid == request.cid);
        if let Some(live) = live {
            let pinned = RemotePinned {
                status: live.clone(),
                action: PinAction::Existing,
            };
            return (Ok(pinned), None);
        }
        // A failed request is asked again in place: no second request for the same CID.
        let (url, action) = if let Some(failed) = existing.iter().find(|s| s.pin.cid == request.cid)
        {
            (self.request_url(&failed.requestid), PinAction::Added)
        } else {
            let named = if replace && !request.name.is_empty() {
                match self.find_by_name(&request.name) {
                    Ok(named) => named.into_iter().find(|s| s.pin.cid != request.cid),
                    Err(e) => return (Err(e), None),
                }
            } else {
                None
            };
            match named {
                Some(old) => (
                    self.request_url(&old.requestid),
                    PinAction::Replaced {
                        old: old.pin.cid.to_string(),
                    },
                ),
                None => (self.url_of("pins"), PinAction::Added),
            }
        };
        let (status, retry_after) = self.post(url, request);
        (
            status.map(|status| RemotePinned { status, action }),
            retry_after,
        )
    }
}

fn json_body(request: &PinRequest) -> Result<Vec<u8>, PinningError> {
    serde_json::to_vec(request).map_err(|e| PinningError::Client(e.to_string()))
}

fn with_json(request: RequestBuilder, body: &[u8]) -> RequestBuilder {
    request
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_vec())
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_info_as_the_spec_writes_them() {
        let json = serde_json::json!({
            "requestid": "r1", "status": "failed", "created": "2026-01-01T00:00:00Z",
            "pin": {"cid": "bafkqaaa", "name": "youtube/x", "origins": [], "meta": {"site": "youtube"}},
            "delegates": ["/ip4/203.0.113.1/tcp/4001/p2p/QmServicePeerId"],
            "info": {"status_details": "no provider found"}
        });
        let status: PinRequestStatus = serde_json::from_value(json).unwrap();
        assert_eq!(status.status, PinStatus::Failed);
        assert!(status.status.is_final());
        assert_eq!(status.info_text(), "status_details: no provider found");
        assert_eq!(status.pin.meta["site"], "youtube");
        let request = serde_json::to_value(&status.pin).unwrap();
        assert_eq!(request["cid"], "bafkqaaa");
    }

    #[test]
    fn tokens_are_not_printed() {
        assert!(!format!("{:?}", Token::new("s3cret")).contains("s3cret"));
        let service = PinningService::new(
            "http://127.0.0.1:1/api",
            &Token::new("s3cret"),
            PinningOptions::default(),
        )
        .unwrap();
        assert!(!format!("{service:?}").contains("s3cret"));
        assert_eq!(
            service.request_url("a b").as_str(),
            "http://127.0.0.1:1/api/pins/a%20b"
        );
        assert_eq!(
            service.url_of("pins").as_str(),
            "http://127.0.0.1:1/api/pins"
        );
    }
}
