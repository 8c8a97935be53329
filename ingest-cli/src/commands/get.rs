//! `ingest get`: a verified download of a file or directory tree from IPFS.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ingest_core::ipfs::{get, GetOptions, DEFAULT_MAX_ENTRIES};

use crate::cli::parse_size;
use crate::json;
use crate::output::json_line;
use crate::source::{fetched_json, open_remote, report, Fetching, SourceArgs};

/// Download a file or a directory tree from IPFS, every block checked against its CID.
///
/// Like `ipfs get` and `ipfs-car unpack`: the result is byte-identical to what was added, from
/// any gateway, however wrong its answers (a wrong block is refused and the next gateway
/// asked). Blocks go through the cache, so an interrupted get resumes where it stopped. The
/// output appears under its name only when complete. Sizes are checked: a tree stating more
/// than --max-size (or the free space), or more than --max-entries entries, is refused before
/// anything is written, and a file holding other than what it states fails, naming the block.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to get: CID[/path], /ipfs/CID[/path], ipfs://CID[/path] or /ipns/NAME[/path].
    #[arg(value_name = "SOURCE")]
    pub source: String,
    /// Where to write it (must not exist). Default: the last name of the path, else the CID.
    #[arg(long, short, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Refuse a tree stating more content than this (before anything is written). Default: the
    /// space free where the output goes.
    #[arg(long, value_name = "BYTES", value_parser = parse_size)]
    pub max_size: Option<u64>,
    /// Refuse a tree of more entries (files, directories, links) than this.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_ENTRIES)]
    pub max_entries: u64,
    #[command(flatten)]
    pub from: SourceArgs,
    /// Print the summary as one JSON object (with what was fetched from each gateway).
    #[arg(long)]
    pub json: bool,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (remote, cid) = open_remote(&args.source, &args.from)?;
    let out = match &args.out {
        Some(out) => out.clone(),
        None => {
            let last = args.source.trim_end_matches('/').rsplit('/').next();
            match last {
                Some(name) if !name.is_empty() && !name.contains(':') => PathBuf::from(name),
                _ => PathBuf::from(cid.to_string()),
            }
        }
    };
    let progress = Fetching::start(&remote, args.quiet);
    let options = GetOptions {
        max_size: args.max_size,
        max_entries: args.max_entries,
    };
    let result = get(&mut &remote, &cid, &out, &options);
    progress.stop();
    let summary = result.with_context(|| format!("cannot get {}", args.source))?;
    remote.trim_cache()?;
    if args.json {
        let cached = remote
            .progress()
            .cached_blocks
            .load(std::sync::atomic::Ordering::Relaxed);
        json_line(
            &mut std::io::stdout().lock(),
            &json::Get {
                cid: cid.to_string(),
                out: out.display().to_string(),
                files: summary.files,
                directories: summary.directories,
                symlinks: summary.symlinks,
                bytes: summary.bytes,
                fetched: fetched_json(&remote),
                cached_blocks: cached,
            },
        )?;
    } else {
        println!(
            "{cid}  {}  ({} files, {} directories, {} bytes)",
            out.display(),
            summary.files,
            summary.directories,
            summary.bytes
        );
        if !args.quiet {
            report(&remote, false);
        }
    }
    Ok(ExitCode::SUCCESS)
}
