//! Files a browser would run: never part of an archive.
//!
//! Everything a record lists ends up inside the site's directory (`catalogue/<site>/<id>/…`), on
//! the site's origin (on a subdomain gateway, the origin of the whole archive). A file a browser
//! opens as a page or runs as a script there (HTML, XHTML, SVG, XML, JavaScript, WebAssembly,
//! Flash) could read and change everything the site shows. So such a file is refused:
//!
//! - by its name ([`by_name`]): the extensions gateways serve with such a media type; every
//!   record is checked (`archive`, `fetch`, `merge`, `record check` all validate records);
//! - by its first bytes ([`by_content`]): what a gateway that sniffs an unknown type, or a
//!   browser that sniffs a mislabelled one, would take for HTML or XML (the "scriptable" patterns
//!   of the WHATWG MIME Sniffing standard); checked where the bytes are at hand (`archive`,
//!   `fetch`, `record check --data`, `push`).
//!
//! MPEG transport streams (`.ts`, what yt-dlp writes for HLS) are media, not TypeScript.

/// Extensions (lower case) of files a browser runs as a page or a script.
const ACTIVE_EXTENSIONS: &[(&str, &str)] = &[
    ("html", "HTML"),
    ("htm", "HTML"),
    ("shtml", "HTML"),
    ("xhtml", "XHTML"),
    ("xht", "XHTML"),
    ("hta", "HTML"),
    ("mht", "MHTML"),
    ("mhtml", "MHTML"),
    ("svg", "SVG"),
    ("svgz", "SVG"),
    ("xml", "XML"),
    ("xsl", "XSLT"),
    ("xslt", "XSLT"),
    ("rdf", "XML"),
    ("mml", "MathML"),
    ("xbl", "XBL"),
    ("js", "JavaScript"),
    ("mjs", "JavaScript"),
    ("cjs", "JavaScript"),
    ("jsx", "JavaScript"),
    ("wasm", "WebAssembly"),
    ("swf", "Flash"),
];

/// The patterns (after leading white space, case-insensitive, followed by a space or `>`)
/// whose presence makes a sniffer call a resource HTML, from the MIME Sniffing standard.
const HTML_PATTERNS: &[&[u8]] = &[
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<body",
    b"<br",
    b"<p",
];

/// What kind of active file `name` is by its extension, if it is one.
pub fn by_name(name: &str) -> Option<&'static str> {
    let (_, ext) = name.rsplit_once('.')?;
    ACTIVE_EXTENSIONS
        .iter()
        .find(|(e, _)| e.eq_ignore_ascii_case(ext))
        .map(|(_, kind)| *kind)
}

/// What kind of active file bytes starting with `head` look like, if they look like one
/// (`head`: the first 512 bytes or fewer, as a sniffer reads).
pub fn by_content(head: &[u8]) -> Option<&'static str> {
    let mut rest = head;
    for bom in [&b"\xef\xbb\xbf"[..], b"\xfe\xff", b"\xff\xfe"] {
        if let Some(r) = rest.strip_prefix(bom) {
            rest = r;
            break;
        }
    }
    let start = rest
        .iter()
        .position(|b| !matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' '))?;
    let rest = &rest[start..];
    let starts = |pattern: &[u8]| {
        rest.len() >= pattern.len() && rest[..pattern.len()].eq_ignore_ascii_case(pattern)
    };
    let tag_ends = |pattern: &[u8]| matches!(rest.get(pattern.len()), Some(b' ' | b'>'));
    if HTML_PATTERNS.iter().any(|p| starts(p) && tag_ends(p)) || starts(b"<!--") {
        return Some("HTML");
    }
    if starts(b"<?xml") {
        return Some("XML");
    }
    if starts(b"<svg") {
        return Some("SVG");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_pages_and_scripts() {
        for name in [
            "a.html", "A.HTM", "x.svg", "x.SVGZ", "p.xhtml", "feed.xml", "s.js", "m.mjs",
        ] {
            assert!(by_name(name).is_some(), "{name}");
        }
        for name in [
            "v.mp4",
            "a.m4a",
            "s.en.vtt",
            "s.srt",
            "t.jpg",
            "t.webp",
            "seg.ts",
            "x.description",
            "html",
            "noext",
        ] {
            assert_eq!(by_name(name), None, "{name}");
        }
    }

    #[test]
    fn bytes_a_sniffer_takes_for_a_page() {
        for head in [
            &b"<!DOCTYPE html><html>"[..],
            b"  \n<html>",
            b"\xef\xbb\xbf<script src=x>",
            b"<svg xmlns='http://www.w3.org/2000/svg'>",
            b"<?xml version='1.0'?>",
            b"<p>hello",
            b"<!-- x -->",
            b"<B>bold</B>",
        ] {
            assert!(
                by_content(head).is_some(),
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
        for head in [
            &b"\x00\x00\x00\x20ftypisom"[..],
            b"WEBVTT\n\n00:00.000 --> 00:01.000\n<b>bold</b>",
            b"1\n00:00:01,000 --> 00:00:02,000\nHi",
            b"\xff\xd8\xff\xe0JFIF",
            b"<pre>", // not a pattern: <p must end the tag
            b"A description.",
            b"",
        ] {
            assert_eq!(
                by_content(head),
                None,
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
    }
}
