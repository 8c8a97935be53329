//! `ingest ls`, `ingest todo`, `ingest export-archive`: reading a catalogue, from a CAR file or
//! from IPFS (a CID, `/ipfs/…`, `ipfs://…`, `/ipns/…`, every block verified).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ingest_core::catalogue::todo::{self, read_wanted};
use ingest_core::catalogue::{video_record, videos};

use crate::json;
use crate::output::json_line;
use crate::source::{open_catalogue, Opened, SourceArgs};

/// What every catalogue reader takes.
#[derive(Debug, clap::Args)]
pub struct ReadArgs {
    /// The catalogue: a CAR file, or its CID, /ipfs/CID, ipfs://CID or /ipns/NAME (read from
    /// --gateway or --api, every block checked against its CID).
    #[arg(value_name = "CATALOGUE")]
    pub catalogue: String,
    #[command(flatten)]
    pub source: SourceArgs,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

impl ReadArgs {
    fn open(&self) -> anyhow::Result<Opened> {
        open_catalogue(&self.catalogue, &self.source, self.quiet)
            .with_context(|| format!("cannot open the catalogue {}", self.catalogue))
    }
}

/// List every archived video: site, id, record CID, video CID.
///
/// Reads each video's directory and record (two blocks a video).
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// Only this site.
    #[arg(long)]
    pub site: Option<String>,
    /// One JSON object per video (and, from IPFS, a summary of what was fetched on stderr).
    #[arg(long)]
    pub json: bool,
}

pub fn ls(args: LsArgs) -> anyhow::Result<ExitCode> {
    let mut opened = args.read.open()?;
    let mut out = std::io::stdout().lock();
    let root = opened.root;
    for v in videos(&mut opened.blocks, &root, args.site.as_deref())? {
        let (record_cid, record) = video_record(&mut opened.blocks, &v)?;
        let video = record.primary_file();
        if args.json {
            json_line(
                &mut out,
                &json::LsVideo {
                    site: v.site.clone(),
                    id: v.id.clone(),
                    record: record_cid.to_string(),
                    video: video.cid.to_string(),
                    directory: v.directory.to_string(),
                    title: record.meta.title.clone(),
                },
            )?;
        } else {
            writeln!(out, "{}\t{}\t{}\t{}", v.site, v.id, record_cid, video.cid)?;
        }
    }
    out.flush()?;
    opened.finish(args.json)?;
    Ok(ExitCode::SUCCESS)
}

/// Print the ids in a list that the catalogue lacks, optionally only one volunteer's share.
///
/// FILE has one video per line: `ID` or `SITE ID` (blank lines and lines starting with # are
/// skipped). A bare ID counts as archived when any site has it. With --shard I/N, the remaining
/// ids are split between N volunteers by a hash of site and id (the same on every machine), and
/// only share I (1 to N) is printed, so newcomers can divide the work without talking.
///
/// Only the catalogue's root and the directories of the sites FILE names are read (all sites
/// when a line has no site): from IPFS, a few megabytes for a million videos, no records. A
/// video counts as archived when the catalogue lists it (the merge that listed it checked its
/// record).
#[derive(Debug, clap::Args)]
pub struct TodoArgs {
    #[command(flatten)]
    pub read: ReadArgs,
    /// The ids to check.
    #[arg(long, value_name = "FILE")]
    pub ids: PathBuf,
    /// Only share I of N (1-based), e.g. 2/5.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// One JSON object per video to do (and, from IPFS, a summary of what was fetched on
    /// stderr).
    #[arg(long)]
    pub json: bool,
}

pub(crate) fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (i, n) = s.split_once('/').ok_or("expected I/N, like 2/5")?;
    let (i, n): (u64, u64) = (
        i.parse().map_err(|_| format!("{i:?} is not a number"))?,
        n.parse().map_err(|_| format!("{n:?} is not a number"))?,
    );
    if n == 0 || i == 0 || i > n {
        return Err(format!("shard {i}/{n} is out of range: I goes from 1 to N"));
    }
    Ok((i, n))
}

pub fn todo(args: TodoArgs) -> anyhow::Result<ExitCode> {
    // The list first: a bad line is reported before anything is fetched.
    let name = args.ids.display().to_string();
    let file = std::fs::File::open(&args.ids).with_context(|| format!("cannot read {name}"))?;
    let wanted = read_wanted(std::io::BufReader::new(file), &name)?;
    let mut opened = args.read.open()?;
    let root = opened.root;
    let left = todo::todo(&mut opened.blocks, &root, &wanted, args.shard)?;
    let mut out = std::io::stdout().lock();
    for w in left {
        if args.json {
            json_line(
                &mut out,
                &json::Todo {
                    site: w.site.clone(),
                    id: w.id.clone(),
                },
            )?;
        } else {
            writeln!(out, "{}", w.line)?;
        }
    }
    out.flush()?;
    opened.finish(args.json)?;
    Ok(ExitCode::SUCCESS)
}

/// Print a yt-dlp --download-archive file (`<extractor> <id>` per line) of the catalogue, so
/// plain yt-dlp skips what is already archived.
///
/// Each video's record is read and checked to be that video's (two blocks a video).
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn export_archive(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let mut opened = args.read.open()?;
    let root = opened.root;
    let mut out = std::io::stdout().lock();
    for v in videos(&mut opened.blocks, &root, None)? {
        // Exported only if its directory holds its own record: yt-dlp would skip it for good.
        video_record(&mut opened.blocks, &v)?;
        writeln!(out, "{} {}", v.site, v.id)?;
    }
    out.flush()?;
    opened.finish(false)?;
    Ok(ExitCode::SUCCESS)
}
