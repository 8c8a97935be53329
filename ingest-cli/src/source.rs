//! Reading catalogues and records from a local file or from IPFS: the flags every reading
//! command shares, and opening what the user named.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
pub use ingest_core::ipfs::local;
use ingest_core::ipfs::{Remote, Source, SourceConfig};
use ingest_core::Cid;

use crate::cli::{parse_duration, parse_size_or_zero};
use crate::json;

/// Where blocks come from when a SOURCE is a CID, `/ipfs/…`, `ipfs://…` or `/ipns/…`.
#[derive(Debug, Clone, clap::Args)]
pub struct SourceArgs {
    /// A trustless gateway (such as `https://trustless-gateway.link`), repeatable: tried in turn,
    /// the next one on an error, a timeout or a wrong block. Default: $IPFS_GATEWAY
    /// (comma-separated).
    #[arg(
        long = "gateway",
        value_name = "URL",
        env = "IPFS_GATEWAY",
        value_delimiter = ','
    )]
    pub gateways: Vec<String>,
    /// An IPFS node's Kubo RPC API to read blocks from (block/get) and resolve /ipns/ names
    /// with (name/resolve): a URL or a multiaddr. Its blocks are checked like a gateway's.
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// The block cache: verified blocks only, so a second read fetches only what changed.
    /// Default: $XDG_CACHE_HOME/ingest or ~/.cache/ingest.
    #[arg(long, value_name = "DIR", env = "INGEST_CACHE")]
    pub cache: Option<PathBuf>,
    /// The cache's bound, kept while the command runs; the least recently used blocks are
    /// dropped first. 0 keeps nothing: every block is fetched each time it is read.
    #[arg(long, value_name = "BYTES", default_value = "2GiB", value_parser = parse_size_or_zero)]
    pub cache_size: u64,
    /// Give up on a gateway that sends nothing for this long (then the next one is tried).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Rounds over every gateway after the first, when the failures may pass.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub fetch_retries: u32,
}

impl SourceArgs {
    /// The library's view of these flags.
    pub fn config(&self) -> SourceConfig {
        SourceConfig {
            gateways: self.gateways.clone(),
            api: self.api.clone(),
            cache: self.cache.clone(),
            cache_size: self.cache_size,
            timeout: self.timeout,
            retries: self.fetch_retries,
        }
    }
}

/// A catalogue (or any DAG) opened for reading, and what reading it fetched.
pub struct Opened {
    /// Its blocks.
    pub blocks: Source,
    /// Its root: the CAR's root, or the CID the content path resolves to.
    pub root: Cid,
    /// Progress on stderr while blocks are fetched (hidden when not a terminal).
    progress: Option<Fetching>,
}

impl Opened {
    /// Ends the progress display, trims the cache, and says on stderr what was fetched from
    /// where (as one JSON object with `json`), when anything came from the network.
    pub fn finish(mut self, json: bool) -> anyhow::Result<()> {
        if let Some(p) = self.progress.take() {
            p.stop();
        }
        let Some(remote) = self.blocks.remote() else {
            return Ok(());
        };
        remote.trim_cache()?;
        report(remote, json);
        Ok(())
    }
}

/// What `remote` fetched, per gateway or node, for JSON outputs.
pub fn fetched_json(remote: &Remote) -> Vec<json::FetchedFrom> {
    remote
        .stats()
        .iter()
        .map(|s| json::FetchedFrom {
            url: s.url.clone(),
            blocks: s.blocks,
            bytes: s.bytes,
            failures: s.failures,
        })
        .collect()
}

/// Says on stderr what `remote` fetched, per gateway (as one [`json::FetchReport`] line with
/// `json`).
pub fn report(remote: &Remote, json: bool) {
    let progress = remote.progress();
    let cached = progress.cached_blocks.load(Ordering::Relaxed);
    if json {
        let line = json::FetchReport {
            fetched: fetched_json(remote),
            cached_blocks: cached,
        };
        eprintln!("{}", serde_json::to_string(&line).expect("serializes"));
        return;
    }
    let stats = remote.stats();
    for s in stats.iter().filter(|s| s.blocks > 0 || s.failures > 0) {
        eprintln!(
            "ingest: {} blocks, {} bytes from {}{}",
            s.blocks,
            s.bytes,
            s.url,
            if s.failures > 0 {
                format!(" ({} failed requests)", s.failures)
            } else {
                String::new()
            }
        );
    }
    if cached > 0 {
        eprintln!("ingest: {cached} blocks from the cache");
    }
}

/// Opens `text` as a catalogue: a local CAR file, else a content path read through
/// `args`' gateways and node (the path resolved by walking verified blocks).
pub fn open_catalogue(text: &str, args: &SourceArgs, quiet: bool) -> anyhow::Result<Opened> {
    let (blocks, root) = ingest_core::ipfs::open(text, &args.config())?;
    let progress = blocks.remote().map(|remote| Fetching::start(remote, quiet));
    Ok(Opened {
        blocks,
        root,
        progress,
    })
}

/// `text` as a content path, resolved through `args`' gateways and node.
pub fn open_remote(text: &str, args: &SourceArgs) -> anyhow::Result<(Remote, Cid)> {
    Ok(args.config().resolve(text)?)
}

/// A spinner on stderr counting blocks and bytes fetched, on a terminal only.
pub struct Fetching {
    bar: ProgressBar,
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Fetching {
    /// Starts the display for `remote`.
    pub fn start(remote: &Remote, quiet: bool) -> Fetching {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if quiet || !std::io::stderr().is_terminal() {
            return Fetching {
                bar: ProgressBar::hidden(),
                stop,
                thread: None,
            };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            .with_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
        let progress = remote.progress();
        let (b, s) = (bar.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                b.set_message(format!(
                    "fetched {} blocks, {} (verified); {} from the cache",
                    progress.fetched_blocks.load(Ordering::Relaxed),
                    indicatif::HumanBytes(progress.fetched_bytes.load(Ordering::Relaxed)),
                    progress.cached_blocks.load(Ordering::Relaxed)
                ));
                b.tick();
                std::thread::sleep(Duration::from_millis(120));
            }
        });
        Fetching {
            bar,
            stop,
            thread: Some(thread),
        }
    }

    /// Ends the display.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.bar.finish_and_clear();
    }
}
