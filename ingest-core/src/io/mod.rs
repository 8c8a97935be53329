//! Files written safely and fast: outputs that appear under their final name only when whole
//! ([`AtomicFile`]), and large files written on a thread of their own ([`FileWriter`]) with the
//! page cache pushed to disk as they grow ([`Writeback`]); small untrusted inputs read with a
//! bound ([`read_small_file`]) and trees walked without following links ([`find_files`]).

mod atomic;
mod files;
pub mod writer;

pub use atomic::{remove_temporaries, AtomicDir, AtomicFile, OutputError};
pub use files::{find_files, read_small_file, ChangedError, FileStamp, SmallFileError};
pub use writer::{FileWriter, Writeback};
