// ZkSession against a real ZooKeeper: requests, one-shot watches, deep removal,
// an unreachable ensemble, a frozen link (watchdog), expiry and a server restart.
import t from 'tap'
import { ClusterError, ClusterErrorCode } from '../errors.js'
import { ZkSession, expireSession, parseConnectString, type ZkEvent } from '../zk.js'
import { startZooKeeper, freePort, rejoinSession, zooKeeperAvailable, type Teardown } from '../../testing/zookeeper.js'
import { startRelay } from '../../testing/tcp-relay.js'
import { waitFor } from '../../testing/wait-for.js'

const SESSION_MS = 1500

function session (t: Teardown, connect: string, extra: Partial<ConstructorParameters<typeof ZkSession>[0]> = {}): ZkSession {
  const s = new ZkSession({ connect, sessionTimeoutMs: SESSION_MS, ...extra })
  t.teardown(() => s.close())
  return s
}

t.test('parseConnectString accepts HOST:PORT lists and names the bad part otherwise', async (t) => {
  t.same(parseConnectString('127.0.0.1:2181').servers, [{ host: '127.0.0.1', port: 2181 }])
  t.equal(parseConnectString(' zk1:2181,zk2:2182/app ').normalized, 'zk1:2181,zk2:2182/app')
  for (const bad of ['', 'localhost', '127.0.0.1:', ':2181', '127.0.0.1:99999', 'a:1,,b:2', 'a b:1', 'a:1/bad path']) {
    t.throws(() => parseConnectString(bad), { code: ClusterErrorCode.BadConnectString }, JSON.stringify(bad))
  }
  const err = t.throws(() => parseConnectString('127.0.0.1:2181,oops')) as ClusterError
  t.match(err.message, /"oops" is not HOST:PORT/)
})

t.test('start() against a port where nothing listens rejects with a clear message', async (t) => {
  const port = await freePort()
  const s = session(t, `127.0.0.1:${port}`, { connectTimeoutMs: 600 })
  // The rejection itself is the proof that it gave up (nothing would ever answer).
  await t.rejects(s.start(), { code: ClusterErrorCode.Unreachable, message: new RegExp(`no ZooKeeper server answered at 127.0.0.1:${port} within 600 ms`) })
})

t.test('with a real ZooKeeper', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)

  t.test('create, getData, setData, getChildren, remove and a 4-level removeTree', async (t) => {
    const s = session(t, zk.connectString)
    await s.start()
    t.match(s.sessionId, /^[0-9a-f]{16}$/)
    await s.ensurePath('/a/b/c/d')
    await s.ensurePath('/a/b/c/d') // idempotent
    await s.create('/a/b/c/d/e', Buffer.from('x'), 'ephemeral')
    t.same(await s.getChildren('/a/b/c/d'), ['e'])
    const got = await s.getData('/a/b/c/d/e')
    t.equal(got?.data.toString(), 'x')
    t.equal(got?.stat.ephemeralOwner, s.sessionId, 'ephemeral owned by our session')
    t.equal((await s.setData('/a/b/c/d/e', Buffer.from('y'))).version, 1)
    await t.rejects(s.setData('/a/b/c/d/e', Buffer.from('z'), 0), { code: ClusterErrorCode.ZooKeeper, zkCode: 'BAD_VERSION' })
    await t.rejects(s.create('/a', null), { code: ClusterErrorCode.ZooKeeper, zkCode: 'NODE_EXISTS' })
    t.equal(await s.getData('/nope'), null, 'missing node reads as null')
    t.equal(await s.getChildren('/nope'), null)
    await s.removeTree('/a')
    t.equal(await s.exists('/a'), null, 'whole tree gone')
    t.equal(await s.remove('/a'), false)
  })

  t.test('a watch fires once and is re-armed by the read it triggers', async (t) => {
    const s = session(t, zk.connectString)
    await s.start()
    await s.ensurePath('/w')
    const events: ZkEvent[] = []
    const watch = (ev: ZkEvent): void => { events.push(ev) }
    t.same(await s.getChildren('/w', watch), [])
    await s.create('/w/1', null)
    await s.create('/w/2', null)
    await waitFor(() => events.length === 1, { what: 'first child event' })
    t.same(events[0], { type: 'childrenChanged', path: '/w' })
    // One-shot: the second create fired nothing. Re-arm and see the next change.
    t.equal(events.length, 1)
    t.same((await s.getChildren('/w', watch))?.sort(), ['1', '2'])
    await s.remove('/w/1')
    await waitFor(() => events.length === 2, { what: 'second child event' })
    await s.removeTree('/w')
  })

  t.test('a frozen link is suspect before ZooKeeper expires the session, then replaced by a new session', async (t) => {
    const obs = session(t, zk.connectString)
    await obs.start()
    const relay = await startRelay(t, zk.port)
    const s = session(t, relay.address)
    await s.start()
    const first = s.sessionId
    const firstCreds = s.credentials!
    await s.ensurePath('/frozen')
    await s.create('/frozen/eph', null, 'ephemeral')
    // One timeline of what happened, in order: the client's events and ZooKeeper deleting
    // the frozen session's ephemeral (which it does when it expires the session).
    const seen: string[] = []
    for (const ev of ['suspect', 'session', 'expired', 'disconnected']) s.on(ev, () => seen.push(ev))
    t.ok(await obs.exists('/frozen/eph', (ev) => { seen.push(`zk:${ev.type}`) }), 'ephemeral watched')
    const frozenAt = Date.now()
    relay.freeze()
    // Deadlines derived from the session: suspect at 2/3, expiry at 1 session + 1 tick,
    // a new session soon after; x3 for a loaded machine.
    await waitFor(() => s.state === 'suspect', { timeoutMs: SESSION_MS * 3, what: 'suspect' })
    const suspectMs = Date.now() - frozenAt
    t.notOk(s.healthy, 'not healthy while the link is mute')
    await waitFor(() => seen.includes('zk:deleted'), { timeoutMs: SESSION_MS * 3, what: 'ZooKeeper expires the frozen session' })
    await waitFor(() => s.sessionId !== first && s.healthy, { timeoutMs: SESSION_MS * 3, what: 'a new session' })
    const newMs = Date.now() - frozenAt
    t.ok(seen.indexOf('suspect') < seen.indexOf('zk:deleted'), `suspect before ZooKeeper dropped the session's ephemeral: ${seen.join(', ')}`)
    t.ok(seen.indexOf('suspect') < seen.indexOf('session'), 'suspect before the new session')
    t.comment(`frozen -> suspect ${suspectMs} ms, -> new session ${newMs} ms (session ${SESSION_MS} ms; reported, not gated)`)
    t.equal(s.counters.rebuilds, 1)
    t.ok(relay.accepted >= 2, 'the new session came over a new connection')
    // The old session really is dead on the server: resuming it with its id and password
    // is answered "expired".
    t.equal(await rejoinSession(zk.connectString, firstCreds), 'expired', 'the old session cannot be rejoined')
    t.equal(await obs.exists('/frozen/eph'), null, 'its ephemeral is gone')
    await s.ensurePath('/alive')
    t.ok(await s.exists('/alive'), 'requests work on the new session')
  })

  t.test('an expired session is replaced and says so', async (t) => {
    const s = session(t, zk.connectString)
    await s.start()
    const first = s.sessionId
    let expired = 0
    s.on('expired', () => expired++)
    const creds = s.credentials!
    await expireSession(zk.connectString, creds)
    await waitFor(() => s.sessionId !== first && s.healthy, { timeoutMs: SESSION_MS * 3, what: 'new session after expiry' })
    t.ok(expired >= 1 || s.counters.rebuilds >= 1, 'expiry noticed (event or watchdog)')
    t.equal(await rejoinSession(zk.connectString, creds), 'expired', 'the expired session cannot be rejoined')
    t.ok(await s.exists('/'), 'requests work on the new session')
  })

  t.test('requests time out instead of hanging on a frozen link', async (t) => {
    const relay = await startRelay(t, zk.port)
    const s = session(t, relay.address, { requestTimeoutMs: 300 })
    await s.start()
    relay.freeze()
    relay.blockNew(true)
    // Without the request timeout this would never settle (the tap timeout would end it).
    await t.rejects(s.exists('/'), { code: ClusterErrorCode.Timeout, retriable: true })
  })

  t.test('a ZooKeeper restart: disconnected, then the same session comes back', async (t) => {
    // A session long enough to outlive the JVM's restart even on a busy machine (at 4 s
    // one run in six lost it: the watchdog rightly started a new session).
    const s = session(t, zk.connectString, { sessionTimeoutMs: 20_000 })
    await s.start()
    const first = s.sessionId
    await s.create('/eph', null, 'ephemeral')
    const stoppedAt = Date.now()
    await zk.stop()
    await waitFor(() => s.state === 'disconnected', { timeoutMs: 3000, what: 'disconnected' })
    await zk.restart()
    await waitFor(() => s.healthy, { timeoutMs: 20_000, what: 'connected again' })
    t.comment(`ZooKeeper stop -> session healthy again: ${Date.now() - stoppedAt} ms`)
    // ZooKeeper keeps sessions across a restart (it reloads them from its log), so
    // the same session resumes and its ephemeral survived.
    t.equal(s.sessionId, first, 'same session')
    t.equal((await s.exists('/eph'))?.ephemeralOwner, first)
  })
})
