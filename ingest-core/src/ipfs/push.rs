//! Pushing archives and CARs to an IPFS node (Kubo RPC `dag/import`) and to a remote pinning
//! service, so that what a volunteer archived is held by nodes that provide it.
//!
//! - An archived video needs no CAR on disk: its blocks are a pure function of its files and
//!   its record, so they are derived again as they are sent, each file checked against the
//!   record before the per-video directory (the root) leaves.
//! - A CAR is checked twice: every block against its CID before a byte is sent (a node keeps
//!   whatever it is given), and again as it is sent (the file may change in between).
//! - Nothing the node already pins is sent again (`pin/ls`, batched), a push ends only when
//!   the node confirms the root pinned, and connection errors and `5xx` are retried.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use cid::Cid;

use super::pinning::{PinRequest, PinStatus, PinningError, PinningService, RemotePinned};
use super::rpc::{KuboRpc, RpcError};
use super::stream::{multipart_body, BodyWriter};
use crate::archive::{derive_blocks, ArchiveError, Record, RecordError, MAX_RECORD_LEN};
use crate::car::{self, CarError, CarReader, CarWriter};
use crate::http::retry::{Classify, Failure};
use crate::io::{find_files, read_small_file, SmallFileError};
use crate::unixfs::{HashOnly, ImportOptions};

/// The suffix of a record file.
const RECORD_SUFFIX: &str = ".record.cbor";

/// One thing to push.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushInput {
    /// An archived video: its record, and the directory holding its files (and maybe its CAR,
    /// `<site>-<id>.car` beside the record, used when a file is missing).
    Archive {
        /// `<site>-<id>.record.cbor`.
        record: PathBuf,
        /// Where its files are, under their names in the record.
        data: PathBuf,
    },
    /// A CAR file (a catalogue, a delta, an archive's CAR without its record).
    Car {
        /// The CAR.
        path: PathBuf,
    },
}

impl PushInput {
    /// The file that names this input.
    pub fn path(&self) -> &Path {
        match self {
            PushInput::Archive { record, .. } => record,
            PushInput::Car { path } => path,
        }
    }
}

/// The inputs named by `paths`: records (with their files in `data`, or beside them), CARs, and
/// directories of these, walked. Each archive is found once: a CAR beside its record
/// (`<stem>.car` next to `<stem>.record.cbor`) belongs to the record.
pub fn find_inputs(paths: &[PathBuf], data: Option<&Path>) -> Result<Vec<PushInput>, PushError> {
    let wanted = |name: &str| name.ends_with(RECORD_SUFFIX) || name.ends_with(".car");
    let files = find_files(paths, wanted).map_err(|source| PushError::Find { source })?;
    let records: HashSet<PathBuf> = files
        .iter()
        .filter(|f| is_record(f))
        .map(|f| car_beside(f))
        .collect();
    let mut inputs = Vec::new();
    for file in files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if is_record(&file) {
            let data = match data {
                Some(dir) => dir.to_owned(),
                None => parent_of(&file),
            };
            inputs.push(PushInput::Archive { record: file, data });
        } else if name.ends_with(".car") {
            if !records.contains(&file) {
                inputs.push(PushInput::Car { path: file });
            }
        } else {
            return Err(PushError::NotAnInput { path: file });
        }
    }
    Ok(inputs)
}

fn is_record(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.ends_with(RECORD_SUFFIX))
}

/// `<stem>.car` beside `<stem>.record.cbor`.
fn car_beside(record: &Path) -> PathBuf {
    let name = record.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let stem = name.strip_suffix(RECORD_SUFFIX).unwrap_or(name);
    record.with_file_name(format!("{stem}.car"))
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Where to push, and how.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Inputs pushed at once.
    pub jobs: usize,
    /// How files are read when blocks are derived.
    pub import: ImportOptions,
    /// The pin name of a CAR input on a pinning service (default: the CAR's file stem). A new
    /// root of a CAR input replaces the service's pin of the same name.
    pub name: Option<String>,
    /// Wait for the pinning service to pin (`pinned` or `failed`); otherwise return once the
    /// request is queued.
    pub wait: bool,
    /// The longest wait for a pinning service.
    pub wait_limit: Duration,
    /// Have the node connect to the addresses a pinning service names (`delegates`), so the
    /// service's nodes find the blocks at once. Off by default: it dials addresses an outside
    /// party chose.
    pub connect_delegates: bool,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            jobs: 2,
            import: ImportOptions::default(),
            name: None,
            wait: true,
            wait_limit: Duration::from_secs(3600),
            connect_delegates: false,
        }
    }
}

/// What a push ended as, for one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PushStatus {
    /// The blocks were sent, and the node confirmed the root pinned.
    Pushed,
    /// The node already pinned the root: nothing was sent.
    AlreadyPinned,
    /// Only a pinning service was asked (no node): see the remote pin.
    Requested,
    /// The push failed: see the error.
    Failed,
}

/// The result of one input.
#[derive(Debug)]
pub struct Pushed {
    /// The input.
    pub input: PushInput,
    /// The root (the per-video directory of an archive, the first root of a CAR); `None` when
    /// the input could not even be read.
    pub root: Option<Cid>,
    /// The record's CID, for an archive.
    pub record: Option<Cid>,
    /// CAR bytes sent to the node (0 when it already pinned the root).
    pub bytes_sent: u64,
    /// How it ended.
    pub status: PushStatus,
    /// The pin on the pinning service, when one was asked.
    pub remote: Option<RemotePinned>,
    /// Why it failed.
    pub error: Option<PushError>,
    /// What went wrong without failing it.
    pub notes: Vec<String>,
}

impl Pushed {
    /// Why it failed, on one line: the error and each of its causes.
    pub fn error_text(&self) -> Option<String> {
        self.error.as_ref().map(|e| crate::http::chain(e))
    }
}

/// What happens during a push, for progress displays. Sent from the pushing threads.
#[derive(Debug)]
pub enum PushEvent<'a> {
    /// The inputs were read: how many, and about how many bytes they hold.
    Planned {
        /// Inputs.
        inputs: usize,
        /// Bytes (the files of archives, the sizes of CARs).
        bytes: u64,
    },
    /// Bytes read and sent.
    Sent(u64),
    /// An attempt failed; the next starts after `wait`.
    Retry {
        /// The input.
        input: &'a Path,
        /// The wait.
        wait: Duration,
        /// What went wrong.
        reason: String,
    },
    /// An input is done.
    Done(&'a Pushed),
}

/// Pushing one input failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushError {
    /// The inputs could not be listed.
    #[error("cannot list the inputs")]
    Find {
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file named is neither a record nor a CAR.
    #[error("{path}: not a record (*.record.cbor) or a CAR (*.car)")]
    NotAnInput {
        /// The file.
        path: PathBuf,
    },
    /// The record could not be read.
    #[error(transparent)]
    ReadRecord(#[from] SmallFileError),
    /// The record is not valid.
    #[error("{path}: invalid record")]
    Record {
        /// The record.
        path: PathBuf,
        /// Why.
        #[source]
        source: RecordError,
    },
    /// A CAR is damaged (a block that does not match its CID, a truncated frame): nothing of it
    /// was sent.
    #[error("{path}: {source}; nothing of it was sent")]
    BadCar {
        /// The CAR.
        path: PathBuf,
        /// What is wrong (boxed: it carries CIDs).
        #[source]
        source: Box<CarError>,
    },
    /// A CAR names no root.
    #[error("{path}: the CAR names no root")]
    NoRoot {
        /// The CAR.
        path: PathBuf,
    },
    /// The CAR beside a record is rooted elsewhere than the record's directory.
    #[error(
        "{car}: rooted at {car_root}, but the record {record} makes the directory {directory}"
    )]
    CarOfAnotherArchive {
        /// The CAR.
        car: PathBuf,
        /// Its root.
        car_root: Box<Cid>,
        /// The record.
        record: PathBuf,
        /// The record's directory.
        directory: Box<Cid>,
    },
    /// A file of an archive is missing, unreadable or not the one its record names.
    #[error("{record}")]
    Derive {
        /// The record.
        record: PathBuf,
        /// Why (boxed, as large as it is).
        #[source]
        source: Box<ArchiveError>,
    },
    /// Reading a CAR failed while it was sent.
    #[error("{path}: read failed while sending")]
    Read {
        /// The CAR.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The node failed the call (after the retries, for those worth retrying).
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The node answered the import, but did not pin a root.
    #[error("{endpoint}: the node did not pin {root}{}", reason_suffix(.reason))]
    NotPinned {
        /// The call.
        endpoint: String,
        /// The root.
        root: Box<Cid>,
        /// The node's reason, if it gave one.
        reason: String,
    },
    /// The pinning service failed.
    #[error(transparent)]
    Pinning(#[from] PinningError),
    /// Two CARs would take the same pin name on the pinning service, each replacing the other.
    #[error("{first} and {second} would both be pinned as {name:?}, each replacing the other: push them one at a time with their own --name")]
    SameName {
        /// The name.
        name: String,
        /// The first CAR.
        first: PathBuf,
        /// The second.
        second: PathBuf,
    },
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

impl Classify for PushError {
    fn failure(&self) -> Failure {
        match self {
            PushError::Rpc(e) => e.failure(),
            PushError::Pinning(e) => e.failure(),
            PushError::NotPinned { .. } => Failure::Refused,
            // The inputs are ours: no endpoint changes them.
            PushError::Find { .. }
            | PushError::NotAnInput { .. }
            | PushError::ReadRecord(_)
            | PushError::Record { .. }
            | PushError::BadCar { .. }
            | PushError::NoRoot { .. }
            | PushError::CarOfAnotherArchive { .. }
            | PushError::Derive { .. }
            | PushError::Read { .. }
            | PushError::SameName { .. } => Failure::Fatal,
        }
    }
}

/// Where blocks come from.
enum Blocks {
    /// Derived from an archive's files.
    Derive {
        record: Box<Record>,
        path: PathBuf,
        data: PathBuf,
    },
    /// Copied from a CAR, checked.
    Car { path: PathBuf },
}

/// An input, read: its roots and where its blocks come from.
struct Planned {
    roots: Vec<Cid>,
    record: Option<Cid>,
    blocks: Blocks,
    /// What a pinning service is told: the pin's name, and its meta.
    name: String,
    meta: BTreeMap<String, String>,
    /// Whether a new root replaces the service's pin of the same name.
    replaces: bool,
    bytes: u64,
}

/// Reads an input: the record and its directory's CID (or the CAR, checked whole).
fn plan(input: &PushInput, options: &PushOptions) -> Result<Planned, PushError> {
    match input {
        PushInput::Archive { record: path, data } => {
            let bytes = read_small_file(path, MAX_RECORD_LEN as u64)?;
            let record_error = |source| PushError::Record {
                path: path.clone(),
                source,
            };
            let record = Record::decode(&bytes).map_err(record_error)?;
            let cids = record
                .write_directory_encoded(&bytes, &mut HashOnly)
                .map_err(|e| PushError::Derive {
                    record: path.clone(),
                    source: Box::new(ArchiveError::Directory(e)),
                })?;
            let mut meta = BTreeMap::new();
            meta.insert("site".to_owned(), record.source.site.clone());
            meta.insert("id".to_owned(), record.source.id.clone());
            meta.insert("record".to_owned(), cids.record.to_string());
            let name = format!("{}/{}", record.source.site, record.source.id);
            let files_present = record.files.iter().all(|f| data.join(&f.name).is_file());
            let car = car_beside(path);
            let blocks = if !files_present && car.is_file() {
                let (roots, _) = car_roots(&car)?;
                if roots != [cids.directory] {
                    return Err(PushError::CarOfAnotherArchive {
                        car,
                        car_root: Box::new(roots.first().copied().unwrap_or(cids.record)),
                        record: path.clone(),
                        directory: Box::new(cids.directory),
                    });
                }
                Blocks::Car { path: car }
            } else {
                Blocks::Derive {
                    data: data.clone(),
                    path: path.clone(),
                    record: Box::new(record.clone()),
                }
            };
            Ok(Planned {
                roots: vec![cids.directory],
                record: Some(cids.record),
                bytes: record.files.iter().map(|f| f.size).sum(),
                blocks,
                name,
                meta,
                replaces: false,
            })
        }
        PushInput::Car { path } => {
            let (roots, size) = car_roots(path)?;
            let name = options.name.clone().unwrap_or_else(|| {
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "car".into())
            });
            Ok(Planned {
                roots,
                record: None,
                blocks: Blocks::Car { path: path.clone() },
                name,
                meta: BTreeMap::new(),
                replaces: true,
                bytes: size,
            })
        }
    }
}

/// A CAR's roots (from its header) and size: all a plan needs. Its blocks are checked only if
/// it is to be sent ([`check_car`]).
fn car_roots(path: &Path) -> Result<(Vec<Cid>, u64), PushError> {
    let bad = |source| PushError::BadCar {
        path: path.to_owned(),
        source: Box::new(source),
    };
    let file = File::open(path).map_err(|e| bad(CarError::Io(e)))?;
    let size = file.metadata().map_err(|e| bad(CarError::Io(e)))?.len();
    let roots = CarReader::new(file).map_err(bad)?.roots().to_vec();
    if roots.is_empty() {
        return Err(PushError::NoRoot {
            path: path.to_owned(),
        });
    }
    Ok((roots, size))
}

/// Reads a whole CAR, checking every block against its CID on all cores, and that its roots
/// are still `roots`. Nothing is sent from a CAR that does not pass.
fn check_car(path: &Path, roots: &[Cid]) -> Result<(), PushError> {
    let bad = |source| PushError::BadCar {
        path: path.to_owned(),
        source: Box::new(source),
    };
    let file = File::open(path).map_err(|e| bad(CarError::Io(e)))?;
    let threads = std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN);
    let summary = car::check_car(file, threads).map_err(bad)?;
    if summary.roots != roots {
        return Err(bad(CarError::BadHeader {
            reason: "its roots changed since it was first read".into(),
        }));
    }
    Ok(())
}

/// Pushes `inputs` to `node` (when given) and asks `service` (when given) to pin them. Returns
/// one result per input, in order; a failed input does not stop the others.
///
/// A node that does not answer at all fails the whole push at once ([`RpcError::Unreachable`]),
/// before anything is read.
pub fn push(
    node: Option<&KuboRpc>,
    service: Option<&PinningService>,
    inputs: Vec<PushInput>,
    options: &PushOptions,
    events: &(dyn Fn(PushEvent<'_>) + Sync),
) -> Result<Vec<Pushed>, PushError> {
    // Who the node is, and where it listens (the origins a pinning service may dial).
    let origins = match node {
        Some(node) => node.id()?.addresses,
        None => Vec::new(),
    };
    let planned: Vec<Result<Planned, PushError>> =
        inputs.iter().map(|input| plan(input, options)).collect();
    if service.is_some() {
        check_names(&inputs, &planned)?;
    }
    events(PushEvent::Planned {
        inputs: inputs.len(),
        bytes: planned.iter().flatten().map(|p| p.bytes).sum(),
    });
    let pinned = match node {
        Some(node) => {
            let roots: Vec<Cid> = planned
                .iter()
                .flatten()
                .flat_map(|p| p.roots.iter().copied())
                .collect();
            node.pinned(&roots)?
        }
        None => HashSet::new(),
    };
    let work: Vec<Mutex<Option<Work>>> = inputs
        .into_iter()
        .zip(planned)
        .map(|pair| Mutex::new(Some(pair)))
        .collect();
    let results: Vec<Mutex<Option<Pushed>>> = work.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let context = Context {
        node,
        service,
        options,
        origins: &origins,
        pinned: &pinned,
        events,
    };
    std::thread::scope(|s| {
        for _ in 0..options.jobs.clamp(1, work.len().max(1)) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(slot) = work.get(i) else { break };
                let Some((input, planned)) = take(slot) else {
                    continue;
                };
                let done = context.one(input, planned);
                events(PushEvent::Done(&done));
                *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(done);
            });
        }
    });
    Ok(results
        .into_iter()
        .filter_map(|r| r.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect())
}

/// Refuses, before anything is sent, two CAR inputs that would replace the service's pin of
/// one name (the same `--name`, or the same file stem): each would undo the other.
fn check_names(
    inputs: &[PushInput],
    planned: &[Result<Planned, PushError>],
) -> Result<(), PushError> {
    let mut names: HashMap<&str, &Path> = HashMap::new();
    for (input, planned) in inputs.iter().zip(planned) {
        let Ok(planned) = planned else { continue };
        if !planned.replaces {
            continue;
        }
        if let Some(first) = names.insert(&planned.name, input.path()) {
            return Err(PushError::SameName {
                name: planned.name.clone(),
                first: first.to_owned(),
                second: input.path().to_owned(),
            });
        }
    }
    Ok(())
}

/// An input and what reading it gave, waiting for a pushing thread.
type Work = (PushInput, Result<Planned, PushError>);

fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(|e| e.into_inner()).take()
}

struct Context<'a> {
    node: Option<&'a KuboRpc>,
    service: Option<&'a PinningService>,
    options: &'a PushOptions,
    origins: &'a [String],
    pinned: &'a HashSet<Cid>,
    events: &'a (dyn Fn(PushEvent<'_>) + Sync),
}

impl Context<'_> {
    /// Pushes one input: to the node, then to the service.
    fn one(&self, input: PushInput, planned: Result<Planned, PushError>) -> Pushed {
        let mut pushed = Pushed {
            input,
            root: None,
            record: None,
            bytes_sent: 0,
            status: PushStatus::Failed,
            remote: None,
            error: None,
            notes: Vec::new(),
        };
        let planned = match planned {
            Ok(p) => p,
            Err(e) => {
                pushed.error = Some(e);
                return pushed;
            }
        };
        pushed.root = planned.roots.first().copied();
        pushed.record = planned.record;
        if let Some(node) = self.node {
            if planned.roots.iter().all(|r| self.pinned.contains(r)) {
                pushed.status = PushStatus::AlreadyPinned;
            } else {
                match self.to_node(node, &pushed.input, &planned) {
                    Ok(sent) => {
                        pushed.bytes_sent = sent;
                        pushed.status = PushStatus::Pushed;
                    }
                    Err(e) => {
                        pushed.error = Some(e);
                        return pushed;
                    }
                }
            }
        } else {
            pushed.status = PushStatus::Requested;
        }
        if let (Some(service), Some(root)) = (self.service, pushed.root) {
            let request = PinRequest {
                cid: root,
                name: planned.name.clone(),
                origins: self.origins.to_vec(),
                meta: planned.meta.clone(),
            };
            match self.pin_remote(service, &request, planned.replaces, &mut pushed.notes) {
                Ok(remote) => {
                    let failed = remote.status.status == PinStatus::Failed;
                    let info = remote.status.info_text();
                    pushed.remote = Some(remote);
                    if failed {
                        pushed.status = PushStatus::Failed;
                        pushed.error = Some(PushError::Pinning(PinningError::Failed {
                            service: service.url().to_string(),
                            cid: Box::new(root),
                            info,
                        }));
                    }
                }
                Err(e) => {
                    pushed.status = PushStatus::Failed;
                    pushed.error = Some(e.into());
                }
            }
        }
        pushed
    }

    /// Asks the service to pin, then (when asked to) has the node connect to the service's
    /// delegates, then waits (when asked to). A delegate the node cannot reach is a note, not
    /// a failure: the service may find the blocks another way.
    fn pin_remote(
        &self,
        service: &PinningService,
        request: &PinRequest,
        replaces: bool,
        notes: &mut Vec<String>,
    ) -> Result<RemotePinned, PinningError> {
        let limit = self.options.wait_limit;
        let mut remote = service.pin(request, replaces, false, limit)?;
        if let (true, Some(node)) = (self.options.connect_delegates, self.node) {
            for delegate in &remote.status.delegates {
                if let Err(e) = node.swarm_connect(delegate) {
                    notes.push(format!(
                        "the node could not connect to the delegate {delegate}: {e}"
                    ));
                }
            }
        }
        if self.options.wait {
            remote.status = service.wait(remote.status, limit)?;
        }
        Ok(remote)
    }

    /// Sends the blocks with retries, then confirms the pins. Returns the CAR bytes sent.
    fn to_node(
        &self,
        node: &KuboRpc,
        input: &PushInput,
        planned: &Planned,
    ) -> Result<u64, PushError> {
        if let Blocks::Car { path } = &planned.blocks {
            check_car(path, &planned.roots)?;
        }
        // Only the upload is retried here (under the node's policy): the confirmation's
        // `pin/ls` retries on its own, and its failure must not send the whole CAR again.
        let sent = node.policy().run_and_tell(
            || self.send(node, planned),
            |e, _, wait| {
                (self.events)(PushEvent::Retry {
                    input: input.path(),
                    wait,
                    reason: crate::http::chain(e),
                })
            },
        )?;
        self.confirm(node, planned)?;
        Ok(sent)
    }

    /// One `dag/import`: the body produced on a thread of its own as the client sends it.
    fn send(&self, node: &KuboRpc, planned: &Planned) -> Result<u64, PushError> {
        let filename = match &planned.blocks {
            Blocks::Car { path } => path.file_name().map(|n| n.to_string_lossy().into_owned()),
            Blocks::Derive { .. } => None,
        }
        .unwrap_or_else(|| format!("{}.car", planned.roots[0]));
        let (writer, reader, boundary, stopped) = multipart_body(&filename);
        std::thread::scope(|s| {
            let producer = s.spawn(|| self.produce(planned, writer));
            let imported = node.dag_import(reader, &boundary, planned.bytes);
            let produced = producer
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            // A producer that found the upload gone failed because of it: the request's
            // error says why. Otherwise the producer's own failure explains the aborted request.
            let produced = match produced {
                Err(ProduceError::Input(_))
                    if stopped.load(Ordering::Relaxed) && imported.is_err() =>
                {
                    Err(ProduceError::Stopped)
                }
                other => other,
            };
            match (produced, imported) {
                (Err(ProduceError::Input(e)), _) => Err(e),
                (_, Err(e)) => Err(e.into()),
                (Err(ProduceError::Stopped), Ok(_)) => Err(PushError::Rpc(RpcError::Transfer {
                    endpoint: node.endpoint("dag/import"),
                    reason: "the node answered before the body was sent".into(),
                })),
                (Ok(sent), Ok(roots)) => {
                    for root in roots {
                        if !root.pin_error.is_empty() {
                            return Err(PushError::NotPinned {
                                endpoint: node.endpoint("dag/import"),
                                root: Box::new(root.cid),
                                reason: root.pin_error,
                            });
                        }
                    }
                    Ok(sent)
                }
            }
        })
    }

    /// Asks the node whether every root is pinned now.
    fn confirm(&self, node: &KuboRpc, planned: &Planned) -> Result<(), PushError> {
        let pinned = node.pinned(&planned.roots)?;
        match planned.roots.iter().find(|r| !pinned.contains(r)) {
            None => Ok(()),
            Some(root) => Err(PushError::NotPinned {
                endpoint: node.endpoint("pin/ls"),
                root: Box::new(*root),
                reason: "not listed after the import".into(),
            }),
        }
    }

    /// Writes the CAR of `planned` into the body. Returns the CAR's bytes.
    fn produce(&self, planned: &Planned, mut writer: BodyWriter) -> Result<u64, ProduceError> {
        let events = self.events;
        let mut car = CarWriter::new(&mut writer, &planned.roots).map_err(ProduceError::car)?;
        match &planned.blocks {
            Blocks::Derive { record, path, data } => {
                let mut progress = |n| events(PushEvent::Sent(n));
                // A failure to write into the body (the upload stopped) is told apart by
                // `send`, which knows whether the body's reader went away.
                derive_blocks(record, data, self.options.import, &mut car, &mut progress).map_err(
                    |e| {
                        ProduceError::Input(PushError::Derive {
                            record: path.clone(),
                            source: Box::new(e),
                        })
                    },
                )?;
            }
            Blocks::Car { path } => {
                let bad = |source| {
                    ProduceError::Input(PushError::BadCar {
                        path: path.clone(),
                        source: Box::new(source),
                    })
                };
                let file = File::open(path).map_err(|source| {
                    ProduceError::Input(PushError::Read {
                        path: path.clone(),
                        source,
                    })
                })?;
                let mut reader = CarReader::new(file).map_err(bad)?;
                if reader.roots() != planned.roots.as_slice() {
                    return Err(ProduceError::Input(PushError::BadCar {
                        path: path.clone(),
                        source: Box::new(CarError::BadHeader {
                            reason: "its roots changed since it was first read".into(),
                        }),
                    }));
                }
                let mut block = Vec::new();
                while let Some(cid) = reader.next_block_into(&mut block).map_err(bad)? {
                    car.write_frame(&cid, &block).map_err(ProduceError::car)?;
                    events(PushEvent::Sent(block.len() as u64));
                }
            }
        }
        let sent = car.bytes_written();
        car.finish().map_err(ProduceError::car)?;
        writer.finish().map_err(|_| ProduceError::Stopped)?;
        Ok(sent)
    }
}

/// Why a body was not produced to its end.
enum ProduceError {
    /// The upload stopped (the node or the connection went away): the request's error says why.
    Stopped,
    /// The input failed.
    Input(PushError),
}

impl ProduceError {
    /// Writing to the body failed: the body's only failure is the upload having stopped.
    fn car(_: CarError) -> ProduceError {
        ProduceError::Stopped
    }
}
