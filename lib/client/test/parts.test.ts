/**
 * The client's small parts: the ring-buffer FIFO, the backoff policy, server lists, the
 * epoch fence, the read balancer, and the shard route table against the proxy's ring.
 */
import t from 'tap'
import { Fifo, exponentialBackoff, noRetry, parseServerList, StaticServers, serverId } from '../index.js'
import type { ServerAddress } from '../index.js'
import { shardsOf } from '../index.js'
import { EpochFence } from '../epoch-fence.js'
import { pickCopy } from '../read-choice.js'
import { RouteTable, tableOfShards } from '../route-table.js'
import type { Host } from '../host.js'
import type { RouterOptions } from '../../ring/index.js'
import { Topology, type HostRecord, type ShardRecord } from '../../cluster/index.js'
import { shardRing } from '../../proxy/router.js'

t.test('Fifo keeps order across growth and wrap-around', async (t) => {
  const q = new Fifo<number>(4)
  const model: number[] = []
  let next = 0
  let bad = 0
  // interleave pushes and shifts so head wraps around many times while capacity grows
  for (let round = 0; round < 2000; round++) {
    const pushes = (round * 7) % 5
    for (let i = 0; i < pushes; i++) { q.push(next); model.push(next); next++ }
    const shifts = (round * 3) % 4
    for (let i = 0; i < shifts; i++) if (q.shift() !== model.shift()) bad++
    if (q.size !== model.length || q.peek() !== model[0]) bad++
  }
  t.equal(bad, 0, 'same sequence as an array model')
  t.same(q.drain(), model)
  t.equal(q.size, 0)
  t.equal(q.shift(), undefined)
  t.equal(q.peek(), undefined)
})

t.test('exponential backoff doubles, caps, jitters within bounds and gives up', async (t) => {
  const s = exponentialBackoff({ baseMs: 10, maxMs: 100, maxAttempts: 6, jitter: 0 })
  t.same([1, 2, 3, 4, 5, 6, 7].map(s), [10, 20, 40, 80, 100, 100, null])
  const j = exponentialBackoff({ baseMs: 100, jitter: 0.2, random: () => 0.999 })
  t.ok((j(1) ?? 0) <= 120 && (j(1) ?? 0) >= 119)
  const j0 = exponentialBackoff({ baseMs: 100, jitter: 0.2, random: () => 0 })
  t.equal(j0(1), 80)
  t.equal(noRetry(1), null)
})

t.test('server lists parse host:port[:weight][ name], IPv6 in brackets', async (t) => {
  t.same(parseServerList('127.0.0.1:11211, cache-b:11212:3 ,[::1]:11213:2 beta'), [
    { host: '127.0.0.1', port: 11211, weight: 1 },
    { host: 'cache-b', port: 11212, weight: 3 },
    { host: '::1', port: 11213, weight: 2, name: 'beta' },
  ])
  t.equal(serverId({ host: '::1', port: 11211 }), '[::1]:11211')
  for (const bad of ['', 'host', 'host:0', 'host:70000', 'host:1:0', 'a:1,b']) {
    t.throws(() => parseServerList(bad), RangeError, JSON.stringify(bad))
  }
})

t.test('StaticServers tells subscribers about a new list, and stops after unsubscribe', async (t) => {
  const s = new StaticServers('a:1')
  const seen: Array<readonly ServerAddress[]> = []
  const off = s.subscribe((l) => seen.push(l))
  const first = s.current()
  s.set('a:1,b:2')
  t.equal(seen.length, 1)
  t.not(seen[0], first, 'a new snapshot, not a mutation')
  t.same(first, [{ host: 'a', port: 1, weight: 1 }], 'the old snapshot is unchanged')
  off()
  s.set('c:3')
  t.equal(seen.length, 1)
  t.throws(() => { (s.current() as ServerAddress[]).push({ host: 'x', port: 1 }) }, TypeError, 'snapshots are frozen')
})

t.test('EpochFence: the highest epoch per shard admits; an older one never again', async (t) => {
  const f = new EpochFence()
  t.equal(f.admit('s1', 0), true, 'first seen')
  t.equal(f.admit('s1', 2), true, 'newer')
  t.equal(f.admit('s1', 2), true, 'same again')
  t.equal(f.admit('s1', 1), false, 'older: deposed')
  t.equal(f.highest('s1'), 2)
  t.equal(f.admit('s2', 1), true, 'per shard')
})

t.test('pickCopy: fewest outstanding, down hosts last, tried ones skipped, ties spread', async (t) => {
  // Only `down` and `pending` are read: plain objects stand in for Hosts here.
  const h = (id: string, pending: number, down = false): Host => ({ id, pending, down }) as unknown as Host
  const a = h('a', 3); const b = h('b', 1); const c = h('c', 0, true)
  t.equal(pickCopy([a, b, c], null), b, 'least outstanding among hosts that are up')
  t.equal(pickCopy([a, b, c], new Set([b])), a, 'a tried copy is skipped')
  t.equal(pickCopy([a, b, c], new Set([a, b])), c, 'a down copy when nothing else is left')
  t.equal(pickCopy([a, b, c], new Set([a, b, c])), null)
  const idle = [h('x', 0), h('y', 0), h('z', 0)]
  const count = new Map<unknown, number>()
  let seed = 1
  const random = (): number => { seed = (seed * 16807) % 2147483647; return seed / 2147483647 }
  for (let i = 0; i < 3000; i++) { const p = pickCopy(idle, null, random); count.set(p, (count.get(p) ?? 0) + 1) }
  t.ok(idle.every((x) => (count.get(x) ?? 0) > 800), `idle copies share ties: ${idle.map((x) => count.get(x)).join('/')}`)
})

t.test('tableOfShards places keys as memring-proxy does, and keeps the ring across a failover', async (t) => {
  const rec = (shard: string, port: number, role: 'master' | 'replica', epoch: number): [string, HostRecord] => [`127.0.0.1:${port}`, {
    host: '127.0.0.1', port, dc: '', shard, role, epoch, instance: '', pid: 0, startedAt: 0, updatedAt: 0, load: {},
    repl: { master: '', historyId: '', seqno: 1, lagMs: 0, lagSeqno: 0, syncInProgress: false, replicas: 0 },
  }]
  const shardRecs: Array<[string, ShardRecord]> = [['a', { homeDc: null, weight: 1 }], ['b', { homeDc: null, weight: 3 }], ['c10', { homeDc: null, weight: 2 }], ['c2', { homeDc: null, weight: 1 }]]
  const topo = Topology.build(shardRecs, [rec('a', 1, 'master', 0), rec('b', 2, 'master', 1), rec('b', 3, 'replica', 1), rec('c10', 4, 'master', 0)], 1)
  const hosts = new Map<string, Host>()
  const hostOf = (s: ServerAddress): Host => {
    const id = serverId(s)
    if (!hosts.has(id)) hosts.set(id, h2(id))
    return hosts.get(id)!
  }
  const h2 = (id: string): Host => ({ id, pending: 0, down: false }) as unknown as Host
  const table = tableOfShards(shardsOf(topo), RouteTable.empty, new EpochFence(), hostOf)
  const proxyRing = shardRing(topo.shardIds.map((id) => topo.shards.get(id)!))!
  let differ = 0
  for (let i = 0; i < 20_000; i++) {
    const k = Buffer.from(`key:${i}`)
    if (table.slotOf(k)!.id !== topo.shardIds[proxyRing.serverOfBytes(k, 0, k.length)]) differ++
  }
  t.equal(differ, 0, '20,000 keys: same shard as lib/proxy/router.ts shardRing')
  // every --hash method: the client's table and the proxy's ring agree, and the methods differ
  const placements: RouterOptions[] = [
    { method: 'ketama-twemproxy', keyHash: 'murmur', hashTag: '{}' }, { method: 'ketama-twemproxy' }, { method: 'jump' },
    { method: 'ketama', hashTag: '{}' },
  ]
  const unweighted = Topology.build(shardRecs.map(([id]) => [id, { homeDc: null, weight: 1 }] as [string, ShardRecord]), [rec('a', 1, 'master', 0)], 1)
  for (const [p, tp] of [...placements.map((p) => [p, topo] as const), [{ method: 'ketama-unweighted', keyHash: 'md5' } as RouterOptions, unweighted] as const]) {
    const tab = tableOfShards(shardsOf(tp), RouteTable.empty, new EpochFence(), hostOf, p)
    const ring = shardRing(tp.shardIds.map((id) => tp.shards.get(id)!), p)!
    let diff = 0
    let vsKetama = 0
    for (let i = 0; i < 20_000; i++) {
      const k = Buffer.from(`key:{${i % 1000}}:${i}`)
      if (tab.slotOf(k)!.id !== tp.shardIds[ring.serverOfBytes(k, 0, k.length)]) diff++
      if (tab.slotOf(k)!.id !== table.slotOf(k)!.id) vsKetama++
    }
    t.equal(diff, 0, `${JSON.stringify(p)}: 20,000 keys on the same shard as the proxy's ring`)
    t.ok(vsKetama > 1000, `${JSON.stringify(p)}: places differently from the default ketama (${vsKetama} of 20,000 differ)`)
  }
  t.same(table.slots.map((s) => [s.id, s.writer?.id ?? null, s.copies.map((c) => c.id)]), [
    ['a', '127.0.0.1:1', ['127.0.0.1:1']], ['b', '127.0.0.1:2', ['127.0.0.1:2', '127.0.0.1:3']],
    ['c2', null, []], ['c10', '127.0.0.1:4', ['127.0.0.1:4']],
  ], 'shard ids in numeric-aware order; writer and copies per shard')
  // b's replica is promoted with a new epoch: writes move, the ring (and every key) stays.
  const after = Topology.build(shardRecs, [rec('a', 1, 'master', 0), rec('b', 3, 'master', 2), rec('c10', 4, 'master', 0)], 2)
  const next = tableOfShards(shardsOf(after), table, new EpochFence(), hostOf)
  t.equal(next.ring, table.ring, 'the same ring object: no key moved')
  t.equal(next.slots[1].writer?.id, '127.0.0.1:3')
})
