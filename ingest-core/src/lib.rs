//! `ingest-core`: the same bytes give the same CID on every machine, and the same CID as kubo.
//!
//! Content flows one way:
//!
//! ```text
//! bytes ──▶ Chunker ──▶ leaves (hashed on all cores, in order) ──▶ BalancedLayout ──▶ BlockSink
//!           fixed size    raw blocks or dag-pb UnixFS File nodes      internal nodes    HashOnly,
//!                                                                                       MemorySink,
//!                                                                                       CarWriter …
//! ```
//!
//! - A [`Profile`] names every parameter that changes a CID (CID version, leaf encoding, chunk
//!   size, links per node, directory sharding). Three presets reproduce kubo and IPIP-0499.
//! - A [`FileImporter`] turns a stream of bytes into a UnixFS file DAG with flat memory:
//!   push bytes in, take the [`FileSummary`] (root CID, sizes) out of `finish`.
//! - A [`DirBuilder`] turns entries (name → CID, dag size) into a UnixFS directory, flat or
//!   HAMT-sharded as kubo would; [`import_path`] imports a whole tree from disk like
//!   `ipfs add -r`.
//! - A [`Record`] describes one archived video (source, profile, files by CID, stable
//!   metadata) as canonical DAG-CBOR; [`Record::write_directory`] builds its per-video
//!   directory. [`InfoJson`] reads what yt-dlp wrote.
//! - A [`BlockSink`] receives every block, children before parents and the root last.
//!   [`CarWriter`] writes them to a CARv1; [`CarReader`] reads one back, checking every block.
//!
//! ```
//! use ingest_core::{import_reader, HashOnly, Profile};
//!
//! let data = vec![0u8; 1_000_000];
//! let (summary, _) = import_reader(&Profile::UNIXFS_V0_2015, &data[..], HashOnly)?;
//! // The CID kubo's `ipfs add` gives a file of 1,000,000 zero bytes.
//! assert_eq!(summary.root.to_string(), "QmXXNNbwe4zzpdMg62ZXvnX1oU7MwSrQ3vAEtuwFKCm1oD");
//! # Ok::<(), ingest_core::ImportError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod block;
mod car;
mod catalogue;
mod chunker;
mod dir;
#[cfg(feature = "http")]
pub mod fetch;
mod importer;
mod layout;
mod profile;
mod record;
mod sink;
pub mod writer;

pub use block::{cid_of, encode_symlink, sha2_256, DAG_CBOR, DAG_PB, RAW, SHA2_256};
pub use car::{BaseCar, CarError, CarIndex, CarReader, CarWriter, MAX_FRAME_LEN, MAX_HEADER_LEN};
pub use catalogue::{
    read_video_record, shard_of, videos, CatalogueError, CatalogueVideo, Conflict, Merge,
    MergeSummary, Rejected, CONFLICTS_DIR,
};
pub use cid::Cid;
pub use dir::{
    check_entry_name, import_path, Added, BlockSource, DirBuilder, DirError, DirKind, DirSummary,
    EditError, EntryKind, WalkError, WalkObserver, WalkOptions,
};
pub use importer::{
    import_bytes, import_reader, FileImporter, FileSummary, ImportError, ImportOptions,
    ImportWriter,
};
pub use profile::{
    parse_chunker, parse_cid_version, CidVersion, DirSizeEstimate, Overrides, Profile,
    ProfileError, BLOCK_SIZE_LIMIT,
};
pub use record::{
    FoundFile, InfoJson, InfoJsonError, Meta, Record, RecordError, RecordFile, Role, Source,
    VideoDirectory, WriteDirectoryError, MAX_DESCRIPTION_LEN, MAX_FIELD_LEN, MAX_FILES,
    MAX_INFO_JSON_LEN, MAX_RECORD_LEN, MAX_TAGS, RECORD_FILE_NAME, RECORD_VERSION,
};
pub use sink::{BlockSink, CountingSink, HashOnly, MemorySink};

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
