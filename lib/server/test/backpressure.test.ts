/**
 * Backpressure (issue 2, "Robustness"): a client that asks for far more than it reads
 * must not make the server buffer without bound. The server stops parsing (and reading)
 * that connection while its replies cannot be written, serves other connections
 * meanwhile, and continues exactly where it stopped once the client reads: every reply
 * arrives, in order.
 *
 * The server runs in this process, so its memory is this process's memory: Buffers
 * queued for a socket show up in process.memoryUsage().arrayBuffers.
 */
import t from 'tap'
import net from 'node:net'
import type { Test } from 'tap'
import { rawClient } from '../../testing/raw-client.js'
import { startServer } from '../../testing/servers.js'
import { waitFor } from '../../testing/wait-for.js'
import type { MemringServer } from '../../server/server.js'

const KEYS = 4
const VALUE_BYTES = 256 * 1024
const MiB = 1024 * 1024

/** Stores KEYS values of VALUE_BYTES, each filled with its own byte. */
async function load (t: Test, server: MemringServer): Promise<Buffer[]> {
  const c = await rawClient(t, server.port)
  const replies: Buffer[] = []
  for (let k = 0; k < KEYS; k++) {
    const v = Buffer.alloc(VALUE_BYTES, 0x41 + k)
    v.write(`<value ${k}>`)
    c.write(`set big${k} ${k} 0 ${v.length}\r\n`)
    c.write(v)
    c.write('\r\n')
    t.equal(await c.until('\r\n'), 'STORED\r\n')
    replies.push(Buffer.concat([Buffer.from(`VALUE big${k} ${k} ${v.length}\r\n`), v, Buffer.from('\r\n')]))
  }
  c.end()
  return replies
}

/** Checks a byte stream against an expected sequence without keeping it. */
class StreamCheck {
  received = 0
  mismatchAt = -1
  private part = 0
  private off = 0
  constructor (private readonly parts: (i: number) => Buffer, readonly total: number) {}
  feed (d: Buffer): void {
    let i = 0
    while (i < d.length && this.mismatchAt < 0) {
      const want = this.parts(this.part)
      const n = Math.min(want.length - this.off, d.length - i)
      if (d.compare(want, this.off, this.off + n, i, i + n) !== 0) { this.mismatchAt = this.received + i; return }
      i += n
      this.off += n
      if (this.off === want.length) { this.part++; this.off = 0 }
    }
    this.received += d.length
  }
}

function external (): number {
  const m = process.memoryUsage()
  return m.arrayBuffers + m.heapUsed
}

/** The server-side state of the only connection other than `except` count. */
function connStates (server: MemringServer): string[] {
  return [...server.ctx.connections].map((c) => c.state())
}

async function pausedClient (port: number): Promise<net.Socket> {
  const s = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
  s.pause() // reads nothing until told
  return s
}

async function observe (t: Test, server: MemringServer, baseline: number, what: string): Promise<void> {
  await waitFor(() => connStates(server).includes('conn_mwrite'), { timeoutMs: 10_000, what: 'the connection to wait for the client (conn_mwrite)' })
  // Silence shown by causality, not by a sleep: while the paused client reads nothing, the
  // server answers 20 round trips on another connection (each one several event-loop
  // turns in which any pending output could have been produced); the only bytes written
  // meanwhile must be those 20 replies.
  const before = server.ctx.connections.size
  const probe = await rawClient(t, server.port)
  probe.write('version\r\n')
  const reply = Buffer.byteLength(await probe.until('\r\n'))
  const written = server.ctx.stats.bytes_written
  for (let i = 0; i < 20; i++) {
    probe.write('version\r\n')
    await probe.until('\r\n')
  }
  t.equal(server.ctx.stats.bytes_written - written, 20 * reply, `${what}: no more output while the client does not read (only the probe's 20 replies)`)
  probe.end()
  await waitFor(() => server.ctx.connections.size === before, { what: 'the probe connection closed' })
  t.ok(connStates(server).includes('conn_mwrite'), 'still waiting for the client')
  const grown = external() - baseline
  t.ok(grown < 48 * MiB, `${what}: memory grew ${(grown / MiB).toFixed(1)} MiB (the full reply stream is far larger)`)
  t.ok(server.ctx.stats.bytes_written < 64 * MiB, `only ${(server.ctx.stats.bytes_written / MiB).toFixed(1)} MiB written so far`)
}

async function readAll (t: Test, s: net.Socket, check: StreamCheck): Promise<void> {
  s.on('data', (d: Buffer) => check.feed(d))
  s.resume()
  await waitFor(() => check.received >= check.total || check.mismatchAt >= 0, { timeoutMs: 20_000, intervalMs: 50, what: `all ${check.total} bytes` })
  t.equal(check.mismatchAt, -1, 'every reply byte as expected, in order')
  t.equal(check.received, check.total, `${(check.total / MiB).toFixed(0)} MiB received`)
  s.destroy()
}

t.test('pipelined gets of large values without reading: bounded, then all replies in order', async (t) => {
  const server = await startServer(t)
  const values = await load(t, server)
  const END = Buffer.from('END\r\n')
  const N = 1600 // 1600 x 256 KiB = 400 MiB of replies
  const s = await pausedClient(server.port)
  t.teardown(() => s.destroy())
  const baseline = external()
  const lines: string[] = []
  for (let i = 0; i < N; i++) lines.push(`get big${i % KEYS}\r\n`)
  s.write(lines.join(''))
  await observe(t, server, baseline, 'pipelined gets')
  // Another connection is served while this one waits.
  const other = await rawClient(t, server.port)
  other.write('get big1\r\n')
  t.equal((await other.until('END\r\n')).length, values[1].length + END.length, 'another connection is served meanwhile')
  const check = new StreamCheck((i) => (i % 2 === 0 ? values[(i / 2) % KEYS] : END), N * (VALUE_BYTES + 2 + `VALUE big0 0 ${VALUE_BYTES}\r\n`.length + END.length))
  await readAll(t, s, check)
  t.ok(server.ctx.stats.conn_yields > 0, `the server yielded (${server.ctx.stats.conn_yields} times)`)
})

t.test('one multiget asking for far more than fits in memory: bounded, then all replies in order', async (t) => {
  const server = await startServer(t)
  const values = await load(t, server)
  const END = Buffer.from('END\r\n')
  const K = 2000 // one line, 2000 keys x 256 KiB = 500 MiB of replies
  const s = await pausedClient(server.port)
  t.teardown(() => s.destroy())
  const baseline = external()
  const keys: string[] = []
  for (let i = 0; i < K; i++) keys.push(`big${i % KEYS}`)
  s.write(`get ${keys.join(' ')}\r\nget big3\r\n`)
  await observe(t, server, baseline, 'one multiget')
  const total = K * values[0].length + END.length + values[3].length + END.length
  const check = new StreamCheck((i) => (i < K ? values[i % KEYS] : i === K ? END : i === K + 1 ? values[3] : END), total)
  await readAll(t, s, check)
})

t.test('a client that pipelines and half-closes at once still gets every reply (as from memcached)', async (t) => {
  const server = await startServer(t)
  const values = await load(t, server)
  const END = Buffer.from('END\r\n')
  const N = 400 // 100 MiB of replies: far more than the socket buffers hold when the FIN arrives
  for (const readLate of [true, false]) {
    const s = await pausedClient(server.port)
    t.teardown(() => s.destroy())
    const lines: string[] = []
    for (let i = 0; i < N; i++) lines.push(`get big${i % KEYS}\r\n`)
    s.end(lines.join('')) // write, then FIN
    if (readLate) await waitFor(() => connStates(server).includes('conn_mwrite'), { what: 'the server to wait for the client' })
    const check = new StreamCheck((i) => (i % 2 === 0 ? values[(i / 2) % KEYS] : END), N * (values[0].length + END.length))
    let serverEnded = false
    s.once('end', () => { serverEnded = true })
    s.on('data', (d: Buffer) => check.feed(d))
    s.resume()
    await waitFor(() => serverEnded || check.mismatchAt >= 0, { timeoutMs: 20_000, intervalMs: 50, what: 'the server to finish and close' })
    t.equal(check.mismatchAt, -1, 'every reply byte as expected, in order')
    t.equal(check.received, check.total, `${readLate ? 'reading late' : 'reading at once'}: all ${(check.total / MiB).toFixed(0)} MiB, then the server's FIN`)
  }
})
