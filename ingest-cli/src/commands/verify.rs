//! `ingest verify`: which profile and flags give a file or directory a CID.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ingest_core::unixfs::identify::{Identification, Match};
use ingest_core::unixfs::{identify_path, parse_chunker, IdentifyOptions};
use ingest_core::Cid;

use crate::cli::PerfArgs;
use crate::json;
use crate::output::json_line;
use crate::progress::bytes_bar;

/// Tell which profile and flags give a file or directory a CID.
///
/// Tries every preset with kubo's common flags (--cid-version 0/1, raw or dag-pb leaves,
/// chunks of 256 KiB, 1 MiB and each --chunker given, 174 or 1024 links, both HAMT rules for
/// directories, each also wrapped with -w), reading the content once.
///
/// Prints `match <CID> <PATH>: profile P [with FLAGS]` for the simplest setting that gives the
/// CID, then `  also ...` for every other one, flags ready for `ingest add` or `ipfs add`, and
/// exits 0; or `no match <CID> <PATH>` and why where it can tell (another hash function, an
/// inlined CID, the CID of an entry inside the directory, ...), and exits 1.
///
/// Directories are read as `ingest add -r` reads them: hidden entries skipped unless
/// --hidden, symlinks stored as symlinks.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file or directory.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// The CID to check (any version and multibase).
    #[arg(value_name = "CID", value_parser = parse_cid)]
    pub cid: Cid,
    /// Also try fixed-size chunks of N bytes, as kubo's --chunker (repeatable).
    #[arg(long, short = 's', value_name = "size-N", value_parser = parse_chunker)]
    pub chunker: Vec<u32>,
    /// Include files and directories whose names start with '.'.
    #[arg(long, short = 'H')]
    pub hidden: bool,
    /// Print one JSON object: path, cid, match, kind, size, tried, matches, reasons.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub perf: PerfArgs,
}

fn parse_cid(text: &str) -> Result<Cid, String> {
    Cid::try_from(text.trim()).map_err(|e| format!("not a CID ({e})"))
}

fn match_json(m: &Match) -> json::VerifyMatch {
    let p = m.candidate.profile();
    json::VerifyMatch {
        setting: m.to_string(),
        profile: m.candidate.preset().name().to_owned(),
        flags: m.flags(),
        wrapped: m.wrapped,
        cid: m.cid.to_string(),
        exact: m.exact,
        parameters: json::VerifyParameters {
            cid_version: match p.cid_version() {
                ingest_core::unixfs::CidVersion::V0 => 0,
                ingest_core::unixfs::CidVersion::V1 => 1,
            },
            raw_leaves: p.raw_leaves(),
            chunker: format!("size-{}", p.chunk_size()),
            max_links: p.max_links(),
            hamt_size_estimate: p.dir_size_estimate().as_str(),
        },
    }
}

fn print(args: &Args, answer: &Identification) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let name = args.path.display();
    if args.json {
        let reasons = answer
            .reasons
            .iter()
            .map(|r| json::VerifyReason {
                reason: r.code(),
                message: r.to_string(),
            })
            .collect();
        json_line(
            &mut out,
            &json::Verify {
                path: name.to_string(),
                cid: answer.target.to_string(),
                is_match: answer.is_match(),
                kind: answer.kind.as_str(),
                size: answer.size,
                read: answer.read,
                tried: answer.tried,
                matches: answer.matches.iter().map(match_json).collect(),
                reasons,
            },
        )?;
    } else if let [best, others @ ..] = &answer.matches[..] {
        writeln!(out, "match {} {name}: {best}", answer.target)?;
        for m in others {
            writeln!(out, "  also {m}")?;
        }
    } else {
        let tried = if answer.read {
            format!("{} settings tried", answer.tried)
        } else {
            "nothing needed to be read".to_owned()
        };
        writeln!(out, "no match {} {name} ({tried})", answer.target)?;
        for reason in &answer.reasons {
            writeln!(out, "  {reason}")?;
        }
    }
    out.flush()
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = IdentifyOptions {
        chunk_sizes: args.chunker.clone(),
        hidden: args.hidden,
        threads: args.perf.options().threads,
    };
    // A file's size is known; a tree's is not (as for `ingest add -r`).
    let total = std::fs::metadata(&args.path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let bar = bytes_bar(total, false);
    let answer = identify_path(&args.path, &args.cid, &options, &mut |n| bar.inc(n))
        .with_context(|| format!("cannot verify {}", args.path.display()))?;
    bar.finish_and_clear();
    print(&args, &answer)?;
    Ok(if answer.is_match() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<super::Args, clap::Error> {
        let mut argv = vec!["ingest", "verify"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv)?.command {
            Command::Verify(args) => Ok(args),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn flags() {
        let cid = "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH";
        let a = parse(&["f", cid]).unwrap();
        assert!(a.chunker.is_empty() && !a.hidden && !a.json);
        let a = parse(&[
            "-s",
            "size-1000",
            "--chunker",
            "size-2000",
            "-H",
            "--json",
            "f",
            cid,
        ])
        .unwrap();
        assert_eq!(a.chunker, [1000, 2000]);
        assert!(a.hidden && a.json);
        assert!(parse(&["f", "not-a-cid"]).is_err());
        assert!(parse(&["--chunker", "rabin", "f", cid]).is_err());
        assert!(parse(&["f"]).is_err());
    }
}
