//! The test kit shared by the integration tests and the benchmarks: a port of the vectors'
//! content generator, the vectors themselves, a fault-injecting HTTP server ([`http`]) and
//! fixtures (records, CARs, archived videos, catalogues: [`fixtures`]), and real IPFS components
//! started by the scripts in `tests/` ([`ipfs`], [`videosite`]: a local video site and the
//! pinned yt-dlp).
//!
//! Expected CIDs only ever come from `fixtures/vectors` (made by kubo and the JS importers) or
//! from the JS reference in `tests/reference`, never from this project's own output.

pub mod fixtures;
pub mod gateway;
pub mod http;
pub mod ipfs;
pub mod measure;
pub mod trustless;
pub mod videosite;

use std::io::{self, Read};
use std::path::PathBuf;

use serde::Deserialize;
use sha2::block_api::compress256;
use sha2::{Digest, Sha256};

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// The vectors' content generator (`fixtures/vectors/README.md`):
///
/// ```text
/// content(seed, size) = SHA256(utf8(seed) || u64le(0)) || SHA256(utf8(seed) || u64le(1)) || …
///                       truncated to size bytes
/// ```
///
/// It streams: a 7.9 GB vector never exists in memory or on disk. For seeds of up to 47 bytes
/// each 32-byte piece is one SHA-256 compression of a single padded block, computed directly
/// with `compress256` (about 2.5 × faster than going through `Digest` for 40-byte messages);
/// longer seeds take the plain `Digest` path.
#[derive(Clone, Debug)]
pub struct Content {
    seed: Vec<u8>,
    size: u64,
    pos: u64,
    /// The padded single block, counter at `seed.len()..seed.len() + 8`.
    block: Option<[u8; 64]>,
}

impl Content {
    /// The content of `(seed, size)`, from its start.
    pub fn new(seed: &str, size: u64) -> Self {
        let seed = seed.as_bytes().to_vec();
        let block = (seed.len() + 8 < 56).then(|| {
            let mut b = [0u8; 64];
            b[..seed.len()].copy_from_slice(&seed);
            b[seed.len() + 8] = 0x80;
            let bits = ((seed.len() + 8) * 8) as u64;
            b[56..].copy_from_slice(&bits.to_be_bytes());
            b
        });
        Content {
            seed,
            size,
            pos: 0,
            block,
        }
    }

    /// The whole content in memory (small sizes only).
    pub fn bytes(seed: &str, size: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(size as usize);
        Content::new(seed, size)
            .read_to_end(&mut out)
            .expect("reading generated content cannot fail");
        out
    }

    /// Piece `i`: SHA-256(seed || u64le(i)).
    fn piece(&mut self, i: u64) -> [u8; 32] {
        let mut out = [0u8; 32];
        match &mut self.block {
            Some(block) => {
                let n = self.seed.len();
                block[n..n + 8].copy_from_slice(&i.to_le_bytes());
                let mut state = IV;
                compress256(&mut state, std::slice::from_ref(block));
                for (o, s) in out.chunks_exact_mut(4).zip(state) {
                    o.copy_from_slice(&s.to_be_bytes());
                }
            }
            None => {
                let mut h = Sha256::new();
                h.update(&self.seed);
                h.update(i.to_le_bytes());
                out.copy_from_slice(&h.finalize());
            }
        }
        out
    }
}

impl Read for Content {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = (buf.len() as u64).min(self.size - self.pos) as usize;
        let mut done = 0;
        while done < want {
            let piece = self.piece(self.pos / 32);
            let skip = (self.pos % 32) as usize;
            let n = (32 - skip).min(want - done);
            buf[done..done + n].copy_from_slice(&piece[skip..skip + n]);
            done += n;
            self.pos += n as u64;
        }
        Ok(done)
    }
}

/// The vectors: `fixtures/vectors` in this repository.
pub fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/vectors")
}

/// One entry of `fixtures/vectors/files.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct FileVector {
    /// Generator seed.
    pub seed: String,
    /// Content bytes.
    pub size: u64,
    /// Profile name.
    pub profile: String,
    /// The expected root CID.
    pub cid: String,
    /// Distinct blocks reachable from the root.
    pub blocks: u64,
    /// SHA-256 of the whole content, hex.
    pub sha256: String,
    /// Implementations that produced the CID.
    pub source: Vec<String>,
}

#[derive(Deserialize)]
struct FilesJson {
    files: Vec<FileVector>,
}

/// Every file vector.
pub fn file_vectors() -> Vec<FileVector> {
    let path = vectors_dir().join("files.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let parsed: FilesJson = serde_json::from_str(&text).expect("files.json parses");
    parsed.files
}

/// One explicit file of a directory vector.
#[derive(Clone, Debug, Deserialize)]
pub struct DirFile {
    /// Path below the root, `/`-separated.
    pub path: String,
    /// Generator seed.
    pub seed: String,
    /// Content bytes.
    pub size: u64,
}

/// `count` generated files in one directory of a directory vector.
#[derive(Clone, Debug, Deserialize)]
pub struct Pattern {
    /// The directory, `""` for the root.
    pub dir: String,
    /// Number of files.
    pub count: u64,
    /// Python format string of the names over `i`.
    pub name: String,
    /// Python format string of the seeds over `i`.
    pub seed: String,
    /// Bytes per file.
    pub size: u64,
}

/// One entry of `fixtures/vectors/dirs.json`.
#[derive(Clone, Debug, Deserialize)]
pub struct DirVector {
    /// The vector's name (shared by its profiles).
    pub name: String,
    /// What it exercises.
    pub description: String,
    /// Explicit files.
    #[serde(default)]
    pub entries: Vec<DirFile>,
    /// Generated files.
    #[serde(default)]
    pub patterns: Vec<Pattern>,
    /// Empty directories.
    #[serde(default)]
    pub empty_dirs: Vec<String>,
    /// Profile name.
    pub profile: String,
    /// The expected root CID.
    pub cid: String,
    /// `directory` or `hamt-sharded-directory`.
    pub root_type: String,
    /// Distinct blocks reachable from the root.
    pub blocks: u64,
    /// Implementations that produced the CID.
    pub source: Vec<String>,
}

/// Formats the Python format strings the vectors use: `{i}` and `{i:0Nd}`.
pub fn format_i(template: &str, i: u64) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = start + rest[start..].find('}').expect("a closing brace");
        let spec = &rest[start + 1..end];
        match spec.strip_prefix("i:0").and_then(|s| s.strip_suffix('d')) {
            Some(width) => {
                let width: usize = width.parse().expect("a width");
                out.push_str(&format!("{i:0width$}"));
            }
            None if spec == "i" => out.push_str(&i.to_string()),
            None => panic!("unsupported format {spec:?} in {template:?}"),
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

impl DirVector {
    /// Every file: explicit entries, then each pattern expanded.
    pub fn files(&self) -> Vec<DirFile> {
        let mut files = self.entries.clone();
        for p in &self.patterns {
            for i in 0..p.count {
                let name = format_i(&p.name, i);
                files.push(DirFile {
                    path: if p.dir.is_empty() {
                        name
                    } else {
                        format!("{}/{name}", p.dir)
                    },
                    seed: format_i(&p.seed, i),
                    size: p.size,
                });
            }
        }
        files
    }

    /// Writes the tree below `root` (which must not exist yet), as `tests/reference/build_dir.py`
    /// does.
    pub fn materialize(&self, root: &std::path::Path) -> io::Result<()> {
        std::fs::create_dir_all(root)?;
        for d in &self.empty_dirs {
            std::fs::create_dir_all(root.join(d))?;
        }
        for f in self.files() {
            let path = root.join(&f.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&path, Content::bytes(&f.seed, f.size))?;
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct DirsJson {
    directories: Vec<DirVector>,
}

/// Every directory vector.
pub fn dir_vectors() -> Vec<DirVector> {
    let path = vectors_dir().join("dirs.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let parsed: DirsJson = serde_json::from_str(&text).expect("dirs.json parses");
    parsed.directories
}

/// The file vectors whose size passes `keep`, grouped by content (seed and size), so each content
/// is generated once for all its profiles.
pub fn file_vectors_by_content(
    keep: impl Fn(u64) -> bool,
) -> std::collections::BTreeMap<(String, u64), Vec<FileVector>> {
    let mut groups: std::collections::BTreeMap<_, Vec<_>> = std::collections::BTreeMap::new();
    for v in file_vectors().into_iter().filter(|v| keep(v.size)) {
        groups.entry((v.seed.clone(), v.size)).or_default().push(v);
    }
    groups
}

/// What importing a vector's content gave: root CID, distinct blocks, bytes of content.
pub type Imported = (String, u64, u64);

/// Generates `(seed, size)` once and streams it into SHA-256 and one importer per vector of
/// `vectors` (all of that content); panics unless the content matches the vectors' `sha256`.
/// Returns what each importer gave, in the order of `vectors`.
pub fn import_content_for(seed: &str, size: u64, vectors: &[FileVector]) -> Vec<Imported> {
    use ingest_core::unixfs::{CountingSink, FileImporter, Profile};
    let mut sha = Sha256::new();
    let mut importers: Vec<_> = vectors
        .iter()
        .map(|v| {
            let profile = Profile::by_name(&v.profile).expect("vector names a known profile");
            FileImporter::new(&profile, CountingSink::default())
        })
        .collect();
    for piece in generate_in_background(seed, size, 4 << 20) {
        sha.update(&piece);
        for importer in &mut importers {
            importer
                .push(&piece)
                .expect("importing into a counting sink cannot fail");
        }
    }
    assert_eq!(
        hex(&sha.finalize()),
        vectors[0].sha256,
        "content of {seed}/{size}"
    );
    importers
        .into_iter()
        .map(|importer| {
            let (summary, sink) = importer.finish().expect("finishing an import cannot fail");
            (
                summary.root.to_string(),
                sink.distinct() as u64,
                summary.file_size,
            )
        })
        .collect()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Generates `(seed, size)` on a background thread in pieces of `piece` bytes, so the test
/// hashing it and the generator use both cores. At most two pieces wait at a time.
pub fn generate_in_background(
    seed: &str,
    size: u64,
    piece: usize,
) -> std::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = std::sync::mpsc::sync_channel(2);
    let mut content = Content::new(seed, size);
    std::thread::spawn(move || loop {
        let mut buf = vec![0u8; piece];
        let mut filled = 0;
        while filled < piece {
            match content.read(&mut buf[filled..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => filled += n,
            }
        }
        if filled == 0 {
            return;
        }
        buf.truncate(filled);
        if tx.send(buf).is_err() {
            return;
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_matches_the_documented_check() {
        // vectors/README.md: content("public-0", 32).
        assert_eq!(
            hex(&Content::bytes("public-0", 32)),
            "76ff6c54333dcdfd963bf00a02d26df1cd63c788510ee80dcb497493a4cafd7e"
        );
    }

    #[test]
    fn fast_path_equals_the_plain_definition() {
        let long_seed = "x".repeat(60);
        for seed in ["a", "public-dir-flat-0", long_seed.as_str()] {
            let got = Content::bytes(seed, 100);
            let mut want = Vec::new();
            for i in 0..4u64 {
                let mut h = Sha256::new();
                h.update(seed.as_bytes());
                h.update(i.to_le_bytes());
                want.extend_from_slice(&h.finalize());
            }
            assert_eq!(got, want[..100], "{seed}");
        }
    }

    #[test]
    fn python_formats() {
        assert_eq!(format_i("video-{i:06d}", 123), "video-000123");
        assert_eq!(format_i("public-v1thr-{i}", 7), "public-v1thr-7");
        assert_eq!(format_i("f-{i:028d}", 1).len(), 30);
    }

    #[test]
    fn odd_reads_give_the_same_bytes() {
        let whole = Content::bytes("odd", 1000);
        let mut c = Content::new("odd", 1000);
        let mut got = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = c.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, whole);
    }
}
