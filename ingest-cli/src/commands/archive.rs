//! `ingest archive`: import what yt-dlp downloaded (or plain files) and write the video's record
//! and a CAR of everything.

use std::io::Seek;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use ingest_core::{
    writer::FileWriter, CarWriter, CidVersion, FileImporter, FoundFile, InfoJson, Meta, Profile,
    Record, RecordFile, Role, Source, VideoDirectory,
};
use serde_json::json;

use crate::cli::{PerfArgs, ProfileArgs};
use crate::output::{json_line, AtomicFile};
use crate::progress::bytes_bar;

/// Archive one video: import its files, write its record and a CAR.
///
/// Give the `.info.json` yt-dlp wrote (--write-info-json): every file beside it that belongs to
/// the video (media, thumbnail, subtitles, description) is imported. Or give media files with
/// --site and --id. Writes `<site>-<id>.record.cbor` and `<site>-<id>.car` (every block: the
/// files, the per-video directory and the record) into --out, and prints the record, directory
/// and video CIDs.
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
    /// Where to write the record and the CAR.
    #[arg(long, short, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
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

/// A file to import into a record.
pub struct Input {
    pub path: PathBuf,
    pub name: String,
    pub role: Role,
    pub format_id: Option<String>,
}

impl From<FoundFile> for Input {
    fn from(f: FoundFile) -> Self {
        Input {
            path: f.path,
            name: f.name,
            role: f.role,
            format_id: f.format_id,
        }
    }
}

/// What an archive run wrote.
pub struct Archived {
    pub record: Record,
    pub cids: VideoDirectory,
    pub record_path: PathBuf,
    /// `None` when no CAR was asked for.
    pub car_path: Option<PathBuf>,
}

impl Archived {
    /// The CID of the video: the first video file, else the first audio file, else the first.
    pub fn video(&self) -> &RecordFile {
        self.record
            .file(Role::Video)
            .or_else(|| self.record.file(Role::Audio))
            .unwrap_or(&self.record.files[0])
    }

    /// The result as a JSON object: site, id, profile, record, directory, video, files,
    /// paths, warnings.
    pub fn to_json(&self, warnings: &[String]) -> serde_json::Value {
        let files: Vec<_> = self
            .record
            .files
            .iter()
            .map(|f| {
                json!({"name": f.name, "role": f.role.as_str(), "cid": f.cid.to_string(),
                           "size": f.size, "dag_size": f.dag_size})
            })
            .collect();
        json!({
            "site": self.record.source.site,
            "id": self.record.source.id,
            "profile": self.record.profile,
            "record": self.cids.record.to_string(),
            "directory": self.cids.directory.to_string(),
            "video": self.video().cid.to_string(),
            "files": files,
            "record_path": self.record_path.display().to_string(),
            "car_path": self.car_path.as_ref().map(|p| p.display().to_string()),
            "warnings": warnings,
        })
    }

    /// Prints the result for a human or as one JSON line.
    pub fn print(&self, json: bool, quiet: bool, warnings: &[String]) -> anyhow::Result<()> {
        let mut out = std::io::stdout().lock();
        if json {
            json_line(&mut out, &self.to_json(warnings))?;
        } else if !quiet {
            use std::io::Write;
            writeln!(
                out,
                "record     {}  {}",
                self.cids.record,
                self.record_path.display()
            )?;
            match &self.car_path {
                Some(car) => {
                    writeln!(out, "directory  {}  {}", self.cids.directory, car.display())?
                }
                None => writeln!(out, "directory  {}", self.cids.directory)?,
            }
            writeln!(
                out,
                "video      {}  {}",
                self.video().cid,
                self.video().name
            )?;
        }
        Ok(())
    }
}

/// The outputs of one video while they are written: the CAR under a temporary name (its
/// [`CarWriter`] is handed out separately, so an importer can own it), then the record.
pub struct PendingArchive {
    car: Option<(AtomicFile, PathBuf)>,
    record_path: PathBuf,
}

/// The CAR of a [`PendingArchive`], if it writes one.
pub type ArchiveCar = Option<CarWriter<FileWriter>>;

impl PendingArchive {
    /// Starts the outputs of `source` in `out` (created if needed): `<site>-<id>.car`, rooted
    /// at a pending CID of `version`, unless `with_car` is false, and `<site>-<id>.record.cbor`.
    pub fn create(
        out: &Path,
        source: &Source,
        version: CidVersion,
        with_car: bool,
    ) -> anyhow::Result<(PendingArchive, ArchiveCar)> {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        let stem = format!("{}-{}", source.site, source.id);
        let record_path = out.join(format!("{stem}.record.cbor"));
        if !with_car {
            let pending = PendingArchive {
                car: None,
                record_path,
            };
            return Ok((pending, None));
        }
        let car_path = out.join(format!("{stem}.car"));
        let mut atomic = AtomicFile::create(&car_path)?;
        // The CAR is written on a thread of its own: see `ingest_core::writer`.
        let file = atomic
            .file()
            .try_clone()
            .and_then(|f| FileWriter::direct(f, atomic.path()))
            .with_context(|| format!("cannot write {}", car_path.display()))?;
        let car = CarWriter::with_pending_root(file, version)?;
        let pending = PendingArchive {
            car: Some((atomic, car_path)),
            record_path,
        };
        Ok((pending, Some(car)))
    }

    /// Empties the CAR to start again (a download that restarted from zero).
    pub fn restart_car(car: ArchiveCar, version: CidVersion) -> anyhow::Result<ArchiveCar> {
        let Some(car) = car else { return Ok(None) };
        let mut writer = car.finish()?;
        let file = writer.drain()?;
        file.set_len(0)?;
        file.rewind()?;
        Ok(Some(CarWriter::with_pending_root(writer, version)?))
    }

    /// Builds the record of `files` and its directory into `car`, then moves the CAR and the
    /// record into place. `place_files` runs once the record is known to be valid, before
    /// anything is moved (`fetch` moves the downloaded file there).
    pub fn finish(
        self,
        profile: &Profile,
        source: Source,
        meta: Meta,
        files: Vec<RecordFile>,
        mut car: ArchiveCar,
        place_files: impl FnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<Archived> {
        let record = Record {
            profile: profile.name().to_owned(),
            source,
            files,
            meta,
        };
        let bytes = record.encode().context("the record would be invalid")?;
        place_files()?;
        let cids = record
            .write_directory(&mut car)
            .context("cannot build the per-video directory")?;
        let car_path = match (self.car, car) {
            (Some((atomic, car_path)), Some(car)) => {
                car.finish_with_root(&cids.directory)
                    .map_err(std::io::Error::other)
                    .and_then(FileWriter::into_inner)
                    .with_context(|| format!("cannot write {}", car_path.display()))?;
                atomic.commit()?;
                Some(car_path)
            }
            _ => None,
        };
        let mut record_file = AtomicFile::create(&self.record_path)?;
        std::io::Write::write_all(record_file.file(), &bytes)
            .with_context(|| format!("cannot write {}", self.record_path.display()))?;
        record_file.commit()?;
        Ok(Archived {
            record,
            cids,
            record_path: self.record_path,
            car_path,
        })
    }
}

/// Imports `inputs` into a CAR, builds the record and its directory, and writes both outputs
/// atomically into `out`.
pub fn write_archive(
    profile: &Profile,
    perf: &PerfArgs,
    source: Source,
    meta: Meta,
    inputs: &[Input],
    out: &Path,
    quiet: bool,
) -> anyhow::Result<Archived> {
    let (pending, mut car) = PendingArchive::create(out, &source, profile.cid_version(), true)?;
    let total = inputs
        .iter()
        .filter_map(|i| std::fs::metadata(&i.path).ok())
        .map(|m| m.len())
        .sum();
    let bar = bytes_bar(Some(total), quiet);
    let mut files = Vec::with_capacity(inputs.len());
    for input in inputs {
        let file = std::fs::File::open(&input.path)
            .with_context(|| format!("cannot open {}", input.path.display()))?;
        let mut importer = FileImporter::with_options(profile, perf.options(), &mut car);
        importer
            .read_from(&mut bar.wrap_read(file))
            .with_context(|| format!("cannot import {}", input.path.display()))?;
        let (summary, _) = importer
            .finish()
            .with_context(|| format!("cannot import {}", input.path.display()))?;
        files.push(RecordFile {
            role: input.role,
            name: input.name.clone(),
            cid: summary.root,
            size: summary.file_size,
            dag_size: summary.dag_size,
            format_id: input.format_id.clone(),
        });
    }
    bar.finish_and_clear();
    pending.finish(profile, source, meta, files, car, || Ok(()))
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
                inputs.push(Input {
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
            let inputs = found.into_iter().map(Input::from).collect();
            (info.source()?, info.meta(), inputs, warnings)
        }
    };
    source.validate().context("cannot archive this video")?;
    for w in &warnings {
        eprintln!("ingest: warning: {w}");
    }
    let archived = write_archive(
        &profile, &args.perf, source, meta, &inputs, &args.out, args.quiet,
    )?;
    archived.print(args.json, args.quiet, &warnings)?;
    Ok(ExitCode::SUCCESS)
}
