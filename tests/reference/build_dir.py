#!/usr/bin/env python3
"""Writes one directory vector of fixtures/vectors/dirs.json on disk, to give to the JS reference
or to `ingest add -r`.

    python3 tests/reference/build_dir.py fixtures/vectors/dirs.json NAME OUTDIR

OUTDIR must not exist yet. The vector's empty directories are made, then its explicit files
(`entries`) and its generated ones (`patterns`, names and seeds formatted with i = 0 .. count-1),
each file holding the vectors' generated content (fixtures/vectors/README.md):

    content(seed, size) = SHA256(utf8(seed) || u64le(0)) || SHA256(utf8(seed) || u64le(1)) || ...
                          truncated to size bytes

The same trees as `ingest_tests::DirVector::materialize` writes.
"""
import hashlib
import json
import os
import struct
import sys


def content(seed, size):
    """The vectors' generated content of (seed, size), in memory (the trees' files are small)."""
    prefix = hashlib.sha256(seed.encode("utf-8"))
    pieces = []
    for i in range((size + 31) // 32):
        h = prefix.copy()
        h.update(struct.pack("<Q", i))
        pieces.append(h.digest())
    return b"".join(pieces)[:size]


def files(vector):
    """(path, seed, size) of every file of a directory vector."""
    for e in vector.get("entries", []):
        yield e["path"], e["seed"], e["size"]
    for p in vector.get("patterns", []):
        for i in range(p["count"]):
            name = p["name"].format(i=i)
            yield (f"{p['dir']}/{name}" if p["dir"] else name), p["seed"].format(i=i), p["size"]


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    vectors, name, out = sys.argv[1:]
    # A tree has one entry per profile, all describing the same files.
    vector = next((d for d in json.load(open(vectors, encoding="utf-8"))["directories"] if d["name"] == name), None)
    if vector is None:
        sys.exit(f"build_dir.py: no directory vector named {name!r} in {vectors}")
    os.makedirs(out)
    for d in vector.get("empty_dirs", []):
        os.makedirs(os.path.join(out, d), exist_ok=True)
    for path, seed, size in files(vector):
        full = os.path.join(out, *path.split("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(content(seed, size))


if __name__ == "__main__":
    assert content("public-0", 32).hex() == "76ff6c54333dcdfd963bf00a02d26df1cd63c788510ee80dcb497493a4cafd7e"
    main()
