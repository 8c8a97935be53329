// Publishes an IPNS record for the gateway: signs `/ipfs/CID` with an Ed25519 key and stores the
// record where server.mjs serves and resolves it.
// Usage: node publish.mjs DIR CID|/ipfs/CID[/PATH] [VALIDITY_SECONDS [KEY]]
//   (run by tests/helia-gateway.sh publish)
//
// The key DIR/keys/KEY (default `self`; a libp2p private key protobuf) is made on first use and
// reused after. The record is what the `ipns` library makes by default (V1+V2 compatible,
// signed by both signatures, TTL 5 minutes), valid for VALIDITY_SECONDS (default 86400), with a
// sequence number one above that of the key's previous record in DIR/ipns (0 for the first).
// Its marshalled bytes are written (atomically) to DIR/ipns/<name> for both forms of the name:
// the base36 CIDv1 libp2p-key name (k51…) and the base58btc peer id (12D3Koo…). Prints
//   name=<k51…>
//   peer=<12D3Koo…>
//   seq=<N>
//   value=/ipfs/<CID>
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { createIPNSRecord, marshalIPNSRecord, unmarshalIPNSRecord } from 'ipns'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'

const args = process.argv.slice(2)
if (args.length < 2 || args.length > 4) {
  console.error('usage: node publish.mjs DIR CID|/ipfs/CID[/PATH] [VALIDITY_SECONDS [KEY]]')
  process.exit(2)
}
const [dir, target, validityArg = '86400', keyName = 'self'] = args

function fail (message) {
  console.error(`publish.mjs: ${message}`)
  process.exit(1)
}

const validity = Number(validityArg)
if (!Number.isInteger(validity) || validity <= 0) fail(`invalid validity ${validityArg} (seconds)`)
if (!/^[A-Za-z0-9_-]+$/.test(keyName)) fail(`invalid key name ${keyName}`)
let value
try {
  const [cid, ...path] = target.replace(/^\/ipfs\//, '').split('/')
  value = ['/ipfs', CID.parse(cid).toString(), ...path].join('/')
} catch (err) {
  fail(`not a CID: ${target} (${err.message})`)
}

/** Writes a file under a temporary name, then renames it into place. */
async function writeAtomic (path, bytes, mode = 0o644) {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`
  await writeFile(tmp, bytes, { mode })
  await rename(tmp, path)
}

async function readOrNull (path) {
  try {
    return await readFile(path)
  } catch (err) {
    if (err.code === 'ENOENT') return null
    throw err
  }
}

await mkdir(join(dir, 'keys'), { recursive: true, mode: 0o700 })
await mkdir(join(dir, 'ipns'), { recursive: true })
const keyFile = join(dir, 'keys', keyName)
let key
const stored = await readOrNull(keyFile)
if (stored != null) {
  key = privateKeyFromProtobuf(stored)
} else {
  key = await generateKeyPair('Ed25519')
  await writeAtomic(keyFile, privateKeyToProtobuf(key), 0o600)
}

const name = key.publicKey.toCID().toString(base36)
const peer = key.publicKey.toString()
const previous = await readOrNull(join(dir, 'ipns', name))
const seq = previous == null ? 0n : unmarshalIPNSRecord(previous).sequence + 1n
const record = await createIPNSRecord(key, value, seq, validity * 1000)
const bytes = marshalIPNSRecord(record)
for (const form of [name, peer]) {
  await writeAtomic(join(dir, 'ipns', form), bytes)
}
console.log(`name=${name}`)
console.log(`peer=${peer}`)
console.log(`seq=${seq}`)
console.log(`value=${value}`)
