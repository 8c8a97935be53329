//! `ingest-core`: the same bytes give the same CID on every machine, and the same CID as kubo.
//!
//! The library is a stack of layers; each is a public module, and each uses only the layers
//! below it:
//!
//! | module | what it is for |
//! | --- | --- |
//! | [`volunteer`] (feature `http`) | the volunteer's long-running worker: what is left, downloaded with yt-dlp under a download profile, archived, pushed, and named in the volunteer's outbox |
//! | [`ipfs`] (feature `http`) | pushing archives and catalogues to nodes and pinning services, publishing a catalogue; reading blocks back from untrusted gateways and nodes, every one verified and cached |
//! | [`fetch`] (feature `http`) | resumable HTTP(S) downloads imported as they arrive |
//! | [`site`] | the catalogue as a website: static pages, listings and a sharded search index, a UnixFS directory any gateway serves |
//! | [`catalogue`] | every archived video in one deterministic UnixFS tree: merge, read, share out |
//! | [`archive`] | one archived video: its record (schema, codec, per-video directory), what yt-dlp wrote, and the set of files an archive run writes |
//! | [`car`] | CARv1: one bounded frame parser; writer, streaming reader, random-access index |
//! | [`unixfs`] | profiles, the streaming file importer, directories and HAMTs, the dag-pb codec, block sinks |
//! | [`io`] | atomic outputs and the background file writer |
//!
//! Data flows one way through each path:
//!
//! ```text
//! volunteer:   file or URL ──▶ fetch ──▶ unixfs importer ──▶ archive (record) ──▶ record file
//!              record + files ──▶ archive::derive_blocks ──▶ ipfs::push (dag/import) ──▶ a node
//! maintainer:  record CIDs ──▶ ipfs::Remote (verified) ──▶ catalogue::merge_into (onto a base
//!              CAR or /ipns/…) ──▶ catalogue CAR or delta ──▶ ipfs::publish (dag/import, name/publish)
//! newcomer:    /ipns/… ──▶ ipfs::Remote (root + one site's shards) ──▶ catalogue::videos ──▶ todo
//! viewer:      catalogue ──▶ site::build (pages, listings, search shards) ──▶ site CAR ──▶ push
//!              browser ──▶ any gateway ──▶ /ipfs/<site>/ pages ──▶ catalogue/<site>/<id>/<file>
//!
//! inside the importer:
//! bytes ──▶ chunker ──▶ leaves (hashed on all cores, in order) ──▶ balanced layout ──▶ BlockSink
//! ```
//!
//! - A [`Profile`] names every parameter that changes a CID (CID version, leaf encoding, chunk
//!   size, links per node, directory sharding). Three presets reproduce kubo and IPIP-0499.
//! - A [`FileImporter`] turns a stream of bytes into a UnixFS file DAG with flat memory:
//!   push bytes in, take the [`FileSummary`] (root CID, sizes) out of `finish`.
//! - A [`DirBuilder`] turns entries (name → CID, dag size) into a UnixFS directory, flat or
//!   HAMT-sharded as kubo would; [`import_path`] imports a whole tree from disk like
//!   `ipfs add -r`.
//! - A [`Record`] describes one archived video as canonical DAG-CBOR;
//!   [`archive::Archive`] writes the outputs of one archived video.
//! - A [`BlockSink`] receives every block, children before parents and the root last.
//!   [`CarWriter`] writes them to a CARv1; [`CarReader`] reads one back, checking every block.
//!
//! The root re-exports only these entry points; everything else is in its layer's module.
//!
//! ```
//! use ingest_core::{import_reader, HashOnly, Profile};
//!
//! let data = vec![0u8; 1_000_000];
//! let (summary, _) = import_reader(&Profile::UNIXFS_V0_2015, &data[..], HashOnly)?;
//! // The CID kubo's `ipfs add` gives a file of 1,000,000 zero bytes.
//! assert_eq!(summary.root.to_string(), "QmXXNNbwe4zzpdMg62ZXvnX1oU7MwSrQ3vAEtuwFKCm1oD");
//! # Ok::<(), ingest_core::unixfs::ImportError>(())
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod archive;
pub mod car;
pub mod catalogue;
#[cfg(feature = "http")]
pub mod fetch;
#[cfg(feature = "http")]
mod http;
pub mod io;
#[cfg(feature = "http")]
pub mod ipfs;
mod protobuf;
pub mod site;
pub mod unixfs;
#[cfg(feature = "http")]
pub mod volunteer;

#[cfg(test)]
mod testutil;

pub use archive::Record;
pub use car::{CarReader, CarWriter};
pub use cid::Cid;
pub use unixfs::{
    import_path, import_reader, BlockSink, DirBuilder, FileImporter, FileSummary, HashOnly, Profile,
};

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
