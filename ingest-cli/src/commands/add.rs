//! `ingest add`: import a file, print its CID, optionally write every block to a CAR.

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use indicatif::ProgressBar;
use ingest_core::car::{CarError, CarWriter};
use ingest_core::io::{AtomicFile, FileStamp};
use ingest_core::unixfs::{
    import_path, Added, BlockSink, EntryKind, FileImporter, FileSummary, ImportOptions, Profile,
    WalkObserver, WalkOptions,
};
use ingest_core::Cid;

use crate::cli::{PerfArgs, ProfileArgs};
use crate::json;
use crate::output::json_line;
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
    File {
        file: File,
        len: u64,
        stamp: FileStamp,
    },
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
        let stamp =
            FileStamp::of(&file).with_context(|| format!("cannot read {}", path.display()))?;
        Ok(Input::File {
            file,
            len: meta.len(),
            stamp,
        })
    }

    fn len(&self) -> Option<u64> {
        match self {
            Input::Stdin => None,
            Input::File { len, .. } => Some(*len),
        }
    }

    /// Back to the start, for a second pass (files only: stdin is spooled instead).
    fn rewind(&mut self) -> io::Result<()> {
        match self {
            Input::Stdin => Err(io::Error::other("standard input cannot be read twice")),
            Input::File { file, .. } => file.rewind(),
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

/// Where `add` sends the blocks, chosen once from `--car`: the one place that dispatches.
enum CarOut<'a> {
    /// No CAR: hash only.
    None,
    /// A CAR file, written atomically.
    File(&'a Path),
    /// A CAR on stdout, whose header needs the root first: the input is imported twice (hashed,
    /// then written), so no disk is used.
    Stdout,
    /// A CAR on stdout of an input that cannot be read twice (stdin): spooled to an unnamed
    /// temporary file, then copied out.
    StdoutSpooled,
}

/// The sink of one pass of an import.
enum AddSink {
    Hash,
    File(CarWriter<File>),
    Stdout(CarWriter<io::StdoutLock<'static>>),
}

impl BlockSink for AddSink {
    type Error = CarError;
    fn put(&mut self, cid: &Cid, block: &[u8]) -> Result<(), CarError> {
        match self {
            AddSink::Hash => Ok(()),
            AddSink::File(car) => car.put(cid, block),
            AddSink::Stdout(car) => car.put(cid, block),
        }
    }
}

/// Which pass of an import `import` is asked for: a first one only to learn the root (show
/// nothing), or the one that counts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    RootOnly,
    Final,
}

impl CarOut<'_> {
    /// Runs `import` into this output (twice for [`CarOut::Stdout`]) and finishes the CAR.
    /// `import` returns its result and the root. `what` names the input in errors.
    fn run<T>(
        self,
        profile: &Profile,
        what: &str,
        mut import: impl FnMut(&mut AddSink, Pass) -> anyhow::Result<(T, Cid)>,
    ) -> anyhow::Result<T> {
        match self {
            CarOut::None => Ok(import(&mut AddSink::Hash, Pass::Final)?.0),
            CarOut::File(out) => {
                let mut atomic = AtomicFile::create(out)?;
                let file = atomic.file().try_clone()?;
                let car = CarWriter::with_pending_root(file, profile.cid_version())?;
                let mut sink = AddSink::File(car);
                let (result, root) = import(&mut sink, Pass::Final)?;
                let AddSink::File(car) = sink else {
                    unreachable!("the sink stays a file")
                };
                car.finish_with_root(&root)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                atomic.commit()?;
                Ok(result)
            }
            CarOut::Stdout => {
                let (_, first) = import(&mut AddSink::Hash, Pass::RootOnly)?;
                let mut sink = AddSink::Stdout(CarWriter::new(io::stdout().lock(), &[first])?);
                let (result, root) = import(&mut sink, Pass::Final)?;
                if root != first {
                    bail!("{what} changed while it was being read: the CAR on stdout is invalid");
                }
                let AddSink::Stdout(car) = sink else {
                    unreachable!("the sink stays stdout")
                };
                car.finish()?.flush()?;
                Ok(result)
            }
            CarOut::StdoutSpooled => {
                let mut spool = tempfile::tempfile().context("cannot create a temporary file")?;
                let car = CarWriter::with_pending_root(spool.try_clone()?, profile.cid_version())?;
                let mut sink = AddSink::File(car);
                let (result, root) = import(&mut sink, Pass::Final)?;
                let AddSink::File(car) = sink else {
                    unreachable!("the sink stays a file")
                };
                car.finish_with_root(&root)?;
                spool.rewind()?;
                let mut out = io::stdout().lock();
                io::copy(&mut spool, &mut out)?;
                out.flush()?;
                Ok(result)
            }
        }
    }
}

/// Which lines `add` prints.
#[derive(Clone, Copy)]
struct Print {
    json: bool,
    quiet: bool,
    quieter: bool,
}

/// How results are printed: `added <CID> <NAME>` lines, CIDs alone (-q), the root's CID alone
/// (-Q), or JSON lines; on stdout, or on stderr when the CAR goes to stdout.
struct Report<'a> {
    print: Print,
    profile: &'a Profile,
    to_stderr: bool,
}

impl Report<'_> {
    fn print(&self, entry: &Added, is_root: bool) -> io::Result<()> {
        if self.print.quieter && !is_root {
            return Ok(());
        }
        let mut out: Box<dyn Write> = if self.to_stderr {
            Box::new(io::stderr().lock())
        } else {
            Box::new(io::stdout().lock())
        };
        let cid = entry.cid.to_string();
        let name = entry.path.display().to_string();
        if self.print.json {
            json_line(
                &mut out,
                &json::Add {
                    name,
                    cid,
                    kind: entry.kind.as_str(),
                    size: entry.size,
                    dag_size: entry.dag_size,
                    profile: self.profile.name().to_owned(),
                },
            )?;
        } else if self.print.quiet || self.print.quieter {
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
    path: &Path,
    walk: &WalkOptions,
    profile: &Profile,
    report: Option<&Report>,
    bar: &ProgressBar,
    sink: &mut S,
) -> anyhow::Result<Added> {
    let mut observer = TreeObserver {
        report,
        bar,
        pending: None,
        error: None,
    };
    let root = import_path(path, profile, walk, sink, &mut observer)?;
    bar.finish_and_clear();
    observer.finish()?;
    Ok(root)
}

fn run_tree(
    path: &Path,
    walk: &WalkOptions,
    profile: &Profile,
    print: Print,
    car: CarOut,
) -> anyhow::Result<()> {
    let bar = bytes_bar(None, print.quiet || print.quieter);
    let report = Report {
        print,
        profile,
        to_stderr: matches!(car, CarOut::Stdout),
    };
    let what = path.display().to_string();
    car.run(profile, &what, |sink, pass| {
        let root = match pass {
            Pass::RootOnly => import_tree(path, walk, profile, None, &ProgressBar::hidden(), sink)?,
            Pass::Final => import_tree(path, walk, profile, Some(&report), &bar, sink)?,
        };
        Ok(((), root.cid))
    })
}

/// The CAR output `--car` asks for; `once` when the input cannot be read twice.
fn car_out(args: &Args, once: bool) -> CarOut<'_> {
    match args.car.as_deref() {
        None => CarOut::None,
        Some(p) if p.as_os_str() == "-" && once => CarOut::StdoutSpooled,
        Some(p) if p.as_os_str() == "-" => CarOut::Stdout,
        Some(p) => CarOut::File(p),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let profile = args.profile.resolve()?;
    let print = Print {
        json: args.json,
        quiet: args.quiet,
        quieter: args.quieter,
    };
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
            let walk = WalkOptions {
                hidden: args.hidden,
                wrap: args.wrap,
                import: args.perf.options(),
            };
            run_tree(&args.path, &walk, &profile, print, car_out(&args, false))?;
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
    let car = car_out(&args, matches!(input, Input::Stdin));
    let car_to_stdout = matches!(car, CarOut::Stdout | CarOut::StdoutSpooled);
    let summary = car.run(&profile, &name, |sink, pass| {
        let (summary, _) = match pass {
            Pass::RootOnly => {
                let hidden = ProgressBar::hidden();
                import(&mut input.reader(), &name, &profile, options, &hidden, sink)?
            }
            Pass::Final => import(&mut input.reader(), &name, &profile, options, &bar, sink)?,
        };
        if pass == Pass::RootOnly {
            input
                .rewind()
                .with_context(|| format!("cannot reread {name}"))?;
        }
        Ok((summary.clone(), summary.root))
    })?;
    if let Input::File { file, stamp, .. } = &input {
        stamp.check(file, &args.path, summary.file_size)?;
    }
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
        print,
        profile: &profile,
        to_stderr: car_to_stdout,
    }
    .print(&entry, true)?;
    Ok(ExitCode::SUCCESS)
}
