#!/usr/bin/env bash
# Question: how does `ingest add` compare, as a whole process, with other tools computing the
# same unixfs-v0-2015 CID of the same file?
#   - ipfs_cid (Debian package ipfs-cid: `apt-get install ipfs-cid`), which computes kubo's
#     default (CIDv0) CID;
#   - the JS reference, tests/reference/cid.mjs (npm ipfs-unixfs-importer 17.1.1).
# All three must print the same CID, then each runs 3 times; the median wall time, its ratio to
# ingest's, and the peak RSS (GNU time, package `time`) are printed as a Markdown table.
# Usage: benches/compare.sh [SIZE_BYTES]   (default 1 GiB of the vectors' generated content)
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1073741824}
command -v ipfs_cid >/dev/null || { echo "ipfs_cid is missing: apt-get install ipfs-cid" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time is missing: apt-get install time" >&2; exit 1; }
cargo build --release -q -p ingest-cli -p ingest-tests --bin ingest --bin gen-content

work=${INGEST_BENCH_DIR:-${TMPDIR:-/tmp}/ingest-bench}
mkdir -p "$work"
input=$work/compare-$size.bin
[ "$(stat -c %s "$input" 2>/dev/null)" = "$size" ] || target/release/gen-content compare "$size" "$input"
cat "$input" >/dev/null # into the page cache: this compares CPU work, not the disk
# The JS reference's npm packages: installed when missing or older than its lock file.
reference=tests/reference
[ $reference/node_modules/.package-lock.json -nt $reference/package-lock.json ] ||
  (cd $reference && npm ci --silent --no-audit --no-fund)

declare -A cmds=(
  [ingest]="target/release/ingest add -q --profile unixfs-v0-2015 $input"
  [ipfs_cid]="ipfs_cid $input"
  [js-reference]="node $reference/cid.mjs --profile unixfs-v0-2015 $input"
)
order=(ingest ipfs_cid js-reference)

want=$(${cmds[ingest]})
for tool in ipfs_cid js-reference; do
  got=$(${cmds[$tool]} 2>/dev/null | grep -o 'Qm[1-9A-HJ-NP-Za-km-z]*' | head -1)
  [ "$got" = "$want" ] || { echo "$tool gives $got, ingest $want" >&2; exit 1; }
done

echo "# whole-process comparison, $(date -u +%Y-%m-%d), $(nproc) cores"
echo
echo "command: benches/compare.sh $size; input: $((size >> 20)) MiB of generated content; every tool printed $want"
echo
echo "| tool | wall (median of 3) | × ingest's time | peak RSS |"
echo "| --- | --- | --- | --- |"
declare -A med
for tool in "${order[@]}"; do
  times=()
  rss=0
  for _ in 1 2 3; do
    sync
    /usr/bin/time -o "$work/time.txt" -f '%e %M' ${cmds[$tool]} >/dev/null 2>&1
    read -r t m <"$work/time.txt"
    times+=("$t")
    [ "$m" -gt "$rss" ] && rss=$m
  done
  med[$tool]=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
  ratio=$(awk -v a="${med[$tool]}" -v b="${med[ingest]}" 'BEGIN { printf "%.1f", a / b }')
  echo "| $tool | ${med[$tool]} s | $ratio | $((rss / 1024)) MiB |"
done
