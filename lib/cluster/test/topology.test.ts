// Topology snapshots (pure): grouping by shard, role and DC, primary choice,
// fingerprints, immutability, the static --servers form.
import t from 'tap'
import type { HostRecord } from '../layout.js'
import { Topology } from '../membership/topology.js'

function host (port: number, shard: string, role: HostRecord['role'] = 'master', dc = 'a', epoch = 0): [string, HostRecord] {
  return [`127.0.0.1:${port}`, { host: '127.0.0.1', port, dc, shard, role, epoch, instance: 'i', pid: 1, startedAt: 0, updatedAt: 0, load: { x: port } }]
}

t.test('hosts are grouped per shard by role and DC, shards sorted numerically', async (t) => {
  const topo = Topology.build([['10', { homeDc: 'a', weight: 2 }], ['2', { homeDc: null, weight: 1 }]], [
    host(1, '2'), host(2, '2', 'replica', 'b'), host(3, '10', 'follower', 'b'), host(4, '10'), host(5, '3'),
  ], 7)
  t.same(topo.shardIds, ['2', '3', '10'], 'a host can bring its shard; numeric-aware order')
  t.equal(topo.version, 7)
  const s2 = topo.shards.get('2')!
  t.equal(s2.primary?.address, '127.0.0.1:1')
  t.same(s2.replicas.map((h) => h.port), [2])
  t.same(s2.byDc.get('b')!.map((h) => h.port), [2])
  const s10 = topo.shards.get('10')!
  t.equal(s10.weight, 2)
  t.equal(s10.homeDc, 'a')
  t.same(s10.followers.map((h) => h.port), [3])
  t.same(s10.hosts.map((h) => h.port), [3, 4], 'hosts sorted by node id')
  t.equal(topo.hosts.size, 5)
})

t.test('a shard with no live host stays in the list, with no primary', async (t) => {
  const topo = Topology.build([['0', { homeDc: null, weight: 1 }], ['1', { homeDc: null, weight: 1 }]], [host(1, '0')], 1)
  t.same(topo.shardIds, ['0', '1'])
  t.equal(topo.shards.get('1')!.primary, null)
  t.same(topo.shards.get('1')!.hosts, [])
})

t.test('the primary is the master with the highest epoch; replicas are never primary', async (t) => {
  const topo = Topology.build([], [host(1, 's', 'master', 'a', 1), host(2, 's', 'master', 'a', 3), host(3, 's', 'replica', 'a', 9)], 1)
  t.equal(topo.shards.get('s')!.primary?.port, 2)
  t.equal(Topology.build([], [host(3, 's', 'replica')], 1).shards.get('s')!.primary, null)
})

t.test('fingerprints ignore load and versions but see every routing change', async (t) => {
  const a = Topology.build([], [host(1, 's'), host(2, 't')], 1)
  const loadOnly = Topology.build([], [host(1, 's'), [host(2, 't')[0], { ...host(2, 't')[1], load: { x: 99 } }]], 2)
  t.equal(a.fingerprint, loadOnly.fingerprint)
  t.not(a.fingerprint, Topology.build([], [host(1, 's')], 3).fingerprint, 'host gone')
  t.not(a.fingerprint, Topology.build([], [host(1, 's'), host(2, 't', 'replica')], 3).fingerprint, 'role changed')
  t.not(a.fingerprint, Topology.build([['s', { homeDc: null, weight: 5 }]], [host(1, 's'), host(2, 't')], 3).fingerprint, 'weight changed')
  t.same(Topology.build([], [host(1, 's'), host(3, 'u')], 2).diff(a), { added: ['127.0.0.1:3'], removed: ['127.0.0.1:2'] })
})

t.test('snapshots are frozen', async (t) => {
  const topo = Topology.build([], [host(1, 's')], 1)
  t.ok(Object.isFrozen(topo))
  t.ok(Object.isFrozen(topo.shardIds))
  t.ok(Object.isFrozen(topo.shards.get('s')!.hosts))
  t.ok(Object.isFrozen(topo.shards.get('s')!.primary))
  t.throws(() => { (topo.shardIds as string[]).push('x') })
})

t.test('fromServers makes one shard per server, named by its address', async (t) => {
  const topo = Topology.fromServers([{ host: '127.0.0.1', port: 11212 }, { host: '127.0.0.1', port: 11211 }])
  t.same(topo.shardIds, ['127.0.0.1:11211', '127.0.0.1:11212'])
  t.equal(topo.shards.get('127.0.0.1:11212')!.primary?.port, 11212)
  t.equal(Topology.empty.shardIds.length, 0)
})
