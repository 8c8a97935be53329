//! Command-line syntax: clap-derive structs, and their conversion into library values.

use std::num::NonZeroUsize;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use ingest_core::unixfs::{CidVersion, ImportOptions, Overrides, Profile};

use crate::commands;

/// Archive videos into IPFS with canonical, reproducible CIDs.
///
/// The same bytes give the same CID on every machine, and the same CID as kubo's `ipfs add`
/// with the same settings, so volunteers can archive without coordinating.
#[derive(Debug, Parser)]
#[command(
    name = "ingest",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Add(commands::add::Args),
    Archive(commands::archive::Args),
    Fetch(commands::fetch::Args),
    Record(commands::record::Args),
    Car(commands::car::Args),
    Merge(commands::merge::Args),
    Push(commands::push::Args),
    Publish(commands::push::PublishArgs),
    Ls(commands::catalogue::LsArgs),
    Todo(commands::catalogue::TodoArgs),
    ExportArchive(commands::catalogue::ExportArgs),
    Get(commands::get::Args),
    Site(commands::site::Args),
    Profiles(commands::profiles::Args),
    Verify(commands::verify::Args),
    Volunteer(Box<commands::volunteer::Args>),
}

/// The import profile and kubo-style overrides, shared by every command that imports.
#[derive(Debug, Clone, Args)]
pub struct ProfileArgs {
    /// Import profile: unixfs-v1-2025, unixfs-v0-2015 or kubo-cidv1 (see `ingest profiles`).
    #[arg(long, default_value = "unixfs-v1-2025", value_parser = Profile::by_name)]
    pub profile: Profile,
    /// Override the CID version (0 or 1), as kubo's --cid-version; 1 also makes leaves raw
    /// unless --raw-leaves says otherwise.
    #[arg(long, value_name = "0|1", value_parser = ingest_core::unixfs::parse_cid_version)]
    pub cid_version: Option<CidVersion>,
    /// Override the leaf encoding, as kubo's --raw-leaves (--raw-leaves=false for dag-pb leaves).
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub raw_leaves: Option<bool>,
    /// Override the chunker, as kubo's --chunker: size-N (fixed-size chunks of N bytes).
    #[arg(long, short = 's', value_name = "size-N", value_parser = ingest_core::unixfs::parse_chunker)]
    pub chunker: Option<u32>,
    /// Override the links per internal file node (kubo: 174; unixfs-v1-2025: 1024).
    #[arg(long, value_name = "N")]
    pub max_links: Option<u32>,
}

impl ProfileArgs {
    /// The profile these flags select.
    pub fn resolve(&self) -> anyhow::Result<Profile> {
        let overrides = Overrides {
            cid_version: self.cid_version,
            raw_leaves: self.raw_leaves,
            chunk_size: self.chunker,
            max_links: self.max_links,
        };
        self.profile
            .with_overrides(&overrides)
            .with_context(|| format!("invalid overrides of profile {}", self.profile))
    }
}

impl ProfileArgs {
    /// The profile for a record: records name a preset, so overrides are refused.
    pub fn resolve_for_records(&self) -> anyhow::Result<Profile> {
        let profile = self.resolve()?;
        if !Profile::PRESETS.iter().any(|p| p.name() == profile.name()) {
            anyhow::bail!(
                "records name a preset profile, and {} is not one: use --profile alone",
                profile.name()
            );
        }
        Ok(profile)
    }
}

/// How hard to work: never changes a result.
#[derive(Debug, Clone, Args)]
pub struct PerfArgs {
    /// Threads hashing leaves (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<NonZeroUsize>,
}

impl PerfArgs {
    pub fn options(&self) -> ImportOptions {
        match self.threads {
            Some(threads) => ImportOptions { threads },
            None => ImportOptions::default(),
        }
    }
}

/// A byte count: `1048576`, `500k`, `5M`, `1.5G` (binary multiples, as curl's --limit-rate).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => t.split_at(i),
        None => (t, ""),
    };
    let scale: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("unknown unit {unit:?} (use k, M, G or T)")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 500k, 5M or 1.5G"))?;
    let bytes = value * scale as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!("{text:?} is not a positive size"));
    }
    Ok(bytes as u64)
}

/// A size as [`parse_size`] reads it, or 0 (a bound that keeps nothing).
pub fn parse_size_or_zero(text: &str) -> Result<u64, String> {
    if text
        .trim()
        .trim_end_matches(|c: char| c.is_ascii_alphabetic())
        == "0"
    {
        return Ok(0);
    }
    parse_size(text)
}

/// A duration: `250ms`, `2s`, `1.5m`, `1h`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let scale = match unit {
        "ms" => 0.001,
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err(format!("unknown unit {unit:?} (use ms, s, m or h)")),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 500ms, 2s or 1m"))?;
    Duration::try_from_secs_f64(value * scale).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn add_profile(args: &[&str]) -> anyhow::Result<Profile> {
        let mut argv = vec!["ingest", "add"];
        argv.extend_from_slice(args);
        argv.push("file");
        match Cli::try_parse_from(argv)?.command {
            Command::Add(add) => add.profile.resolve(),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn profile_flags() {
        assert_eq!(add_profile(&[]).unwrap(), Profile::UNIXFS_V1_2025);
        assert_eq!(
            add_profile(&["--profile", "unixfs-v0-2015"]).unwrap(),
            Profile::UNIXFS_V0_2015
        );
        assert_eq!(
            add_profile(&["--profile", "unixfs-v0-2015", "--cid-version", "1"]).unwrap(),
            Profile::KUBO_CIDV1
        );
        let p = add_profile(&["--raw-leaves=false", "-s", "size-1000"]).unwrap();
        assert!(!p.raw_leaves());
        assert_eq!(p.chunk_size(), 1000);
        assert!(add_profile(&["--raw-leaves"]).unwrap().raw_leaves());
    }

    #[test]
    fn bad_profile_flags_are_refused() {
        assert!(add_profile(&["--profile", "nope"]).is_err());
        assert!(add_profile(&["--cid-version", "2"]).is_err());
        assert!(add_profile(&["--chunker", "rabin"]).is_err());
        assert!(add_profile(&["--chunker", "size-3000000"]).is_err());
        assert!(add_profile(&["--max-links", "1"]).is_err());
    }

    #[test]
    fn sizes_are_parsed_or_refused() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("500k"), Ok(500 << 10));
        assert_eq!(parse_size("5M"), Ok(5 << 20));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert!(parse_size("0").is_err());
        assert!(parse_size("-1M").is_err());
        assert!(parse_size("5Q").is_err());
        assert!(parse_size("fast").is_err());
    }

    #[test]
    fn durations_are_parsed_or_refused() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("2 weeks").is_err());
    }

    #[test]
    fn threads_must_be_positive() {
        assert!(Cli::try_parse_from(["ingest", "add", "--threads", "0", "f"]).is_err());
        assert!(Cli::try_parse_from(["ingest", "add", "--threads", "3", "f"]).is_ok());
    }
}
