#!/usr/bin/env bash
# Builds the release binary and runs the site benchmark (see benches/site.rs).
# Usage: benches/site.sh [> benches/runs/DATE-site.md]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p ingest-cli
echo "# site benchmark, $(date -u +%Y-%m-%d), $(nproc) cores"
echo
echo "command: benches/site.sh"
echo
cargo bench -q -p ingest-benches --bench site 2>/dev/null
