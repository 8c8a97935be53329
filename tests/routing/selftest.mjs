// Checks a running routing server (tests/routing-server.sh start) against what the tests rely
// on, with records made by the `ipns` package and Ed25519 keys of @libp2p/crypto.
// Usage: node selftest.mjs URL   (inside the namespace, with the server's url from DIR/env)
// Prints one line per check and, last, "N passed, M failed"; exits 1 if any check failed.
// It uses fresh keys, so it can run against a server that already holds records.
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createIPNSRecord, marshalIPNSRecord, unmarshalIPNSRecord } from 'ipns'
import { base32 } from 'multiformats/bases/base32'
import { base36 } from 'multiformats/bases/base36'

const IPNS_RECORD = 'application/vnd.ipfs.ipns-record'
const CID_A = 'bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4'
const CID_B = 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'
const DAY = 24 * 3600 * 1000

const base = process.argv[2]
if (base == null || process.argv.length !== 3) {
  console.error('usage: node selftest.mjs URL')
  process.exit(2)
}
const here = dirname(fileURLToPath(import.meta.url))
const work = await mkdtemp(join(tmpdir(), 'routing-selftest-'))

let passed = 0
let failed = 0
async function check (what, fn) {
  try {
    const detail = await fn()
    passed++
    console.log(`ok   ${what}${detail == null ? '' : ` (${detail})`}`)
  } catch (err) {
    failed++
    console.log(`FAIL ${what}: ${err.message}`)
  }
}
function expect (cond, message) {
  if (!cond) throw new Error(message)
}

const url = name => `${base.replace(/\/$/, '')}/routing/v1/ipns/${name}`
async function put (name, bytes, contentType = IPNS_RECORD) {
  const headers = contentType == null ? {} : { 'content-type': contentType }
  const res = await fetch(url(name), { method: 'PUT', headers, body: bytes })
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() }
}
async function get (name) {
  const res = await fetch(url(name), { headers: { accept: IPNS_RECORD } })
  return { status: res.status, type: res.headers.get('content-type'), bytes: new Uint8Array(await res.arrayBuffer()) }
}
const same = (a, b) => Buffer.from(a).equals(Buffer.from(b))
const show = r => `${r.status} ${r.type} ${(r.text ?? Buffer.from(r.bytes).toString()).trim().slice(0, 120)}`
function verify (name, bytes, file) {
  return writeFile(join(work, file), bytes).then(() => spawnSync(process.execPath,
    [join(here, 'verify-ipns.mjs'), name, join(work, file)], { encoding: 'utf8' }))
}

const key = await generateKeyPair('Ed25519')
const other = await generateKeyPair('Ed25519')
const name = key.publicKey.toCID().toString(base36) // k51…
const nameB32 = key.publicKey.toCID().toString(base32) // bafz…
const peer = key.publicKey.toString() // 12D3Koo…
const rec = async (seq, value = `/ipfs/${CID_A}`, lifetime = DAY, signer = key, opts) =>
  marshalIPNSRecord(await createIPNSRecord(signer, value, seq, lifetime, opts))

const r1 = await rec(1n)
const r2 = await rec(2n, `/ipfs/${CID_B}`)

await check('GET of an unknown name: 200 text/plain "Record not found"', async () => {
  const r = await get(name)
  expect(r.status === 200 && r.type.startsWith('text/plain') && Buffer.from(r.bytes).toString() === 'Record not found', show(r))
  return show(r)
})
await check('PUT seq 1: 200', async () => {
  const r = await put(name, r1)
  expect(r.status === 200, show(r))
  return show(r)
})
await check('GET: the same bytes, application/vnd.ipfs.ipns-record', async () => {
  const r = await get(name)
  expect(r.status === 200 && r.type === IPNS_RECORD && same(r.bytes, r1), show(r))
  return `${r.status} ${r.type}, ${r.bytes.length} bytes`
})
await check('GET by the base32 form bafz… of the name: the same record', async () => {
  const r = await get(nameB32)
  expect(r.status === 200 && same(r.bytes, r1), show(r))
})
await check('GET and PUT by the peer id 12D3Koo…: 422', async () => {
  const g = await get(peer)
  const p = await put(peer, r1)
  expect(g.status === 422 && p.status === 422, `GET ${show(g)}; PUT ${show(p)}`)
  return `GET ${g.status}, PUT ${p.status}`
})
await check('verify-ipns.mjs accepts the record (k51 name and peer id)', async () => {
  for (const n of [name, peer]) {
    const v = await verify(n, r1, 'r1')
    expect(v.status === 0, `${n}: exit ${v.status}: ${v.stdout}${v.stderr}`)
    const j = JSON.parse(v.stdout)
    const want = unmarshalIPNSRecord(r1)
    expect(j.valid === true && j.value === `/ipfs/${CID_A}` && j.sequence === 1 && j.validity === want.validity &&
      BigInt(j.ttl) === want.ttl, v.stdout)
  }
  return (await verify(name, r1, 'r1')).stdout.trim()
})

// Tampering: the last bytes of the V2 signature (field 8, 64 bytes, near the end).
const tampered = Buffer.from(r2)
const sig = Buffer.from(unmarshalIPNSRecord(r2).signatureV2)
const at = tampered.indexOf(sig)
tampered[at + 10] ^= 0x01
await check('PUT of a record with a bad V2 signature: 400, nothing stored', async () => {
  const r = await put(name, tampered)
  expect(r.status === 400, show(r))
  const g = await get(name)
  expect(same(g.bytes, r1), 'the stored record changed')
  return show(r)
})
await check('verify-ipns.mjs refuses it: exit 1', async () => {
  const v = await verify(name, tampered, 'tampered')
  expect(v.status === 1 && JSON.parse(v.stdout).valid === false, `exit ${v.status}: ${v.stdout}`)
  return v.stdout.trim()
})
await check('PUT of a record signed by another key: 400', async () => {
  const r = await put(name, await rec(5n, `/ipfs/${CID_B}`, DAY, other))
  expect(r.status === 400, show(r))
  return show(r)
})
await check('PUT of garbage: 400', async () => {
  const r = await put(name, new TextEncoder().encode('not a record'))
  expect(r.status === 400, show(r))
  return show(r)
})
await check('PUT of an expired record: 400', async () => {
  const expired = await rec(9n, `/ipfs/${CID_B}`, 1)
  await new Promise(resolve => setTimeout(resolve, 20))
  const r = await put(name, expired)
  expect(r.status === 400, show(r))
  return show(r)
})
await check('PUT with Content-Type application/octet-stream: 415', async () => {
  const r = await put(name, r2, 'application/octet-stream')
  expect(r.status === 415, show(r))
  return show(r)
})
await check('PUT seq 2 (higher): 200, GET returns it', async () => {
  const r = await put(name, r2)
  expect(r.status === 200, show(r))
  const g = await get(name)
  expect(same(g.bytes, r2), 'GET did not return the seq 2 record')
})
await check('PUT seq 1 again (lower): 409, GET still returns seq 2', async () => {
  const r = await put(name, r1)
  expect(r.status === 409, show(r))
  const g = await get(name)
  expect(same(g.bytes, r2), 'the stored record changed')
  return show(r)
})
await check('PUT of the same seq 2 bytes again: 200', async () => {
  const r = await put(name, r2)
  expect(r.status === 200, show(r))
})
await check('PUT seq 2 with a later end of life: 200 (replaces); with an earlier one: 409', async () => {
  const longer = await rec(2n, `/ipfs/${CID_B}`, 2 * DAY)
  const shorter = await rec(2n, `/ipfs/${CID_B}`, DAY / 2)
  const a = await put(name, longer)
  const b = await put(name, shorter)
  const g = await get(name)
  expect(a.status === 200 && b.status === 409 && same(g.bytes, longer), `longer ${show(a)}; shorter ${show(b)}`)
})
await check('PUT of a V2-only record (v1Compatible false), seq 3: 200, verify-ipns.mjs accepts it', async () => {
  const v2 = await rec(3n, `/ipfs/${CID_A}`, DAY, key, { v1Compatible: false })
  const r = await put(name, v2)
  expect(r.status === 200, show(r))
  const v = await verify(name, v2, 'v2')
  expect(v.status === 0, v.stdout + v.stderr)
  return v.stdout.trim()
})
await check('PUT of a record over 10 KiB: 400', async () => {
  const big = await rec(4n, `/ipfs/${CID_A}/${'x'.repeat(11000)}`)
  const r = await put(name, big)
  expect(r.status === 400, show(r))
  return `${big.length} bytes: ${show(r)}`
})
await check('a stored record that expires: GET says "Record not found"; it no longer blocks a lower sequence', async () => {
  const third = await generateKeyPair('Ed25519')
  const n = third.publicKey.toCID().toString(base36)
  const short = await rec(7n, `/ipfs/${CID_A}`, 1500, third)
  const p = await put(n, short)
  expect(p.status === 200, `PUT ${show(p)}`)
  await new Promise(resolve => setTimeout(resolve, 2000))
  const g = await get(n)
  expect(g.status === 200 && g.type.startsWith('text/plain'), `GET ${show(g)}`)
  const lower = await rec(1n, `/ipfs/${CID_B}`, DAY, third)
  const q = await put(n, lower)
  const h = await get(n)
  expect(q.status === 200 && same(h.bytes, lower), `PUT lower ${show(q)}`)
})
await check('GET of a CID that is not libp2p-key: 422', async () => {
  const r = await get(CID_A)
  expect(r.status === 422, show(r))
})

await rm(work, { recursive: true, force: true })
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed === 0 ? 0 : 1)
