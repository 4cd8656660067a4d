// memring --zk: flag validation (pure), and the built binary joining a real
// ZooKeeper: registration, serving while ZooKeeper is away, kill -9 removal time,
// clear errors for a bad or unreachable ensemble.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { ConfigError } from '../config.js'
import { advertiseFor, clusterOptions } from '../cluster-options.js'
import { ZkSession, decodeHostRecord, nodePath } from '../../cluster/index.js'
import { startZooKeeper, freePort, zooKeeperAvailable } from '../../testing/zookeeper.js'
import { MEMRING_BIN, startMemringProcess } from '../../testing/memring-process.js'
import { exchange } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'

t.test('cluster flags: validated, clear messages, null without --zk', async (t) => {
  t.equal(clusterOptions({}), null)
  t.same(clusterOptions({ zk: '127.0.0.1:2181', cluster: 'c', shard: '0' }),
    { zk: '127.0.0.1:2181', cluster: 'c', shard: '0', dc: '', role: 'auto', advertise: null, sessionTimeoutMs: 10000 })
  const cfg = clusterOptions({ zk: 'a:1,b:2', cluster: 'c', shard: 's', dc: 'east', advertise: 'cache1', role: 'replica', zkSessionTimeout: '4000' })!
  t.same(cfg.advertise, { host: 'cache1', port: null })
  t.same(advertiseFor(cfg, [], 11211), { host: 'cache1', port: 11211 })
  t.same(advertiseFor({ ...cfg, advertise: null }, ['0.0.0.0', '10.0.0.5'], 7), { host: '10.0.0.5', port: 7 })
  const bad: Array<[Parameters<typeof clusterOptions>[0], RegExp]> = [
    [{ cluster: 'c' }, /--cluster needs --zk/],
    [{ zk: 'nope', cluster: 'c', shard: '0' }, /"nope" is not HOST:PORT/],
    [{ zk: 'a:1', shard: '0' }, /--zk needs --cluster/],
    [{ zk: 'a:1', cluster: 'c' }, /--zk needs --shard/],
    [{ zk: 'a:1', cluster: 'c/d', shard: '0' }, /--cluster "c\/d"/],
    [{ zk: 'a:1', cluster: 'c', shard: '0', role: 'boss' }, /--role: 'boss'/],
    [{ zk: 'a:1', cluster: 'c', shard: '0', advertise: 'x:0' }, /--advertise/],
    [{ zk: 'a:1', cluster: 'c', shard: '0', zkSessionTimeout: '10' }, /--zk-session-timeout/],
  ]
  for (const [raw, msg] of bad) {
    const err = t.throws(() => clusterOptions(raw), { message: msg }, JSON.stringify(raw))
    t.ok(err instanceof ConfigError, 'a ConfigError (usage error, exit 2)')
  }
})

t.test('memring with a bad --zk exits 2; with an unreachable ensemble exits 1, both saying why', async (t) => {
  const bad = spawnSync(process.execPath, [MEMRING_BIN, '-p', '0', '-l', '127.0.0.1', '--zk', 'zk-without-port', '--cluster', 'c', '--shard', '0'], { encoding: 'utf8', timeout: 10000 })
  t.equal(bad.status, 2)
  t.match(bad.stderr, /"zk-without-port" is not HOST:PORT/)
  const port = await freePort()
  const down = spawnSync(process.execPath, [MEMRING_BIN, '-p', '0', '-l', '127.0.0.1', '--zk', `127.0.0.1:${port}`, '--cluster', 'c', '--shard', '0', '--zk-session-timeout', '1000'], { encoding: 'utf8', timeout: 10000 })
  t.equal(down.status, 1)
  t.match(down.stderr, new RegExp(`cannot join cluster: no ZooKeeper server answered at 127.0.0.1:${port} within 1000 ms`))
  // It exited by itself (spawnSync's 10 s timeout would have killed it: status null).
})

t.test('the memring binary in a cluster', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const obs = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 })
  t.teardown(() => obs.close())
  await obs.start()
  const SESSION_MS = 1500

  t.test('registers itself, keeps serving while ZooKeeper is down, and is removed one session after kill -9', async (t) => {
    const host = await startMemringProcess(t, ['--zk', zk.connectString, '--cluster', 'app', '--shard', '3', '--dc', 'east', '--zk-session-timeout', String(SESSION_MS)])
    const path = nodePath('app', `127.0.0.1:${host.port}`)
    // Registered first, then elected (a new shard elects its first host): role master.
    const got = await waitFor(async () => {
      const d = await obs.getData(path)
      return d !== null && decodeHostRecord(d.data)?.role === 'master' ? d : null
    }, { what: 'host node, elected master' })
    t.match(decodeHostRecord(got.data), { host: '127.0.0.1', port: host.port, shard: '3', dc: 'east', role: 'master', pid: host.pid })
    t.match((await exchange(host.port, 'set k 0 0 1\r\nv\r\nget k\r\n')).toString(), /STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n/)

    await zk.stop()
    t.match((await exchange(host.port, 'get k\r\n')).toString(), /VALUE k 0 1\r\nv\r\nEND/, 'serves with ZooKeeper down')
    await zk.restart()
    await waitFor(async () => (await obs.exists(path)) !== null, { timeoutMs: 8000, what: 'node present after the ZooKeeper restart' })

    const killedAt = Date.now()
    await host.kill('SIGKILL')
    await waitFor(async () => (await obs.exists(path)) === null, { timeoutMs: SESSION_MS * 4, intervalMs: 10, what: 'node removed by ZooKeeper' })
    // The deadline above is derived from the session (1 session + 1 tick, x4 for load);
    // the duration itself is reported, not gated.
    const goneMs = Date.now() - killedAt
    t.comment(`kill -9 -> node removed: ${goneMs} ms (session timeout ${SESSION_MS} ms, tick 250 ms)`)
  })

  t.test('SIGTERM deregisters at once', async (t) => {
    const host = await startMemringProcess(t, ['--zk', zk.connectString, '--cluster', 'app', '--shard', '4'])
    const path = nodePath('app', `127.0.0.1:${host.port}`)
    await waitFor(() => obs.exists(path), { what: 'host node' })
    await host.kill('SIGTERM')
    // Causal: by the time the process has exited its node is gone (closeSession, not expiry).
    t.equal(await obs.exists(path), null, 'node gone when the process has exited')
    t.equal(await host.exited(), 0, 'exit code 0')
  })
})
