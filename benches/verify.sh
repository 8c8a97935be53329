#!/usr/bin/env bash
# Builds the release binary and runs the verify benchmark (see benches/verify.rs for what it
# measures). Usage: benches/verify.sh [> benches/runs/DATE-verify.md]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p ingest-cli
echo "# verify benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo "command: benches/verify.sh"
echo
cargo bench -q -p ingest-benches --bench verify 2>/dev/null
