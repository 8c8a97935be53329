//! `ingest`: archive videos into IPFS with canonical, reproducible CIDs.
//!
//! `main` only parses, runs, and maps errors to exit codes: 0 on success, 1 on an error (the
//! whole cause chain on one line), 2 on a usage error (clap). A closed stdout (`ingest … | head`)
//! ends the program quietly.

mod cli;
mod commands;
mod output;
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match commands::run(cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ingest: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
