//! `ingest`: archive videos into IPFS with canonical, reproducible CIDs.
//!
//! `main` only parses, runs, and maps errors to exit codes: 0 on success, 1 on an error (the
//! whole cause chain on one line), 2 on a usage error (clap). A closed stdout (`ingest … | head`)
//! ends the program quietly. An interrupt removes the run's temporary files and exits 130.

mod cli;
mod commands;
mod json;
mod output;
mod progress;
mod source;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // Interrupted (Ctrl-C, SIGTERM, SIGHUP): remove this run's temporaries, keep the resumable
    // `.part` files of downloads, and exit as a shell expects (128 + the signal; 130 for all,
    // as the handler cannot tell which).
    let _ = ctrlc::set_handler(|| {
        // yt-dlp processes `volunteer` runs are stopped too (their partial files kept).
        ingest_core::volunteer::ytdlp::stop_all();
        ingest_core::io::remove_temporaries();
        eprintln!("ingest: interrupted; temporary files removed, partial downloads kept");
        std::process::exit(130);
    });
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ingest: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}

/// Each cause of a message at most this many bytes: a peer's text or a user's argument can be
/// megabytes.
const MAX_CAUSE: usize = 500;

/// The error and its causes on one line, `a: b: c`, safe for a terminal: control characters
/// (escape sequences, new lines) escaped, each cause cut to [`MAX_CAUSE`] bytes.
fn one_line(err: &anyhow::Error) -> String {
    err.chain()
        .map(|cause| output::terminal_safe(&cause.to_string(), MAX_CAUSE))
        .collect::<Vec<_>>()
        .join(": ")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
