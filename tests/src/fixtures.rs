//! Fixtures for the tests and the benchmarks: records with made-up CIDs and CARs of them, built
//! with the library; yt-dlp-like downloads; archived videos and catalogues made by running the
//! `ingest` binary.
//!
//! Every use of the library's record and CAR types by a fixture is in this module, and its users
//! take [`Record`] and [`Role`] from here: when the library's paths move, only this file changes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use ingest_core::archive::{Meta, RecordFile, Source};
pub use ingest_core::archive::{Record, Role};
use ingest_core::car::CarWriter;
use ingest_core::unixfs::{cid_of, CidVersion, RAW};

use crate::Content;

/// Builds a [`Record`] of `site`/`id` under `unixfs-v1-2025`, whose files have made-up CIDs:
/// each file's CID is the raw CID of its name, so a record is cheap to make by the million and
/// never needs its files' bytes. Metadata not set is left out.
#[derive(Clone, Debug)]
pub struct RecordBuilder {
    record: Record,
}

impl RecordBuilder {
    /// A record of `site`/`id` with no URL, no files and no metadata.
    pub fn new(site: impl Into<String>, id: impl Into<String>) -> Self {
        RecordBuilder {
            record: Record {
                profile: "unixfs-v1-2025".into(),
                source: Source {
                    site: site.into(),
                    id: id.into(),
                    url: None,
                },
                files: Vec::new(),
                meta: Meta::default(),
            },
        }
    }

    /// The video's page.
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.record.source.url = Some(url.into());
        self
    }

    /// One more file of `size` bytes (its DAG size too), with the raw CID of `name` as its CID.
    pub fn file(mut self, role: Role, name: impl Into<String>, size: u64) -> Self {
        let name = name.into();
        self.record.files.push(RecordFile {
            role,
            cid: cid_of(CidVersion::V1, RAW, name.as_bytes()),
            name,
            size,
            dag_size: size,
            format_id: None,
        });
        self
    }

    /// The title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.record.meta.title = Some(title.into());
        self
    }

    /// The uploader.
    pub fn uploader(mut self, uploader: impl Into<String>) -> Self {
        self.record.meta.uploader = Some(uploader.into());
        self
    }

    /// The upload date, `YYYYMMDD`.
    pub fn upload_date(mut self, date: impl Into<String>) -> Self {
        self.record.meta.upload_date = Some(date.into());
        self
    }

    /// The duration in milliseconds.
    pub fn duration_ms(mut self, ms: u64) -> Self {
        self.record.meta.duration_ms = Some(ms);
        self
    }

    /// The tags, in this order.
    pub fn tags(mut self, tags: Vec<String>) -> Self {
        self.record.meta.tags = tags;
        self
    }

    /// The record.
    pub fn build(self) -> Record {
        self.record
    }
}

/// Writes `records` into a CARv1 at `path` (no roots, one block a record), under
/// `path.with_extension("partial")` then renamed, so an interrupted run leaves no truncated CAR
/// under its final name.
pub fn write_records_car(path: &Path, records: impl IntoIterator<Item = Record>) {
    let tmp = path.with_extension("partial");
    let mut car = CarWriter::new(std::fs::File::create(&tmp).unwrap(), &[]).unwrap();
    for r in records {
        car.write_block(&r.cid().unwrap(), &r.encode().unwrap())
            .unwrap();
    }
    car.finish().unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A yt-dlp-like download in `dir`: `vid.info.json` (of youtube/vid, with `extra` merged in),
/// `vid.mp4`, `vid.jpg`.
pub fn fake_download(dir: &Path, extra: serde_json::Value) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("vid.mp4"), Content::bytes("fake-video", 300_000)).unwrap();
    std::fs::write(dir.join("vid.jpg"), Content::bytes("fake-thumb", 2_000)).unwrap();
    let mut info = serde_json::json!({
        "id": "vid", "extractor": "youtube", "extractor_key": "Youtube",
        "webpage_url": "https://www.youtube.com/watch?v=vid",
        "title": "A video", "uploader": "Someone", "upload_date": "20240102",
        "duration": 12.5, "tags": ["a", "b"], "width": 640, "height": 360,
        "format_id": "18", "ext": "mp4",
        "formats": [{"format_id": "18", "ext": "mp4", "vcodec": "avc1", "acodec": "mp4a",
                     "url": "https://rr1.example/videoplayback?expire=1&sig=AAA"}],
        "epoch": 1700000000, "view_count": 10, "like_count": 1,
    });
    for (k, v) in extra.as_object().unwrap() {
        info[k] = v.clone();
    }
    let path = dir.join("vid.info.json");
    std::fs::write(&path, serde_json::to_vec(&info).unwrap()).unwrap();
    path
}

/// What a finished child printed on stdout (UTF-8, or a panic).
pub fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// What a finished child printed on stderr (lossy: it goes into failure messages).
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `ingest` binary: `Cli::new(env!("CARGO_BIN_EXE_ingest"))` in `ingest-cli`'s tests. The
/// fixtures made by running it panic, naming its stderr, when it fails.
#[derive(Clone, Debug)]
pub struct Cli {
    bin: PathBuf,
}

impl Cli {
    /// The binary at `bin`.
    pub fn new(bin: impl Into<PathBuf>) -> Self {
        Cli { bin: bin.into() }
    }

    /// A command running it, for a test that sets stdin, the environment or spawns it.
    pub fn command(&self) -> Command {
        Command::new(&self.bin)
    }

    /// Runs it with `args` and nothing on stdin, to its end.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command()
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("ingest runs")
    }

    /// `ingest archive --json --car INFO --out OUT`: what it printed.
    pub fn archive_json(&self, info: &Path, out: &Path) -> serde_json::Value {
        let out = self.run(&[
            "archive",
            "--json",
            "--car",
            info.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str(stdout(&out).trim()).unwrap()
    }

    /// Archives `n` small generated files (`out/data/<site>-<i>.mp4`) as `site`/`v<i>`, titled
    /// `<tag> <i>`, into `out/records`, each with its CAR; returns the records' paths.
    pub fn archive_many(&self, out: &Path, site: &str, n: usize, tag: &str) -> Vec<PathBuf> {
        let data = out.join("data");
        std::fs::create_dir_all(&data).unwrap();
        (0..n)
            .map(|i| {
                let file = data.join(format!("{site}-{i}.mp4"));
                std::fs::write(
                    &file,
                    Content::bytes(&format!("{site}-{i}"), 1000 + i as u64),
                )
                .unwrap();
                let dir = out.join("records");
                let title = format!("{tag} {i}");
                let o = self.run(&[
                    "archive",
                    file.to_str().unwrap(),
                    "--site",
                    site,
                    "--id",
                    &format!("v{i}"),
                    "--title",
                    &title,
                    "--out",
                    dir.to_str().unwrap(),
                    "--car",
                    "-q",
                ]);
                assert!(o.status.success(), "{}", stderr(&o));
                dir.join(format!("{site}-v{i}.record.cbor"))
            })
            .collect()
    }

    /// `ingest merge --json ARGS` (records, `--out` the catalogue CAR, `--base`…): the
    /// catalogue's root and the merge summary.
    pub fn merge_root(&self, args: &[&str]) -> (String, serde_json::Value) {
        let mut argv = vec!["merge", "--json"];
        argv.extend_from_slice(args);
        let out = self.run(&argv);
        assert!(out.status.success(), "{}", stderr(&out));
        let summary: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        (summary["root"].as_str().unwrap().to_owned(), summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_record_is_valid_and_round_trips() {
        let record = RecordBuilder::new("youtube", "v1")
            .url("https://www.youtube.com/watch?v=v1")
            .file(Role::Video, "v1.mp4", 1000)
            .file(Role::Thumbnail, "v1.jpg", 10)
            .title("A title")
            .tags(vec!["a".into()])
            .build();
        record.validate().unwrap();
        assert_eq!(record.files[0].cid, cid_of(CidVersion::V1, RAW, b"v1.mp4"));
        assert_eq!(Record::decode(&record.encode().unwrap()).unwrap(), record);
    }
}
