#!/usr/bin/env python3
"""Generates the files of the local video site (tests/video-site.sh start runs it).

Usage:
  generate.py media OUT COUNT
  generate.py pages OUT COUNT URL
media: writes the media into the directory OUT (which must not exist; created here, removed again
  on failure); they do not depend on the server's address:
    vNN.mp4, vNN.jpg     NN = 01..COUNT: the progressive videos (1 s, 160x120, H.264 and AAC,
                         moov first) and their thumbnails
    sep.mpd, sep-video.mp4, sep-audio.m4a, sep.jpg: one video as a static DASH manifest whose two
                         representations (ids `video` and `audio`) are whole files, fragmented
                         MP4s with a sidx (SegmentBase), video only and audio only; and a poster
    slow.mp4, slow.jpg   the video the server throttles (3 s, 320x240, at least 4 MiB)
  Every media file has distinct bytes: each progressive video is a stream copy of one of two base
  clips with its id as `comment` metadata; each thumbnail shows its id (drawtext), or is a
  distinct frame of ffmpeg's testsrc if drawtext is unavailable.
pages: writes the pages into the directory OUT (which must not exist), the site's media under
  URL/media/ (absolute URLs: yt-dlp's generic extractor resolves a relative og:video but leaves
  a relative og:image as it is, and then fails to fetch the thumbnail):
    vNN.html, slow.html  og:title, og:description, og:video (with og:video:type video/mp4) and
                         og:image: yt-dlp's generic extractor, id vNN / slow (the media file's
                         basename)
    sep.html             <video poster> with a <source> of sep.mpd (application/dash+xml):
                         yt-dlp's HTML5MediaEmbed, id sep-1
  (fail.html is not a file: the server answers HTTP 500 for it.)
Needs ffmpeg (libx264, aac). Python standard library only.
Exits 0 on success, 1 on failure (ffmpeg's messages on stderr), 2 on a usage error.
"""

import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile

SIZE = "160x120"
SLOW_MIN_BYTES = 4 * 1024 * 1024


def ffmpeg(*args):
    return ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args]


def run_all(commands):
    """Runs the commands in parallel (two at a time: the tests' machines have few cores)."""
    pending = list(commands)
    running = []
    failed = []
    while pending or running:
        while pending and len(running) < 2:
            cmd = pending.pop(0)
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE)
            running.append((cmd, proc))
        cmd, proc = running.pop(0)
        _, err = proc.communicate()
        if proc.returncode != 0:
            failed.append((cmd, err.decode(errors="replace")))
    return failed


def check(failed):
    for cmd, err in failed:
        sys.stderr.write(f"generate.py: {' '.join(cmd)} failed:\n{err}")
    if failed:
        raise SystemExit(1)


def base_clip(path, source, frequency, seconds=1, size=SIZE, extra=()):
    return ffmpeg(
        "-f", "lavfi", "-i", f"{source}=duration={seconds}:size={size}:rate=25",
        "-f", "lavfi", "-i", f"sine=frequency={frequency}:duration={seconds}",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra,
        "-c:a", "aac", "-shortest", "-movflags", "+faststart", path)


def drawtext(text):
    return (f"drawtext=text='{text}':fontsize=40:fontcolor=white:"
            "x=(w-text_w)/2:y=(h-text_h)/2")


def thumbnails(media, ids, specials):
    """Writes media/ID.jpg for ids (v01..) and specials (sep, slow), each showing its id (or,
    without drawtext, a distinct testsrc frame)."""
    batch = os.path.join(media, "thumb-%04d.jpg")
    frames = len(ids) + len(specials)
    commands = []
    if ids:
        commands.append(ffmpeg(
            "-f", "lavfi", "-i", f"color=c=0x203060:s={SIZE}:r=1:d={len(ids)}",
            "-vf", drawtext(r"v%{eif\:n+1\:d\:2}"), "-start_number", "1", batch))
    special = ffmpeg("-f", "lavfi", "-i", f"color=c=0x602030:s={SIZE}:r=1:d=1")
    for name in specials:
        special += ["-vf", drawtext(name), "-frames:v", "1", os.path.join(media, f"{name}.jpg")]
    commands.append(special)
    if run_all(commands):
        # No drawtext (an ffmpeg without libfreetype, or no font): distinct testsrc frames.
        check(run_all([ffmpeg(
            "-f", "lavfi", "-i", f"testsrc=size={SIZE}:rate=1:duration={frames}",
            "-start_number", "1", batch)]))
        for i, name in enumerate(specials, start=len(ids) + 1):
            os.replace(batch % i, os.path.join(media, f"{name}.jpg"))
    for i, vid in enumerate(ids, start=1):
        os.replace(batch % i, os.path.join(media, f"{vid}.jpg"))


def boxes(path):
    """The top-level MP4 boxes of a file: (type, offset, size)."""
    with open(path, "rb") as f:
        data = f.read()
    out, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8:offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        out.append((kind.decode("latin-1"), offset, size))
        offset += size
    return data, out


def segment_base(path):
    """The Initialization range (ftyp and moov) and indexRange (sidx) of a fragmented MP4."""
    _, found = boxes(path)
    kinds = [k for k, _, _ in found]
    if "sidx" not in kinds or "moov" not in kinds:
        raise SystemExit(f"generate.py: {path} has no moov or sidx box: {kinds}")
    _, moov_at, moov_size = found[kinds.index("moov")]
    _, sidx_at, sidx_size = found[kinds.index("sidx")]
    return f"0-{moov_at + moov_size - 1}", f"{sidx_at}-{sidx_at + sidx_size - 1}"


def avc_codec(path):
    """The RFC 6381 codecs string (avc1.PPCCLL) from the file's avcC box."""
    data, _ = boxes(path)
    at = data.find(b"avcC")
    if at < 0:
        raise SystemExit(f"generate.py: {path} has no avcC box")
    return "avc1." + data[at + 5:at + 8].hex().upper()


PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<title>Video {id}</title>
<meta property="og:title" content="Video {id}">
<meta property="og:description" content="{description}">
{extra}</head>
<body><h1>Video {id}</h1>
{body}</body></html>
"""


def progressive_page(vid, description, media):
    extra = (f'<meta property="og:video" content="{media}/{vid}.mp4">\n'
             '<meta property="og:video:type" content="video/mp4">\n'
             f'<meta property="og:image" content="{media}/{vid}.jpg">\n')
    return PAGE.format(id=vid, description=description, extra=extra, body="")


MPD = """<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011" type="static" minBufferTime="PT1S" mediaPresentationDuration="PT1S">
  <Period id="0" start="PT0S">
    <AdaptationSet id="0" contentType="video" mimeType="video/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="video" codecs="{vcodec}" width="{width}" height="{height}" frameRate="25" bandwidth="{vbandwidth}">
        <BaseURL>sep-video.mp4</BaseURL>
        <SegmentBase indexRange="{vindex}"><Initialization range="{vinit}"/></SegmentBase>
      </Representation>
    </AdaptationSet>
    <AdaptationSet id="1" contentType="audio" mimeType="audio/mp4" segmentAlignment="true" startWithSAP="1">
      <Representation id="audio" codecs="mp4a.40.2" audioSamplingRate="44100" bandwidth="{abandwidth}">
        <AudioChannelConfiguration schemeIdUri="urn:mpeg:dash:23003:3:audio_channel_configuration:2011" value="1"/>
        <BaseURL>sep-audio.m4a</BaseURL>
        <SegmentBase indexRange="{aindex}"><Initialization range="{ainit}"/></SegmentBase>
      </Representation>
    </AdaptationSet>
  </Period>
</MPD>
"""


def write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def generate_media(media, count):
    ids = video_ids(count)
    build = tempfile.mkdtemp(prefix="build-", dir=media)
    base_a, base_b = os.path.join(build, "a.mp4"), os.path.join(build, "b.mp4")
    slow = os.path.join(media, "slow.mp4")

    # Base clips, and the slow video (noise: big, and still fast to encode).
    check(run_all([
        base_clip(base_a, "testsrc", 440),
        base_clip(base_b, "testsrc2", 660),
        base_clip(slow, "testsrc2", 550, seconds=3, size="320x240",
                  extra=("-vf", "noise=alls=60:allf=t", "-qp", "22")),
    ]))
    thumbnails(media, ids, ["sep", "slow"])

    # Each progressive video: a copy of a base clip with its id as metadata (one ffmpeg per base,
    # with one output per video); sep: the video and the audio of base a as fragmented MP4s.
    outputs = {base_a: [], base_b: []}
    for i, vid in enumerate(ids):
        outputs[base_a if i % 2 == 0 else base_b] += [
            "-map", "0", "-c", "copy", "-metadata", f"comment={vid}", "-metadata",
            f"title=Video {vid}", "-movflags", "+faststart", os.path.join(media, f"{vid}.mp4")]
    sep_video = os.path.join(media, "sep-video.mp4")
    sep_audio = os.path.join(media, "sep-audio.m4a")
    dash = ["-c", "copy", "-metadata", "comment=sep", "-f", "mp4", "-movflags", "+dash+global_sidx"]
    check(run_all([ffmpeg("-i", base, *out) for base, out in outputs.items() if out] + [
        ffmpeg("-i", base_a, "-map", "0:v", *dash, sep_video),
        ffmpeg("-i", base_a, "-map", "0:a", *dash, sep_audio),
    ]))
    shutil.rmtree(build)

    vinit, vindex = segment_base(sep_video)
    ainit, aindex = segment_base(sep_audio)
    width, height = SIZE.split("x")
    write(os.path.join(media, "sep.mpd"), MPD.format(
        vcodec=avc_codec(sep_video), width=width, height=height,
        vbandwidth=os.path.getsize(sep_video) * 8, abandwidth=os.path.getsize(sep_audio) * 8,
        vinit=vinit, vindex=vindex, ainit=ainit, aindex=aindex))

    if os.path.getsize(slow) < SLOW_MIN_BYTES:
        raise SystemExit(f"generate.py: {slow} is {os.path.getsize(slow)} bytes, under 4 MiB")
    seen = {}
    for name in sorted(os.listdir(media)):
        with open(os.path.join(media, name), "rb") as f:
            digest = hashlib.sha256(f.read()).digest()
        if digest in seen:
            raise SystemExit(f"generate.py: {name} and {seen[digest]} are identical")
        seen[digest] = name


def generate_pages(pages, count, url):
    media = url.rstrip("/") + "/media"
    for vid in video_ids(count):
        write(os.path.join(pages, f"{vid}.html"),
              progressive_page(vid, f"Test video {vid} of the ingest video site", media))
    write(os.path.join(pages, "slow.html"),
          progressive_page("slow", "A video the site serves slowly", media))
    write(os.path.join(pages, "sep.html"), PAGE.format(
        id="sep", description="One video as separate video-only and audio-only files (DASH)",
        extra="",
        body=f'<video controls poster="{media}/sep.jpg">'
             f'<source src="{media}/sep.mpd" type="application/dash+xml"></video>\n'))


def video_ids(count):
    return [f"v{i:02d}" for i in range(1, count + 1)]


def main():
    args = sys.argv[1:]
    if not ((len(args) == 3 and args[0] == "media") or (len(args) == 4 and args[0] == "pages")) \
            or not args[2].isdigit():
        sys.stderr.write("usage: generate.py media OUT COUNT | pages OUT COUNT URL\n")
        return 2
    out, count = args[1], int(args[2])
    try:
        os.makedirs(out)
    except OSError as e:
        sys.stderr.write(f"generate.py: {e}\n")
        return 1
    try:
        if args[0] == "media":
            generate_media(out, count)
        else:
            generate_pages(out, count, args[3])
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
