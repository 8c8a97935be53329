//! Cross-crate integration tests of `ingest-core`, in one binary.
//!
//! Every expected CID here comes from `fixtures/vectors` (kubo and the JS importers), never from
//! this project's output.

mod dir_vectors;
mod fetch;
mod file_vectors;
mod split;
