//! `ingest merge`: link records into the catalogue, one deterministic tree.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ingest_core::catalogue::{merge_into, MergeBase, MergeInput};
use ingest_core::io::find_files;
use ingest_core::ipfs::{ContentPath, Remote};
use ingest_core::Cid;
use ingest_core::Profile;
use serde_json::json;

use crate::cli::ProfileArgs;
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
    /// A file of record CIDs, one a line (blank lines and # comments skipped), fetched and
    /// merged like record files. Repeatable.
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

/// Records named by CID in `files`, fetched from `remote` a batch at a time (many requests at
/// once), each one a merge input: its bytes, or why it could not be had.
fn fetched_records<'a>(
    files: &'a [PathBuf],
    remote: &'a Remote,
) -> anyhow::Result<impl Iterator<Item = MergeInput> + 'a> {
    let mut lines = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let what = format!("{}:{}: {line}", file.display(), n + 1);
            let cid = match ContentPath::parse(line) {
                Some(Ok(ContentPath::Ipfs { cid, path })) if path.is_empty() => Ok(cid),
                _ => Err("not a record CID".to_owned()),
            };
            lines.push((what, cid));
        }
    }
    const BATCH: usize = 256;
    let batches: Vec<Vec<(String, Result<Cid, String>)>> =
        lines.chunks(BATCH).map(<[_]>::to_vec).collect();
    Ok(batches.into_iter().flat_map(move |batch| {
        let cids: Vec<Cid> = batch.iter().filter_map(|(_, c)| c.clone().ok()).collect();
        // Failures are found again, one by one, below.
        let _ = remote.fetch_many(&cids);
        batch.into_iter().map(move |(what, cid)| {
            let fetched = cid.and_then(|cid| {
                remote
                    .block(&cid)
                    .map(|bytes| (cid, bytes))
                    .map_err(|e| format!("{:#}", anyhow::Error::from(e)))
            });
            match fetched {
                Ok((cid, bytes)) => MergeInput::Record { cid, bytes },
                Err(reason) => MergeInput::Failed { what, reason },
            }
        })
    }))
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
        Some((r, _)) => Box::new(fetched_records(&args.records, r)?),
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
        if let Some((remote, _)) = &remote {
            line["fetched"] = crate::source::fetched_json(remote);
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
