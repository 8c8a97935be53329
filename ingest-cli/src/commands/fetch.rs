//! `ingest fetch`: download videos over HTTP(S) and archive them in the same pass.

use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Write};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{parse_duration, parse_size, PerfArgs, ProfileArgs};
use crate::json;
use crate::output::{archive_output, json_line, print_archived};
use anyhow::{bail, Context};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use ingest_core::archive::{Meta, Source};
use ingest_core::fetch::{
    archive_many, url_file_stem, ArchiveTo, BatchObserver, Download, Downloaded, Event,
    FetchOptions, Fetcher,
};

/// Download videos over HTTP(S) and archive them in the same pass.
///
/// Each body is written to disk and imported as it arrives, so its CID is known the moment the
/// download ends; the outputs are those of `ingest archive`: the file itself (`<ID>.<EXT>`),
/// `<SITE>-<ID>.record.cbor` (and with --car `<SITE>-<ID>.car`), all in --out. The bytes are exactly those the
/// server sends (never decoded, remuxed or re-encoded), so the video's CID equals `ingest add`
/// of the file, on every volunteer's machine.
///
/// Downloads survive flaky networks and failing sites: timeouts, retries with exponential
/// backoff and jitter (honouring Retry-After) on connection errors, 408, 429 and 5xx, and
/// resumption with Range/If-Range, within a run and across runs: a killed download leaves
/// `<SITE>-<ID>.part` (and its `.part.json` state), which the next run re-reads and continues.
/// A server that ignores Range, a length or ETag/Last-Modified that changed, or a body shorter
/// than announced restarts the download from zero; bytes are never spliced. A video whose record
/// is already in --out is skipped.
///
/// Exit status: 0 when every download was archived (or already was), 1 when one failed.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The URL of the video file: the bytes the site serves, not its web page.
    #[arg(value_name = "URL", required_unless_present = "input")]
    pub url: Option<String>,
    /// Download every URL of LIST (`-` for standard input): one a line, `URL` or
    /// `URL SITE ID`; blank lines and lines starting with `#` are skipped.
    #[arg(long, short, value_name = "LIST", conflicts_with_all = ["url", "id", "name", "title", "page_url"])]
    pub input: Option<PathBuf>,
    /// The site (yt-dlp's extractor key, lower-case), for URLs that do not name one.
    #[arg(long)]
    pub site: Option<String>,
    /// The video's id on the site (default: the URL's file name without its extension).
    #[arg(long)]
    pub id: Option<String>,
    /// The video's title.
    #[arg(long)]
    pub title: Option<String>,
    /// The video's page URL, kept in the record (the download URL is not: it often carries
    /// tokens that differ between volunteers).
    #[arg(long, value_name = "URL")]
    pub page_url: Option<String>,
    /// The file's name in the record and in --out (default: `<ID>.<EXT>`, the extension taken
    /// from the URL, else from the Content-Type).
    #[arg(long)]
    pub name: Option<String>,
    /// Where to write the files, records and CARs.
    #[arg(long, short, default_value = ".", value_name = "DIR")]
    pub out: PathBuf,
    /// Also write `<SITE>-<ID>.car`, every block of the archive (by default only the file and
    /// its record are written: half the disk space and half the writing; `ingest push` derives
    /// the blocks from the file, and `ingest car` writes a CAR later).
    #[arg(long, overrides_with = "no_car")]
    pub car: bool,
    /// Write no CAR (the default).
    #[arg(long, overrides_with = "car")]
    pub no_car: bool,
    /// Downloads at once.
    #[arg(long, short, default_value = "4", value_name = "N")]
    pub jobs: NonZeroUsize,
    /// Requests at once to one host, across all downloads.
    #[arg(long, default_value = "2", value_name = "N")]
    pub per_host: NonZeroUsize,
    /// Bytes a second from one host, shared by its downloads (500k, 5M …).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub rate: Option<u64>,
    /// The largest body accepted (a download over it fails).
    #[arg(long, default_value = "64G", value_name = "SIZE", value_parser = parse_size)]
    pub max_size: u64,
    /// Failed attempts in a row before giving up on a download (an attempt that brought bytes
    /// resets the count).
    #[arg(long, default_value = "10", value_name = "N")]
    pub retries: u32,
    /// The first wait before a retry; it doubles after each failure in a row (with jitter).
    #[arg(long, default_value = "1s", value_name = "DURATION", value_parser = parse_duration)]
    pub retry_wait: Duration,
    /// The longest wait between retries.
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_duration)]
    pub max_retry_wait: Duration,
    /// Give up connecting after this long.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = parse_duration)]
    pub connect_timeout: Duration,
    /// Retry a connection that brought no byte for this long.
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    /// Redirects followed in one request.
    #[arg(long, default_value = "10", value_name = "N")]
    pub max_redirects: usize,
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// Print one JSON object a download as it ends: `status` (archived, exists or failed),
    /// the URL and HTTP details, and for an archived video what `ingest archive --json` prints.
    #[arg(long)]
    pub json: bool,
    /// Print nothing but errors.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub perf: PerfArgs,
}

/// How results are printed.
#[derive(Clone, Copy)]
struct Print {
    json: bool,
    quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let profile = args.profile.resolve_for_records()?;
    let items = match &args.input {
        Some(list) => read_list(list, args.site.as_deref())?,
        None => {
            let url = args.url.as_deref().context("give a URL or --input LIST")?;
            let mut single = item(
                url,
                args.site.as_deref(),
                args.id.as_deref(),
                args.page_url.clone(),
            )?;
            single.name = args.name.clone();
            single.meta.title = args.title.clone();
            vec![single]
        }
    };
    let fetcher = Fetcher::new(FetchOptions {
        connect_timeout: args.connect_timeout,
        idle_timeout: args.idle_timeout,
        retries: args.retries,
        backoff: args.retry_wait,
        max_backoff: args.max_retry_wait.max(args.retry_wait),
        max_size: args.max_size,
        max_redirects: args.max_redirects,
        per_host: args.per_host.get(),
        rate: args.rate,
        ..FetchOptions::default()
    })?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    let to = ArchiveTo {
        out: &args.out,
        profile: &profile,
        import: args.perf.options(),
        car: args.car,
    };
    let print = Print {
        json: args.json,
        quiet: args.quiet,
    };
    let bars = Bars::new(args.quiet, items.len());
    let mut failed = 0usize;
    archive_many(&fetcher, items, &to, args.jobs, &bars, |_, item, result| {
        let result = result.map_err(anyhow::Error::from);
        bars.suspend(|| report(print, &item, &result))?;
        failed += usize::from(result.is_err());
        anyhow::Ok(())
    })?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Each download's progress on its bar: a bar and the video's `<site>-<id>`.
impl BatchObserver for Bars {
    type Item = (ProgressBar, String);

    fn started(&self, _: usize, item: &Download) -> (ProgressBar, String) {
        (self.start(item), item.source.stem())
    }

    fn event(&self, (bar, stem): &(ProgressBar, String), event: Event<'_>) {
        match event {
            Event::Length(Some(length)) => bar.set_length(length),
            Event::Length(None) => {}
            Event::Data(n) => bar.inc(n),
            Event::Restart { reason } => {
                bar.set_position(0);
                self.note(bar, format!("{stem}: starting again: {reason}"));
            }
            Event::Retry {
                failures,
                wait,
                reason,
            } => self.note(
                bar,
                format!(
                    "{stem}: {reason}; retry {failures} in {:.1} s",
                    wait.as_secs_f64()
                ),
            ),
        }
    }

    fn finished(&self, (bar, _): (ProgressBar, String)) {
        self.finish(bar);
    }
}

/// Prints how one download ended.
fn report(
    print: Print,
    item: &Download,
    result: &anyhow::Result<Downloaded>,
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    let other = |status, record_path, error| json::FetchOther {
        url: &item.url,
        site: &item.source.site,
        id: &item.source.id,
        status,
        record_path,
        error,
    };
    match result {
        Ok(Downloaded::Archived {
            archived,
            fetched,
            path,
        }) => {
            if print.json {
                let line = json::FetchArchived {
                    archive: archive_output(archived, &[]),
                    url: &item.url,
                    status: "archived",
                    path: path.display().to_string(),
                    http: json::FetchHttp {
                        url: &fetched.url,
                        final_url: &fetched.final_url,
                        content_type: &fetched.content_type,
                        length: fetched.length,
                        etag: &fetched.etag,
                        last_modified: &fetched.last_modified,
                        resumed_from: fetched.resumed_from,
                        requests: fetched.requests,
                        restarts: fetched.restarts,
                    },
                };
                json_line(&mut out, &line)?;
            } else if !print.quiet {
                writeln!(
                    out,
                    "fetched    {} ({} bytes{})",
                    fetched.final_url,
                    fetched.length,
                    match fetched.resumed_from {
                        0 => String::new(),
                        n => format!(", resumed at {n}"),
                    }
                )?;
                print_archived(&mut out, archived)?;
            }
        }
        Ok(Downloaded::Exists(record)) => {
            if print.json {
                let line = other("exists", Some(record.display().to_string()), None);
                json_line(&mut out, &line)?;
            } else if !print.quiet {
                writeln!(out, "exists     {}", record.display())?;
            }
        }
        Err(e) => {
            eprintln!(
                "ingest: {}-{}: {}",
                item.source.site,
                item.source.id,
                crate::output::terminal_safe(&format!("{e:#}"), 2000)
            );
            if print.json {
                json_line(&mut out, &other("failed", None, Some(format!("{e:#}"))))?;
            }
        }
    }
    Ok(())
}

/// The downloads a list asks for (`URL` or `URL SITE ID` a line; `-` is stdin), each checked
/// before any starts; `site` is the site of lines that name none.
fn read_list(list: &Path, site: Option<&str>) -> anyhow::Result<Vec<Download>> {
    let reader: Box<dyn BufRead> = if list.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(BufReader::new(
            File::open(list).with_context(|| format!("cannot open {}", list.display()))?,
        ))
    };
    let mut items = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let at = || format!("{} line {}", list.display(), i + 1);
        let line = line.with_context(at)?;
        let fields: Vec<&str> = line.split_whitespace().collect();
        let parsed = match fields.as_slice() {
            [] => continue,
            [first, ..] if first.starts_with('#') => continue,
            [url] => item(url, site, None, None),
            [url, site, id] => item(url, Some(site), Some(id), None),
            _ => Err(anyhow::anyhow!(
                "expected `URL` or `URL SITE ID`, found {} fields",
                fields.len()
            )),
        };
        items.push(parsed.with_context(at)?);
    }
    if items.is_empty() {
        bail!("{} lists no URL", list.display());
    }
    // One video twice would be two downloads into one partial file.
    let mut seen = std::collections::HashMap::new();
    for (i, item) in items.iter().enumerate() {
        let video = (&item.source.site, &item.source.id);
        if let Some(first) = seen.insert(video, i) {
            bail!(
                "{} lists {}/{} twice (downloads {} and {}): give each video once",
                list.display(),
                item.source.site,
                item.source.id,
                first + 1,
                i + 1
            );
        }
    }
    Ok(items)
}

fn item(
    url: &str,
    site: Option<&str>,
    id: Option<&str>,
    page_url: Option<String>,
) -> anyhow::Result<Download> {
    let site = site.with_context(|| format!("{url}: give the site (--site, or `URL SITE ID`)"))?;
    let id = match id {
        Some(id) => id.to_owned(),
        None => url_file_stem(url)
            .with_context(|| format!("{url}: no id in the URL's file name: give --id"))?,
    };
    let source = Source {
        site: site.to_owned(),
        id,
        url: page_url,
    };
    source
        .validate()
        .with_context(|| format!("{url}: cannot archive as {}/{}", source.site, source.id))?;
    Ok(Download {
        url: url.to_owned(),
        source,
        name: None,
        meta: Meta::default(),
    })
}

/// A bar for each active download and one for the whole run, on a terminal only.
struct Bars {
    multi: Option<MultiProgress>,
    total: ProgressBar,
    quiet: bool,
}

impl Bars {
    fn new(quiet: bool, items: usize) -> Bars {
        if quiet || !std::io::stderr().is_terminal() {
            return Bars {
                multi: None,
                total: ProgressBar::hidden(),
                quiet,
            };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let total = multi.add(
            ProgressBar::new(items as u64).with_style(
                ProgressStyle::with_template("{pos}/{len} videos {wide_bar} {elapsed_precise}")
                    .expect("valid template"),
            ),
        );
        Bars {
            multi: Some(multi),
            total,
            quiet,
        }
    }

    /// A line about a download (a retry, a restart): above the bars on a terminal, else on
    /// stderr unless quiet.
    fn note(&self, bar: &ProgressBar, line: String) {
        if self.multi.is_some() {
            bar.println(line);
        } else if !self.quiet {
            eprintln!("ingest: {}", crate::output::terminal_safe(&line, 2000));
        }
    }

    fn start(&self, item: &Download) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        let bar = multi.insert_before(
            &self.total,
            ProgressBar::no_length().with_style(
                ProgressStyle::with_template(
                    "{prefix:24!} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
                )
                .expect("valid template"),
            ),
        );
        bar.set_prefix(format!("{}-{}", item.source.site, item.source.id));
        bar
    }

    fn finish(&self, bar: ProgressBar) {
        bar.finish_and_clear();
        if let Some(multi) = &self.multi {
            multi.remove(&bar);
        }
        self.total.inc(1);
    }

    fn suspend<T>(&self, f: impl FnOnce() -> T) -> T {
        match &self.multi {
            Some(multi) => multi.suspend(f),
            None => f(),
        }
    }
}
