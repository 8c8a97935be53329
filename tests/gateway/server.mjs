// A trustless gateway for the network tests: @helia/verified-fetch over a Helia node whose
// blockstore is the filesystem blockstore DIR/blocks, fully offline.
// Usage: node server.mjs DIR PORT   (started by tests/helia-gateway.sh start)
//
// Offline by construction: the Helia node is the bare `Helia` class of the helia package (what
// its createHeliaLight() builds), imported from its file because the package's entry point
// loads @helia/libp2p and with it every libp2p transport (WebRTC's native addon included, which
// `npm ci --omit=optional` leaves out). It has no libp2p at all, no routers, no block brokers
// and a DNS resolver that refuses every query; every fetch runs with `offline: true` and
// `session: false`, so a block missing from DIR/blocks fails at once
// (BlockNotFoundWhileOfflineError, which verified-fetch answers with 412 Precondition Failed)
// instead of being looked for.
//
// IPNS: names resolve only from the signed records in DIR/ipns/<name> (written by
// publish.mjs), validated (signature, expiry) before use. GET /ipns/NAME asking for
// application/vnd.ipfs.ipns-record (Accept, or ?format=ipns-record) is answered here with the
// stored record's bytes as they are (404 when there is none). DNSLink is refused.
//
// Every GET or HEAD of /ipfs/... or /ipns/... goes to verified-fetch with its Accept header,
// Range, If-None-Match and query; its status, headers and body stream are forwarded as they
// are. A request that has no response after INGEST_GATEWAY_TIMEOUT_MS (default 30000) ms is
// aborted and answered 504; a response's body is never cut by a timeout. One log line per
// request goes to stdout.
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import * as dagCbor from '@ipld/dag-cbor'
import * as dagJson from '@ipld/dag-json'
import { FsBlockstore } from 'blockstore-fs'
import { unmarshalIPNSRecord, multihashToIPNSRoutingKey } from 'ipns'
import { ipnsValidator } from 'ipns/validator'
import { base36 } from 'multiformats/bases/base36'
import { base58btc } from 'multiformats/bases/base58'
import { CID } from 'multiformats/cid'
import * as json from 'multiformats/codecs/json'
import * as Digest from 'multiformats/hashes/digest'
// Not exported by the packages' entry points (see above): imported from their files.
import { Helia } from './node_modules/helia/dist/src/helia.js'
import { VerifiedFetch } from './node_modules/@helia/verified-fetch/dist/src/verified-fetch.js'

const IPNS_RECORD = 'application/vnd.ipfs.ipns-record'
const LIBP2P_KEY = 0x72

const [dir, portArg] = process.argv.slice(2)
const port = Number(portArg)
if (dir == null || !Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.mjs DIR PORT')
  process.exit(2)
}
const timeoutMs = Number(process.env.INGEST_GATEWAY_TIMEOUT_MS ?? 30000)

/** The multihash an IPNS name stands for: a libp2p-key CID (k51…, bafz…) or a peer id (12D3…, Qm…). */
function nameToMultihash (name) {
  if (!/^[A-Za-z0-9]+$/.test(name)) throw new Error('not an IPNS name')
  let cid
  try {
    cid = CID.parse(name, name.startsWith('k') ? base36 : undefined)
  } catch {
    return Digest.decode(base58btc.decode(`z${name}`))
  }
  if (cid.version !== 1 || cid.code !== LIBP2P_KEY) throw new Error('not a libp2p-key CID')
  return cid.multihash
}

/** The file of the record for a name: DIR/ipns/<the name as a base36 libp2p-key CID>. */
function recordFile (multihash) {
  return join(dir, 'ipns', CID.createV1(LIBP2P_KEY, multihash).toString(base36))
}

/** The stored record of a name, or null. */
async function storedRecord (multihash) {
  try {
    return await readFile(recordFile(multihash))
  } catch (err) {
    if (err.code === 'ENOENT') return null
    throw err
  }
}

function namedError (name, message) {
  const err = new Error(message)
  err.name = name
  return err
}

// Resolves names from DIR/ipns alone (verified-fetch's ipnsResolver interface: yields the
// record and its value). A name without a record fails as verified-fetch's own resolver does
// when no router has it (RecordNotFoundError, answered 504).
const ipnsResolver = {
  async * resolve (multihash) {
    const bytes = await storedRecord(multihash)
    if (bytes == null) throw namedError('RecordNotFoundError', 'no IPNS record for this name in the gateway')
    await ipnsValidator(multihashToIPNSRoutingKey(multihash), bytes)
    const record = unmarshalIPNSRecord(bytes)
    yield { value: record.value, record }
  }
}
const dnsLink = {
  async resolve (domain) {
    throw namedError('DNSQueryFailedError', `DNSLink is disabled in this offline gateway (${domain})`)
  }
}

const blockstore = new FsBlockstore(join(dir, 'blocks'))
await blockstore.open()
const helia = new Helia({
  name: 'helia',
  version: 'offline',
  blockstore,
  codecs: [dagCbor, dagJson, json],
  routers: [],
  blockBrokers: [],
  dns: {
    async query (domain) {
      throw namedError('DNSQueryFailedError', `DNS is disabled in this offline gateway (${domain})`)
    }
  }
})
await helia.start()
const verifiedFetch = new VerifiedFetch(helia, { ipnsResolver, dnsLink })
await verifiedFetch.start()

function send (res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers })
  res.end(body)
}

/** GET /ipns/NAME for the record itself: the stored bytes. */
async function sendRecord (req, res, name) {
  let multihash
  try {
    multihash = nameToMultihash(name)
  } catch (err) {
    return send(res, 400, `invalid IPNS name ${name}: ${err.message}\n`)
  }
  const bytes = await storedRecord(multihash)
  if (bytes == null) return send(res, 404, `no IPNS record for ${name}\n`)
  res.writeHead(200, {
    'content-type': IPNS_RECORD,
    'content-length': bytes.length,
    'cache-control': 'no-cache'
  })
  res.end(req.method === 'HEAD' ? undefined : bytes)
}

const FORWARDED = ['accept', 'range', 'if-none-match', 'cache-control']

async function handle (req, res) {
  const url = new URL(req.url, 'http://gateway')
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return send(res, 405, 'only GET and HEAD\n', { allow: 'GET, HEAD' })
  }
  if (!url.pathname.startsWith('/ipfs/') && !url.pathname.startsWith('/ipns/')) {
    return send(res, 404, 'not /ipfs/ or /ipns/\n')
  }
  const accept = req.headers.accept ?? ''
  const parts = url.pathname.split('/')
  if (parts[1] === 'ipns' && parts.length === 3 &&
      (url.searchParams.get('format') === 'ipns-record' ||
       accept.split(',').some(t => t.split(';')[0].trim() === IPNS_RECORD))) {
    return sendRecord(req, res, parts[2])
  }

  const headers = {}
  for (const h of FORWARDED) {
    if (req.headers[h] != null) headers[h] = req.headers[h]
  }
  const controller = new AbortController()
  res.on('close', () => { if (!res.writableFinished) controller.abort() })
  const timer = setTimeout(() => controller.abort(namedError('TimeoutError', 'no response in time')), timeoutMs)
  let response
  try {
    response = await verifiedFetch.fetch(req.url, {
      method: req.method,
      headers,
      signal: controller.signal,
      offline: true,
      session: false
    })
  } catch (err) {
    if (controller.signal.aborted && !res.destroyed) {
      return send(res, 504, `no response within ${timeoutMs} ms\n`)
    }
    throw err
  } finally {
    clearTimeout(timer)
  }
  // verified-fetch leaves some status texts empty (HEAD): Node's own phrase then.
  res.writeHead(response.status, response.statusText || undefined, [...response.headers].flat())
  if (response.body == null || req.method === 'HEAD') {
    await response.body?.cancel()
    res.end()
    return
  }
  const body = Readable.fromWeb(response.body)
  body.on('error', err => {
    // Headers are gone: the client sees a truncated body (no final chunk).
    console.log(`${req.method} ${req.url} body failed: ${err.name}: ${err.message}`)
    res.destroy(err)
  })
  body.pipe(res)
}

const server = createServer((req, res) => {
  res.on('finish', () => {
    console.log(`${req.method} ${req.url} accept=${JSON.stringify(req.headers.accept ?? '')} ${res.statusCode}`)
  })
  handle(req, res).catch(err => {
    console.log(`${req.method} ${req.url} failed: ${err.stack ?? err}`)
    if (!res.headersSent) send(res, 500, `${err.name}: ${err.message}\n`)
    else res.destroy(err)
  })
})
server.listen(port, '127.0.0.1', () => {
  console.log(`gateway on http://127.0.0.1:${port}, blocks in ${join(dir, 'blocks')}, IPNS records in ${join(dir, 'ipns')}`)
})

async function shutdown (signal) {
  console.log(`${signal}: stopping`)
  server.close()
  server.closeAllConnections()
  await verifiedFetch.stop()
  await helia.stop()
  await blockstore.close()
  process.exit(0)
}
process.on('SIGTERM', () => { shutdown('SIGTERM') })
// verified-fetch's DAG walker (@helia/utils graph-walker) rejects queued jobs nobody awaits when
// a block is missing while a CAR streams (the response is cut, as it should be): logged, not
// fatal, or the first partial DAG would stop the gateway.
process.on('unhandledRejection', err => {
  console.log(`unhandled rejection (ignored): ${err?.name}: ${err?.message}`)
})
process.on('SIGINT', () => { shutdown('SIGINT') })
