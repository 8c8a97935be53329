//! Property tests of what reads a node's answers (untrusted as bytes, even from the user's own
//! node): error bodies ([`status_error`]), NDJSON streams ([`for_each_line`] with `pin/ls`
//! and `dag/import` lines, [`pin_ls_cids`], [`imported_root`]) and JSON documents (`id`'s
//! [`NodeId`], what `json_body` decodes). Arbitrary bytes, and answers as kubo writes them with
//! bytes flipped, cut or spliced in: never a panic, and what comes out is bounded by the
//! answer.

use proptest::prelude::*;
use reqwest::StatusCode;

use super::*;
use crate::testutil::{mutate, Edits};

/// Answers as kubo writes them.
const ERROR: &[u8] = br#"{"Message":"merkledag: not found","Code":0,"Type":"error"}"#;
const PIN_LS: &[u8] = b"{\"Cid\":\"bafkqaaa\",\"Type\":\"recursive\"}\n\
{\"Cid\":\"QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn\",\"Type\":\"recursive\"}\n";
const PIN_LS_KEYS: &[u8] = br#"{"Keys":{"bafkqaaa":{"Type":"recursive"}}}"#;
const DAG_IMPORT: &[u8] = b"{\"Root\":{\"Cid\":{\"/\":\"bafkqaaa\"},\"PinErrorMsg\":\"\"}}\n\
{\"Stats\":{\"BlockCount\":3,\"BlockBytesCount\":120}}\n";
const STREAM_ERROR: &[u8] =
    b"{\"Cid\":\"bafkqaaa\"}\n{\"Message\":\"context canceled\",\"Type\":\"error\"}\n";
const ID: &[u8] = br#"{"ID":"12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA","PublicKey":"CAESI","Addresses":["/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"],"AgentVersion":"kubo/0.32.1/","Protocols":[]}"#;

const ANSWERS: [&[u8]; 6] = [ERROR, PIN_LS, PIN_LS_KEYS, DAG_IMPORT, STREAM_ERROR, ID];
const STATUSES: [u16; 7] = [400, 403, 404, 429, 500, 502, 503];

/// Reads `body` every way an answer is read; checks the bounds.
fn check(status: u16, body: &[u8]) -> Result<(), TestCaseError> {
    let status = StatusCode::from_u16(status).expect("a valid status");
    match status_error("e".into(), status, body) {
        RpcError::Node { message, .. } => {
            // The node's message, or the body's first line cut to 300 characters, or the
            // status's reason.
            prop_assert!(
                message.len() <= body.len().max(4 * 300).max(64),
                "{}",
                message
            );
        }
        other => prop_assert!(false, "not a node error: {other}"),
    }

    let (mut lines, mut cids, mut roots) = (0usize, 0usize, 0usize);
    let result = for_each_line("e", body, |line| {
        lines += 1;
        for cid in pin_ls_cids(line) {
            cids += 1;
            let _ = parse_cid("e", &cid);
        }
        if let Ok(Some(root)) = imported_root("e", line) {
            roots += 1;
            assert!(root.pin_error.len() <= body.len());
        }
        Ok(())
    });
    // A line is at least one byte of JSON; a CID at least a few bytes of it.
    prop_assert!(lines <= body.len() && cids <= body.len() && roots <= lines);
    if let Err(error) = result {
        prop_assert!(error.to_string().len() <= 3 * body.len() + 300);
    }

    if let Ok(id) = serde_json::from_slice::<NodeId>(body) {
        prop_assert!(id.id.len() + id.agent_version.len() <= body.len());
        prop_assert!(id.addresses.len() <= body.len());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes as every kind of answer.
    #[test]
    fn any_answer_reads_bounded(
        status in proptest::sample::select(&STATUSES[..]),
        body in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        check(status, &body)?;
    }

    /// Kubo's answers, mutated.
    #[test]
    fn mutated_answers_read_bounded(
        status in proptest::sample::select(&STATUSES[..]),
        answer in proptest::sample::select(&ANSWERS[..]),
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..5),
    ) {
        let mut body = answer.to_vec();
        mutate(&mut body, &edits as &Edits);
        check(status, &body)?;
    }
}

#[test]
fn kubo_answers_read_as_written() {
    let mut cids = Vec::new();
    for_each_line("e", PIN_LS, |line| {
        cids.extend(pin_ls_cids(line));
        Ok(())
    })
    .expect("a pin/ls stream");
    assert_eq!(cids.len(), 2);
    let error = for_each_line("e", STREAM_ERROR, |_| Ok(())).unwrap_err();
    assert!(
        matches!(&error, RpcError::Node { message, .. } if message == "context canceled"),
        "{error}"
    );
    let status = StatusCode::INTERNAL_SERVER_ERROR;
    assert!(matches!(
        status_error("e".into(), status, ERROR),
        RpcError::Node { message, retryable: false, .. } if message == "merkledag: not found"
    ));
    let id: NodeId = serde_json::from_slice(ID).expect("an id");
    assert_eq!(id.agent_version, "kubo/0.32.1/");
}

/// A line over [`MAX_LINE`] is refused, not read whole.
#[test]
fn a_line_over_the_limit_is_refused() {
    let body = vec![b' '; MAX_LINE as usize + 1];
    let error = for_each_line("e", &body[..], |_| Ok(())).unwrap_err();
    assert!(error.to_string().contains("a line longer than"), "{error}");
}
