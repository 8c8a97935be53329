#!/usr/bin/env bash
# Builds the release binary and runs the todo benchmark (see benches/todo.rs for what it
# measures) against a Helia trustless gateway inside a private network namespace
# (tests/netns.sh).
# Usage: benches/todo.sh [> benches/runs/DATE-todo.md]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p ingest-cli
cargo bench -q -p ingest-benches --bench todo --no-run 2>/dev/null
bash tests/helia-gateway.sh install
echo "# todo benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo "command: benches/todo.sh"
echo
bash tests/netns.sh cargo bench --offline -q -p ingest-benches --bench todo 2>/dev/null
