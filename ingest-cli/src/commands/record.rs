//! `ingest record`: show and check per-video records.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use ingest_core::archive::{verify_files, Record, MAX_RECORD_LEN};
use ingest_core::catalogue::read_video_record;
use ingest_core::io::read_small_file;
use ingest_core::unixfs::ImportOptions;
use ingest_core::unixfs::{DAG_CBOR, RAW};
use ingest_core::HashOnly;

use crate::cli::PerfArgs;
use crate::json;
use crate::output::json_line;
use crate::source::{local, open_remote, SourceArgs};

/// Show or check a per-video record.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: RecordCommand,
}

#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Print a record as DAG-JSON.
    Show {
        /// The record: a `.record.cbor` file, or its CID (or /ipfs/ path of it or of a video's
        /// directory, or /ipns/ path) read from --gateway or --api and checked.
        record: String,
        #[command(flatten)]
        source: SourceArgs,
    },
    /// Validate a record; with --data, re-import its files and confirm every CID.
    Check {
        /// The record: a `.record.cbor` file, or its CID (or /ipfs/ path of it or of a video's
        /// directory, or /ipns/ path) read from --gateway or --api and checked.
        record: String,
        #[command(flatten)]
        source: SourceArgs,
        /// A directory holding the record's files under their names.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
        /// Print one JSON object per file checked, then one for the record.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        perf: PerfArgs,
    },
}

/// Reads and decodes a record file, naming it in every error.
pub fn read_record(path: &Path) -> anyhow::Result<(Record, Vec<u8>)> {
    let bytes = read_small_file(path, MAX_RECORD_LEN as u64)?;
    let record =
        Record::decode(&bytes).with_context(|| format!("invalid record {}", path.display()))?;
    Ok((record, bytes))
}

/// Reads a record from a file, or from IPFS: a record's CID (one DAG-CBOR block) or a
/// video's directory (its `record.cbor`), every block checked against its CID.
fn read_record_source(text: &str, source: &SourceArgs) -> anyhow::Result<Record> {
    if let Some(path) = local(text) {
        return Ok(read_record(path)?.0);
    }
    let (remote, cid) = open_remote(text, source)?;
    // A record block, a `record.cbor` file (a raw leaf), or a video's directory.
    let record = match cid.codec() {
        DAG_CBOR | RAW => {
            let bytes = remote.block(&cid)?;
            Record::decode(&bytes).with_context(|| format!("invalid record {cid}"))?
        }
        _ => {
            let mut src = &remote;
            read_video_record(&mut src, &cid)
                .with_context(|| format!("{text} is neither a record nor a video's directory"))?
                .1
        }
    };
    remote.trim_cache()?;
    Ok(record)
}

fn show(text: &str, source: &SourceArgs) -> anyhow::Result<ExitCode> {
    let record = read_record_source(text, source)?;
    let dag_json =
        serde_ipld_dagjson::to_vec(&record.to_ipld()).context("cannot render DAG-JSON")?;
    // DAG-JSON is compact; re-indent it for reading (key order kept).
    let value: serde_json::Value = serde_json::from_slice(&dag_json)?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(ExitCode::SUCCESS)
}

fn check(
    text: &str,
    source: &SourceArgs,
    data: Option<&Path>,
    json: bool,
    options: ImportOptions,
) -> anyhow::Result<ExitCode> {
    let record = read_record_source(text, source)?;
    record.profile()?;
    let cid = record.cid()?;
    let directory = record.write_directory(&mut HashOnly)?.directory;
    let mut out = std::io::stdout().lock();
    let mut bad = 0;
    if let Some(dir) = data {
        for (f, check) in verify_files(&record, dir, options)? {
            let verdict = check.describe(f);
            if !check.is_ok() {
                bad += 1;
            }
            if json {
                json_line(
                    &mut out,
                    &json::RecordFileCheck {
                        name: f.name.clone(),
                        cid: f.cid.to_string(),
                        result: verdict,
                    },
                )?;
            } else {
                use std::io::Write;
                writeln!(
                    out,
                    "{:<8} {} {}",
                    if check.is_ok() { "ok" } else { "FAILED" },
                    f.cid,
                    f.name
                )?;
                if !check.is_ok() {
                    writeln!(out, "         {verdict}")?;
                }
            }
        }
    }
    let summary = format!(
        "record {cid} ({}/{}, {} files, {}): {}",
        record.source.site,
        record.source.id,
        record.files.len(),
        record.profile,
        if bad == 0 { "valid" } else { "files differ" }
    );
    if json {
        json_line(
            &mut out,
            &json::RecordCheck {
                record: cid.to_string(),
                directory: directory.to_string(),
                site: record.source.site.clone(),
                id: record.source.id.clone(),
                files_checked: data.is_some(),
                failed: bad,
            },
        )?;
    } else {
        use std::io::Write;
        writeln!(out, "{summary}")?;
        writeln!(out, "directory {directory}")?;
    }
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        RecordCommand::Show { record, source } => show(&record, &source),
        RecordCommand::Check {
            record,
            source,
            data,
            json,
            perf,
        } => check(&record, &source, data.as_deref(), json, perf.options()),
    }
}
