/**
 * The routing Client against real servers: three memcached processes and three
 * in-process memring servers, plus scripted peers for a hanging and a resetting host,
 * and a memcached killed mid-run and restarted on the same port.
 */
import t from 'tap'
import type { Test } from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { Client, ClientError, ClientErrorCode, StaticServers, exponentialBackoff, type ClientOptions } from '../index.js'
import { libmemcachedKetama, twemproxyKetama, JumpRouter } from '../../ring/index.js'
import { startMemcached, haveMemcached, waitForPort, freePort, MEMCACHED_BIN } from '../../testing/memcached.js'
import { startServer } from '../../testing/servers.js'
import { waitFor } from '../../testing/wait-for.js'
import { startPeer } from './scripted-peer.js'

const skip = haveMemcached() ? false : 'memcached is not installed (scripts/setup.sh)'
type Tap = Test

function client (t: Tap, opts: ClientOptions): Client {
  const c = new Client(opts)
  t.teardown(async () => await c.close())
  return c
}

async function memcacheds (t: Tap, n: number): Promise<number[]> {
  const ports: number[] = []
  for (let i = 0; i < n; i++) ports.push((await startMemcached(t)).port)
  return ports
}

const list = (ports: number[]): string => ports.map((p) => `127.0.0.1:${p}`).join(',')
const str = (b: Buffer | null): string | null => b === null ? null : b.toString()

async function commandScript (t: Tap, c: Client): Promise<void> {
  t.equal(await c.set('a', 'hello', { flags: 42 }), true, 'set')
  const a = await c.getItem('a')
  t.equal(str(a?.value ?? null), 'hello')
  t.equal(a?.flags, 42, 'flags come back')
  t.equal(a?.cas, null, 'get has no CAS unique')
  t.equal(await c.add('a', 'x'), false, 'add on an existing key')
  t.equal(await c.add('fresh', 'x'), true, 'add on a new key')
  t.equal(await c.replace('nope', 'x'), false, 'replace on a missing key')
  t.equal(await c.replace('a', 'hi'), true)
  t.equal(await c.append('a', '!'), true)
  t.equal(await c.prepend('a', '>'), true)
  t.equal(str(await c.get('a')), '>hi!')
  t.equal(await c.append('nope', 'x'), false, 'append on a missing key')
  const g = await c.gets('a')
  t.type(g?.cas, 'bigint')
  t.equal(await c.cas('a', 'v2', g?.cas ?? 0n), 'STORED')
  t.equal(await c.cas('a', 'v3', g?.cas ?? 0n), 'EXISTS', 'cas with a stale unique')
  t.equal(await c.cas('nope', 'v', 1n), 'NOT_FOUND')
  t.equal(await c.incr('n'), null, 'incr on a missing key')
  await c.set('n', '18446744073709551614')
  t.equal(await c.incr('n', 3), 1n, 'incr wraps at 2^64')
  t.equal(await c.decr('n', 5n), 0n, 'decr stops at 0')
  await c.set('n', '1000')
  t.equal(await c.decr('n', 1), 999n)
  // memcached decrements in place and pads with a space when the number gets shorter
  t.equal(str(await c.get('n')), '999 ', 'decr that shortens the number keeps the length')
  t.equal(await c.touch('n', 1000), true)
  t.equal(await c.touch('nope', 10), false)
  const gat = await c.gat('n', 500, true)
  t.equal(str(gat?.value ?? null), '999 ', 'gat returns the value')
  t.type(gat?.cas, 'bigint', 'gats returns a CAS unique')
  t.equal(await c.delete('n'), true)
  t.equal(await c.delete('n'), false)
  t.equal(await c.set('clé', 'ü'), true, 'UTF-8 keys')
  t.equal(str(await c.get('clé')), 'ü')
  const bin = Buffer.from([0, 13, 10, 255, 13, 10])
  await c.set('bin', bin)
  t.same(await c.get('bin'), bin, 'binary values')
  const big = Buffer.alloc(300_000, 7)
  t.equal(await c.set('big', big), true, 'a value over the copy limit')
  t.ok((await c.get('big'))?.equals(big))
  t.equal(await c.set('gone', 'x', { exptime: -1 }), true)
  t.equal(await c.get('gone'), null, 'negative exptime: expired at once')
  // meta protocol, routed by key like the rest
  t.same(await c.meta('ms', 'm', ['T600', 'F5'], 'hello'), { status: 'HD', flags: [], value: null }, 'ms')
  const mg = await c.meta('mg', 'm', ['v', 'f', 's', 'k'])
  t.equal(mg.status, 'VA')
  t.same(mg.flags, ['f5', 's5', 'km'], 'mg returns the flags asked for, in order')
  t.equal(str(mg.value), 'hello')
  t.same(await c.meta('mg', 'nothing', ['v']), { status: 'EN', flags: [], value: null }, 'mg miss')
  const hd = await c.meta('mg', 'm', ['c'])
  t.equal(hd.status, 'HD')
  t.match(hd.flags[0], /^c\d+$/, 'cas token')
  // A CAS that cannot be the item's: one more than the one it has.
  const stale = Number(hd.flags[0].slice(1)) + 1
  t.equal((await c.meta('ms', 'm', [`C${stale}`, 'T0'], 'x')).status, 'EX', 'ms with a stale C is EX')
  await c.set('ctr', '10')
  t.equal(str((await c.meta('ma', 'ctr', ['v'])).value), '11', 'ma increments by 1')
  t.equal(str((await c.meta('ma', 'ctr', ['MD', 'D5', 'v'])).value), '6', 'ma MD D5 decrements')
  t.equal((await c.meta('ma', 'no-ctr', [])).status, 'NF')
  t.equal((await c.meta('md', 'm', [])).status, 'HD', 'md')
  t.equal((await c.meta('md', 'm', [])).status, 'NF', 'md again')
  await t.rejects(c.meta('mg', 'm', ['v', 'q']), { code: ClientErrorCode.BadArgument })
  await t.rejects(c.meta('mg', 'm', [], 'x'), { code: ClientErrorCode.BadArgument })
  const versions = await c.version()
  t.equal(versions.size, 3, 'version from every server')
  const stats = await c.stats()
  t.ok([...stats.values()].every((s) => s.has('curr_items') && s.has('pid')), 'stats from every server')
  await c.flushAll()
  t.equal(await c.get('a'), null, 'flush_all reached the server holding a')
}

t.test('every command against three real memcached', { skip }, async (t) => {
  await commandScript(t, client(t, { servers: list(await memcacheds(t, 3)) }))
})

t.test('every command against three real memring servers', async (t) => {
  const ports: number[] = []
  for (let i = 0; i < 3; i++) ports.push((await startServer(t)).port)
  await commandScript(t, client(t, { servers: list(ports) }))
})

t.test('keys land on the server lib/ring names, for every hash method', { skip }, async (t) => {
  const ports = await memcacheds(t, 4)
  const servers = ports.map((port, i) => ({ host: '127.0.0.1', port, weight: i + 1 }))
  const expected = {
    ketama: libmemcachedKetama(servers),
    'ketama-twemproxy': twemproxyKetama(servers, { hashTag: '{}' }),
    jump: new JumpRouter(4),
  }
  const direct = ports.map((p) => client(t, { servers: `127.0.0.1:${p}` }))
  for (const [hash, ring] of Object.entries(expected)) {
    const c = client(t, { servers, hash: hash as ClientOptions['hash'], hashTag: hash === 'ketama-twemproxy' ? '{}' : undefined })
    const keys = Array.from({ length: 1000 }, (_, i) => i % 5 === 0 ? `${hash}:{user${i % 17}}:${i}` : `${hash}:${i}`)
    await Promise.all(keys.map(async (k) => await c.set(k, 'v')))
    const found = await Promise.all(direct.map(async (d) => await d.getMulti(keys)))
    let wrong = 0
    for (let i = 0; i < keys.length; i++) {
      const holders = found.map((f, s) => f[i] !== null ? s : -1).filter((s) => s >= 0)
      if (holders.length !== 1 || holders[0] !== ring.serverOf(keys[i]) || c.serverFor(keys[i]) !== `127.0.0.1:${ports[holders[0]]}`) wrong++
    }
    t.equal(wrong, 0, `${hash}: all ${keys.length} keys on exactly the server lib/ring names`)
    const used = new Set(keys.map((k) => ring.serverOf(k)))
    if (hash === 'ketama-twemproxy') {
      // twemproxy hashes keys with fnv1a_64 (low 32 bits): near-identical keys fall on a
      // lattice, and for ~20% of port choices one server of four gets none of these keys
      // (measured: 64 of 300 random port sets). That is twemproxy's placement, reproduced.
      t.ok(used.size >= 2, `${hash}: keys spread over more than one server (${used.size})`)
    } else {
      t.equal(used.size, 4, `${hash}: keys spread over all 4 servers`)
    }
  }
})

t.test('a multi-get is split per server and merged in key order', { skip }, async (t) => {
  const c = client(t, { servers: list(await memcacheds(t, 3)) })
  const keys = Array.from({ length: 60 }, (_, i) => `m${i}`)
  await Promise.all(keys.filter((_, i) => i % 3 !== 0).map(async (k) => await c.set(k, `v-${k}`)))
  const ask = [...keys, 'm1', 'm1', 'absent']
  const res = await c.getMulti(ask)
  t.same(res.map((r) => str(r?.value ?? null)), ask.map((k) => {
    const i = Number(k.slice(1))
    return k === 'absent' || i % 3 === 0 ? null : `v-${k}`
  }))
  t.ok(new Set(keys.map((k) => c.serverFor(k))).size === 3, 'the keys span all three servers')
  t.same(await c.getMulti([]), [], 'no keys, no requests')
})

/** memcached on a fixed port (to restart it on the same address); killed at teardown. */
async function memcachedOn (t: Tap, port: number): Promise<ChildProcess> {
  const proc = spawn(MEMCACHED_BIN, ['-u', 'root', '-l', '127.0.0.1', '-p', String(port), '-U', '0'], { stdio: 'ignore' })
  t.teardown(() => { if (proc.exitCode === null) proc.kill('SIGKILL') })
  await waitForPort(port)
  return proc
}

t.test('a server killed mid-run: its keys fail, then fail fast as HOST_DOWN, others keep working; it is probed back', { skip }, async (t) => {
  const ports = await memcacheds(t, 2)
  // the victim runs on a port we hold on to, so it can come back at the same address
  const victimPort = await freePort()
  let victim = await memcachedOn(t, victimPort)
  ports.push(victimPort)
  const c = client(t, {
    servers: list(ports), failureThreshold: 3, probeIntervalMs: 50, requestTimeoutMs: 500,
    retryStrategy: exponentialBackoff({ baseMs: 5, maxAttempts: 2 }),
  })
  const victimId = `127.0.0.1:${victimPort}`
  const onVictim = Array.from({ length: 400 }, (_, i) => `k${i}`).filter((k) => c.serverFor(k) === victimId).slice(0, 20)
  const elsewhere = Array.from({ length: 400 }, (_, i) => `k${i}`).filter((k) => c.serverFor(k) !== victimId).slice(0, 20)
  for (const k of [...onVictim, ...elsewhere]) t.equal(await c.set(k, 'v'), true)

  victim.kill('SIGKILL')
  const codes: string[] = []
  for (let i = 0; i < 6; i++) {
    try { await c.get(onVictim[i]); codes.push('ok') } catch (err) { codes.push((err as ClientError).code) }
  }
  t.same(codes.slice(0, 3).every((x) => x === ClientErrorCode.ConnClosed || x === ClientErrorCode.Connect), true, `first failures are connection errors: ${codes.slice(0, 3).join(', ')}`)
  t.same(codes.slice(3), [ClientErrorCode.HostDown, ClientErrorCode.HostDown, ClientErrorCode.HostDown], 'then HOST_DOWN')
  // Immediate means no I/O: the rejection settles before the event loop's next check
  // phase (setImmediate), so no connect or timer can have been involved.
  const first = await Promise.race([
    c.get(onVictim[0]).then(() => 'resolved', (err: ClientError) => err),
    new Promise<string>((resolve) => setImmediate(() => resolve('an event-loop turn'))),
  ])
  t.match(first, { code: ClientErrorCode.HostDown, retriable: true }, 'HOST_DOWN is immediate (settled before any I/O)')
  t.same((await c.getMulti(elsewhere)).map((r) => str(r?.value ?? null)), elsewhere.map(() => 'v'), 'other servers unaffected')
  t.same(c.servers().find((s) => s.server === victimId)?.down, true)

  victim = await memcachedOn(t, victimPort)
  await waitFor(() => c.servers().find((s) => s.server === victimId)?.down === false, { what: 'probe marks the server up', timeoutMs: 5000 })
  t.equal(await c.set(onVictim[0], 'back'), true)
  t.equal(str(await c.get(onVictim[0])), 'back', 'served again after the restart (cold, as a restarted cache is)')
})

t.test('a hanging server times out, is marked down, and does not slow the others', { skip }, async (t) => {
  const ports = await memcacheds(t, 2)
  const hang = await startPeer(t, { kind: 'hang' })
  // A request timeout far above a loopback round trip: the order below is then about the
  // client (no head-of-line blocking across servers), not about the machine's load.
  const c = client(t, { servers: list([...ports, hang.port]), requestTimeoutMs: 1000, failureThreshold: 2, probeIntervalMs: 60_000 })
  const hangId = `127.0.0.1:${hang.port}`
  const keys = Array.from({ length: 300 }, (_, i) => `h${i}`)
  const onHang = keys.filter((k) => c.serverFor(k) === hangId)
  const others = keys.filter((k) => c.serverFor(k) !== hangId)
  const order: string[] = []
  const [slow] = await Promise.all([
    Promise.allSettled([c.get(onHang[0]).finally(() => order.push('hung get settled'))]),
    (async () => { await c.set(others[0], 'x'); order.push('other server set') })(),
  ])
  t.equal((slow[0] as PromiseRejectedResult).reason.code, ClientErrorCode.Timeout)
  t.same(order, ['other server set', 'hung get settled'], 'a request to another server finished while the hung one waited')
  await t.rejects(c.get(onHang[1]), { code: ClientErrorCode.Timeout })
  await t.rejects(c.get(onHang[2]), { code: ClientErrorCode.HostDown })
})

t.test('a resetting server counts towards HOST_DOWN like a dead one', async (t) => {
  const reset = await startPeer(t, { kind: 'reset' })
  const c = client(t, { servers: `127.0.0.1:${reset.port}`, failureThreshold: 2, probeIntervalMs: 60_000 })
  await t.rejects(c.get('a'), { code: ClientErrorCode.ConnClosed })
  await t.rejects(c.get('a'), { code: ClientErrorCode.ConnClosed })
  await t.rejects(c.get('a'), { code: ClientErrorCode.HostDown })
  t.equal(reset.accepted, 2)
})

t.test('a server list change keeps the connections of servers that stay', { skip }, async (t) => {
  const ports = await memcacheds(t, 3)
  const source = new StaticServers(list(ports.slice(0, 2)))
  const c = client(t, { servers: source })
  const keys = Array.from({ length: 200 }, (_, i) => `s${i}`)
  await Promise.all(keys.map(async (k) => await c.set(k, 'v')))
  const conns = async (): Promise<number[]> => {
    const s = await c.stats()
    return ports.slice(0, 2).map((p) => Number(s.get(`127.0.0.1:${p}`)?.get('total_connections')))
  }
  const before = await conns()
  source.set(list(ports))
  t.equal(c.servers().length, 3)
  const moved = keys.filter((k) => c.serverFor(k) === `127.0.0.1:${ports[2]}`)
  t.ok(moved.length > 20 && moved.length < 120, `about a third of the keys now route to the new server (${moved.length})`)
  t.same((await c.getMulti(moved)).filter((x) => x !== null), [], 'they miss there (a new, cold server)')
  t.same(await conns(), before, 'no new connections to the servers that stayed')
  source.set(list(ports.slice(1)))
  t.equal(await c.set('after', 'x'), true, 'works after a removal')
})

t.test('bad keys and arguments are refused before anything is sent', async (t) => {
  const c = client(t, { servers: '127.0.0.1:1' })
  for (const k of ['', 'a b', 'x'.repeat(251), 'a\nb']) {
    await t.rejects(async () => await c.get(k), { code: ClientErrorCode.BadKey }, JSON.stringify(k.slice(0, 10)))
  }
  await t.rejects(async () => await c.set('k', 'v', { flags: -1 }), { code: ClientErrorCode.BadArgument })
  await t.rejects(async () => await c.set('k', 'v', { exptime: 1.5 }), { code: ClientErrorCode.BadArgument })
  await t.rejects(async () => await c.incr('k', -1), { code: ClientErrorCode.BadArgument })
  await t.rejects(async () => await c.cas('k', 'v', -1n), { code: ClientErrorCode.BadArgument })
  t.throws(() => new Client({ servers: 'nonsense' }), /bad server "nonsense"/)
  const empty = client(t, { servers: new StaticServers([]) })
  await t.rejects(async () => await empty.get('k'), { code: ClientErrorCode.NoServers })
  await c.close()
  await t.rejects(async () => await c.get('k'), { code: ClientErrorCode.Closed })
  t.ok(new ClientError(ClientErrorCode.Timeout, 'x') instanceof Error)
})
