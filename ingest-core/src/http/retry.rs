//! One retry policy for every network client of the library: for any failure, whether to ask
//! the same endpoint again after a wait, to move on to the next endpoint, or to give up; and
//! one backoff schedule (exponential, jittered, capped, bounded in attempts and in time).
//!
//! - Each client sorts its own errors into a [`Failure`] ([`Classify`]): a connection refused
//!   or reset, a timeout, a transfer cut short, a status worth asking again (with the server's
//!   `Retry-After`), an answer that lies (bytes that do not match, a bad length), a refusal (a
//!   `4xx`), or something no endpoint can change.
//! - [`Policy::decide`] turns a failure, the failed attempts in a row and the time spent into a
//!   [`Decision`]: [`Decision::Retry`] after a wait, [`Decision::NextEndpoint`], or
//!   [`Decision::GiveUp`] (and why).
//! - [`Policy::run`] runs one endpoint's attempts under the policy; [`Policy::across`] runs
//!   rounds over several endpoints (each once a round, a liar not asked again, another round
//!   after a wait while failures were transient).
//!
//! The clients keep their own options (`retries`, `backoff`, `max_backoff`, the longest
//! `Retry-After`…): each builds its [`Policy`] from them, so only the numbers differ, never the
//! answer to "retry?".
//!
//! It lives in `http`, beside the client setup every client shares, because what it sorts are
//! HTTP failures (statuses, `Retry-After`, broken connections); it is crate-private because
//! the library's public surface is each client's options and error types
//! (`RpcError::is_retryable`, `FetchError::is_transient`… answer from it), not the policy.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{self, HeaderMap};
use reqwest::StatusCode;

use super::header_text;

/// What went wrong with one attempt, as far as retrying goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No connection: refused, reset before an answer, a name that does not resolve.
    Connection,
    /// No answer, or no byte, in time.
    Timeout,
    /// The connection broke during the answer: reset, or closed before the announced length.
    Broken,
    /// A status that may change: `408`, `429`, a `5xx` other than `501` and `505`; with the
    /// server's `Retry-After` when it sent one.
    Busy {
        /// How long the server asks to wait.
        retry_after: Option<Duration>,
    },
    /// The answer is wrong: bytes that do not match what was asked, a body shorter or longer
    /// than it says, an answer not as the protocol documents. That endpoint is broken or lies;
    /// another may not.
    Lie,
    /// The endpoint will not serve this request, however often asked: a `4xx` (but `408` and
    /// `429`), `501`, `505`, a command's own error, refused credentials, a call that took all
    /// the time it was given (a node busy with work a retry would only start again). Another
    /// endpoint may.
    Refused,
    /// Nothing another attempt or another endpoint can change: the request itself is bad, or
    /// something local failed (the disk, the client's setup, a limit of ours).
    Fatal,
}

impl Failure {
    /// An answer's status (not a success): [`Failure::Busy`] if it may change
    /// ([`retryable`]), else [`Failure::Refused`].
    pub(crate) fn status(status: StatusCode, retry_after: Option<Duration>) -> Failure {
        if retryable(status) {
            Failure::Busy { retry_after }
        } else {
            Failure::Refused
        }
    }

    /// Whether asking the same endpoint again later may succeed.
    pub(crate) fn is_transient(self) -> bool {
        matches!(
            self,
            Failure::Connection | Failure::Timeout | Failure::Broken | Failure::Busy { .. }
        )
    }
}

/// An error that knows what kind of [`Failure`] it is.
pub(crate) trait Classify {
    /// The kind of failure, for [`Policy::decide`].
    fn failure(&self) -> Failure;
}

/// An error, and the `Retry-After` of the answer that carried it (for clients whose error
/// types do not keep it).
#[derive(Debug)]
pub(crate) struct After<E> {
    /// The error.
    pub(crate) error: E,
    /// The answer's `Retry-After`.
    pub(crate) retry_after: Option<Duration>,
}

impl<E: Classify> Classify for After<E> {
    fn failure(&self) -> Failure {
        match self.error.failure() {
            Failure::Busy { .. } => Failure::Busy {
                retry_after: self.retry_after,
            },
            other => other,
        }
    }
}

/// What to do after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Ask the same endpoint again after this wait.
    Retry(Duration),
    /// This endpoint will not serve the request: ask the next one, if there is one (with
    /// one endpoint, this is the end).
    NextEndpoint,
    /// Stop.
    GiveUp(Stop),
}

/// Why a [`Policy`] gives up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The failure is final ([`Failure::Fatal`]).
    Final,
    /// The retries are spent.
    Attempts,
    /// The next wait would end past the policy's total time.
    Elapsed,
    /// The server asks to wait this long, more than the policy takes.
    RetryAfter(Duration),
}

/// What a `Retry-After` longer than [`Policy::max_retry_after`] does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LongRetryAfter {
    /// Give up ([`Stop::RetryAfter`]): the server will not be ready in time.
    GiveUp,
    /// Wait [`Policy::max_retry_after`] instead.
    Cap,
}

/// How often, how long and after which failures to try again. Built by each client from its
/// options ([`Policy::new`], then [`Policy::within`] and [`Policy::retry_after`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Policy {
    /// The wait after the first failure; it doubles with each failure in a row, up to `max`,
    /// and a random half of it is taken off ([`backoff`]).
    pub(crate) first: Duration,
    /// The longest backoff.
    pub(crate) max: Duration,
    /// Failed attempts in a row that are retried: at most `retries + 1` attempts in a row
    /// (rounds, over several endpoints).
    pub(crate) retries: u32,
    /// The longest time from the first attempt to the end of the last wait: a wait that would
    /// end later is not taken ([`Stop::Elapsed`]). `Duration::MAX`: no bound.
    pub(crate) total: Duration,
    /// The longest `Retry-After` waited as the server asks.
    pub(crate) max_retry_after: Duration,
    /// What a longer one does.
    pub(crate) long_retry_after: LongRetryAfter,
}

impl Policy {
    /// `retries` retries, backing off from `first` up to `max`; no bound on the total time,
    /// every `Retry-After` honoured.
    pub(crate) const fn new(first: Duration, max: Duration, retries: u32) -> Policy {
        Policy {
            first,
            max,
            retries,
            total: Duration::MAX,
            max_retry_after: Duration::MAX,
            long_retry_after: LongRetryAfter::Cap,
        }
    }

    /// The same policy, giving up rather than waiting past `total` from the first attempt.
    #[allow(
        dead_code,
        reason = "no client bounds its time yet; the table test covers it"
    )]
    pub(crate) const fn within(self, total: Duration) -> Policy {
        Policy { total, ..self }
    }

    /// The same policy, honouring a `Retry-After` up to `max`, and doing as `longer` says for
    /// a longer one.
    pub(crate) const fn retry_after(self, max: Duration, longer: LongRetryAfter) -> Policy {
        Policy {
            max_retry_after: max,
            long_retry_after: longer,
            ..self
        }
    }

    /// The backoff after `failures` failed attempts in a row ([`backoff`]).
    pub(crate) fn backoff(&self, failures: u32) -> Duration {
        backoff(self.first, self.max, failures)
    }

    /// What to do after `failure`, the `attempt`-th failure in a row (from 1), `elapsed` after
    /// the first attempt began:
    ///
    /// - [`Failure::Fatal`]: give up;
    /// - [`Failure::Lie`], [`Failure::Refused`]: the next endpoint (however many attempts are
    ///   left: asking this one again would get the same answer);
    /// - a transient failure: give up once `attempt` is over `retries`; else wait the
    ///   server's `Retry-After` (if longer than `max_retry_after`: give up, or wait
    ///   `max_retry_after`, as `long_retry_after` says), or the backoff; give up if that wait
    ///   would end past `total`.
    pub(crate) fn decide(&self, failure: Failure, attempt: u32, elapsed: Duration) -> Decision {
        self.decide_with(failure, attempt, elapsed, fastrand::f64())
    }

    /// [`Policy::decide`] with the backoff's jitter given (`0.0`: half the backoff, `1.0`:
    /// all of it).
    fn decide_with(
        &self,
        failure: Failure,
        attempt: u32,
        elapsed: Duration,
        jitter: f64,
    ) -> Decision {
        let retry_after = match failure {
            Failure::Fatal => return Decision::GiveUp(Stop::Final),
            Failure::Lie | Failure::Refused => return Decision::NextEndpoint,
            Failure::Busy { retry_after } => retry_after,
            Failure::Connection | Failure::Timeout | Failure::Broken => None,
        };
        if attempt > self.retries {
            return Decision::GiveUp(Stop::Attempts);
        }
        let wait = match retry_after {
            Some(wait) if wait > self.max_retry_after => match self.long_retry_after {
                LongRetryAfter::GiveUp => return Decision::GiveUp(Stop::RetryAfter(wait)),
                LongRetryAfter::Cap => self.max_retry_after,
            },
            Some(wait) => wait,
            None => jittered(self.first, self.max, attempt, jitter),
        };
        if elapsed.saturating_add(wait) > self.total {
            return Decision::GiveUp(Stop::Elapsed);
        }
        Decision::Retry(wait)
    }

    /// Runs `attempt` against one endpoint until it succeeds or the policy stops retrying (a
    /// failure that sends to the next endpoint ends it too: there is no other). Returns the
    /// last error.
    pub(crate) fn run<T, E: Classify>(
        &self,
        attempt: impl FnMut() -> Result<T, E>,
    ) -> Result<T, E> {
        self.run_and_tell(attempt, |_, _, _| {})
    }

    /// [`Policy::run`], telling `retrying` of each retry (the error, the failures in a row so
    /// far, the wait) before its wait.
    pub(crate) fn run_and_tell<T, E: Classify>(
        &self,
        mut attempt: impl FnMut() -> Result<T, E>,
        mut retrying: impl FnMut(&E, u32, Duration),
    ) -> Result<T, E> {
        let start = Instant::now();
        let mut failures = 0u32;
        loop {
            let error = match attempt() {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            failures = failures.saturating_add(1);
            match self.decide(error.failure(), failures, start.elapsed()) {
                Decision::Retry(wait) => {
                    retrying(&error, failures, wait);
                    std::thread::sleep(wait);
                }
                Decision::NextEndpoint | Decision::GiveUp(_) => return Err(error),
            }
        }
    }

    /// Asks endpoints in turn until one succeeds, in rounds: each round asks every endpoint
    /// still in play once, in the order `order` gives (called each round); an endpoint the
    /// policy does not retry (it lied, it refused, its retries are spent) is not asked again;
    /// another round follows, after the longest wait the round's failures were given, while an
    /// endpoint is still in play; a [`Failure::Fatal`] ends it at once.
    ///
    /// Returns the endpoint that succeeded and its value, or every failure in the order they
    /// came.
    pub(crate) fn across<T, E: Classify, I: IntoIterator<Item = usize>>(
        &self,
        mut order: impl FnMut() -> I,
        mut attempt: impl FnMut(usize) -> Result<T, E>,
    ) -> Result<(usize, T), Vec<E>> {
        let start = Instant::now();
        let mut out_of_play = HashSet::new();
        let mut failures = Vec::new();
        let mut round = 1u32;
        loop {
            let mut wait: Option<Duration> = None;
            for i in order() {
                if out_of_play.contains(&i) {
                    continue;
                }
                let error = match attempt(i) {
                    Ok(value) => return Ok((i, value)),
                    Err(error) => error,
                };
                let decision = self.decide(error.failure(), round, start.elapsed());
                failures.push(error);
                match decision {
                    Decision::Retry(w) => wait = Some(wait.map_or(w, |longest| longest.max(w))),
                    Decision::GiveUp(Stop::Final) => return Err(failures),
                    Decision::NextEndpoint | Decision::GiveUp(_) => {
                        out_of_play.insert(i);
                    }
                }
            }
            match wait {
                Some(wait) => std::thread::sleep(wait),
                None => return Err(failures),
            }
            round = round.saturating_add(1);
        }
    }
}

/// Exponential backoff with jitter: the wait after `failures` failed attempts in a row starts at
/// `first`, doubles with each failure up to `max`, and a random half of it is taken off (so
/// clients that failed together do not retry in step).
pub(crate) fn backoff(first: Duration, max: Duration, failures: u32) -> Duration {
    jittered(first, max, failures, fastrand::f64())
}

/// [`backoff`] with the jitter given: `0.0` takes half off, `1.0` nothing.
fn jittered(first: Duration, max: Duration, failures: u32, jitter: f64) -> Duration {
    let exp = first
        .saturating_mul(1 << failures.saturating_sub(1).min(20))
        .min(max);
    exp / 2 + exp.mul_f64(jitter.clamp(0.0, 1.0) / 2.0)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    const MS: Duration = Duration::from_millis(1);
    const S: Duration = Duration::from_secs(1);

    /// A test error: a failure and nothing else.
    #[derive(Debug, PartialEq)]
    struct Failed(Failure);

    impl Classify for Failed {
        fn failure(&self) -> Failure {
            self.0
        }
    }

    fn busy(after: Option<Duration>) -> Failure {
        Failure::Busy { retry_after: after }
    }

    /// Every kind of failure against attempts and time spent, under a policy that gives up on a
    /// long `Retry-After` and bounds its time (as `fetch` would with `within`), and under one
    /// that caps `Retry-After` and has no time bound (as the pinning client). Backoffs at full
    /// jitter (`1.0`): `first · 2^(attempt-1)`, capped.
    #[test]
    fn the_policy_decides_for_every_failure_attempt_and_time_spent() {
        use Decision::{GiveUp, NextEndpoint as Next, Retry};
        let bounded = Policy::new(100 * MS, S, 3)
            .within(10 * S)
            .retry_after(60 * S, LongRetryAfter::GiveUp);
        // Columns: (attempt, elapsed).
        let columns = [
            (1, Duration::ZERO),
            (3, Duration::ZERO),
            (4, Duration::ZERO),
            (1, 9950 * MS),
            (2, 3600 * S),
        ];
        let transient = [
            Retry(100 * MS),
            Retry(400 * MS),
            GiveUp(Stop::Attempts),
            GiveUp(Stop::Elapsed),
            GiveUp(Stop::Elapsed),
        ];
        let endpoint_done = [Next; 5];
        let table: [(Failure, [Decision; 5]); 10] = [
            (Failure::Connection, transient),
            (Failure::Timeout, transient),
            (Failure::Broken, transient),
            (busy(None), transient),
            (
                busy(Some(2 * S)),
                [
                    Retry(2 * S),
                    Retry(2 * S),
                    GiveUp(Stop::Attempts),
                    GiveUp(Stop::Elapsed),
                    GiveUp(Stop::Elapsed),
                ],
            ),
            (
                busy(Some(Duration::ZERO)),
                [
                    Retry(Duration::ZERO),
                    Retry(Duration::ZERO),
                    GiveUp(Stop::Attempts),
                    Retry(Duration::ZERO),
                    GiveUp(Stop::Elapsed),
                ],
            ),
            (
                busy(Some(300 * S)),
                [
                    GiveUp(Stop::RetryAfter(300 * S)),
                    GiveUp(Stop::RetryAfter(300 * S)),
                    GiveUp(Stop::Attempts),
                    GiveUp(Stop::RetryAfter(300 * S)),
                    GiveUp(Stop::RetryAfter(300 * S)),
                ],
            ),
            (Failure::Lie, endpoint_done),
            (Failure::Refused, endpoint_done),
            (Failure::Fatal, [GiveUp(Stop::Final); 5]),
        ];
        for (failure, expected) in table {
            for ((attempt, elapsed), expected) in columns.into_iter().zip(expected) {
                assert_eq!(
                    bounded.decide_with(failure, attempt, elapsed, 1.0),
                    expected,
                    "{failure:?}, attempt {attempt}, {elapsed:?} spent"
                );
            }
        }

        let capped = Policy::new(500 * MS, 30 * S, 8).retry_after(120 * S, LongRetryAfter::Cap);
        let columns = [
            (1, Duration::ZERO),
            (8, Duration::ZERO),
            (9, Duration::ZERO),
            (1, 3600 * S),
        ];
        let transient = [
            Retry(500 * MS),
            Retry(30 * S),
            GiveUp(Stop::Attempts),
            Retry(500 * MS),
        ];
        let table: [(Failure, [Decision; 4]); 8] = [
            (Failure::Connection, transient),
            (Failure::Timeout, transient),
            (Failure::Broken, transient),
            (busy(None), transient),
            (
                busy(Some(300 * S)),
                [
                    Retry(120 * S),
                    Retry(120 * S),
                    GiveUp(Stop::Attempts),
                    Retry(120 * S),
                ],
            ),
            (Failure::Lie, [Next; 4]),
            (Failure::Refused, [Next; 4]),
            (Failure::Fatal, [GiveUp(Stop::Final); 4]),
        ];
        for (failure, expected) in table {
            for ((attempt, elapsed), expected) in columns.into_iter().zip(expected) {
                assert_eq!(
                    capped.decide_with(failure, attempt, elapsed, 1.0),
                    expected,
                    "capped: {failure:?}, attempt {attempt}, {elapsed:?} spent"
                );
            }
        }
    }

    #[test]
    fn statuses_are_busy_or_refused() {
        let status = |s| Failure::status(StatusCode::from_u16(s).unwrap(), Some(S));
        for s in [408, 429, 500, 502, 503, 504] {
            assert_eq!(status(s), busy(Some(S)), "{s}");
            assert!(status(s).is_transient());
        }
        for s in [400, 401, 403, 404, 410, 416, 501, 505] {
            assert_eq!(status(s), Failure::Refused, "{s}");
        }
        let after = After {
            error: Failed(busy(None)),
            retry_after: Some(3 * S),
        };
        assert_eq!(after.failure(), busy(Some(3 * S)));
        let lie = After {
            error: Failed(Failure::Lie),
            retry_after: Some(3 * S),
        };
        assert_eq!(lie.failure(), Failure::Lie);
    }

    #[test]
    fn a_decided_backoff_is_jittered_within_its_half() {
        let policy = Policy::new(100 * MS, S, 10);
        for (attempt, full) in [(1, 100), (2, 200), (4, 800), (5, 1000), (9, 1000)] {
            let full = full * MS;
            for _ in 0..20 {
                let Decision::Retry(wait) =
                    policy.decide(Failure::Timeout, attempt, Duration::ZERO)
                else {
                    panic!("a timeout is retried");
                };
                assert!(wait >= full / 2 && wait <= full, "{attempt}: {wait:?}");
            }
        }
    }

    #[test]
    fn run_retries_transient_failures_and_stops_at_the_others() {
        let policy = Policy::new(MS, MS, 3);
        // Two transient failures, then a success; each retry told before its wait.
        let calls = Cell::new(0);
        let mut told = Vec::new();
        let result = policy.run_and_tell(
            || {
                calls.set(calls.get() + 1);
                match calls.get() {
                    1 => Err(Failed(Failure::Connection)),
                    2 => Err(Failed(busy(Some(Duration::ZERO)))),
                    _ => Ok("done"),
                }
            },
            |e, failures, wait| told.push((e.0, failures, wait)),
        );
        assert_eq!(result, Ok("done"));
        assert_eq!(told.len(), 2);
        assert_eq!(told[1], (busy(Some(Duration::ZERO)), 2, Duration::ZERO));

        // Retries spent: `retries + 1` attempts, the last error returned.
        calls.set(0);
        let result: Result<(), _> = policy.run(|| {
            calls.set(calls.get() + 1);
            Err(Failed(Failure::Timeout))
        });
        assert_eq!((result, calls.get()), (Err(Failed(Failure::Timeout)), 4));

        // A refusal, a lie, a fatal failure: one attempt.
        for failure in [Failure::Refused, Failure::Lie, Failure::Fatal] {
            calls.set(0);
            let result: Result<(), _> = policy.run(|| {
                calls.set(calls.get() + 1);
                Err(Failed(failure))
            });
            assert_eq!((result, calls.get()), (Err(Failed(failure)), 1));
        }
    }

    #[test]
    fn rounds_over_endpoints_skip_a_liar_and_retry_the_transient() {
        let policy = Policy::new(MS, MS, 2);
        // Endpoint 0 lies, 1 is down twice then serves, 2 refuses.
        let mut asked = Vec::new();
        let mut down = 0;
        let result = policy.across(
            || [0, 1, 2],
            |i| {
                asked.push(i);
                match i {
                    0 => Err(Failed(Failure::Lie)),
                    1 if down < 2 => {
                        down += 1;
                        Err(Failed(Failure::Connection))
                    }
                    1 => Ok("block"),
                    _ => Err(Failed(Failure::Refused)),
                }
            },
        );
        assert_eq!(result, Ok((1, "block")));
        assert_eq!(asked, [0, 1, 2, 1, 1]);

        // Only failures that do not pass: one round, every failure in order.
        let result: Result<(usize, ()), _> = policy.across(
            || [0, 1],
            |i| Err(Failed([Failure::Lie, Failure::Refused][i])),
        );
        assert_eq!(
            result,
            Err(vec![Failed(Failure::Lie), Failed(Failure::Refused)])
        );

        // Transient everywhere: `retries + 1` rounds.
        let mut asked = 0;
        let result: Result<(usize, ()), _> = policy.across(
            || [0, 1],
            |_| {
                asked += 1;
                Err(Failed(Failure::Timeout))
            },
        );
        assert_eq!((result.unwrap_err().len(), asked), (6, 6));

        // A fatal failure ends it at once.
        let mut asked = 0;
        let result: Result<(usize, ()), _> = policy.across(
            || [0, 1],
            |_| {
                asked += 1;
                Err(Failed(Failure::Fatal))
            },
        );
        assert_eq!((result.unwrap_err().len(), asked), (1, 1));
    }

    #[test]
    fn retry_after_as_seconds_or_date() {
        let h = |v: &str| {
            let mut map = HeaderMap::new();
            map.insert(header::RETRY_AFTER, v.parse().unwrap());
            map
        };
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
            assert_eq!(jittered(first, max, failures, 0.0), full / 2);
            assert_eq!(jittered(first, max, failures, 1.0), full);
        }
    }
}
