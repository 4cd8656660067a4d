// The harness's own contract, checked against scripted TCP peers: expect() matches
// literal bytes and placeholders across arbitrary chunking, fails at the first
// wrong byte, on a close, and at its deadline; startServer() spawns memcached.

import net from 'node:net'
import t from 'tap'
import { CompatFailure } from '../harness/check.js'
import { RawConn, num, bytes, line } from '../harness/raw.js'
import { binReq, expectBin, u32 } from '../harness/bin.js'
import { parseTarget, startServer } from '../harness/targets.js'

/** A peer that, once a client connects, sends the given chunks with a tick between them. */
async function peer (t: { teardown: (fn: () => unknown) => void }, chunks: Array<string | Buffer>, closeAfter = false): Promise<number> {
  const srv = net.createServer((s) => {
    let i = 0
    const next = (): void => {
      if (i < chunks.length) { s.write(chunks[i++]); setTimeout(next, 5) } else if (closeAfter) s.end()
    }
    next()
  })
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => srv.close(() => resolve())))
  const a = srv.address()
  return typeof a === 'object' && a ? a.port : 0
}

t.test('literal and placeholders match across every chunking', async (t) => {
  const reply = 'VALUE k 0 3 12345\r\nabc\r\nEND\r\nrest of line\r\n'
  for (const cut of [1, 2, 7, reply.length]) {
    const chunks: string[] = []
    for (let i = 0; i < reply.length; i += cut) chunks.push(reply.slice(i, i + cut))
    const port = await peer(t, chunks)
    const c = await RawConn.connect('127.0.0.1', port)
    const caps = await c.expect('VALUE k 0 3 ', num('cas'), '\r\n', bytes(3, 'v'), '\r\nEND\r\n', line('l'), '\r\n')
    t.same(caps, { cas: '12345', v: 'abc', l: 'rest of line' }, `cut ${cut}`)
    c.close()
  }
})

t.test('a wrong byte fails at once with both sides shown', async (t) => {
  const port = await peer(t, ['STORED\r\n'])
  const c = await RawConn.connect('127.0.0.1', port)
  const err = await c.expect('NOT_STORED\r\n').catch((e: unknown) => e)
  t.ok(err instanceof CompatFailure)
  t.match((err as Error).message, /expected "NOT_STORED\\r\\n"\s+got "STORED\\r\\n"/)
  c.close()
})

t.test('a number out of range fails', async (t) => {
  const port = await peer(t, ['HD t500\r\n'])
  const c = await RawConn.connect('127.0.0.1', port)
  await t.rejects(c.expect('HD t', num('t', 1, 100), '\r\n'), /in \[1, 100\], got 500/)
  c.close()
})

t.test('missing bytes fail at the deadline, a close fails at once', async (t) => {
  const port = await peer(t, ['STO'])
  const c = await RawConn.connect('127.0.0.1', port)
  const start = Date.now()
  await t.rejects(c.expectWithin(200, 'STORED\r\n'), /timed out after 200 ms/)
  t.ok(Date.now() - start >= 190, 'at the deadline, not before')
  c.close()
  const port2 = await peer(t, ['STO'], true)
  const d = await RawConn.connect('127.0.0.1', port2)
  await t.rejects(d.expect('STORED\r\n'), /connection closed/)
  d.close()
})

t.test('expectClosed sees a close and refuses extra bytes', async (t) => {
  const port = await peer(t, [], true)
  const c = await RawConn.connect('127.0.0.1', port)
  await c.expectClosed()
  const port2 = await peer(t, ['junk'], true)
  const d = await RawConn.connect('127.0.0.1', port2)
  await t.rejects(d.expectClosed(), /unexpected bytes before close/)
})

t.test('binary responses are checked field by field', async (t) => {
  const resp = binReq({ op: 0x00, extras: u32(5), value: 'hello', opaque: 9, cas: 77n })
  resp[0] = 0x81
  const port = await peer(t, [resp.subarray(0, 10), resp.subarray(10), resp])
  const c = await RawConn.connect('127.0.0.1', port)
  const r = await expectBin(c, { op: 0x00, opaque: 9, cas: 77n, extras: u32(5), value: 'hello' })
  t.equal(r.value.toString(), 'hello')
  await t.rejects(expectBin(c, { op: 0x00, opaque: 9, cas: 77n, extras: u32(5), value: 'world' }), /value="hello" \(want "world"\)/)
  c.close()
})

t.test('startServer spawns memcached with flags and stops it', { skip: parseTarget('memcached').unavailable }, async (t) => {
  const s = await startServer(parseTarget('memcached'), { flags: ['-m', '16'] })
  const c = await RawConn.connect(s.host, s.port)
  await c.req('stats settings\r\n', 'STAT maxbytes 16777216\r\n')
  c.close()
  await s.stop()
  t.not(s.exitCode(), null)
})
