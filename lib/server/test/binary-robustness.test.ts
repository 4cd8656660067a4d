/**
 * Hostile binary peers must never disturb another connection or the listener: while
 * scripted peers send garbage, impossible lengths, huge declared bodies and half packets
 * (then vanish), a well-behaved client keeps getting correct answers, new connections are
 * accepted, and no internal error is recorded (startServer's teardown asserts that).
 */
import t from 'tap'
import net from 'node:net'
import { startServer } from '../../testing/servers.js'
import { Opcode as O } from '../../../protocol/binary/opcodes.js'
import { encodeRequest, storeExtras } from '../../../protocol/binary/request-encoder.js'
import { BinaryResponseParser, type BinaryResponse } from '../../../protocol/binary/response-parser.js'
import { exchange } from './binary-harness.js'

/** A small deterministic PRNG (mulberry32) so failures reproduce. */
function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = Math.imul(a ^ (a >>> 15), 1 | a)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** Connects, writes, and destroys once `ms` passed or the server closed. */
function hostile (port: number, bytes: Buffer, endAfterMs: number): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => { s.write(bytes) })
    s.on('error', () => {})
    s.on('data', () => {})
    const timer = setTimeout(() => s.destroy(), endAfterMs)
    s.on('close', () => { clearTimeout(timer); resolve() })
  })
}

/** A well-behaved client: one request at a time, waits for its reply by opaque. */
class GoodClient {
  private readonly sock: net.Socket
  private waiting = new Map<number, (r: BinaryResponse) => void>()
  private readonly parser = new BinaryResponseParser((r) => { this.waiting.get(r.opaque)?.(r); this.waiting.delete(r.opaque) })
  constructor (port: number) {
    this.sock = net.connect({ host: '127.0.0.1', port })
    this.sock.on('data', (d) => this.parser.push(d))
  }

  send (req: Buffer, opaque: number): Promise<BinaryResponse> {
    return new Promise((resolve) => { this.waiting.set(opaque, resolve); this.sock.write(req) })
  }

  close (): void { this.sock.destroy() }
}

t.test('garbage, impossible lengths and vanishing peers leave other connections and the listener alone', async (t) => {
  const server = await startServer(t)
  const port = server.port
  const good = new GoodClient(port)
  t.teardown(() => good.close())
  const rand = rng(42)
  const hostiles: Array<Promise<void>> = []
  const randomBytes = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)))
  for (let i = 0; i < 40; i++) {
    let bytes: Buffer
    switch (i % 8) {
      case 0: bytes = Buffer.concat([Buffer.from([0x80]), randomBytes(1 + Math.floor(rand() * 4000))]); break
      case 1: bytes = encodeRequest({ opcode: O.Set, key: 'k', extras: storeExtras(0, 0), bodylen: 0xffffffff }); break
      case 2: bytes = encodeRequest({ opcode: O.Get, key: 'k'.repeat(300), keylen: 65535, bodylen: 65535 }); break
      case 3: bytes = encodeRequest({ opcode: O.Noop }).subarray(0, 11); break
      case 4: bytes = Buffer.concat([encodeRequest({ opcode: 0x77, bodylen: 0x7fffffff }), randomBytes(5000)]); break
      case 5: bytes = Buffer.concat([encodeRequest({ opcode: O.Get, key: 'kk', bodylen: 1 }), randomBytes(100)]); break
      case 6: bytes = Buffer.concat([encodeRequest({ opcode: O.SaslAuth, key: 'PLAIN', bodylen: 1 << 30 }), randomBytes(70000)]); break
      default: bytes = Buffer.concat([encodeRequest({ opcode: O.Noop }), Buffer.from('GET / HTTP/1.1\r\n\r\n')]); break
    }
    hostiles.push(hostile(port, bytes, 50 + Math.floor(rand() * 200)))
  }
  for (let i = 0; i < 50; i++) {
    const value = `value-${i}-${'x'.repeat(i * 37)}`
    const set = await good.send(encodeRequest({ opcode: O.Set, key: `g${i}`, extras: storeExtras(i, 0), value, opaque: 2 * i }), 2 * i)
    t.equal(set.status, 0, `set ${i}`)
    const get = await good.send(encodeRequest({ opcode: O.GetK, key: `g${i}`, opaque: 2 * i + 1 }), 2 * i + 1)
    if (get.status !== 0 || get.value.toString() !== value || get.extras.readUInt32BE(0) !== i) {
      t.fail(`get ${i} answered status ${get.status}`)
      return
    }
  }
  await Promise.all(hostiles)
  const fresh = await exchange(port, encodeRequest({ opcode: O.Version, opaque: 9 }))
  t.equal(fresh.bytes.subarray(24).toString(), '1.6.18', 'the listener still accepts and answers')
  t.equal(server.ctx.stats.internal_errors, 0)
})

t.test('a declared 4 GiB value is swallowed, never buffered: memory stays flat while it streams', async (t) => {
  const server = await startServer(t)
  const before = process.memoryUsage().arrayBuffers
  const s = net.connect({ host: '127.0.0.1', port: server.port })
  const replies: Buffer[] = []
  s.on('data', (d) => replies.push(d))
  await new Promise<void>((resolve) => s.once('connect', () => resolve()))
  s.write(encodeRequest({ opcode: O.Set, key: 'huge', extras: storeExtras(0, 0), bodylen: 4 + 8 + 200 * 1024 * 1024 }))
  const chunk = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < 200; i++) {
    if (!s.write(chunk)) await new Promise<void>((resolve) => s.once('drain', () => resolve()))
  }
  s.write(encodeRequest({ opcode: O.Noop, opaque: 5 }))
  await new Promise<void>((resolve) => {
    const check = (): void => { if (Buffer.concat(replies).length >= 24 + 10 + 24) resolve(); else s.once('data', check) }
    check()
  })
  s.destroy()
  const all = Buffer.concat(replies)
  t.equal(all.readUInt16BE(6), 0x0003, 'E2BIG for the huge value')
  t.equal(all.readUInt32BE(24 + 10 + 12), 5, 'then the NOOP after 200 MiB of swallowed bytes')
  const grown = process.memoryUsage().arrayBuffers - before
  t.ok(grown < 64 * 1024 * 1024, `buffers grew ${Math.round(grown / 1048576)} MiB while 200 MiB streamed`)
})
