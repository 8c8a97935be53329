#!/usr/bin/env bash
# Interoperability checks of the `ingest` binary against real IPFS implementations:
#   - CIDs against the JS reference (tests/reference/cid.mjs, ipfs-unixfs-importer) for cases
#     the vectors (fixtures/vectors) do not cover (other sizes, kubo-style overrides);
#   - CARs written by `ingest add --car` read back by npm @ipld/car and ipfs-unixfs-exporter:
#     every block's hash checked, the original bytes reproduced exactly.
# Usage: tests/interop/run.sh [INGEST_BINARY]   (default: target/release/ingest, built if absent;
# the target directory is $CARGO_TARGET_DIR when set, as for cargo)
# Needs node and npm; installs its npm packages on first use. Prints "N passed, N failed".
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
reference=$repo/tests/reference
vectors=$repo/fixtures/vectors
target=${CARGO_TARGET_DIR:-$repo/target}
ingest=${1:-$target/release/ingest}
gen=$target/release/gen-content
[ -x "$ingest" ] || (cd "$repo" && cargo build --release -q -p ingest-cli)
[ -x "$gen" ] || (cd "$repo" && cargo build --release -q -p ingest-tests --bin gen-content)

work=$(mktemp -d "${TMPDIR:-/tmp}/ingest-interop.XXXXXX")
trap 'rm -rf "$work"' EXIT

# npm packages, each directory's pinned by its lock file: the readers here and the JS reference.
# `npm ci` runs when node_modules is missing or older than the lock file.
npm_ci() {
  [ "$1/node_modules/.package-lock.json" -nt "$1/package-lock.json" ] ||
    (cd "$1" && npm ci --no-audit --no-fund --silent)
}
npm_ci "$here"
npm_ci "$reference"

passed=0
failed=0
check() { # check NAME COMMAND...: runs a check, counts it, prints its verdict
  local name=$1
  shift
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
    echo "ok   $name${out:+: $out}"
  else
    failed=$((failed + 1))
    echo "FAIL $name: $out"
  fi
}

# add_and_verify FILE REFERENCE_FLAGS -- INGEST_FLAGS: the CID of FILE (a file, or a tree with
# -r among INGEST_FLAGS) must equal the JS reference's (or, with REFERENCE_FLAGS `--vector NAME
# PROFILE`, the CID of that directory vector), and the exporter must read the CAR back into the
# same bytes (a tree: every entry, under its name).
add_and_verify() {
  local target=$1
  shift
  local reference_flags=() ingest_flags=()
  while [ "$1" != "--" ]; do reference_flags+=("$1"); shift; done
  shift
  ingest_flags=("$@")
  # Every step ends in `|| return 1`: inside `check`'s `if`, bash ignores set -e.
  local want got car=$work/out.car what=--file
  [ -d "$target" ] && what=--tree
  if [ "${reference_flags[0]}" = "--vector" ]; then
    want=$(python3 -c 'import json, sys; print(next(d["cid"] for d in json.load(open(sys.argv[1]))["directories"] if d["name"] == sys.argv[2] and d["profile"] == sys.argv[3]))' \
      "$vectors/dirs.json" "${reference_flags[1]}" "${reference_flags[2]}") || return 1
  else
    want=$(node "$reference/cid.mjs" "${reference_flags[@]}" "$target") || return 1
  fi
  got=$("$ingest" add -Q "${ingest_flags[@]}" --car "$car" "$target") || return 1
  [ "$got" = "$want" ] || { echo "ingest $got, JS reference $want"; return 1; }
  node "$here/verify-car.mjs" "$car" "$what" "$target" --expect-root "$want" >/dev/null || return 1
  echo "$got"
}

# Multi-level files under each profile (more chunks than one node's links, so a tree of 3 levels).
"$gen" interop-v0 50000000 "$work/v0.bin"
check "unixfs-v0-2015, 50 MB, 3 levels" add_and_verify "$work/v0.bin" --profile unixfs-v0-2015 -- --profile unixfs-v0-2015
check "kubo-cidv1, 50 MB, 3 levels" add_and_verify "$work/v0.bin" --profile kubo-cidv1 -- --profile kubo-cidv1
"$gen" interop-v1 $((1024 * 1048576 + 3 * 1048576 + 5)) "$work/v1.bin"
check "unixfs-v1-2025, 1 GiB + 3 MiB, 3 levels" add_and_verify "$work/v1.bin" --profile unixfs-v1-2025 -- --profile unixfs-v1-2025
rm -f "$work/v1.bin"

# kubo-style overrides: deep trees out of small files.
"$gen" interop-small 100000 "$work/small.bin"
check "v0 + size-1000 + 3 links (6 levels)" add_and_verify "$work/small.bin" \
  --profile unixfs-v0-2015 --chunk 1000 --max-links 3 -- --profile unixfs-v0-2015 --chunker size-1000 --max-links 3
check "kubo-cidv1 + size-1000 + 3 links" add_and_verify "$work/small.bin" \
  --profile kubo-cidv1 --chunk 1000 --max-links 3 -- --profile kubo-cidv1 -s size-1000 --max-links 3
check "v0 + raw leaves (CIDv1 leaves under a CIDv0 root)" add_and_verify "$work/small.bin" \
  --profile unixfs-v0-2015 --raw-leaves true --chunk 4096 -- --profile unixfs-v0-2015 --raw-leaves --chunker size-4096
check "v1-2025 + cid-version 1 + dag-pb leaves" add_and_verify "$work/small.bin" \
  --profile unixfs-v1-2025 --raw-leaves false --chunk 5000 --max-links 7 -- --raw-leaves=false -s size-5000 --max-links 7
"$gen" interop-one 777 "$work/one.bin"
check "v0 + raw leaves, one chunk (the root is a CIDv1 raw block)" add_and_verify "$work/one.bin" \
  --profile unixfs-v0-2015 --raw-leaves true -- --profile unixfs-v0-2015 --raw-leaves
: > "$work/empty.bin"
for p in unixfs-v1-2025 unixfs-v0-2015 kubo-cidv1; do
  check "$p, empty file" add_and_verify "$work/empty.bin" --profile $p -- --profile $p
done

# Directories: CIDs against the JS reference (hidden files, a symlink, empty directories,
# non-ASCII names, a sharded subdirectory), and CARs whose every entry the exporter finds.
python3 "$reference/build_dir.py" "$vectors/dirs.json" nested "$work/nested"
ln -s top.txt "$work/nested/link-to-top"
ln -s ../missing "$work/nested/a/dangling"
mkdir "$work/nested/.git" && echo secret >"$work/nested/.git/config" && echo x >"$work/nested/a/.hidden"
for p in unixfs-v1-2025 unixfs-v0-2015 kubo-cidv1; do
  check "$p, nested tree with symlinks, hidden files skipped" add_and_verify "$work/nested" --profile $p -- -r --profile $p
done
hidden_included() {
  local want got
  want=$(node "$reference/cid.mjs" --profile kubo-cidv1 --hidden "$work/nested") || return 1
  got=$("$ingest" add -r -Q --hidden --profile kubo-cidv1 "$work/nested") || return 1
  [ "$got" = "$want" ] || { echo "ingest $got, JS reference $want"; return 1; }
  echo "$got"
}
check "kubo-cidv1, nested tree with --hidden" hidden_included
python3 "$reference/build_dir.py" "$vectors/dirs.json" video-20000 "$work/v20k"
for p in unixfs-v1-2025 unixfs-v0-2015; do
  check "$p, HAMT-sharded directory of 20000 files read by the exporter" add_and_verify "$work/v20k" --vector video-20000 $p -- -r --profile $p
done
wrapped() { # -w FILE equals the reference's CID of a directory holding just that file
  local want got
  mkdir -p "$work/wrap" && cp "$work/small.bin" "$work/wrap/small.bin"
  want=$(node "$reference/cid.mjs" --profile unixfs-v0-2015 "$work/wrap") || return 1
  got=$("$ingest" add -w -Q --profile unixfs-v0-2015 "$work/small.bin") || return 1
  [ "$got" = "$want" ] || { echo "ingest $got, JS reference $want"; return 1; }
  echo "$got"
}
check "-w wraps a file in a directory" wrapped

# The catalogue equals stock UnixFS: the same tree on disk (the real files, record.cbor files,
# the conflict under _conflicts) gives the same root in the JS reference, and the exporter finds
# a video's record.cbor in the catalogue CAR by its path.
catalogue_matches_reference() { # PROFILE
  local p=$1 d=$work/catalogue-$1
  mkdir -p "$d/data"
  for v in youtube:a youtube:b youtube:c vimeo:d vimeo:e; do
    "$gen" "catalogue-$v" $((3000 + ${#v} * 1000)) "$d/data/${v#*:}.mp4"
    "$ingest" archive "$d/data/${v#*:}.mp4" --site "${v%%:*}" --id "${v#*:}" --title "video $v" \
      --profile "$p" --out "$d/records" -q || return 1
  done
  # A second, different record of youtube/a: a conflict.
  "$ingest" archive "$d/data/a.mp4" --site youtube --id a --title "another title" --profile "$p" \
    --out "$d/records2" -q || return 1
  "$ingest" merge --json --profile "$p" "$d/records" "$d/records2" --out "$d/cat.car" >"$d/merge.json" || return 1
  python3 - "$d" "$ingest" <<'PY' || return 1
import json, os, shutil, subprocess, sys
d, ingest = sys.argv[1], sys.argv[2]
merge = json.load(open(f"{d}/merge.json"))
losers = {o for c in merge["conflicts"] for o in c["others"]}
assert len(losers) == 1, merge
tree = f"{d}/tree"
for folder in ("records", "records2"):
    for name in sorted(os.listdir(f"{d}/{folder}")):
        if not name.endswith(".record.cbor"):
            continue
        path = f"{d}/{folder}/{name}"
        check = json.loads(subprocess.run([ingest, "record", "check", "--json", path], check=True,
                                          capture_output=True, text=True).stdout.splitlines()[-1])
        record = json.loads(subprocess.run([ingest, "record", "show", path], check=True,
                                           capture_output=True, text=True).stdout)
        site, vid = record["source"]["site"], record["source"]["id"]
        cid = check["record"]
        where = f"{tree}/_conflicts/{site}/{vid}/{cid}" if cid in losers else f"{tree}/{site}/{vid}"
        os.makedirs(where)
        for f in record["files"]:
            shutil.copy(f"{d}/data/{f['name']}", f"{where}/{f['name']}")
        shutil.copy(path, f"{where}/record.cbor")
PY
  local want got
  want=$(node "$reference/cid.mjs" --profile "$p" "$d/tree") || return 1
  got=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["root"])' "$d/merge.json") || return 1
  [ "$got" = "$want" ] || { echo "merge $got, JS reference of the tree on disk $want"; return 1; }
  local shown
  shown=$(node "$here/verify-car.mjs" "$d/cat.car" --expect-root "$got" --path youtube/b/record.cbor) || return 1
  python3 -c 'import hashlib, json, sys; r = json.loads(sys.argv[1])["paths"]["youtube/b/record.cbor"]; want = hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest(); sys.exit(r["sha256"] != want)' \
    "$shown" "$d/records/youtube-b.record.cbor" || { echo "record.cbor found by path differs"; return 1; }
  echo "$got"
}
for p in unixfs-v1-2025 unixfs-v0-2015 kubo-cidv1; do
  check "$p, catalogue equals the JS reference's CID of the same tree; record.cbor found by path" catalogue_matches_reference $p
done

# A CAR on stdout is the same file, whether the input is a file (read twice) or a pipe (spooled).
same_car_three_ways() {
  "$ingest" add -q --profile unixfs-v0-2015 --car "$work/a.car" "$work/v0.bin" >/dev/null || return 1
  "$ingest" add -q --profile unixfs-v0-2015 --car - "$work/v0.bin" 2>/dev/null >"$work/b.car" || return 1
  "$ingest" add -q --profile unixfs-v0-2015 --car - - <"$work/v0.bin" 2>/dev/null >"$work/c.car" || return 1
  cmp "$work/a.car" "$work/b.car" && cmp "$work/a.car" "$work/c.car"
}

# The checks themselves must be able to fail: a corrupted CAR and a wrong expected root.
corrupt_car_is_caught() {
  "$ingest" add -q --profile kubo-cidv1 --car "$work/bad.car" "$work/small.bin" >/dev/null || return 1
  printf 'X' | dd of="$work/bad.car" bs=1 seek=5000 conv=notrunc status=none
  if node "$here/verify-car.mjs" "$work/bad.car" --file "$work/small.bin" >/dev/null 2>&1; then
    echo "a corrupted CAR passed verification"
    return 1
  fi
  if add_and_verify "$work/small.bin" --profile kubo-cidv1 -- --profile unixfs-v0-2015 >/dev/null 2>&1; then
    echo "a CID differing from the JS reference passed"
    return 1
  fi
}
check "the checks catch a corrupted CAR and a wrong CID" corrupt_car_is_caught
check "--car - from a file and from a pipe equals --car FILE" same_car_three_ways

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
