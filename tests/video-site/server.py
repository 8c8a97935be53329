#!/usr/bin/env python3
"""The HTTP server of the local video site (tests/video-site.sh start runs it).

Usage: server.py ROOT PORT LOG
Serves the files under ROOT (made by generate.py) on 127.0.0.1:PORT, threaded, HTTP/1.1, GET
and HEAD, with Content-Length, Content-Type and Accept-Ranges: bytes. A single byte range
(Range: bytes=A-B, A- or -N) is answered 206 with Content-Range, an unsatisfiable one 416
(Content-Range: bytes */SIZE); several ranges, or a malformed header, get the whole file (200).
Special paths:
  /v/fail.html      always HTTP 500
  /media/slow.mp4   its body sent at VIDEO_SITE_SLOW_RATE bytes/s (read at start; default
                    262144)
Anything else not a file under ROOT (or a name starting with a dot) is 404.
Request log: one JSON line per request appended to LOG when its response ends (complete or cut
off by the client), flushed at once:
  {"method": "GET", "path": "/media/v01.mp4", "range": "bytes=0-" or null, "status": 206,
   "bytes": N}
path is the request target as sent (query included); bytes counts the body bytes the socket
took (whole chunks of up to 64 KiB; a client that went away may have stored fewer). Other
methods get 501 and malformed requests 400, logged too. Python standard library only. Runs until
killed (TERM). Exits 2 on a usage error.
"""

import json
import os
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

FAIL_PATHS = {"/v/fail.html"}
SLOW_PATHS = {"/media/slow.mp4"}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".jpg": "image/jpeg",
    ".mpd": "application/dash+xml",
}
CHUNK = 64 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ingest-video-site/1"

    def log_message(self, format, *args):  # the JSON log replaces the default stderr lines
        pass

    def log_entry(self, status, sent):
        entry = {
            # (Empty when the request line could not be parsed.)
            "method": getattr(self, "command", None) or "",
            "path": getattr(self, "path", None) or "",
            "range": self.headers.get("Range") if getattr(self, "headers", None) else None,
            "status": status,
            "bytes": sent,
        }
        with self.server.log_lock:
            self.server.log.write(json.dumps(entry) + "\n")
            self.server.log.flush()

    def send_error(self, code, message=None, explain=None):
        # Errors the base class finds (a bad request line, an unsupported method): logged too.
        self.close_connection = True
        self.reply(code, f"{code} {message or self.responses.get(code, ('',))[0]}\n".encode())

    def start(self, status):
        """The status line and the headers every response has."""
        self.send_response_only(status)
        self.send_header("Server", self.server_version)
        self.send_header("Date", self.date_time_string())

    def do_GET(self):
        self.serve()

    def do_HEAD(self):
        self.serve()

    def reply(self, status, body, content_type="text/plain; charset=utf-8"):
        """A small response from memory."""
        self.start(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        sent = 0
        if self.command != "HEAD":
            sent = self.write(body)
        self.log_entry(status, sent)

    def write(self, data):
        """Writes data; returns how many bytes went out (the client may have gone)."""
        try:
            self.wfile.write(data)
            return len(data)
        except OSError:
            self.close_connection = True
            return 0

    def serve(self):
        path = unquote(urlsplit(self.path).path)
        if path in FAIL_PATHS:
            self.reply(500, b"<!DOCTYPE html><title>500</title><h1>Internal Server Error</h1>\n",
                       "text/html; charset=utf-8")
            return
        parts = [p for p in path.split("/") if p]
        file = os.path.join(self.server.root, *parts)
        if (not path.startswith("/") or any(p.startswith(".") for p in parts)
                or not os.path.isfile(file)):
            self.reply(404, b"404 Not Found\n")
            return
        size = os.path.getsize(file)
        status, start, end = 200, 0, size  # end: exclusive
        requested = self.headers.get("Range")
        byte_range = parse_range(requested, size) if requested else None
        if byte_range == "unsatisfiable":
            self.start(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.log_entry(416, 0)
            return
        if byte_range:
            status, (start, end) = 206, byte_range
        self.start(status)
        content_type = TYPES.get(os.path.splitext(file)[1], "application/octet-stream")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(end - start))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        sent = 0
        if self.command != "HEAD":
            rate = self.server.slow_rate if path in SLOW_PATHS else None
            sent = self.send_file(file, start, end, rate)
        self.log_entry(status, sent)

    def send_file(self, file, start, end, rate):
        """Sends bytes start..end of file, at most rate bytes/s if rate; returns the count sent."""
        sent = 0
        began = time.monotonic()
        chunk = CHUNK if not rate else max(1, min(CHUNK, rate // 8))
        with open(file, "rb") as f:
            f.seek(start)
            while sent < end - start:
                data = f.read(min(chunk, end - start - sent))
                if not data:
                    break
                if rate:  # waits before a chunk, not after: the last one ends the response
                    ahead = began + sent / rate - time.monotonic()
                    if ahead > 0:
                        time.sleep(ahead)
                n = self.write(data)
                sent += n
                if n < len(data):
                    break
        return sent


def parse_range(value, size):
    """(start, end) for a single satisfiable byte range, 'unsatisfiable', or None (ignored)."""
    m = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value)
    if not m or (not m.group(1) and not m.group(2)):
        return None  # malformed, another unit, or several ranges: the whole file
    first, last = m.group(1), m.group(2)
    if not first:  # the last N bytes
        n = int(last)
        if n == 0:
            return "unsatisfiable"
        return max(0, size - n), size
    start = int(first)
    end = size if not last else min(int(last) + 1, size)
    if last and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, end


def main():
    if len(sys.argv) != 4 or not sys.argv[2].isdigit():
        sys.stderr.write("usage: server.py ROOT PORT LOG\n")
        return 2
    root, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    rate = int(os.environ.get("VIDEO_SITE_SLOW_RATE", "262144"))
    if rate <= 0:
        sys.stderr.write("server.py: VIDEO_SITE_SLOW_RATE must be a positive integer\n")
        return 2
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.root = os.path.abspath(root)
    server.slow_rate = rate
    server.log = open(log, "a", encoding="utf-8")
    server.log_lock = threading.Lock()
    sys.stderr.write(f"server.py: serving {server.root} on http://127.0.0.1:{port}, "
                     f"slow rate {rate} B/s\n")
    sys.stderr.flush()
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
