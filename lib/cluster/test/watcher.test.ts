// TopologyWatcher against a real ZooKeeper: snapshots follow registrations,
// bursts are debounced, watches are re-armed, ZooKeeper loss keeps the last
// snapshot, and a new session re-reads everything.
import t from 'tap'
import { Registry } from '../registry.js'
import { TopologyWatcher } from '../membership/watcher.js'
import type { Topology } from '../membership/topology.js'
import { encodeRecord, nodePath, shardsPath } from '../layout.js'
import { ZkSession, expireSession } from '../zk.js'
import { startZooKeeper, zooKeeperAvailable, type Teardown } from '../../testing/zookeeper.js'
import { startRelay } from '../../testing/tcp-relay.js'
import { waitFor } from '../../testing/wait-for.js'

const SESSION_MS = 1500
let nextPort = 30000

t.test('with a real ZooKeeper', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const admin = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 })
  t.teardown(() => admin.close())
  await admin.start()

  function watcher (t: Teardown, cluster: string, connect = zk.connectString): TopologyWatcher {
    const w = new TopologyWatcher({ zk: connect, cluster, sessionTimeoutMs: SESSION_MS, debounceMs: 50, maxDelayMs: 300 })
    t.teardown(() => w.close())
    return w
  }
  async function register (t: Teardown, cluster: string, shard: string, extra: { role?: 'master' | 'replica', dc?: string } = {}): Promise<Registry> {
    const r = new Registry({ zk: zk.connectString, cluster, shard, advertise: { host: '127.0.0.1', port: nextPort++ }, sessionTimeoutMs: 4000, refreshMs: 60_000, ...extra })
    t.teardown(() => r.close())
    await r.start()
    return r
  }

  t.test('snapshots follow hosts joining and leaving; a shard outlives its hosts', async (t) => {
    const w = watcher(t, 'join')
    const first = await w.start()
    t.same(first.shardIds, [], 'no cluster yet: empty snapshot')
    const changes: Topology[] = []
    w.on('change', (next: Topology) => changes.push(next))
    const a = await register(t, 'join', '0')
    const b = await register(t, 'join', '1', { dc: 'east' })
    const c = await register(t, 'join', '1', { role: 'replica', dc: 'west' })
    await waitFor(() => w.current.hosts.size === 3, { what: 'three hosts' })
    const topo = w.current
    t.same(topo.shardIds, ['0', '1'])
    t.equal(topo.shards.get('0')!.primary?.nodeId, a.nodeId)
    t.equal(topo.shards.get('1')!.primary?.nodeId, b.nodeId)
    t.same(topo.shards.get('1')!.byDc.get('west')!.map((h) => h.nodeId), [c.nodeId])
    // How many snapshots 3 joins make depends on how ZooKeeper's replies fall against the
    // debounce; what must hold is the order: versions increase and the last change is
    // the current topology.
    t.ok(changes.length >= 1, `${changes.length} change events for 3 joins`)
    t.ok(changes.every((s, i) => i === 0 || s.version > changes[i - 1]!.version), 'versions increase')
    t.equal(changes.at(-1), w.current, 'the last change event carried the current topology')
    await b.close()
    await waitFor(() => !w.current.hosts.has(b.nodeId), { what: 'b gone' })
    t.equal(w.current.shards.get('1')!.primary, null, 'shard 1 has no master now')
    t.same(w.current.shardIds, ['0', '1'], 'but it is still a shard')
  })

  t.test('a burst of 30 joins makes few snapshots', async (t) => {
    // A debounce far above a loopback round trip (30 parallel creates take milliseconds):
    // a second snapshot would need the burst to stall for DEBOUNCE_MS. The bound below is
    // derived from that configuration, not from how fast this machine is.
    const DEBOUNCE_MS = 1000
    const w = new TopologyWatcher({ zk: zk.connectString, cluster: 'burst', sessionTimeoutMs: SESSION_MS, debounceMs: DEBOUNCE_MS, maxDelayMs: DEBOUNCE_MS * 5 })
    t.teardown(() => w.close())
    await w.start()
    let changes = 0
    w.on('change', () => changes++)
    await admin.ensurePath(`${shardsPath('burst')}`)
    await admin.ensurePath(nodePath('burst', 'x').replace(/\/x$/, ''))
    await Promise.all(Array.from({ length: 30 }, (_, i) => admin.create(nodePath('burst', `127.0.0.1:${40000 + i}`),
      encodeRecord({ host: '127.0.0.1', port: 40000 + i, dc: '', shard: `s${i}`, role: 'master', epoch: 0, instance: '', pid: 0, startedAt: 0, updatedAt: 0, load: {} }),
      'ephemeral')))
    await waitFor(() => w.current.hosts.size === 30, { timeoutMs: DEBOUNCE_MS * 10, what: '30 hosts' })
    t.ok(changes <= 2, `${changes} snapshots for a burst of 30 (debounce ${DEBOUNCE_MS} ms)`)
    t.ok(w.counters.reads > 30 + changes, `the watcher read ${w.counters.reads} times (30 records and the lists) for ${changes} snapshots`)
    t.equal(w.current.shardIds.at(-1), 's29')
  })

  t.test('load refreshes swap the snapshot without a change event; a role change is a change', async (t) => {
    const w = watcher(t, 'load')
    const r = await register(t, 'load', '0')
    await w.start()
    await waitFor(() => w.current.hosts.size === 1, { what: 'host' })
    let changes = 0
    let updates = 0
    w.on('change', () => changes++)
    w.on('update', () => updates++)
    const rec = JSON.parse((await admin.getData(r.path))!.data.toString())
    await admin.setData(r.path, encodeRecord({ ...rec, load: { curr_connections: 42 } }))
    await waitFor(() => w.current.hosts.get(r.nodeId)!.load.curr_connections === 42, { what: 'new load seen' })
    t.equal(changes, 0)
    t.ok(updates >= 1)
    await admin.setData(r.path, encodeRecord({ ...rec, role: 'replica' }))
    await waitFor(() => changes === 1, { what: 'role change' })
    t.equal(w.current.shards.get('0')!.primary, null)
  })

  t.test('ZooKeeper link frozen: the last snapshot stays, marked stale; a new session re-reads and re-arms', async (t) => {
    const relay = await startRelay(t, zk.port)
    const w = watcher(t, 'frozen', relay.address)
    await register(t, 'frozen', '0')
    await w.start()
    await waitFor(() => w.current.hosts.size === 1, { what: 'one host' })
    const before = w.current
    relay.freeze()
    relay.blockNew(true)
    await waitFor(() => w.stale, { timeoutMs: SESSION_MS * 2, what: 'stale' })
    t.equal(w.current, before, 'same snapshot object while ZooKeeper is away')
    const r2 = await register(t, 'frozen', '1')
    relay.blockNew(false)
    await waitFor(() => !w.stale && w.current.hosts.has(r2.nodeId), { timeoutMs: SESSION_MS * 4, what: 'fresh with the new host' })
    // Watches were re-armed on the new session: later changes are still seen.
    const r3 = await register(t, 'frozen', '2')
    await waitFor(() => w.current.hosts.has(r3.nodeId), { what: 'host registered after recovery' })
    t.same(w.current.shardIds, ['0', '1', '2'])
  })

  t.test('after its session expires the watcher still sees changes', async (t) => {
    const w = watcher(t, 'exp')
    await w.start()
    const first = w.session.sessionId
    await expireSession(zk.connectString, w.session.credentials!)
    await waitFor(() => w.session.sessionId !== first && w.session.healthy, { timeoutMs: SESSION_MS * 3, what: 'new session' })
    const r = await register(t, 'exp', '0')
    await waitFor(() => w.current.hosts.has(r.nodeId), { what: 'host seen on the new session' })
    t.pass('watches re-armed')
  })

  t.test('a ZooKeeper restart keeps routing on the last snapshot, then catches up', async (t) => {
    const w = watcher(t, 'restart')
    const r = await register(t, 'restart', '0')
    await w.start()
    await waitFor(() => w.current.hosts.has(r.nodeId), { what: 'host' })
    const before = w.current
    await zk.stop()
    await waitFor(() => w.stale, { timeoutMs: 3000, what: 'stale' })
    t.equal(w.current, before)
    t.equal(w.current.shards.get('0')!.primary?.nodeId, r.nodeId, 'still routes to the host')
    await zk.restart()
    await waitFor(() => !w.stale, { timeoutMs: 8000, what: 'fresh again' })
    await r.close()
    await waitFor(() => !w.current.hosts.has(r.nodeId), { timeoutMs: 5000, what: 'removal seen after the restart' })
    t.pass()
  })
})
