#!/usr/bin/env bash
# Builds the release binary and runs the push benchmark (see benches/push.rs for what it
# measures) against a js-ipfs node inside a private network namespace (tests/netns.sh).
# Usage: benches/push.sh [> benches/runs/DATE-push.md]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p ingest-cli
cargo bench -q -p ingest-benches --bench push --no-run 2>/dev/null
bash tests/ipfs-node.sh install
echo "# push benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo "command: benches/push.sh"
echo
bash tests/netns.sh cargo bench --offline -q -p ingest-benches --bench push 2>/dev/null
