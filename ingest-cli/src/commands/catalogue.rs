//! `ingest ls`, `ingest todo`, `ingest export-archive`: reading a catalogue.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use ingest_core::catalogue::{shard_of, Catalogue};
use serde_json::json;

use crate::output::json_line;

/// List every archived video: site, id, record CID, video CID.
#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// The catalogue CAR.
    pub catalogue: PathBuf,
    /// Only this site.
    #[arg(long)]
    pub site: Option<String>,
    /// One JSON object per video.
    #[arg(long)]
    pub json: bool,
}

pub fn ls(args: LsArgs) -> anyhow::Result<ExitCode> {
    let mut catalogue = Catalogue::open(&args.catalogue)?;
    let mut out = std::io::stdout().lock();
    for v in catalogue.videos(args.site.as_deref())? {
        let (record_cid, record) = catalogue.record(&v)?;
        let video = record.primary_file();
        if args.json {
            json_line(
                &mut out,
                &json!({"site": v.site, "id": v.id, "record": record_cid.to_string(),
                        "video": video.cid.to_string(), "directory": v.directory.to_string(),
                        "title": record.meta.title}),
            )?;
        } else {
            writeln!(out, "{}\t{}\t{}\t{}", v.site, v.id, record_cid, video.cid)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Print the ids in a list that the catalogue lacks, optionally only one volunteer's share.
///
/// FILE has one video per line: `ID` or `SITE ID` (blank lines and lines starting with # are
/// skipped). A bare ID counts as archived when any site has it. With --shard I/N, the remaining
/// ids are split between N volunteers by a hash of site and id (the same on every machine), and
/// only share I (1 to N) is printed, so newcomers can divide the work without talking.
#[derive(Debug, clap::Args)]
pub struct TodoArgs {
    /// The catalogue CAR.
    pub catalogue: PathBuf,
    /// The ids to check.
    #[arg(long, value_name = "FILE")]
    pub ids: PathBuf,
    /// Only share I of N (1-based), e.g. 2/5.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
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
    let mut catalogue = Catalogue::open(&args.catalogue)?;
    let mut have: HashSet<(String, String)> = HashSet::new();
    let mut have_id: HashSet<String> = HashSet::new();
    for v in catalogue.videos(None)? {
        // Counted as archived only if its directory holds its own record.
        catalogue.record(&v)?;
        have_id.insert(v.id.clone());
        have.insert((v.site, v.id));
    }
    let text = std::fs::read_to_string(&args.ids)
        .with_context(|| format!("cannot read {}", args.ids.display()))?;
    let mut out = std::io::stdout().lock();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let (site, id) = match words.as_slice() {
            [id] => ("", *id),
            [site, id] => (*site, *id),
            _ => bail!(
                "{}:{}: expected `ID` or `SITE ID`, found {line:?}",
                args.ids.display(),
                n + 1
            ),
        };
        let archived = if site.is_empty() {
            have_id.contains(id)
        } else {
            have.contains(&(site.to_owned(), id.to_owned()))
        };
        if archived {
            continue;
        }
        if let Some((i, n)) = args.shard {
            if shard_of(site, id, n) != i - 1 {
                continue;
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Print a yt-dlp --download-archive file (`<extractor> <id>` per line) of the catalogue, so
/// plain yt-dlp skips what is already archived.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The catalogue CAR.
    pub catalogue: PathBuf,
}

pub fn export_archive(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let mut catalogue = Catalogue::open(&args.catalogue)?;
    let mut out = std::io::stdout().lock();
    for v in catalogue.videos(None)? {
        // Exported only if its directory holds its own record: yt-dlp would skip it for good.
        catalogue.record(&v)?;
        writeln!(out, "{} {}", v.site, v.id)?;
    }
    Ok(ExitCode::SUCCESS)
}
