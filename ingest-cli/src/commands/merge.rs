//! `ingest merge`: link records into the catalogue, one deterministic tree.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use ingest_core::{
    BaseCar, BlockSink, CarError, CarReader, CarWriter, Cid, Merge, Profile, Record, DAG_CBOR,
    MAX_RECORD_LEN,
};
use serde_json::json;

use crate::cli::ProfileArgs;
use crate::output::{json_line, AtomicFile};

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
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// The merge's sink: blocks the base already copied to the output are not written twice.
struct SkipCopied<'a, W: std::io::Write> {
    base: Option<&'a BaseCar>,
    car: &'a mut CarWriter<W>,
}

impl<W: std::io::Write> BlockSink for SkipCopied<'_, W> {
    type Error = CarError;
    fn put(&mut self, cid: &Cid, block: &[u8]) -> Result<(), CarError> {
        if let Some(base) = self.base {
            if base.copied(cid) {
                return Ok(());
            }
            base.note_written(cid);
        }
        self.car.put(cid, block)
    }
}

/// Every input file: the paths given, and below each directory its `.record.cbor` and `.car`
/// files, in name order.
fn input_files(inputs: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in inputs {
        if path.is_dir() {
            let mut stack = vec![path.clone()];
            let mut found = Vec::new();
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir)
                    .with_context(|| format!("cannot read {}", dir.display()))?
                {
                    let p = entry
                        .with_context(|| format!("cannot read {}", dir.display()))?
                        .path();
                    let name = p
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    if p.is_dir() {
                        stack.push(p);
                    } else if name.ends_with(".record.cbor") || name.ends_with(".car") {
                        found.push(p);
                    }
                }
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Feeds the records of one input to the merge; an unreadable input or record is rejected with
/// its reason, never fatal.
fn read_input<S: BlockSink, Src: ingest_core::BlockSource>(
    path: &Path,
    merge: &mut Merge<'_, S, Src>,
) -> anyhow::Result<()> {
    let name = path.display();
    let is_car = path.extension().is_some_and(|e| e == "car");
    if !is_car {
        let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let result = if len > MAX_RECORD_LEN as u64 {
            Err(format!(
                "{len} bytes, over the record limit of {MAX_RECORD_LEN}"
            ))
        } else {
            std::fs::read(path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    Record::decode(&bytes)
                        .map(|r| (r, bytes))
                        .map_err(|e| e.to_string())
                })
        };
        match result {
            Ok((record, bytes)) => merge.add_encoded(&record, &bytes)?,
            Err(reason) => merge.reject(format!("{name}: {reason}")),
        }
        return Ok(());
    }
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => {
            merge.reject(format!("{name}: {e}"));
            return Ok(());
        }
    };
    let mut reader = match CarReader::new(file) {
        Ok(r) => r,
        Err(e) => {
            merge.reject(format!("{name}: {e}"));
            return Ok(());
        }
    };
    let mut found = 0;
    loop {
        match reader.next_block() {
            Ok(None) => break,
            Ok(Some((cid, block))) if cid.codec() == DAG_CBOR => match Record::decode(&block) {
                Ok(record) => {
                    found += 1;
                    merge.add_encoded(&record, &block)?;
                }
                Err(e) => merge.reject(format!("{name}: block {cid}: {e}")),
            },
            Ok(Some(_)) => {}
            Err(e) => {
                merge.reject(format!("{name}: {e} (the records before it were read)"));
                break;
            }
        }
    }
    if found == 0 {
        merge.reject(format!("{name}: no record in this CAR"));
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let profile = args.profile.resolve()?;
    if !Profile::PRESETS.iter().any(|p| p.name() == profile.name()) {
        anyhow::bail!(
            "a catalogue uses a preset profile, and {} is not one",
            profile.name()
        );
    }
    let files = input_files(&args.inputs)?;
    let mut atomic = AtomicFile::create(&args.out)?;
    let mut car = CarWriter::with_pending_root(atomic.file(), profile.cid_version())?;
    // The base is read once: its records and files go to the output now, its directories are
    // kept in memory for the merge (see `BaseCar`).
    let base = match &args.base {
        Some(path) => {
            let base = BaseCar::load(path, &mut car).with_context(|| {
                format!(
                    "cannot read the base catalogue {}; nothing was written",
                    path.display()
                )
            })?;
            let [root] = base.roots() else {
                anyhow::bail!(
                    "the base catalogue {} names {} roots, not one",
                    path.display(),
                    base.roots().len()
                );
            };
            let root = *root;
            Some((base, root))
        }
        None => None,
    };
    let copied_early = base.as_ref().map_or(0, |(b, _)| b.blocks_copied);
    let summary = {
        let mut sink = SkipCopied {
            base: base.as_ref().map(|(b, _)| b),
            car: &mut car,
        };
        let mut source = base.as_ref().map(|(b, root)| (b, *root));
        let base_ref = source.as_mut().map(|(b, root)| (b, *root));
        let mut merge = Merge::new(&profile, base_ref, &mut sink);
        for file in &files {
            read_input(file, &mut merge)?;
        }
        merge
            .finish()
            .context("the merge failed; nothing was written")?
    };
    let written = car.blocks() - copied_early;
    let (read, copied) = match &base {
        Some((b, _)) => (
            b.blocks_read(),
            copied_early + b.copy_kept(&mut car, &summary.replaced)?,
        ),
        None => (0, 0),
    };
    let root = summary.root.expect("a merge always has a root");
    car.finish_with_root(&root)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    atomic.commit()?;

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
        json_line(
            &mut out,
            &json!({
                "root": root.to_string(), "profile": profile.name(), "added": summary.added,
                "unchanged": summary.unchanged, "conflicts": conflicts, "rejected": rejected,
                "blocks_read": read, "blocks_written": written, "blocks_copied": copied,
                "out": args.out.display().to_string(),
            }),
        )?;
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
    }
    Ok(if summary.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_REJECTED)
    })
}
