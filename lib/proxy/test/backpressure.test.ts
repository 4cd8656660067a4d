// Flow control in memring-proxy, per client connection: with maxPendingPerConn requests
// in flight to the backends the proxy stops parsing that client's input and resumes once
// half have been answered; and a client that stops reading does not make the proxy
// read (and buffer) without bound. Silence is shown by causality (other connections
// served meanwhile, counters that do not move), never by a sleep.
import t from 'tap'
import net from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createProxy, type MemringProxy } from '../proxy.js'
import { startServer } from '../../testing/servers.js'
import { rawClient } from '../../testing/raw-client.js'
import { startScriptedBackend } from '../../testing/scripted-backend.js'
import { waitFor } from '../../testing/wait-for.js'
import type { Teardown } from '../../testing/zookeeper.js'

const MiB = 1024 * 1024

async function proxyTo (t: Teardown, port: number, extra: { maxPendingPerConn?: number } = {}): Promise<MemringProxy> {
  const p = createProxy({
    port: 0,
    topology: { kind: 'static', servers: [{ host: '127.0.0.1', port }] },
    backend: { timeoutMs: 60_000, connsPerHost: 1 },
    ...extra,
  })
  await p.start()
  t.teardown(() => p.close())
  return p
}

/** 20 round trips on another connection: the proxy's event loop turned many times. */
async function otherConnectionServed (t: Teardown, port: number): Promise<void> {
  const o = await rawClient(t as Parameters<typeof rawClient>[0], port)
  for (let i = 0; i < 20; i++) {
    o.write('version\r\n')
    await o.until('\r\n')
  }
  o.end()
}

t.test('maxPendingPerConn: the proxy stops reading a client with that many requests in flight, and resumes at half', async (t) => {
  const backend = await startScriptedBackend(t)
  backend.hold(['END'])
  const MAX = 8
  const proxy = await proxyTo(t, backend.port, { maxPendingPerConn: MAX })
  const c = await rawClient(t, proxy.port)
  const N = 100
  c.write(Array.from({ length: N }, (_, i) => `get k${i}\r\n`).join(''))
  const gets = (): number => backend.seen.filter((l) => l.startsWith('get ')).length
  // The parser pauses once more than MAX requests wait: MAX + 1 reach the backend.
  await waitFor(() => gets() >= MAX + 1, { what: `${MAX + 1} requests at the backend` })
  await otherConnectionServed(t, proxy.port)
  t.equal(gets(), MAX + 1, `no further request forwarded while ${MAX + 1} are in flight`)
  t.same(backend.seen.slice(0, MAX + 1), Array.from({ length: MAX + 1 }, (_, i) => `get k${i}`), 'the first ones, in order')
  // Answers arrive: the proxy resumes and everything is answered, in order.
  backend.release()
  t.same(await c.lines(N), Array.from({ length: N }, () => 'END'), `all ${N} answered`)
  t.equal(gets(), N, 'every request reached the backend once')
  t.notOk(c.closed)
})

t.test('a client that stops reading: the proxy stops reading it too (bounded memory), then delivers everything in order', async (t) => {
  const backend = await startServer(t)
  // At most MAX requests are in flight per client, so the replies the proxy may hold for
  // a client that does not read are bounded by MAX x the reply size.
  const MAX = 32
  const proxy = await proxyTo(t, backend.port, { maxPendingPerConn: MAX })
  const SIZE = 256 * 1024
  const KEYS = 8
  const values = Array.from({ length: KEYS }, (_, i) => Buffer.alloc(SIZE, 0x41 + i))
  const setter = await rawClient(t, proxy.port)
  for (let i = 0; i < KEYS; i++) {
    setter.write(`set big${i} 0 0 ${SIZE}\r\n`)
    setter.write(values[i]!)
    setter.write('\r\n')
    t.same(await setter.lines(1), ['STORED'])
  }
  setter.end()
  const memory = (): number => process.memoryUsage().arrayBuffers + process.memoryUsage().heapUsed
  // A collected baseline (the flag set at run time: tap does not pass --expose-gc).
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
  const baseline = memory()
  // 2,000 gets in one write (20 KB, one read for the proxy): 500 MiB of replies.
  const N = 2000
  const s = net.connect(proxy.port, '127.0.0.1')
  t.teardown(() => s.destroy())
  await new Promise((resolve) => s.once('connect', resolve))
  s.pause()
  s.write(Array.from({ length: N }, (_, i) => `get big${i % KEYS}\r\n`).join(''))
  const hits = (): number => backend.ctx.stats.get_hits
  await waitFor(() => hits() > 0, { what: 'gets reaching the backend' })
  // Settled: the backend answers nothing more while other connections are served.
  let before = -1
  await waitFor(async () => {
    const h = hits()
    await otherConnectionServed(t, proxy.port)
    if (h === hits() && h === before) return true
    before = hits()
    return false
  }, { timeoutMs: 60_000, intervalMs: 0, what: 'the proxy to stop forwarding the non-reading client\'s gets' })
  const grown = memory() - baseline
  t.comment(`forwarded ${hits()} of ${N} gets, memory grew ${(grown / MiB).toFixed(1)} MiB`)
  t.ok(hits() < N, `the proxy stopped forwarding (${hits()} of ${N} gets forwarded)`)
  // Bound: MAX replies in flight, what the kernel took, the backend's own output (it
  // is in this process too), and slack for the heap.
  t.ok(grown < 3 * MAX * SIZE + 32 * MiB, `memory bounded: grew ${(grown / MiB).toFixed(1)} MiB while ${(N * SIZE / MiB).toFixed(0)} MiB of replies were owed`)
  // The client reads: every reply, in order.
  let received = 0
  let expectAt = 0
  let mismatch = -1
  const per = (i: number): Buffer => Buffer.concat([Buffer.from(`VALUE big${i % KEYS} 0 ${SIZE}\r\n`), values[i % KEYS]!, Buffer.from('\r\nEND\r\n')])
  let cur = per(0)
  let off = 0
  s.on('data', (d: Buffer) => {
    for (let j = 0; j < d.length && mismatch < 0; j++) {
      if (d[j] !== cur[off]) { mismatch = received + j; break }
      off++
      if (off === cur.length) { expectAt++; off = 0; if (expectAt < N) cur = per(expectAt) }
    }
    received += d.length
  })
  s.resume()
  await waitFor(() => expectAt >= N || mismatch >= 0, { timeoutMs: 60_000, intervalMs: 50, what: `all ${N} replies` })
  t.equal(mismatch, -1, 'every byte as expected, in order')
  t.equal(expectAt, N, `${N} replies received`)
  t.equal(hits(), N, 'every get reached the backend once')
})
