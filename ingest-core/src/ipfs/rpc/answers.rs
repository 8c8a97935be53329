//! The node's answers, decoded: what `id`, `dag/import` and `name/publish` say, error bodies,
//! JSON documents and NDJSON streams (`pin/ls`, `dag/import`), each read within bounds.

use std::io::{BufRead, BufReader, Read};

use cid::Cid;
use reqwest::blocking::Response;
use reqwest::StatusCode;
use serde::Deserialize;

use super::RpcError;
use crate::http::chain;
use crate::http::retry::retryable;

/// The longest line of an NDJSON answer, and the longest error body read.
pub(super) const MAX_LINE: u64 = 1 << 20;

/// What `/api/v0/id` says of a node.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeId {
    /// The peer ID.
    #[serde(rename = "ID")]
    pub id: String,
    /// The addresses the node listens on, each ending in `/p2p/<id>`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub addresses: Vec<String>,
    /// The implementation (`kubo/0.x`, `js-ipfs/0.x`).
    #[serde(default)]
    pub agent_version: String,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// One root of a `dag/import`, as the node reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportedRoot {
    /// The root.
    pub cid: Cid,
    /// Why pinning it failed (empty: pinned).
    pub pin_error: String,
}

/// What `name/publish` answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The IPNS name (the key's peer ID, as the node prints it).
    pub name: String,
    /// The path it now points to.
    pub value: String,
}

/// One of the node's keys (`key/list`, `key/gen`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodeKey {
    /// The key's name on the node (`self` for the node's own).
    pub name: String,
    /// Its IPNS name (a peer ID, as the node prints it).
    pub id: String,
}

/// An error answer: the node's `{"Message"}` when it sent one.
pub(super) fn status_error(endpoint: String, status: StatusCode, body: &[u8]) -> RpcError {
    let text = String::from_utf8_lossy(body);
    #[derive(Deserialize)]
    #[serde(rename_all = "PascalCase")]
    struct KuboError {
        message: String,
    }
    let (message, command_error) = match serde_json::from_str::<KuboError>(&text) {
        Ok(e) => (crate::http::peer_text(e.message.as_bytes(), &[]), true),
        Err(_) => {
            let first = text.lines().next().unwrap_or("").trim();
            let first = crate::http::peer_text(first.as_bytes(), &[]);
            (
                if first.is_empty() {
                    status.canonical_reason().unwrap_or("").to_owned()
                } else {
                    first
                },
                false,
            )
        }
    };
    // A command's own error (a 500 with a Kubo error body) comes again on every attempt;
    // a proxy's 502, a 503 or a 429 may not.
    let retryable =
        retryable(status) && !(status == StatusCode::INTERNAL_SERVER_ERROR && command_error);
    RpcError::Node {
        endpoint,
        status: status.as_u16(),
        message,
        retryable,
    }
}

/// A JSON answer, bounded.
pub(super) fn json_body<T: serde::de::DeserializeOwned>(
    endpoint: &str,
    response: Response,
) -> Result<T, RpcError> {
    let mut text = Vec::new();
    response
        .take(MAX_LINE)
        .read_to_end(&mut text)
        .map_err(|e| RpcError::Transfer {
            endpoint: endpoint.to_owned(),
            reason: chain(&e),
        })?;
    serde_json::from_slice(&text).map_err(|e| RpcError::Protocol {
        endpoint: endpoint.to_owned(),
        reason: e.to_string(),
    })
}

/// An NDJSON answer at most this many lines (a node's whole pin listing: ten million pins).
pub(super) const MAX_LINES: u64 = 10_000_000;
/// An NDJSON answer read for at most this long.
pub(super) const MAX_STREAM_TIME: std::time::Duration = std::time::Duration::from_secs(600);

/// Calls `each` with every JSON line of an NDJSON answer; a line that is a Kubo error (a
/// stream that failed after its status was sent) is returned as one. An answer is bounded: at
/// most [`MAX_LINES`] lines of [`MAX_LINE`] bytes, read for at most [`MAX_STREAM_TIME`], so a node
/// that streams for ever cannot hold a caller.
pub(super) fn for_each_line(
    endpoint: &str,
    response: impl Read,
    mut each: impl FnMut(&serde_json::Value) -> Result<(), RpcError>,
) -> Result<(), RpcError> {
    let mut reader = BufReader::new(response);
    let mut line = Vec::new();
    let started = std::time::Instant::now();
    for count in 0.. {
        if count >= MAX_LINES || started.elapsed() > MAX_STREAM_TIME {
            return Err(RpcError::Protocol {
                endpoint: endpoint.to_owned(),
                reason: format!(
                    "an answer of over {MAX_LINES} lines or {} s: not read further",
                    MAX_STREAM_TIME.as_secs()
                ),
            });
        }
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut line)
            .map_err(|e| RpcError::Transfer {
                endpoint: endpoint.to_owned(),
                reason: chain(&e),
            })?;
        if n == 0 {
            return Ok(());
        }
        if line.last() != Some(&b'\n') && n as u64 == MAX_LINE {
            return Err(RpcError::Protocol {
                endpoint: endpoint.to_owned(),
                reason: format!("a line longer than {MAX_LINE} bytes"),
            });
        }
        let text = line.trim_ascii();
        if text.is_empty() {
            continue;
        }
        let value: serde_json::Value =
            serde_json::from_slice(text).map_err(|e| RpcError::Protocol {
                endpoint: endpoint.to_owned(),
                reason: e.to_string(),
            })?;
        if value.get("Type").and_then(|t| t.as_str()) == Some("error") {
            let message = value.get("Message").and_then(|m| m.as_str()).unwrap_or("");
            return Err(RpcError::Node {
                endpoint: endpoint.to_owned(),
                status: 200,
                message: crate::http::peer_text(message.as_bytes(), &[]),
                retryable: false,
            });
        }
        each(&value)?;
    }
    Ok(())
}

/// The CIDs of one line of `pin/ls`: `{"Cid": …}` per line when streamed, or
/// `{"Keys": {cid: {"Type": …}}}` in one object.
pub(super) fn pin_ls_cids(line: &serde_json::Value) -> Vec<String> {
    if let Some(cid) = line.get("Cid").and_then(|c| c.as_str()) {
        return vec![cid.to_owned()];
    }
    match line.get("Keys").and_then(|k| k.as_object()) {
        Some(keys) => keys.keys().cloned().collect(),
        None => Vec::new(),
    }
}

/// A `Root` line of `dag/import` (`{"Root": {"Cid": {"/": …}, "PinErrorMsg": …}}`); other
/// lines (`Stats`) are skipped.
pub(super) fn imported_root(
    endpoint: &str,
    line: &serde_json::Value,
) -> Result<Option<ImportedRoot>, RpcError> {
    let Some(root) = line.get("Root") else {
        return Ok(None);
    };
    let cid = root
        .get("Cid")
        .and_then(|c| c.get("/").or(Some(c)))
        .and_then(|c| c.as_str())
        .ok_or_else(|| RpcError::Protocol {
            endpoint: endpoint.to_owned(),
            reason: format!("a Root without a CID: {line}"),
        })?;
    Ok(Some(ImportedRoot {
        cid: parse_cid(endpoint, cid)?,
        pin_error: root
            .get("PinErrorMsg")
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_owned(),
    }))
}

pub(super) fn parse_cid(endpoint: &str, text: &str) -> Result<Cid, RpcError> {
    Cid::try_from(text).map_err(|e| RpcError::Protocol {
        endpoint: endpoint.to_owned(),
        reason: format!("{text:?} is not a CID: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An endless NDJSON stream (`{}` lines for ever).
    struct Endless;

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = b"{}\n"[i % 3];
            }
            Ok(buf.len() / 3 * 3)
        }
    }

    #[test]
    fn an_endless_answer_is_not_read_for_ever() {
        let mut lines = 0u64;
        let err = for_each_line("pin/ls", Endless, |_| {
            lines += 1;
            Ok(())
        })
        .unwrap_err();
        assert_eq!(lines, MAX_LINES);
        assert!(err.to_string().contains("not read further"), "{err}");
    }

    #[test]
    fn a_nodes_long_message_is_cut_and_escaped() {
        let body = serde_json::to_vec(&serde_json::json!({
            "Message": format!("bad\u{1b}[2J{}", "m".repeat(1 << 20)), "Code": 0, "Type": "error"
        }))
        .unwrap();
        let err = status_error("pin/ls".into(), StatusCode::INTERNAL_SERVER_ERROR, &body);
        let text = err.to_string();
        assert!(
            text.len() < 1000 && !text.contains('\u{1b}'),
            "{}",
            &text[..200]
        );
    }

    #[test]
    fn import_and_pin_answers() {
        let line = serde_json::json!({"Root": {"Cid": {"/": "bafkqaaa"}, "PinErrorMsg": ""}});
        let root = imported_root("e", &line).unwrap().unwrap();
        assert_eq!(root.cid.to_string(), "bafkqaaa");
        assert!(root.pin_error.is_empty());
        let stats = serde_json::json!({"Stats": {"BlockCount": 3}});
        assert_eq!(imported_root("e", &stats).unwrap(), None);
        let bad = serde_json::json!({"Root": {"Cid": {"/": "nope"}}});
        assert!(imported_root("e", &bad).is_err());
        let keys = serde_json::json!({"Keys": {"bafkqaaa": {"Type": "recursive"}}});
        assert_eq!(pin_ls_cids(&keys), ["bafkqaaa"]);
        let streamed = serde_json::json!({"Cid": "bafkqaaa", "Type": "recursive"});
        assert_eq!(pin_ls_cids(&streamed), ["bafkqaaa"]);
    }
}
