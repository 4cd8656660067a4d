// The binary protocol through the proxy: a real third-party binary client (memjs),
// quiet pipelines answered in order, and a dead shard (misses for reads, 0x0086 for
// writes, nothing for a quiet miss).
import t from 'tap'
import { createRequire } from 'node:module'
import { createProxy, type MemringProxy } from '../proxy.js'
import { startServer } from '../../testing/servers.js'
import { rawClient } from '../../testing/raw-client.js'
import { startScriptedBackend } from '../../testing/scripted-backend.js'
import type { MemringServer } from '../../server/server.js'
import type { RawClient } from '../../testing/raw-client.js'

interface MemjsResult { value: Buffer | null }
interface Memjs {
  set (k: string, v: string, o: object): Promise<boolean>
  get (k: string): Promise<MemjsResult>
  increment (k: string, by: number, o: object): Promise<{ value: number | null }>
  delete (k: string): Promise<boolean>
  close (): void
}
const memjs = createRequire(import.meta.url)('memjs') as { Client: { create (servers: string, opts: object): Memjs } }

/** Reads one response packet. */
async function readPacket (c: RawClient): Promise<Resp> {
  const h = await c.bytes(24)
  const bl = h.readUInt32BE(8)
  return parse(bl === 0 ? h : Buffer.concat([h, await c.bytes(bl)]))[0]!
}

function packet (opcode: number, key: string, opts: { value?: string, extras?: Buffer, opaque?: number } = {}): Buffer {
  const k = Buffer.from(key)
  const v = Buffer.from(opts.value ?? '')
  const e = opts.extras ?? Buffer.alloc(0)
  const b = Buffer.alloc(24 + e.length + k.length + v.length)
  b[0] = 0x80
  b[1] = opcode
  b.writeUInt16BE(k.length, 2)
  b[4] = e.length
  b.writeUInt32BE(e.length + k.length + v.length, 8)
  b.writeUInt32BE(opts.opaque ?? 0, 12)
  e.copy(b, 24)
  k.copy(b, 24 + e.length)
  v.copy(b, 24 + e.length + k.length)
  return b
}
const setExtras = Buffer.alloc(8) // flags 0, exptime 0

interface Resp { opcode: number, status: number, opaque: number, key: string, value: string }
function parse (buf: Buffer): Resp[] {
  const out: Resp[] = []
  let o = 0
  while (o + 24 <= buf.length) {
    const kl = buf.readUInt16BE(o + 2)
    const el = buf[o + 4]!
    const bl = buf.readUInt32BE(o + 8)
    out.push({ opcode: buf[o + 1]!, status: buf.readUInt16BE(o + 6), opaque: buf.readUInt32BE(o + 12),
      key: buf.toString('latin1', o + 24 + el, o + 24 + el + kl), value: buf.toString('latin1', o + 24 + el + kl, o + 24 + bl) })
    o += 24 + bl
  }
  return out
}

async function proxyOver (t: Parameters<typeof startServer>[0], servers: { host: string, port: number }[]): Promise<MemringProxy> {
  const p = createProxy({ port: 0, topology: { kind: 'static', servers }, backend: { timeoutMs: 300 } })
  await p.start()
  t.teardown(() => p.close())
  return p
}

t.test('memjs through the proxy over three servers', async (t) => {
  const servers: MemringServer[] = [await startServer(t), await startServer(t), await startServer(t)]
  const proxy = await proxyOver(t, servers.map((s) => ({ host: '127.0.0.1', port: s.port })))
  const c = memjs.Client.create(`127.0.0.1:${proxy.port}`, { retries: 0 })
  t.teardown(() => c.close())
  for (let i = 0; i < 30; i++) await c.set(`bk${i}`, `v${i}`, {})
  for (let i = 0; i < 30; i++) t.equal((await c.get(`bk${i}`)).value?.toString(), `v${i}`)
  t.ok(servers.every((s) => s.store.counters.curr_items > 0), 'keys spread over every server')
  t.equal((await c.increment('n', 5, { initial: 10 })).value, 10)
  t.equal((await c.increment('n', 5, {})).value, 15)
  t.equal(await c.delete('bk1'), true)
  t.equal((await c.get('bk1')).value, null)
})

t.test('quiet gets and sets: only hits and failures answer, noop ends the batch in order', async (t) => {
  const servers = [await startServer(t), await startServer(t)]
  const proxy = await proxyOver(t, servers.map((s) => ({ host: '127.0.0.1', port: s.port })))
  const c = await rawClient(t, proxy.port)
  const keys = Array.from({ length: 20 }, (_, i) => `q${i}`)
  c.write(Buffer.concat([
    ...keys.map((k, i) => packet(0x11, k, { value: `v${i}`, extras: setExtras, opaque: i })), // setq
    ...keys.map((k, i) => packet(0x0d, i % 2 === 0 ? k : `${k}-missing`, { opaque: 100 + i })), // getkq
    packet(0x0a, '', { opaque: 999 }), // noop
  ]))
  const want = keys.filter((_, i) => i % 2 === 0)
  const got: Resp[] = []
  for (;;) {
    const r = await readPacket(c)
    got.push(r)
    if (r.opcode === 0x0a) break
  }
  t.same(got.slice(0, -1).map((r) => [r.opcode, r.status, r.key, r.value]), want.map((k) => [0x0d, 0, k, `v${k.slice(1)}`]))
  t.match(got.at(-1), { opcode: 0x0a, status: 0, opaque: 999 })
})

t.test('a dead shard: get misses, set answers 0x0086, a quiet get says nothing', async (t) => {
  const good = await startServer(t)
  const dead = await startScriptedBackend(t)
  const proxy = await proxyOver(t, [{ host: '127.0.0.1', port: good.port }, { host: '127.0.0.1', port: dead.port }])
  dead.refuse()
  const deadShard = proxy.router.shardIndexById(dead.address)
  let key = ''
  for (let i = 0; key === ''; i++) if (proxy.router.shardIndexOf(Buffer.from(`d${i}`), 0, `d${i}`.length) === deadShard) key = `d${i}`
  const c = await rawClient(t, proxy.port)
  c.write(Buffer.concat([packet(0x00, key, { opaque: 1 }), packet(0x01, key, { value: 'x', extras: setExtras, opaque: 2 }), packet(0x09, key, { opaque: 3 }), packet(0x0a, '', { opaque: 4 })]))
  const r = [await readPacket(c), await readPacket(c), await readPacket(c)]
  t.match(r[0], { opcode: 0x00, status: 0x0001, opaque: 1, value: 'Not found' })
  t.match(r[1], { opcode: 0x01, status: 0x0086, opaque: 2 })
  t.match(r[2], { opcode: 0x0a, status: 0, opaque: 4 }, 'the quiet miss said nothing; noop follows')
})

t.test('large binary values cross the backend link in many chunks and come back byte-exact', async (t) => {
  const servers = [await startServer(t), await startServer(t)]
  const proxy = await proxyOver(t, servers.map((s) => ({ host: '127.0.0.1', port: s.port })))
  const c = memjs.Client.create(`127.0.0.1:${proxy.port}`, { retries: 0 })
  t.teardown(() => c.close())
  // Sizes around the 24-byte header and up to ~1 MiB: responses split mid-header and
  // mid-body on the proxy's backend connection, several of them pipelined at once.
  const sizes = [0, 1, 23, 24, 25, 65535, 65536, 65537, 300000, 1000000]
  const values = sizes.map((n, i) => Buffer.alloc(n, 97 + i).toString('latin1'))
  await Promise.all(values.map(async (v, i) => await c.set(`big${i}`, v, {})))
  const got = await Promise.all(values.map(async (_, i) => (await c.get(`big${i}`)).value?.toString('latin1')))
  for (let i = 0; i < sizes.length; i++) t.equal(got[i]?.length, sizes[i], `value of ${sizes[i]} bytes`)
  t.ok(got.every((v, i) => v === values[i]), 'every byte as stored')
})
