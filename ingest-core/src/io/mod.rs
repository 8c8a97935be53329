//! Files written safely and fast: outputs that appear under their final name only when whole
//! ([`AtomicFile`]), and large files written on a thread of their own ([`FileWriter`]) with the
//! page cache pushed to disk as they grow ([`Writeback`]); small untrusted inputs read with a
//! bound ([`read_small_file`]) and trees walked without following links ([`find_files`]).

mod atomic;
mod files;
pub mod writer;

/// `text` safe to print on a terminal or in a message: every control character (escape
/// sequences, carriage returns, new lines) written as an escape (`\u{1b}`, `\n`), and the text
/// cut to `max` bytes (at a character) with `…`, so text from a peer or a long argument can
/// neither drive a terminal nor flood it.
pub fn printable(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 8);
    for c in text.chars() {
        if out.len() >= max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Bytes free for this user on the file system of `dir`.
#[cfg(feature = "http")]
pub fn free_space(dir: &std::path::Path) -> std::io::Result<u64> {
    let stat = rustix::fs::statvfs(dir)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

pub use atomic::{remove_temporaries, AtomicDir, AtomicFile, OutputError};
pub use files::{find_files, read_small_file, ChangedError, FileStamp, SmallFileError};
pub use writer::{FileWriter, Writeback};
