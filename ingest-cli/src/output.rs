//! Printing results: JSON lines for scripts, aligned text for people.

use std::io::{self, Write};

use ingest_core::archive::Archived;
use serde_json::json;

/// Prints one JSON object as a line.
pub fn json_line(out: &mut impl Write, value: &serde_json::Value) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// An archived video as a JSON object: site, id, profile, record, directory, video, files,
/// paths, warnings.
pub fn archived_json(archived: &Archived, warnings: &[String]) -> serde_json::Value {
    let record = &archived.record;
    let files: Vec<_> = record
        .files
        .iter()
        .map(|f| {
            json!({"name": f.name, "role": f.role.as_str(), "cid": f.cid.to_string(),
                       "size": f.size, "dag_size": f.dag_size})
        })
        .collect();
    json!({
        "site": record.source.site,
        "id": record.source.id,
        "profile": record.profile,
        "record": archived.cids.record.to_string(),
        "directory": archived.cids.directory.to_string(),
        "video": archived.video().cid.to_string(),
        "files": files,
        "record_path": archived.record_path.display().to_string(),
        "car_path": archived.car_path.as_ref().map(|p| p.display().to_string()),
        "warnings": warnings,
    })
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
