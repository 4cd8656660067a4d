/**
 * Issue 15: bounded output per connection and replies sent from pinned slab memory.
 *
 * - Clients that pipeline gets and never read: each connection's unsent output (as `stats
 *   conns` reports it in out_bytes) stays within --conn-output-limit + the socket's
 *   high-water mark + one reply, and the server's memory with it.
 * - Values of 16 KiB and more go out as views of slab memory, pinned until the socket is
 *   done with them: pins go back to 0 when such clients vanish mid-write (text, meta and
 *   binary), and an item replaced and its chunk's class churned while a reply is in flight
 *   still reaches the slow client byte for byte.
 */
import t from 'tap'
import net from 'node:net'
import type { Test } from 'tap'
import { rawClient } from '../../testing/raw-client.js'
import { startServer } from '../../testing/servers.js'
import { waitFor } from '../../testing/wait-for.js'
import type { MemringServer } from '../../server/server.js'

const MiB = 1024 * 1024

async function pausedClient (t: Test, port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
  s.pause()
  t.teardown(() => s.destroy())
  return s
}

async function store (t: Test, port: number, key: string, v: Buffer): Promise<void> {
  const c = await rawClient(t, port)
  c.write(`set ${key} 0 0 ${v.length}\r\n`)
  c.write(v)
  c.write('\r\n')
  t.equal(await c.until('\r\n'), 'STORED\r\n', `set ${key}`)
  c.end()
}

/** `stats conns` over a real connection: out_bytes of every connection but the asker's. */
async function outBytes (t: Test, port: number): Promise<number[]> {
  const c = await rawClient(t, port)
  c.write('stats conns\r\n')
  const text = await c.until('END\r\n')
  const mine = `tcp:127.0.0.1:${c.socket.localPort ?? 0}`
  c.end()
  const rows = [...text.matchAll(/^STAT (\d+):(addr|out_bytes) (.*)\r$/gm)]
  const skip = new Set(rows.filter((r) => r[2] === 'addr' && r[3] === mine).map((r) => r[1]))
  return rows.filter((r) => r[2] === 'out_bytes' && !skip.has(r[1])).map((r) => Number(r[3]))
}

function waiting (server: MemringServer): number {
  return [...server.ctx.connections].filter((c) => c.state() === 'conn_mwrite').length
}

t.test('a small --conn-output-limit bounds each slow connection and the memory', async (t) => {
  const LIMIT = 4096
  const VALUE = 8 * 1024 // below the zero-copy threshold: these replies are copies
  const CONNS = 20
  const server = await startServer(t, { connOutputLimit: LIMIT })
  await store(t, server.port, 'v', Buffer.alloc(VALUE, 0x61))
  const reply = `VALUE v 0 ${VALUE}\r\n`.length + VALUE + 2 + 'END\r\n'.length
  const before = process.memoryUsage().arrayBuffers
  const gets = Buffer.from('get v\r\n'.repeat(4000)) // 4000 x 8 KiB = 32 MiB of replies per connection
  for (let i = 0; i < CONNS; i++) (await pausedClient(t, server.port)).write(gets)
  await waitFor(() => waiting(server) === CONNS && server.ctx.connections.size === CONNS, { timeoutMs: 20_000, what: `all ${CONNS} connections waiting for their client` })
  const out = await outBytes(t, server.port)
  t.equal(out.length, CONNS, 'stats conns lists out_bytes for every slow connection')
  // Unsent = what was queued when the limit was passed (limit + one reply) plus what the
  // socket held from earlier flushes (below its 16 KiB high-water mark).
  const bound = LIMIT + reply + 16 * 1024
  for (const b of out) t.ok(b > 0 && b <= bound, `out_bytes ${b} within ${bound}`)
  const grown = process.memoryUsage().arrayBuffers - before
  // Unbounded, 20 connections would queue megabytes each (32 MiB of replies requested apiece).
  t.ok(grown < 8 * MiB, `array buffers grew ${(grown / MiB).toFixed(1)} MiB for ${CONNS} slow connections`)
  t.ok(server.ctx.stats.conn_yields > 0, 'the parsers yielded mid-chunk')
})

const BIG = 500 * 1000

const requests: Array<[string, (key: string) => Buffer]> = [
  ['text get', (k) => Buffer.from(`get ${k}\r\n`)],
  ['meta mg', (k) => Buffer.from(`mg ${k} v f\r\n`)],
  ['binary GET', (k) => {
    const b = Buffer.alloc(24 + k.length)
    b[0] = 0x80; b[1] = 0x00; b.writeUInt16BE(k.length, 2); b.writeUInt32BE(k.length, 8)
    b.write(k, 24, 'latin1')
    return b
  }],
]

for (const [name, req] of requests) {
  t.test(`${name}: pins of a large value drop to 0 when slow clients vanish mid-write`, async (t) => {
    const server = await startServer(t)
    const keys = ['p0', 'p1', 'p2']
    for (const k of keys) await store(t, server.port, k, Buffer.alloc(BIG, k.charCodeAt(1)))
    const socks: net.Socket[] = []
    for (let i = 0; i < 6; i++) {
      const s = await pausedClient(t, server.port)
      socks.push(s)
      s.write(Buffer.concat(Array.from({ length: 200 }, (_, j) => req(keys[(i + j) % keys.length]))))
    }
    await waitFor(() => waiting(server) === socks.length, { timeoutMs: 20_000, what: 'every client waiting (conn_mwrite)' })
    t.equal(server.store.pinnedItems(), keys.length, 'every value being sent is pinned')
    t.ok(server.ctx.stats.bytes_written < socks.length * 40 * MiB, 'the replies are not all written at once')
    for (const s of socks) s.destroy()
    await waitFor(() => server.store.pinnedItems() === 0, { timeoutMs: 10_000, what: 'all pins released' })
    t.equal(server.store.pinnedItems(), 0, 'no pin left once the clients are gone')
    await waitFor(() => server.ctx.connections.size === 0, { what: 'the connections closed' })
    // The store can evict and move those items again: overwrite them all, then read one.
    for (const k of keys) await store(t, server.port, k, Buffer.alloc(BIG, 0x7a))
    const c = await rawClient(t, server.port)
    c.write('get p1\r\n')
    const got = await c.bytes(`VALUE p1 0 ${BIG}\r\n`.length + BIG + 7)
    t.equal(got.subarray(-7).toString(), '\r\nEND\r\n', 'a new value is served after the pins are gone')
    t.equal(got[got.length - 8], 0x7a, 'with its new bytes')
  })
}

t.test('a value replaced while its reply is pinned reaches the slow client intact', async (t) => {
  // -m 8: eight 1 MiB pages, so the writes below would reuse the old chunk if it were freed.
  const server = await startServer(t, { memoryLimitMb: 8 })
  const old = Buffer.alloc(BIG, 0x4f)
  old.write('<old value>')
  await store(t, server.port, 'k', old)
  const slow = await pausedClient(t, server.port)
  const N = 40
  slow.write('get k\r\n'.repeat(N))
  await waitFor(() => waiting(server) === 1, { timeoutMs: 20_000, what: 'the slow client waiting' })
  t.equal(server.store.pinnedItems(), 1, 'the old value is pinned')
  // Replace it, then churn its class with 40 other items of the same size (evictions).
  const fresh = Buffer.alloc(BIG, 0x4e)
  await store(t, server.port, 'k', fresh)
  for (let i = 0; i < 40; i++) await store(t, server.port, `churn${i}`, Buffer.alloc(BIG, 0x43))
  t.ok(server.store.counters.evictions > 0, 'the class evicted meanwhile')
  const chunks: Buffer[] = []
  slow.on('data', (d: Buffer) => chunks.push(d))
  slow.resume()
  const oldReply = Buffer.concat([Buffer.from(`VALUE k 0 ${BIG}\r\n`), old, Buffer.from('\r\nEND\r\n')])
  // Each get answers with the old value (queued before the set), the new one, or a miss.
  await waitFor(() => {
    const all = Buffer.concat(chunks)
    return all.toString('latin1').split('END\r\n').length - 1 >= N
  }, { timeoutMs: 20_000, intervalMs: 50, what: `${N} replies` })
  const all = Buffer.concat(chunks)
  t.ok(all.subarray(0, oldReply.length).equals(oldReply), 'the first reply is the old value, byte for byte')
  let off = 0
  let olds = 0
  let bad = 0
  const newReply = Buffer.concat([Buffer.from(`VALUE k 0 ${BIG}\r\n`), fresh, Buffer.from('\r\nEND\r\n')])
  while (off < all.length) {
    if (all.subarray(off, off + oldReply.length).equals(oldReply)) { olds++; off += oldReply.length } else if (all.subarray(off, off + newReply.length).equals(newReply)) off += newReply.length
    else if (all.subarray(off, off + 5).toString() === 'END\r\n') off += 5
    else { bad++; break }
  }
  t.equal(bad, 0, 'every reply is a whole old value, a whole new value or a miss')
  t.ok(olds >= 1, `${olds} replies carried the old value`)
  await waitFor(() => server.store.pinnedItems() === 0, { what: 'pins released once sent' })
})
