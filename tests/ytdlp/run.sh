#!/usr/bin/env bash
# `ingest archive` against a real yt-dlp download:
#   ffmpeg (Debian) makes a short test video and a thumbnail; a page that names them (og:video,
#   og:image) is served on 127.0.0.1 by a server this script starts; yt-dlp (PyPI) downloads it
#   twice, into two directories (--write-info-json --write-thumbnail --fixup never), and
#   `ingest archive` archives each download. Checks: both runs give byte-identical records (the
#   info.json files differ, in `epoch` at least); the record's video CID equals `ingest add` of the
#   downloaded file; `ingest record check --data` confirms every file; the npm exporter finds the
#   video, the thumbnail and record.cbor in the CAR by name, with the right bytes.
# Usage: tests/ytdlp/run.sh [INGEST_BINARY]. Needs ffmpeg, python3 (venv), node; installs the
# pinned yt-dlp into target/ytdlp-venv (tests/ytdlp.sh). Prints "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
ingest=${1:-$repo/target/release/ingest}
[ -x "$ingest" ] || (cd "$repo" && cargo build --release -q -p ingest-cli)
command -v ffmpeg >/dev/null || { echo "ffmpeg is missing: bash tests/setup.sh installs it" >&2; exit 1; }
bash "$repo/tests/ytdlp.sh" install
venv=$repo/target/ytdlp-venv
[ -d "$repo/tests/interop/node_modules" ] || (cd "$repo/tests/interop" && npm ci --no-audit --no-fund --silent)

work=$(mktemp -d "${TMPDIR:-/tmp}/ingest-ytdlp.XXXXXX")
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/site"
ffmpeg -loglevel error -f lavfi -i testsrc=duration=2:size=320x240:rate=25 \
  -f lavfi -i sine=frequency=440:duration=2 -c:v libx264 -preset ultrafast -c:a aac -shortest \
  "$work/site/clip.mp4"
ffmpeg -loglevel error -f lavfi -i testsrc=size=320x240 -frames:v 1 "$work/site/clip.jpg"

# A server on a free port of 127.0.0.1, started by this script and stopped when it ends.
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/site/watch.html" <<HTML
<!DOCTYPE html><html><head><title>Test clip</title>
<meta property="og:title" content="A test clip">
<meta property="og:description" content="Made by ffmpeg for the ingest tests">
<meta property="og:video" content="http://127.0.0.1:$port/clip.mp4">
<meta property="og:video:type" content="video/mp4">
<meta property="og:image" content="http://127.0.0.1:$port/clip.jpg">
</head><body></body></html>
HTML
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/site" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/watch.html')" 2>/dev/null && break
  sleep 0.1
done

passed=0
failed=0
check() {
  local name=$1
  shift
  if out=$("$@" 2>&1); then
    passed=$((passed + 1)); echo "ok   $name${out:+: $out}"
  else
    failed=$((failed + 1)); echo "FAIL $name: $out"
  fi
}

download() { # download DIR: yt-dlp as the README says, then ingest archive
  mkdir -p "$1"
  (cd "$1" && "$venv/bin/yt-dlp" --no-config --quiet --no-progress --write-info-json \
    --write-thumbnail --fixup never -o '%(id)s.%(ext)s' "http://127.0.0.1:$port/watch.html") || return 1
  "$ingest" archive --json --car "$1/clip.info.json" --out "$1/out" >"$1/archive.json" || return 1
}
check "yt-dlp download and ingest archive, first run" download "$work/a"
sleep 1 # a later `epoch` in the second info.json
check "yt-dlp download and ingest archive, second run" download "$work/b"

field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }

same_record() {
  cmp -s "$work/a/clip.info.json" "$work/b/clip.info.json" && { echo "the two info.json files are identical: the test proves nothing"; return 1; }
  cmp "$work/a/out/generic-clip.record.cbor" "$work/b/out/generic-clip.record.cbor" || return 1
  [ "$(field "$work/a/archive.json" record)" = "$(field "$work/b/archive.json" record)" ] || return 1
  field "$work/a/archive.json" record
}
check "two downloads, byte-identical records" same_record

video_cid_is_add() {
  local want got
  want=$("$ingest" add -Q "$work/a/clip.mp4") || return 1
  got=$(field "$work/a/archive.json" video) || return 1
  [ "$got" = "$want" ] || { echo "record video $got, ingest add $want"; return 1; }
  echo "$got"
}
check "the record's video CID equals ingest add of the download" video_cid_is_add

check "ingest record check --data confirms every file" \
  "$ingest" record check "$work/a/out/generic-clip.record.cbor" --data "$work/a"

car_read_by_exporter() {
  local result
  result=$(node "$repo/tests/interop/verify-car.mjs" "$work/a/out/generic-clip.car" \
    --expect-root "$(field "$work/a/archive.json" directory)" \
    --path clip.mp4 --path clip.jpg --path record.cbor) || return 1
  python3 - "$result" "$work/a" <<'PY' || return 1
import hashlib, json, sys
result, base = json.loads(sys.argv[1]), sys.argv[2]
for name, local in [("clip.mp4", "clip.mp4"), ("clip.jpg", "clip.jpg"), ("record.cbor", "out/generic-clip.record.cbor")]:
    want = hashlib.sha256(open(f"{base}/{local}", "rb").read()).hexdigest()
    if result["paths"][name]["sha256"] != want:
        sys.exit(f"{name} in the CAR differs from {local}")
PY
  echo "video, thumbnail and record.cbor found by name, bytes equal"
}
check "the CAR is read by the npm exporter" car_read_by_exporter

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
