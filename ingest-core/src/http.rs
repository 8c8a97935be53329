//! What every HTTP client of the library shares (feature `http`): the TLS setup, the retry
//! policy ([`retry`]: which failures are worth another attempt, where, and how long to wait),
//! and error text.

pub(crate) mod retry;

use std::error::Error as StdError;
use std::io;
use std::sync::Arc;

use reqwest::blocking::ClientBuilder;
use reqwest::header::{HeaderMap, HeaderName};

// The names modules used before the policy had a module of its own.
#[allow(unused_imports)]
pub(crate) use retry::{backoff, retry_after, retryable};

/// A client builder with rustls on the ring provider, checking certificates against the
/// platform's roots, and `user_agent`.
pub(crate) fn client_builder(user_agent: &str) -> Result<ClientBuilder, String> {
    Ok(reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(tls_config()?)
        .user_agent(user_agent))
}

/// [`client_builder`] for the async client (streamed uploads).
pub(crate) fn async_client_builder(user_agent: &str) -> Result<reqwest::ClientBuilder, String> {
    Ok(reqwest::Client::builder()
        .tls_backend_preconfigured(tls_config()?)
        .user_agent(user_agent))
}

fn tls_config() -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new(provider.clone()).map_err(|e| e.to_string())?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(tls)
}

/// `url` as the base of an HTTP service (a gateway, a router): `http` or `https` with a host,
/// no credentials (they would be sent to whoever the URL names, and printed in errors), its
/// path ending in `/` so calls join below it, no query or fragment.
pub(crate) fn base_url(url: &str) -> Result<reqwest::Url, String> {
    let mut base = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
        return Err("expected an http:// or https:// URL".into());
    }
    if !base.username().is_empty() || base.password().is_some() {
        return Err("credentials in the URL are not sent".into());
    }
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    base.set_query(None);
    base.set_fragment(None);
    Ok(base)
}

/// The `User-Agent` of every request: `ingest/<version>`.
pub(crate) const USER_AGENT: &str = concat!("ingest/", env!("CARGO_PKG_VERSION"));

/// A header's value if it is short, visible ASCII text.
pub(crate) fn header_text(headers: &HeaderMap, name: HeaderName) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    (value.len() <= 1024).then(|| value.to_owned())
}

/// An error and its sources, as one line.
/// Text a peer sent (an error body, a node's `Message`, a service's `reason`) as it may go in a
/// message: at most [`MAX_PEER_TEXT`] bytes (cut at a character, with `…`), control characters
/// (escape sequences, new lines) written as escapes, and every `secret` replaced by `<secret>`
/// (a service may repeat the `Authorization` header it was sent).
pub(crate) fn peer_text(bytes: &[u8], secrets: &[&str]) -> String {
    let mut text = String::from_utf8_lossy(bytes).trim().to_owned();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        text = text.replace(secret, "<secret>");
    }
    crate::io::printable(&text, MAX_PEER_TEXT)
}

/// The most of a peer's text a message carries.
pub(crate) const MAX_PEER_TEXT: usize = 300;

pub(crate) fn chain(e: &dyn StdError) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// The first error of type `T` in `e`'s chain, looking inside `io::Error`s too (whose `source`
/// skips the error they wrap).
pub(crate) fn find_source<'a, T: StdError + 'static>(
    e: &'a (dyn StdError + 'static),
) -> Option<&'a T> {
    let mut current = Some(e);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = match e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => e.source(),
        };
    }
    None
}
