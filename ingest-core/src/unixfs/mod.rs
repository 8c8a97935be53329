//! UnixFS: bytes and directory entries in, dag-pb and raw blocks out, with exactly the CIDs
//! kubo's `ipfs add` gives under the same [`Profile`].
//!
//! ```text
//! bytes ──▶ chunker ──▶ leaves (hashed on all cores, in order) ──▶ layout ──▶ BlockSink
//!           fixed size    raw blocks or dag-pb UnixFS File nodes     balanced   HashOnly, MemorySink,
//!                                                                    tree       CarWriter, …
//! entries (name → CID, dag size) ──▶ DirBuilder ──▶ flat directory or HAMT ──▶ BlockSink
//! ```
//!
//! - [`profile`]: every parameter that changes a CID, as one immutable value.
//! - [`importer`]: the streaming file importer ([`FileImporter`]), over the fixed-size
//!   chunker and boxo's balanced layout (private modules `chunker` and `layout`).
//! - [`dir`]: directories built from their entries alone, HAMT-sharded as kubo shards them; a
//!   whole tree from disk ([`import_path`]); editing directories that exist as blocks.
//! - [`blocks`]: where existing blocks come from ([`BlockSource`], [`BlockError`]).
//! - [`read`]: files, directories, HAMT shards and paths read out of any [`BlockSource`].
//! - [`block`]: the one place that encodes and decodes dag-pb / UnixFS bytes and computes CIDs.
//! - [`sink`]: where blocks go ([`BlockSink`]) and the ready-made sinks.
//! - [`identify`]: which profile and flags give a file or directory a CID ([`identify_path`],
//!   `ingest verify`), every candidate computed from one read.

pub mod block;
pub mod blocks;
mod chunker;
pub mod dir;
pub mod identify;
pub mod importer;
mod layout;
pub mod profile;
pub mod read;
pub mod sink;

pub use block::{cid_of, encode_symlink, sha2_256, UnixFsType, DAG_CBOR, DAG_PB, RAW, SHA2_256};
pub use blocks::{BlockError, BlockSource};
pub use dir::{
    check_entry_name, import_path, Added, DirBuilder, DirError, DirKind, DirSummary, EditError,
    EntryKind, WalkError, WalkObserver, WalkOptions,
};
pub use identify::{identify_path, Identification, IdentifyOptions};
pub use importer::{
    import_bytes, import_reader, FileImporter, FileSummary, ImportError, ImportOptions,
    ImportWriter,
};
pub use profile::{
    parse_chunker, parse_cid_version, CidVersion, DirSizeEstimate, Overrides, Profile,
    ProfileError, BLOCK_SIZE_LIMIT,
};
pub use sink::{BlockSink, CountingSink, HashOnly, MemorySink};
