//! `ingest add`: import a file, print its CID, optionally write every block to a CAR.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use indicatif::ProgressBar;
use ingest_core::{
    import_path, Added, BlockSink, CarWriter, EntryKind, FileImporter, FileSummary, HashOnly,
    ImportOptions, Profile, WalkObserver, WalkOptions,
};
use serde_json::json;

use crate::cli::{PerfArgs, ProfileArgs};
use crate::output::{json_line, AtomicFile};
use crate::progress::bytes_bar;

/// Import a file or a directory tree and print its CID, as `ipfs add --only-hash` would.
///
/// Prints `added <CID> <NAME>` for every file and directory, the root last. With --car, also
/// writes every block of the DAG to a CARv1 (each block once, the root in its header), written
/// under a temporary name and renamed into place when complete.
///
/// Directories (-r) follow kubo's rules: hidden entries skipped unless --hidden, empty
/// directories kept, symlinks stored as symlinks, mode and mtime not stored, large directories
/// HAMT-sharded as the profile says.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The file or directory to import, or - for standard input.
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Import a directory and everything below it.
    #[arg(long, short)]
    pub recursive: bool,
    /// Wrap the result in a directory holding it under its name.
    #[arg(long = "wrap-with-directory", short = 'w')]
    pub wrap: bool,
    /// Include files and directories whose names start with '.'.
    #[arg(long, short = 'H')]
    pub hidden: bool,
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// Also write every block to this CARv1 file; - writes it to standard output (and the
    /// result line to standard error).
    #[arg(long, value_name = "OUT")]
    pub car: Option<PathBuf>,
    /// Print one JSON object per result: name, cid, kind, size, dag_size, profile.
    #[arg(long)]
    pub json: bool,
    /// Print only CIDs, and no progress.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print only the root's CID, and no progress.
    #[arg(long, short = 'Q')]
    pub quieter: bool,
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

/// How results are printed: `added <CID> <NAME>` lines, CIDs alone (-q), the root's CID alone
/// (-Q), or JSON lines; on stdout, or on stderr when the CAR goes to stdout.
struct Report<'a> {
    args: &'a Args,
    profile: &'a Profile,
    to_stderr: bool,
}

impl Report<'_> {
    fn print(&self, entry: &Added, is_root: bool) -> io::Result<()> {
        if self.args.quieter && !is_root {
            return Ok(());
        }
        let mut out: Box<dyn Write> = if self.to_stderr {
            Box::new(io::stderr().lock())
        } else {
            Box::new(io::stdout().lock())
        };
        let cid = entry.cid.to_string();
        let name = entry.path.display().to_string();
        if self.args.json {
            json_line(
                &mut out,
                &json!({
                    "name": name,
                    "cid": cid,
                    "kind": entry.kind.as_str(),
                    "size": entry.size,
                    "dag_size": entry.dag_size,
                    "profile": self.profile.name(),
                }),
            )?;
        } else if self.args.quiet || self.args.quieter {
            writeln!(out, "{cid}")?;
        } else if name.is_empty() {
            writeln!(out, "added {cid}")?;
        } else {
            writeln!(out, "added {cid} {name}")?;
        }
        out.flush()
    }
}

/// Prints entries as a tree import completes them; the root is only known to be the root when
/// the import ends, so each entry is printed when the next one arrives.
struct TreeObserver<'a> {
    report: Option<&'a Report<'a>>,
    bar: &'a ProgressBar,
    pending: Option<Added>,
    error: Option<io::Error>,
}

impl TreeObserver<'_> {
    fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        match (self.report, self.pending.take()) {
            (Some(report), Some(root)) => report.print(&root, true),
            _ => Ok(()),
        }
    }
}

impl WalkObserver for TreeObserver<'_> {
    fn added(&mut self, entry: &Added) {
        if let (Some(report), Some(previous)) = (self.report, self.pending.take()) {
            if self.error.is_none() {
                self.error = report.print(&previous, false).err();
            }
        }
        self.pending = Some(entry.clone());
    }
    fn read(&mut self, bytes: u64) {
        self.bar.inc(bytes);
    }
}

/// Imports a tree (or wraps a file) into `sink`, printing entries through `report`.
fn import_tree<S: BlockSink>(
    args: &Args,
    profile: &Profile,
    report: Option<&Report>,
    bar: &ProgressBar,
    sink: &mut S,
) -> anyhow::Result<Added> {
    let options = WalkOptions {
        hidden: args.hidden,
        wrap: args.wrap,
        import: args.perf.options(),
    };
    let mut observer = TreeObserver {
        report,
        bar,
        pending: None,
        error: None,
    };
    let root = import_path(&args.path, profile, &options, sink, &mut observer)?;
    bar.finish_and_clear();
    observer.finish()?;
    Ok(root)
}

fn run_tree(args: &Args, profile: &Profile) -> anyhow::Result<()> {
    let bar = bytes_bar(None, args.quiet || args.quieter);
    let car_to_stdout = args.car.as_deref().is_some_and(|p| p.as_os_str() == "-");
    let report = Report {
        args,
        profile,
        to_stderr: car_to_stdout,
    };
    match &args.car {
        None => {
            import_tree(args, profile, Some(&report), &bar, &mut HashOnly)?;
        }
        Some(_) if car_to_stdout => {
            // The header needs the root first: hash the tree, then write it.
            let first = import_tree(args, profile, None, &ProgressBar::hidden(), &mut HashOnly)?;
            let mut car = CarWriter::new(io::stdout().lock(), &[first.cid])?;
            let root = import_tree(args, profile, Some(&report), &bar, &mut car)?;
            if root.cid != first.cid {
                bail!(
                    "{} changed while it was being read: the CAR on stdout is invalid",
                    args.path.display()
                );
            }
            car.finish()?.flush()?;
        }
        Some(out) => {
            let mut atomic = AtomicFile::create(out)?;
            let mut car = CarWriter::with_pending_root(atomic.file(), profile.cid_version())?;
            let root = import_tree(args, profile, Some(&report), &bar, &mut car)?;
            car.finish_with_root(&root.cid)
                .with_context(|| format!("cannot write {}", out.display()))?;
            atomic.commit()?;
        }
    }
    Ok(())
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let profile = args.profile.resolve()?;
    let is_stdin = args.path.as_os_str() == "-";
    if is_stdin && (args.recursive || args.wrap) {
        bail!("-r and -w need a path, not standard input");
    }
    if !is_stdin {
        let meta = std::fs::metadata(&args.path)
            .with_context(|| format!("cannot read {}", args.path.display()))?;
        if meta.is_dir() && !args.recursive {
            bail!(
                "{} is a directory: use -r to import it",
                args.path.display()
            );
        }
        if meta.is_dir() || args.wrap {
            run_tree(&args, &profile)?;
            return Ok(ExitCode::SUCCESS);
        }
    }
    let options = args.perf.options();
    let mut input = Input::open(&args.path)?;
    let name = match &input {
        Input::Stdin => "standard input".to_owned(),
        Input::File { .. } => args.path.display().to_string(),
    };
    let bar = bytes_bar(input.len(), args.quiet || args.quieter);
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
    // Like kubo: a file is listed under its name, standard input under its CID.
    let shown = match &input {
        Input::Stdin => PathBuf::from(summary.root.to_string()),
        Input::File { .. } => PathBuf::from(args.path.file_name().unwrap_or(args.path.as_os_str())),
    };
    let entry = Added {
        path: shown,
        cid: summary.root,
        kind: EntryKind::File,
        size: summary.file_size,
        dag_size: summary.dag_size,
    };
    Report {
        args: &args,
        profile: &profile,
        to_stderr: car_to_stdout,
    }
    .print(&entry, true)?;
    Ok(ExitCode::SUCCESS)
}
