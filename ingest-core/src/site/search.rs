//! The search index: every word of every video's title, uploader and tags, pointing at the
//! videos that have it, cut into shards by the hash of the word, so that a query fetches one
//! shard per word and nothing else.
//!
//! `data/search/<k>.json` holds the words whose FNV-1a hash is `k` modulo the number of shards:
//! `{"v":1,"words":{"<word>":{"n":N,"r":[<site number>,"<id>",...]}}}`, each list newest first
//! (the listings' order) and at most [`CAP`] videos long; `n` counts them all. The number of
//! shards is a power of two chosen so that a shard holds about [`SHARD_BYTES`].

use std::collections::HashMap;

use super::entry::Entry;
use super::words::{fnv1a, Tokenizer};
use super::write_json;

/// The most videos listed under one word (the newest ones); `n` says how many have it.
pub const CAP: usize = 1000;
/// The size a shard aims at.
pub const SHARD_BYTES: usize = 32 * 1024;

/// The search index, built: each shard's JSON.
pub(crate) struct SearchIndex {
    pub(crate) shards: Vec<Vec<u8>>,
}

#[derive(Default)]
struct Word {
    /// Videos having the word, as positions in the build's order.
    videos: Vec<u32>,
    /// How many videos have it.
    count: u64,
    /// Bytes of JSON its listed videos take.
    bytes: usize,
}

/// Each video as the search index writes it, `<site number>,"<id>"`, once: a posting is then a
/// copy of a slice, not a visit to the entry.
struct References {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl References {
    fn new(videos: &[(u32, &Entry)]) -> References {
        let mut bytes = Vec::with_capacity(videos.len() * 20);
        let mut ends = Vec::with_capacity(videos.len());
        for (site, entry) in videos {
            bytes.extend_from_slice(site.to_string().as_bytes());
            bytes.push(b',');
            write_json(&mut bytes, &entry.id);
            ends.push(bytes.len());
        }
        References { bytes, ends }
    }

    fn of(&self, video: u32) -> &[u8] {
        let start = match video {
            0 => 0,
            v => self.ends[v as usize - 1],
        };
        &self.bytes[start..self.ends[video as usize]]
    }
}

/// The words of some videos, each with the videos having it.
#[derive(Default)]
struct Table {
    /// Word → its number; untrusted text, so a seeded hash.
    numbers: HashMap<Box<str>, u32, foldhash::fast::RandomState>,
    words: Vec<Word>,
}

impl Table {
    /// The words of `videos`, whose positions are their numbers.
    fn index(videos: &[(u32, &Entry)], refs: &References) -> Table {
        let mut table = Table::default();
        let mut tokenizer = Tokenizer::default();
        let mut of_video: Vec<u32> = Vec::new();
        for (n, (_, entry)) in videos.iter().enumerate() {
            of_video.clear();
            for text in entry.indexed_texts() {
                tokenizer.for_each_word(text, |w| of_video.push(table.number(w)));
            }
            of_video.sort_unstable();
            of_video.dedup();
            for &number in &of_video {
                table.words[number as usize].add(n as u32, refs);
            }
        }
        table
    }

    fn number(&mut self, w: &str) -> u32 {
        if let Some(&number) = self.numbers.get(w) {
            return number;
        }
        let number = self.words.len() as u32;
        self.numbers.insert(w.into(), number);
        self.words.push(Word::default());
        number
    }
}

impl Word {
    /// Counts video `v` (older than every video counted before), and lists it under the cap.
    fn add(&mut self, v: u32, refs: &References) {
        self.count += 1;
        if self.videos.len() < CAP {
            self.videos.push(v);
            self.bytes += refs.of(v).len() + 1;
        }
    }
}

/// The index of `videos`: (site number, entry), newest first.
pub(crate) fn build(videos: &[(u32, &Entry)]) -> SearchIndex {
    let refs = References::new(videos);
    let mut table = Table::index(videos, &refs);
    let words = std::mem::take(&mut table.words);
    // About the JSON each word takes: its key, its count, and its videos.
    let bytes: usize = table
        .numbers
        .iter()
        .map(|(w, &number)| w.len() + 16 + words[number as usize].bytes)
        .sum();
    let shards = bytes.div_ceil(SHARD_BYTES).max(1).next_power_of_two();
    let mut by_shard: Vec<Vec<(&str, &Word)>> = vec![Vec::new(); shards];
    for (w, &number) in &table.numbers {
        by_shard[fnv1a(w.as_bytes()) as usize % shards].push((w, &words[number as usize]));
    }
    let mut out = Vec::with_capacity(shards);
    for mut shard in by_shard {
        shard.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let size: usize = shard
            .iter()
            .map(|(w, word)| w.len() + 32 + word.bytes)
            .sum();
        let mut json = Vec::with_capacity(size + 32);
        json.extend_from_slice(br#"{"v":1,"words":{"#);
        for (i, (w, word)) in shard.iter().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            write_json(&mut json, w);
            json.extend_from_slice(br#":{"n":"#);
            json.extend_from_slice(word.count.to_string().as_bytes());
            json.extend_from_slice(br#","r":["#);
            for (j, &v) in word.videos.iter().enumerate() {
                if j > 0 {
                    json.push(b',');
                }
                json.extend_from_slice(refs.of(v));
            }
            json.extend_from_slice(b"]}");
        }
        json.extend_from_slice(b"}}\n");
        out.push(json);
    }
    SearchIndex { shards: out }
}
