/**
 * `watch` against memcached 1.6.18: the same commands (text, meta and binary) sent to a
 * real memcached and to memring while a connection watches; the log lines must be the
 * same once the volatile fields (ts, gid, cfd) are normalised, and gid must rise. Plus the
 * command's replies byte for byte, and a watcher that does not read: memring keeps at
 * most 256 KiB for it, drops the rest and says "skipped=N", as memcached does.
 */
import net from 'node:net'
import t from 'tap'
import type { Test } from 'tap'
import { exchange, rawClient } from '../../testing/raw-client.js'
import type { RawClient } from '../../testing/raw-client.js'
import { haveMemcached, startMemcached } from '../../testing/memcached.js'
import { startServer } from '../../testing/servers.js'
import { waitFor } from '../../testing/wait-for.js'

const skip = haveMemcached() ? false : 'memcached not installed'

function bin (op: number, key: string, extras: Buffer, value: string): Buffer {
  const k = Buffer.from(key)
  const v = Buffer.from(value)
  const h = Buffer.alloc(24)
  h[0] = 0x80; h[1] = op; h.writeUInt16BE(k.length, 2); h[4] = extras.length
  h.writeUInt32BE(extras.length + k.length + v.length, 8)
  return Buffer.concat([h, extras, k, v])
}
const setExtras = Buffer.alloc(8); setExtras.writeUInt32BE(50, 4)
const incrExtras = Buffer.alloc(20); incrExtras.writeBigUInt64BE(1n, 0); incrExtras.writeBigUInt64BE(7n, 8)

const TEXT = 'set b 0 0 1\r\nx\r\nget b\r\nget nope\r\nadd b 0 0 1\r\ny\r\nappend b 0 0 1\r\nz\r\n' +
  'cas b 0 0 1 99\r\nq\r\nincr b 1\r\ndelete b\r\ntouch b 10\r\ngat 10 b\r\nset k%20\xff~._- 0 100 2\r\nhi\r\n' +
  'set n 0 0 1\r\n5\r\nincr n 1\r\ngets n nope2\r\nprepend n 0 0 1\r\n1\r\nreplace zz 0 0 1\r\n1\r\nset x 0 0 1 noreply\r\n1\r\n' +
  'mg b v\r\nms m 2 T0\r\nhi\r\nms m 2 MA\r\nhi\r\nms m 2 ME\r\nhi\r\nms zz 2 MR\r\nhi\r\nmd m\r\nma m\r\nma nope\r\nmg n v\r\n' +
  'mg auto N30 v\r\nflush_all\r\nget n\r\n'
const BINARY = Buffer.concat([bin(1, 'bk', setExtras, 'vv'), bin(0, 'bk', Buffer.alloc(0), ''), bin(0x0c, 'bk', Buffer.alloc(0), ''),
  bin(4, 'bk', Buffer.alloc(0), ''), bin(5, 'ctr', incrExtras, ''), bin(5, 'ctr', incrExtras, '')])

function normalise (log: string): string[] {
  return log.split('\n').filter((l) => l !== '').map((l) => l.replace(/^ts=\d+\.\d+ gid=\d+ /, 'ts=T gid=G ').replace(/ cfd=-?\d+/, ' cfd=C'))
}

function gids (log: string): number[] {
  return [...log.matchAll(/gid=(\d+)/g)].map((m) => Number(m[1]))
}

/**
 * The log a watcher gets for TEXT, BINARY and a marker (`set zz-end`, `get zz-end`), sent on
 * three connections in turn. Read until the marker's last line a stream can show has come
 * and, when `lines` is given, until at least that many lines have: memcached's workers log
 * into per-thread buffers that its logger thread merges up to a second later, so lines of
 * different connections may arrive out of turn there. A stream that logs neither marker
 * line is read until quiet (it must stay empty).
 */
async function watchLog (t: Test, port: number, streams: string, lines = 0): Promise<string> {
  const w = await rawClient(t, port)
  w.write(`${streams}\r\n`)
  t.equal(await w.until('\r\n'), 'OK\r\n', `${streams}: OK`)
  await exchange(port, Buffer.from(TEXT, 'latin1'))
  await exchange(port, BINARY)
  await exchange(port, 'set zz-end 0 0 1\r\nx\r\nget zz-end\r\n')
  const words = streams.split(' ').slice(1)
  const fetchers = words.length === 0 || words.includes('fetchers')
  const last = fetchers ? 'type=item_get key=zz-end ' : words.includes('mutations') ? 'type=item_store key=zz-end ' : null
  if (last === null) return (await w.drain(1200, 10000)).toString('latin1')
  let log = await w.until(last, 10000)
  log += await w.until('\n', 10000)
  while (log.split('\n').length - 1 < lines) log += await w.until('\n', 10000)
  return log
}

t.test('log lines of text, meta and binary commands equal memcached 1.6.18\'s', { skip }, async (t) => {
  for (const streams of ['watch fetchers mutations evictions', 'watch', 'watch mutations', 'watch evictions rawcmds proxyreqs']) {
    await t.test(streams, async (t) => {
      const mc = await startMemcached(t)
      const mr = await startServer(t)
      // memring's log is in order: its line count is what memcached's must reach.
      const b = await watchLog(t, mr.port, streams)
      const a = await watchLog(t, mc.port, streams, b.split('\n').length - 1)
      if (streams !== 'watch evictions rawcmds proxyreqs') t.ok(a.length > 0, 'memcached logged something')
      // As multisets: memcached merges its worker threads' buffers, so lines of different
      // connections may interleave either way there (seen: the binary connection's first).
      t.same(normalise(b).sort(), normalise(a).sort(), 'same lines, ts/gid/cfd aside')
      const g = gids(b)
      t.ok(g.every((x, i) => i === 0 || x > g[i - 1]), 'gid rises')
      t.match(b, /^(ts=\d+\.\d+ gid=\d+ type=item_(get|store) key=\S+ .* cfd=\d+ size=\d+\n)*$/, 'line shape')
    })
  }
})

t.test('watch replies equal memcached 1.6.18\'s', { skip }, async (t) => {
  const scripts = [
    'watch bogus\r\nversion\r\n',
    'watch fetchers bogus\r\n',
    'watch noreply\r\nwatch fetchers noreply\r\nmn\r\n',
    'set a 0 0 1\r\n1\r\nwatch\r\n',
    'version\r\nwatch\r\n',
    'set a 0 0 1\r\n1\r\nget a\r\nwatch\r\nget a\r\nversion\r\n',
    'watch proxyreqs proxyevents proxyuser\r\nversion\r\n',
    'watch\r\nversion\r\nget a\r\n',
  ]
  for (const s of scripts) {
    const mc = await startMemcached(t)
    const mr = await startServer(t)
    const [a, b] = await Promise.all([exchange(mc.port, s), exchange(mr.port, s)])
    t.equal(b.toString('latin1'), a.toString('latin1'), JSON.stringify(s))
  }
})

t.test('a 21st watcher is refused', async (t) => {
  const mr = await startServer(t)
  const ws: RawClient[] = []
  for (let i = 0; i < 21; i++) {
    const w = await rawClient(t, mr.port)
    w.write('watch\r\n')
    ws.push(w)
  }
  const replies = await Promise.all(ws.map(async (w) => await w.until('\r\n')))
  t.equal(replies.filter((r) => r === 'OK\r\n').length, 20)
  t.equal(replies.filter((r) => r === 'WATCHER_TOO_MANY log watcher limit reached\r\n').length, 1)
  ws[0].end()
  await waitFor(() => mr.ctx.watchers.count === 19, { what: 'a closed watcher leaves the registry' })
  t.equal(mr.ctx.store.observer !== null, true, 'the store is still observed')
  for (const w of ws) w.end()
  await waitFor(() => mr.ctx.watchers.count === 0, { what: 'all watchers gone' })
  t.equal(mr.ctx.store.observer, null, 'no watcher: the store has no observer')
})

const KEY = 'k'.repeat(200)

/** A watcher whose socket is not read while `n` get misses stream past it. */
async function floodWhileNotReading (t: Test, port: number, n: number, sample: () => void): Promise<{ received: string, watcher: net.Socket }> {
  const watcher = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve) => watcher.once('connect', resolve))
  t.teardown(() => { watcher.destroy() })
  let received = ''
  watcher.on('data', (d: Buffer) => { received += d.toString('latin1') })
  watcher.write('watch\r\n')
  await waitFor(() => received.startsWith('OK\r\n'), { what: 'watch OK' })
  watcher.pause()
  const c = await rawClient(t, port)
  const batch = `get ${KEY}\r\n`.repeat(1000)
  for (let i = 0; i < n / 1000; i++) {
    c.write(batch)
    await c.bytes(5 * 1000, 10000) // 1000 x END\r\n
    sample()
  }
  watcher.resume()
  await waitFor(async () => { const before = received.length; await new Promise((resolve) => setTimeout(resolve, 1200)); return received.length === before }, { timeoutMs: 30000, what: 'watcher drained' })
  // One more event after the drain carries the count of lines dropped before it.
  c.write('get last\r\n')
  await c.until('END\r\n')
  await waitFor(() => received.includes('key=last '), { timeoutMs: 5000, what: 'the last line' })
  return { received, watcher }
}

t.test('a watcher that does not read: memring holds at most 256 KiB and reports skipped=N', async (t) => {
  const mr = await startServer(t)
  let maxQueued = 0
  const N = 60000
  const { received } = await floodWhileNotReading(t, mr.port, N, () => { maxQueued = Math.max(maxQueued, mr.ctx.watchers.maxQueued) })
  t.ok(maxQueued > 0 && maxQueued <= 256 * 1024, `bytes held for the watcher stayed within 256 KiB (max ${maxQueued})`)
  const lines = received.slice(4).split('\n').filter((l) => l !== '')
  const skippedLines = lines.filter((l) => l.startsWith('skipped='))
  const skipped = skippedLines.reduce((s, l) => s + Number(l.slice(8)), 0)
  const got = lines.filter((l) => l.includes(`key=${KEY} `)).length
  t.ok(skippedLines.length > 0, `skipped=N lines arrived (${skippedLines.length})`)
  t.equal(got + skipped, N, `every event was either sent or counted as skipped (${got} sent, ${skipped} skipped)`)
  t.ok(received.length < N * 250, `much less than the whole stream reached the client (${received.length} bytes)`)
  t.equal(mr.ctx.watchers.skippedTotal, skipped, 'stats log_watcher_skipped counts them')
  t.match(lines[lines.length - 1], /type=item_get key=last status=not_found/, 'the watcher is live again')
})

t.test('memcached 1.6.18 drops lines for a watcher that does not read and says skipped=N', { skip }, async (t) => {
  const mc = await startMemcached(t)
  const { received } = await floodWhileNotReading(t, mc.port, 60000, () => {})
  t.match(received, /\nskipped=\d+\n/, 'a skipped=N line')
})

t.test('evictions: one line per evicted item, in memcached\'s format', async (t) => {
  const mr = await startServer(t, { memoryLimitMb: 2 })
  const w = await rawClient(t, mr.port)
  w.write('watch evictions\r\n')
  t.equal(await w.until('\r\n'), 'OK\r\n')
  const v = 'v'.repeat(10000)
  const sets = Array.from({ length: 400 }, (_, i) => `set e${i} 0 ${i % 2 === 0 ? 0 : 1000} 10000 noreply\r\n${v}\r\n`).join('')
  await exchange(mr.port, sets + 'get e0\r\n')
  const evictions = mr.ctx.store.counters.evictions
  t.ok(evictions > 0, `the store evicted (${evictions})`)
  const log = (await w.drain(300)).toString('latin1')
  const lines = log.split('\n').filter((l) => l !== '')
  t.equal(lines.length, evictions, 'one line per eviction')
  for (const l of lines) {
    if (!/^ts=\d+\.\d+ gid=\d+ type=eviction key=e(\d+) fetch=no ttl=(-1|\d+) la=\d+ clsid=\d+ size=10000$/.test(l)) { t.fail(`shape: ${l}`); return }
  }
  t.match(lines[0], /key=e0 fetch=no ttl=-1 /, 'no exptime prints ttl=-1')
  t.match(lines[1], /key=e1 fetch=no ttl=(99\d|1000) /, 'a TTL prints the seconds left')
})
