//! Files written safely and fast: outputs that appear under their final name only when whole
//! ([`AtomicFile`]), and large files written on a thread of their own ([`FileWriter`]) with the
//! page cache pushed to disk as they grow ([`Writeback`]).

mod atomic;
pub mod writer;

pub use atomic::{AtomicFile, OutputError};
pub use writer::{FileWriter, Writeback};
