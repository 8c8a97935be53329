//! Writes the vectors' generated content to a file: `gen-content SEED SIZE OUT` (OUT `-` for
//! stdout), as defined in `fixtures/vectors/README.md`.

use std::io::Write;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [seed, size, out] = args.as_slice() else {
        eprintln!("usage: gen-content SEED SIZE OUT");
        std::process::exit(2);
    };
    let Ok(size) = size.parse::<u64>() else {
        eprintln!("gen-content: size {size:?} is not a number");
        std::process::exit(2);
    };
    let mut sink: Box<dyn Write> = if out == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(std::fs::File::create(out)?)
    };
    for piece in ingest_tests::generate_in_background(seed, size, 4 << 20) {
        sink.write_all(&piece)?;
    }
    sink.flush()
}
