// Misbehaving backends behind the proxy (scripted TCP peers beside a real memring):
// timeouts, refused connects, mid-stream closes, garbage. Reads answer as misses,
// writes as SERVER_ERROR, a failing host is marked down (TKO) and probed back, the
// healthy shard keeps serving and no client connection is dropped.
import t from 'tap'
import { createProxy, type MemringProxy } from '../proxy.js'
import { startServer } from '../../testing/servers.js'
import { rawClient, type RawClient } from '../../testing/raw-client.js'
import { startScriptedBackend, type ScriptedBackend } from '../../testing/scripted-backend.js'
import { waitFor } from '../../testing/wait-for.js'

const TIMEOUT_MS = 200

async function setup (t: Parameters<typeof rawClient>[0]): Promise<{ proxy: MemringProxy, bad: ScriptedBackend, c: RawClient, badKey: (i: number) => string, goodKey: (i: number) => string }> {
  const good = await startServer(t)
  const bad = await startScriptedBackend(t)
  const proxy = createProxy({
    port: 0,
    topology: { kind: 'static', servers: [{ host: '127.0.0.1', port: good.port }, { host: '127.0.0.1', port: bad.port }] },
    backend: { timeoutMs: TIMEOUT_MS, tkoThreshold: 3, probeMs: 50, probeMaxMs: 200, connsPerHost: 1 },
  })
  await proxy.start()
  t.teardown(() => proxy.close())
  const c = await rawClient(t as Parameters<typeof rawClient>[0], proxy.port)
  const badShard = proxy.router.shardIndexById(bad.address)
  const keysOn = (want: boolean) => {
    const list: string[] = []
    for (let i = 0; list.length < 50; i++) {
      const k = `k${i}`
      if ((proxy.router.shardIndexOf(Buffer.from(k), 0, k.length) === badShard) === want) list.push(k)
    }
    return (i: number) => list[i]!
  }
  return { proxy, bad, c, badKey: keysOn(true), goodKey: keysOn(false) }
}

function stat (s: string, name: string): number { return Number(new RegExp(`STAT ${name} (\\d+)`).exec(s)?.[1] ?? NaN) }

t.test('a hanging backend: reads miss and writes fail after the timeout, then it is marked down and fails fast', async (t) => {
  const { proxy, bad, c, badKey, goodKey } = await setup(t)
  bad.hang()
  c.write(`set ${goodKey(0)} 0 0 1\r\ng\r\n`)
  t.same(await c.lines(1), ['STORED'])
  const t0 = Date.now()
  c.write(`get ${badKey(0)}\r\nset ${badKey(1)} 0 0 1\r\nx\r\n`)
  t.same(await c.lines(2), ['END', 'SERVER_ERROR backend timeout'])
  const took = Date.now() - t0
  // A lower bound only: it waited for the timeout (an upper bound would measure the load).
  t.ok(took >= TIMEOUT_MS * 0.9, `answered after the ${TIMEOUT_MS} ms timeout, not before (${took} ms)`)
  // Each timeout is one failed connection; the third marks the host down.
  for (let i = 0; i < 2; i++) { c.write(`get ${badKey(2)}\r\n`); t.same(await c.lines(1), ['END']) }
  t.ok(proxy.router.pool.hosts.get(bad.address)!.down, 'marked down after 3 failures')
  c.write('stats proxy\r\n')
  const timeoutsWhenDown = stat(await c.until('END\r\n'), 'backend_timeouts')
  c.write(`get ${badKey(3)} ${goodKey(0)}\r\ndelete ${badKey(3)}\r\nmg ${badKey(3)} v\r\n`)
  t.same(await c.lines(5), [`VALUE ${goodKey(0)} 0 1`, 'g', 'END', 'SERVER_ERROR backend marked down', 'EN'])
  // "Without waiting" as a fact, not a duration: none of these requests reached the down
  // host (only the prober's version lines may), and no further timeout was counted.
  t.same(bad.seen.filter((l) => l.includes(badKey(3))), [], 'the down host was not sent the requests')
  c.write('stats proxy\r\n')
  const ps = await c.until('END\r\n')
  t.equal(stat(ps, 'backend_timeouts'), timeoutsWhenDown, 'no timeout was waited for')
  t.equal(stat(ps, 'backends_down'), 1)
  t.ok(stat(ps, 'backend_timeouts') >= 3)
  // It comes back once a probe gets an answer.
  bad.reply(['END'])
  await waitFor(() => !proxy.router.pool.hosts.get(bad.address)!.down, { timeoutMs: 2000, what: 'probe brings it back' })
  c.write(`get ${badKey(4)}\r\n`)
  t.same(await c.lines(1), ['END'])
  t.notOk(c.closed, 'client connection never dropped')
})

t.test('a refused backend is marked down within a few requests and probed back when it listens again', async (t) => {
  const { proxy, bad, c, badKey, goodKey } = await setup(t)
  c.write(`get ${badKey(0)}\r\n`)
  t.same(await c.lines(1), ['END'])
  const t0 = Date.now()
  bad.refuse()
  let n = 0
  while (!proxy.router.pool.hosts.get(bad.address)!.down) {
    c.write(`get ${badKey(n % 50)}\r\nset ${goodKey(n % 50)} 0 0 1\r\n1\r\n`)
    t.same(await c.lines(2), ['END', 'STORED'])
    n++
    if (n > 20) break
  }
  const ms = Date.now() - t0
  t.ok(proxy.router.pool.hosts.get(bad.address)!.down, `down after ${n} request pairs, ${ms} ms`)
  t.comment(`refused backend marked down after ${ms} ms (${n} request pairs)`)
  c.write(`set ${badKey(1)} 0 0 1\r\nx\r\n`)
  t.same(await c.lines(1), ['SERVER_ERROR backend marked down'])
  bad.reply(['STORED'])
  await waitFor(() => !proxy.router.pool.hosts.get(bad.address)!.down, { timeoutMs: 2000, what: 'probe brings it back' })
  c.write(`set ${badKey(1)} 0 0 1\r\nx\r\n`)
  t.same(await c.lines(1), ['STORED'])
  t.notOk(c.closed)
})

t.test('a backend that closes mid-stream: in-flight requests fail, the next connection works', async (t) => {
  const { bad, c, badKey } = await setup(t)
  bad.closeAfter(1, ['END'])
  c.write(`get ${badKey(0)}\r\n`)
  t.same(await c.lines(1), ['END'])
  c.write(`get ${badKey(1)}\r\nincr ${badKey(1)} 1\r\n`)
  t.same(await c.lines(2), ['END', 'SERVER_ERROR backend connection lost'])
  bad.reply(['END'])
  c.write(`get ${badKey(2)}\r\n`)
  t.same(await c.lines(1), ['END'])
  t.ok(bad.connections >= 2, 'reconnected')
})

t.test('garbage from a backend fails the request, not the client', async (t) => {
  const { bad, c, badKey, goodKey } = await setup(t)
  bad.garbage()
  c.write(`touch ${badKey(0)} 10\r\nset ${goodKey(0)} 0 0 1\r\nz\r\nget ${goodKey(0)}\r\n`)
  t.same(await c.lines(5), ['SERVER_ERROR bad reply from backend', 'STORED', `VALUE ${goodKey(0)} 0 1`, 'z', 'END'])
})

t.test('a slow backend under the timeout is just slow; replies keep request order across shards', async (t) => {
  const { bad, c, badKey, goodKey } = await setup(t)
  bad.delay(60, ['VALUE x 0 1', 'y', 'END'])
  c.write(`set ${goodKey(0)} 0 0 1\r\na\r\nget ${badKey(0)}\r\nget ${goodKey(0)}\r\n`)
  t.same(await c.lines(7), ['STORED', 'VALUE x 0 1', 'y', 'END', `VALUE ${goodKey(0)} 0 1`, 'a', 'END'])
})
