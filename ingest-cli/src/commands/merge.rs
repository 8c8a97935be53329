//! `ingest merge`: link records into the catalogue, one deterministic tree.

use std::path::PathBuf;
use std::process::ExitCode;

use ingest_core::catalogue::merge_car;
use ingest_core::io::find_files;
use ingest_core::Profile;
use serde_json::json;

use crate::cli::ProfileArgs;
use crate::output::json_line;

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
/// Exit status: 0 when every record was merged, 3 when some were rejected (each is listed; the
/// rest are merged), 1 when the merge failed and nothing was written.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Records: `.record.cbor` files, CARs containing records, or directories of them.
    #[arg(value_name = "RECORD_OR_CAR")]
    pub inputs: Vec<PathBuf>,
    /// An existing catalogue CAR to start from.
    #[arg(long, value_name = "CAT.car")]
    pub base: Option<PathBuf>,
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
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
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
    if files.is_empty() {
        anyhow::bail!(
            "nothing to merge: give .record.cbor files, CARs of records, or directories holding them"
        );
    }
    let report = merge_car(
        &profile,
        args.base.as_deref(),
        &files,
        &args.out,
        args.delta.as_deref(),
    )?;
    let (summary, root) = (&report.summary, report.root);
    let (read, written, copied) = (
        summary.blocks_read,
        report.blocks_written,
        report.blocks_copied,
    );

    let mut out = std::io::stdout().lock();
    if args.json {
        let conflicts: Vec<_> = summary
            .conflicts
            .iter()
            .map(|c| {
                json!({"site": c.site, "id": c.id, "winner": c.winner.to_string(),
                           "others": c.others.iter().map(|o| o.to_string()).collect::<Vec<_>>()})
            })
            .collect();
        let rejected: Vec<_> = summary.rejected.iter().map(|r| json!(r.reason)).collect();
        let mut line = json!({
            "root": root.to_string(), "profile": profile.name(), "added": summary.added,
            "unchanged": summary.unchanged, "conflicts": conflicts, "rejected": rejected,
            "blocks_read": read, "blocks_written": written, "blocks_copied": copied,
            "out": args.out.display().to_string(),
        });
        if let (Some(path), Some(blocks)) = (&args.delta, report.delta_blocks) {
            line["delta"] = path.display().to_string().into();
            line["delta_blocks"] = blocks.into();
        }
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
    Ok(if summary.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REJECTED)
    })
}
