// Read routing, read retries and epoch fencing, with hand-built topologies
// (Topology.build, handed to the proxy as a `given` source and replaced with
// router.update) over real backends: in-process memring servers and scripted
// misbehaving TCP peers. A read whose copy hangs, resets or refuses is answered by
// another copy (no error, no false miss); writes never move off the writer; a
// master with an older epoch than one already seen for its shard gets no writes.
import t from 'tap'
import { createProxy, type MemringProxy } from '../proxy.js'
import { Topology } from '../../cluster/index.js'
import type { HostRecord } from '../../cluster/layout.js'
import type { MemringServer } from '../../server/server.js'
import { startServer } from '../../testing/servers.js'
import { rawClient, exchange, type RawClient } from '../../testing/raw-client.js'
import { startScriptedBackend, type ScriptedBackend } from '../../testing/scripted-backend.js'
import { stats } from '../../testing/replication.js'

const TIMEOUT_MS = 200
type Test = Parameters<typeof startServer>[0]
interface Peer { port: number }

/** A node record as a host publishes it (a replica with a complete copy when role is replica). */
function rec (p: Peer, shard: string, role: HostRecord['role'], epoch: number): readonly [string, HostRecord] {
  return [`127.0.0.1:${p.port}`, {
    host: '127.0.0.1', port: p.port, dc: '', shard, role, epoch, instance: 'test', pid: 0, startedAt: 0, updatedAt: 0, load: {},
    repl: { master: '', historyId: 'h', seqno: 1, lagMs: 0, lagSeqno: 0, syncInProgress: false, replicas: 0 },
  }]
}
const SHARDS = [['s1', { homeDc: null, weight: 1 }], ['s2', { homeDc: null, weight: 1 }]] as const
let version = 0
function topo (...hosts: (readonly [string, HostRecord])[]): Topology { return Topology.build(SHARDS, hosts, ++version) }

async function proxyOn (t: Test, first: Topology, readFrom: 'any' | 'master' = 'any', timeoutMs = TIMEOUT_MS): Promise<{ proxy: MemringProxy, c: RawClient, keyOf: (shard: string) => (i: number) => string }> {
  const proxy = createProxy({
    port: 0,
    topology: { kind: 'given', topology: first },
    readFrom,
    backend: { timeoutMs, tkoThreshold: 3, probeMs: 50, probeMaxMs: 200 },
  })
  await proxy.start()
  t.teardown(() => proxy.close())
  const c = await rawClient(t, proxy.port)
  const keyOf = (shard: string) => {
    const want = proxy.router.topology.shardIds.indexOf(shard)
    const list: string[] = []
    for (let i = 0; list.length < 64; i++) {
      const k = `key:${i}`
      if (proxy.router.shardIndexOf(Buffer.from(k), 0, k.length) === want) list.push(k)
    }
    return (i: number) => list[i]!
  }
  return { proxy, c, keyOf }
}

async function proxyStats (c: RawClient): Promise<Record<string, string>> {
  c.write('stats proxy\r\n')
  const out: Record<string, string> = {}
  for (const l of (await c.until('END\r\n')).split('\r\n')) {
    const m = /^STAT (\S+) (.*)$/.exec(l)
    if (m !== null) out[m[1]!] = m[2]!
  }
  return out
}

async function fill (s: MemringServer | Peer, keys: string[]): Promise<void> {
  const r = await exchange(s.port, keys.map((k) => `set ${k} 0 0 ${k.length}\r\n${k}\r\n`).join(''))
  if (r.toString() !== 'STORED\r\n'.repeat(keys.length)) throw new Error(`fill: ${r.toString()}`)
}

/** A shard s1 whose master is a scripted peer and whose replica is a real server holding the keys; s2 a real master. */
async function badMaster (t: Test, readFrom: 'any' | 'master' = 'any') {
  const bad = await startScriptedBackend(t)
  const replica = await startServer(t)
  const other = await startServer(t)
  const p = await proxyOn(t, topo(rec(bad, 's1', 'master', 0), rec(replica, 's1', 'replica', 0), rec(other, 's2', 'master', 0)), readFrom)
  const k1 = p.keyOf('s1')
  const k2 = p.keyOf('s2')
  await fill(replica, Array.from({ length: 32 }, (_, i) => k1(i)))
  await fill(other, Array.from({ length: 32 }, (_, i) => k2(i)))
  if (readFrom === 'any') {
    t.same(p.proxy.router.route(p.proxy.router.topology.shardIds.indexOf('s1')).readers.map((h) => h.address), [bad.address, `127.0.0.1:${replica.port}`],
      'the scripted master and the real replica are s1\'s copies')
  }
  return { ...p, bad, replica, other, k1, k2 }
}

/** n sequential single-key gets of s1 keys: every one must hit. Returns the misses/errors seen. */
async function readAll (t: Test, c: RawClient, key: (i: number) => string, n: number): Promise<string[]> {
  const wrong: string[] = []
  for (let i = 0; i < n; i++) {
    const k = key(i)
    c.write(`get ${k}\r\n`)
    const head = (await c.lines(1))[0]!
    if (head !== `VALUE ${k} 0 ${k.length}`) { wrong.push(`${k}: ${head}`); continue }
    const rest = await c.lines(2)
    if (rest[0] !== k || rest[1] !== 'END') wrong.push(`${k}: ${rest.join('|')}`)
  }
  t.ok(true, `${n} reads`)
  return wrong
}

const gets = (b: ScriptedBackend): number => b.seen.filter((l) => l.startsWith('get ')).length

for (const [name, misbehave] of [
  ['hangs', (b: ScriptedBackend) => b.hang()],
  ['resets every connection', (b: ScriptedBackend) => b.closeAfter(0)],
  ['refuses connections', (b: ScriptedBackend) => b.refuse()],
] as const) {
  t.test(`a read whose copy ${name} is answered by another copy`, async (t) => {
    const { c, bad, k1, proxy } = await badMaster(t)
    misbehave(bad)
    const wrong = await readAll(t, c, k1, 12)
    t.same(wrong, [], 'no error and no false miss')
    const ps = await proxyStats(c)
    const retries = Number(ps.proxy_read_retries)
    t.ok(retries >= 1, `reads were retried (${retries})`)
    if (name !== 'refuses connections') {
      // Every get the bad copy received failed there and went on to the replica.
      t.ok(gets(bad) >= 1, `the misbehaving copy was tried (${gets(bad)} gets)`)
      t.equal(retries, gets(bad), 'one retry per read the bad copy received')
    }
    t.equal(ps.proxy_failed_requests, '0', 'no request failed')
    // The bad copy ends up marked down (TKO): reads stop trying it first.
    t.ok(proxy.router.pool.hosts.get(bad.address)!.down, 'the bad copy is marked down')
    t.notOk(c.closed)
  })
}

t.test('multi-gets retry per shard part; binary get and mg retry too', async (t) => {
  const { c, bad, k1, k2 } = await badMaster(t)
  bad.hang()
  // Up to the TKO threshold the s1 part may land on the hanging master; every reply is whole.
  for (let r = 0; r < 6; r++) {
    const keys = [k1(r), k2(r), k1(r + 10), k2(r + 10)]
    c.write(`get ${keys.join(' ')}\r\n`)
    t.same(await c.lines(9), [...keys.flatMap((k) => [`VALUE ${k} 0 ${k.length}`, k]), 'END'], `multi-get ${r}: every key hits`)
  }
  t.ok(gets(bad) >= 1, 'an s1 part was sent to the hanging master and retried')
  t.equal((await proxyStats(c)).proxy_failed_requests, '0')
})

t.test('mg reads retry; quiet mg too', async (t) => {
  const { c, bad, k1 } = await badMaster(t)
  bad.hang()
  for (let r = 0; r < 4; r++) {
    c.write(`mg ${k1(r)} v\r\nmg ${k1(r + 10)} v q\r\nmn\r\n`)
    t.same(await c.lines(5), [`VA ${k1(r).length}`, k1(r), `VA ${k1(r + 10).length}`, k1(r + 10), 'MN'], 'mg and quiet mg served')
  }
  t.ok(Number((await proxyStats(c)).proxy_read_retries) >= 1, 'retried')
})

t.test('binary get/getk retry', async (t) => {
  const { bad, k1, proxy } = await badMaster(t)
  bad.hang()
  const bc = await rawClient(t, proxy.port)
  for (let r = 0; r < 4; r++) {
    const k = Buffer.from(k1(r))
    const pkt = Buffer.alloc(24 + k.length)
    pkt[0] = 0x80; pkt[1] = r % 2 === 0 ? 0x0c : 0x00 // getk, get
    pkt.writeUInt16BE(k.length, 2)
    pkt.writeUInt32BE(k.length, 8)
    pkt.writeUInt32BE(77 + r, 12)
    k.copy(pkt, 24)
    bc.write(pkt)
    const h = await bc.bytes(24)
    const body = await bc.bytes(h.readUInt32BE(8))
    t.equal(h.readUInt16BE(6), 0, 'success')
    t.equal(h.readUInt32BE(12), 77 + r, 'opaque kept')
    t.equal(body.subarray(4 + h.readUInt16BE(2)).toString(), k.toString(), 'the value, from the replica')
  }
  const c = await rawClient(t, proxy.port)
  const ps = await proxyStats(c)
  t.ok(Number(ps.proxy_read_retries) >= 1, `retried (${ps.proxy_read_retries})`)
  t.equal(ps.proxy_failed_requests, '0')
})

t.test('writes (and touching reads) go to the writer only and are never retried', async (t) => {
  const { c, bad, k1, replica } = await badMaster(t)
  const before = await stats(replica.port)
  bad.hang()
  c.write(`set ${k1(0)} 0 0 1\r\nx\r\n`)
  t.same(await c.lines(1), ['SERVER_ERROR backend timeout'])
  c.write(`mg ${k1(1)} v T30\r\n`)
  t.same(await c.lines(1), ['EN'], 'mg T failed on the writer: a miss')
  c.write(`gat 30 ${k1(2)}\r\n`)
  t.same(await c.lines(1), ['END'], 'gat failed on the writer: a miss')
  const r = await stats(replica.port)
  t.same(bad.seen.map((l) => l.split(' ')[0]), ['set', 'mg', 'gat'], 'the writer received all three, once each')
  t.equal(r.cmd_set, before.cmd_set, 'the replica got no set')
  t.equal(r.cmd_touch, before.cmd_touch, 'nor a touch (mg T, gat)')
  t.equal(r.cmd_get, before.cmd_get, 'nor the touching reads as reads')
  t.equal((await proxyStats(c)).proxy_read_retries, '0')
})

t.test('--read-from master: reads never go to a replica, so a failed master is a miss', async (t) => {
  const { c, bad, k1, replica, proxy } = await badMaster(t, 'master')
  t.same(proxy.router.route(proxy.router.topology.shardIds.indexOf('s1')).readers.map((h) => h.address), [bad.address])
  bad.reply(['END'])
  const wrong = await readAll(t, c, k1, 8)
  t.equal(wrong.length, 8, 'the master (empty) answers every read')
  bad.hang()
  c.write(`get ${k1(0)}\r\n`)
  t.same(await c.lines(1), ['END'], 'hanging master: a miss after the timeout, no retry')
  t.equal((await stats(replica.port)).cmd_get, '0', 'the replica was never read (fill() only set)')
  const ps = await proxyStats(c)
  t.equal(ps.proxy_replica_reads, '0')
  t.equal(ps.read_from, 'master')
})

t.test('equal loads take turns: sequential reads alternate over the copies', async (t) => {
  const a = await startServer(t)
  const b = await startServer(t)
  const other = await startServer(t)
  const { c, keyOf } = await proxyOn(t, topo(rec(a, 's1', 'master', 0), rec(b, 's1', 'replica', 0), rec(other, 's2', 'master', 0)))
  const k = keyOf('s1')
  const keys = Array.from({ length: 40 }, (_, i) => k(i))
  await fill(a, keys)
  await fill(b, keys)
  t.same(await readAll(t, c, k, 40), [])
  const [sa, sb] = [await stats(a.port), await stats(b.port)]
  t.equal(Number(sa.cmd_get) + Number(sb.cmd_get), 40)
  t.equal(sa.cmd_get, '20', 'master: half')
  t.equal(sb.cmd_get, '20', 'replica: half')
  t.equal((await proxyStats(c)).proxy_replica_reads, '20')
})

t.test('least outstanding requests: a copy holding a read gets no more until it answers', async (t) => {
  const held = await startScriptedBackend(t)
  const replica = await startServer(t)
  const other = await startServer(t)
  // A long timeout: the held read must stay in flight while the others are served.
  const { c, keyOf, proxy } = await proxyOn(t, topo(rec(held, 's1', 'master', 0), rec(replica, 's1', 'replica', 0), rec(other, 's2', 'master', 0)), 'any', 30_000)
  const k = keyOf('s1')
  await fill(replica, Array.from({ length: 12 }, (_, i) => k(i)))
  held.hold(['END'])
  const first = await rawClient(t, proxy.port)
  first.write(`get ${k(0)}\r\n`) // the first pick of the route: readers[0], the held master
  const before = Number((await stats(replica.port)).cmd_get)
  let n = 0
  while (gets(held) === 0) { // the held get has reached the master (polled through real round trips)
    t.same(await readAll(t, c, (i) => k(1 + i), 1), [])
    if (++n > 50) break
  }
  t.equal(gets(held), 1, 'the master holds one read')
  t.same(await readAll(t, c, (i) => k(1 + (i % 11)), 10), [], 'ten more reads all hit')
  t.equal(Number((await stats(replica.port)).cmd_get) - before, n + 10, 'all of them went to the replica (round-robin would have sent half to the master)')
  t.equal(gets(held), 1, 'the master got nothing more')
  held.release()
  t.same(await first.lines(1), ['END'], 'the held read is answered by the master it was on')
})

t.test('epoch fencing: a master older than an epoch seen for its shard gets no writes', async (t) => {
  const a = await startServer(t)
  const stale = await startServer(t)
  const next = await startServer(t)
  const other = await startServer(t)
  const { c, proxy, keyOf } = await proxyOn(t, topo(rec(a, 's1', 'master', 2), rec(other, 's2', 'master', 0)))
  const r = proxy.router
  const k = keyOf('s1')
  const k2 = keyOf('s2')
  const s1 = r.topology.shardIds.indexOf('s1')
  const builds = r.ringBuilds
  c.write(`set ${k(0)} 0 0 1\r\na\r\n`)
  t.same(await c.lines(1), ['STORED'], 'epoch 2 master takes writes')
  t.equal(r.seenEpoch('s1'), 2)

  // The epoch-2 master is gone; a deposed epoch-1 master's record is still there.
  r.update(topo(rec(stale, 's1', 'master', 1), rec(other, 's2', 'master', 0)))
  t.equal(r.topology.shards.get('s1')!.primary!.address, `127.0.0.1:${stale.port}`, 'the topology alone would pick it')
  t.equal(r.route(s1).writer, null, 'the router does not')
  c.write(`set ${k(1)} 0 0 1\r\nb\r\ndelete ${k(0)}\r\nincr ${k(2)} 1\r\nms ${k(3)} 1\r\nc\r\nmg ${k(4)} v N30\r\nset ${k2(0)} 0 0 1\r\nd\r\n`)
  t.same(await c.lines(6), [
    'SERVER_ERROR no live master for this key', 'SERVER_ERROR no live master for this key', 'SERVER_ERROR no live master for this key',
    'SERVER_ERROR no live master for this key', 'EN', 'STORED',
  ], 's1 writes refused; s2 (epoch 0, never fenced) stores')
  const pkt = Buffer.alloc(24 + 8 + k(5).length + 1)
  pkt[0] = 0x80; pkt[1] = 0x01; pkt[4] = 8 // set, 8 bytes of extras
  pkt.writeUInt16BE(k(5).length, 2)
  pkt.writeUInt32BE(8 + k(5).length + 1, 8)
  pkt.write(k(5), 32, 'latin1')
  pkt.write('v', 32 + k(5).length, 'latin1')
  const bc = await rawClient(t, proxy.port)
  bc.write(pkt)
  const h = await bc.bytes(24)
  t.equal(h.readUInt16BE(6), 0x0086, 'binary set: temporary failure')
  t.equal((await bc.bytes(h.readUInt32BE(8))).toString(), 'no live master for this key')
  c.write('flush_all\r\n')
  t.same(await c.lines(1), ['SERVER_ERROR flush_all reached 1 of 2 shards'], 'flush_all does not reach the fenced master')
  const st = await stats(stale.port)
  t.same([st.cmd_set, st.cmd_flush, st.delete_misses, st.incr_misses, st.cmd_touch], ['0', '0', '0', '0', '0'], 'the fenced master received no write at all')
  let ps = await proxyStats(c)
  t.equal(ps.topology_fenced_shards, '1')
  t.equal(ps.proxy_fenced_writes, '6', 'set, delete, incr, ms, mg N and the binary set')

  // A replica following a newer master (epoch 3) the proxy has not seen yet raises the bar.
  const rep = await startServer(t)
  r.update(topo(rec(stale, 's1', 'master', 1), rec(rep, 's1', 'replica', 3), rec(other, 's2', 'master', 0)))
  t.equal(r.seenEpoch('s1'), 3)
  t.equal(r.route(s1).writer, null)
  t.same(r.route(s1).readers.map((x) => x.address), [`127.0.0.1:${rep.port}`, `127.0.0.1:${stale.port}`], 'reads: the epoch-3 replica first, the stale master last')

  // The new master appears: writes go there, no key moved.
  r.update(topo(rec(next, 's1', 'master', 3), rec(stale, 's1', 'master', 1), rec(other, 's2', 'master', 0)))
  c.write(`set ${k(1)} 0 0 1\r\nn\r\n`)
  t.same(await c.lines(1), ['STORED'])
  t.equal((await stats(next.port)).cmd_set, '1', 'on the epoch-3 master')
  t.equal((await stats(stale.port)).cmd_set, '0')
  t.equal(r.shardIndexOf(Buffer.from(k(1)), 0, k(1).length), s1, 'same shard')
  t.equal(r.ringBuilds, builds, 'the ring was not rebuilt: a failover moves no key')
  ps = await proxyStats(c)
  t.equal(ps.topology_fenced_shards, '0')

  // Only the stale record is left again: still fenced (seen epochs never go down).
  r.update(topo(rec(stale, 's1', 'master', 1), rec(other, 's2', 'master', 0)))
  c.write(`set ${k(1)} 0 0 1\r\nz\r\n`)
  t.same(await c.lines(1), ['SERVER_ERROR no live master for this key'])
})

t.test('reads prefer copies at the seen epoch; an older copy answers only when they fail', async (t) => {
  const fresh = await startScriptedBackend(t)
  const old = await startServer(t)
  const other = await startServer(t)
  const { c, keyOf } = await proxyOn(t, topo(rec(fresh, 's1', 'master', 4), rec(old, 's1', 'replica', 3), rec(other, 's2', 'master', 0)))
  const k = keyOf('s1')
  await fill(old, [k(0), k(1), k(2), k(3)])
  fresh.reply(['END'])
  for (let i = 0; i < 4; i++) { c.write(`get ${k(i)}\r\n`); t.same(await c.lines(1), ['END'], 'the fresh master answers (a miss)') }
  t.equal((await stats(old.port)).cmd_get, '0', 'the older copy was not read while the fresh one was up')
  fresh.refuse()
  t.same(await readAll(t, c, k, 4), [], 'fresh copy refused: the older copy answers')
})
