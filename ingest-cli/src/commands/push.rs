//! `ingest push`: archives and CARs to an IPFS node (Kubo RPC API) and a pinning service;
//! `ingest publish`: a catalogue pushed, then named with IPNS.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::json;
use anyhow::Context;
use ingest_core::ipfs::{
    find_api, find_inputs, publish, push, Auth, KuboRpc, PinningOptions, PinningService,
    PublishOptions, PushEvent, PushOptions, PushStatus, Pushed, RpcOptions, Token,
};

use crate::cli::{parse_duration, PerfArgs};
use crate::output::json_line;
use crate::progress::bytes_and_inputs_bar;

/// Where to push: a node, a pinning service, or both.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// The node's Kubo RPC API: a URL or a multiaddr (default: $IPFS_API, else the multiaddr in
    /// $IPFS_PATH/api or ~/.ipfs/api, else http://127.0.0.1:5001).
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// Credentials for the RPC API, as kubo's API.Authorizations: basic:USER:PASSWORD or
    /// bearer:TOKEN. Prefer $INGEST_API_AUTH or --api-auth-file: every local user can read a
    /// command line.
    #[arg(
        long,
        value_name = "SPEC",
        env = "INGEST_API_AUTH",
        hide_env_values = true
    )]
    pub api_auth: Option<String>,
    /// A file holding the RPC API's credentials (its first line).
    #[arg(long, value_name = "FILE", conflicts_with = "api_auth")]
    pub api_auth_file: Option<PathBuf>,
    /// A remote pinning service (IPFS Pinning Service API endpoint, such as
    /// `https://api.example/psa`): asked to pin each root. Alone, only the service is asked; with
    /// --api too, the node is pushed to first and its addresses are the pin's origins.
    #[arg(long, value_name = "URL")]
    pub pin_service: Option<String>,
    /// The pinning service's access token. Prefer $INGEST_PIN_TOKEN or --pin-token-file: every
    /// local user can read a command line.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "INGEST_PIN_TOKEN",
        hide_env_values = true
    )]
    pub pin_token: Option<String>,
    /// A file holding the pinning service's access token (its first line).
    #[arg(long, value_name = "FILE", conflicts_with = "pin_token")]
    pub pin_token_file: Option<PathBuf>,
    /// Return once the service queued a pin, without waiting for `pinned`.
    #[arg(long)]
    pub no_wait: bool,
    /// Wait at most this long for the service to pin each root (it stays queued there: a later
    /// push finds it); the other inputs go on meanwhile.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub pin_wait: Duration,
    /// Have the node connect to the addresses the pinning service names for its own nodes
    /// (`delegates`), so they find the blocks at once. Off by default: it dials addresses the
    /// service chose.
    #[arg(long, requires = "pin_service")]
    pub connect_delegates: bool,
    /// Failed attempts in a row before a call gives up (connection errors, 5xx, 429).
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub retries: u32,
    /// Give up connecting to the node or the service after this long.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub connect_timeout: Duration,
}

/// A secret from its file (the first line, at most 64 KiB), or from the flag or its variable;
/// a secret given on the command line itself gets a warning.
fn secret(
    value: Option<&str>,
    file: Option<&Path>,
    flag: &str,
    variable: &str,
) -> anyhow::Result<Option<String>> {
    if let Some(file) = file {
        let bytes = ingest_core::io::read_small_file(file, 64 * 1024)
            .with_context(|| format!("cannot read --{flag}-file {}", file.display()))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("--{flag}-file {}: not UTF-8", file.display()))?;
        let first = text.lines().next().unwrap_or("").trim().to_owned();
        anyhow::ensure!(!first.is_empty(), "--{flag}-file {}: empty", file.display());
        return Ok(Some(first));
    }
    let on_command_line = std::env::args_os().any(|a| {
        let a = a.to_string_lossy();
        a == format!("--{flag}") || a.starts_with(&format!("--{flag}="))
    });
    if value.is_some() && on_command_line {
        eprintln!(
            "ingest: warning: --{flag} on the command line can be read by every local user while ingest runs; use ${variable} or --{flag}-file"
        );
    }
    Ok(value.map(str::to_owned))
}

impl TargetArgs {
    /// The RPC credentials, parsed here rather than by clap, whose error would print them.
    fn auth(&self) -> anyhow::Result<Option<Auth>> {
        secret(
            self.api_auth.as_deref(),
            self.api_auth_file.as_deref(),
            "api-auth",
            "INGEST_API_AUTH",
        )?
        .as_deref()
        .map(|spec| {
            spec.parse::<Auth>()
                .map_err(|reason| anyhow::anyhow!("invalid --api-auth (not shown): {reason}"))
        })
        .transpose()
    }

    fn rpc_options(&self) -> anyhow::Result<RpcOptions> {
        Ok(RpcOptions {
            auth: self.auth()?,
            connect_timeout: self.connect_timeout,
            retries: self.retries,
            ..RpcOptions::default()
        })
    }

    /// The node, unless only a pinning service was named.
    pub(crate) fn node(&self) -> anyhow::Result<Option<KuboRpc>> {
        let named = self.api.is_some() || std::env::var_os("IPFS_API").is_some();
        if self.pin_service.is_some() && !named {
            return Ok(None);
        }
        let api = find_api(self.api.as_deref())?;
        Ok(Some(KuboRpc::new(api.url, self.rpc_options()?)?))
    }

    pub(crate) fn service(&self) -> anyhow::Result<Option<PinningService>> {
        let Some(url) = &self.pin_service else {
            return Ok(None);
        };
        let token = secret(
            self.pin_token.as_deref(),
            self.pin_token_file.as_deref(),
            "pin-token",
            "INGEST_PIN_TOKEN",
        )?
        .with_context(|| {
            format!("{url}: the pinning service needs an access token ($INGEST_PIN_TOKEN, --pin-token-file or --pin-token)")
        })?;
        let options = PinningOptions {
            connect_timeout: self.connect_timeout,
            retries: self.retries,
            ..PinningOptions::default()
        };
        Ok(Some(PinningService::new(url, &Token::new(token), options)?))
    }
}

/// Push archived videos and CARs to an IPFS node and/or a pinning service.
///
/// Inputs: records (`<site>-<id>.record.cbor`, with their files beside them or under --data),
/// CAR files (a catalogue, a delta), and directories of these. An archive needs no CAR: its
/// blocks are derived from its files as they are sent, each file checked against the record.
/// Every block of a CAR is checked against its CID before anything is sent. Roots the node
/// already pins are not sent again, and a push ends when the node confirms the root pinned.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Records, CARs, or directories of them.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// The directory holding the records' files (default: beside each record).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// The pin name of a CAR on the pinning service (default: the file's stem); a new root
    /// replaces the pin of the same name. Videos are named `<site>/<id>`.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Inputs pushed at once.
    #[arg(long, short = 'j', value_name = "N", default_value_t = 2)]
    pub jobs: usize,
    /// Print one JSON object per input: input, root, record, bytes_sent, status, error, remote,
    /// notes.
    #[arg(long)]
    pub json: bool,
    /// No progress bar, and no line per input (failures are still reported).
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub perf: PerfArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let node = args.target.node()?;
    let service = args.target.service()?;
    let inputs = find_inputs(&args.inputs, args.data.as_deref())?;
    if inputs.is_empty() {
        anyhow::bail!("no record or CAR found in the inputs");
    }
    let options = PushOptions {
        jobs: args.jobs.max(1),
        import: args.perf.options(),
        name: args.name.clone(),
        wait: !args.target.no_wait,
        wait_limit: args.target.pin_wait,
        connect_delegates: args.target.connect_delegates,
    };
    let printer = Printer::new(args.json, args.quiet);
    let results = push(node.as_ref(), service.as_ref(), inputs, &options, &|e| {
        printer.event(e)
    })?;
    printer.finish();
    let failed = results
        .iter()
        .filter(|r| r.status == PushStatus::Failed)
        .count();
    if !args.json && (failed > 0 || results.len() > 1) {
        eprintln!("ingest: {}", summary(&results));
    }
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Progress and one line (or JSON object) per input, as inputs finish.
struct Printer {
    json: bool,
    quiet: bool,
    bar: Mutex<Option<indicatif::ProgressBar>>,
    /// Inputs in all, and done.
    inputs: AtomicUsize,
    done: AtomicUsize,
}

impl Printer {
    fn new(json: bool, quiet: bool) -> Printer {
        Printer {
            json,
            quiet,
            bar: Mutex::new(None),
            inputs: AtomicUsize::new(0),
            done: AtomicUsize::new(0),
        }
    }

    fn bar(&self, f: impl FnOnce(&indicatif::ProgressBar)) {
        if let Some(bar) = self.bar.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
            f(bar);
        }
    }

    fn event(&self, event: PushEvent<'_>) {
        match event {
            PushEvent::Planned { bytes, inputs } => {
                self.inputs.store(inputs, Ordering::Relaxed);
                let bar = bytes_and_inputs_bar(bytes, self.quiet);
                bar.set_message(format!("0/{inputs} inputs"));
                *self.bar.lock().unwrap_or_else(|e| e.into_inner()) = Some(bar);
            }
            PushEvent::Sent(n) => self.bar(|b| b.inc(n)),
            PushEvent::Retry {
                input,
                wait,
                reason,
            } => {
                let line = format!(
                    "ingest: {}: {reason}; retrying in {:.1}s",
                    input.display(),
                    wait.as_secs_f64()
                );
                self.bar(|b| b.suspend(|| eprintln!("{line}")));
            }
            PushEvent::Done(pushed) => {
                let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
                let inputs = self.inputs.load(Ordering::Relaxed);
                self.bar(|b| b.set_message(format!("{done}/{inputs} inputs")));
                let mut out = std::io::stdout().lock();
                self.bar(|b| {
                    b.suspend(|| {
                        let _ = self.print(&mut out, pushed);
                    })
                });
            }
        }
    }

    fn print(&self, out: &mut impl Write, pushed: &Pushed) -> std::io::Result<()> {
        let input = pushed.input.path().display();
        for note in &pushed.notes {
            let note = crate::output::terminal_safe(note, 2000);
            eprintln!("ingest: warning: {input}: {note}");
        }
        if self.json {
            return json_line(out, &pushed_json(pushed));
        }
        if let Some(error) = pushed.error_text() {
            eprintln!("ingest: {}", crate::output::terminal_safe(&error, 2000));
            return Ok(());
        }
        if self.quiet {
            return Ok(());
        }
        let root = pushed.root.map(|r| r.to_string()).unwrap_or_default();
        let status = match pushed.status {
            PushStatus::Pushed => "pushed",
            PushStatus::AlreadyPinned => "pinned",
            PushStatus::Requested => "requested",
            PushStatus::Failed => "failed",
        };
        write!(out, "{status:<9}  {root}  {input}")?;
        if pushed.status == PushStatus::Pushed {
            write!(out, "  ({} bytes)", pushed.bytes_sent)?;
        }
        if let Some(remote) = &pushed.remote {
            write!(
                out,
                "  remote: {} {:?}",
                remote.status.requestid, remote.status.status
            )?;
        }
        writeln!(out)
    }

    fn finish(&self) {
        self.bar(|b| b.finish_and_clear());
    }
}

fn pushed_json(pushed: &Pushed) -> json::Push<'_, PushStatus> {
    json::Push {
        input: pushed.input.path().display().to_string(),
        root: pushed.root.map(|r| r.to_string()),
        record: pushed.record.map(|r| r.to_string()),
        bytes_sent: pushed.bytes_sent,
        status: &pushed.status,
        error: pushed.error_text(),
        remote: pushed.remote.as_ref().map(json::PushRemote::of),
        notes: &pushed.notes,
    }
}

fn summary(results: &[Pushed]) -> String {
    let count = |s| results.iter().filter(|r| r.status == s).count();
    let mut parts = vec![
        format!("{} pushed", count(PushStatus::Pushed)),
        format!("{} already pinned", count(PushStatus::AlreadyPinned)),
    ];
    let requested = count(PushStatus::Requested);
    if requested > 0 {
        parts.push(format!("{requested} requested from the pinning service"));
    }
    parts.push(format!("{} failed", count(PushStatus::Failed)));
    parts.join(", ")
}

/// Publish a catalogue: push its CAR to the node (and a pinning service), then point an IPNS
/// name at its root.
///
/// Prints the IPNS name, its /ipns/ path, and the DNSLink TXT value for a domain. A node with
/// no peers keeps the record without announcing it (kubo's allow-offline), and says so.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// The catalogue CAR (`ingest merge` writes it), or a directory of archives (records and
    /// their files) to publish as the volunteer's outbox: the archives pushed, their records
    /// merged onto DIR/outbox.car, its root published under --key.
    #[arg(value_name = "CATALOGUE.car|DIR")]
    pub catalogue: PathBuf,
    /// With a directory: where the records' files are (default: beside each record).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// With a directory: an IPNS key ingest keeps in this file (Ed25519, made if missing, mode
    /// 0600) instead of the node's: the outbox's record is signed here and put to --router.
    #[arg(long, value_name = "FILE", conflicts_with = "key")]
    pub key_file: Option<PathBuf>,
    /// With --key-file: a Delegated Routing V1 server to put the record to (repeatable).
    #[arg(long = "router", value_name = "URL", requires = "key_file")]
    pub routers: Vec<String>,
    #[command(flatten)]
    pub target: TargetArgs,
    /// The node's key to publish with (see `ipfs key list`; default: the node's own, self).
    #[arg(long, value_name = "NAME")]
    pub key: Option<String>,
    /// How long the IPNS record is valid, in kubo's syntax (default: the node's, 48h in kubo).
    #[arg(long, value_name = "D")]
    pub lifetime: Option<String>,
    /// The catalogue's pin name on the pinning service; a new root replaces the old pin.
    #[arg(long, value_name = "NAME", default_value = "catalogue")]
    pub name: String,
    /// Print one JSON object: root, name, ipns, dnslink, offline, bytes_sent, status.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run_publish(args: PublishArgs) -> anyhow::Result<ExitCode> {
    if args.catalogue.is_dir() {
        // An outbox named by a key of ingest's needs no node: a pinning service may be all.
        let node = if args.key_file.is_some() {
            args.target.node()?
        } else {
            let api = find_api(args.target.api.as_deref())?;
            Some(KuboRpc::new(api.url, args.target.rpc_options()?)?)
        };
        let service = args.target.service()?;
        return crate::commands::outbox::publish_dir(
            &args,
            &args.catalogue,
            node.as_ref(),
            service.as_ref(),
        );
    }
    // Publishing needs a node (its key), so the API is found even beside a pinning service.
    let api = find_api(args.target.api.as_deref())?;
    let node = KuboRpc::new(api.url, args.target.rpc_options()?)?;
    let service = args.target.service()?;
    let options = PushOptions {
        name: Some(args.name.clone()),
        wait: !args.target.no_wait,
        wait_limit: args.target.pin_wait,
        connect_delegates: args.target.connect_delegates,
        ..PushOptions::default()
    };
    let printer = Printer::new(true, args.quiet);
    let events = |e: PushEvent<'_>| {
        if !matches!(e, PushEvent::Done(_)) {
            printer.event(e);
        }
    };
    let published = publish(
        &node,
        service.as_ref(),
        &args.catalogue,
        &options,
        &PublishOptions {
            key: args.key.clone(),
            lifetime: args.lifetime.clone(),
        },
        &events,
    )?;
    printer.finish();
    let mut out = std::io::stdout().lock();
    if args.json {
        json_line(
            &mut out,
            &json::Publish {
                root: published.root.to_string(),
                name: &published.published.name,
                value: &published.published.value,
                ipns: published.ipns_path(),
                dnslink: published.dnslink(),
                offline: published.offline,
                bytes_sent: published.pushed.bytes_sent,
                status: &published.pushed.status,
                remote: published.pushed.remote.as_ref().map(json::PushRemote::of),
            },
        )?;
    } else {
        writeln!(out, "root     {}", published.root)?;
        writeln!(out, "name     {}", published.published.name)?;
        writeln!(out, "path     {}", published.ipns_path())?;
        writeln!(out, "dnslink  {}", published.dnslink())?;
        if published.offline {
            eprintln!(
                "ingest: the node has no peers: the name is kept by the node, and announced once it is online"
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
