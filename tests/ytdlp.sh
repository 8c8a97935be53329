#!/usr/bin/env bash
# Installs the pinned yt-dlp of the tests (tests/ytdlp/requirements.txt: yt-dlp 2026.11.23 from
# PyPI, checked against the hash of its wheel) into the virtualenv target/ytdlp-venv.
# Usage:
#   tests/ytdlp.sh install
#   tests/ytdlp.sh path
# install: does nothing if target/ytdlp-venv/bin/yt-dlp --version prints the pinned version;
#   otherwise (no venv, or another yt-dlp in it, e.g. an older unpinned install) recreates the
#   venv (python3 -m venv) and runs pip install --require-hashes --no-deps on the requirements.
#   Needs python3 with venv and ensurepip (bash tests/setup.sh installs python3-venv) and PyPI:
#   run it outside the private network namespace. Quiet on success; a failed pip prints its log.
# path: prints the absolute path of the venv's yt-dlp (whether or not it is installed).
# Exits 0 on success, 1 on failure, 2 on a usage error.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
requirements=$here/ytdlp/requirements.txt
venv=$repo/target/ytdlp-venv
ytdlp=$venv/bin/yt-dlp

usage() { echo "usage: tests/ytdlp.sh install | path" >&2; exit 2; }
die() { echo "tests/ytdlp.sh: $*" >&2; exit 1; }

# The version pinned in the requirements (the `yt-dlp==V` line).
pinned() {
  sed -n 's/^yt-dlp==\([^ ]*\).*/\1/p' "$requirements"
}

installed() {
  [ -x "$ytdlp" ] && [ "$("$ytdlp" --version 2>/dev/null)" = "$(pinned)" ]
}

install() {
  installed && return 0
  local log status=0
  rm -rf "$venv"
  mkdir -p "$repo/target"
  log=$(mktemp "${TMPDIR:-/tmp}/ingest-ytdlp-install.XXXXXX")
  { python3 -m venv "$venv" &&
    "$venv/bin/pip" install --disable-pip-version-check --no-input --require-hashes --no-deps \
      -r "$requirements"; } >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    cat "$log" >&2
    rm -f "$log"
    die "installing yt-dlp into $venv failed"
  fi
  rm -f "$log"
  installed || die "$ytdlp --version does not print $(pinned)"
}

[ $# -eq 1 ] || usage
case $1 in
  install) install ;;
  path) echo "$ytdlp" ;;
  *) usage ;;
esac
