//! The worker's state journal: one JSON line per step a video took (pushed, failed, parked,
//! freed) and per outbox published, appended and synced before the step counts, and replayed
//! at the next start.
//!
//! What the journal does not hold is on disk already: a record in the records directory is a
//! video downloaded and archived (its download is never repeated), and a partial download is
//! yt-dlp's `.part` file, which it resumes. A line cut short by a crash (the last one) is
//! dropped at the next start; any other line that cannot be read stops the start, naming it.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// A journal line at most this long (a reason is cut to [`MAX_REASON`] bytes).
const MAX_LINE: usize = 16 * 1024;

/// A failure's reason, as kept: at most this many bytes.
pub const MAX_REASON: usize = 2000;

/// One line of the journal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Entry {
    /// The video's archive is pinned on every target.
    Pushed {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// The record's CID.
        record: String,
    },
    /// An attempt at the video failed; it is tried again later.
    Failed {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// Which attempt (from 1).
        attempt: u32,
        /// Why.
        reason: String,
    },
    /// The video failed every attempt: it is not tried again until freed.
    Parked {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// The last failure's reason.
        reason: String,
    },
    /// A parked video is tried again (`--retry-failed`), from its first attempt.
    Freed {
        /// The site.
        site: String,
        /// The id.
        id: String,
    },
    /// The outbox catalogue was published.
    Published {
        /// Its root.
        root: String,
        /// The IPNS name it was published under.
        name: String,
    },
}

/// A video's key: its site and id.
pub type Key = (String, String);

/// What the journal says, replayed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// Videos whose archive is pinned, with their record's CID.
    pub pushed: HashMap<Key, String>,
    /// Failed attempts of videos not parked (since they were last freed).
    pub attempts: HashMap<Key, u32>,
    /// Parked videos and why.
    pub parked: HashMap<Key, String>,
    /// The last outbox published: its root and name.
    pub published: Option<(String, String)>,
}

impl State {
    fn apply(&mut self, entry: &Entry) {
        match entry {
            Entry::Pushed { site, id, record } => {
                let key = (site.clone(), id.clone());
                self.attempts.remove(&key);
                self.parked.remove(&key);
                self.pushed.insert(key, record.clone());
            }
            Entry::Failed {
                site, id, attempt, ..
            } => {
                self.attempts.insert((site.clone(), id.clone()), *attempt);
            }
            Entry::Parked { site, id, reason } => {
                let key = (site.clone(), id.clone());
                self.attempts.remove(&key);
                self.parked.insert(key, reason.clone());
            }
            Entry::Freed { site, id } => {
                let key = (site.clone(), id.clone());
                self.attempts.remove(&key);
                self.parked.remove(&key);
            }
            Entry::Published { root, name } => {
                self.published = Some((root.clone(), name.clone()));
            }
        }
    }
}

/// The journal could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// Reading or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The journal.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line (not the last) is not a journal entry.
    #[error("{}:{line}: not a journal entry ({reason}); move the file away to start over", path.display())]
    Line {
        /// The journal.
        path: PathBuf,
        /// Its number (from 1).
        line: usize,
        /// Why.
        reason: String,
    },
}

/// The journal, open for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and replays it. A last line cut short is
    /// removed from the file.
    pub fn open(path: &Path) -> Result<(Journal, State), JournalError> {
        let io = |source| JournalError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(path)
            .map_err(io)?;
        let mut state = State::default();
        let mut kept: u64 = 0;
        {
            let mut reader = BufReader::new(&mut file).take(u64::MAX);
            let mut buf = Vec::new();
            for n in 1.. {
                buf.clear();
                reader.set_limit(MAX_LINE as u64 + 1);
                let read = reader.read_until(b'\n', &mut buf).map_err(io)?;
                if read == 0 {
                    break;
                }
                let complete = buf.last() == Some(&b'\n');
                let parsed = std::str::from_utf8(&buf)
                    .map_err(|e| e.to_string())
                    .and_then(|text| {
                        serde_json::from_str::<Entry>(text.trim_end()).map_err(|e| e.to_string())
                    });
                match (parsed, complete) {
                    (Ok(entry), true) => {
                        state.apply(&entry);
                        kept += read as u64;
                    }
                    // The last line, cut short by a crash: dropped.
                    (_, false) if buf.len() <= MAX_LINE => break,
                    (Ok(_), false) | (Err(_), _) => {
                        let reason = match std::str::from_utf8(&buf) {
                            _ if buf.len() > MAX_LINE => format!("over {MAX_LINE} bytes"),
                            Ok(text) => serde_json::from_str::<Entry>(text.trim_end())
                                .err()
                                .map_or_else(|| "cut short".to_owned(), |e| e.to_string()),
                            Err(e) => e.to_string(),
                        };
                        return Err(JournalError::Line {
                            path: path.to_owned(),
                            line: n,
                            reason,
                        });
                    }
                }
            }
        }
        file.set_len(kept).map_err(io)?;
        file.seek(SeekFrom::End(0)).map_err(io)?;
        Ok((
            Journal {
                path: path.to_owned(),
                file,
            },
            state,
        ))
    }

    /// Appends `entry` and syncs it to disk: once this returns, the step survives a crash.
    pub fn append(&mut self, entry: &Entry) -> Result<(), JournalError> {
        let io = |source| JournalError::Io {
            path: self.path.clone(),
            source,
        };
        let mut line = serde_json::to_vec(entry).map_err(|e| io(std::io::Error::other(e)))?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

/// `reason` cut to [`MAX_REASON`] bytes, at a character boundary.
pub fn cut_reason(reason: &str) -> String {
    let mut end = reason.len().min(MAX_REASON);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(id: &str, attempt: u32) -> Entry {
        Entry::Failed {
            site: "s".into(),
            id: id.into(),
            attempt,
            reason: "HTTP 500".into(),
        }
    }

    #[test]
    fn a_journal_replays_what_was_appended() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let (mut journal, state) = Journal::open(&path).unwrap();
        assert_eq!(state, State::default());
        journal.append(&failed("a", 1)).unwrap();
        journal.append(&failed("a", 2)).unwrap();
        journal
            .append(&Entry::Parked {
                site: "s".into(),
                id: "a".into(),
                reason: "gone".into(),
            })
            .unwrap();
        journal.append(&failed("b", 1)).unwrap();
        journal
            .append(&Entry::Pushed {
                site: "s".into(),
                id: "c".into(),
                record: "bafy".into(),
            })
            .unwrap();
        drop(journal);
        let (_, state) = Journal::open(&path).unwrap();
        assert_eq!(state.parked.get(&("s".into(), "a".into())).unwrap(), "gone");
        assert_eq!(state.attempts.get(&("s".into(), "b".into())), Some(&1));
        assert!(!state.attempts.contains_key(&("s".into(), "a".into())));
        assert_eq!(state.pushed.len(), 1);
    }

    #[test]
    fn a_line_cut_by_a_crash_is_dropped_and_the_journal_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        let (mut journal, _) = Journal::open(&path).unwrap();
        journal.append(&failed("a", 1)).unwrap();
        drop(journal);
        let mut bytes = std::fs::read(&path).unwrap();
        let whole = bytes.len();
        bytes.extend_from_slice(br#"{"event":"failed","site":"s","id":"b","att"#);
        std::fs::write(&path, &bytes).unwrap();
        let (mut journal, state) = Journal::open(&path).unwrap();
        assert_eq!(state.attempts.len(), 1);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), whole as u64);
        journal.append(&failed("b", 1)).unwrap();
        drop(journal);
        let (_, state) = Journal::open(&path).unwrap();
        assert_eq!(state.attempts.len(), 2);
    }

    #[test]
    fn a_damaged_line_in_the_middle_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(
            &path,
            b"{\"event\":\"nonsense\"}\n{\"event\":\"freed\",\"site\":\"s\",\"id\":\"a\"}\n",
        )
        .unwrap();
        let err = Journal::open(&path).unwrap_err().to_string();
        assert!(err.contains("journal.jsonl:1"), "{err}");
    }

    #[test]
    fn reasons_are_cut_at_a_character_boundary() {
        let long = "é".repeat(MAX_REASON);
        let cut = cut_reason(&long);
        assert!(cut.len() <= MAX_REASON && cut.chars().all(|c| c == 'é'));
    }
}
