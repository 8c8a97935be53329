//! What the modules share: running the binary, reading what it printed, and what it left in an
//! output directory or a CAR. Fixtures made by running it (archived videos, catalogues) are the
//! test kit's, `ingest_tests::fixtures`.

use std::path::Path;
use std::process::Output;

use ingest_core::CarReader;
use ingest_tests::fixtures::Cli;
pub use ingest_tests::fixtures::{stderr, stdout};

/// The `ingest` binary of this crate.
pub fn cli() -> Cli {
    Cli::new(env!("CARGO_BIN_EXE_ingest"))
}

/// Runs `ingest` with `args` and nothing on stdin, to its end.
pub fn ingest(args: &[&str]) -> Output {
    cli().run(args)
}

/// What it printed on stdout, one JSON object a line.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect()
}

/// The names in `dir`, sorted (none if it does not exist).
pub fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The root named in a CAR's header and the CIDs of its blocks in order, every block checked.
pub fn car_root_and_cids(car: &Path) -> (String, Vec<String>) {
    let mut reader = CarReader::new(std::fs::File::open(car).unwrap()).unwrap();
    let root = reader.roots()[0].to_string();
    let cids = reader
        .by_ref()
        .map(|b| b.expect("every block checks").0.to_string())
        .collect();
    (root, cids)
}

/// The root named in a CAR's header and its number of blocks, every block checked.
pub fn car_root_and_blocks(car: &Path) -> (String, u64) {
    let (root, cids) = car_root_and_cids(car);
    (root, cids.len() as u64)
}
