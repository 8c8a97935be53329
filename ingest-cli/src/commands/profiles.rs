//! `ingest profiles`: every import preset with every parameter, and every download profile
//! with its yt-dlp arguments.

use std::io::Write;
use std::process::ExitCode;

use ingest_core::unixfs::{CidVersion, Profile};
use ingest_core::volunteer::{DownloadProfile, DOWNLOAD_PROFILES};

use crate::json;
use crate::output::json_line;

/// List the import profiles (every parameter that changes a CID) and the download profiles
/// (every yt-dlp argument `ingest volunteer` passes).
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
        kind: "import",
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
            if key != "name" && key != "default" && key != "kind" {
                writeln!(out, "  {key:<20} {value}")?;
            }
        }
    }
    for p in &DOWNLOAD_PROFILES {
        let d = json::DownloadProfile {
            kind: "download",
            name: p.name,
            default: p.name == DownloadProfile::default_profile().name,
            description: p.description,
            yt_dlp_args: p.yt_dlp_args(),
        };
        if args.json {
            json_line(&mut out, &d)?;
            continue;
        }
        writeln!(
            out,
            "download profile {}{}",
            p.name,
            if d.default { " (default)" } else { "" }
        )?;
        writeln!(out, "  {}", p.description)?;
        let shown: Vec<String> = d.yt_dlp_args.iter().map(|a| shell_word(a)).collect();
        writeln!(out, "  yt-dlp {}", shown.join(" "))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `word` as a shell would need it: quoted when it holds anything but plain characters.
fn shell_word(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_=:.,/".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
