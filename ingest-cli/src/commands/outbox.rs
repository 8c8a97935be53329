//! `ingest publish DIR --key NAME`: a directory of archives made by hand, published as the
//! volunteer's outbox (what `ingest volunteer` publishes as it goes).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use ingest_core::ipfs::routing::Router;
use ingest_core::ipfs::IpnsKey;
use ingest_core::ipfs::{
    find_inputs, push, KuboRpc, PinningService, PushInput, PushOptions, PushStatus,
};
use ingest_core::unixfs::Profile;
use ingest_core::volunteer::{publish_outbox, OutboxKey, OutboxOptions};
use ingest_core::Record;

use crate::commands::push::PublishArgs;
use crate::json;
use crate::output::json_line;

/// The key an outbox is named by: the node's key `key`, or a key kept in `key_file` whose
/// records go to `routers` (a new key is made and its name said on stderr).
pub fn outbox_key(
    key: Option<&str>,
    key_file: Option<&Path>,
    routers: &[String],
) -> anyhow::Result<Option<OutboxKey>> {
    match (key, key_file) {
        (Some(_), Some(_)) => anyhow::bail!("give --key (the node's) or --key-file, not both"),
        (Some(name), None) => Ok(Some(OutboxKey::Node(name.to_owned()))),
        (None, Some(path)) => {
            anyhow::ensure!(
                !routers.is_empty(),
                "--key-file {}: give at least one --router to put its records to",
                path.display()
            );
            let (key, made) = IpnsKey::load_or_create(path)?;
            if made {
                eprintln!(
                    "ingest: made a new IPNS key in {} (keep it: it is your outbox's name): /ipns/{}",
                    path.display(),
                    key.name()
                );
            }
            let routers = routers
                .iter()
                .map(|url| Router::new(url, std::time::Duration::from_secs(60)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(OutboxKey::Own {
                key: std::sync::Arc::new(key),
                routers,
            }))
        }
        (None, None) => Ok(None),
    }
}

/// Pushes every archive under `dir` (its files beside each record, or under --data), then
/// merges their records onto `DIR/outbox.car` and publishes its root under --key.
pub fn publish_dir(
    args: &PublishArgs,
    dir: &Path,
    node: Option<&KuboRpc>,
    service: Option<&PinningService>,
) -> anyhow::Result<ExitCode> {
    let key = outbox_key(args.key.as_deref(), args.key_file.as_deref(), &args.routers)?
        .with_context(|| {
            format!(
                "{}: a directory is published as an outbox under its own key: give --key NAME (the node's, made if missing) or --key-file FILE with --router URL",
                dir.display()
            )
        })?;
    let archives: Vec<PushInput> = find_inputs(&[dir.to_owned()], args.data.as_deref())?
        .into_iter()
        .filter(|i| matches!(i, PushInput::Archive { .. }))
        .collect();
    anyhow::ensure!(
        !archives.is_empty(),
        "{}: no record (*.record.cbor) to publish",
        dir.display()
    );
    let records: Vec<_> = archives.iter().map(|i| i.path().to_owned()).collect();
    let first = ingest_core::io::read_small_file(&records[0], 1 << 20)?;
    let profile: Profile = Record::decode(&first)
        .with_context(|| format!("{}: not a record", records[0].display()))?
        .profile()?;
    // The videos first: a node asked to pin a catalogue whose videos it lacks would wait.
    let options = PushOptions {
        wait: !args.target.no_wait,
        wait_limit: args.target.pin_wait,
        connect_delegates: args.target.connect_delegates,
        ..PushOptions::default()
    };
    let count = archives.len();
    let results = push(node, service, archives, &options, &|_| {})?;
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r.status == PushStatus::Failed)
        .map(|r| r.error_text().unwrap_or_default())
        .collect();
    if let Some(first) = failed.first() {
        anyhow::bail!(
            "{} of {count} archives could not be pushed, so the outbox is not published; the first: {first}",
            failed.len()
        );
    }
    let published = publish_outbox(
        node,
        service,
        &dir.join("outbox.car"),
        &records,
        &OutboxOptions {
            key,
            lifetime: args.lifetime.clone(),
            profile,
            push: PushOptions {
                name: Some(args.name.clone()),
                ..options
            },
        },
        &|_| {},
    )?;
    let ipns = published.name.as_ref().map(|n| format!("/ipns/{n}"));
    let mut out = std::io::stdout().lock();
    if args.json {
        json_line(
            &mut out,
            &json::Outbox {
                root: published.root.to_string(),
                name: published.name.clone(),
                ipns,
                archives: count,
                added: published.added,
                rejected: published.rejected.clone(),
                offline: published.offline,
            },
        )?;
    } else {
        writeln!(out, "root     {}", published.root)?;
        if let Some(ipns) = &ipns {
            writeln!(out, "outbox   {ipns}")?;
        }
        writeln!(
            out,
            "archives {count} pushed, {} records new in the outbox",
            published.added
        )?;
        for r in &published.rejected {
            eprintln!(
                "ingest: rejected: {}",
                crate::output::terminal_safe(r, 2000)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
