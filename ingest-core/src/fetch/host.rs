//! Politeness towards one host: a limit on concurrent requests and an optional byte rate, shared
//! by every download from that host.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What every download from one host shares.
#[derive(Debug)]
pub(super) struct Host {
    active: Mutex<usize>,
    freed: Condvar,
    limit: usize,
    rate: Option<Bucket>,
}

impl Host {
    pub(super) fn new(limit: usize, rate: Option<u64>) -> Host {
        Host {
            active: Mutex::new(0),
            freed: Condvar::new(),
            limit: limit.max(1),
            rate: rate.filter(|&r| r > 0).map(Bucket::new),
        }
    }

    /// Waits for one of the host's request slots; it is given back when the guard drops.
    pub(super) fn slot(&self) -> Slot<'_> {
        let mut active = lock(&self.active);
        while *active >= self.limit {
            active = self
                .freed
                .wait(active)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *active += 1;
        Slot(self)
    }

    /// Accounts for `n` bytes received, sleeping as long as the rate limit asks.
    pub(super) fn throttle(&self, n: usize) {
        if let Some(bucket) = &self.rate {
            bucket.take(n as f64);
        }
    }
}

/// One request slot of a [`Host`].
pub(super) struct Slot<'a>(&'a Host);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *lock(&self.0.active) -= 1;
        self.0.freed.notify_one();
    }
}

/// A token bucket of bytes: `rate` bytes a second, bursts of at most a quarter second.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    burst: f64,
    state: Mutex<(f64, Instant)>,
}

impl Bucket {
    fn new(rate: u64) -> Bucket {
        let rate = rate as f64;
        let burst = rate / 4.0;
        Bucket {
            rate,
            burst,
            state: Mutex::new((burst, Instant::now())),
        }
    }

    /// Takes `n` tokens; the balance may go negative, and the caller then sleeps until it
    /// would be back at zero, so concurrent takers share the rate.
    fn take(&self, n: f64) {
        let debt = {
            let mut state = lock(&self.state);
            let (tokens, last) = &mut *state;
            let now = Instant::now();
            *tokens =
                (*tokens + now.duration_since(*last).as_secs_f64() * self.rate).min(self.burst) - n;
            *last = now;
            -*tokens
        };
        if debt > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(debt / self.rate));
        }
    }
}

/// Locks a mutex whose data stays valid even if a holder panicked (plain counters).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn slots_never_exceed_the_limit() {
        let host = Arc::new(Host::new(2, None));
        let now = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (host, now, peak) = (host.clone(), now.clone(), peak.clone());
                std::thread::spawn(move || {
                    let _slot = host.slot();
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn the_rate_is_shared_and_respected() {
        // 400 KB at 1 MB/s with a 250 KB burst takes at least 150 ms, across 4 threads.
        let host = Arc::new(Host::new(4, Some(1_000_000)));
        let start = Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let host = host.clone();
                std::thread::spawn(move || {
                    for _ in 0..10 {
                        host.throttle(10_000);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(
            start.elapsed() >= Duration::from_millis(140),
            "{:?}",
            start.elapsed()
        );
    }
}
