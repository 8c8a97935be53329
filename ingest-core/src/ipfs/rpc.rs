//! A client of the Kubo RPC API (`/api/v0`), as kubo documents it and as IPFS Cluster's proxy
//! and js-ipfs serve it: every call a `POST`, arguments in the query, answers as JSON or
//! newline-delimited JSON, errors as `{"Message", "Code", "Type"}`.
//!
//! Only the calls `ingest` needs: `id`, `dag/import` (a streamed CAR), `pin/ls`, `name/publish`.
//!
//! The client and its calls are here; finding the API's address and reading its credentials
//! are in `api`, decoding the node's answers in `answers`.

mod answers;
mod api;

pub use answers::{ImportedRoot, NodeId, NodeKey, Published};
pub use api::{find_api, parse_api, ApiAddress, Auth, DEFAULT_API};

use std::collections::HashSet;
use std::io::Read;
use std::time::Duration;

use cid::Cid;
use reqwest::blocking::{Client, Response};
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use super::stream::BodyReader;
use crate::http::chain;
use crate::http::retry::{Classify, Failure, Policy};
use answers::{
    for_each_line, imported_root, json_body, parse_cid, pin_ls_cids, status_error, MAX_LINE,
};
use api::with_trailing_slash;

/// The slowest upload a `dag/import` is given time for, in bytes a second.
pub const MIN_UPLOAD_RATE: u64 = 64 * 1024;

/// Pins asked about one by one up to this many; beyond, the node's recursive pins are listed
/// once (kubo and js-ipfs fail a whole `pin/ls` call when one of its arguments is not pinned).
const PIN_LS_ONE_BY_ONE: usize = 32;

/// How a [`KuboRpc`] behaves.
#[derive(Clone, Debug)]
pub struct RpcOptions {
    /// Credentials sent with every call (kubo's `API.Authorizations`).
    pub auth: Option<Auth>,
    /// Give up connecting after this long.
    pub connect_timeout: Duration,
    /// Give up on a call without an answer for this long. A `dag/import` gets this long plus
    /// its size at [`MIN_UPLOAD_RATE`], in all (upload and answer); on Linux, a connection
    /// whose data goes unacknowledged this long is dropped at once.
    pub timeout: Duration,
    /// Failed attempts in a row before a call gives up (connection errors, timeouts, `408`,
    /// `429`, `5xx`).
    pub retries: u32,
    /// The first backoff; it doubles with each failure, up to `max_backoff`, with jitter.
    pub backoff: Duration,
    /// The longest backoff.
    pub max_backoff: Duration,
}

impl Default for RpcOptions {
    fn default() -> Self {
        RpcOptions {
            auth: None,
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(120),
            retries: 8,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(15),
        }
    }
}

/// A Kubo RPC call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    /// The API address could not be read.
    #[error("bad IPFS API address {address}: {reason}")]
    Address {
        /// The address, and what named it.
        address: String,
        /// What is wrong.
        reason: String,
    },
    /// Nothing answered at the address.
    #[error("cannot reach the IPFS node at {url}: {reason}")]
    Unreachable {
        /// The API's URL.
        url: String,
        /// Why (connection refused, timeout, …).
        reason: String,
    },
    /// The node refused the credentials (or asks for some).
    #[error("{endpoint}: the node refused access ({status}){}", auth_hint(*.with_auth))]
    Unauthorized {
        /// The call.
        endpoint: String,
        /// `401` or `403`.
        status: u16,
        /// Whether credentials were sent.
        with_auth: bool,
    },
    /// The node answered with an error.
    #[error("{endpoint}: the node answered {status}: {message}")]
    Node {
        /// The call.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// The node's `Message` (or the body's first line).
        message: String,
        /// Whether another attempt may succeed (a gateway's `502`, a `429`, a `5xx` without a
        /// command error).
        retryable: bool,
    },
    /// The connection broke or timed out during the call.
    #[error("{endpoint}: {reason}")]
    Transfer {
        /// The call.
        endpoint: String,
        /// What happened.
        reason: String,
    },
    /// The node did not answer in time (not retried: a node that takes this long is sick, or
    /// busy with work that would only start again).
    #[error("{endpoint}: no answer after {after:?}{hint}")]
    TimedOut {
        /// The call.
        endpoint: String,
        /// How long it was given.
        after: Duration,
        /// What may explain it.
        hint: &'static str,
    },
    /// The answer is not what the API documents.
    #[error("{endpoint}: unexpected answer: {reason}")]
    Protocol {
        /// The call.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The HTTP client could not be set up.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

fn auth_hint(with_auth: bool) -> &'static str {
    if with_auth {
        ": check --api-auth"
    } else {
        ": the API needs credentials (--api-auth)"
    }
}

impl RpcError {
    /// Whether another attempt may succeed (the connection, a gateway's `502`, a `429`, a `5xx`
    /// without a command error).
    pub fn is_retryable(&self) -> bool {
        self.failure().is_transient()
    }
}

impl Classify for RpcError {
    fn failure(&self) -> Failure {
        match self {
            RpcError::Unreachable { .. } => Failure::Connection,
            RpcError::Transfer { .. } => Failure::Broken,
            RpcError::Node {
                retryable: true, ..
            } => Failure::Busy { retry_after: None },
            // A command's own error comes again on every attempt; so does a call that took
            // all its time (see `TimedOut`).
            RpcError::Node { .. } | RpcError::Unauthorized { .. } | RpcError::TimedOut { .. } => {
                Failure::Refused
            }
            RpcError::Protocol { .. } => Failure::Lie,
            RpcError::Address { .. } | RpcError::Client(_) => Failure::Fatal,
        }
    }
}

/// A Kubo RPC API client. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct KuboRpc {
    client: Client,
    /// The async client, for streamed uploads (see `super::stream`).
    uploads: reqwest::Client,
    base: Url,
    auth: Option<HeaderValue>,
    options: RpcOptions,
}

impl KuboRpc {
    /// A client of the API at `api` (see [`find_api`]).
    pub fn new(api: Url, options: RpcOptions) -> Result<KuboRpc, RpcError> {
        let api = with_trailing_slash(api);
        let client = crate::http::client_builder(crate::http::USER_AGENT)
            .map_err(RpcError::Client)?
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout);
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
        let client = client.tcp_user_timeout(options.timeout);
        let client = client
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RpcError::Client(chain(&e)))?;
        // A runtime is made for each upload, so no connection outlives its own (a pooled one
        // would be tied to a runtime that is gone).
        let uploads = crate::http::async_client_builder(crate::http::USER_AGENT)
            .map_err(RpcError::Client)?
            .connect_timeout(options.connect_timeout)
            .pool_max_idle_per_host(0);
        #[cfg(any(target_os = "linux", target_os = "android", target_os = "fuchsia"))]
        let uploads = uploads.tcp_user_timeout(options.timeout);
        let uploads = uploads
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| RpcError::Client(chain(&e)))?;
        let auth = options.auth.as_ref().map(Auth::header).transpose()?;
        Ok(KuboRpc {
            client,
            uploads,
            base: api,
            auth,
            options,
        })
    }

    /// The API's base URL.
    pub fn url(&self) -> &Url {
        &self.base
    }

    /// The options.
    pub fn options(&self) -> &RpcOptions {
        &self.options
    }

    /// `POST /api/v0/<path>` as text for errors: `POST http://host:port/api/v0/dag/import`.
    pub(crate) fn endpoint(&self, path: &str) -> String {
        format!(
            "POST {}/api/v0/{path}",
            self.base.as_str().trim_end_matches('/')
        )
    }

    /// The URL of a call.
    fn url_of(&self, path: &str, query: &[(&str, String)]) -> Result<Url, RpcError> {
        let mut url = self
            .base
            .join(&format!("api/v0/{path}"))
            .map_err(|e| RpcError::Client(e.to_string()))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// A request that got no answer, sorted.
    fn send_error(&self, e: reqwest::Error, endpoint: &str, timeout: Duration) -> RpcError {
        if e.is_connect() {
            RpcError::Unreachable {
                url: self.base.to_string(),
                reason: chain(&e),
            }
        } else if e.is_timeout() {
            RpcError::TimedOut {
                endpoint: endpoint.to_owned(),
                after: timeout,
                hint: "",
            }
        } else {
            RpcError::Transfer {
                endpoint: endpoint.to_owned(),
                reason: chain(&e),
            }
        }
    }

    /// An answer whose status is not a success, with its body's first bytes.
    fn answer_error(&self, endpoint: String, status: StatusCode, body: &[u8]) -> RpcError {
        if matches!(status.as_u16(), 401 | 403) {
            return RpcError::Unauthorized {
                endpoint,
                status: status.as_u16(),
                with_auth: self.auth.is_some(),
            };
        }
        status_error(endpoint, status, body)
    }

    /// One call, one attempt: the answer if its status is a success.
    fn call(
        &self,
        path: &str,
        query: &[(&str, String)],
        timeout: Option<Duration>,
    ) -> Result<Response, RpcError> {
        let endpoint = self.endpoint(path);
        let mut request = self.client.post(self.url_of(path, query)?);
        if let Some(auth) = &self.auth {
            request = request.header(AUTHORIZATION, auth.clone());
        }
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let response = request
            .send()
            .map_err(|e| self.send_error(e, &endpoint, timeout.unwrap_or(self.options.timeout)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let mut body = Vec::new();
        let _ = response.take(MAX_LINE).read_to_end(&mut body);
        Err(self.answer_error(endpoint, status, &body))
    }

    /// A call retried under the client's [`Policy`].
    fn retried<T>(&self, attempt: impl FnMut() -> Result<T, RpcError>) -> Result<T, RpcError> {
        self.policy().run(attempt)
    }

    /// The retry policy of idempotent calls (and of `push`'s uploads): the options'
    /// `retries`, `backoff` and `max_backoff`.
    pub(crate) fn policy(&self) -> Policy {
        Policy::new(
            self.options.backoff,
            self.options.max_backoff,
            self.options.retries,
        )
    }

    /// The wait after `failures` failed attempts in a row.
    pub fn backoff(&self, failures: u32) -> Duration {
        self.policy().backoff(failures)
    }

    /// `id`: who the node is and where it listens. One attempt: a node that does not answer
    /// is named at once.
    pub fn id(&self) -> Result<NodeId, RpcError> {
        let endpoint = self.endpoint("id");
        let response = self.call("id", &[], None)?;
        json_body(&endpoint, response)
    }

    /// Which of `roots` the node holds under a recursive pin. Asks root by root for a few
    /// (a root not pinned is an error for the whole call in kubo and js-ipfs), and lists the
    /// node's recursive pins once for many.
    pub fn pinned(&self, roots: &[Cid]) -> Result<HashSet<Cid>, RpcError> {
        let mut pinned = HashSet::new();
        if roots.len() <= PIN_LS_ONE_BY_ONE {
            for root in roots {
                if self.retried(|| self.is_pinned(root))? {
                    pinned.insert(*root);
                }
            }
            return Ok(pinned);
        }
        let wanted: HashSet<Cid> = roots.iter().copied().collect();
        self.retried(|| {
            let endpoint = self.endpoint("pin/ls");
            let query = [("type", "recursive".into()), ("stream", "true".into())];
            let response = self.call("pin/ls", &query, None)?;
            let mut found = HashSet::new();
            for_each_line(&endpoint, response, |line| {
                for cid in pin_ls_cids(line) {
                    let cid = parse_cid(&endpoint, &cid)?;
                    if wanted.contains(&cid) {
                        found.insert(cid);
                    }
                }
                Ok(())
            })?;
            Ok(found)
        })
    }

    /// Whether `root` is pinned recursively.
    fn is_pinned(&self, root: &Cid) -> Result<bool, RpcError> {
        let endpoint = self.endpoint("pin/ls");
        let query = [("arg", root.to_string()), ("type", "recursive".into())];
        let response = match self.call("pin/ls", &query, None) {
            Ok(response) => response,
            Err(RpcError::Node { message, .. }) if message.contains("not pinned") => {
                return Ok(false)
            }
            Err(e) => return Err(e),
        };
        let mut found = false;
        for_each_line(&endpoint, response, |line| {
            for cid in pin_ls_cids(line) {
                found |= parse_cid(&endpoint, &cid)? == *root;
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// `dag/import` of one CAR of about `len` bytes, streamed from `body` as one multipart
    /// part, with its roots pinned (`pin-roots=true`). One attempt: a body is read once.
    /// Returns the roots as the node reports them.
    ///
    /// The call may take the upload's time at [`MIN_UPLOAD_RATE`] plus the options' `timeout`
    /// (the node pins a whole DAG before it answers: a CAR that does not hold every block of
    /// it, such as a catalogue without its videos, makes the node look for the rest).
    pub(crate) fn dag_import(
        &self,
        body: BodyReader,
        boundary: &str,
        len: u64,
    ) -> Result<Vec<ImportedRoot>, RpcError> {
        let endpoint = self.endpoint("dag/import");
        // No `cid-base`: js-ipfs refuses to print a CIDv0 root in base32, and any base parses.
        let url = self.url_of("dag/import", &[("pin-roots", "true".into())])?;
        let limit = self.options.timeout + Duration::from_secs(len / MIN_UPLOAD_RATE);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| RpcError::Client(e.to_string()))?;
        let answer = runtime.block_on(async {
            let mut request = self
                .uploads
                .post(url)
                .header(
                    CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(reqwest::Body::wrap(body))
                .timeout(limit);
            if let Some(auth) = &self.auth {
                request = request.header(AUTHORIZATION, auth.clone());
            }
            let mut response = request
                .send()
                .await
                .map_err(|e| self.send_error(e, &endpoint, limit))?;
            let status = response.status();
            let mut text = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .map_err(|e| self.send_error(e, &endpoint, limit))?
            {
                text.extend_from_slice(&chunk);
                if text.len() as u64 > MAX_LINE * 16 {
                    return Err(RpcError::Protocol {
                        endpoint: endpoint.clone(),
                        reason: "the answer is too long".into(),
                    });
                }
            }
            Ok((status, text))
        });
        let (status, text) = answer.map_err(|e| match e {
            RpcError::TimedOut { endpoint, .. } => RpcError::TimedOut {
                endpoint,
                after: limit,
                hint: " (the node pins the whole DAG before it answers: does it hold every \
                       block the CAR links to? A catalogue links to its videos: push them first)",
            },
            e => e,
        })?;
        if !status.is_success() {
            return Err(self.answer_error(endpoint, status, &text));
        }
        let mut roots = Vec::new();
        for_each_line(&endpoint, &text[..], |line| {
            if let Some(root) = imported_root(&endpoint, line)? {
                roots.push(root);
            }
            Ok(())
        })?;
        Ok(roots)
    }

    /// `swarm/connect`: has the node connect to the peer at `address` (a multiaddr ending in
    /// `/p2p/<peer>`).
    pub fn swarm_connect(&self, address: &str) -> Result<(), RpcError> {
        self.call("swarm/connect", &[("arg", address.to_owned())], None)
            .map(drop)
    }

    /// `block/get`: the bytes of the block `cid` as the node holds them, at most `max` bytes
    /// (a longer answer is an error), NOT checked against the CID: callers check (see
    /// `super::resolve`). The node is asked to give up after the options' `timeout` (kubo's
    /// global `timeout` argument: js-ipfs and kubo otherwise look for a missing block for
    /// ever); retried like every idempotent call.
    pub fn block_get(&self, cid: &Cid, max: u64) -> Result<Vec<u8>, RpcError> {
        let endpoint = self.endpoint("block/get");
        let query = [
            ("arg", cid.to_string()),
            ("timeout", format!("{}ms", self.options.timeout.as_millis())),
        ];
        self.retried(|| {
            let response = self.call("block/get", &query, None)?;
            let mut bytes = Vec::new();
            response
                .take(max + 1)
                .read_to_end(&mut bytes)
                .map_err(|e| RpcError::Transfer {
                    endpoint: endpoint.clone(),
                    reason: e.to_string(),
                })?;
            if bytes.len() as u64 > max {
                return Err(RpcError::Protocol {
                    endpoint: endpoint.clone(),
                    reason: format!("block {cid} is over the limit of {max} bytes"),
                });
            }
            Ok(bytes)
        })
    }

    /// `name/resolve`: the path an IPNS name (or, on a node that resolves them, a DNSLink
    /// domain) points to, followed recursively by the node. The node is trusted here: it is
    /// the user's own.
    pub fn name_resolve(&self, name: &str) -> Result<String, RpcError> {
        let endpoint = self.endpoint("name/resolve");
        let query = [("arg", name.to_owned()), ("recursive", "true".into())];
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            path: String,
        }
        let answer: Answer = self.retried(|| {
            let response = self.call("name/resolve", &query, None)?;
            json_body(&endpoint, response)
        })?;
        Ok(answer.path)
    }

    /// `key/list`: the names of the node's keys and their IPNS names (`self` is the node's own).
    pub fn key_list(&self) -> Result<Vec<NodeKey>, RpcError> {
        let endpoint = self.endpoint("key/list");
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            #[serde(default)]
            keys: Vec<NodeKey>,
        }
        let answer: Answer = self.retried(|| {
            let response = self.call("key/list", &[], None)?;
            json_body(&endpoint, response)
        })?;
        Ok(answer.keys)
    }

    /// The node's key `name`, made (ed25519) if it has none of that name: its IPNS name.
    pub fn key_ensure(&self, name: &str) -> Result<NodeKey, RpcError> {
        if let Some(key) = self.key_list()?.into_iter().find(|k| k.name == name) {
            return Ok(key);
        }
        let endpoint = self.endpoint("key/gen");
        let query = [("arg", name.to_owned()), ("type", "ed25519".to_owned())];
        // Not retried: a key made by an attempt whose answer was lost is found by the list.
        let made = self
            .call("key/gen", &query, None)
            .and_then(|response| json_body::<NodeKey>(&endpoint, response));
        match made {
            Ok(key) => Ok(key),
            Err(e) => match self.key_list()?.into_iter().find(|k| k.name == name) {
                Some(key) => Ok(key),
                None => Err(e),
            },
        }
    }

    /// `name/publish`: points the IPNS name of `key` (the node's own, `self`, by default) at
    /// `path`. With `allow_offline`, a node without peers keeps the record instead of failing.
    pub fn name_publish(
        &self,
        path: &str,
        key: Option<&str>,
        lifetime: Option<&str>,
        allow_offline: bool,
    ) -> Result<Published, RpcError> {
        let endpoint = self.endpoint("name/publish");
        let mut query = vec![("arg", path.to_owned())];
        if let Some(key) = key {
            query.push(("key", key.to_owned()));
        }
        if let Some(lifetime) = lifetime {
            query.push(("lifetime", lifetime.to_owned()));
        }
        if allow_offline {
            query.push(("allow-offline", "true".into()));
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Answer {
            name: String,
            value: String,
        }
        let answer: Answer = self.retried(|| {
            let response = self.call("name/publish", &query, None)?;
            json_body(&endpoint, response)
        })?;
        Ok(Published {
            name: answer.name,
            value: answer.value,
        })
    }
}

#[cfg(test)]
mod props;
