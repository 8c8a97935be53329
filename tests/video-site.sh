#!/usr/bin/env bash
# Starts and stops a local video site for the download tests: pages and media made by ffmpeg
# (tests/video-site/generate.py), served on 127.0.0.1 by a Python standard-library HTTP server
# (tests/video-site/server.py), for yt-dlp's generic extractor to download from.
# Usage:
#   tests/video-site.sh start DIR COUNT [PORT]
#   tests/video-site.sh stop DIR
# start: makes the site's media in DIR/www/media (about 1 s for COUNT 36) unless made already for
#   COUNT by the same generator (DIR/media.stamp), and its pages in DIR/www/v (every time: they
#   name the port). Runs the server on 127.0.0.1:PORT (default: a free port; a PORT something
#   listens on already is refused) in the background (log DIR/server.log, PID DIR/pid; the
#   server reads VIDEO_SITE_SLOW_RATE at start), waits until it accepts a TCP connection
#   (VIDEO_SITE_START_TIMEOUT seconds, default 30; a bare connection, which adds nothing to the
#   request log), writes DIR/wanted.txt, then prints and writes to DIR/env:
#     url=http://127.0.0.1:P
#     pid=N
#   The server never connects anywhere: it runs in the private network namespace of the network
#   tests (tests/netns.sh) as well as outside one.
# The site, with NN = 01..COUNT (zero-padded to 2 digits), every URL in a page absolute:
#   /v/vNN.html   og:video /media/vNN.mp4 (1 s, 160x120, H.264 and AAC, moov first), og:image
#                 /media/vNN.jpg; yt-dlp: extractor generic, id vNN, one format `0` (http)
#   /v/sep.html   <video poster=/media/sep.jpg> with /media/sep.mpd, a static DASH manifest of two
#                 whole files: /media/sep-video.mp4 (video only, format `video`) and
#                 /media/sep-audio.m4a (audio only, format `audio`), both protocol http;
#                 yt-dlp: extractor HTML5MediaEmbed, id sep-1
#   /v/slow.html  like vNN, media /media/slow.mp4 (over 4 MiB: about 5.3 MB), its body sent at
#                 VIDEO_SITE_SLOW_RATE bytes/s (default 262144: about 20 s)
#   /v/fail.html  always HTTP 500 (yt-dlp: generic, id fail, fails at once: no retry)
#   Every media file has distinct bytes. Files are served to GET and HEAD with Content-Length,
#   their Content-Type and Accept-Ranges: bytes; a single byte range gets 206 and Content-Range
#   (so yt-dlp resumes a .part file), a range past the end 416; anything else is 404.
# DIR/requests.jsonl (appended to, across restarts): one JSON line per request, written (and
#   flushed) once its response has ended, complete or cut off by the client, e.g.
#     {"method": "GET", "path": "/media/v01.mp4", "range": "bytes=100-", "status": 206,
#      "bytes": 24812}
#   path: the request target as sent; range: the Range header, or null; bytes: the body bytes
#   the socket took (a client that went away may have stored fewer). A client can see its last
#   byte a moment before the line is written: poll rather than read the log once.
# DIR/wanted.txt: one line per video, "SITE ID URL", as
#   `yt-dlp --flat-playlist --print "%(extractor_key)s %(id)s %(webpage_url)s"` prints them with
#   the extractor key in lower case: generic vNN URL (NN = 01..COUNT), then
#   html5mediaembed sep-1 URL, generic slow URL, generic fail URL (the page fails: yt-dlp prints
#   nothing for it).
# stop: sends TERM to the PID in DIR/pid, KILL after 5 s, and waits until it is gone.
# Exits 0 on success, 1 on failure, 2 on a usage error. Needs python3 and ffmpeg.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/components.sh
source "$here/components.sh"
site=$here/video-site

usage() { echo "usage: tests/video-site.sh start DIR COUNT [PORT] | stop DIR" >&2; exit 2; }
die() { echo "tests/video-site.sh: $*" >&2; exit 1; }

# Stops the process whose PID is in DIR/pid, if it is the server started on DIR (see is_ours in
# tests/components.sh): TERM, then KILL after 5 s; waits until it is gone and removes DIR/pid.
stop_site() {
  local dir pid mark i
  [ -d "$1" ] || return 0
  dir=$(cd "$1" && pwd)
  mark="VIDEO_SITE_DIR=$dir"
  [ -f "$dir/pid" ] || return 0
  pid=$(cat "$dir/pid")
  # (is_ours's stderr hidden: the process may exit between its reads of /proc/PID.)
  if is_ours "$pid" "$mark" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      is_ours "$pid" "$mark" 2>/dev/null || break
      sleep 0.1
    done
    if is_ours "$pid" "$mark" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      while is_ours "$pid" "$mark" 2>/dev/null; do sleep 0.1; done
    fi
  fi
  rm -f "$dir/pid"
}

# The site's stamp: its video count and the generator's hash (a changed generator regenerates).
stamp() {
  echo "$1 $(sha256sum "$site/generate.py" | cut -d' ' -f1)"
}

start_site() {
  local dir=$1 count=$2 port=${3:-} url i id
  [[ $count =~ ^[0-9]+$ ]] || usage
  [ -z "$port" ] || [[ $port =~ ^[0-9]+$ ]] || usage
  count=$((10#$count))
  command -v ffmpeg >/dev/null || die "ffmpeg is missing: bash tests/setup.sh installs it"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ -f "$dir/pid" ] && is_ours "$(cat "$dir/pid")" "VIDEO_SITE_DIR=$dir" 2>/dev/null; then
    die "a site already runs on $dir (pid $(cat "$dir/pid"))"
  fi
  rm -f "$dir/pid"
  # (The readiness probe below would take another listener for the server.)
  if [ -n "$port" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "something listens on 127.0.0.1:$port already"
  fi

  # The media, unless made already; the pages, which name the port, every time.
  if [ ! -d "$dir/www/media" ] ||
    [ "$(cat "$dir/media.stamp" 2>/dev/null)" != "$(stamp "$count")" ]; then
    rm -rf "$dir/www"
    mkdir -p "$dir/www"
    python3 "$site/generate.py" media "$dir/www/media" "$count" || die "generating the media failed"
    stamp "$count" >"$dir/media.stamp"
  fi
  [ -n "$port" ] || port=$(free_port)
  url=http://127.0.0.1:$port
  rm -rf "$dir/www/v"
  python3 "$site/generate.py" pages "$dir/www/v" "$count" "$url" ||
    die "generating the pages failed"

  touch "$dir/requests.jsonl"
  # In the caller's process group: a runner that kills the group of a test stops it too.
  VIDEO_SITE_DIR=$dir python3 "$site/server.py" "$dir/www" "$port" "$dir/requests.jsonl" \
    </dev/null >>"$dir/server.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/pid"
  # shellcheck disable=SC2016 # expanded by the inner bash
  wait_ready "$dir" "$pid" "$dir/server.log" "${VIDEO_SITE_START_TIMEOUT:-30}" \
    "VIDEO_SITE_DIR=$dir" \
    bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$port"

  {
    for ((i = 1; i <= count; i++)); do
      id=$(printf 'v%02d' "$i")
      echo "generic $id $url/v/$id.html"
    done
    echo "html5mediaembed sep-1 $url/v/sep.html"
    echo "generic slow $url/v/slow.html"
    echo "generic fail $url/v/fail.html"
  } >"$dir/wanted.txt"
  printf 'url=%s\npid=%s\n' "$url" "$pid" | tee "$dir/env"
}

[ $# -ge 2 ] || usage
case $1 in
  start) { [ $# -ge 3 ] && [ $# -le 4 ]; } || usage; start_site "${@:2}" ;;
  stop) [ $# -eq 2 ] || usage; stop_site "$2" ;;
  *) usage ;;
esac
