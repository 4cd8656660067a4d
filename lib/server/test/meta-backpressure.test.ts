/**
 * A client that pipelines mg ... v and never reads must not make memring buffer every reply:
 * the server stops parsing that connection once its output waits on the socket, and carries
 * on where it stopped when the client reads again. Real server, real TCP.
 */
import net from 'node:net'
import t from 'tap'
import { startServer } from '../../testing/servers.js'
import { waitFor } from '../../testing/wait-for.js'

const VALUE = 32 * 1024
const GETS = 4000 // 4000 x 32 KiB = 125 MiB of replies, far beyond socket buffers

t.test('pipelined mg v without reading pauses parsing, then every reply arrives in order', async (t) => {
  const server = await startServer(t)
  const sock = net.connect(server.port, '127.0.0.1')
  t.teardown(() => { sock.destroy() })
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()))
  let got = 0
  let head = Buffer.alloc(0)
  const setReply = 'HD\r\n'
  const perReply = `VA ${VALUE}\r\n`.length + VALUE + 2
  let sawSet = false
  sock.on('data', (d: Buffer) => {
    if (!sawSet) {
      head = Buffer.concat([head, d])
      if (head.length < setReply.length) return
      t.equal(head.subarray(0, setReply.length).toString(), setReply, 'ms stored the value')
      sawSet = true
      d = head.subarray(setReply.length)
    }
    got += d.length
  })
  sock.write(`ms big ${VALUE}\r\n${'v'.repeat(VALUE)}\r\n`)
  await waitFor(() => sawSet, { what: 'the ms reply' })
  sock.pause()
  sock.write(Buffer.from('mg big v\r\n'.repeat(GETS)))
  await waitFor(() => server.ctx.stats.conn_yields > 0, { timeoutMs: 10000, what: 'the connection to yield' })
  const stalledAt = server.ctx.stats.get_hits
  // The dispatcher asks the connection to flush every ~1 MiB of replies and to stop parsing
  // once the socket pushes back; the kernel absorbs a few MiB first (128 gets here).
  t.ok(stalledAt > 0 && stalledAt < GETS / 2, `parsing stopped after ${stalledAt} of ${GETS} gets while the client was not reading`)
  const heapMb = process.memoryUsage().heapUsed / 1024 / 1024
  t.ok(heapMb < 200, `heap stays bounded (${heapMb.toFixed(0)} MiB) with ${(GETS * perReply / 1024 / 1024).toFixed(0)} MiB of replies owed`)
  sock.resume()
  await waitFor(() => got >= GETS * perReply, { timeoutMs: 30000, what: 'every reply' })
  t.equal(got, GETS * perReply, 'exactly the bytes of every reply')
  t.equal(server.ctx.stats.get_hits, GETS, 'every mg was served')
})
