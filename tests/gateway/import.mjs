// Imports a CAR file (v1 or v2) into the gateway's blockstore DIR/blocks, all or nothing.
// Usage: node import.mjs DIR FILE.car   (run by tests/helia-gateway.sh import)
//
// A first pass reads the whole CAR and checks every block against its CID: the multihash must
// be sha2-256 (identity and every other hash are refused) and equal the SHA-256 of the block's
// bytes. One wrong block refuses the whole CAR, and nothing is put. The second pass puts the
// blocks, checking each one again (the file could have changed in between). Prints
//   roots=<CID>[,<CID>...]   (the CAR header's roots, as they are written there; none: empty)
//   blocks=<N>               (blocks in the CAR, duplicates included)
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { join } from 'node:path'
import { CarBlockIterator } from '@ipld/car/iterator'
import { FsBlockstore } from 'blockstore-fs'

const SHA2_256 = 0x12

const [dir, file] = process.argv.slice(2)
if (dir == null || file == null || process.argv.length !== 4) {
  console.error('usage: node import.mjs DIR FILE.car')
  process.exit(2)
}

function fail (message) {
  console.error(`import.mjs: ${file}: ${message}`)
  process.exit(1)
}

/** Throws unless `bytes` are the block `cid` names. */
function check (cid, bytes) {
  const mh = cid.multihash
  if (mh.code !== SHA2_256) {
    throw new Error(`block ${cid}: multihash 0x${mh.code.toString(16)}, only sha2-256 is accepted`)
  }
  if (mh.size !== 32) throw new Error(`block ${cid}: a sha2-256 digest of ${mh.size} bytes`)
  const digest = createHash('sha256').update(bytes).digest()
  if (!digest.equals(mh.digest)) throw new Error(`block ${cid}: its bytes do not hash to its CID`)
}

/** Every block of the CAR, checked; calls `each(cid, bytes)`. Returns the header's roots. */
async function walk (each) {
  const blocks = await CarBlockIterator.fromIterable(createReadStream(file))
  const roots = await blocks.getRoots()
  let count = 0
  for await (const { cid, bytes } of blocks) {
    check(cid, bytes)
    await each(cid, bytes)
    count++
  }
  return { roots, count }
}

let summary
try {
  summary = await walk(async () => {})
} catch (err) {
  fail(`refused, nothing imported: ${err.message}`)
}

const blockstore = new FsBlockstore(join(dir, 'blocks'))
await blockstore.open()
try {
  const again = await walk(async (cid, bytes) => { await blockstore.put(cid, bytes) })
  if (again.count !== summary.count) throw new Error('the file changed while it was imported')
} catch (err) {
  fail(`import failed part way: ${err.message}`)
} finally {
  await blockstore.close()
}
console.log(`roots=${summary.roots.map(String).join(',')}`)
console.log(`blocks=${summary.count}`)
