//! The words of a text, as the site's search index and its pages both cut them, and the hash
//! that puts a word in its shard. The page script (`assets/app.js`) implements the same two
//! functions; a change here is a change there.

/// The fewest Unicode code points a word has to be indexed.
pub const MIN_WORD_CHARS: usize = 2;
/// The most UTF-8 bytes a word may have to be indexed.
pub const MAX_WORD_BYTES: usize = 64;

/// Calls `f` with every word of `text`: the text lower-cased, cut into maximal runs of
/// alphabetic and numeric characters (JavaScript: `/[\p{Alphabetic}\p{N}]+/gu` over
/// `toLowerCase()`), keeping the words of at least [`MIN_WORD_CHARS`] code points and at most
/// [`MAX_WORD_BYTES`] bytes.
pub fn for_each_word(text: &str, f: impl FnMut(&str)) {
    Tokenizer::default().for_each_word(text, f);
}

/// [`for_each_word`] over many texts, with one buffer for their lower-cased copies.
#[derive(Debug, Default)]
pub struct Tokenizer {
    lower: String,
}

impl Tokenizer {
    /// Calls `f` with every word of `text`, as [`for_each_word`] does.
    pub fn for_each_word(&mut self, text: &str, mut f: impl FnMut(&str)) {
        self.lower.clear();
        if text.is_ascii() {
            // The same cut, byte by byte: an ASCII character is alphabetic or numeric exactly
            // when it is an ASCII letter or digit, and is one byte.
            self.lower.push_str(text);
            self.lower.make_ascii_lowercase();
            self.lower
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| (MIN_WORD_CHARS..=MAX_WORD_BYTES).contains(&w.len()))
                .for_each(&mut f);
            return;
        }
        self.lower.push_str(&text.to_lowercase());
        self.lower
            .split(|c: char| !(c.is_alphabetic() || c.is_numeric()))
            .filter(|w| w.len() <= MAX_WORD_BYTES && w.chars().nth(MIN_WORD_CHARS - 1).is_some())
            .for_each(&mut f);
    }
}

/// 32-bit FNV-1a of `bytes` (offset basis 0x811c9dc5, prime 0x01000193).
pub fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for_each_word(text, |w| out.push(w.to_owned()));
        out
    }

    #[test]
    fn words_are_lower_cased_runs_of_letters_and_digits() {
        assert_eq!(
            words("Cats & DOGS: 2024's best-of (Part 2) a"),
            ["cats", "dogs", "2024", "best", "of", "part"]
        );
        assert_eq!(
            words("Ünïcödé ΣΊΣΥΦΟΣ façade"),
            ["ünïcödé", "σίσυφος", "façade"]
        );
        assert_eq!(words("日本語の動画"), ["日本語の動画"]);
        let long = "x".repeat(MAX_WORD_BYTES + 1);
        assert_eq!(words(&format!("{long} ok")), ["ok"]);
    }

    #[test]
    fn fnv1a_matches_the_published_test_values() {
        // From the FNV reference test suite (draft-eastlake-fnv).
        assert_eq!(fnv1a(b""), 0x811c_9dc5);
        assert_eq!(fnv1a(b"a"), 0xe40c_292c);
        assert_eq!(fnv1a(b"foobar"), 0xbf9c_f968);
    }
}
