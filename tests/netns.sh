#!/usr/bin/env bash
# Runs a command in a fresh private network namespace, where only loopback exists: nothing it
# starts can reach or be reached from any other machine. The network tests run their IPFS nodes
# and services this way (tests/ipfs-node.sh and tests/pinning-service.sh refuse to run elsewhere).
# Usage: tests/netns.sh COMMAND [ARG...]
#   e.g. tests/netns.sh bash -c 'tests/ipfs-node.sh start /tmp/n; ...; tests/ipfs-node.sh stop /tmp/n'
# Needs root (or unprivileged user namespaces, used then via `unshare -rn`) and `ip` (iproute2).
# Inside, INGEST_NETNS=1 is set. Exits with COMMAND's status; refuses (status 1) if the new
# namespace has any interface other than lo.
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: tests/netns.sh COMMAND [ARG...]" >&2; exit 2; }

if [ "${1:-}" = "--inside" ]; then
  shift
  ip link set lo up
  others=$(ip -o link | awk -F': ' '{ print $2 }' | grep -vx lo || true)
  if [ -n "$others" ]; then
    echo "tests/netns.sh: interfaces other than lo: $(echo "$others" | tr '\n' ' ')" >&2
    exit 1
  fi
  export INGEST_NETNS=1
  exec "$@"
fi

flags=(-n)
[ "$(id -u)" -eq 0 ] || flags=(-r -n)
exec unshare "${flags[@]}" -- bash "$0" --inside "$@"
