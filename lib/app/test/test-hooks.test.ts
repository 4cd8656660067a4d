// The test-only hook of lib/app/test-hooks.ts: off unless MEMRING_TEST_HOOKS=1; with it, a
// real memring host in a real ZooKeeper expires its own session on SIGUSR2, ZooKeeper drops
// the session's node, and the host registers again in a new session.
import t from 'tap'
import { ZkSession, nodePath } from '../../cluster/index.js'
import { silentLogger } from '../../log.js'
import { installTestHooks, testHooksEnabled } from '../test-hooks.js'
import { startMemringProcess } from '../../testing/memring-process.js'
import { waitFor } from '../../testing/wait-for.js'
import { startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'

t.test('off unless MEMRING_TEST_HOOKS=1', async (t) => {
  t.equal(testHooksEnabled({}), false)
  t.equal(testHooksEnabled({ MEMRING_TEST_HOOKS: '0' }), false)
  t.equal(testHooksEnabled({ MEMRING_TEST_HOOKS: '1' }), true)
  const before = process.listenerCount('SIGUSR2')
  t.equal(installTestHooks(() => [], silentLogger(), {}), false)
  t.equal(process.listenerCount('SIGUSR2'), before, 'no SIGUSR2 handler installed')
})

t.test('SIGUSR2 expires the host\'s ZooKeeper session server-side', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const obs = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 })
  t.teardown(() => obs.close())
  await obs.start()
  // A long session: ZooKeeper would not expire it on its own while this test runs.
  const args = ['--zk', zk.connectString, '--cluster', 'hooks', '--shard', '0', '--zk-session-timeout', '20000']
  const plain = await startMemringProcess(t, args)
  process.env.MEMRING_TEST_HOOKS = '1'
  let host
  try { host = await startMemringProcess(t, args) } finally { delete process.env.MEMRING_TEST_HOOKS }
  const path = nodePath('hooks', host.address)
  const first = await waitFor(async () => (await obs.getData(path))?.stat.ephemeralOwner, { timeoutMs: 20_000, what: 'the host registered' })
  await waitFor(() => host.stderr.includes('test hooks enabled'), { timeoutMs: 20_000, what: 'the hook announced' })
  t.notMatch(plain.stderr, /test hooks enabled/, 'a host started without the variable has no hook')
  process.kill(host.pid!, 'SIGUSR2')
  await waitFor(() => host.stderr.includes('test hook: ZooKeeper session expired'), { timeoutMs: 20_000, what: 'the hook reported the expiry' })
  // The host's own client is told its session is gone (it never lost its link: the server ended it).
  await waitFor(() => /"msg":"zk session expired"/.test(host.stderr), { timeoutMs: 20_000, what: 'the host saw its session expire' })
  const next = await waitFor(async () => {
    const owner = (await obs.getData(path))?.stat.ephemeralOwner
    return owner !== undefined && owner !== first ? owner : null
  }, { timeoutMs: 20_000, what: 'the host registered in a new session' })
  t.not(next, first, `node owned by session ${first}, then ${next}`)
  t.ok(host.running && plain.running, 'both hosts still run')
})
