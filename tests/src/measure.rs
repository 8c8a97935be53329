//! Running a child process and measuring its wall time and peak RSS (`wait4`), for the
//! benchmarks and for the tests that bound memory.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of a command took.
pub struct Run {
    /// Wall time.
    pub wall: Duration,
    /// Peak resident set size, KiB.
    pub max_rss_kib: u64,
    /// What it printed on stdout.
    pub stdout: String,
}

/// Runs a command to its end and measures it; panics if it fails.
pub fn measure(cmd: &mut Command) -> Run {
    let start = Instant::now();
    // Reaped by wait4 below, which std's `Child::wait` cannot do while also giving rusage.
    #[allow(clippy::zombie_processes)]
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .expect("the benchmarked program starts");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)
        .expect("its output is text");
    let mut status = 0;
    // SAFETY: rusage is plain old data, and `pid` is our own child, reaped exactly once here
    // (the `Child` handle is dropped without waiting).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let elapsed = start.elapsed();
    assert_eq!(rc, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed"
    );
    Run {
        wall: elapsed,
        max_rss_kib: usage.ru_maxrss as u64,
        stdout,
    }
}
