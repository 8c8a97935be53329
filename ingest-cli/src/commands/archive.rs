//! `ingest archive`: import what yt-dlp downloaded (or plain files) and write the video's record
//! and a CAR of everything.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use ingest_core::archive::{archive_files, ArchiveInput, InfoJson, Meta, Role, Source};

use crate::cli::{PerfArgs, ProfileArgs};
use crate::output::{archived_json, json_line, print_archived};
use crate::progress::bytes_bar;

/// Archive one video: import its files, write its record (and, with --car, a CAR).
///
/// Give the `.info.json` yt-dlp wrote (--write-info-json): every file beside it that belongs to
/// the video (media, thumbnail, subtitles, description) is imported. Or give media files with
/// --site and --id. Writes `<site>-<id>.record.cbor` into --out, and prints the record,
/// directory and video CIDs. The blocks are a pure function of the files and the record, so no
/// CAR is needed to push the archive (`ingest push`); --car also writes `<site>-<id>.car` (every
/// block: the files, the per-video directory and the record), and `ingest car` writes one later.
///
/// Only the bytes the site serves give the same CID to every volunteer: download one pre-muxed
/// format, or separate formats kept as separate files, with `--fixup never` and no remux or
/// embed post-processors. A warning names any sign that a file was merged or post-processed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A yt-dlp `.info.json`, or (with --site and --id) the media files themselves.
    #[arg(value_name = "INFO_JSON|FILE", required = true)]
    pub inputs: Vec<PathBuf>,
    /// The site (yt-dlp's extractor key, lower-case) of files given without an info.json.
    #[arg(long, requires = "id")]
    pub site: Option<String>,
    /// The video's id on the site, for files given without an info.json.
    #[arg(long, requires = "site")]
    pub id: Option<String>,
    /// The video's title, for files given without an info.json.
    #[arg(long, requires = "site")]
    pub title: Option<String>,
    /// The video's page URL, for files given without an info.json.
    #[arg(long, requires = "site")]
    pub url: Option<String>,
    /// Where to write the record (and the CAR).
    #[arg(long, short, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
    /// Also write `<site>-<id>.car`: every block of the archive.
    #[arg(long, overrides_with = "no_car")]
    pub car: bool,
    /// Write no CAR (the default).
    #[arg(long, overrides_with = "car")]
    pub no_car: bool,
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// Print one JSON object: site, id, profile, record, directory, video, files, paths,
    /// warnings.
    #[arg(long)]
    pub json: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub perf: PerfArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let profile = args.profile.resolve_for_records()?;
    let (source, meta, inputs, warnings) = match (&args.site, &args.id) {
        (Some(site), Some(id)) => {
            let mut inputs = Vec::new();
            for path in &args.inputs {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .with_context(|| format!("{} has no UTF-8 file name", path.display()))?
                    .to_owned();
                inputs.push(ArchiveInput {
                    path: path.clone(),
                    role: Role::guess(&name),
                    name,
                    format_id: None,
                });
            }
            let source = Source {
                site: site.clone(),
                id: id.clone(),
                url: args.url.clone(),
            };
            let meta = Meta {
                title: args.title.clone(),
                ..Meta::default()
            };
            (source, meta, inputs, Vec::new())
        }
        _ => {
            let [info_path] = args.inputs.as_slice() else {
                bail!("give one .info.json, or media files with --site and --id");
            };
            if !info_path.to_string_lossy().ends_with(".info.json") {
                bail!(
                    "{} is not a yt-dlp .info.json: give --site and --id to archive plain files",
                    info_path.display()
                );
            }
            let info = InfoJson::read(info_path)?;
            let found = info.files()?;
            if !found
                .iter()
                .any(|f| matches!(f.role, Role::Video | Role::Audio))
            {
                bail!(
                    "no video or audio file beside {}: download it first (yt-dlp writes the info.json before the media)",
                    info_path.display()
                );
            }
            let warnings = info.warnings(&found);
            let inputs = found;
            (info.source()?, info.meta(), inputs, warnings)
        }
    };
    source.validate().context("cannot archive this video")?;
    for w in &warnings {
        eprintln!("ingest: warning: {w}");
    }
    let total = inputs
        .iter()
        .filter_map(|i: &ArchiveInput| std::fs::metadata(&i.path).ok())
        .map(|m| m.len())
        .sum();
    let bar = bytes_bar(Some(total), args.quiet);
    let archived = archive_files(
        &profile,
        args.perf.options(),
        source,
        meta,
        &inputs,
        &args.out,
        args.car,
        &mut |n| bar.inc(n),
    )?;
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    if args.json {
        json_line(&mut out, &archived_json(&archived, &warnings))?;
    } else if !args.quiet {
        print_archived(&mut out, &archived)?;
    }
    Ok(ExitCode::SUCCESS)
}
