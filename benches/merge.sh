#!/usr/bin/env bash
# Builds the release binary and runs the catalogue merge benchmark (see benches/merge.rs).
# Usage: benches/merge.sh [> benches/runs/DATE-merge.md]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p ingest-cli
echo "# catalogue merge benchmark, $(date -u +%Y-%m-%d), $(nproc) cores"
echo
echo "command: benches/merge.sh"
echo
cargo bench -q -p ingest-benches --bench merge 2>/dev/null
