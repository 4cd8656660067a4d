/**
 * Connection limits and framing errors (issue 2, "Robustness"): -c is enforced with
 * memcached's reply, idle connections are closed after -o idle_timeout, a line too long
 * closes only its own connection, and a rejected storage command still consumes its
 * data block so the stream stays in sync. Where memcached can run the same script, the
 * expected bytes are checked against it too, so the expectation itself is memcached's.
 */
import t from 'tap'
import type { Test } from 'tap'
import { haveMemcached, startMemcached } from '../../testing/memcached.js'
import { exchange, rawClient } from '../../testing/raw-client.js'
import { startServer } from '../../testing/servers.js'
import type { ServerSettings } from '../../server/settings.js'
import { TextRequestParser } from '../../../protocol/text/request-parser.js'
import { waitFor } from '../../testing/wait-for.js'

/** Runs fn against memring and, when installed, against real memcached with the same flags. */
async function onBoth (t: Test, memcachedArgs: string[], fn: (t: Test, port: number) => Promise<void>, settings: Partial<ServerSettings> = {}): Promise<void> {
  await t.test('memring', async (t) => {
    const server = await startServer(t, { itemSizeMax: 1024 * 1024, ...settings })
    await fn(t, server.port)
  })
  await t.test('memcached 1.6 (reference)', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
    const mc = await startMemcached(t, memcachedArgs)
    await fn(t, mc.port)
  })
}

t.test('-c: a connection over the limit gets memcached\'s error and is closed; others keep working', async (t) => {
  const server = await startServer(t, { maxConns: 3 })
  const clients = []
  for (let i = 0; i < 3; i++) {
    const c = await rawClient(t, server.port)
    c.write('version\r\n')
    t.match(await c.until('\r\n'), /^VERSION /)
    clients.push(c)
  }
  const over = await rawClient(t, server.port)
  // The server's close ends its reply (an event), rather than 100 ms of quiet.
  t.ok(await over.closedByPeer(), 'the extra connection is closed by the server')
  t.equal(over.drainNow().toString('latin1'), 'ERROR Too many open connections\r\n')
  t.equal(server.ctx.stats.rejected_connections, 1)
  t.equal(server.ctx.stats.curr_connections, 3)
  // The three admitted connections are unaffected.
  clients[0].write('set k 0 0 1\r\nv\r\n')
  t.equal(await clients[0].until('\r\n'), 'STORED\r\n')
  clients[2].write('get k\r\n')
  t.equal(await clients[2].until('END\r\n'), 'VALUE k 0 1\r\nv\r\nEND\r\n')
  // A slot freed is a slot available again.
  clients[1].end()
  await waitFor(() => server.ctx.stats.curr_connections === 2, { what: 'the closed connection to be counted' })
  const again = await rawClient(t, server.port)
  again.write('get k\r\n')
  t.equal(await again.until('END\r\n'), 'VALUE k 0 1\r\nv\r\nEND\r\n', 'a new connection is admitted after one closes')
})

t.test('idle_timeout closes idle connections, not busy ones', async (t) => {
  const server = await startServer(t, { idleTimeoutSec: 1 })
  const idle = await rawClient(t, server.port)
  const busy = await rawClient(t, server.port)
  idle.write('version\r\n')
  await idle.until('\r\n')
  let replies = 0
  const started = Date.now()
  const timer = setInterval(() => { busy.write('version\r\n') }, 200)
  t.teardown(() => clearInterval(timer))
  const counting = (async () => {
    while (!busy.closed && Date.now() - started < 8000) { await busy.until('\r\n', 8000); replies++ }
  })()
  t.ok(await idle.closedByPeer(6000), 'the idle connection was closed')
  const after = (Date.now() - started) / 1000
  t.ok(after >= 1, `not before the timeout (${after.toFixed(1)} s)`)
  t.equal((await idle.drain(10, 100)).length, 0, 'closed without a reply, like memcached')
  t.ok(server.ctx.stats.idle_kicks >= 1, 'idle_kicks counted')
  const seen = replies
  await waitFor(() => replies >= seen + 3, { timeoutMs: 3000, what: 'the busy connection to keep answering' })
  t.notOk(busy.closed, 'the busy connection is still open')
  clearInterval(timer)
  busy.end()
  await counting.catch(() => {})
})

t.test('a line too long closes only that connection (memcached closes without a reply)', async (t) => {
  await onBoth(t, ['-I', '1m'], async (t, port) => {
    const bystander = await rawClient(t, port)
    bystander.write('set keep 0 0 4\r\nkept\r\n')
    t.equal(await bystander.until('\r\n'), 'STORED\r\n')
    const bad = await rawClient(t, port)
    bad.write('set ' + 'x'.repeat(4000)) // no LF: not a get, over 2048 bytes
    t.ok(await bad.closedByPeer(3000), 'the offending connection is closed')
    t.equal((await bad.drain(10, 100)).length, 0, 'with no reply')
    bystander.write('get keep\r\n')
    t.equal(await bystander.until('END\r\n'), 'VALUE keep 0 4\r\nkept\r\nEND\r\n', 'the other connection is unaffected')
    // A long *complete* line is not a framing error: it is answered.
    const long = await rawClient(t, port)
    long.write('set ' + 'k'.repeat(3000) + ' 0 0 1\r\nv\r\n')
    t.equal(await long.until('\r\n'), 'CLIENT_ERROR bad command line format\r\n')
    t.equal(await long.until('\r\n'), 'ERROR\r\n', 'the data line is then read as a command, as memcached does')
  })
})

t.test('a multiget line may be long (memcached lets get/gets lines grow)', async (t) => {
  await onBoth(t, ['-I', '1m'], async (t, port) => {
    const keys = Array.from({ length: 1000 }, (_, i) => `key-number-${i}`)
    const c = await rawClient(t, port)
    c.write('set key-number-999 0 0 1\r\nz\r\n')
    await c.until('\r\n')
    const line = Buffer.from('get ' + keys.join(' ') + '\r\n')
    // Sent in small pieces so the server sees an unterminated line far over 2048 bytes.
    for (let i = 0; i < line.length; i += 1000) c.write(line.subarray(i, i + 1000))
    t.equal(await c.until('END\r\n'), 'VALUE key-number-999 0 1\r\nz\r\nEND\r\n')
  })
})

t.test('a long multiget line arriving in small TCP segments is buffered in linear time', async (t) => {
  // 8 MiB (the get-line cap) in 1460-byte segments: re-copying the partial line on every
  // segment would cost ~5,700 copies of up to 8 MiB (tens of seconds of blocked event loop).
  let lines = 0
  const parser = new TextRequestParser({
    onLine () { lines++; return -1 },
    onData () {},
    onFatal (reason) { t.fail(`fatal: ${reason}`) },
  })
  const line = Buffer.from('get ' + 'key-abcdef '.repeat(762_000) + '\r\nversion\r\n')
  t.ok(line.length > 8_000_000 && line.length < 8 * 1024 * 1024)
  // Linear time, measured as work rather than CPU time (which a loaded machine inflates):
  // count the bytes the parser copies. Growing its buffer by doubling copies under 3x the
  // line; re-copying the partial line per segment would copy ~5,700 x 4 MiB on average.
  let copied = 0
  const copy = Buffer.prototype.copy
  const concat = Buffer.concat
  Buffer.prototype.copy = function (this: Buffer, target: Uint8Array, ...rest: number[]): number {
    const n = copy.call(this, target, ...rest)
    copied += n
    return n
  } as typeof copy
  Buffer.concat = ((list: readonly Uint8Array[], total?: number): Buffer => {
    const b = concat(list, total)
    copied += b.length
    return b
  }) as typeof concat
  const started = process.cpuUsage()
  try {
    for (let i = 0; i < line.length; i += 1460) parser.push(line.subarray(i, i + 1460))
  } finally {
    Buffer.prototype.copy = copy
    Buffer.concat = concat
  }
  const cpu = process.cpuUsage(started)
  const ms = (cpu.user + cpu.system) / 1000
  t.equal(lines, 2, 'the get line and the next command')
  t.ok(copied > 0 && copied <= 4 * line.length, `${(copied / line.length).toFixed(2)}x the line copied for ${line.length} bytes in ${Math.ceil(line.length / 1460)} pieces`)
  t.comment(`${ms.toFixed(0)} ms of CPU (reported, not gated)`)
})

t.test('a rejected storage command still consumes its data block', async (t) => {
  await onBoth(t, ['-I', '1m'], async (t, port) => {
    const c = await rawClient(t, port)
    c.write('set victim 0 0 5\r\nalive\r\n')
    t.equal(await c.until('\r\n'), 'STORED\r\n')
    // A value over -I whose bytes look like commands; none of them may run.
    const evil = Buffer.from('delete victim\r\nflush_all\r\nset victim 0 0 4\r\nevil\r\n'.repeat(60_000))
    const n = evil.length
    t.ok(n > 1024 * 1024, 'bigger than -I')
    c.write(`set big 0 0 ${n}\r\n`)
    for (let i = 0; i < n; i += 65_536) c.write(evil.subarray(i, i + 65_536))
    c.write('\r\nget victim\r\n')
    t.equal(await c.until('\r\n', 10_000), 'SERVER_ERROR object too large for cache\r\n')
    t.equal(await c.until('END\r\n', 10_000), 'VALUE victim 0 5\r\nalive\r\nEND\r\n', 'the data block was swallowed whole')
    // The same with the terminator split across writes and noreply.
    c.write(`add big2 0 0 ${n} noreply\r\n`)
    c.write(evil)
    c.write('\r')
    await new Promise((resolve) => setTimeout(resolve, 20))
    c.write('\nget victim\r\n')
    t.equal(await c.until('END\r\n', 10_000), 'VALUE victim 0 5\r\nalive\r\nEND\r\n', 'noreply: nothing but the get reply')
  })
})

t.test('with -M, out of memory storing object also consumes the data block', async (t) => {
  await onBoth(t, ['-M', '-m', '8'], async (t, port) => {
    const c = await rawClient(t, port)
    const value = Buffer.alloc(100 * 1024, 0x76)
    let reply = ''
    let i = 0
    for (; i < 400; i++) {
      c.write(`set k${i} 0 0 ${value.length}\r\n`)
      c.write(value)
      c.write('\r\n')
      reply = await c.until('\r\n')
      if (reply !== 'STORED\r\n') break
    }
    t.equal(reply, 'SERVER_ERROR out of memory storing object\r\n', `after ${i} stores`)
    c.write('get k0\r\n')
    const got = await c.until('END\r\n')
    t.equal(got.length, 'VALUE k0 0 102400\r\n'.length + value.length + 2 + 'END\r\n'.length, 'the next command is answered: the block was swallowed, nothing evicted')
  }, { evictions: false, memoryLimitMb: 8 })
})

t.test('a data block without its CRLF is a bad data chunk, and the stream goes on after it', async (t) => {
  await onBoth(t, ['-I', '1m'], async (t, port) => {
    const out = await exchange(port, 'set k 0 0 3\r\nabcde\r\nget k\r\n')
    // memcached reads 3 + 2 bytes ("abcde"), rejects it, then parses the rest.
    t.equal(out.toString('latin1'), 'CLIENT_ERROR bad data chunk\r\nERROR\r\nEND\r\n')
  })
})
