//! [`merge_car`]: the whole merge on files: records from `.record.cbor` files and CARs, onto a
//! base catalogue CAR or onto nothing, into a new catalogue CAR written atomically.
//!
//! The base is read once ([`BaseCar`]): its records and files (every block that is not dag-pb:
//! a merge never replaces them) are copied to the output at once, and its directories are kept
//! in memory for the merge to read. At the end the kept directories are copied too, except
//! those the merge replaced and those it wrote again.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use cid::Cid;

use super::base::BaseCar;
use super::{CatalogueError, Merge, MergeSummary};
use crate::archive::{Record, MAX_RECORD_LEN};
use crate::car::{BlockKey, CarError, CarReader, CarWriter, KeyBuild};
use crate::io::{read_small_file, AtomicFile, OutputError, SmallFileError};
use crate::unixfs::block::DAG_CBOR;
use crate::unixfs::{BlockSink, BlockSource, MemorySink, Profile};

/// What [`merge_car`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MergeReport {
    /// The merge itself; `root` is always set.
    pub summary: MergeSummary,
    /// The new catalogue's root.
    pub root: Cid,
    /// Blocks the merge wrote (new directories and records).
    pub blocks_written: u64,
    /// Blocks of the base copied unchanged.
    pub blocks_copied: u64,
    /// Blocks in the delta CAR, when one was asked for.
    pub delta_blocks: Option<u64>,
}

/// [`merge_car`] failed; nothing was written under the output's name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeCarError {
    /// The base CAR could not be read, or a block of it does not match its CID.
    #[error("cannot read the base catalogue {path}; nothing was written")]
    Base {
        /// The base CAR.
        path: PathBuf,
        /// The cause (boxed: it carries CIDs).
        #[source]
        source: Box<CarError>,
    },
    /// The base CAR does not name exactly one root.
    #[error("the base catalogue {path} names {roots} roots, not one")]
    BaseRoots {
        /// The base CAR.
        path: PathBuf,
        /// How many it names.
        roots: usize,
    },
    /// The merge failed.
    #[error("the merge failed; nothing was written")]
    Merge(#[source] CatalogueError),
    /// The output could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The output.
        path: PathBuf,
        /// The cause (boxed: it carries CIDs).
        #[source]
        source: Box<CarError>,
    },
    /// The output could not be created or moved into place.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// The merge's sink: blocks the base already copied to the output are not written twice, and
/// the kept base blocks written again are noted, so they are not copied at the end. Blocks the
/// base does not hold also go to the delta, when one is asked for.
struct SkipCopied<'a, W: Write, D: Write> {
    base: Option<&'a BaseCar>,
    written: HashSet<BlockKey, KeyBuild>,
    car: &'a mut CarWriter<W>,
    delta: Option<&'a mut CarWriter<D>>,
}

impl<W: Write, D: Write> BlockSink for SkipCopied<'_, W, D> {
    type Error = CarError;
    fn put(&mut self, cid: &Cid, block: &[u8]) -> Result<(), CarError> {
        let mut new = true;
        if let Some(base) = self.base {
            if base.copied(cid) {
                return Ok(());
            }
            if let Some(key) = BlockKey::of(cid) {
                self.written.insert(key);
            }
            new = !base.holds(cid);
        }
        if let Some(delta) = self.delta.as_deref_mut().filter(|_| new) {
            delta.put(cid, block)?;
        }
        self.car.put(cid, block)
    }
}

/// Merges the records of `inputs` (`.record.cbor` files and CARs holding records; see
/// [`Merge::add_path`]) under `profile`, onto the catalogue CAR `base` if given, and writes the
/// new catalogue CAR to `out` atomically. Inputs that cannot be read, and records that are
/// invalid or of another profile, are rejected (listed in the summary) and the rest merged;
/// a base that is truncated or holds a block that does not match its CID fails the merge before
/// anything is written.
///
/// With `delta`, a second CAR is written beside it, rooted at the same root: only the blocks
/// the base did not hold (the new records, their directories and the rewritten paths), so a
/// maintainer who published the base pushes megabytes, not the whole catalogue.
pub fn merge_car(
    profile: &Profile,
    base: Option<&Path>,
    inputs: &[PathBuf],
    out: &Path,
    delta: Option<&Path>,
) -> Result<MergeReport, MergeCarError> {
    let base = match base {
        Some(path) => MergeBase::Car(path),
        None => MergeBase::None,
    };
    let mut inputs = inputs.iter().cloned().map(MergeInput::Path);
    merge_into(profile, base, &mut inputs, out, delta)
}

/// What a merge starts from.
pub enum MergeBase<'a> {
    /// Nothing: a new catalogue.
    None,
    /// A catalogue CAR: read once, its blocks copied to the output (see [`merge_car`]).
    Car(&'a Path),
    /// A catalogue root whose blocks come from a source (such as gateways): the merge reads only
    /// the directories on the paths it changes, and the output holds only the blocks the merge
    /// wrote (a delta, rooted at the new root: the base's other blocks stay where they are).
    Blocks(&'a mut dyn BlockSource, Cid),
}

/// One input of a merge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MergeInput {
    /// A `.record.cbor` file or a CAR of records (see [`Merge::add_path`]).
    Path(PathBuf),
    /// A record fetched by its CID (the bytes already checked against it).
    Record {
        /// Its CID.
        cid: Cid,
        /// Its bytes.
        bytes: Vec<u8>,
    },
    /// A record that could not be had: rejected with this reason, the rest merged.
    Failed {
        /// What it is (a CID).
        what: String,
        /// Why it failed.
        reason: String,
    },
}

/// [`merge_car`] generalised: inputs from any iterator (files, and records fetched by CID),
/// onto a base CAR, a base from a block source, or nothing.
pub fn merge_into(
    profile: &Profile,
    base: MergeBase<'_>,
    inputs: &mut dyn Iterator<Item = MergeInput>,
    out: &Path,
    delta: Option<&Path>,
) -> Result<MergeReport, MergeCarError> {
    let write_error = |source| MergeCarError::Write {
        path: out.to_owned(),
        source: Box::new(source),
    };
    let mut delta_out = match delta {
        Some(path) => {
            let mut atomic = AtomicFile::create(path)?;
            let file = atomic
                .file()
                .try_clone()
                .map_err(|e| MergeCarError::Write {
                    path: path.to_owned(),
                    source: Box::new(CarError::Io(e)),
                })?;
            let car = CarWriter::with_pending_root(file, profile.cid_version()).map_err(|e| {
                MergeCarError::Write {
                    path: path.to_owned(),
                    source: Box::new(e),
                }
            })?;
            Some((atomic, car, path))
        }
        None => None,
    };
    let mut atomic = AtomicFile::create(out)?;
    let mut car =
        CarWriter::with_pending_root(atomic.file(), profile.cid_version()).map_err(write_error)?;
    let (car_base, mut remote_base) = match base {
        MergeBase::None => (None, None),
        MergeBase::Car(path) => (Some(path), None),
        MergeBase::Blocks(source, root) => (None, Some((source, root))),
    };
    let base = match car_base {
        Some(path) => {
            let base = BaseCar::load(path, &mut car).map_err(|source| MergeCarError::Base {
                path: path.to_owned(),
                source: Box::new(source),
            })?;
            let [root] = base.roots() else {
                return Err(MergeCarError::BaseRoots {
                    path: path.to_owned(),
                    roots: base.roots().len(),
                });
            };
            let root = *root;
            Some((base, root))
        }
        None => None,
    };
    let copied_early = base.as_ref().map_or(0, |(b, _)| b.blocks_copied);
    let mut sink = SkipCopied {
        base: base.as_ref().map(|(b, _)| b),
        written: HashSet::default(),
        car: &mut car,
        delta: delta_out.as_mut().map(|(_, car, _)| car),
    };
    let summary = match (&base, &mut remote_base) {
        (Some((b, root)), _) => {
            let mut source = b;
            merge_inputs(
                Merge::new(profile, Some((&mut source, *root)), &mut sink),
                inputs,
            )
        }
        (None, Some((source, root))) => merge_inputs::<_, dyn BlockSource>(
            Merge::new(profile, Some((&mut **source, *root)), &mut sink),
            inputs,
        ),
        (None, None) => merge_inputs::<_, MemorySink>(Merge::new(profile, None, &mut sink), inputs),
    }
    .map_err(MergeCarError::Merge)?;
    let mut skip = std::mem::take(&mut sink.written);
    let blocks_written = car.blocks() - copied_early;
    let blocks_copied = match &base {
        Some((b, _)) => {
            skip.extend(summary.replaced.iter().filter_map(BlockKey::of));
            copied_early + b.copy_kept(&mut car, &skip).map_err(write_error)?
        }
        None => 0,
    };
    let root = summary.root.expect("a merge always has a root");
    car.finish_with_root(&root).map_err(write_error)?;
    let delta_blocks = match delta_out {
        Some((delta_atomic, delta_car, path)) => {
            let blocks = delta_car.blocks();
            delta_car
                .finish_with_root(&root)
                .map_err(|e| MergeCarError::Write {
                    path: path.to_owned(),
                    source: Box::new(e),
                })?;
            atomic.commit()?;
            delta_atomic.commit()?;
            Some(blocks)
        }
        None => {
            atomic.commit()?;
            None
        }
    };
    Ok(MergeReport {
        summary,
        root,
        blocks_written,
        blocks_copied,
        delta_blocks,
    })
}

fn merge_inputs<S: BlockSink + ?Sized, Src: BlockSource + ?Sized>(
    mut merge: Merge<'_, S, Src>,
    inputs: &mut dyn Iterator<Item = MergeInput>,
) -> Result<MergeSummary, CatalogueError> {
    for input in inputs {
        match input {
            MergeInput::Path(path) => merge.add_path(&path)?,
            MergeInput::Record { cid, bytes } => {
                let decoded = if cid.codec() != DAG_CBOR {
                    Err("not a record: its CID is not DAG-CBOR".to_owned())
                } else if !crate::car::block_matches(&cid, &bytes) {
                    Err("the bytes do not match the CID".to_owned())
                } else {
                    Record::decode(&bytes).map_err(|e| e.to_string())
                };
                match decoded {
                    Ok(record) => merge.add_encoded(&record, &bytes)?,
                    Err(reason) => merge.reject(format!("record {cid}: {reason}")),
                }
            }
            MergeInput::Failed { what, reason } => merge.reject(format!("{what}: {reason}")),
        }
    }
    merge.finish()
}

impl<S: BlockSink + ?Sized, Src: BlockSource + ?Sized> Merge<'_, S, Src> {
    /// Adds the records of one file: a `.record.cbor` (at most [`MAX_RECORD_LEN`] bytes), or a
    /// `.car` whose DAG-CBOR blocks are records. A file that cannot be read, a record that is
    /// invalid, and a CAR that holds none are rejected with their reason (the records of a CAR
    /// before a bad block are kept); only a failure to write is an error.
    pub fn add_path(&mut self, path: &Path) -> Result<(), CatalogueError> {
        let name = path.display();
        if path.extension().is_none_or(|e| e != "car") {
            let result = read_small_file(path, MAX_RECORD_LEN as u64)
                .map_err(|e| match e {
                    SmallFileError::TooLarge { max, .. } => {
                        format!("over the record limit of {max} bytes")
                    }
                    SmallFileError::NotAFile { .. } => "not a regular file".to_owned(),
                    SmallFileError::Io { source, .. } => source.to_string(),
                })
                .and_then(|bytes| {
                    Record::decode(&bytes)
                        .map(|r| (r, bytes))
                        .map_err(|e| e.to_string())
                });
            match result {
                Ok((record, bytes)) => self.add_encoded(&record, &bytes)?,
                Err(reason) => self.reject(format!("{name}: {reason}")),
            }
            return Ok(());
        }
        // Never opened unless it is a regular file: a FIFO would hang the merge.
        if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            self.reject(format!("{name}: not a regular file"));
            return Ok(());
        }
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) => {
                self.reject(format!("{name}: {e}"));
                return Ok(());
            }
        };
        let mut reader = match CarReader::new(file) {
            Ok(r) => r,
            Err(e) => {
                self.reject(format!("{name}: {e}"));
                return Ok(());
            }
        };
        let mut found = 0;
        loop {
            match reader.next_block() {
                Ok(None) => break,
                Ok(Some((cid, block))) if cid.codec() == DAG_CBOR => match Record::decode(&block) {
                    Ok(record) => {
                        found += 1;
                        self.add_encoded(&record, &block)?;
                    }
                    Err(e) => self.reject(format!("{name}: block {cid}: {e}")),
                },
                Ok(Some(_)) => {}
                Err(e) => {
                    self.reject(format!("{name}: {e} (the records before it were read)"));
                    break;
                }
            }
        }
        if found == 0 {
            self.reject(format!("{name}: no record in this CAR"));
        }
        Ok(())
    }
}
