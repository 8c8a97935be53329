//! What is left to archive: the videos of a wanted list that a catalogue lacks, optionally only
//! one volunteer's share of them ([`shard_of`]).
//!
//! Only the catalogue's root and the directories of the sites the list names are read (every
//! site when a line names none): from IPFS, a few megabytes for a million videos, no records. A
//! video counts as archived when the catalogue lists it (the merge that listed it checked its
//! record). Memory: the list, and the wanted ids the catalogue has (not its whole listing).

use std::collections::{BTreeSet, HashSet};
use std::io::BufRead;

use cid::Cid;

use super::{shard_of, CatalogueError, CONFLICTS_DIR};
use crate::unixfs::blocks::BlockSource;
use crate::unixfs::read;

/// A wanted list's line at most this long (a site, an id, a URL).
pub const MAX_LINE: usize = 64 * 1024;

/// One video of a wanted list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wanted {
    /// The line as written (trimmed).
    pub line: String,
    /// The site, or `""` for a bare id (archived when any site has it).
    pub site: String,
    /// The id.
    pub id: String,
    /// Where the video's page is (`SITE ID URL`), when the line says.
    pub url: Option<String>,
}

/// A wanted list could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WantedError {
    /// It could not be read.
    #[error("cannot read {name}")]
    Read {
        /// The list's name.
        name: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line is not `ID`, `SITE ID` or `SITE ID URL`.
    #[error("{name}:{line}: expected `ID`, `SITE ID` or `SITE ID URL`, found {found:?}")]
    Line {
        /// The list's name.
        name: String,
        /// The line number (from 1).
        line: usize,
        /// The line (cut to 200 bytes).
        found: String,
    },
    /// A line is longer than [`MAX_LINE`].
    #[error("{name}:{line}: a line over {MAX_LINE} bytes")]
    TooLong {
        /// The list's name.
        name: String,
        /// The line number (from 1).
        line: usize,
    },
}

/// Reads a wanted list: one video a line, `ID`, `SITE ID` or `SITE ID URL` (what
/// `yt-dlp --flat-playlist --print "%(ie_key)s %(id)s %(webpage_url)s"` prints; the site is
/// lower-cased); blank lines and lines starting with `#` are skipped. `name` names the list in
/// errors. Lines are bounded ([`MAX_LINE`]).
pub fn read_wanted(input: impl BufRead, name: &str) -> Result<Vec<Wanted>, WantedError> {
    let mut wanted = Vec::new();
    for_each_wanted(input, name, |w| wanted.push(w))?;
    Ok(wanted)
}

/// [`read_wanted`], a line at a time: `each` gets every video as it is read, so a caller that
/// keeps only some (a share) never holds the whole list.
pub fn for_each_wanted(
    input: impl BufRead,
    name: &str,
    mut each: impl FnMut(Wanted),
) -> Result<(), WantedError> {
    let mut input = input.take(u64::MAX);
    let mut buf = Vec::new();
    for n in 1.. {
        buf.clear();
        input.set_limit(MAX_LINE as u64 + 1);
        let read = input
            .read_until(b'\n', &mut buf)
            .map_err(|source| WantedError::Read {
                name: name.to_owned(),
                source,
            })?;
        if read == 0 {
            break;
        }
        if buf.len() > MAX_LINE && buf.last() != Some(&b'\n') {
            return Err(WantedError::TooLong {
                name: name.to_owned(),
                line: n,
            });
        }
        let text = std::str::from_utf8(&buf).map_err(|e| WantedError::Read {
            name: name.to_owned(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        })?;
        let line = text.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let (site, id, url) = match words.as_slice() {
            [id] => ("", *id, None),
            [site, id] => (*site, *id, None),
            [site, id, url] => (*site, *id, Some(*url)),
            _ => {
                return Err(WantedError::Line {
                    name: name.to_owned(),
                    line: n,
                    found: cut(line, 200),
                })
            }
        };
        each(Wanted {
            line: line.to_owned(),
            site: site.to_lowercase(),
            id: id.to_owned(),
            url: url.map(str::to_owned),
        });
    }
    Ok(())
}

fn cut(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// The videos of `wanted` that the catalogue `root` lacks, in the list's order; with
/// `shard = Some((i, n))`, only share `i` (from 1) of `n` ([`shard_of`]).
pub fn todo<'w, Src: BlockSource + ?Sized>(
    src: &mut Src,
    root: &Cid,
    wanted: &'w [Wanted],
    shard: Option<(u64, u64)>,
) -> Result<Vec<&'w Wanted>, CatalogueError> {
    Ok(todo_indices(src, root, wanted, shard)?
        .into_iter()
        .map(|i| &wanted[i])
        .collect())
}

/// [`todo()`], as the positions in `wanted` of the videos left (for a caller that keeps its list
/// and wants no copy of it).
pub fn todo_indices<Src: BlockSource + ?Sized>(
    src: &mut Src,
    root: &Cid,
    wanted: &[Wanted],
    shard: Option<(u64, u64)>,
) -> Result<Vec<usize>, CatalogueError> {
    let sites: BTreeSet<&str> = wanted.iter().map(|w| w.site.as_str()).collect();
    let any_site: HashSet<&str> = wanted
        .iter()
        .filter(|w| w.site.is_empty())
        .map(|w| w.id.as_str())
        .collect();
    let in_site: HashSet<(&str, &str)> = wanted
        .iter()
        .map(|w| (w.site.as_str(), w.id.as_str()))
        .collect();
    // Only the wanted ids the catalogue has are kept, not the whole listing.
    let mut have: HashSet<(String, String)> = HashSet::new();
    let mut have_id: HashSet<String> = HashSet::new();
    for (site, site_dir, _) in read::list(src, root)? {
        if site == CONFLICTS_DIR || !(sites.contains("") || sites.contains(site.as_str())) {
            continue;
        }
        for (id, _, _) in read::list(src, &site_dir)? {
            if any_site.contains(id.as_str()) {
                have_id.insert(id.clone());
            }
            if in_site.contains(&(site.as_str(), id.as_str())) {
                have.insert((site.clone(), id));
            }
        }
    }
    Ok(wanted
        .iter()
        .enumerate()
        .filter(|(_, w)| {
            if w.site.is_empty() {
                !have_id.contains(&w.id)
            } else {
                !have.contains(&(w.site.clone(), w.id.clone()))
            }
        })
        .filter(|(_, w)| shard.is_none_or(|(i, n)| shard_of(&w.site, &w.id, n) == i - 1))
        .map(|(i, _)| i)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_lists_are_read_and_bounded() {
        let list = "# a comment\n\n42\nyoutube abc\n  vimeo   7  \nYoutube x https://y.example/x\n";
        let wanted = read_wanted(list.as_bytes(), "list").unwrap();
        let got: Vec<(&str, &str, Option<&str>)> = wanted
            .iter()
            .map(|w| (w.site.as_str(), w.id.as_str(), w.url.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("", "42", None),
                ("youtube", "abc", None),
                ("vimeo", "7", None),
                // What yt-dlp prints: the extractor's key, lower-cased here.
                ("youtube", "x", Some("https://y.example/x")),
            ]
        );
        assert_eq!(wanted[2].line, "vimeo   7");

        let err = read_wanted("a b c d\n".as_bytes(), "list").unwrap_err();
        assert_eq!(
            err.to_string(),
            "list:1: expected `ID`, `SITE ID` or `SITE ID URL`, found \"a b c d\""
        );
        let long = format!("ok\n{}\n", "x".repeat(MAX_LINE + 10));
        let err = read_wanted(long.as_bytes(), "list").unwrap_err();
        assert!(matches!(err, WantedError::TooLong { line: 2, .. }), "{err}");
    }
}
