//! A Delegated Routing V1 HTTP client (<https://specs.ipfs.tech/routing/http-routing-v1/>), for
//! the IPNS records of a volunteer without a node of their own: `PUT /routing/v1/ipns/{name}`
//! puts a signed record, `GET` reads one back (to be verified by the caller: a router is not
//! trusted, [`crate::ipfs::verify_record`]).

use std::io::Read;
use std::time::Duration;

use reqwest::blocking::Client;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use reqwest::StatusCode;
use reqwest::Url;

use super::ipns::{IpnsName, MAX_RECORD_SIZE};
use crate::http::chain;

/// The media type of a marshalled IPNS record.
pub const IPNS_RECORD: &str = "application/vnd.ipfs.ipns-record";

/// A router's call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoutingError {
    /// The router's URL cannot be used.
    #[error("router {url}: {reason}")]
    Client {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The request could not be sent, or the answer read.
    #[error("{endpoint}: {reason}")]
    Send {
        /// The call (`PUT http://…/routing/v1/ipns/k51…`).
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// The router answered an error.
    #[error("{endpoint}: HTTP {status}{}", if body.is_empty() { String::new() } else { format!(": {body}") })]
    Status {
        /// The call.
        endpoint: String,
        /// The status.
        status: u16,
        /// The start of its body, made printable.
        body: String,
    },
    /// The record it sent is over the spec's limit.
    #[error("{endpoint}: a record over {MAX_RECORD_SIZE} bytes")]
    TooLarge {
        /// The call.
        endpoint: String,
    },
}

/// A Delegated Routing V1 server.
#[derive(Debug, Clone)]
pub struct Router {
    client: Client,
    base: Url,
}

impl Router {
    /// A client of the router at `url` (`http(s)://host[:port][/prefix]`).
    pub fn new(url: &str, timeout: Duration) -> Result<Router, RoutingError> {
        let client_error = |reason: String| RoutingError::Client {
            url: url.to_owned(),
            reason,
        };
        let base = crate::http::base_url(url).map_err(client_error)?;
        let client = crate::http::client_builder(crate::http::USER_AGENT)
            .map_err(client_error)?
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .build()
            .map_err(|e| client_error(chain(&e)))?;
        Ok(Router { client, base })
    }

    /// The router's base URL.
    pub fn url(&self) -> &Url {
        &self.base
    }

    fn ipns_url(&self, name: &IpnsName) -> Result<Url, RoutingError> {
        self.base
            .join(&format!("routing/v1/ipns/{name}"))
            .map_err(|e| RoutingError::Client {
                url: self.base.to_string(),
                reason: e.to_string(),
            })
    }

    /// Puts `record` (a marshalled, signed `IpnsEntry`) for `name`.
    pub fn put_ipns(&self, name: &IpnsName, record: &[u8]) -> Result<(), RoutingError> {
        let url = self.ipns_url(name)?;
        let endpoint = format!("PUT {url}");
        let response = self
            .client
            .put(url)
            .header(CONTENT_TYPE, IPNS_RECORD)
            .body(record.to_vec())
            .send()
            .map_err(|e| RoutingError::Send {
                endpoint: endpoint.clone(),
                reason: chain(&e),
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        Err(status_error(endpoint, status, response))
    }

    /// The record the router has for `name` (`None`: it has none), unverified.
    pub fn get_ipns(&self, name: &IpnsName) -> Result<Option<Vec<u8>>, RoutingError> {
        let url = self.ipns_url(name)?;
        let endpoint = format!("GET {url}");
        let response = self
            .client
            .get(url)
            .header(ACCEPT, IPNS_RECORD)
            .send()
            .map_err(|e| RoutingError::Send {
                endpoint: endpoint.clone(),
                reason: chain(&e),
            })?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(status_error(endpoint, status, response));
        }
        // A router with no record may say so with 200 and a text (IPIP-0513): only a record's
        // media type is a record.
        let is_record = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with(IPNS_RECORD));
        if !is_record {
            return Ok(None);
        }
        let mut record = Vec::new();
        response
            .take(MAX_RECORD_SIZE as u64 + 1)
            .read_to_end(&mut record)
            .map_err(|e| RoutingError::Send {
                endpoint: endpoint.clone(),
                reason: e.to_string(),
            })?;
        if record.len() > MAX_RECORD_SIZE {
            return Err(RoutingError::TooLarge { endpoint });
        }
        Ok(Some(record))
    }
}

fn status_error(
    endpoint: String,
    status: StatusCode,
    response: reqwest::blocking::Response,
) -> RoutingError {
    let mut body = Vec::new();
    let _ = response.take(512).read_to_end(&mut body);
    RoutingError::Status {
        endpoint,
        status: status.as_u16(),
        body: crate::http::peer_text(&body, &[]),
    }
}
