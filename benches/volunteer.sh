#!/usr/bin/env bash
# Builds the release binary and runs the volunteer benchmark (see benches/volunteer.rs for what
# it measures): the local video site, the pinned yt-dlp and a js-ipfs node inside a private
# network namespace (tests/netns.sh).
# Usage: benches/volunteer.sh [> benches/runs/DATE-volunteer.md]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p ingest-cli
cargo bench -q -p ingest-benches --bench volunteer --no-run 2>/dev/null
bash tests/ipfs-node.sh install
bash tests/ytdlp.sh install
echo "# volunteer benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo
echo "command: benches/volunteer.sh"
echo
bash tests/netns.sh cargo bench --offline -q -p ingest-benches --bench volunteer 2>/dev/null
