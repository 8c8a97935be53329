//! What every HTTP client of the library shares (feature `http`): the TLS setup, the retry
//! policy (which failures are worth another attempt, and how long to wait), and error text.

use std::error::Error as StdError;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::blocking::ClientBuilder;
use reqwest::header::{self, HeaderMap, HeaderName};
use reqwest::StatusCode;

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

/// The `User-Agent` of every request: `ingest/<version>`.
pub(crate) const USER_AGENT: &str = concat!("ingest/", env!("CARGO_PKG_VERSION"));

/// Exponential backoff with jitter: the wait after `failures` failed attempts in a row starts at
/// `first`, doubles with each failure up to `max`, and a random half of it is taken off (so
/// clients that failed together do not retry in step).
pub(crate) fn backoff(first: Duration, max: Duration, failures: u32) -> Duration {
    let exp = first
        .saturating_mul(1 << failures.saturating_sub(1).min(20))
        .min(max);
    exp / 2 + exp.mul_f64(fastrand::f64() / 2.0)
}

/// `408`, `429` and server errors other than "not implemented" and "version not supported".
pub(crate) fn retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429)
        || (status.is_server_error() && !matches!(status.as_u16(), 501 | 505))
}

/// `Retry-After` as seconds or as an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = header_text(headers, header::RETRY_AFTER)?;
    if let Ok(secs) = value.trim().parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(&value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// A header's value if it is short, visible ASCII text.
pub(crate) fn header_text(headers: &HeaderMap, name: HeaderName) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?;
    (value.len() <= 1024).then(|| value.to_owned())
}

/// An error and its sources, as one line.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), value.parse().unwrap());
        }
        map
    }

    #[test]
    fn retry_after_as_seconds_or_date() {
        let h = |v| headers(&[(header::RETRY_AFTER, v)]);
        assert_eq!(retry_after(&h("3")), Some(Duration::from_secs(3)));
        let past = httpdate::fmt_http_date(SystemTime::UNIX_EPOCH);
        assert_eq!(retry_after(&h(&past)), Some(Duration::ZERO));
        let later = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let wait = retry_after(&h(&later)).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        assert_eq!(retry_after(&h("soon")), None);
    }

    #[test]
    fn which_statuses_are_retried() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(retryable(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [400, 401, 403, 404, 410, 416, 501, 505] {
            assert!(!retryable(StatusCode::from_u16(s).unwrap()), "{s}");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let (first, max) = (Duration::from_millis(100), Duration::from_secs(1));
        for (failures, full) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ] {
            let full = Duration::from_millis(full);
            for _ in 0..20 {
                let wait = backoff(first, max, failures);
                assert!(wait >= full / 2 && wait <= full, "{failures}: {wait:?}");
            }
        }
    }
}
