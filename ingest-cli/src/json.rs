//! What `--json` prints: one struct per kind of JSON line, the contract scripts rely on.
//!
//! Every output is declared here, in one module, rather than beside each command: this file is
//! the whole contract in one place, section by section as [docs/json.md](../../docs/json.md)
//! describes it, so a change to what scripts see is one diff to review (here and in the doc)
//! and the commands only fill the structs in. (`fetch` and `push`/`publish` still build their
//! lines in their own modules; `fetch` extends [`Archive`]'s object.)
//!
//! The shape is the structs': serde writes the fields in declaration order (the order is part
//! of the output, so keep it); an `Option` is `null` when it has no value, unless it is marked
//! to be omitted (`skip_serializing_if`), which the doc calls "only when". A CID is always a
//! string in its usual text form; sizes are integers, in bytes.

use serde::{Serialize, Serializer};

/// `ingest add`: one line per entry (every file and directory with `-r`, the root last; the
/// root alone with `-Q`).
#[derive(Debug, Serialize)]
pub struct Add {
    /// The entry's path as shown (`added <CID> <NAME>`): a file's name, `<dir>/<path below
    /// it>`; the CID for standard input; `""` for the wrapping directory of `-w`.
    pub name: String,
    /// Its CID.
    pub cid: String,
    /// `file`, `directory` or `symlink`.
    pub kind: &'static str,
    /// Bytes of content: a file's size, a symlink target's length, or the total of the files
    /// below a directory.
    pub size: u64,
    /// Bytes of every block under and including the entry (its Tsize).
    pub dag_size: u64,
    /// The profile's name: a preset, or `custom-…` after overrides.
    pub profile: String,
}

/// `ingest archive`: the one line for the archived video (also the base of `fetch`'s
/// `"status": "archived"` line).
#[derive(Debug, Serialize)]
pub struct Archive {
    /// The video's site.
    pub site: String,
    /// Its id.
    pub id: String,
    /// The record's profile.
    pub profile: String,
    /// The record's CID (DAG-CBOR, `bafyrei…`).
    pub record: String,
    /// The per-video directory's CID.
    pub directory: String,
    /// The CID of the video's main file (its first video file, else its first audio file, else
    /// its first file).
    pub video: String,
    /// Every file of the record, in its order.
    pub files: Vec<ArchiveFile>,
    /// Where the record was written.
    pub record_path: String,
    /// Where the CAR was written (`--car`), or null.
    pub car_path: Option<String>,
    /// Each sign that a file was merged or post-processed (also printed on standard error).
    pub warnings: Vec<String>,
}

/// One file of an [`Archive`].
#[derive(Debug, Serialize)]
pub struct ArchiveFile {
    /// Its name in the per-video directory.
    pub name: String,
    /// `video`, `audio`, `thumbnail`, `subtitles`, `description` or `other`.
    pub role: &'static str,
    /// Its UnixFS root.
    pub cid: String,
    /// Bytes of content.
    pub size: u64,
    /// Bytes of every block of its DAG.
    pub dag_size: u64,
}

/// `ingest record check --data`: one line per file checked, in the record's order (before the
/// [`RecordCheck`] line).
#[derive(Debug, Serialize)]
pub struct RecordFileCheck {
    /// The file's name.
    pub name: String,
    /// The CID the record names.
    pub cid: String,
    /// `ok`; `missing: <why>`; or `differs: the file gives <CID> (<N> bytes, dag size <N>),
    /// the record says <CID> (<N> bytes, dag size <N>)`.
    pub result: String,
}

/// `ingest record check`: the line for the record, last.
#[derive(Debug, Serialize)]
pub struct RecordCheck {
    /// The record's CID.
    pub record: String,
    /// Its per-video directory's CID.
    pub directory: String,
    /// The video's site.
    pub site: String,
    /// The video's id.
    pub id: String,
    /// Whether `--data` was given (whether the files were checked at all).
    pub files_checked: bool,
    /// Files that are missing or differ.
    pub failed: u64,
}

/// `ingest car`: the one line.
#[derive(Debug, Serialize)]
pub struct Car {
    /// The record's CID.
    pub record: String,
    /// The per-video directory's CID: the CAR's root.
    pub directory: String,
    /// The CAR written.
    pub out: String,
}

/// `ingest merge`: the one line.
#[derive(Debug, Serialize)]
pub struct Merge {
    /// The new catalogue's root.
    pub root: String,
    /// The catalogue's profile.
    pub profile: String,
    /// Records that were not in the catalogue before.
    pub added: u64,
    /// Records already there (or given twice).
    pub unchanged: u64,
    /// Each video with more than one record, among those this merge touched.
    pub conflicts: Vec<MergeConflict>,
    /// Each record left out, and why (exit status 3).
    pub rejected: Vec<String>,
    /// Blocks read from the base.
    pub blocks_read: u64,
    /// Blocks the merge wrote (new directories and records).
    pub blocks_written: u64,
    /// Blocks of the base copied unchanged.
    pub blocks_copied: u64,
    /// The catalogue CAR written.
    pub out: String,
    /// Only with `--delta`: the delta CAR written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta: Option<String>,
    /// Only with `--delta`: its blocks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delta_blocks: Option<u64>,
    /// Only when `--base` or `--records` read from IPFS: what was fetched, per gateway or node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fetched: Option<Vec<FetchedFrom>>,
}

/// A video with more than one record, in a [`Merge`].
#[derive(Debug, Serialize)]
pub struct MergeConflict {
    /// The video's site.
    pub site: String,
    /// The video's id.
    pub id: String,
    /// The record at `<site>/<id>/` (the smallest CID).
    pub winner: String,
    /// The records under `_conflicts/<site>/<id>/`.
    pub others: Vec<String>,
}

/// `ingest ls`: one line per video, in name order.
#[derive(Debug, Serialize)]
pub struct LsVideo {
    /// The video's site.
    pub site: String,
    /// The video's id.
    pub id: String,
    /// Its record's CID.
    pub record: String,
    /// Its main file's CID.
    pub video: String,
    /// Its per-video directory's CID.
    pub directory: String,
    /// The record's title, or null.
    pub title: Option<String>,
}

/// `ingest todo`: one line per video to do, in the order of the `--ids` file.
#[derive(Debug, Serialize)]
pub struct Todo {
    /// The site the line names; `""` for a line with a bare id.
    pub site: String,
    /// The id.
    pub id: String,
}

/// `ingest get`: the one line.
#[derive(Debug, Serialize)]
pub struct Get {
    /// The CID the source resolved to.
    pub cid: String,
    /// The file or directory written.
    pub out: String,
    /// Files written.
    pub files: u64,
    /// Directories written (the top one included).
    pub directories: u64,
    /// Symbolic links written.
    pub symlinks: u64,
    /// Bytes of file content written.
    pub bytes: u64,
    /// What was fetched, per gateway or node.
    pub fetched: Vec<FetchedFrom>,
    /// Blocks read from the cache.
    pub cached_blocks: u64,
}

/// `ingest site`: the one line.
#[derive(Debug, Serialize)]
pub struct Site {
    /// The site's root directory.
    pub root: String,
    /// The catalogue it shows (linked at `catalogue/`).
    pub catalogue: String,
    /// The CAR written.
    pub out: String,
    /// `ingest <version>`.
    pub generator: &'static str,
    /// Videos listed, over every site.
    pub videos: u64,
    /// Site name → its number of videos: a JSON object, its keys in this order.
    #[serde(serialize_with = "as_object")]
    pub sites: Vec<(String, u64)>,
    /// Listing pages, over every site.
    pub pages: u64,
    /// Listing pages the base already had (the same block).
    pub pages_reused: u64,
    /// Records read from the catalogue (the others came from the base's pages).
    pub records_read: u64,
    /// Search shards.
    pub search_shards: u64,
    /// Videos with conflicting records.
    pub conflicts: u64,
    /// Distinct blocks of the site written (the catalogue's aside).
    pub blocks: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// Pairs as one JSON object, in their order.
fn as_object<S: Serializer>(pairs: &[(String, u64)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

/// `ingest profiles`: one line per preset, the default first (the text output prints the same
/// fields but `name` and `default`, in this order).
#[derive(Debug, Serialize)]
pub struct Profile {
    /// `unixfs-v1-2025`, `unixfs-v0-2015` or `kubo-cidv1`.
    pub name: String,
    /// Whether it is the default.
    pub default: bool,
    /// 0 or 1.
    pub cid_version: u8,
    /// `sha2-256`.
    pub hash: &'static str,
    /// `size-<N>`.
    pub chunker: String,
    /// `balanced`.
    pub layout: &'static str,
    /// Links per internal file node.
    pub max_links: usize,
    /// Whether leaves are raw blocks.
    pub raw_leaves: bool,
    /// Bytes of the size estimate above which a directory is sharded.
    pub hamt_threshold: u64,
    /// `block-bytes` or `links-bytes`.
    pub hamt_size_estimate: &'static str,
    /// 256.
    pub hamt_fanout: u32,
    /// `murmur3-x64-64`.
    pub hamt_hash: &'static str,
    /// `"import"`, to tell these lines from the download profiles'.
    pub kind: &'static str,
}

/// `ingest verify`: the one line.
#[derive(Debug, Serialize)]
pub struct Verify {
    /// The path given.
    pub path: String,
    /// The CID asked about.
    pub cid: String,
    /// Whether some setting gives it (exit status 0, else 1).
    #[serde(rename = "match")]
    pub is_match: bool,
    /// `file`, `directory` or `symlink` (a symlink given as the path is followed).
    pub kind: &'static str,
    /// Bytes of content: the file's size, or the total of the files below a directory (0 when
    /// nothing was read).
    pub size: u64,
    /// Whether any content was read (not when the CID alone settled it).
    pub read: bool,
    /// Settings whose result was computed.
    pub tried: usize,
    /// Every setting that gives the CID, the simplest first.
    pub matches: Vec<VerifyMatch>,
    /// When nothing matched: why, the most telling first (empty otherwise).
    pub reasons: Vec<VerifyReason>,
}

/// A setting that gives the CID, in a [`Verify`].
#[derive(Debug, Serialize)]
pub struct VerifyMatch {
    /// As printed: `profile P [with FLAGS]`.
    pub setting: String,
    /// The preset.
    pub profile: String,
    /// The flags on top of the preset (`--cid-version`, `1`, `--raw-leaves=false`,
    /// `--chunker`, `size-N`, `--max-links`, `N`, `-w` last).
    pub flags: Vec<String>,
    /// Whether the content was wrapped in a directory (`-w`).
    pub wrapped: bool,
    /// The CID the setting gives.
    pub cid: String,
    /// Whether that is the CID asked about; when not, the CID asked about names the same root
    /// block in the other CID version.
    pub exact: bool,
    /// The parameters of the setting.
    pub parameters: VerifyParameters,
}

/// The parameters of a [`VerifyMatch`]'s setting.
#[derive(Debug, Serialize)]
pub struct VerifyParameters {
    /// 0 or 1.
    pub cid_version: u8,
    /// Whether leaves are raw blocks.
    pub raw_leaves: bool,
    /// `size-<N>`.
    pub chunker: String,
    /// Links per internal file node.
    pub max_links: usize,
    /// `block-bytes` or `links-bytes`.
    pub hamt_size_estimate: &'static str,
}

/// Why nothing matched, in a [`Verify`].
#[derive(Debug, Serialize)]
pub struct VerifyReason {
    /// A stable code (see docs/import.md, "Which settings made this CID").
    pub reason: &'static str,
    /// The reason in words.
    pub message: String,
}

/// What reading from IPFS fetched from one gateway or node: in [`Merge`], [`Get`] and
/// [`FetchReport`].
#[derive(Debug, Serialize)]
pub struct FetchedFrom {
    /// The gateway or node.
    pub url: String,
    /// Verified blocks it delivered.
    pub blocks: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Requests to it that failed.
    pub failures: u64,
}

/// What `ls`, `todo` and `site` fetched from IPFS, as one line on standard error (with
/// `--json`, when the catalogue or a base was read from IPFS).
#[derive(Debug, Serialize)]
pub struct FetchReport {
    /// Per gateway or node.
    pub fetched: Vec<FetchedFrom>,
    /// Blocks read from the cache.
    pub cached_blocks: u64,
}

/// `ingest fetch`: the line of a download that was archived: [`Archive`]'s fields, then these.
#[derive(Debug, Serialize)]
pub struct FetchArchived<'a> {
    /// What `ingest archive` prints of the archived video.
    #[serde(flatten)]
    pub archive: Archive,
    /// The URL asked for.
    pub url: &'a str,
    /// `archived`.
    pub status: &'static str,
    /// Where the downloaded file is.
    pub path: String,
    /// What the server said.
    pub http: FetchHttp<'a>,
}

/// What the server said of a download (see `ingest_core::fetch::Fetched`).
#[derive(Debug, Serialize)]
pub struct FetchHttp<'a> {
    /// The URL asked for.
    pub url: &'a str,
    /// The URL after redirects.
    pub final_url: &'a str,
    /// The `Content-Type`, if sent.
    pub content_type: &'a Option<String>,
    /// Bytes downloaded in all.
    pub length: u64,
    /// The `ETag`, if sent.
    pub etag: &'a Option<String>,
    /// The `Last-Modified`, if sent.
    pub last_modified: &'a Option<String>,
    /// Where a resumed download took up (0: from the start).
    pub resumed_from: u64,
    /// Requests made.
    pub requests: u32,
    /// Restarts from zero.
    pub restarts: u32,
}

/// `ingest fetch`: the line of a download whose record was there already (`exists`) or that
/// failed (`failed`).
#[derive(Debug, Serialize)]
pub struct FetchOther<'a> {
    /// The URL asked for.
    pub url: &'a str,
    /// The video's site.
    pub site: &'a str,
    /// Its id.
    pub id: &'a str,
    /// `exists` or `failed`.
    pub status: &'static str,
    /// `exists`: the record that was there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_path: Option<String>,
    /// `failed`: why, on one line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// `ingest push`: one line per input, as it ends.
#[derive(Debug, Serialize)]
pub struct Push<'a, S: Serialize> {
    /// The record or CAR.
    pub input: String,
    /// The root pushed, if the input could be read.
    pub root: Option<String>,
    /// The record's CID, for an archive.
    pub record: Option<String>,
    /// CAR bytes sent to the node (0 when it pinned the root already).
    pub bytes_sent: u64,
    /// `pushed`, `already-pinned`, `requested` or `failed`.
    pub status: &'a S,
    /// Why it failed, on one line.
    pub error: Option<String>,
    /// The pin on the pinning service, when one was asked.
    pub remote: Option<PushRemote<'a>>,
    /// What went wrong without failing it.
    pub notes: &'a [String],
}

/// The pin a pinning service holds for a pushed input.
#[derive(Debug, Serialize)]
pub struct PushRemote<'a> {
    /// The service's request id.
    pub requestid: &'a str,
    /// `queued`, `pinning`, `pinned` or `failed`.
    pub status: &'a ingest_core::ipfs::PinStatus,
    /// The pin's name.
    pub name: &'a str,
    /// `added`, `existing`, `retried` or `replaced`.
    pub action: &'a ingest_core::ipfs::PinAction,
    /// What the service added, such as why a pin failed.
    pub info: &'a std::collections::BTreeMap<String, serde_json::Value>,
}

impl<'a> PushRemote<'a> {
    /// The pin of `remote`.
    pub fn of(remote: &'a ingest_core::ipfs::RemotePinned) -> Self {
        PushRemote {
            requestid: &remote.status.requestid,
            status: &remote.status.status,
            name: &remote.status.pin.name,
            action: &remote.action,
            info: &remote.status.info,
        }
    }
}

/// `ingest publish`: the one line of the published catalogue.
#[derive(Debug, Serialize)]
pub struct Publish<'a, S: Serialize> {
    /// The catalogue's root.
    pub root: String,
    /// The IPNS name.
    pub name: &'a str,
    /// The path it points to.
    pub value: &'a str,
    /// `/ipns/<name>`.
    pub ipns: String,
    /// The DNSLink TXT value, `dnslink=/ipfs/<root>`.
    pub dnslink: String,
    /// Whether the node was offline (the record kept, not announced).
    pub offline: bool,
    /// CAR bytes sent to the node.
    pub bytes_sent: u64,
    /// How the push ended.
    pub status: &'a S,
    /// The pin on the pinning service, when one was asked.
    pub remote: Option<PushRemote<'a>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(value: &impl Serialize) -> String {
        serde_json::to_string(value).unwrap()
    }

    fn merge(delta: Option<(&str, u64)>, fetched: Option<Vec<FetchedFrom>>) -> Merge {
        Merge {
            root: "r".into(),
            profile: "p".into(),
            added: 1,
            unchanged: 2,
            conflicts: vec![],
            rejected: vec!["x: why".into()],
            blocks_read: 3,
            blocks_written: 4,
            blocks_copied: 5,
            out: "o.car".into(),
            delta: delta.map(|(path, _)| path.into()),
            delta_blocks: delta.map(|(_, n)| n),
            fetched,
        }
    }

    #[test]
    fn merge_adds_its_optional_keys_last_and_only_when_set() {
        let base = r#"{"root":"r","profile":"p","added":1,"unchanged":2,"conflicts":[],"rejected":["x: why"],"blocks_read":3,"blocks_written":4,"blocks_copied":5,"out":"o.car""#;
        assert_eq!(text(&merge(None, None)), format!("{base}}}"));
        let fetched = vec![FetchedFrom {
            url: "u".into(),
            blocks: 6,
            bytes: 7,
            failures: 0,
        }];
        assert_eq!(
            text(&merge(Some(("d.car", 9)), Some(fetched))),
            format!(
                r#"{base},"delta":"d.car","delta_blocks":9,"fetched":[{{"url":"u","blocks":6,"bytes":7,"failures":0}}]}}"#
            )
        );
    }

    #[test]
    fn nulls_renames_and_the_sites_object_in_its_order() {
        let video = LsVideo {
            site: "s".into(),
            id: "i".into(),
            record: "r".into(),
            video: "v".into(),
            directory: "d".into(),
            title: None,
        };
        assert_eq!(
            text(&video),
            r#"{"site":"s","id":"i","record":"r","video":"v","directory":"d","title":null}"#
        );
        let site = Site {
            root: "r".into(),
            catalogue: "c".into(),
            out: "o".into(),
            generator: "g",
            videos: 3,
            sites: vec![("youtube".into(), 2), ("vimeo".into(), 1)],
            pages: 0,
            pages_reused: 0,
            records_read: 0,
            search_shards: 0,
            conflicts: 0,
            blocks: 0,
            bytes: 0,
        };
        assert!(text(&site).contains(r#""videos":3,"sites":{"youtube":2,"vimeo":1},"pages""#));
        let verify = Verify {
            path: "p".into(),
            cid: "c".into(),
            is_match: false,
            kind: "file",
            size: 0,
            read: false,
            tried: 0,
            matches: vec![],
            reasons: vec![],
        };
        assert!(text(&verify).starts_with(r#"{"path":"p","cid":"c","match":false,"kind""#));
    }
}

/// `ingest volunteer --json`: one line per event, `{"event": …}`, then a `"summary"` line.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Volunteer {
    /// What is left was read.
    Left {
        /// Videos to download.
        left: usize,
        /// Videos this worker archived before.
        archived: usize,
        /// Videos parked.
        parked: usize,
    },
    /// Reading what is left failed; the last list is kept.
    RefreshFailed {
        /// Why.
        reason: String,
    },
    /// A download started.
    Downloading {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// Which attempt (from 1).
        attempt: u32,
    },
    /// A video was downloaded and archived.
    Archived {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// Its record's CID.
        record: String,
        /// Bytes of its files.
        bytes: u64,
    },
    /// An attempt failed; the video is tried again.
    Failed {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// Which attempt failed.
        attempt: u32,
        /// Why.
        reason: String,
        /// Seconds until it is tried again.
        retry_in: u64,
    },
    /// The video failed every attempt (or cannot succeed) and is parked.
    Parked {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// Why.
        reason: String,
    },
    /// A video's archive is pinned.
    Pushed {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// Its record's CID.
        record: String,
    },
    /// A push failed; it is tried again (the others go on).
    PushFailed {
        /// The site.
        site: String,
        /// The id.
        id: String,
        /// Why.
        reason: String,
        /// Seconds until it is tried again.
        retry_in: u64,
    },
    /// The outbox was published.
    Published {
        /// Its root.
        root: String,
        /// The IPNS name (`null`: pushed to a pinning service only).
        name: Option<String>,
        /// `/ipns/<name>`, what maintainers follow.
        ipns: Option<String>,
        /// Records added this time.
        added: u64,
    },
    /// Publishing the outbox failed; it is tried again.
    PublishFailed {
        /// Why.
        reason: String,
    },
    /// No download starts: less free disk than the reserve.
    DiskReserve {
        /// Bytes free.
        free: u64,
        /// The reserve.
        reserve: u64,
    },
    /// The last line.
    Summary {
        /// Videos downloaded and archived by this run.
        archived: u64,
        /// Archives pinned by this run.
        pushed: u64,
        /// Videos parked by this run.
        parked: u64,
        /// Videos parked, all told.
        parked_total: u64,
        /// Bytes downloaded.
        bytes: u64,
        /// Videos left when the run ended.
        left: u64,
        /// Archives not yet pinned.
        unpushed: u64,
        /// The outbox's root, when published.
        outbox: Option<String>,
        /// Its IPNS name.
        ipns: Option<String>,
        /// Whether the run was stopped before it was done.
        stopped: bool,
    },
}

/// `ingest profiles --json`: one line per download profile, after the import profiles.
#[derive(Debug, Serialize)]
pub struct DownloadProfile {
    /// `"download"`, to tell these lines from the import profiles'.
    pub kind: &'static str,
    /// Its name.
    pub name: &'static str,
    /// Whether it is the default.
    pub default: bool,
    /// What it keeps.
    pub description: &'static str,
    /// Every yt-dlp argument it passes.
    pub yt_dlp_args: Vec<&'static str>,
}

/// `ingest publish DIR --json`: the one line for an outbox published from a directory of
/// archives.
#[derive(Debug, Serialize)]
pub struct Outbox {
    /// The outbox catalogue's root.
    pub root: String,
    /// The IPNS name it is published under.
    pub name: Option<String>,
    /// `/ipns/<name>`: the one line a volunteer hands over.
    pub ipns: Option<String>,
    /// Archives pushed (already pinned ones included).
    pub archives: usize,
    /// Records added to the outbox this time.
    pub added: u64,
    /// Records the merge refused, with why.
    pub rejected: Vec<String>,
    /// Whether the node was offline (the record kept, not announced).
    pub offline: bool,
}
