#!/usr/bin/env bash
# The whole test suite, as CI runs it: first tests/setup.sh installs what a fresh machine lacks,
# then format and lint checks, every Rust test in release mode (the large vectors need it), then
# the checks against real clients: the npm interop checks, the yt-dlp download test, and push,
# pin and publish against a js-ipfs node and a pinning service, reads from a Helia trustless
# gateway and the node, and the website in Chromium (puppeteer-core) over the node's gateway,
# inside a private network namespace (tests/netns.sh: nothing there can reach another machine).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

bash tests/setup.sh

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --release -q -- -D warnings
# The library builds and lints without its optional HTTP client too.
cargo clippy -p ingest-core --all-targets --release -q -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q
cargo test --workspace --release
bash tests/interop/run.sh target/release/ingest
bash tests/ytdlp/run.sh target/release/ingest
# The network tests: their npm packages installed here (the namespace has no network), their
# binary already built by `cargo test` above; --offline keeps cargo from looking for the registry.
bash tests/ipfs-node.sh install
bash tests/ytdlp.sh install
bash tests/helia-gateway.sh install
bash tests/browser.sh install
bash tests/routing-server.sh install
bash tests/netns.sh cargo test --release --offline -q -p ingest-cli --test network -- --ignored --test-threads 2
