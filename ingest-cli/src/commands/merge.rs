//! `ingest merge`: link records into the catalogue, one deterministic tree.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ingest_core::catalogue::{merge_into, MergeBase, MergeInput};
use ingest_core::io::find_files;
use ingest_core::ipfs::{fetch_records, RecordList};
use ingest_core::Profile;

use crate::cli::ProfileArgs;
use crate::json;
use crate::output::json_line;
use crate::source::{local, open_remote, SourceArgs};

/// The exit status when the merge succeeded but some inputs were rejected.
pub const EXIT_REJECTED: u8 = 3;

/// Merge records into a catalogue: root → `<site>/` → `<id>/` (each video's directory).
///
/// Reads records from `.record.cbor` files, directories of them (and of `.car` files), and CARs
/// containing them, and writes a CAR of the catalogue's own blocks (directories and records, not
/// the video data). The root depends only on the set of records. With --base, starts from an
/// existing catalogue CAR and rewrites only what changes. Two different records for one video
/// are both kept: the smallest record CID at `<site>/<id>`, the others at
/// `_conflicts/<site>/<id>/<record CID>/`.
///
/// With --records, records are fetched by CID from --gateway or --api (one block each,
/// checked against its CID): a volunteer hands over one line, the record CID. With a --base
/// read from IPFS (a CID, /ipfs/…, /ipns/…), only the directories on the changed paths are
/// fetched, and --out holds only the blocks the merge wrote (new records, their directories, the
/// rewritten paths): a delta to push to a node that has the base.
///
/// Exit status: 0 when every record was merged, 3 when some were rejected or could not be
/// fetched (each is listed; the rest are merged), 1 when the merge failed and nothing was
/// written.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Records: `.record.cbor` files, CARs containing records, or directories of them.
    #[arg(value_name = "RECORD_OR_CAR")]
    pub inputs: Vec<PathBuf>,
    /// An existing catalogue to start from: a CAR file, or a CID, /ipfs/CID or /ipns/NAME.
    #[arg(long, value_name = "CATALOGUE")]
    pub base: Option<String>,
    /// A file of record CIDs, one a line (blank lines and # comments skipped; `-`: standard
    /// input), fetched and merged like record files. Repeatable.
    #[arg(long, value_name = "CIDS.txt")]
    pub records: Vec<PathBuf>,
    /// Where to write the catalogue CAR.
    #[arg(long, short, value_name = "CAT.car")]
    pub out: PathBuf,
    /// Also write a CAR of only the blocks the base did not have (the new records, their
    /// directories, the rewritten paths), rooted at the new root: what to push after an
    /// incremental merge.
    #[arg(long, value_name = "DELTA.car")]
    pub delta: Option<PathBuf>,
    #[command(flatten)]
    pub profile: ProfileArgs,
    #[command(flatten)]
    pub source: SourceArgs,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

/// The lists of record CIDs `files` names, opened (a regular file, or `-` for standard input).
fn record_lists(files: &[PathBuf]) -> anyhow::Result<Vec<RecordList>> {
    files
        .iter()
        .map(|file| {
            let name = file.display().to_string();
            let input: Box<dyn std::io::BufRead> = if name == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                let f = std::fs::File::open(file).with_context(|| format!("cannot read {name}"))?;
                let kind = f.metadata().with_context(|| format!("cannot read {name}"))?;
                if !kind.is_file() {
                    anyhow::bail!("cannot read {name}: not a regular file (give a file, or - for standard input)");
                }
                Box::new(std::io::BufReader::new(f))
            };
            Ok(RecordList { name, input })
        })
        .collect()
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let profile = args.profile.resolve()?;
    if !Profile::PRESETS.iter().any(|p| p.name() == profile.name()) {
        anyhow::bail!(
            "a catalogue uses a preset profile, and {} is not one",
            profile.name()
        );
    }
    // Below directories: `.record.cbor` and `.car` files, links not followed, each once.
    let files = find_files(&args.inputs, |name| {
        name.ends_with(".record.cbor") || name.ends_with(".car")
    })?;
    if files.is_empty() && args.records.is_empty() {
        anyhow::bail!(
            "nothing to merge: give .record.cbor files, CARs of records, directories holding them, or --records CIDS.txt"
        );
    }
    let local_base = args.base.as_deref().and_then(local);
    let remote_base = match (&args.base, local_base) {
        (Some(text), None) => Some(open_remote(text, &args.source)?),
        _ => None,
    };
    let remote = match remote_base {
        Some((remote, root)) => Some((remote, Some(root))),
        None if !args.records.is_empty() => Some((args.source.config().remote()?, None)),
        None => None,
    };
    let progress = remote
        .as_ref()
        .map(|(r, _)| crate::source::Fetching::start(r, args.quiet));
    let mut records: Box<dyn Iterator<Item = MergeInput>> = match &remote {
        Some((r, _)) => Box::new(fetch_records(record_lists(&args.records)?, r)),
        None => Box::new(std::iter::empty()),
    };
    let mut inputs = files
        .iter()
        .cloned()
        .map(MergeInput::Path)
        .chain(&mut records);
    let mut base_source = remote.as_ref().map(|(r, _)| r);
    let base = match (local_base, &remote, base_source.as_mut()) {
        (Some(path), _, _) => MergeBase::Car(path),
        (None, Some((_, Some(root))), Some(source)) => MergeBase::Blocks(source, *root),
        _ => MergeBase::None,
    };
    let report = merge_into(
        &profile,
        base,
        &mut inputs,
        &args.out,
        args.delta.as_deref(),
    );
    if let Some(p) = progress {
        p.stop();
    }
    let report = report?;
    let (summary, root) = (&report.summary, report.root);
    let (read, written, copied) = (
        summary.blocks_read,
        report.blocks_written,
        report.blocks_copied,
    );

    let mut out = std::io::stdout().lock();
    if args.json {
        let conflicts = summary
            .conflicts
            .iter()
            .map(|c| json::MergeConflict {
                site: c.site.clone(),
                id: c.id.clone(),
                winner: c.winner.to_string(),
                others: c.others.iter().map(|o| o.to_string()).collect(),
            })
            .collect();
        // The delta's keys only when one was written.
        let (delta, delta_blocks) = match (&args.delta, report.delta_blocks) {
            (Some(path), Some(blocks)) => (Some(path.display().to_string()), Some(blocks)),
            _ => (None, None),
        };
        let line = json::Merge {
            root: root.to_string(),
            profile: profile.name().to_owned(),
            added: summary.added,
            unchanged: summary.unchanged,
            conflicts,
            rejected: summary.rejected.iter().map(|r| r.reason.clone()).collect(),
            blocks_read: read,
            blocks_written: written,
            blocks_copied: copied,
            out: args.out.display().to_string(),
            delta,
            delta_blocks,
            fetched: remote
                .as_ref()
                .map(|(remote, _)| crate::source::fetched_json(remote)),
        };
        json_line(&mut out, &line)?;
    } else {
        use std::io::Write;
        writeln!(out, "root       {root}  {}", args.out.display())?;
        writeln!(out, "added      {}", summary.added)?;
        writeln!(out, "unchanged  {}", summary.unchanged)?;
        writeln!(out, "conflicts  {}", summary.conflicts.len())?;
        for c in &summary.conflicts {
            writeln!(
                out,
                "  {}/{}: {} at {}/{}, {} more under _conflicts",
                c.site,
                c.id,
                c.winner,
                c.site,
                c.id,
                c.others.len()
            )?;
        }
        writeln!(out, "rejected   {}", summary.rejected.len())?;
        for r in &summary.rejected {
            writeln!(out, "  {}", r.reason)?;
        }
        writeln!(
            out,
            "blocks     {read} read from the base, {written} written, {copied} copied unchanged"
        )?;
        if let (Some(path), Some(blocks)) = (&args.delta, report.delta_blocks) {
            writeln!(out, "delta      {blocks} blocks  {}", path.display())?;
        }
    }
    drop(out);
    if let Some((remote, _)) = &remote {
        remote.trim_cache()?;
        if !args.json && !args.quiet {
            crate::source::report(remote, false);
        }
    }
    Ok(if summary.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REJECTED)
    })
}
