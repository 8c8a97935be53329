#!/usr/bin/env node
// The project's JS reference: the CID that npm ipfs-unixfs-importer 17.1.1 (Helia's UnixFS
// importer) gives a file, a directory tree or stdin under one of ingest's profiles. Tests compare
// ingest's CIDs with it where the vectors (fixtures/vectors) have no answer; it is a test aid,
// never a part of ingest. Set up with `npm ci` in this directory (package-lock.json pins it all).
//
//   node tests/reference/cid.mjs --profile PROFILE [options] PATH
//
//   PATH                 a file, a directory (imported recursively) or - (one file from stdin)
//   --profile PROFILE    unixfs-v1-2025, unixfs-v0-2015 or kubo-cidv1 (docs/profiles.md)
//   --json               print {"cid", "profile", "blocks", "blockBytes"}: the blocks reachable
//                        from the root and their total size, instead of the bare CID
//   --car OUT            also write a CARv1 of the whole DAG to OUT (blocks are then kept in
//                        memory; otherwise only their links are, so big files need little RAM)
//   --hidden             import names starting with '.' (skipped by default, as kubo does)
//   overrides of the profile, as kubo's flags: --chunk N (fixed-size chunks of N bytes),
//   --max-links N (links per file node), --raw-leaves true|false, --cid-version 0|1
//
// In a directory, symlinks are stored as UnixFS symlinks; other special files are an error. No
// mode or mtime is stored.
//
// An upstream bug is corrected before anything is imported: protons-runtime 7.1.2, which
// ipfs-unixfs 13.1.1 uses to encode UnixFS Data, writes a uint64 from 2^31 to 2^32 - 1 as a
// broken varint (LongBits holds the low word as a signed 32-bit number, so the loop emitting
// its 7-bit groups never runs), so every node whose filesize or a blocksize lies in that range,
// e.g. the root of any 2-4 GiB file, would get a wrong CID. kubo and @ipld/unixfs encode those
// sizes as ordinary varints; so does the writer here, and it checks itself before use.
import fs from 'node:fs'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { UnixFS } from 'ipfs-unixfs'
import * as dagPb from '@ipld/dag-pb'
import { CarWriter } from '@ipld/car/writer'
import { writer as protonsWriter } from 'protons-runtime'

// Every parameter that changes a CID, per profile (docs/profiles.md gives the source of each).
const PROFILES = {
  'unixfs-v1-2025': { cidVersion: 1, rawLeaves: true, chunk: 1048576, maxLinks: 1024, shardEstimate: 'block-bytes' },
  'unixfs-v0-2015': { cidVersion: 0, rawLeaves: false, chunk: 262144, maxLinks: 174, shardEstimate: 'links-bytes' },
  'kubo-cidv1': { cidVersion: 1, rawLeaves: true, chunk: 262144, maxLinks: 174, shardEstimate: 'links-bytes' }
}
// Common to all three: a directory becomes a HAMT (fanout 256) when its estimate exceeds 256 KiB.
const SHARD_THRESHOLD = 262144
const SHARD_FANOUT_BITS = 8

const USAGE = 'usage: node cid.mjs --profile unixfs-v1-2025|unixfs-v0-2015|kubo-cidv1 [--json] [--car OUT] ' +
  '[--hidden] [--chunk N] [--max-links N] [--raw-leaves true|false] [--cid-version 0|1] FILE|DIR|-'

function fail (message) {
  console.error(`cid.mjs: ${message}`)
  process.exit(1)
}

// --- the uint64 correction ------------------------------------------------------------------

// Unsigned LEB128, as protobuf writes a uint64.
function varint (value) {
  const bytes = []
  while (value > 0x7fn) {
    bytes.push(Number(value & 0x7fn) | 0x80)
    value >>= 7n
  }
  bytes.push(Number(value))
  return Uint8Array.from(bytes)
}

function correctUint64Writer () {
  const prototype = Object.getPrototypeOf(protonsWriter())
  const upstream = prototype.uint64
  prototype.uint64 = function (value) {
    if (typeof value !== 'bigint' || value < 0n) return upstream.call(this, value)
    const bytes = varint(value)
    return this._push((v, buf, pos) => buf.set(v, pos), bytes.length, bytes)
  }
  // The writer ipfs-unixfs really uses must now round-trip a size in the broken range.
  const size = 2n ** 31n + 5n
  const decoded = UnixFS.unmarshal(new UnixFS({ type: 'file', blockSizes: [size] }).marshal())
  if (decoded.fileSize() !== size) fail(`the uint64 correction did not take (read back ${decoded.fileSize()})`)
}

// --- arguments ------------------------------------------------------------------------------

function parseArgs (argv) {
  const args = { overrides: {}, json: false, hidden: false, car: null, profile: null, target: null }
  const value = (i, flag) => {
    if (i >= argv.length) fail(`${flag} needs a value\n${USAGE}`)
    return argv[i]
  }
  const count = (text, flag) => {
    if (!/^[1-9][0-9]*$/.test(text)) fail(`${flag} wants a positive integer, not ${text}`)
    return Number(text)
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    switch (arg) {
      case '--profile': args.profile = value(++i, arg); break
      case '--json': args.json = true; break
      case '--car': args.car = value(++i, arg); break
      case '--hidden': args.hidden = true; break
      case '--chunk': args.overrides.chunk = count(value(++i, arg), arg); break
      case '--max-links': args.overrides.maxLinks = count(value(++i, arg), arg); break
      case '--raw-leaves': {
        const v = value(++i, arg)
        if (v !== 'true' && v !== 'false') fail(`--raw-leaves wants true or false, not ${v}`)
        args.overrides.rawLeaves = v === 'true'
        break
      }
      case '--cid-version': {
        const v = value(++i, arg)
        if (v !== '0' && v !== '1') fail(`--cid-version wants 0 or 1, not ${v}`)
        args.overrides.cidVersion = Number(v)
        break
      }
      case '-h': case '--help':
        console.log(USAGE)
        process.exit(0)
        break
      default:
        if (arg.startsWith('--')) fail(`unknown flag ${arg}\n${USAGE}`)
        if (args.target !== null) fail(`one PATH only\n${USAGE}`)
        args.target = arg
    }
  }
  if (args.profile === null || args.target === null) fail(USAGE)
  if (!(args.profile in PROFILES)) fail(`unknown profile ${args.profile} (${Object.keys(PROFILES).join(', ')})`)
  return args
}

// --- the input ------------------------------------------------------------------------------

// Opened only when the importer reads it, so a tree of many files holds few descriptors.
async function * fileBytes (file) {
  yield * fs.createReadStream(file, { highWaterMark: 1 << 20 })
}

// Importer candidates for the tree below `dir`, each path starting with `prefix`.
function * treeCandidates (dir, prefix, hidden) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (!hidden && entry.name.startsWith('.')) continue
    const full = path.join(dir, entry.name)
    const inTree = `${prefix}/${entry.name}`
    if (entry.isSymbolicLink()) {
      yield { path: inTree, link: fs.readlinkSync(full) }
    } else if (entry.isDirectory()) {
      yield { path: inTree }
      yield * treeCandidates(full, inTree, hidden)
    } else if (entry.isFile()) {
      yield { path: inTree, content: fileBytes(full) }
    } else {
      fail(`${full}: neither a file, a directory nor a symlink`)
    }
  }
}

function statOrFail (file) {
  try {
    return fs.statSync(file)
  } catch (e) {
    fail(`${file}: ${e.code ?? e.message}`)
  }
}

// --- the blocks -----------------------------------------------------------------------------

// What the importer writes. The importer also writes blocks that end up in no DAG (an empty
// directory's, for each directory it is handed, before its entries are added), so blocks are
// counted by walking from the root: every dag-pb block's links are kept, its bytes only for a CAR.
class Blocks {
  constructor (keepBytes) {
    this.links = new Map() // CID string -> CIDs it links to
    this.sizes = new Map() // CID string -> block length
    this.kept = keepBytes ? new Map() : null // CID string -> { cid, bytes }
  }

  async put (cid, bytes) {
    const key = cid.toString()
    if (!this.sizes.has(key)) {
      this.sizes.set(key, bytes.length)
      this.links.set(key, cid.code === dagPb.code ? dagPb.decode(bytes).Links.map(l => l.Hash) : [])
      if (this.kept) this.kept.set(key, { cid, bytes })
    }
    return cid
  }

  // The root's DAG, each block once, depth first with links in order (a CAR's usual order).
  * dag (root) {
    const seen = new Set()
    const pending = [root]
    while (pending.length > 0) {
      const cid = pending.pop()
      const key = cid.toString()
      if (seen.has(key)) continue
      seen.add(key)
      if (!this.sizes.has(key)) fail(`the importer never wrote block ${key}`)
      yield key
      pending.push(...[...this.links.get(key)].reverse())
    }
  }
}

async function writeCar (file, root, blocks) {
  const { writer, out } = CarWriter.create([root])
  const written = pipeline(Readable.from(out), fs.createWriteStream(file))
  for (const key of blocks.dag(root)) await writer.put(blocks.kept.get(key))
  await writer.close()
  await written
}

// --- main -----------------------------------------------------------------------------------

const args = parseArgs(process.argv.slice(2))
const p = { ...PROFILES[args.profile], ...args.overrides }
correctUint64Writer()

const ROOT = 'root' // the name of a directory's root in the importer; it is not part of any CID
let candidates
let wanted
if (args.target === '-') {
  candidates = [{ content: process.stdin }]
} else if (statOrFail(args.target).isDirectory()) {
  candidates = [{ path: ROOT }, ...treeCandidates(args.target, ROOT, args.hidden)]
  wanted = ROOT
} else {
  candidates = [{ content: fileBytes(args.target) }]
}

const blocks = new Blocks(args.car !== null)
let root = null
for await (const entry of importer(candidates, blocks, {
  cidVersion: p.cidVersion,
  rawLeaves: p.rawLeaves,
  leafType: 'file', // a dag-pb leaf is a UnixFS File node, as kubo writes it
  reduceSingleLeafToSelf: true, // a one-chunk file is its leaf
  chunker: fixedSize({ chunkSize: p.chunk }),
  layout: balanced({ maxChildrenPerNode: p.maxLinks }),
  shardSplitStrategy: p.shardEstimate,
  shardSplitThresholdBytes: SHARD_THRESHOLD, // the importer shards when the estimate is above it
  shardFanoutBits: SHARD_FANOUT_BITS,
  fieldOrder: 'links-first',
  wrapWithDirectory: false
})) {
  if (wanted === undefined || entry.path === wanted) root = entry.cid
}
if (root === null) fail('the importer gave no root')

if (args.car !== null) await writeCar(args.car, root, blocks)
if (args.json) {
  let count = 0
  let bytes = 0
  for (const key of blocks.dag(root)) {
    count++
    bytes += blocks.sizes.get(key)
  }
  console.log(JSON.stringify({ cid: root.toString(), profile: args.profile, blocks: count, blockBytes: bytes }))
} else {
  console.log(root.toString())
}
