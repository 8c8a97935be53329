//! `ingest car`: write an archived video's CAR from its files and its record.

use std::path::PathBuf;
use std::process::ExitCode;

use ingest_core::archive::derive_car;

use crate::cli::PerfArgs;
use crate::commands::record::read_record;
use crate::json;
use crate::output::json_line;

/// Write the CAR of an archived video: its files, its record and its per-video directory.
///
/// The blocks of an archive are a pure function of its files and its record, so an archive
/// needs no CAR until one is wanted (to import into a node, to hand over). Each file is
/// re-imported from --data under the record's profile and checked against the record's CID
/// before the CAR gets its name; the CAR is rooted at the per-video directory.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The record (`<site>-<id>.record.cbor`).
    pub record: PathBuf,
    /// The directory holding the record's files under their names (default: the record's).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Where to write the CAR.
    #[arg(long, short, value_name = "FILE.car")]
    pub out: PathBuf,
    /// Print one JSON object: record, directory, out.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub perf: PerfArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let (record, _) = read_record(&args.record)?;
    let data = match &args.data {
        Some(dir) => dir.clone(),
        None => match args.record.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        },
    };
    let cids = derive_car(&record, &data, args.perf.options(), &args.out)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        json_line(
            &mut out,
            &json::Car {
                record: cids.record.to_string(),
                directory: cids.directory.to_string(),
                out: args.out.display().to_string(),
            },
        )?;
    } else {
        use std::io::Write;
        writeln!(out, "directory  {}  {}", cids.directory, args.out.display())?;
    }
    Ok(ExitCode::SUCCESS)
}
