//! `ingest volunteer`: one command that works through a volunteer's share, from what is left
//! to pinned and published.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ingest_core::catalogue::todo::for_each_wanted;
use ingest_core::ipfs::{PushOptions, SourceConfig};
use ingest_core::volunteer::{
    download_profile, volunteer, DownloadProfile, Layout, Targets, VolunteerEvent,
    VolunteerOptions, VolunteerSummary, WantedList, YtDlp, DOWNLOAD_PROFILES,
};

use crate::cli::{parse_duration, parse_size_or_zero, PerfArgs, ProfileArgs};
use crate::commands::catalogue::parse_shard;
use crate::commands::push::TargetArgs;
use crate::json;
use crate::output::json_line;

/// Work through a share of the wanted videos: download each with yt-dlp, archive it, push it
/// to the node (and a pinning service), and publish the outbox under an IPNS key.
///
/// What is left is what the catalogue lacks (read as `todo` reads it, again every --refresh),
/// only this volunteer's share with --shard, in an order shuffled by a fixed seed. Downloads
/// and pushes run apart: a node that is down never stops downloads. A video that fails is tried
/// again after 60 s, doubling, and parked after --attempts (see DIR/parked.tsv;
/// --retry-failed tries the parked again). Everything is kept in --out: the records, the
/// downloads, the outbox catalogue and a journal, so a restart (even after a kill) never
/// downloads or pushes a finished video again and resumes partial downloads.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The wanted videos, one a line: `SITE ID [URL]` (what `yt-dlp --flat-playlist --print
    /// "%(ie_key)s %(id)s %(webpage_url)s"` prints), or `ID` alone where yt-dlp finds a video
    /// from its id.
    #[arg(long, value_name = "FILE")]
    pub wanted: PathBuf,
    /// The published catalogue: a CAR, a CID, /ipfs/… or /ipns/… (read from --gateway or
    /// --api). Without it every wanted video is left.
    #[arg(long, value_name = "SOURCE")]
    pub catalogue: Option<String>,
    /// Only share I of N (1-based), e.g. 2/5: each of N volunteers takes one.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// Where the records, downloads, outbox and journal are kept.
    #[arg(long, value_name = "DIR", default_value = "ingest-volunteer")]
    pub out: PathBuf,
    /// The IPNS key (a name on the node, made if missing) the outbox is published under.
    /// Without it (or --key-file) no outbox is published.
    #[arg(long, value_name = "NAME", conflicts_with = "key_file")]
    pub key: Option<String>,
    /// An IPNS key ingest keeps in this file (Ed25519, made if missing, mode 0600), for a
    /// volunteer without a node: the outbox's record is signed here and put to --router.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// With --key-file: a Delegated Routing V1 server to put the outbox's record to
    /// (repeatable).
    #[arg(long = "router", value_name = "URL", requires = "key_file")]
    pub routers: Vec<String>,
    /// Downloads at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 2)]
    pub jobs: usize,
    /// The download profile (see `ingest profiles`).
    #[arg(long, value_name = "NAME", default_value = "as-served-v1", value_parser = parse_download_profile)]
    pub download_profile: &'static DownloadProfile,
    /// The yt-dlp to run (default: yt-dlp on PATH).
    #[arg(long, value_name = "PATH")]
    pub yt_dlp: Option<PathBuf>,
    /// Attempts at one video before it is parked.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub attempts: u32,
    /// The wait after a first failure, doubled after each one.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub backoff: Duration,
    /// The longest wait between attempts.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub max_backoff: Duration,
    /// No download starts while the disk holding --out has less free (0: no reserve).
    #[arg(long, value_name = "BYTES", default_value = "10GiB", value_parser = parse_size_or_zero)]
    pub disk_reserve: u64,
    /// Stop a yt-dlp that downloads nothing for this long, and try its video again later.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub stall: Duration,
    /// Read the catalogue again this often, dropping what others archived meanwhile.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub refresh: Duration,
    /// Publish the outbox at most this often while videos keep coming (and once at the end).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub publish_every: Duration,
    /// Keep running when nothing is left, reading the catalogue and --wanted every --refresh.
    #[arg(long)]
    pub watch: bool,
    /// Try the parked videos again.
    #[arg(long)]
    pub retry_failed: bool,
    /// Delete a video's downloaded files once the node pins it (the record stays).
    #[arg(long)]
    pub prune: bool,
    #[command(flatten)]
    pub target: TargetArgs,
    /// A trustless gateway to read the catalogue from (repeatable; default: $IPFS_GATEWAY,
    /// comma-separated); the node of --api is read from too.
    #[arg(
        long = "gateway",
        value_name = "URL",
        env = "IPFS_GATEWAY",
        value_delimiter = ','
    )]
    pub gateways: Vec<String>,
    /// The block cache for reading the catalogue (default: $XDG_CACHE_HOME/ingest).
    #[arg(long, value_name = "DIR", env = "INGEST_CACHE")]
    pub cache: Option<PathBuf>,
    #[command(flatten)]
    pub profile: ProfileArgs,
    /// One JSON object per event, then a summary.
    #[arg(long)]
    pub json: bool,
    /// No progress line.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub perf: PerfArgs,
}

fn parse_download_profile(name: &str) -> Result<&'static DownloadProfile, String> {
    download_profile(name).ok_or_else(|| {
        let names: Vec<&str> = DOWNLOAD_PROFILES.iter().map(|p| p.name).collect();
        format!("no download profile {name:?}: one of {}", names.join(", "))
    })
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // The list first: a bad line is named before anything runs (the worker reads it again,
    // keeping only its share).
    let name = args.wanted.display().to_string();
    let file = std::fs::File::open(&args.wanted).with_context(|| format!("cannot read {name}"))?;
    for_each_wanted(std::io::BufReader::new(file), &name, drop)?;
    let yt_dlp = YtDlp::find(args.yt_dlp.as_deref())?;
    let node = args.target.node()?;
    let service = args.target.service()?;
    if node.is_none() && service.is_none() {
        anyhow::bail!("nowhere to push: give --api (a node) or --pin-service");
    }
    if args.key.is_some() && node.is_none() {
        anyhow::bail!(
            "--key publishes the outbox with the node's key: give --api (a pinning service alone cannot publish a name)"
        );
    }
    let options = VolunteerOptions {
        catalogue: args.catalogue.clone(),
        source: SourceConfig {
            gateways: args.gateways.clone(),
            api: args.target.api.clone(),
            cache: args.cache.clone(),
            ..SourceConfig::default()
        },
        wanted: WantedList::File(args.wanted.clone()),
        shard: args.shard,
        layout: Layout::new(&args.out),
        profile: args.profile.resolve_for_records()?,
        import: args.perf.options(),
        download: args.download_profile,
        jobs: args.jobs.max(1),
        attempts: args.attempts.max(1),
        backoff: args.backoff,
        max_backoff: args.max_backoff.max(args.backoff),
        disk_reserve: args.disk_reserve,
        stall: args.stall,
        refresh: args.refresh,
        publish_every: args.publish_every,
        watch: args.watch,
        retry_failed: args.retry_failed,
        prune: args.prune,
        outbox: crate::commands::outbox::outbox_key(
            args.key.as_deref(),
            args.key_file.as_deref(),
            &args.routers,
        )?,
        push: PushOptions {
            jobs: 1,
            import: args.perf.options(),
            wait: !args.target.no_wait,
            wait_limit: args.target.pin_wait,
            connect_delegates: args.target.connect_delegates,
            ..PushOptions::default()
        },
    };
    let display = Display::new(args.json, args.quiet);
    let targets = Targets {
        node: node.as_ref(),
        service: service.as_ref(),
    };
    let stop = AtomicBool::new(false);
    let summary = volunteer(&options, targets, &yt_dlp, &|e| display.event(e), &stop)?;
    display.finish(&summary)?;
    Ok(if summary.parked > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// The progress line (on a terminal), a line per video otherwise, or JSON.
struct Display {
    json: bool,
    quiet: bool,
    bar: ProgressBar,
    state: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    left: usize,
    archived: u64,
    pushed: u64,
    failed: u64,
    parked: u64,
    bytes: u64,
    started: Option<Instant>,
}

impl Display {
    fn new(json: bool, quiet: bool) -> Display {
        let bar = if json || quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
                .with_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid"))
        };
        bar.enable_steady_tick(Duration::from_millis(500));
        Display {
            json,
            quiet,
            bar,
            state: Mutex::new(Counts {
                started: Some(Instant::now()),
                ..Counts::default()
            }),
        }
    }

    fn line(&self, text: String) {
        if self.json || self.quiet {
            return;
        }
        self.bar
            .suspend(|| eprintln!("ingest: {}", crate::output::terminal_safe(&text, 2000)));
    }

    fn event(&self, event: VolunteerEvent) {
        let mut c = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if self.json {
            if let Some(line) = json_event(&event) {
                let _ = json_line(&mut std::io::stdout().lock(), &line);
            }
        }
        match event {
            VolunteerEvent::Left { left, .. } => c.left = left,
            VolunteerEvent::Archived {
                site, id, bytes, ..
            } => {
                c.archived += 1;
                c.left = c.left.saturating_sub(1);
                self.line(format!("archived {site}/{id} ({bytes} bytes)"));
            }
            VolunteerEvent::Failed {
                site,
                id,
                attempt,
                reason,
                retry_in,
            } => {
                c.failed += 1;
                self.line(format!(
                    "{site}/{id}: attempt {attempt} failed: {reason}; again in {}s",
                    retry_in.as_secs()
                ));
            }
            VolunteerEvent::Parked { site, id, reason } => {
                c.parked += 1;
                c.left = c.left.saturating_sub(1);
                self.line(format!("{site}/{id}: parked: {reason}"));
            }
            VolunteerEvent::Pushed { .. } => c.pushed += 1,
            VolunteerEvent::PushFailed {
                site,
                id,
                reason,
                retry_in,
            } => self.line(format!(
                "push of {site}/{id} failed: {reason}; again in {}s",
                retry_in.as_secs()
            )),
            VolunteerEvent::Published { root, name, .. } => self.line(match name {
                Some(name) => format!("outbox /ipns/{name} -> /ipfs/{root}"),
                None => format!("outbox /ipfs/{root} (pinning service only)"),
            }),
            VolunteerEvent::PublishFailed { reason } => {
                self.line(format!("publishing the outbox failed: {reason}"))
            }
            VolunteerEvent::RefreshFailed { reason } => self.line(format!(
                "cannot read the catalogue ({reason}): the last list is kept"
            )),
            VolunteerEvent::DiskReserve { free, reserve } => self.line(format!(
                "{free} bytes free, under the reserve of {reserve}: no new download starts"
            )),
            VolunteerEvent::Progress { bytes } => c.bytes = bytes,
            _ => {}
        }
        let elapsed = c
            .started
            .map_or(1.0, |s| s.elapsed().as_secs_f64())
            .max(1.0);
        let rate = c.bytes as f64 / elapsed;
        let eta = if c.archived > 0 && c.left > 0 {
            let per_video = elapsed / c.archived as f64;
            format!(", eta {}s", (per_video * c.left as f64) as u64)
        } else {
            String::new()
        };
        self.bar.set_message(format!(
            "{} archived, {} pushed, {} failed, {} parked, {} left; {:.1} MB/s{eta}",
            c.archived,
            c.pushed,
            c.failed,
            c.parked,
            c.left,
            rate / 1e6
        ));
    }

    fn finish(&self, s: &VolunteerSummary) -> anyhow::Result<()> {
        self.bar.finish_and_clear();
        let mut out = std::io::stdout().lock();
        let name = s.outbox.as_ref().and_then(|o| o.name.clone());
        if self.json {
            json_line(
                &mut out,
                &json::Volunteer::Summary {
                    archived: s.archived,
                    pushed: s.pushed,
                    parked: s.parked,
                    parked_total: s.parked_total,
                    bytes: s.bytes,
                    left: s.left,
                    unpushed: s.unpushed,
                    outbox: s.outbox.as_ref().map(|o| o.root.to_string()),
                    ipns: name.map(|n| format!("/ipns/{n}")),
                    stopped: s.stopped,
                },
            )?;
            return Ok(());
        }
        writeln!(
            out,
            "archived {}, pushed {}, parked {} ({} in all), left {}, not yet pushed {}",
            s.archived, s.pushed, s.parked, s.parked_total, s.left, s.unpushed
        )?;
        if let Some(outbox) = &s.outbox {
            match &outbox.name {
                Some(name) => writeln!(out, "outbox   /ipns/{name} -> /ipfs/{}", outbox.root)?,
                None => writeln!(out, "outbox   /ipfs/{}", outbox.root)?,
            }
        }
        Ok(())
    }
}

/// The JSON line of an event (none for progress: the summary says the bytes).
fn json_event(event: &VolunteerEvent) -> Option<json::Volunteer> {
    Some(match event.clone() {
        VolunteerEvent::Left {
            left,
            archived,
            parked,
        } => json::Volunteer::Left {
            left,
            archived,
            parked,
        },
        VolunteerEvent::RefreshFailed { reason } => json::Volunteer::RefreshFailed { reason },
        VolunteerEvent::Downloading { site, id, attempt } => {
            json::Volunteer::Downloading { site, id, attempt }
        }
        VolunteerEvent::Archived {
            site,
            id,
            record,
            bytes,
        } => json::Volunteer::Archived {
            site,
            id,
            record: record.to_string(),
            bytes,
        },
        VolunteerEvent::Failed {
            site,
            id,
            attempt,
            reason,
            retry_in,
        } => json::Volunteer::Failed {
            site,
            id,
            attempt,
            reason,
            retry_in: retry_in.as_secs(),
        },
        VolunteerEvent::Parked { site, id, reason } => json::Volunteer::Parked { site, id, reason },
        VolunteerEvent::Pushed { site, id, record } => json::Volunteer::Pushed {
            site,
            id,
            record: record.to_string(),
        },
        VolunteerEvent::PushFailed {
            site,
            id,
            reason,
            retry_in,
        } => json::Volunteer::PushFailed {
            site,
            id,
            reason,
            retry_in: retry_in.as_secs(),
        },
        VolunteerEvent::Published { root, name, added } => json::Volunteer::Published {
            root: root.to_string(),
            ipns: name.as_ref().map(|n| format!("/ipns/{n}")),
            name,
            added,
        },
        VolunteerEvent::PublishFailed { reason } => json::Volunteer::PublishFailed { reason },
        VolunteerEvent::DiskReserve { free, reserve } => {
            json::Volunteer::DiskReserve { free, reserve }
        }
        _ => return None,
    })
}
