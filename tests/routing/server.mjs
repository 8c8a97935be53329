// A Delegated Routing V1 HTTP API server for the network tests: the routes of
// @helia/delegated-routing-v1-http-api-server over a Helia node that is fully offline and keeps
// the IPNS records it is given in DIR/ipns.
// Usage: node server.mjs DIR PORT   (started by tests/routing-server.sh start)
//
// Offline by construction: the Helia node is the bare `Helia` class of the helia package (what
// its createHeliaLight() builds), imported from its file because the package's entry point
// loads @helia/libp2p and with it every libp2p transport. No libp2p, no DHT, no block brokers,
// a DNS resolver that refuses every query. Its only router is LocalIpnsRecords below, so
// helia.routing.put/get (what the server's PUT and GET /routing/v1/ipns/{name} call) store and
// read records on disk; every other routing call (providers, peers, closest peers) finds
// nothing.
//
// PUT /routing/v1/ipns/{name} (Content-Type: application/vnd.ipfs.ipns-record): the server's
// route checks the name (a CIDv1 libp2p-key, else 422) and validates the record with the `ipns`
// package's ipnsValidator against the name's routing key before it calls helia.routing.put. A
// record it refuses is answered 400 here (the package leaves it to Fastify, which would say
// 500). LocalIpnsRecords then keeps the better of the new record and the valid one it has
// (ipnsSelector: higher sequence, then later end of life; the new one on a tie), as the Go DHT's
// PutValue does (js kad-dht's local put would overwrite): a record that loses is refused with
// 409 Conflict; the same bytes again are accepted; an expired stored record never wins.
// Stored as DIR/ipns/<name as a base36 libp2p-key CID, k51…>, written atomically, so a
// restarted server keeps its records.
// GET /routing/v1/ipns/{name}: the stored record's bytes, if it is still valid (expired: as if
// absent, as a DHT node's local lookup does); none: 200 text/plain "Record not found" (the
// route's IPIP-0513 answer).
// Fastify's own answers stay as they are (415 for another Content-Type, 404 for another path).
// One log line per request goes to stdout.
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createDelegatedRoutingV1HttpApiServer } from '@helia/delegated-routing-v1-http-api-server'
import { NotFoundError } from '@libp2p/interface'
import Fastify from 'fastify'
import { multihashFromIPNSRoutingKey } from 'ipns'
import { ipnsSelector } from 'ipns/selector'
import { ipnsValidator } from 'ipns/validator'
import { base36 } from 'multiformats/bases/base36'
import { CID } from 'multiformats/cid'
// Not exported by the package's entry point (see above): imported from its file.
import { Helia } from './node_modules/helia/dist/src/helia.js'

const LIBP2P_KEY = 0x72
const PUT_ROUTE = '/routing/v1/ipns/:name'

const [dir, portArg] = process.argv.slice(2)
const port = Number(portArg)
if (dir == null || !Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error('usage: node server.mjs DIR PORT')
  process.exit(2)
}
const recordDir = join(dir, 'ipns')
await mkdir(recordDir, { recursive: true })

function httpError (status, name, message) {
  const err = new Error(message)
  err.name = name
  err.statusCode = status
  return err
}

async function readOrNull (path) {
  try {
    return await readFile(path)
  } catch (err) {
    if (err.code === 'ENOENT') return null
    throw err
  }
}

/** Writes a file under a temporary name, then renames it into place. */
async function writeAtomic (path, bytes) {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`
  await writeFile(tmp, bytes)
  await rename(tmp, path)
}

/** Whether `bytes` is a valid record for the routing key now (signature, name, expiry). */
async function isValid (key, bytes) {
  try {
    await ipnsValidator(key, bytes)
    return true
  } catch {
    return false
  }
}

/**
 * A Helia router that keeps IPNS records in DIR/ipns: put/get only, for /ipns/ routing keys.
 * Puts of one name run one after the other.
 */
class LocalIpnsRecords {
  name = 'local-ipns-records'
  #queues = new Map()

  /** The record file of an /ipns/ routing key: DIR/ipns/<k51…>. */
  file (key) {
    let multihash
    try {
      multihash = multihashFromIPNSRoutingKey(key)
    } catch (err) {
      throw httpError(400, 'InvalidRoutingKeyError', `not an /ipns/ routing key: ${err.message}`)
    }
    return join(recordDir, CID.createV1(LIBP2P_KEY, multihash).toString(base36))
  }

  async put (key, value) {
    const file = this.file(key)
    const previous = this.#queues.get(file) ?? Promise.resolve()
    const run = previous.catch(() => {}).then(() => this.#put(key, value, file))
    this.#queues.set(file, run)
    try {
      await run
    } finally {
      if (this.#queues.get(file) === run) this.#queues.delete(file)
    }
  }

  async #put (key, value, file) {
    const bytes = Buffer.from(value)
    // The route has validated it already; routing.put may have other callers one day.
    try {
      await ipnsValidator(key, bytes)
    } catch (err) {
      const refused = httpError(400, err.name, err.message)
      refused.refusedBy = 'the store'
      throw refused
    }
    const stored = await readOrNull(file)
    if (stored != null && !stored.equals(bytes) && await isValid(key, stored) &&
        ipnsSelector(key, [bytes, stored]) !== 0) {
      throw httpError(409, 'RecordNotBetterError',
        'the stored record for this name is better (a higher sequence, or the same one with a later end of life)')
    }
    await writeAtomic(file, bytes)
  }

  async get (key) {
    const bytes = await readOrNull(this.file(key))
    if (bytes == null) throw new NotFoundError('no IPNS record for this name')
    if (!await isValid(key, bytes)) throw new NotFoundError('the stored IPNS record is no longer valid')
    return bytes
  }
}

const helia = new Helia({
  name: 'helia',
  version: 'offline',
  // No blockstore or datastore given: Helia's in-memory ones (it stores nothing here).
  routers: [new LocalIpnsRecords()],
  blockBrokers: [],
  dns: {
    async query (domain) {
      const err = new Error(`DNS is disabled in this offline routing server (${domain})`)
      err.name = 'DNSQueryFailedError'
      throw err
    }
  }
})
await helia.start()

const fastify = Fastify({ logger: false })
// Registered before the routes, which inherit it.
fastify.setErrorHandler((err, request, reply) => {
  let status = err.statusCode
  if (!(status >= 400 && status < 600)) {
    // In the PUT route, what throws before helia.routing.put is ipnsValidator (the name's
    // errors are answered by the route itself), and LocalIpnsRecords' own refusals carry their
    // status: anything else there is a record the validator refused.
    status = request.method === 'PUT' && request.routeOptions?.url === PUT_ROUTE && !err.fromStore ? 400 : 500
    if (status === 400) err.refusedBy = "the route's ipnsValidator"
  }
  console.log(`${request.method} ${request.url} error ${status}: ${err.name}: ${err.message}` +
    (err.refusedBy == null ? '' : ` (refused by ${err.refusedBy})`))
  reply.code(status).type('text/plain; charset=utf-8').send(`${err.name}: ${err.message}\n`)
})
fastify.addHook('onResponse', async (request, reply) => {
  const header = request.method === 'PUT' ? 'content-type' : 'accept'
  console.log(`${request.method} ${request.url} ${header}=${JSON.stringify(request.headers[header] ?? '')} ${reply.statusCode}`)
})

// Errors of the store itself (a disk full, say) are the server's: 500, not the record's 400.
const put = helia.routing.put.bind(helia.routing)
helia.routing.put = async (...args) => {
  try {
    return await put(...args)
  } catch (err) {
    if (err.statusCode == null) err.fromStore = true
    throw err
  }
}

const server = await createDelegatedRoutingV1HttpApiServer(helia, {
  fastify,
  listen: { host: '127.0.0.1', port }
})
console.log(`delegated routing server on http://127.0.0.1:${port}, IPNS records in ${recordDir}`)

async function shutdown (signal) {
  console.log(`${signal}: stopping`)
  await server.close()
  await helia.stop()
  process.exit(0)
}
process.on('SIGTERM', () => { shutdown('SIGTERM') })
process.on('SIGINT', () => { shutdown('SIGINT') })
