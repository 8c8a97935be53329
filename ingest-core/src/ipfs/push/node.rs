//! The upload of one input to the node: its CAR checked, then produced on a thread of its own
//! as `dag/import` sends it (retried), then its roots confirmed pinned.

use std::fs::File;
use std::sync::atomic::Ordering;

use super::plan::{check_car, Blocks, Planned};
use super::{Context, PushError, PushEvent, PushInput};
use crate::archive::derive_blocks;
use crate::car::{CarError, CarReader, CarWriter};
use crate::ipfs::rpc::{KuboRpc, RpcError};
use crate::ipfs::stream::{multipart_body, BodyWriter};

impl Context<'_> {
    /// Sends the blocks with retries, then confirms the pins. Returns the CAR bytes sent.
    pub(super) fn to_node(
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
