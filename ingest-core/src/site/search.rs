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
use super::words::fnv1a;

/// The most videos listed under one word (the newest ones); `n` says how many have it.
pub const CAP: usize = 1000;
/// The size a shard aims at.
pub const SHARD_BYTES: usize = 32 * 1024;

/// The search index, built: the shard count and each shard's JSON.
pub(crate) struct SearchIndex {
    pub(crate) shards: Vec<Vec<u8>>,
}

struct Word {
    /// Videos having the word, as positions in the build's order.
    videos: Vec<u32>,
    /// How many videos have it.
    count: u64,
}

/// The index of `videos`: (site number, entry), newest first.
pub(crate) fn build(videos: &[(u32, &Entry)]) -> SearchIndex {
    let mut words: HashMap<Box<str>, Word> = HashMap::new();
    let mut seen: Vec<String> = Vec::new();
    for (n, (_, entry)) in videos.iter().enumerate() {
        seen.clear();
        entry.for_each_word(|w| seen.push(w.to_owned()));
        seen.sort_unstable();
        seen.dedup();
        for w in &seen {
            let word = match words.get_mut(w.as_str()) {
                Some(word) => word,
                None => words.entry(w.as_str().into()).or_insert(Word {
                    videos: Vec::new(),
                    count: 0,
                }),
            };
            word.count += 1;
            if word.videos.len() < CAP {
                word.videos.push(n as u32);
            }
        }
    }
    // About the JSON each word takes: its key, its count, and a site number and id per video.
    let bytes: usize = words
        .iter()
        .map(|(w, word)| {
            w.len()
                + 16
                + word
                    .videos
                    .iter()
                    .map(|&v| videos[v as usize].1.id.len() + 6)
                    .sum::<usize>()
        })
        .sum();
    let shards = bytes.div_ceil(SHARD_BYTES).max(1).next_power_of_two();
    let mut by_shard: Vec<Vec<(&str, &Word)>> = vec![Vec::new(); shards];
    for (w, word) in &words {
        by_shard[fnv1a(w.as_bytes()) as usize % shards].push((w, word));
    }
    let mut out = Vec::with_capacity(shards);
    for mut shard in by_shard {
        shard.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut json = br#"{"v":1,"words":{"#.to_vec();
        for (i, (w, word)) in shard.iter().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            super::write_json(&mut json, w);
            json.extend_from_slice(format!(r#":{{"n":{},"r":["#, word.count).as_bytes());
            for (j, &v) in word.videos.iter().enumerate() {
                let (site, entry) = videos[v as usize];
                if j > 0 {
                    json.push(b',');
                }
                json.extend_from_slice(format!("{site},").as_bytes());
                super::write_json(&mut json, &entry.id);
            }
            json.extend_from_slice(b"]}");
        }
        json.extend_from_slice(b"}}\n");
        out.push(json);
    }
    SearchIndex { shards: out }
}
