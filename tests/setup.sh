#!/usr/bin/env bash
# Installs what the test suite needs and a fresh machine may lack, and nothing else: tests/run.sh
# runs it first. Idempotent and quiet: when everything is there it checks and prints nothing;
# `apt-get update` runs only when a package is missing, and a failed install prints its log.
#   apt (Debian/Ubuntu): node and npm (the interop checks), ffmpeg (tests/ytdlp makes its test
#   video), openssl (the HTTPS fetch test's server), python3-venv (yt-dlp goes in a venv),
#   iproute2 and curl (the network tests' private namespace and their requests to the node),
#   chromium (the site's browser test, tests/browser.sh)
#   rustup: clippy and rustfmt (the lint and format checks)
set -euo pipefail

need_apt=()
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v openssl >/dev/null || need_apt+=(openssl)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
command -v ip >/dev/null || need_apt+=(iproute2)
command -v curl >/dev/null || need_apt+=(curl)
command -v unshare >/dev/null || need_apt+=(util-linux)
[ -x /usr/lib/chromium/chromium ] || need_apt+=(chromium)

need_rustup=()
cargo clippy --version >/dev/null 2>&1 || need_rustup+=(clippy)
cargo fmt --version >/dev/null 2>&1 || need_rustup+=(rustfmt)

# Runs a command with its output kept aside, printed only if it fails.
quietly() {
  local log status=0
  log=$(mktemp "${TMPDIR:-/tmp}/ingest-setup.XXXXXX")
  "$@" >"$log" 2>&1 || status=$?
  [ "$status" -eq 0 ] || { echo "tests/setup.sh: $* failed:" >&2; cat "$log" >&2; }
  rm -f "$log"
  return "$status"
}

if [ ${#need_apt[@]} -gt 0 ]; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
      echo "tests/setup.sh: ${need_apt[*]} missing, and installing needs root or sudo" >&2
      exit 1
    }
    sudo=(sudo)
  fi
  echo "tests/setup.sh: installing ${need_apt[*]} (apt-get)" >&2
  quietly "${sudo[@]}" apt-get update -qq
  quietly "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi

if [ ${#need_rustup[@]} -gt 0 ]; then
  echo "tests/setup.sh: installing ${need_rustup[*]} (rustup)" >&2
  quietly rustup component add "${need_rustup[@]}"
fi
