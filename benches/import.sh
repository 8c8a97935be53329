#!/usr/bin/env bash
# Builds the release binary and runs the import benchmark (see benches/import.rs for what it
# measures). Usage: benches/import.sh [> benches/runs/DATE-import.md]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p ingest-cli
echo "# import benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo "command: benches/import.sh"
echo
cargo bench -q -p ingest-benches --bench import 2>/dev/null
