//! Printing results: JSON lines for scripts, aligned text for people.

use std::io::{self, Write};

use ingest_core::archive::Archived;
use serde::Serialize;

use crate::json;

/// `text` safe to print on a terminal ([`ingest_core::io::printable`]).
pub fn terminal_safe(text: &str, max: usize) -> String {
    ingest_core::io::printable(text, max)
}

/// Prints one JSON object (a [`json`] struct, or a `serde_json::Value`) as a line.
pub fn json_line(out: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// An archived video as [`json::Archive`]: site, id, profile, record, directory, video, files,
/// paths, warnings.
pub fn archive_output(archived: &Archived, warnings: &[String]) -> json::Archive {
    let record = &archived.record;
    let files = record
        .files
        .iter()
        .map(|f| json::ArchiveFile {
            name: f.name.clone(),
            role: f.role.as_str(),
            cid: f.cid.to_string(),
            size: f.size,
            dag_size: f.dag_size,
        })
        .collect();
    json::Archive {
        site: record.source.site.clone(),
        id: record.source.id.clone(),
        profile: record.profile.clone(),
        record: archived.cids.record.to_string(),
        directory: archived.cids.directory.to_string(),
        video: archived.video().cid.to_string(),
        files,
        record_path: archived.record_path.display().to_string(),
        car_path: archived.car_path.as_ref().map(|p| p.display().to_string()),
        warnings: warnings.to_vec(),
    }
}

/// [`archive_output`] as a JSON object, for outputs that add keys to it (`fetch`).
pub fn archived_json(archived: &Archived, warnings: &[String]) -> serde_json::Value {
    serde_json::to_value(archive_output(archived, warnings)).expect("serializes")
}

/// Prints an archived video for a human: record, directory and video CIDs with their paths.
pub fn print_archived(out: &mut impl Write, archived: &Archived) -> io::Result<()> {
    let cids = &archived.cids;
    writeln!(
        out,
        "record     {}  {}",
        cids.record,
        archived.record_path.display()
    )?;
    match &archived.car_path {
        Some(car) => writeln!(out, "directory  {}  {}", cids.directory, car.display())?,
        None => writeln!(out, "directory  {}", cids.directory)?,
    }
    let video = archived.video();
    writeln!(out, "video      {}  {}", video.cid, video.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_safe_text_escapes_control_characters_and_is_cut() {
        assert_eq!(terminal_safe("plain", 100), "plain");
        assert_eq!(
            terminal_safe("a\x1b]0;owned\x07b\nc\r", 100),
            "a\\u{1b}]0;owned\\u{7}b\\nc\\r"
        );
        let long = "é".repeat(1000);
        let cut = terminal_safe(&long, 100);
        assert!(cut.len() <= 104 && cut.ends_with('…'), "{cut}");
    }
}
