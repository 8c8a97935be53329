//! `ingest profiles`: every preset with every parameter.

use std::io::Write;
use std::process::ExitCode;

use ingest_core::unixfs::{CidVersion, Profile};

use crate::json;
use crate::output::json_line;

/// List the import profiles and every parameter that changes a CID.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// One JSON object per profile.
    #[arg(long)]
    json: bool,
}

fn describe(p: &Profile) -> json::Profile {
    json::Profile {
        name: p.name().to_owned(),
        default: *p == Profile::default(),
        cid_version: match p.cid_version() {
            CidVersion::V0 => 0,
            CidVersion::V1 => 1,
        },
        hash: "sha2-256",
        chunker: format!("size-{}", p.chunk_size()),
        layout: "balanced",
        max_links: p.max_links(),
        raw_leaves: p.raw_leaves(),
        hamt_threshold: p.hamt_threshold(),
        hamt_size_estimate: p.dir_size_estimate().as_str(),
        hamt_fanout: p.hamt_fanout(),
        hamt_hash: "murmur3-x64-64",
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    for p in Profile::PRESETS {
        let d = describe(&p);
        if args.json {
            json_line(&mut out, &d)?;
            continue;
        }
        writeln!(
            out,
            "{}{}",
            p.name(),
            if d.default { " (default)" } else { "" }
        )?;
        // The same fields as the JSON, in its order, each value as JSON text.
        let fields = serde_json::to_value(&d).expect("serializes");
        for (key, value) in fields.as_object().expect("an object") {
            if key != "name" && key != "default" {
                writeln!(out, "  {key:<20} {value}")?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
