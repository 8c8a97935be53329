// Verifies a marshalled IPNS record for a name with the npm `ipns` package: the independent
// JavaScript check of the records ingest makes.
// Usage: node verify-ipns.mjs NAME FILE
//   NAME: the IPNS name, as a libp2p-key CID (k51… base36, bafz… base32) or a peer id
//     (12D3Koo…, Qm…: base58btc multihash).
//   FILE: the record's bytes (the IPNS protobuf, as application/vnd.ipfs.ipns-record carries it).
//
// The check is the `ipns` package's own validator, ipnsValidator(routing key of NAME, bytes),
// the one the delegated routing server runs on PUT and js DHT nodes run: at most 10 KiB; a
// protobuf with signatureV2 and data, the data CBOR with ValidityType 0 (EOL); if the record
// has both value and signatureV1 (a V1+V2 record), its protobuf value, validity, validityType,
// sequence and ttl must equal the CBOR data's; the public key (the embedded pubKey, which must
// then hash to NAME, or else the key inlined in NAME's identity multihash) verifies signatureV2
// over "ipns-signature:" + data; the EOL (Validity) not passed. It never checks signatureV1, nor
// that the CBOR is canonical DAG-CBOR. A CBOR data without Sequence or TTL fails here (not in
// the validator) when they are printed.
// Valid: prints one line of JSON and exits 0:
//   {"valid":true,"value":"/ipfs/…","sequence":N,"validity":"…","ttl":N}
//   (sequence and ttl are unsigned 64-bit integers, written exactly; ttl in nanoseconds;
//   validity is the RFC 3339 end of life as the record has it).
// Invalid: prints {"valid":false,"error":"<ErrorName>: <message>"} and the reason on stderr,
// exits 1. Bad usage, a bad NAME or an unreadable FILE: exits 2.
import { readFile } from 'node:fs/promises'
import { multihashToIPNSRoutingKey, unmarshalIPNSRecord } from 'ipns'
import { ipnsValidator } from 'ipns/validator'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'

const LIBP2P_KEY = 0x72

const args = process.argv.slice(2)
if (args.length !== 2) {
  console.error('usage: node verify-ipns.mjs NAME FILE')
  process.exit(2)
}
const [name, file] = args

function usageError (message) {
  console.error(`verify-ipns.mjs: ${message}`)
  process.exit(2)
}

/** The multihash an IPNS name stands for: a libp2p-key CID (k51…, bafz…) or a peer id (12D3…, Qm…). */
function nameToMultihash (name) {
  if (!/^[A-Za-z0-9]+$/.test(name)) throw new Error('not an IPNS name')
  let cid
  try {
    cid = CID.parse(name, name.startsWith('k') ? base36 : undefined)
  } catch {
    return Digest.decode(base58btc.decode(`z${name}`))
  }
  if (cid.version !== 1 || cid.code !== LIBP2P_KEY) throw new Error('a CID, but not a CIDv1 libp2p-key')
  return cid.multihash
}

let multihash
try {
  multihash = nameToMultihash(name)
} catch (err) {
  usageError(`invalid IPNS name ${name}: ${err.message}`)
}
let bytes
try {
  bytes = await readFile(file)
} catch (err) {
  usageError(`cannot read ${file}: ${err.message}`)
}

try {
  await ipnsValidator(multihashToIPNSRoutingKey(multihash), bytes)
  const record = unmarshalIPNSRecord(bytes)
  // By hand: JSON.stringify cannot write a bigint, and a Number would round past 2^53.
  console.log(`{"valid":true,"value":${JSON.stringify(record.value)},"sequence":${BigInt(record.sequence)},` +
    `"validity":${JSON.stringify(record.validity)},"ttl":${BigInt(record.ttl)}}`)
} catch (err) {
  const reason = `${err?.name ?? 'Error'}: ${err?.message ?? err}`
  console.log(JSON.stringify({ valid: false, error: reason }))
  console.error(`verify-ipns.mjs: ${file} is not a valid IPNS record for ${name}: ${reason}`)
  process.exit(1)
}
