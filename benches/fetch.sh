#!/usr/bin/env bash
# Builds the release binary and runs the fetch benchmark (see benches/fetch.rs for what it
# measures). Usage: benches/fetch.sh [> benches/runs/DATE-fetch.md]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p ingest-cli
echo "# fetch benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo "command: benches/fetch.sh"
echo
cargo bench -q -p ingest-benches --bench fetch 2>/dev/null
