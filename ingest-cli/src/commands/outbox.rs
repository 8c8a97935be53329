//! `ingest publish DIR --key NAME`: a directory of archives made by hand, published as the
//! volunteer's outbox (what `ingest volunteer` publishes as it goes).

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use ingest_core::ipfs::{
    find_inputs, push, KuboRpc, PinningService, PushInput, PushOptions, PushStatus,
};
use ingest_core::unixfs::Profile;
use ingest_core::volunteer::{publish_outbox, OutboxOptions};
use ingest_core::Record;

use crate::commands::push::PublishArgs;
use crate::json;
use crate::output::json_line;

/// Pushes every archive under `dir` (its files beside each record, or under --data), then
/// merges their records onto `DIR/outbox.car` and publishes its root under --key.
pub fn publish_dir(
    args: &PublishArgs,
    dir: &Path,
    node: &KuboRpc,
    service: Option<&PinningService>,
) -> anyhow::Result<ExitCode> {
    let key = args.key.clone().with_context(|| {
        format!(
            "{}: a directory is published as an outbox under its own key: give --key NAME (made on the node if missing)",
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
    let results = push(Some(node), service, archives, &options, &|_| {})?;
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
        Some(node),
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
