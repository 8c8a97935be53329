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
//!
//! The inputs are found in `inputs` and read in `plan` before anything is sent, then each is
//! uploaded to the node in `node`; `report` holds what a push tells, `error` why an input
//! failed. The options, the threads that push, and the pinning service's part are here.

mod error;
mod inputs;
mod node;
mod plan;
mod report;

pub use error::PushError;
pub use inputs::{find_inputs, PushInput};
pub use report::{PushEvent, PushStatus, Pushed};

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use cid::Cid;

use super::pinning::{PinRequest, PinStatus, PinningError, PinningService, RemotePinned};
use super::rpc::KuboRpc;
use crate::unixfs::ImportOptions;
use plan::{check_names, plan, Planned};

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

/// Pushes `inputs` to `node` (when given) and asks `service` (when given) to pin them. Returns
/// one result per input, in order; a failed input does not stop the others.
///
/// A node that does not answer at all fails the whole push at once
/// ([`RpcError::Unreachable`](super::RpcError::Unreachable)), before anything is read.
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
}

#[cfg(test)]
mod tests {
    use super::plan::{check_car, check_names, plan};
    use super::*;
    use crate::car::CarWriter;
    use crate::unixfs::{import_bytes, Profile};
    use std::path::Path;

    /// A CAR of one file of `len` bytes at `path`: its root.
    fn car_of_a_file(path: &Path, len: usize) -> Cid {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let mut store = crate::unixfs::MemorySink::new();
        let (file, _) = import_bytes(&Profile::UNIXFS_V1_2025, &data, &mut store).unwrap();
        let mut bytes = Vec::new();
        let mut car = CarWriter::new(&mut bytes, &[file.root]).unwrap();
        for (cid, block) in store.blocks() {
            crate::unixfs::BlockSink::put(&mut car, cid, block).unwrap();
        }
        car.finish().unwrap();
        std::fs::write(path, bytes).unwrap();
        file.root
    }

    #[test]
    fn inputs_are_found_each_once_a_car_beside_its_record_belonging_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("youtube-a.record.cbor"), b"r").unwrap();
        std::fs::write(d.join("youtube-a.car"), b"c").unwrap();
        std::fs::write(d.join("catalogue.car"), b"c").unwrap();
        std::fs::write(d.join("notes.txt"), b"n").unwrap();
        let inputs = find_inputs(&[d.to_owned()], None).unwrap();
        assert_eq!(
            inputs,
            [
                PushInput::Car {
                    path: d.join("catalogue.car")
                },
                PushInput::Archive {
                    record: d.join("youtube-a.record.cbor"),
                    data: d.to_owned()
                },
            ]
        );
        let data = tempfile::tempdir().unwrap();
        let inputs = find_inputs(&[d.join("youtube-a.record.cbor")], Some(data.path())).unwrap();
        assert_eq!(
            inputs,
            [PushInput::Archive {
                record: d.join("youtube-a.record.cbor"),
                data: data.path().to_owned()
            }]
        );
        let err = find_inputs(&[d.join("notes.txt")], None).unwrap_err();
        assert!(matches!(err, PushError::NotAnInput { .. }), "{err}");
    }

    #[test]
    fn a_car_is_checked_whole_before_anything_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("video.car");
        let root = car_of_a_file(&path, 3 << 20);
        check_car(&path, &[root]).unwrap();
        // One byte of a leaf changed: refused, naming the CAR.
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let err = check_car(&path, &[root]).unwrap_err();
        assert!(
            matches!(&err, PushError::BadCar { path: p, .. } if *p == path),
            "{err}"
        );
        // Its roots changed since it was planned: refused too.
        let other = car_of_a_file(&path, 1000);
        let err = check_car(&path, &[root]).unwrap_err();
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err} {other}"
        );
    }

    #[test]
    fn two_cars_that_would_take_one_pin_name_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut inputs = Vec::new();
        for sub in ["a", "b"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
            let path = dir.path().join(sub).join("catalogue.car");
            car_of_a_file(&path, 100 + sub.len());
            inputs.push(PushInput::Car { path });
        }
        let options = PushOptions::default();
        let planned: Vec<_> = inputs.iter().map(|i| plan(i, &options)).collect();
        let err = check_names(&inputs, &planned).unwrap_err();
        assert!(
            matches!(&err, PushError::SameName { name, .. } if name == "catalogue"),
            "{err}"
        );
        check_names(&inputs[..1], &planned[..1]).unwrap();
    }
}
