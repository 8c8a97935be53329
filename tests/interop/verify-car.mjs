#!/usr/bin/env node
// Reads a CAR written by `ingest` with real IPFS client libraries and checks it.
//
//   node verify-car.mjs CAR [--file ORIGINAL] [--tree DIR] [--path a/b/c]... [--expect-root CID]
//
// - every block's bytes hash to its CID (sha2-256), and no block appears twice;
// - the header names exactly one root, present in the CAR (and equal to --expect-root);
// - ipfs-unixfs-exporter, reading only this CAR, reproduces ORIGINAL byte for byte (--file);
//   exports every entry of the local tree DIR under its path, with the same bytes and no entry
//   the tree lacks, and looks up a spread of 500 files by name through the (sharded)
//   directories (--tree; hidden names skipped, as ingest does);
//   or finds each --path below the root and prints its size and sha256.
// Prints one JSON object; exits 1 on any failure. The CAR is read through an on-disk index
// (@ipld/car's CarIndexedReader), so a multi-GB CAR does not need multi-GB of memory.
import crypto from 'node:crypto'
import fs from 'node:fs'
import { CarIndexedReader } from '@ipld/car/indexed-reader'
import { exporter, recursive } from 'ipfs-unixfs-exporter'

function fail (msg) {
  console.error(`verify-car: ${msg}`)
  process.exit(1)
}

const args = process.argv.slice(2)
const carPath = args.shift()
if (!carPath) fail('usage: verify-car.mjs CAR [--file ORIGINAL] [--path P]... [--expect-root CID]')
let original = null
let expectRoot = null
let tree = null
const paths = []
while (args.length) {
  const flag = args.shift()
  if (flag === '--file') original = args.shift()
  else if (flag === '--path') paths.push(args.shift())
  else if (flag === '--tree') tree = args.shift()
  else if (flag === '--expect-root') expectRoot = args.shift()
  else fail(`unknown argument ${flag}`)
}

const reader = await CarIndexedReader.fromFile(carPath)
const roots = await reader.getRoots()
if (roots.length !== 1) fail(`${carPath}: expected one root, found ${roots.length}`)
const root = roots[0]
if (expectRoot && root.toString() !== expectRoot) fail(`${carPath}: root ${root} but expected ${expectRoot}`)

const seen = new Set()
let blocks = 0
for await (const { cid, bytes } of reader.blocks()) {
  const key = cid.toString()
  if (seen.has(key)) fail(`${carPath}: block ${key} appears twice`)
  seen.add(key)
  if (cid.multihash.code !== 0x12) fail(`${carPath}: block ${key} is not sha2-256`)
  const digest = crypto.createHash('sha256').update(bytes).digest()
  if (!digest.equals(Buffer.from(cid.multihash.digest))) fail(`${carPath}: block ${key} does not match its hash`)
  blocks++
}
if (!seen.has(root.toString())) fail(`${carPath}: root ${root} is not in the CAR`)

// ipfs-unixfs-exporter 16 takes a blockstore whose get() yields a block's bytes in pieces.
const blockstore = {
  async * get (cid) {
    const block = await reader.get(cid)
    if (!block) throw new Error(`block ${cid} missing from ${carPath}`)
    yield block.bytes
  }
}

async function digestOf (entry) {
  const h = crypto.createHash('sha256')
  let size = 0
  for await (const chunk of entry.content()) {
    h.update(chunk)
    size += chunk.length
  }
  return { size, sha256: h.digest('hex') }
}

const result = { car: carPath, root: root.toString(), blocks }
if (original) {
  const entry = await exporter(root, blockstore)
  const got = await digestOf(entry)
  const want = crypto.createHash('sha256')
  let wantSize = 0
  for await (const chunk of fs.createReadStream(original, { highWaterMark: 1 << 20 })) {
    want.update(chunk)
    wantSize += chunk.length
  }
  const wantHex = want.digest('hex')
  if (got.size !== wantSize || got.sha256 !== wantHex) {
    fail(`${carPath}: exported ${got.size} bytes (sha256 ${got.sha256}), original ${original} has ${wantSize} (${wantHex})`)
  }
  result.file = { size: got.size, sha256: got.sha256 }
}
if (tree) {
  // Every local entry (hidden names skipped, as ingest does), by its path below DIR.
  const local = new Map() // path -> 'directory' | sha256 of the file
  ;(function scan (rel) {
    for (const e of fs.readdirSync(rel ? `${tree}/${rel}` : tree, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue
      const p = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) {
        local.set(p, 'directory')
        scan(p)
      } else if (e.isFile()) {
        local.set(p, crypto.createHash('sha256').update(fs.readFileSync(`${tree}/${p}`)).digest('hex'))
      } else if (e.isSymbolicLink()) {
        local.set(p, `symlink:${fs.readlinkSync(`${tree}/${p}`)}`)
      }
    }
  })('')
  // One recursive export finds every entry under its name; its bytes must match.
  const seenPaths = new Set()
  for await (const listed of recursive(root, blockstore)) {
    // exporter 16 yields bare directory entries (cid, name, path): export each by its CID.
    const entry = typeof listed.type === 'string' ? listed : Object.assign(await exporter(listed.cid, blockstore), { path: listed.path })
    const rel = entry.path.split('/').slice(1).join('/')
    if (!rel) continue
    const want = local.get(rel)
    if (want === undefined) fail(`${carPath}: ${rel} is in the CAR but not in ${tree}`)
    if (entry.type === 'directory') {
      if (want !== 'directory') fail(`${carPath}: ${rel} is a directory in the CAR only`)
    } else if (want.startsWith('symlink:')) {
      const target = new TextDecoder().decode(entry.unixfs?.data ?? new Uint8Array())
      if (entry.unixfs?.type !== 'symlink' || `symlink:${target}` !== want) fail(`${carPath}: ${rel} is not the symlink ${want}`)
    } else {
      const got = await digestOf(entry)
      if (got.sha256 !== want) fail(`${carPath}: ${rel} differs from the local file`)
    }
    seenPaths.add(rel)
  }
  for (const p of local.keys()) if (!seenPaths.has(p)) fail(`${carPath}: ${p} is missing from the CAR`)
  // Lookups by name through the (sharded) directories, for a spread of the files.
  const files = [...local.entries()].filter(([, v]) => v !== 'directory' && !v.startsWith('symlink:')).map(([p]) => p).sort()
  const step = Math.max(1, Math.floor(files.length / 500))
  let looked = 0
  for (let i = 0; i < files.length; i += step) {
    const got = await digestOf(await exporter(`${root}/${files[i]}`, blockstore))
    if (got.sha256 !== local.get(files[i])) fail(`${carPath}: ${files[i]} found by name differs`)
    looked++
  }
  result.tree = { entries: seenPaths.size, lookedUpByName: looked }
}
result.paths = {}
for (const p of paths) {
  let entry
  try {
    entry = await exporter(`${root}/${p}`, blockstore)
  } catch (e) {
    fail(`${carPath}: ${p} not found below ${root}: ${e.message}`)
  }
  result.paths[p] = entry.type === 'directory' ? { type: 'directory', cid: entry.cid.toString() } : { type: entry.type, cid: entry.cid.toString(), ...(await digestOf(entry)) }
}
await reader.close()
console.log(JSON.stringify(result))
