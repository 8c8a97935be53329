//! A site's listing cut into pages whose boundaries depend on the videos around them, not on
//! their position, so that adding videos rewrites only the pages they land on.
//!
//! A page of a fixed count would shift every later page when one video is inserted near the
//! top (the newest first); here a video ends its page when the top byte of the FNV-1a hash of
//! `<site>/<id>` is zero (one in 256), once the page holds [`MIN_PAGE`] videos, or when the page
//! reaches [`MAX_PAGE`] videos or [`MAX_PAGE_BYTES`]. The page after an insertion is the same
//! bytes, hence the same block, as before; only its number changes, and a page does not hold
//! its own number.

use super::entry::Entry;
use super::words::fnv1a;

/// The fewest videos on a page that is not a site's last.
pub const MIN_PAGE: usize = 16;
/// The most videos on a page.
pub const MAX_PAGE: usize = 1000;
/// The most bytes of JSON a page of several videos takes: a video that would take it past this
/// starts the next page. A page of one video is that video's size (a record's fields are
/// bounded: at most about 850 KB), so a page always fits in one block.
pub const MAX_PAGE_BYTES: usize = 256 * 1024;

/// Whether the video `site`/`id` ends a page (when the page is long enough).
fn ends_page(site: &str, id: &str) -> bool {
    let mut key = Vec::with_capacity(site.len() + 1 + id.len());
    key.extend_from_slice(site.as_bytes());
    key.push(b'/');
    key.extend_from_slice(id.as_bytes());
    fnv1a(&key) >> 24 == 0
}

/// The JSON of each page of `entries` (a site's listing, in order), one page at a time.
pub(crate) fn pages<'a>(site: &'a str, entries: &'a [Entry]) -> Pages<'a> {
    Pages {
        site,
        rest: entries,
        started: false,
        next_entry: Vec::new(),
        ends: false,
    }
}

/// The pages of a listing: see [`pages`]. A listing of no videos is one empty page.
pub(crate) struct Pages<'a> {
    site: &'a str,
    rest: &'a [Entry],
    started: bool,
    /// The JSON of the entry that did not fit on the page before, if any.
    next_entry: Vec<u8>,
    /// Whether that entry ends its page.
    ends: bool,
}

impl Iterator for Pages<'_> {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        if self.started && self.rest.is_empty() && self.next_entry.is_empty() {
            return None;
        }
        self.started = true;
        let mut page = br#"{"v":1,"videos":["#.to_vec();
        let mut count = 0;
        loop {
            if self.next_entry.is_empty() {
                let Some((entry, rest)) = self.rest.split_first() else {
                    break;
                };
                self.rest = rest;
                super::write_json(&mut self.next_entry, entry);
                self.ends = ends_page(self.site, &entry.id);
            }
            // A video that would take the page past its bytes starts the next page.
            if count > 0 && page.len() + 1 + self.next_entry.len() > MAX_PAGE_BYTES {
                break;
            }
            if count > 0 {
                page.push(b',');
            }
            page.append(&mut self.next_entry);
            count += 1;
            if count >= MAX_PAGE || (count >= MIN_PAGE && self.ends) {
                break;
            }
        }
        page.extend_from_slice(b"]}\n");
        Some(page)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> Entry {
        Entry {
            id: id.to_owned(),
            title: Some(format!("video {id}")),
            uploader: None,
            date: None,
            duration_ms: None,
            thumbnail: None,
            dir: "bafkqaaa".parse().unwrap(),
            tags: Vec::new(),
            conflicts: 0,
            day: 0,
        }
    }

    #[test]
    fn an_insertion_changes_only_the_page_it_lands_on() {
        let all: Vec<Entry> = (0..20_000).map(|i| entry(&format!("{i:06}"))).collect();
        let before = pages("s", &all).collect::<Vec<_>>();
        assert!(before.len() > 40, "{} pages", before.len());
        let mut more = all.clone();
        more.insert(10_000, entry("010000x"));
        let after = pages("s", &more).collect::<Vec<_>>();
        let old: std::collections::HashSet<&Vec<u8>> = before.iter().collect();
        let changed = after.iter().filter(|p| !old.contains(p)).count();
        assert!(changed <= 2, "{changed} pages changed");
        let sizes: Vec<usize> = before.iter().map(|p| p.len()).collect();
        assert!(sizes.iter().all(|&s| s <= MAX_PAGE_BYTES + 8 * 1024));
    }

    #[test]
    fn pages_of_the_largest_entries_fit_in_a_block() {
        // Fields at the record's limits, of characters JSON writes as six bytes each.
        let mut big = entry("big");
        big.title = Some("\u{1}".repeat(4096));
        big.uploader = big.title.clone();
        big.tags = vec!["\u{2}".repeat(4096); crate::site::MAX_LISTED_TAGS];
        let all: Vec<Entry> = (0..40)
            .map(|i| Entry {
                id: format!("{i:03}"),
                ..big.clone()
            })
            .collect();
        let pages: Vec<Vec<u8>> = pages("s", &all).collect();
        assert!(pages.len() >= 40, "{} pages", pages.len());
        let one = crate::site::PROFILE.chunk_size();
        assert!(
            pages.iter().all(|p| p.len() <= one),
            "a page over one block"
        );
        let videos: usize = pages
            .iter()
            .map(|p| {
                serde_json::from_slice::<serde_json::Value>(p).unwrap()["videos"]
                    .as_array()
                    .unwrap()
                    .len()
            })
            .sum();
        assert_eq!(videos, 40);
    }

    #[test]
    fn no_videos_is_one_empty_page() {
        assert_eq!(
            pages("s", &[]).collect::<Vec<_>>(),
            [b"{\"v\":1,\"videos\":[]}\n".to_vec()]
        );
    }
}
