//! What a download asks for and what it does with each answer, as pure functions of what the
//! partial file holds ([`Held`]: its length, the state saved beside it) and what the server
//! answered ([`Answer`]: the status, `Content-Range` and length, the validators `ETag` and
//! `Last-Modified`, `Content-Encoding`): the fetcher's loop only does what they say.
//!
//! - [`ask`]: nothing (the partial file is whole), the whole body, or the rest of it with
//!   `Range` (and `If-Range` with a strong `ETag`, else `Last-Modified`; without either, from
//!   [`RESUME_OVERLAP`] bytes early, to prove continuity).
//! - [`decide`]: resume, accept a whole body (after dropping the bytes so far when the server
//!   ignored `Range` or the resource changed), done, restart from zero (another range, another
//!   length, a changed validator, a `416` that does not say the body is whole), retry later
//!   (`408`, `429`, `5xx`, with `Retry-After`), or refuse (an encoded body, a redirect not
//!   followed, any other status).
//! - [`continues`]: whether the overlap a validator-less resume asked for equals the partial
//!   file's tail; [`short`]: whether a body ended before its announced length.

use std::time::Duration;

use reqwest::header::{self, HeaderMap};
use reqwest::StatusCode;

use super::part::State;
use super::RESUME_OVERLAP;
use crate::http::header_text;
use crate::http::retry::{retry_after, retryable};

/// What the partial file holds.
#[derive(Clone, Copy, Debug)]
pub(super) struct Held<'a> {
    /// Body bytes taken so far.
    pub len: u64,
    /// What the answer that started them said (`None`: no bytes yet, or no state file).
    pub state: Option<&'a State>,
}

impl<'a> Held<'a> {
    /// The state of a download that continues: there are bytes, and a state says what they
    /// are.
    fn resuming(&self) -> Option<&'a State> {
        self.state.filter(|_| self.len > 0)
    }

    /// Bytes asked for again before the resume point: without a validator the server cannot
    /// tell that the resource is unchanged, so the bytes it sends must prove it.
    fn overlap(&self) -> u64 {
        match self.resuming() {
            Some(state) if state.if_range().is_none() => self.len.min(RESUME_OVERLAP),
            _ => 0,
        }
    }
}

/// What to ask the server for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Ask {
    /// Nothing: the partial file holds the whole body.
    Complete,
    /// The whole body.
    Whole,
    /// The bytes from `from` on (`Range`), with `If-Range: if_range` when there is a validator;
    /// without one, `from` is `overlap` bytes before the partial file's end.
    Rest {
        /// The first byte asked for.
        from: u64,
        /// The validator for `If-Range`.
        if_range: Option<String>,
        /// Bytes asked for again, to compare with the partial file's tail.
        overlap: u64,
    },
}

/// What to ask for, given what the partial file holds.
pub(super) fn ask(held: Held<'_>) -> Ask {
    if held.state.is_some_and(|s| s.length == Some(held.len)) {
        return Ask::Complete;
    }
    match held.resuming() {
        Some(state) => {
            let overlap = held.overlap();
            Ask::Rest {
                from: held.len - overlap,
                if_range: state.if_range().map(str::to_owned),
                overlap,
            }
        }
        None => Ask::Whole,
    }
}

/// What the server answered, as far as resuming goes.
#[derive(Clone, Debug, Default)]
pub(super) struct Answer {
    /// The status.
    pub status: StatusCode,
    /// `Content-Range`'s first byte ([`content_range`]).
    pub range_start: Option<u64>,
    /// `Content-Range`'s total length.
    pub range_total: Option<u64>,
    /// The body's length (`Content-Length`).
    pub length: Option<u64>,
    /// `ETag`.
    pub etag: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<String>,
    /// `Content-Encoding`.
    pub encoding: Option<String>,
    /// Whether an `Accept-Ranges` header came (whatever its value).
    pub accept_ranges: bool,
    /// `Retry-After`.
    pub retry_after: Option<Duration>,
    /// `Location`.
    pub location: Option<String>,
}

impl Answer {
    /// The answer of `status` with `headers`, whose body's length is `length`.
    pub(super) fn new(status: StatusCode, headers: &HeaderMap, length: Option<u64>) -> Answer {
        let (range_start, range_total) = content_range(headers);
        Answer {
            status,
            range_start,
            range_total,
            length,
            etag: header_text(headers, header::ETAG),
            last_modified: header_text(headers, header::LAST_MODIFIED),
            encoding: header_text(headers, header::CONTENT_ENCODING),
            accept_ranges: headers.contains_key(header::ACCEPT_RANGES),
            retry_after: retry_after(headers),
            location: header_text(headers, header::LOCATION),
        }
    }
}

/// What to do with an answer.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Verdict<'a> {
    /// The body continues the partial file from `from`; its first `overlap` bytes must equal
    /// the partial file's last ones ([`continues`]) before the rest is appended.
    Resume {
        /// The first byte of the body.
        from: u64,
        /// Bytes to compare before appending.
        overlap: u64,
    },
    /// The body is the whole resource, from its first byte: take it, after dropping the bytes
    /// so far (for `restart`'s reason) when there are any.
    Accept {
        /// Why the bytes so far are dropped, if there are any.
        restart: Option<&'static str>,
        /// The body's length, when announced.
        length: Option<u64>,
    },
    /// The partial file holds the whole body, as `state` describes it.
    Complete(&'a State),
    /// The bytes so far cannot be continued from this answer: drop them and ask again from
    /// zero, for this reason.
    Restart(String),
    /// Ask again later (after the server's `Retry-After`, if it sent one).
    Retry {
        /// What the server answered.
        reason: String,
        /// Its `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// A final answer: the download fails.
    Refuse(Refusal),
}

/// Why an answer fails a download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The body is encoded (`Content-Encoding`, not `identity`): not the bytes themselves.
    Encoded(String),
    /// A redirect the client did not follow (its `Location` is not an http(s) URL).
    Redirect {
        /// The status.
        status: StatusCode,
        /// The `Location`, or an empty string.
        location: String,
    },
    /// A status retrying cannot change.
    Status(StatusCode),
}

/// What to do with `answer`, given what the partial file held when it was asked for (with
/// [`ask`]).
pub(super) fn decide<'a>(held: Held<'a>, answer: &Answer) -> Verdict<'a> {
    let status = answer.status;
    if status.is_success() {
        if let Some(encoding) = answer
            .encoding
            .as_ref()
            .filter(|e| !e.eq_ignore_ascii_case("identity"))
        {
            return Verdict::Refuse(Refusal::Encoded(encoding.clone()));
        }
    }
    let have = held.len;
    match (status, held.resuming()) {
        (StatusCode::PARTIAL_CONTENT, Some(state)) => {
            let overlap = held.overlap();
            let from = have - overlap;
            if answer.range_start != Some(from) {
                return Verdict::Restart(format!(
                    "asked for the bytes from {from}, the server sent a range from {}",
                    answer
                        .range_start
                        .map_or("an unknown offset".into(), |s| s.to_string())
                ));
            }
            if answer.range_total != state.length {
                return Verdict::Restart(format!(
                    "the length changed from {} to {}",
                    describe(state.length),
                    describe(answer.range_total)
                ));
            }
            if let Some(which) = changed_validator(state, answer) {
                return Verdict::Restart(format!("the {which} changed"));
            }
            Verdict::Resume { from, overlap }
        }
        (StatusCode::OK, resuming) => Verdict::Accept {
            restart: resuming.map(|state| {
                if answer.accept_ranges && state.if_range().is_some() {
                    "the resource changed (If-Range did not match)"
                } else {
                    "the server does not resume (it ignored Range)"
                }
            }),
            length: answer.length,
        },
        (StatusCode::RANGE_NOT_SATISFIABLE, Some(state)) => {
            if answer.range_total == Some(have) && state.length == Some(have) {
                Verdict::Complete(state)
            } else {
                Verdict::Restart(format!(
                    "the server cannot send the bytes from {have} (its length is {})",
                    describe(answer.range_total)
                ))
            }
        }
        (s, _) if retryable(s) => Verdict::Retry {
            reason: format!("the server answered {s}"),
            retry_after: answer.retry_after,
        },
        (s, _) if s.is_redirection() => Verdict::Refuse(Refusal::Redirect {
            status: s,
            location: answer.location.clone().unwrap_or_default(),
        }),
        (s, _) => Verdict::Refuse(Refusal::Status(s)),
    }
}

/// Whether the `sent` bytes (the overlap a validator-less resume asked for) equal `held`, the
/// partial file's tail: `Err` with the reason to restart if not.
pub(super) fn continues(sent: &[u8], held: &[u8]) -> Result<(), String> {
    if sent == held {
        return Ok(());
    }
    Err(format!(
        "the {} bytes before the resume point differ from those received before, and the server gives no validator: the resource changed",
        sent.len()
    ))
}

/// Whether a body that ended with the partial file `len` bytes long is short of its announced
/// `length`: `Some` reason (the transfer broke; the next attempt resumes) if so.
pub(super) fn short(len: u64, length: Option<u64>) -> Option<String> {
    match length {
        Some(length) if len < length => {
            Some(format!("the connection closed at byte {len} of {length}"))
        }
        _ => None,
    }
}

/// `Content-Range: bytes START-END/TOTAL` (or `bytes */TOTAL`): the start and the total.
pub(super) fn content_range(headers: &HeaderMap) -> (Option<u64>, Option<u64>) {
    let Some(value) = header_text(headers, header::CONTENT_RANGE) else {
        return (None, None);
    };
    let Some(rest) = value.strip_prefix("bytes ") else {
        return (None, None);
    };
    let (range, total) = rest.split_once('/').unwrap_or((rest, "*"));
    let start = range.split_once('-').and_then(|(s, _)| s.parse().ok());
    (start, total.parse().ok())
}

/// Which validator of the answer differs from the one the bytes so far came with (one that
/// either lacks is not compared).
fn changed_validator(state: &State, answer: &Answer) -> Option<&'static str> {
    let differs = |old: &Option<String>, new: &Option<String>| match (old, new) {
        (Some(old), Some(new)) => old != new,
        _ => false,
    };
    if differs(&state.etag, &answer.etag) {
        Some("ETag")
    } else if differs(&state.last_modified, &answer.last_modified) {
        Some("Last-Modified")
    } else {
        None
    }
}

fn describe(length: Option<u64>) -> String {
    length.map_or_else(|| "unknown".to_owned(), |l| l.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    const ETAG: &str = "\"v1\"";
    const DATE: &str = "Mon, 01 Jan 2024 00:00:00 GMT";
    const LATER: &str = "Tue, 02 Jan 2024 00:00:00 GMT";
    /// The partial file of every resume below: 100,000 bytes of a 250,000-byte body.
    const HAVE: u64 = 100_000;
    const LENGTH: u64 = 250_000;

    fn state(etag: Option<&str>, last_modified: Option<&str>) -> State {
        State {
            url: "http://h/v.mp4".into(),
            length: Some(LENGTH),
            etag: etag.map(str::to_owned),
            last_modified: last_modified.map(str::to_owned),
            content_type: None,
            final_url: "http://h/v.mp4".into(),
        }
    }

    fn answer(status: u16) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            ..Answer::default()
        }
    }

    /// A `206` for the bytes from `start` of a body of `total`, with the partial file's
    /// validators.
    fn partial(start: u64, total: u64) -> Answer {
        Answer {
            range_start: Some(start),
            range_total: Some(total),
            length: Some(total - start),
            etag: Some(ETAG.into()),
            last_modified: Some(DATE.into()),
            ..answer(206)
        }
    }

    #[test]
    fn what_is_asked_for() {
        let strong = state(Some(ETAG), Some(DATE));
        let weak_with_date = state(Some("W/\"w\""), Some(DATE));
        let weak = state(Some("W/\"w\""), None);
        let none = state(None, None);
        let unknown_length = State {
            length: None,
            ..none.clone()
        };
        let rest = |from, if_range: Option<&str>, overlap| Ask::Rest {
            from,
            if_range: if_range.map(str::to_owned),
            overlap,
        };
        let table: [(&str, u64, Option<&State>, Ask); 10] = [
            ("nothing yet", 0, None, Ask::Whole),
            ("a state, no bytes", 0, Some(&strong), Ask::Whole),
            ("bytes without a state", HAVE, None, Ask::Whole),
            ("whole already", LENGTH, Some(&strong), Ask::Complete),
            (
                "strong ETag: If-Range",
                HAVE,
                Some(&strong),
                rest(HAVE, Some(ETAG), 0),
            ),
            (
                "weak ETag: Last-Modified for If-Range",
                HAVE,
                Some(&weak_with_date),
                rest(HAVE, Some(DATE), 0),
            ),
            (
                "weak ETag alone: no If-Range, 64 KiB early",
                HAVE,
                Some(&weak),
                rest(HAVE - RESUME_OVERLAP, None, RESUME_OVERLAP),
            ),
            (
                "no validators: 64 KiB early",
                HAVE,
                Some(&none),
                rest(HAVE - RESUME_OVERLAP, None, RESUME_OVERLAP),
            ),
            (
                "no validators, less than 64 KiB: from zero, all compared",
                1000,
                Some(&none),
                rest(0, None, 1000),
            ),
            (
                "length unknown: never whole before the body ends",
                HAVE,
                Some(&unknown_length),
                rest(HAVE - RESUME_OVERLAP, None, RESUME_OVERLAP),
            ),
        ];
        for (case, len, state, expected) in table {
            assert_eq!(ask(Held { len, state }), expected, "{case}");
        }
    }

    #[test]
    fn what_each_answer_makes_the_download_do() {
        let strong = state(Some(ETAG), Some(DATE));
        let weak = state(Some("W/\"w\""), None);
        let none = state(None, None);
        let resuming = Held {
            len: HAVE,
            state: Some(&strong),
        };
        let fresh = Held {
            len: 0,
            state: None,
        };
        let without_validators = Held {
            len: HAVE,
            state: Some(&none),
        };
        let weak_only = Held {
            len: HAVE,
            state: Some(&weak),
        };
        let whole = Held {
            len: LENGTH,
            state: Some(&strong),
        };
        let early = HAVE - RESUME_OVERLAP;
        let restart = |reason: &str| Verdict::Restart(reason.to_owned());
        let ignored = "the server does not resume (it ignored Range)";
        let table: Vec<(&str, Held, Answer, Verdict)> = vec![
            (
                "a first answer: the whole body",
                fresh,
                Answer {
                    length: Some(LENGTH),
                    ..answer(200)
                },
                Verdict::Accept {
                    restart: None,
                    length: Some(LENGTH),
                },
            ),
            (
                "a 206 to a request without Range",
                fresh,
                partial(0, LENGTH),
                Verdict::Refuse(Refusal::Status(StatusCode::PARTIAL_CONTENT)),
            ),
            (
                "the rest, as asked, same validators",
                resuming,
                partial(HAVE, LENGTH),
                Verdict::Resume {
                    from: HAVE,
                    overlap: 0,
                },
            ),
            (
                "the rest, without validators in the answer: not a change",
                resuming,
                Answer {
                    etag: None,
                    last_modified: None,
                    ..partial(HAVE, LENGTH)
                },
                Verdict::Resume {
                    from: HAVE,
                    overlap: 0,
                },
            ),
            (
                "no validators: resume 64 KiB early, the overlap checked",
                without_validators,
                partial(early, LENGTH),
                Verdict::Resume {
                    from: early,
                    overlap: RESUME_OVERLAP,
                },
            ),
            (
                "a weak ETag is no validator: the overlap checked",
                weak_only,
                Answer {
                    etag: Some("W/\"w\"".into()),
                    last_modified: None,
                    ..partial(early, LENGTH)
                },
                Verdict::Resume {
                    from: early,
                    overlap: RESUME_OVERLAP,
                },
            ),
            (
                "another range",
                resuming,
                partial(0, LENGTH),
                restart(&format!(
                    "asked for the bytes from {HAVE}, the server sent a range from 0"
                )),
            ),
            (
                "a 206 without Content-Range",
                resuming,
                Answer {
                    range_start: None,
                    range_total: None,
                    ..partial(HAVE, LENGTH)
                },
                restart(&format!(
                    "asked for the bytes from {HAVE}, the server sent a range from an unknown offset"
                )),
            ),
            (
                "the length changed",
                resuming,
                partial(HAVE, LENGTH + 1),
                restart(&format!(
                    "the length changed from {LENGTH} to {}",
                    LENGTH + 1
                )),
            ),
            (
                "the length is no longer given",
                resuming,
                Answer {
                    range_total: None,
                    ..partial(HAVE, LENGTH)
                },
                restart(&format!("the length changed from {LENGTH} to unknown")),
            ),
            (
                "the ETag changed",
                resuming,
                Answer {
                    etag: Some("\"v2\"".into()),
                    ..partial(HAVE, LENGTH)
                },
                restart("the ETag changed"),
            ),
            (
                "Last-Modified changed",
                resuming,
                Answer {
                    last_modified: Some(LATER.into()),
                    ..partial(HAVE, LENGTH)
                },
                restart("the Last-Modified changed"),
            ),
            (
                "the server ignores Range",
                resuming,
                answer(200),
                Verdict::Accept {
                    restart: Some(ignored),
                    length: None,
                },
            ),
            (
                "If-Range did not match: the whole, changed, resource",
                resuming,
                Answer {
                    accept_ranges: true,
                    length: Some(LENGTH + 1),
                    ..answer(200)
                },
                Verdict::Accept {
                    restart: Some("the resource changed (If-Range did not match)"),
                    length: Some(LENGTH + 1),
                },
            ),
            (
                "Accept-Ranges without a validator sent: Range was ignored",
                without_validators,
                Answer {
                    accept_ranges: true,
                    ..answer(200)
                },
                Verdict::Accept {
                    restart: Some(ignored),
                    length: None,
                },
            ),
            (
                "an encoded body",
                fresh,
                Answer {
                    encoding: Some("gzip".into()),
                    ..answer(200)
                },
                Verdict::Refuse(Refusal::Encoded("gzip".into())),
            ),
            (
                "an encoded range",
                resuming,
                Answer {
                    encoding: Some("br".into()),
                    ..partial(HAVE, LENGTH)
                },
                Verdict::Refuse(Refusal::Encoded("br".into())),
            ),
            (
                "identity is no encoding",
                fresh,
                Answer {
                    encoding: Some("Identity".into()),
                    ..answer(200)
                },
                Verdict::Accept {
                    restart: None,
                    length: None,
                },
            ),
            (
                "an encoded error is retried as an error",
                fresh,
                Answer {
                    encoding: Some("gzip".into()),
                    ..answer(503)
                },
                Verdict::Retry {
                    reason: "the server answered 503 Service Unavailable".into(),
                    retry_after: None,
                },
            ),
            (
                "416: the partial file is whole",
                whole,
                Answer {
                    range_total: Some(LENGTH),
                    ..answer(416)
                },
                Verdict::Complete(&strong),
            ),
            (
                "416 for another length",
                resuming,
                Answer {
                    range_total: Some(HAVE - 1),
                    ..answer(416)
                },
                restart(&format!(
                    "the server cannot send the bytes from {HAVE} (its length is {})",
                    HAVE - 1
                )),
            ),
            (
                "416 without a length",
                resuming,
                answer(416),
                restart(&format!(
                    "the server cannot send the bytes from {HAVE} (its length is unknown)"
                )),
            ),
            (
                "416 to a request without Range",
                fresh,
                answer(416),
                Verdict::Refuse(Refusal::Status(StatusCode::RANGE_NOT_SATISFIABLE)),
            ),
            (
                "503 with Retry-After",
                resuming,
                Answer {
                    retry_after: Some(Duration::from_secs(3)),
                    ..answer(503)
                },
                Verdict::Retry {
                    reason: "the server answered 503 Service Unavailable".into(),
                    retry_after: Some(Duration::from_secs(3)),
                },
            ),
            (
                "429",
                fresh,
                answer(429),
                Verdict::Retry {
                    reason: "the server answered 429 Too Many Requests".into(),
                    retry_after: None,
                },
            ),
            (
                "a redirect not followed",
                fresh,
                Answer {
                    location: Some("ftp://h/v".into()),
                    ..answer(302)
                },
                Verdict::Refuse(Refusal::Redirect {
                    status: StatusCode::FOUND,
                    location: "ftp://h/v".into(),
                }),
            ),
            (
                "404",
                resuming,
                answer(404),
                Verdict::Refuse(Refusal::Status(StatusCode::NOT_FOUND)),
            ),
            (
                "501",
                fresh,
                answer(501),
                Verdict::Refuse(Refusal::Status(StatusCode::NOT_IMPLEMENTED)),
            ),
        ];
        for (case, held, answer, expected) in table {
            assert_eq!(decide(held, &answer), expected, "{case}");
        }
    }

    #[test]
    fn the_overlap_and_the_body_length_are_checked() {
        assert_eq!(continues(b"same bytes", b"same bytes"), Ok(()));
        let differ = continues(b"new bytes!", b"old bytes!").unwrap_err();
        assert!(
            differ.starts_with("the 10 bytes before the resume point differ"),
            "{differ}"
        );
        // A body shorter than its Content-Length: the transfer broke (the next attempt resumes).
        assert_eq!(
            short(HAVE, Some(LENGTH)),
            Some(format!("the connection closed at byte {HAVE} of {LENGTH}"))
        );
        assert_eq!(short(LENGTH, Some(LENGTH)), None);
        assert_eq!(short(HAVE, None), None);
    }

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.clone(), HeaderValue::from_str(v).unwrap()))
            .collect()
    }

    #[test]
    fn content_ranges() {
        let h = |v| headers(&[(header::CONTENT_RANGE, v)]);
        assert_eq!(
            content_range(&h("bytes 100-199/1000")),
            (Some(100), Some(1000))
        );
        assert_eq!(content_range(&h("bytes 100-199/*")), (Some(100), None));
        assert_eq!(content_range(&h("bytes */1000")), (None, Some(1000)));
        assert_eq!(content_range(&h("items 1-2/3")), (None, None));
        assert_eq!(content_range(&HeaderMap::new()), (None, None));
    }

    #[test]
    fn an_answer_is_read_from_its_headers() {
        let answer = Answer::new(
            StatusCode::PARTIAL_CONTENT,
            &headers(&[
                (header::CONTENT_RANGE, "bytes 10-19/20"),
                (header::ETAG, ETAG),
                (header::LAST_MODIFIED, DATE),
                (header::CONTENT_ENCODING, "gzip"),
                (header::ACCEPT_RANGES, "none"),
                (header::RETRY_AFTER, "7"),
                (header::LOCATION, "/elsewhere"),
            ]),
            Some(10),
        );
        assert_eq!(
            (answer.range_start, answer.range_total),
            (Some(10), Some(20))
        );
        assert_eq!(answer.length, Some(10));
        assert_eq!(answer.etag.as_deref(), Some(ETAG));
        assert_eq!(answer.last_modified.as_deref(), Some(DATE));
        assert_eq!(answer.encoding.as_deref(), Some("gzip"));
        assert!(answer.accept_ranges);
        assert_eq!(answer.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(answer.location.as_deref(), Some("/elsewhere"));
    }

    #[test]
    fn a_changed_validator_is_named() {
        let state = state(Some("\"a\""), Some(DATE));
        let with = |etag: Option<&str>, date: Option<&str>| Answer {
            etag: etag.map(str::to_owned),
            last_modified: date.map(str::to_owned),
            ..answer(206)
        };
        assert_eq!(changed_validator(&state, &with(Some("\"a\""), None)), None);
        assert_eq!(
            changed_validator(&state, &with(Some("\"b\""), None)),
            Some("ETag")
        );
        assert_eq!(
            changed_validator(&state, &with(None, Some(LATER))),
            Some("Last-Modified")
        );
    }
}
