// Registry against a real ZooKeeper: registration, the record it writes, bad
// configuration, session expiry, a frozen link, a ZooKeeper restart, deletion
// behind its back, two processes claiming one address, graceful close.
import t from 'tap'
import { ClusterErrorCode } from '../errors.js'
import { decodeHostRecord, nodePath, shardPath } from '../layout.js'
import { Registry, type RegistryOptions } from '../registry.js'
import { ZkSession, expireSession } from '../zk.js'
import { startZooKeeper, freePort, zooKeeperAvailable, type Teardown, type ZooKeeperCluster } from '../../testing/zookeeper.js'
import { startRelay } from '../../testing/tcp-relay.js'
import { waitFor } from '../../testing/wait-for.js'

const SESSION_MS = 1500
let nextPort = 20000

function registry (t: Teardown, opts: Partial<RegistryOptions> & { zk: string }): Registry {
  const r = new Registry({
    cluster: 'c1', shard: 's1', advertise: { host: '127.0.0.1', port: nextPort++ }, dc: 'dc1',
    sessionTimeoutMs: SESSION_MS, refreshMs: 200, ...opts,
  })
  t.teardown(() => r.close())
  return r
}

async function observer (t: Teardown, zk: ZooKeeperCluster): Promise<ZkSession> {
  const s = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 })
  t.teardown(() => s.close())
  await s.start()
  return s
}

t.test('configuration errors are clear and immediate', async (t) => {
  t.throws(() => new Registry({ zk: 'localhost', cluster: 'c', shard: 's', advertise: { host: '127.0.0.1', port: 1 } }),
    { code: ClusterErrorCode.BadConnectString, message: /"localhost" is not HOST:PORT/ })
  t.throws(() => new Registry({ zk: '127.0.0.1:2181', cluster: 'a/b', shard: 's', advertise: { host: '127.0.0.1', port: 1 } }),
    { code: ClusterErrorCode.BadConfig, message: /--cluster "a\/b"/ })
  t.throws(() => new Registry({ zk: '127.0.0.1:2181', cluster: 'c', shard: '..', advertise: { host: '127.0.0.1', port: 1 } }),
    { code: ClusterErrorCode.BadConfig, message: /--shard/ })
  t.throws(() => new Registry({ zk: '127.0.0.1:2181', cluster: 'c', shard: 's', advertise: { host: '127.0.0.1', port: 0 } }),
    { code: ClusterErrorCode.BadConfig, message: /--advertise/ })
  const port = await freePort()
  const r = registry(t, { zk: `127.0.0.1:${port}`, connectTimeoutMs: 500 })
  await t.rejects(r.start(), { code: ClusterErrorCode.Unreachable, message: /no ZooKeeper server answered/ })
  t.equal(r.registered, false)
})

t.test('with a real ZooKeeper', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const obs = await observer(t, zk)

  t.test('start() registers an ephemeral node carrying the host record', async (t) => {
    let calls = 0
    const r = registry(t, { zk: zk.connectString, load: () => ({ curr_connections: 3, calls: ++calls }) })
    await r.start()
    t.ok(r.registered)
    t.equal(r.path, `/memring/c1/nodes/${r.nodeId}`)
    const got = await obs.getData(r.path)
    t.equal(got?.stat.ephemeralOwner, r.session.sessionId, 'ephemeral of the registry session')
    const rec = decodeHostRecord(got!.data)
    t.match(rec, { host: '127.0.0.1', port: Number(r.nodeId.split(':')[1]), dc: 'dc1', shard: 's1', role: 'master', instance: r.instance, pid: process.pid })
    t.equal(rec?.load.curr_connections, 3)
    t.ok(await obs.exists(shardPath('c1', 's1')), 'shard node created (persistent)')
    // Load figures are refreshed at refreshMs.
    const before = rec!.updatedAt
    // The refresh counts once its setData reply is read; the observer can see the new
    // data a moment before that, so wait for the count, then read the node.
    await waitFor(() => r.counters.refreshes >= 1, { what: 'a load refresh' })
    const after = decodeHostRecord((await obs.getData(r.path))!.data)
    t.ok(after!.updatedAt > before, `the refresh rewrote the record (updatedAt ${before} -> ${after!.updatedAt})`)
    t.ok(after!.load.calls > rec!.load.calls, 'with fresh load figures')
  })

  t.test('re-registers after its session expires', async (t) => {
    const r = registry(t, { zk: zk.connectString })
    await r.start()
    const first = r.session.sessionId
    const states: string[] = []
    r.on('unregistered', () => states.push('unregistered'))
    r.on('registered', () => states.push('registered'))
    await expireSession(zk.connectString, r.session.credentials!)
    await waitFor(async () => r.registered && r.session.sessionId !== first, { timeoutMs: SESSION_MS * 4, what: 're-registration' })
    // Joining the session from outside may first bounce the owner's link (same session
    // back), so the sequence is one or more unregistered/registered pairs.
    t.ok(states.length >= 2 && states.length % 2 === 0, `states: ${states.join(',')}`)
    t.ok(states.every((s, i) => s === (i % 2 === 0 ? 'unregistered' : 'registered')), 'alternating, ending registered')
    t.equal((await obs.exists(r.path))?.ephemeralOwner, r.session.sessionId, 'node owned by the new session')
  })

  t.test('a frozen link: stops believing within 2/3 session, ZooKeeper drops the node, then re-registers', async (t) => {
    const relay = await startRelay(t, zk.port)
    const r = registry(t, { zk: relay.address })
    await r.start()
    const first = r.session.sessionId
    // One timeline: the registry giving up its claim, and ZooKeeper deleting its node.
    const seen: string[] = []
    r.on('unregistered', () => seen.push('unregistered'))
    t.ok(await obs.exists(r.path, (ev) => seen.push(`zk:${ev.type}`)), 'node watched')
    const frozenAt = Date.now()
    relay.freeze()
    // Deadlines derived from the session (expiry at 1 session + 1 tick), x3 for load.
    await waitFor(() => !r.registered, { timeoutMs: SESSION_MS * 3, what: 'registered=false' })
    const doubtMs = Date.now() - frozenAt
    // Meanwhile the server expires the frozen session (its node goes) and the
    // watchdog builds a new session over a new connection that registers again.
    await waitFor(() => seen.includes('zk:deleted'), { timeoutMs: SESSION_MS * 3, what: 'ZooKeeper deletes the frozen session\'s node' })
    t.ok(seen.indexOf('unregistered') >= 0 && seen.indexOf('unregistered') < seen.indexOf('zk:deleted'),
      `stopped believing it is registered before ZooKeeper dropped its node: ${seen.join(', ')}`)
    await waitFor(async () => r.registered && (await obs.exists(r.path))?.ephemeralOwner === r.session.sessionId,
      { timeoutMs: SESSION_MS * 4, what: 'registered again' })
    t.not(r.session.sessionId, first)
    t.comment(`frozen -> registered=false ${doubtMs} ms, -> registered again ${Date.now() - frozenAt} ms (session ${SESSION_MS} ms; reported, not gated)`)
  })

  t.test('a node deleted behind its back is registered again', async (t) => {
    const r = registry(t, { zk: zk.connectString })
    await r.start()
    await obs.remove(r.path)
    await waitFor(async () => (await obs.exists(r.path)) !== null && r.registered, { timeoutMs: 3000, what: 'node back' })
    t.equal(r.counters.registrations, 2)
  })

  t.test('a second process at the same address waits until the first one is gone', async (t) => {
    const port = nextPort++
    const a = registry(t, { zk: zk.connectString, advertise: { host: '127.0.0.1', port } })
    const b = registry(t, { zk: zk.connectString, advertise: { host: '127.0.0.1', port } })
    await a.start()
    const bStarted = b.start()
    await waitFor(() => b.counters.conflicts > 0, { what: 'b sees the conflict' })
    t.equal(b.registered, false)
    t.equal((await obs.exists(a.path))?.ephemeralOwner, a.session.sessionId, 'a keeps its node')
    await a.close()
    await bStarted
    t.ok(b.registered)
    t.equal(decodeHostRecord((await obs.getData(b.path))!.data)?.instance, b.instance)
  })

  t.test('close() removes the node at once', async (t) => {
    const r = registry(t, { zk: zk.connectString })
    await r.start()
    await r.close()
    t.equal(await obs.exists(r.path), null)
    t.equal(r.state, 'closed')
  })

  t.test('survives a ZooKeeper restart and keeps (or restores) its node', async (t) => {
    const r = registry(t, { zk: zk.connectString, sessionTimeoutMs: 3000 })
    await r.start()
    await zk.stop()
    await waitFor(() => !r.registered, { timeoutMs: 3000, what: 'registered=false while ZooKeeper is down' })
    await zk.restart()
    await waitFor(() => r.registered, { timeoutMs: 8000, what: 'registered after restart' })
    const obs2 = await observer(t, zk)
    t.equal((await obs2.exists(nodePath('c1', r.nodeId)))?.ephemeralOwner, r.session.sessionId)
  })
})
