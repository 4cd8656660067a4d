/**
 * Fuzz (issue 2, "Robustness"): random and mutated request streams from a seed, several
 * connections at a time, against one server, while a checker connection runs a scripted
 * exchange in a loop and must get exactly the right replies throughout. The server must
 * stay up, close every fuzz connection once its client is done, never hit an internal
 * error, and still answer a fresh connection at the end.
 *
 * Seeds (lib/testing/seeds.ts): a fixed list; FUZZ_SEED=<n>[,<n>] replays one printed in
 * a test name, MEMRING_RANDOM_SEED=1 adds a random one. Each seed runs a fixed number of
 * streams per worker (FUZZ_STREAMS, default 300), not a time box, so a seed means the same
 * input on a fast or a loaded machine (interleaving across the workers aside). A failure
 * prints the seed and the streams that were in flight.
 */
import t from 'tap'
import net from 'node:net'
import { rawClient } from '../../testing/raw-client.js'
import { startServer } from '../../testing/servers.js'
import { waitFor } from '../../testing/wait-for.js'
import { rng as prng, testSeeds } from '../../testing/seeds.js'

const SEEDS = testSeeds('FUZZ_SEED', [20261205, 1171963, 424242])
const STREAMS_PER_WORKER = Number(process.env.FUZZ_STREAMS ?? 300)
const PARALLEL = 4


class Gen {
  readonly rnd: () => number
  constructor (seed: number) { this.rnd = prng(seed) }
  int (n: number): number { return Math.floor(this.rnd() * n) }
  chance (p: number): boolean { return this.rnd() < p }
  pick<T> (a: readonly T[]): T { return a[this.int(a.length)] }
  bytes (n: number): Buffer { const b = Buffer.allocUnsafe(n); for (let i = 0; i < n; i++) b[i] = this.int(256); return b }

  key (): string {
    const r = this.int(20)
    if (r < 12) return this.pick(['a', 'b', 'foo', 'bar', 'num', 'k1', 'k2', 'big', 'ü', 'x'.repeat(250)])
    if (r < 14) return 'k'.repeat(this.pick([0, 249, 251, 300, 2000]))
    if (r < 16) return `key${this.int(1000)}`
    if (r < 18) return this.bytes(1 + this.int(10)).toString('latin1').replace(/[\s]/g, '_')
    return ''
  }

  num (): string {
    return this.pick(['0', '1', '2', '-1', '10', '100', '4294967295', '4294967296', '2147483648', '-2147483649',
      '18446744073709551615', '18446744073709551616', '99999999999999999999999', 'abc', '', '1e5', '0x10', '+5', ' ',
      String(this.int(100_000)), String(-this.int(100_000)), '2592000', '2592001', String(Math.floor(Date.now() / 1000) + 100)])
  }

  nr (): string { return this.chance(0.2) ? ' noreply' : '' }

  value (): { len: number, data: Buffer } {
    const r = this.int(20)
    const n = r < 12 ? this.int(40) : r < 17 ? this.int(3000) : r < 19 ? 16_000 + this.int(60_000) : 1024 * 1024 + this.int(100)
    const data = this.chance(0.3) ? Buffer.from(String(this.int(1_000_000))) : this.bytes(n)
    // Usually the declared length is right; sometimes it lies.
    const len = this.chance(0.85) ? data.length : this.pick([0, data.length + 1, data.length - 1, data.length + 100, -1])
    return { len, data }
  }

  metaFlags (): string {
    const all = ['v', 't', 'c', 'f', 'k', 's', 'h', 'l', 'q', 'b', 'x', 'I', 'O123', 'O' + 'o'.repeat(40), 'T30', 'T-1', 'N30', 'R30',
      'E5', 'MS', 'ME', 'MA', 'MP', 'MR', 'MI', 'MD', 'M+', 'M-', 'D10', 'J5', 'C1', 'C999', 'F5', 'S10', 'Z', 'W', 'X', 'P', 'L', 'zz', '!']
    const n = this.int(6)
    const out: string[] = []
    for (let i = 0; i < n; i++) out.push(this.pick(all))
    return out.length > 0 ? ' ' + out.join(' ') : ''
  }

  command (): Buffer {
    const k = this.key()
    switch (this.int(24)) {
      case 0: case 1: case 2: {
        const { len, data } = this.value()
        const cmd = this.pick(['set', 'add', 'replace', 'append', 'prepend'])
        return Buffer.concat([Buffer.from(`${cmd} ${k} ${this.num()} ${this.pick(['0', '0', this.num()])} ${len}${this.nr()}\r\n`, 'latin1'), data, Buffer.from('\r\n')])
      }
      case 3: {
        const { len, data } = this.value()
        return Buffer.concat([Buffer.from(`cas ${k} 0 0 ${len} ${this.num()}${this.nr()}\r\n`, 'latin1'), data, Buffer.from('\r\n')])
      }
      case 4: case 5: {
        const keys = Array.from({ length: 1 + this.int(this.chance(0.1) ? 300 : 5) }, () => this.key())
        return Buffer.from(`${this.pick(['get', 'gets', 'bget'])} ${keys.join(' ')}\r\n`, 'latin1')
      }
      case 6: return Buffer.from(`${this.pick(['gat', 'gats'])} ${this.num()} ${k} ${this.key()}\r\n`, 'latin1')
      case 7: return Buffer.from(`delete ${k}${this.pick(['', ' 0', ' 1', ' noreply', ' 0 noreply', ' x y z'])}\r\n`, 'latin1')
      case 8: return Buffer.from(`${this.pick(['incr', 'decr'])} ${k} ${this.num()}${this.nr()}\r\n`, 'latin1')
      case 9: return Buffer.from(`touch ${k} ${this.num()}${this.nr()}\r\n`, 'latin1')
      case 10: return Buffer.from(`${this.pick(['flush_all', 'flush_all 0', 'flush_all 10', 'flush_all noreply', 'flush_all -1', 'flush_all x'])}\r\n`)
      case 11: return Buffer.from(`stats${this.pick(['', ' items', ' slabs', ' settings', ' sizes', ' conns', ' reset', ' detail on', ' detail dump', ' detail', ' cachedump 1 1', ' cachedump', ' bogus'])}\r\n`)
      case 12: return Buffer.from(`${this.pick(['version', 'verbosity 1', 'verbosity', 'verbosity x noreply', 'mn', 'shutdown', 'shutdown graceful', 'quit', 'cache_memlimit 100', 'cache_memlimit 1', 'cache_memlimit x'])}\r\n`)
      case 13: return Buffer.from(`${this.pick(['lru_crawler crawl all', 'lru_crawler metadump all', 'lru_crawler sleep 10', 'lru_crawler tocrawl 5', 'lru_crawler enable', 'lru_crawler disable', 'lru_crawler', 'slabs automove 1', 'slabs automove 9', 'slabs reassign 1 2', 'slabs reassign -1 5', 'slabs reassign 99 1', 'slabs'])}\r\n`)
      case 14: case 15: return Buffer.from(`mg ${k}${this.metaFlags()}\r\n`, 'latin1')
      case 16: case 17: {
        const { len, data } = this.value()
        return Buffer.concat([Buffer.from(`ms ${k} ${len}${this.metaFlags()}\r\n`, 'latin1'), data, Buffer.from('\r\n')])
      }
      case 18: return Buffer.from(`${this.pick(['md', 'ma', 'me'])} ${k}${this.metaFlags()}\r\n`, 'latin1')
      case 19: return Buffer.from(this.pick(['GET / HTTP/1.1\r\n', '\r\n', '\n', ' \r\n', 'x\r\n', 'gets\r\n', 'get\r\n', 'set\r\n', 'cas a 0 0 1\r\n', 'ms\r\n', 'mg\r\n']))
      case 20: return Buffer.from(`${this.pick(['get', 'set', 'mg', 'incr'])} ${'y'.repeat(this.pick([2040, 2100, 5000]))}`) // long line, maybe no LF
      default: return this.bytes(this.int(64))
    }
  }

  /** One fuzz stream: a few commands, then some mutations. */
  stream (): Buffer {
    if (this.chance(0.08)) return this.bytes(1 + this.int(4096)) // pure noise (may start with 0x80: binary)
    const parts: Buffer[] = []
    const n = 1 + this.int(20)
    for (let i = 0; i < n; i++) parts.push(this.command())
    let s: Buffer = Buffer.concat(parts)
    const m = this.int(5)
    for (let i = 0; i < m && s.length > 0; i++) s = this.mutate(s)
    return s
  }

  mutate (s: Buffer): Buffer {
    const at = this.int(s.length)
    switch (this.int(8)) {
      case 0: { const c = Buffer.from(s); c[at] = this.int(256); return c }
      case 1: return Buffer.concat([s.subarray(0, at), this.bytes(1 + this.int(8)), s.subarray(at)])
      case 2: return Buffer.concat([s.subarray(0, at), s.subarray(Math.min(s.length, at + 1 + this.int(32)))])
      case 3: return Buffer.concat([s.subarray(0, at), s.subarray(at, at + 1 + this.int(64)), s.subarray(at)])
      case 4: return s.subarray(0, at)
      case 5: return Buffer.concat([s.subarray(0, at), Buffer.from(this.pick(['\r', '\n', '\r\n', '\0', ' ', '  ', '\t']), 'latin1'), s.subarray(at)])
      case 6: { const c = Buffer.from(s); for (let i = at; i < Math.min(c.length, at + 16); i++) if (c[i] >= 48 && c[i] <= 57) c[i] = 48 + this.int(10); return c }
      default: return Buffer.concat([s.subarray(at), s.subarray(0, at)])
    }
  }
}

/** Sends one stream in random pieces, half-closes, reads until the server closes. */
async function runStream (port: number, g: Gen, stream: Buffer): Promise<{ closed: boolean, reply: Buffer }> {
  const s = net.connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  let size = 0
  let closed = false
  s.on('data', (d: Buffer) => { if (size < 256 * 1024) chunks.push(d); size += d.length })
  s.on('error', () => {})
  const done = new Promise<void>((resolve) => s.on('close', () => { closed = true; resolve() }))
  await new Promise<void>((resolve) => { s.once('connect', resolve); s.once('error', resolve) })
  let off = 0
  while (off < stream.length && !s.destroyed) {
    const n = 1 + g.int(g.chance(0.3) ? 8 : 4096)
    s.write(stream.subarray(off, off + n))
    off += n
    if (g.chance(0.1)) await new Promise((resolve) => setImmediate(resolve))
  }
  s.end()
  let gaveUp = false
  const timer = setTimeout(() => { gaveUp = true; s.destroy() }, 5000)
  await done
  clearTimeout(timer)
  return { closed: closed && !gaveUp, reply: Buffer.concat(chunks) }
}

for (const SEED of SEEDS) {
t.test(`fuzzed request streams (seed ${SEED}): the server stays up and other connections are unaffected`, async (t) => {
  const errors: string[] = []
  // -F: flush_all from the fuzzer must not wipe the checker's keys (the checker checks its
  // own data); everything else is on.
  const server = await startServer(t, { flushEnabled: false }, {
    onInternalError: (err) => { errors.push(err instanceof Error ? (err.stack ?? err.message) : String(err)) },
  })
  const port = server.port

  // The checker: a scripted exchange with exact replies, over and over, on one connection.
  const checker = await rawClient(t, port)
  checker.write('set chk:ctr 0 0 1\r\n0\r\n')
  t.equal(await checker.until('\r\n'), 'STORED\r\n')
  let rounds = 0
  let checkerError: string | null = null
  let stop = false
  const checking = (async () => {
    while (!stop) {
      const i = rounds
      const v = `value-${i}-${'z'.repeat(i % 300)}`
      const k = `chk:${i % 50}`
      checker.write(`set ${k} ${i} 0 ${v.length}\r\n${v}\r\nappend ${k} 0 0 1\r\n!\r\nget ${k} chk:missing\r\n` +
        `incr chk:ctr 1\r\nmg ${k} s v f\r\ndelete ${k}\r\nget ${k}\r\n`)
      const want = `STORED\r\nSTORED\r\nVALUE ${k} ${i} ${v.length + 1}\r\n${v}!\r\nEND\r\n${i + 1}\r\n` +
        `VA ${v.length + 1} s${v.length + 1} f${i}\r\n${v}!\r\nDELETED\r\nEND\r\n`
      const got = await checker.until('DELETED\r\nEND\r\n', 10_000).catch((err: unknown) => String(err))
      if (got !== want) { checkerError = `round ${i}: want ${JSON.stringify(want)} got ${JSON.stringify(got)}`; return }
      rounds++
    }
  })()

  const started = Date.now()
  let streams = 0
  let unclosed = 0
  let internalReplies = 0
  const inFlight = new Map<number, Buffer>()
  const worker = async (w: number): Promise<void> => {
    const g = new Gen(SEED + w * 7919)
    let mark = 0
    for (let n = 0; n < STREAMS_PER_WORKER && checkerError === null && errors.length === 0; n++) {
      if (n % 10 === 0) mark = rounds
      const stream = g.stream()
      inFlight.set(w, stream)
      const { closed, reply } = await runStream(port, g, stream)
      if (!closed) unclosed++
      if (reply.includes('SERVER_ERROR internal')) internalReplies++
      streams++
      // The checker must really run alongside: every 10 streams of each worker wait for
      // one of its rounds to complete (an order, whatever the machine's speed).
      if (n % 10 === 9) await waitFor(() => rounds > mark || checkerError !== null, { timeoutMs: 30_000, what: 'a checker round during the streams' })
    }
  }
  await Promise.all(Array.from({ length: PARALLEL }, async (_, w) => await worker(w)))
  stop = true
  await checking

  t.comment(`${streams} streams in ${Date.now() - started} ms, checker rounds: ${rounds}`)
  const showInFlight = (): string => [...inFlight.values()].map((b) => b.subarray(0, 2048).toString('base64')).join('\n')
  t.equal(errors.length, 0, 'no internal error', errors.length > 0 ? { errors: errors.slice(0, 3), inFlightBase64: showInFlight() } : {})
  t.equal(server.ctx.stats.internal_errors, 0, 'stats internal_errors is 0')
  t.equal(internalReplies, 0, 'no fuzz connection was answered SERVER_ERROR internal error')
  t.equal(checkerError, null, 'the checker connection got exactly the right replies throughout')
  t.ok(rounds >= STREAMS_PER_WORKER / 10, `the checker ran alongside (${rounds} rounds, at least one per 10 streams of each worker)`)
  t.equal(streams, PARALLEL * STREAMS_PER_WORKER, 'every stream of the seed ran')
  t.equal(unclosed, 0, 'every fuzz connection was closed by the server after its client finished')
  await waitFor(() => server.ctx.stats.curr_connections === 1, { timeoutMs: 5000, what: 'only the checker connection to remain' })
  t.equal(server.ctx.store.counters.evictions, 0, 'memory stayed ample (the checker\'s data was never at risk)')
  const fresh = await rawClient(t, port)
  fresh.write('version\r\n')
  t.match(await fresh.until('\r\n'), /^VERSION /, 'a new connection is served after the fuzzing')
})
}
