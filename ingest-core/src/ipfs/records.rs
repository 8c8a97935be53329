//! Records named by CID (what `merge --records` reads): lists of record CIDs, read as streams
//! with bounded lines, and the records fetched from a [`Remote`] a batch at a time, each one a
//! [`MergeInput`]: its bytes, checked against its CID, or why it could not be had.

use std::io::BufRead;

use cid::Cid;

use super::path::ContentPath;
use super::remote::Remote;
use crate::catalogue::MergeInput;

/// A line of a list of record CIDs at most this long.
pub const MAX_LINE: usize = 4096;
/// Records fetched at once.
const BATCH: usize = 256;

/// A list of record CIDs: one a line, blank lines and `#` comments skipped.
pub struct RecordList {
    /// The list's name, for messages (a path, or `-`).
    pub name: String,
    /// Its lines.
    pub input: Box<dyn BufRead>,
}

/// One line of a list: where it is (`NAME:LINE: text`), and its CID or why it is not one.
type Line = (String, Result<Cid, String>);

/// The next line of `list` that is not blank or a comment; `Err` ends the list (unreadable,
/// not UTF-8, or a line over [`MAX_LINE`] bytes).
fn next_line(list: &mut RecordList, number: &mut usize) -> Option<Result<Line, String>> {
    let mut buf = Vec::new();
    loop {
        buf.clear();
        *number += 1;
        let input: &mut Box<dyn BufRead> = &mut list.input;
        let mut limited = std::io::Read::take(input, MAX_LINE as u64 + 1);
        match limited.read_until(b'\n', &mut buf) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(e) => return Some(Err(format!("{}: cannot read: {e}", list.name))),
        }
        if buf.len() > MAX_LINE && buf.last() != Some(&b'\n') {
            return Some(Err(format!(
                "{}:{}: a line over {MAX_LINE} bytes: not a list of record CIDs",
                list.name, number
            )));
        }
        let Ok(text) = std::str::from_utf8(&buf) else {
            return Some(Err(format!(
                "{}:{}: not UTF-8: not a list of record CIDs",
                list.name, number
            )));
        };
        let line = text.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let what = format!("{}:{}: {line}", list.name, number);
        let cid = match ContentPath::parse(line) {
            Some(Ok(ContentPath::Ipfs { cid, path })) if path.is_empty() => Ok(cid),
            _ => Err("not a record CID".to_owned()),
        };
        return Some(Ok((what, cid)));
    }
}

/// The records the `lists` name, fetched from `remote` 256 at a time (many requests at
/// once), as merge inputs, in the lists' order. The lists are read as the merge goes (memory: one
/// batch); a list that cannot be read any further becomes one failed input and ends there.
pub fn fetch_records<'a>(
    lists: Vec<RecordList>,
    remote: &'a Remote,
) -> impl Iterator<Item = MergeInput> + 'a {
    let mut lists = lists.into_iter();
    let mut current: Option<(RecordList, usize)> = None;
    let mut batch_of = move || {
        let mut batch: Vec<Line> = Vec::new();
        while batch.len() < BATCH {
            if current.is_none() {
                current = lists.next().map(|l| (l, 0));
            }
            let Some((list, number)) = current.as_mut() else {
                break;
            };
            match next_line(list, number) {
                Some(Ok(line)) => batch.push(line),
                Some(Err(reason)) => {
                    batch.push((list.name.clone(), Err(reason)));
                    current = None;
                }
                None => current = None,
            }
        }
        batch
    };
    std::iter::from_fn(move || {
        let batch = batch_of();
        (!batch.is_empty()).then_some(batch)
    })
    .flat_map(move |batch| {
        let cids: Vec<Cid> = batch.iter().filter_map(|(_, c)| c.clone().ok()).collect();
        // Failures are found again, one by one, below.
        let _ = remote.fetch_many(&cids);
        batch.into_iter().map(move |(what, cid)| {
            let fetched = cid.and_then(|cid| {
                remote
                    .block(&cid)
                    .map(|bytes| (cid, bytes))
                    .map_err(|e| error_chain(&e))
            });
            match fetched {
                Ok((cid, bytes)) => MergeInput::Record { cid, bytes },
                Err(reason) => MergeInput::Failed { what, reason },
            }
        })
    })
}

/// An error and its causes on one line, `a: b: c`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &'static [u8]) -> RecordList {
        RecordList {
            name: "cids.txt".into(),
            input: Box::new(text),
        }
    }

    #[test]
    fn lines_are_read_bounded() {
        let cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
        let text = format!("# records\n\n{cid}\n/ipfs/{cid}\nnot-a-cid\n/ipfs/{cid}/x\n");
        let mut l = RecordList {
            name: "cids.txt".into(),
            input: Box::new(std::io::Cursor::new(text.into_bytes())),
        };
        let mut n = 0;
        let mut lines = Vec::new();
        while let Some(line) = next_line(&mut l, &mut n) {
            lines.push(line.unwrap());
        }
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0].0, format!("cids.txt:3: {cid}"));
        assert!(lines[0].1.is_ok() && lines[1].1.is_ok());
        assert!(lines[2].1.is_err() && lines[3].1.is_err(), "{lines:?}");

        // A stream with no newline (like /dev/zero) ends at the bound.
        let mut zero = RecordList {
            name: "/dev/zero".into(),
            input: Box::new(std::io::BufReader::new(std::io::repeat(0))),
        };
        let err = next_line(&mut zero, &mut 0).unwrap().unwrap_err();
        assert!(err.contains("over 4096 bytes"), "{err}");
        let err = next_line(&mut list(b"\xff\xfe\n"), &mut 0)
            .unwrap()
            .unwrap_err();
        assert!(err.contains("not UTF-8"), "{err}");
    }
}
