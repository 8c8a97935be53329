//! Reading a pinning service's answers: a value of the type asked for, or the service's error
//! (`{"error": {"reason", "details"}}`, or whatever text it sent) and its `Retry-After`.

use std::io::Read;
use std::time::Duration;

use reqwest::blocking::Response;
use serde::Deserialize;

use super::{PinningError, MAX_ANSWER};
use crate::http::chain;
use crate::http::retry::retry_after;

/// A response as a value of `T`, or the service's error (and its `Retry-After`).
pub(super) fn answer<T: serde::de::DeserializeOwned>(
    endpoint: &str,
    response: Response,
) -> (Result<T, PinningError>, Option<Duration>) {
    let status = response.status();
    let wait = retry_after(response.headers());
    let mut body = Vec::new();
    if let Err(e) = response.take(MAX_ANSWER).read_to_end(&mut body) {
        let error = PinningError::Transfer {
            endpoint: endpoint.to_owned(),
            reason: chain(&e),
        };
        return (Err(error), None);
    }
    if status.is_success() {
        let parsed = serde_json::from_slice(&body).map_err(|e| PinningError::Protocol {
            endpoint: endpoint.to_owned(),
            reason: e.to_string(),
        });
        return (parsed, None);
    }
    #[derive(Deserialize)]
    struct Failure {
        error: Reason,
    }
    #[derive(Deserialize)]
    struct Reason {
        reason: String,
        #[serde(default)]
        details: Option<String>,
    }
    let reason = match serde_json::from_slice::<Failure>(&body) {
        Ok(Failure { error }) => match error.details {
            Some(details) if !details.is_empty() => format!("{} ({details})", error.reason),
            _ => error.reason,
        },
        Err(_) => String::from_utf8_lossy(&body).into_owned(),
    };
    let error = if matches!(status.as_u16(), 401 | 403) {
        PinningError::Unauthorized {
            endpoint: endpoint.to_owned(),
            status: status.as_u16(),
            reason,
        }
    } else {
        PinningError::Service {
            endpoint: endpoint.to_owned(),
            status: status.as_u16(),
            reason,
        }
    };
    (Err(error), wait)
}
