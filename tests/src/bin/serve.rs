//! Serves files over HTTP on 127.0.0.1 with the test kit's server, for trying `ingest fetch`
//! and for profiling it: `serve FILE...` prints one URL a file, then serves until killed.

use ingest_tests::http::{Body, Resource, Server};

fn main() {
    let files: Vec<_> = std::env::args_os().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: serve FILE...");
        std::process::exit(2);
    }
    let server = Server::start().expect("a free port on 127.0.0.1");
    for file in files {
        let path = std::path::PathBuf::from(file);
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            eprintln!("{}: not a file name", path.display());
            std::process::exit(2);
        };
        server.put(&format!("/{name}"), Resource::with_body(Body::File(path)));
        println!("{}", server.url(&format!("/{name}")));
    }
    loop {
        std::thread::park();
    }
}
