// The WAN relay the cross-DC tests stand on: it must really delay, keep order under
// jitter, cap bandwidth, and freeze/cut. Lower bounds only (a loaded machine is slower,
// never faster), so these cannot flake on a busy runner.
import t from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { startRelay } from '../tcp-relay.js'
import type { Teardown } from '../zookeeper.js'

async function echoServer (t: Teardown): Promise<number> {
  const srv = createServer((s) => { s.on('data', (b) => s.write(b)); s.on('error', () => {}) })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => srv.close(() => resolve())))
  const a = srv.address()
  return typeof a === 'object' && a !== null ? a.port : 0
}

function dial (port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s))
    s.once('error', reject)
  })
}

/** Reads until `n` bytes arrived; resolves with them and the time of the last byte. */
function readN (s: Socket, n: number): Promise<{ data: Buffer, at: number }> {
  return new Promise((resolve) => {
    const parts: Buffer[] = []
    let got = 0
    const on = (b: Buffer): void => {
      parts.push(b)
      got += b.length
      if (got >= n) { s.off('data', on); resolve({ data: Buffer.concat(parts), at: performance.now() }) }
    }
    s.on('data', on)
  })
}

t.test('a shaped link delays each way, keeps byte order under jitter, and caps bandwidth', async (t) => {
  const port = await echoServer(t)
  const relay = await startRelay(t, port, { delayMs: 40, jitterMs: 20 })
  const s = await dial(relay.port)
  t.teardown(() => s.destroy())
  // 200 small writes with jitter: the echo must come back byte for byte in order
  const msgs = Array.from({ length: 200 }, (_, i) => `m${i};`)
  const want = msgs.join('')
  const t0 = performance.now()
  const got = readN(s, want.length)
  for (const m of msgs) s.write(m)
  const r = await got
  t.equal(r.data.toString(), want, 'order kept under jitter')
  t.ok(r.at - t0 >= 80, `round trip ${(r.at - t0).toFixed(1)} ms >= 2 x 40 ms one-way delay`)

  relay.shape({ delayMs: 0, bytesPerSec: 1_000_000 })
  const big = Buffer.alloc(200_000, 7)
  const t1 = performance.now()
  const back = readN(s, big.length)
  s.write(big)
  const rb = await back
  t.ok(rb.data.equals(big), 'bulk bytes intact')
  // each direction is capped at 1 MB/s: 200 KB one way takes >= 200 ms (the echo overlaps)
  t.ok(rb.at - t1 >= 190, `200 KB through a 1 MB/s cap took ${(rb.at - t1).toFixed(0)} ms`)
  t.equal(relay.bytesUp, want.length + big.length, 'bytes counted upstream')
})

t.test('freeze drops bytes silently; cut resets', async (t) => {
  const port = await echoServer(t)
  const relay = await startRelay(t, port, { delayMs: 5 })
  const s = await dial(relay.port)
  t.teardown(() => s.destroy())
  const first = readN(s, 2)
  s.write('ok')
  t.equal((await first).data.toString(), 'ok')
  relay.freeze()
  let late = 0
  s.on('data', (b) => { late += b.length })
  s.write('lost')
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.equal(late, 0, 'nothing passes a frozen link')
  t.equal(relay.flowing, 0)
  const closed = new Promise<string>((resolve) => { s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error')); s.once('close', () => resolve('close')) })
  relay.cut()
  t.ok(['ECONNRESET', 'close'].includes(await closed), 'cut ends the connection')
})
