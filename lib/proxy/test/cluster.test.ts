// The proxy on a real cluster: a real ZooKeeper, three memring processes registered
// with --zk, a client under load through the proxy. kill -9 of a host (the proxy
// marks it down before ZooKeeper drops it: checked as an order, not a duration; its shard misses, others serve, no
// client connection drops), the host restarted, ZooKeeper restarted.
import t from 'tap'
import { createProxy, type MemringProxy } from '../proxy.js'
import { startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'
import { startMemringProcess, type ChildServer } from '../../testing/memring-process.js'
import { rawClient, type RawClient } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const CTL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/memringctl.js')

const SESSION_MS = 1500

t.test('three hosts in ZooKeeper behind the proxy', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const outer = t
  const zk = await startZooKeeper(t)
  const hosts: ChildServer[] = []
  for (const shard of ['0', '1', '2']) {
    hosts.push(await startMemringProcess(t, ['--zk', zk.connectString, '--cluster', 'px', '--shard', shard, '--zk-session-timeout', String(SESSION_MS)]))
  }
  const proxy: MemringProxy = createProxy({
    port: 0,
    topology: { kind: 'zk', zk: zk.connectString, cluster: 'px', sessionTimeoutMs: SESSION_MS },
    backend: { timeoutMs: 500, tkoThreshold: 3, probeMs: 50, probeMaxMs: 300 },
  })
  await proxy.start()
  t.teardown(() => proxy.close())
  // Each host registers, then wins its new shard's election (role master).
  await waitFor(() => proxy.router.topology.hosts.size === 3 && [...proxy.router.topology.shards.values()].every((s) => s.primary !== null),
    { timeoutMs: 10_000, what: 'three elected masters in the topology' })
  t.same(proxy.router.topology.shardIds, ['0', '1', '2'])
  const c = await rawClient(t, proxy.port)

  // Keys per shard, found through the proxy's own router.
  const keysOf: string[][] = [[], [], []]
  for (let i = 0; keysOf.some((l) => l.length < 20); i++) {
    const k = `user:${i}`
    const s = proxy.router.shardIndexOf(Buffer.from(k), 0, k.length)
    if (keysOf[s]!.length < 20) keysOf[s]!.push(k)
  }
  const all = keysOf.flat()
  c.write(all.map((k) => `set ${k} 0 0 ${k.length}\r\n${k}\r\n`).join(''))
  t.same(await c.lines(all.length), all.map(() => 'STORED'))
  c.write(`get ${all.join(' ')}\r\n`)
  t.equal((await c.until('END\r\n')).match(/^VALUE /gm)?.length, 60, 'all 60 keys read back in one multi-get')

  /** One round over every shard: per shard, did a get hit and a set store? */
  let turn = 0
  async function round (cl: RawClient): Promise<{ hit: boolean[], stored: boolean[] }> {
    turn++
    const picks = keysOf.map((l) => l[turn % l.length]!)
    cl.write(picks.map((k) => `get ${k}\r\nset ${k} 0 0 ${k.length}\r\n${k}\r\n`).join(''))
    const hit: boolean[] = []
    const stored: boolean[] = []
    for (const k of picks) {
      const head = (await cl.lines(1))[0]!
      if (head.startsWith('VALUE')) { await cl.lines(2); hit.push(true) } else { t.equal(head, 'END', `miss for ${k} is END`); hit.push(false) }
      const st = (await cl.lines(1))[0]!
      stored.push(st === 'STORED')
      if (st !== 'STORED') t.match(st, /^SERVER_ERROR /, `write to a dead shard: ${st}`)
    }
    return { hit, stored }
  }

  t.test('memringctl shows the topology and explains a route the way the proxy routes', async (t) => {
    const topo = spawnSync(process.execPath, [CTL, 'topology', '--zk', zk.connectString, '--cluster', 'px'], { encoding: 'utf8', timeout: 15000 })
    t.equal(topo.status, 0, topo.stderr)
    t.match(topo.stdout, /cluster px at .*: 3 shards, 3 hosts/)
    for (const h of hosts) t.match(topo.stdout, new RegExp(`master +${h.address.replace(/\./g, '\\.')} `))
    const key = keysOf[2]![0]!
    const plain = spawnSync(process.execPath, [CTL, 'route', key, '-', '--zk', zk.connectString, '--cluster', 'px'],
      { encoding: 'utf8', timeout: 15000, input: `${keysOf[0]![0]}\n${keysOf[1]![0]}\n` })
    t.equal(plain.status, 0, plain.stderr)
    t.equal(plain.stdout, `${key} ${hosts[2]!.address}\n${keysOf[0]![0]} ${hosts[0]!.address}\n${keysOf[1]![0]} ${hosts[1]!.address}\n`, 'KEY HOST:PORT per key, stdin keys after -')
    const route = spawnSync(process.execPath, [CTL, 'route', key, '--explain', '--zk', zk.connectString, '--cluster', 'px'], { encoding: 'utf8', timeout: 15000 })
    t.equal(route.status, 0, route.stderr)
    t.match(route.stdout, /hash +md5 -> 0x[0-9a-f]{8}/)
    t.match(route.stdout, /shard +2 /)
    t.match(route.stdout, new RegExp(`host +${hosts[2]!.address.replace(/\./g, '\\.')} \\(master`))
  })

  t.test('kill -9 of a host under load: marked down fast, its shard misses, the others serve', async (t) => {
    const load = await rawClient(t, proxy.port)
    let stop = false
    const served = [0, 0, 0]
    const failed = [0, 0, 0]
    const loop = (async () => {
      while (!stop) {
        const r = await round(load)
        r.stored.forEach((ok, i) => { if (ok) served[i]!++; else failed[i]!++ })
      }
    })()
    await waitFor(() => served.every((n) => n > 20), { what: 'load running on all shards' })
    const victim = hosts[1]!
    const backend = () => proxy.router.pool.hosts.get(victim.address)
    const killedAt = Date.now()
    await victim.kill('SIGKILL')
    // Order, not durations: the proxy's own TKO (refused connects under load) must come
    // before ZooKeeper's removal (one session plus a tick after the last heartbeat).
    // Polled every millisecond, the first state seen is the first state reached.
    const first = await waitFor(() => {
      if (backend()?.down === true) return proxy.router.topology.hosts.has(victim.address) ? 'proxy TKO' : 'both'
      return proxy.router.topology.hosts.has(victim.address) ? null : 'ZooKeeper removal'
    }, { timeoutMs: SESSION_MS * 4, intervalMs: 1, what: 'the proxy or ZooKeeper to drop the host' })
    const downMs = Date.now() - killedAt
    t.equal(first, 'proxy TKO', 'backend().down while the host is still in the ZooKeeper topology')
    await waitFor(() => !proxy.router.topology.hosts.has(victim.address), { timeoutMs: SESSION_MS * 4, intervalMs: 5, what: 'ZooKeeper drops the host' })
    const zkMs = Date.now() - killedAt
    t.comment(`kill -9 -> proxy TKO: ${downMs} ms; -> ZooKeeper removal: ${zkMs} ms (session ${SESSION_MS} ms, tick 250 ms; reported, not gated)`)
    const before = [...served]
    const failedBefore = failed[1]!
    await waitFor(() => served[0]! > before[0]! + 20 && served[2]! > before[2]! + 20 && failed[1]! > failedBefore + 5,
      { timeoutMs: 5000, what: 'other shards keep serving while the dead one fails' })
    t.equal(proxy.router.topology.shards.get('1')!.primary, null, 'shard 1 has no master')
    t.same(proxy.router.topology.shardIds, ['0', '1', '2'], 'shard 1 keeps its keys (no remap)')

    // The host comes back (same port, empty cache): ZooKeeper and the proxy pick it up.
    // Owned by the outer test: the ZooKeeper test below needs it.
    const back = await startMemringProcess(outer, victim.args.slice(8) as string[], { port: victim.port })
    hosts[1] = back
    const failedAtRestart = failed[1]!
    await waitFor(() => proxy.router.topology.shards.get('1')!.primary?.address === back.address, { timeoutMs: 5000, what: 'host back in the topology' })
    const servedAtReturn = served[1]!
    await waitFor(() => served[1]! > servedAtReturn + 10, { timeoutMs: 5000, what: 'shard 1 stores again' })
    t.comment(`writes to shard 1 failed ${failed[1]! - failedAtRestart} times while it came back`)
    // Once it stores again it keeps storing: no further failures on any shard.
    const failedWhenBack = [...failed]
    const servedWhenBack = served[1]!
    await waitFor(() => served[1]! > servedWhenBack + 20, { timeoutMs: 5000, what: '20 more writes to shard 1' })
    stop = true
    await loop
    t.same(failed, failedWhenBack, 'no write failed on any shard after shard 1 was back')
    const k = keysOf[1]![0]!
    c.write(`set ${k} 0 0 4\r\nback\r\nget ${k}\r\n`)
    t.same(await c.lines(4), ['STORED', `VALUE ${k} 0 4`, 'back', 'END'], 'the restarted host holds what is written to shard 1')
    t.notOk(load.closed, 'the load connection was never dropped')
    t.notOk(c.closed)
  })

  t.test('ZooKeeper restart: the proxy keeps routing on its last snapshot; masters fence writes meanwhile', async (t) => {
    await zk.stop()
    await waitFor(() => proxy.watcher!.stale, { timeoutMs: 5000, what: 'topology stale' })
    // A master that cannot confirm its lease (2/3 session) refuses writes: it cannot tell an
    // ensemble that is down from a partition in which another master is being elected.
    await waitFor(async () => (await round(c)).stored.every((x) => !x), { timeoutMs: SESSION_MS * 4, what: 'writes fenced on every shard' })
    for (let i = 0; i < 3; i++) {
      const r = await round(c)
      t.same(r.hit, [true, true, true], 'every shard still serves reads with ZooKeeper down')
      t.same(r.stored, [false, false, false], 'and refuses writes')
    }
    c.write('stats proxy\r\n')
    t.match(await c.until('END\r\n'), /STAT topology_stale 1\r\n/)
    await zk.restart()
    await waitFor(() => !proxy.watcher!.stale, { timeoutMs: 8000, what: 'topology fresh again' })
    await waitFor(() => proxy.router.topology.hosts.size === 3, { timeoutMs: 8000, what: 'three hosts after the restart' })
    // Sessions survive a ZooKeeper restart: the same masters confirm their leases again.
    await waitFor(async () => (await round(c)).stored.every((x) => x), { timeoutMs: SESSION_MS * 4, what: 'writes taken again on every shard' })
  })
})
