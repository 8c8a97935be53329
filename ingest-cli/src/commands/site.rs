//! `ingest site`: the catalogue as a website, in a CAR to push beside the catalogue.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ingest_core::site::{write_site_car, SiteBase, SiteOptions, DEFAULT_TITLE, GENERATOR};

use crate::json;
use crate::output::json_line;
use crate::source::{open_catalogue, SourceArgs};

/// Build a website over a catalogue: browse, search and watch from any IPFS gateway.
///
/// Writes a CAR of one UnixFS directory: the pages (home, a site, a video, search) with their
/// script and style, which this binary carries; the catalogue linked at `catalogue/` by CID
/// (its blocks are not copied: push the catalogue, then this CAR); listing pages of each site,
/// newest first; a search index over titles, uploaders and tags, sharded so that a query
/// fetches one shard per word; and a README. Every link is relative, so the site works at
/// /ipfs/ROOT/, on a subdomain gateway and at /ipns/NAME/.
///
/// The site's root depends only on the catalogue's root, the title and the version of ingest:
/// everyone who builds the site of one catalogue gets the same CID. With --base (the site of an
/// earlier catalogue, built by this version), only new and changed records are read, and every
/// listing page the new videos do not land on is the same block as before; the result is the
/// same as a full build.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The catalogue: a CAR file, or a CID, /ipfs/CID or /ipns/NAME read from --gateway or --api.
    #[arg(value_name = "CATALOGUE")]
    pub source: String,
    /// Where to write the site's CAR.
    #[arg(long, short, value_name = "SITE.car")]
    pub out: PathBuf,
    /// The title on every page.
    #[arg(long, value_name = "TEXT", default_value = DEFAULT_TITLE)]
    pub title: String,
    /// The site of an earlier catalogue (a CAR file, or a CID, /ipfs/CID or /ipns/NAME), built
    /// by the same version: its listing pages stand in for the records of unchanged videos.
    #[arg(long, value_name = "OLD_SITE")]
    pub base: Option<String>,
    #[command(flatten)]
    pub fetch: SourceArgs,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // The base is read (on every core) while the catalogue is opened.
    let (fetch, quiet) = (&args.fetch, args.quiet);
    let (catalogue, base) = std::thread::scope(|scope| {
        let base = args.base.as_deref().map(|text| {
            scope.spawn(move || -> anyhow::Result<_> {
                let mut opened = open_catalogue(text, fetch, quiet)?;
                let base = SiteBase::read(&mut opened.blocks, &opened.root)
                    .with_context(|| format!("cannot use {text} as the base"))?;
                Ok((opened, base))
            })
        });
        let catalogue = open_catalogue(&args.source, fetch, quiet);
        let base = base.map(|thread| {
            thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        });
        (catalogue, base)
    });
    let mut catalogue = catalogue?;
    let (base_source, base) = match base.transpose()? {
        Some((opened, base)) => (Some(opened), Some(base)),
        None => (None, None),
    };
    let options = SiteOptions {
        title: Some(args.title.clone()),
    };
    let report = write_site_car(
        &args.out,
        &mut catalogue.blocks,
        &catalogue.root,
        base,
        &options,
    );
    if let Some(opened) = base_source {
        opened.finish(args.json)?;
    }
    catalogue.finish(args.json)?;
    let report = report?;

    let mut out = std::io::stdout().lock();
    if args.json {
        json_line(
            &mut out,
            &json::Site {
                root: report.root.to_string(),
                catalogue: report.catalogue.to_string(),
                out: args.out.display().to_string(),
                generator: GENERATOR,
                videos: report.videos,
                sites: report.sites.clone(),
                pages: report.pages,
                pages_reused: report.pages_reused,
                records_read: report.records_read,
                search_shards: report.search_shards,
                conflicts: report.conflicts,
                blocks: report.blocks,
                bytes: report.bytes,
            },
        )?;
    } else {
        writeln!(out, "root       {}  {}", report.root, args.out.display())?;
        writeln!(
            out,
            "catalogue  {}  (linked at catalogue/, not in the CAR)",
            report.catalogue
        )?;
        let sites: Vec<String> = report
            .sites
            .iter()
            .map(|(name, n)| format!("{name} {n}"))
            .collect();
        writeln!(out, "videos     {}  ({})", report.videos, sites.join(", "))?;
        writeln!(
            out,
            "pages      {}  ({} the same as the base's)",
            report.pages, report.pages_reused
        )?;
        writeln!(out, "records    {} read", report.records_read)?;
        writeln!(out, "search     {} shards", report.search_shards)?;
        writeln!(out, "conflicts  {}", report.conflicts)?;
        writeln!(
            out,
            "blocks     {}  ({} bytes)",
            report.blocks, report.bytes
        )?;
        if !args.quiet {
            eprintln!(
                "ingest: push the catalogue and {}, then open /ipfs/{}/ on a gateway",
                args.out.display(),
                report.root
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
