/**
 * Issue 15: the staging chunk that small replies are assembled in is written from its
 * start again once every range of it was copied by the kernel (Output.release). A range
 * that libuv had to queue (a client that does not read) must never be overwritten: its
 * client still gets every byte it asked for, while other clients' replies, assembled in
 * the same chunk meanwhile, are right too.
 */
import t from 'tap'
import net from 'node:net'
import crypto from 'node:crypto'
import { rawClient } from '../../testing/raw-client.js'
import { startServer } from '../../testing/servers.js'

const KEYS = 64

/** Distinct bytes per key, 100 B to ~6 KiB: all copied into the staging chunk (below 16 KiB). */
function value (i: number): Buffer {
  const n = 100 + i * 97
  return Buffer.from(crypto.createHash('sha256').update(`v${i}`).digest('hex').repeat(Math.ceil(n / 64)).slice(0, n), 'latin1')
}

t.test('replies queued by libuv keep their bytes while other connections reuse the chunk', async (t) => {
  const mr = await startServer(t, { memoryLimitMb: 64 })
  const vals: Buffer[] = []
  const loader = await rawClient(t, mr.port)
  for (let i = 0; i < KEYS; i++) {
    const v = value(i)
    vals.push(v)
    loader.write(`set k${i} 0 0 ${v.length} noreply\r\n`)
    loader.write(v)
    loader.write('\r\n')
  }
  loader.write('mn\r\n')
  t.equal(await loader.until('MN\r\n'), 'MN\r\n', 'loaded')
  const reply = (i: number): Buffer => Buffer.concat([Buffer.from(`VALUE k${i} 0 ${vals[i].length}\r\n`), vals[i], Buffer.from('\r\nEND\r\n')])

  // The slow client: pipelines ~25 MB of gets and reads nothing for a while, so the server
  // ends up with writes in libuv's queue (and stops parsing it, --conn-output-limit).
  const slow = net.connect(mr.port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { slow.once('connect', resolve); slow.once('error', reject) })
  t.teardown(() => slow.destroy())
  slow.pause()
  const order: number[] = []
  let want = 0
  let req = ''
  for (let n = 0; n < 8000; n++) {
    const i = (n * 37 + 11) % KEYS
    order.push(i)
    want += reply(i).length
    req += `get k${i}\r\n`
  }
  slow.write(req)

  // Fast clients meanwhile: request/response, every reply checked byte for byte.
  let fastBad = 0
  let fastDone = 0
  const fast = async (seed: number): Promise<void> => {
    const c = await rawClient(t, mr.port)
    for (let n = 0; n < 400; n++) {
      const i = (n * 13 + seed) % KEYS
      const k = 1 + (n % 4) // a few keys per request: several replies per chunk
      let q = 'get'
      const exp: Buffer[] = []
      for (let j = 0; j < k; j++) {
        const x = (i + j * 7) % KEYS
        q += ` k${x}`
        exp.push(Buffer.from(`VALUE k${x} 0 ${vals[x].length}\r\n`), vals[x], Buffer.from('\r\n'))
      }
      exp.push(Buffer.from('END\r\n'))
      c.write(q + '\r\n')
      const got = await c.until('END\r\n')
      if (got !== Buffer.concat(exp).toString('latin1')) fastBad++
      fastDone++
    }
  }
  await Promise.all([fast(1), fast(5), fast(9)])
  t.equal(fastDone, 1200, 'the fast clients were served while the slow one was not reading')
  t.equal(fastBad, 0, 'every fast reply byte-exact')

  // Now read the slow client's whole stream.
  const chunks: Buffer[] = []
  let got = 0
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`slow client got ${got} of ${want} bytes`)), 60_000)
    slow.on('data', (c: Buffer) => {
      chunks.push(c)
      got += c.length
      if (got >= want) { clearTimeout(timer); resolve() }
    })
    slow.resume()
  })
  const all = Buffer.concat(chunks)
  t.equal(all.length, want, 'the slow client got exactly the bytes of its replies')
  let off = 0
  let firstBad = -1
  for (let n = 0; n < order.length && firstBad < 0; n++) {
    const r = reply(order[n])
    if (all.compare(r, 0, r.length, off, off + r.length) !== 0) firstBad = n
    off += r.length
  }
  t.equal(firstBad, -1, 'every slow reply byte-exact, in order')
})
