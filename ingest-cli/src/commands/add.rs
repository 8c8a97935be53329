//! `ingest add`: import a file, print its CID, optionally write every block to a CAR.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use indicatif::ProgressBar;
use ingest_core::{
    BlockSink, CarWriter, FileImporter, FileSummary, HashOnly, ImportOptions, Profile,
};
use serde_json::json;

use crate::cli::{PerfArgs, ProfileArgs};
use crate::output::{json_line, AtomicFile};
use crate::progress::bytes_bar;

/// Import a file and print its CID, as `ipfs add --only-hash` would.
///
/// Prints `added <CID> <NAME>`. With --car, also writes every block of the DAG to a CARv1
/// (each block once, the root in its header), written under a temporary name and renamed into
/// place when complete.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file to import, or - for standard input.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// Also write every block to this CARv1 file; - writes it to standard output (and the
    /// result line to standard error).
    #[arg(long, value_name = "OUT")]
    pub car: Option<PathBuf>,
    /// Print one JSON object per result: name, cid, size, dag_size, blocks, profile.
    #[arg(long)]
    pub json: bool,
    /// Print only the CID, and no progress.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub perf: PerfArgs,
}

/// Where the input comes from.
enum Input {
    Stdin,
    File { file: File, len: u64 },
}

impl Input {
    fn open(path: &Path) -> anyhow::Result<Input> {
        if path.as_os_str() == "-" {
            return Ok(Input::Stdin);
        }
        let meta =
            std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            bail!("{} is a directory", path.display());
        }
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        Ok(Input::File {
            file,
            len: meta.len(),
        })
    }

    fn len(&self) -> Option<u64> {
        match self {
            Input::Stdin => None,
            Input::File { len, .. } => Some(*len),
        }
    }

    fn reader(&mut self) -> Box<dyn Read + '_> {
        match self {
            Input::Stdin => Box::new(io::stdin().lock()),
            Input::File { file, .. } => Box::new(file),
        }
    }
}

/// Imports all of `reader` into `sink`.
fn import<S: BlockSink>(
    reader: &mut dyn Read,
    name: &str,
    profile: &Profile,
    options: ImportOptions,
    bar: &ProgressBar,
    sink: S,
) -> anyhow::Result<(FileSummary, S)> {
    let mut importer = FileImporter::with_options(profile, options, sink);
    importer
        .read_from(&mut bar.wrap_read(reader))
        .with_context(|| format!("cannot import {name}"))?;
    importer
        .finish()
        .with_context(|| format!("cannot import {name}"))
}

/// Imports into a CAR written at `out`, atomically.
fn import_to_car_file(
    reader: &mut dyn Read,
    name: &str,
    profile: &Profile,
    options: ImportOptions,
    bar: &ProgressBar,
    out: &Path,
) -> anyhow::Result<FileSummary> {
    let mut atomic = AtomicFile::create(out)?;
    let car = CarWriter::with_pending_root(atomic.file(), profile.cid_version())?;
    let (summary, car) = import(reader, name, profile, options, bar, car)?;
    car.finish_with_root(&summary.root)
        .with_context(|| format!("cannot write {}", out.display()))?;
    atomic.commit()?;
    Ok(summary)
}

/// Imports into a CAR on stdout. The header needs the root first: a file is read twice (hashed,
/// then written), so no disk is used; stdin is spooled to an unnamed temporary file.
fn import_to_car_stdout(
    input: &mut Input,
    name: &str,
    profile: &Profile,
    options: ImportOptions,
    bar: &ProgressBar,
) -> anyhow::Result<FileSummary> {
    let stdout = io::stdout();
    match input {
        Input::File { file, .. } => {
            let (first, _) = import(
                &mut *file,
                name,
                profile,
                options,
                &ProgressBar::hidden(),
                HashOnly,
            )?;
            file.rewind()
                .with_context(|| format!("cannot reread {name}"))?;
            let car = CarWriter::new(stdout.lock(), &[first.root])?;
            let (summary, car) = import(&mut *file, name, profile, options, bar, car)?;
            if summary.root != first.root {
                bail!("{name} changed while it was being read: the CAR on stdout is invalid");
            }
            car.finish()?.flush()?;
            Ok(summary)
        }
        Input::Stdin => {
            let spool = tempfile::tempfile().context("cannot create a temporary file")?;
            let car = CarWriter::with_pending_root(spool, profile.cid_version())?;
            let (summary, car) = import(&mut io::stdin().lock(), name, profile, options, bar, car)?;
            let mut spool = car.finish_with_root(&summary.root)?;
            spool.rewind()?;
            let mut out = stdout.lock();
            io::copy(&mut spool, &mut out)?;
            out.flush()?;
            Ok(summary)
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let profile = args.profile.resolve()?;
    let options = args.perf.options();
    let mut input = Input::open(&args.path)?;
    let name = match &input {
        Input::Stdin => "standard input".to_owned(),
        Input::File { .. } => args.path.display().to_string(),
    };
    let bar = bytes_bar(input.len(), args.quiet);
    let car_to_stdout = args.car.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let summary = match &args.car {
        None => {
            import(
                &mut input.reader(),
                &name,
                &profile,
                options,
                &bar,
                HashOnly,
            )?
            .0
        }
        Some(_) if car_to_stdout => {
            import_to_car_stdout(&mut input, &name, &profile, options, &bar)?
        }
        Some(out) => import_to_car_file(&mut input.reader(), &name, &profile, options, &bar, out)?,
    };
    bar.finish_and_clear();

    let root = summary.root.to_string();
    // Like kubo: a file is listed under its name, standard input under its CID.
    let shown_name = match &input {
        Input::Stdin => root.clone(),
        Input::File { .. } => args
            .path
            .file_name()
            .map_or_else(|| name.clone(), |n| n.to_string_lossy().into_owned()),
    };
    let mut out: Box<dyn Write> = if car_to_stdout {
        Box::new(io::stderr().lock())
    } else {
        Box::new(io::stdout().lock())
    };
    if args.json {
        let mut line = json!({
            "name": shown_name,
            "cid": root,
            "size": summary.file_size,
            "dag_size": summary.dag_size,
            "blocks": summary.blocks,
            "profile": profile.name(),
        });
        if let Some(car) = &args.car {
            line["car"] = json!(car.display().to_string());
        }
        json_line(&mut out, &line)?;
    } else if args.quiet {
        writeln!(out, "{root}")?;
    } else {
        writeln!(out, "added {root} {shown_name}")?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
