// A 3-node ZooKeeper ensemble: killing the leader moves clients to another member;
// the session (and the host's ephemeral node) survives, and the watcher keeps
// seeing changes. Then the old leader rejoins.
import t from 'tap'
import { Registry } from '../registry.js'
import { TopologyWatcher } from '../membership/watcher.js'
import { ZkSession } from '../zk.js'
import { startZooKeeperEnsemble, zooKeeperAvailable } from '../../testing/zookeeper.js'
import { waitFor } from '../../testing/wait-for.js'

t.test('leader failover in a 3-node ensemble', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeperEnsemble(t)
  // What this test claims is that the session survives a leader failover, so the session
  // must outlive an election plus a reconnect on a loaded machine with margin: at 4 s
  // it was lost about one run in six (the watchdog then rightly made a new session, and
  // 'the session survived' failed). 20 s: ZooKeeper allows it (maxSessionTimeout 60 s
  // in lib/testing/zookeeper.ts), and nothing here waits for an expiry.
  const SESSION_MS = 20_000
  const reg = new Registry({ zk: zk.connectString, cluster: 'ens', shard: '0', advertise: { host: '127.0.0.1', port: 31001 }, sessionTimeoutMs: SESSION_MS })
  t.teardown(() => reg.close())
  await reg.start()
  const w = new TopologyWatcher({ zk: zk.connectString, cluster: 'ens', sessionTimeoutMs: SESSION_MS })
  t.teardown(() => w.close())
  await w.start()
  await waitFor(() => w.current.hosts.has(reg.nodeId), { what: 'host seen' })
  const session = reg.session.sessionId

  const leader = await waitFor(() => zk.leader(), { timeoutMs: 10000, what: 'a leader' })
  const t0 = Date.now()
  await leader.kill()
  // Someone else leads, and both clients are connected again (possibly to a new member).
  // Deadlines below the session: past it, the failover would have cost the session anyway.
  await waitFor(async () => (await zk.leader()) !== null, { timeoutMs: SESSION_MS, what: 'a new leader' })
  await waitFor(() => reg.registered && w.session.healthy, { timeoutMs: SESSION_MS, what: 'clients healthy again' })
  t.comment(`leader killed -> new leader and clients healthy: ${Date.now() - t0} ms`)
  t.equal(reg.session.sessionId, session, 'the session survived the failover (no re-registration needed)')

  // The watcher still follows changes.
  const other = new Registry({ zk: zk.connectString, cluster: 'ens', shard: '1', advertise: { host: '127.0.0.1', port: 31002 }, sessionTimeoutMs: SESSION_MS })
  t.teardown(() => other.close())
  await other.start()
  await waitFor(() => w.current.hosts.has(other.nodeId), { timeoutMs: SESSION_MS / 2, what: 'new host seen after failover' })

  await zk.restart()
  const obs = new ZkSession({ connect: `127.0.0.1:${leader.port}`, sessionTimeoutMs: 4000 })
  t.teardown(() => obs.close())
  await obs.start()
  t.ok(await obs.exists(reg.path), 'the old leader rejoined with the data')
})
