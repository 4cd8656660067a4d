// The client routing over a memring cluster in ZooKeeper, without the sidecar: a real
// ZooKeeper, real memring processes (shard s1: a master and a replica that follows it
// through ZooKeeper; shard s2: a master), and a real memring-proxy on the same cluster.
//   (a) the client and memring-proxy put every key on the same shard, both ways;
//   (b) reads spread over the shard's copies (counted on the servers, cmd_get);
//   (d) readFrom 'master' never reads a replica;
//   (e) a shard and a replica joining, then leaving, change routing in the running client;
//   (c0) a frozen replica (SIGSTOP): reads time out on it and are retried on the master;
//   (c) kill -9 of s1's master under a read load: no read errors, no false misses; writes
//       to s1 fail with a clear error, s2 is untouched.
// Then a real election (two `--role auto` hosts, kill -9 of the master): reads never fail,
// writes follow the new epoch. And epochs, with records written by lib/cluster's Registry for real servers: writes
// follow the highest epoch, and a deposed master's lingering record gets no write; then
// ZooKeeper killed: the client routes on its last snapshot.
import t from 'tap'
import { Client, ClientError, ClientErrorCode, ZooKeeperShards } from '../index.js'
import { Registry, Role } from '../../cluster/index.js'
import { startZooKeeper, zooKeeperAvailable, freePort } from '../../testing/zookeeper.js'
import { startMemringProcess, ChildServer, PROXY_BIN } from '../../testing/memring-process.js'
import { startServer } from '../../testing/servers.js'
import { exchange } from '../../testing/raw-client.js'
import { stats } from '../../testing/replication.js'
import { waitFor } from '../../testing/wait-for.js'

const SESSION_MS = 1500
/** A topology change reaches a watcher within a few ticks after the session decides; 10 sessions is ample. */
const ZK_WAIT_MS = SESSION_MS * 10
const CLUSTER = 'cz'

async function inSyncWith (master: ChildServer, replica: ChildServer): Promise<void> {
  await waitFor(async () => {
    const [m, r] = await Promise.all([stats(master.port, 'replication'), stats(replica.port, 'replication')])
    return r.master === master.address && r.sync_in_progress === '0' && r.master_link === 'online' && r.seqno === m.seqno
  }, { timeoutMs: ZK_WAIT_MS, what: `${replica.address} in sync with ${master.address}` })
}

/** The value a server holds for key (direct, no routing), or null. */
async function held (port: number, key: string): Promise<string | null> {
  const r = (await exchange(port, `get ${key}\r\n`)).toString()
  const m = /^VALUE \S+ \d+ \d+\r\n([^\r]*)\r\nEND\r\n$/.exec(r)
  if (m !== null) return m[1]
  if (r !== 'END\r\n') throw new Error(`unexpected reply ${JSON.stringify(r)}`)
  return null
}

async function cmdGet (s: ChildServer): Promise<number> {
  return Number((await stats(s.port)).cmd_get)
}

t.test('the client on a ZooKeeper cluster', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const member = (shard: string, role: string): string[] =>
    ['--zk', zk.connectString, '--cluster', CLUSTER, '--shard', shard, '--role', role, '--zk-session-timeout', String(SESSION_MS)]
  const m1 = await startMemringProcess(t, member('s1', 'master'))
  await waitFor(async () => (await stats(m1.port, 'replication')).role === 'master', { timeoutMs: ZK_WAIT_MS, what: 's1 master decided' })
  const r1 = await startMemringProcess(t, member('s1', 'replica'))
  const m2 = await startMemringProcess(t, member('s2', 'master'))
  await inSyncWith(m1, r1)

  const shards = await ZooKeeperShards.start({ zk: zk.connectString, cluster: CLUSTER, sessionTimeoutMs: SESSION_MS })
  t.teardown(() => shards.close())
  const client = new Client({ servers: shards, requestTimeoutMs: 1000, probeIntervalMs: 100 })
  t.teardown(() => client.close())
  const copiesOf = (id: string): string[] => shards.current().find((s) => s.id === id)?.copies.map((c) => `${c.host}:${c.port}`) ?? []
  await waitFor(() => copiesOf('s1').length === 2 && copiesOf('s2').length === 1, { timeoutMs: ZK_WAIT_MS, what: 's1 with two copies, s2 with one' })
  t.same(copiesOf('s1'), [m1.address, r1.address], 's1: the master first, then the replica')

  // Keys per shard, as the client places them.
  const keysOf = new Map<string, string[]>([['s1', []], ['s2', []]])
  for (let i = 0; [...keysOf.values()].some((l) => l.length < 100); i++) {
    const k = `user:${i}`
    const l = keysOf.get(client.route(k).shard)!
    if (l.length < 100) l.push(k)
  }
  const s1keys = keysOf.get('s1')!
  const masterOf = new Map([['s1', m1], ['s2', m2]])

  t.test('(a) the client and memring-proxy place every key on the same shard', async (t) => {
    const port = await freePort()
    const proxy = new ChildServer(PROXY_BIN, port, ['-p', String(port), '-l', '127.0.0.1', '--zk', zk.connectString, '--cluster', CLUSTER, '--zk-session-timeout', String(SESSION_MS)])
    t.teardown(() => proxy.kill())
    await proxy.start()
    const viaProxy = Array.from({ length: 200 }, (_, i) => `proxy:${i}`)
    // Written through the proxy once it routes to both shards, then looked up on each master directly.
    await waitFor(async () => (await exchange(proxy.port, `set probe 0 0 1\r\nx\r\n`)).toString() === 'STORED\r\n', { timeoutMs: ZK_WAIT_MS, what: 'the proxy takes writes' })
    const req = viaProxy.map((k) => `set ${k} 0 0 ${k.length}\r\n${k}\r\n`).join('')
    t.equal((await exchange(proxy.port, req)).toString(), 'STORED\r\n'.repeat(viaProxy.length), 'the proxy stored all')
    const count = new Map<string, number>()
    const wrong: string[] = []
    for (const k of viaProxy) {
      const shard = client.route(k).shard
      count.set(shard, (count.get(shard) ?? 0) + 1)
      for (const [id, m] of masterOf) {
        const v = await held(m.port, k)
        if ((v !== null) !== (id === shard)) wrong.push(`${k}: client says ${shard}, ${id} ${v === null ? 'lacks' : 'holds'} it`)
      }
    }
    t.same(wrong, [], 'every key the proxy wrote is on the shard the client routes it to, and only there')
    t.ok((count.get('s1') ?? 0) > 40 && (count.get('s2') ?? 0) > 40, `both shards used: ${JSON.stringify([...count])}`)

    // And the other way: written by the client, read through the proxy.
    const viaClient = Array.from({ length: 200 }, (_, i) => `client:${i}`)
    await Promise.all(viaClient.map(async (k) => t.equal(await client.set(k, `v-${k}`), true)))
    const got = (await exchange(proxy.port, `get ${viaClient.join(' ')}\r\n`)).toString()
    t.equal(got.match(/^VALUE /gm)?.length, viaClient.length, 'the proxy finds every key the client wrote')
  })

  t.test('(b) reads spread over the copies of a shard', async (t) => {
    await Promise.all(s1keys.map(async (k) => t.equal(await client.set(k, `v-${k}`), true)))
    await inSyncWith(m1, r1)
    // 1. A burst issued in one tick: least outstanding requests alternates between the copies.
    let [gm, gr] = await Promise.all([cmdGet(m1), cmdGet(r1)])
    const burst = [...s1keys, ...s1keys]
    const values = await Promise.all(burst.map(async (k) => await client.get(k)))
    t.same(values.map((v) => v?.toString()), burst.map((k) => `v-${k}`), 'every read hits with the value written')
    let [dm, dr] = [await cmdGet(m1) - gm, await cmdGet(r1) - gr]
    t.equal(dm + dr, burst.length, `all ${burst.length} reads went to s1's copies (master ${dm}, replica ${dr})`)
    t.ok(Math.abs(dm - dr) <= 2, `the burst is balanced: master ${dm}, replica ${dr}`)
    // 2. One read at a time: every copy is idle, ties are broken at random.
    ;[gm, gr] = await Promise.all([cmdGet(m1), cmdGet(r1)])
    for (const k of s1keys) t.equal((await client.get(k))?.toString(), `v-${k}`)
    ;[dm, dr] = [await cmdGet(m1) - gm, await cmdGet(r1) - gr]
    t.equal(dm + dr, s1keys.length)
    t.ok(dm >= 20 && dr >= 20, `sequential reads reach both copies: master ${dm}, replica ${dr}`)
    // Multi-gets are split by shard and each part goes to one copy.
    const multi = await client.getMulti([...s1keys.slice(0, 10), ...keysOf.get('s2')!.slice(0, 10)])
    t.equal(multi.filter((it) => it !== null).length, 10, 'the s1 half hits (s2 keys were not written)')
  })

  t.test('(d) readFrom master never reads a replica', async (t) => {
    const mc = new Client({ servers: shards, readFrom: 'master' })
    t.teardown(() => mc.close())
    const [gm, gr] = await Promise.all([cmdGet(m1), cmdGet(r1)])
    const values = await Promise.all(s1keys.map(async (k) => await mc.get(k)))
    t.same(values.map((v) => v?.toString()), s1keys.map((k) => `v-${k}`))
    for (const k of s1keys.slice(0, 20)) await mc.get(k)
    t.equal(await cmdGet(r1) - gr, 0, 'the replica served no read')
    t.equal(await cmdGet(m1) - gm, s1keys.length + 20, 'the master served them all')
  })

  t.test('(e) hosts joining and leaving change routing in the running client', async (t) => {
    const m3 = await startMemringProcess(t, member('s3', 'master'))
    await waitFor(() => shards.current().some((s) => s.id === 's3' && s.primary !== null), { timeoutMs: ZK_WAIT_MS, what: 'shard s3 in the client' })
    const s3keys: string[] = []
    for (let i = 0; s3keys.length < 20; i++) if (client.route(`new:${i}`).shard === 's3') s3keys.push(`new:${i}`)
    for (const k of s3keys) t.equal(await client.set(k, k), true)
    t.same(await Promise.all(s3keys.map(async (k) => await held(m3.port, k))), s3keys, 'keys of the new shard are stored on its master')
    const moved = s1keys.filter((k) => client.route(k).shard !== 's1').length
    t.ok(moved < s1keys.length, `a new shard takes some keys (${moved} of ${s1keys.length} s1 keys), not all`)

    // A replica joins s2: once it holds a complete copy it serves reads.
    const s2keys = keysOf.get('s2')!.filter((k) => client.route(k).shard === 's2')
    for (const k of s2keys) await client.set(k, `v-${k}`)
    const r2 = await startMemringProcess(t, member('s2', 'replica'))
    await inSyncWith(m2, r2)
    await waitFor(() => client.route(s2keys[0]).copies.length === 2, { timeoutMs: ZK_WAIT_MS, what: 'the s2 replica among the copies' })
    const gr = await cmdGet(r2)
    t.same((await Promise.all(s2keys.map(async (k) => await client.get(k)))).map((v) => v?.toString()), s2keys.map((k) => `v-${k}`))
    t.ok(await cmdGet(r2) - gr > 0, 'the new replica serves reads')

    // Both leave (SIGTERM: clean stop, the node is deleted at once).
    await r2.kill('SIGTERM')
    await m3.kill('SIGTERM')
    await waitFor(() => client.route(s2keys[0]).copies.length === 1 && client.route(s3keys[0]).copies.length === 0, { timeoutMs: ZK_WAIT_MS, what: 'both gone from the client' })
    t.notOk(client.servers().some((s) => s.server === m3.address || s.server === r2.address), 'their connections are retired')
    t.same((await Promise.all(s2keys.map(async (k) => await client.get(k)))).map((v) => v?.toString()), s2keys.map((k) => `v-${k}`), 's2 reads go on on its master')
    // s3 stays a shard (keys hash over shards, never hosts): its keys do not move, they fail clearly.
    t.equal(client.route(s3keys[0]).shard, 's3')
    await t.rejects(client.set(s3keys[0], 'v'), { code: ClientErrorCode.NoPrimary, message: /shard s3 has no live master/ })
    await t.rejects(client.get(s3keys[0]), { code: ClientErrorCode.NoCopy, message: /shard s3 has no live copy/ })
    t.same(s1keys.filter((k) => !['s1', 's3'].includes(client.route(k).shard)), [], 's1 keys stayed on s1 or moved to the new shard, never elsewhere')
  })

  t.test('(c0) a frozen copy (SIGSTOP): reads time out on it and are answered by the other copy', async (t) => {
    // A client of its own with a short request timeout, so the freeze is over long before
    // ZooKeeper could expire the frozen host's session.
    const fc = new Client({ servers: shards, requestTimeoutMs: 300, probeIntervalMs: 50 })
    t.teardown(() => fc.close())
    const live = s1keys.filter((k) => fc.route(k).shard === 's1')
    t.same(fc.route(live[0]).copies, [m1.address, r1.address])
    for (const k of live) t.equal((await fc.get(k))?.toString(), `v-${k}`, 'warm: both copies connected')
    const seen: string[] = []
    process.kill(r1.pid!, 'SIGSTOP')
    seen.push('SIGSTOP')
    let wrong = 0
    const errors: string[] = []
    const readAll = async (): Promise<void> => {
      await Promise.all(live.map(async (k) => {
        try { if ((await fc.get(k))?.toString() !== `v-${k}`) wrong++ } catch (err) { errors.push((err as Error).message) }
      }))
    }
    try {
      await readAll()
      if (fc.servers().find((s) => s.server === r1.address)?.down === true) seen.push('client marks the replica down')
      if (fc.route(live[0]).copies.includes(r1.address)) seen.push('ZooKeeper still lists it')
      await readAll()
    } finally {
      process.kill(r1.pid!, 'SIGCONT')
    }
    t.same(seen, ['SIGSTOP', 'client marks the replica down', 'ZooKeeper still lists it'], 'the client stops using the frozen copy before ZooKeeper drops it')
    t.same(errors, [], 'no read failed')
    t.equal(wrong, 0, 'no read missed')
    t.ok(fc.counters.readRetries > 0, `${fc.counters.readRetries} reads retried on the master after timing out on the replica`)
    await waitFor(() => fc.servers().find((s) => s.server === r1.address)?.down === false, { timeoutMs: ZK_WAIT_MS, what: 'the probe brings the replica back' })
  })

  t.test('(c) kill -9 of a shard master: reads go on from the replica, writes fail clearly', async (t) => {
    await inSyncWith(m1, r1)
    const live = s1keys.filter((k) => client.route(k).shard === 's1')
    await waitFor(() => client.route(live[0]).copies.length === 2, { timeoutMs: ZK_WAIT_MS, what: 'both s1 copies in the client' })
    t.ok(live.length > 50, `${live.length} s1 keys`)
    const seen: string[] = []
    let reads = 0
    let misses = 0
    const errors: string[] = []
    let stop = false
    shards.subscribe((list) => {
      const s1 = list.find((s) => s.id === 's1')
      if (s1?.primary === null) seen.push('zk dropped the master')
    })
    const retriesBefore = client.counters.readRetries
    const worker = async (w: number): Promise<void> => {
      for (let i = w; !stop; i++) {
        const k = live[i % live.length]
        try {
          const v = await client.get(k)
          reads++
          if (v?.toString() !== `v-${k}`) misses++
        } catch (err) {
          errors.push(`${k}: ${(err as Error).message}`)
        }
      }
    }
    const load = Promise.all([0, 1, 2, 3].map(worker))
    await waitFor(() => reads > 200, { timeoutMs: ZK_WAIT_MS, what: 'reads under way' })
    seen.push('kill -9')
    await m1.kill('SIGKILL')
    const atKill = reads
    // Writes to s1 while the dead master is still in ZooKeeper fail on the connection.
    const early = await client.set(live[0], 'x').then(() => null, (err: unknown) => err)
    t.type(early, ClientError, 'a write to the dead master fails')
    // (CLOSED when ZooKeeper drops the host while the write still waits for a connection.)
    t.match((early as ClientError).code, /^MEMRING_ERR_CLIENT_(CONNECT|CONN_CLOSED|TIMEOUT|HOST_DOWN|CLOSED)$/, `and says why: ${(early as ClientError).message}`)
    await waitFor(() => seen.includes('zk dropped the master'), { timeoutMs: ZK_WAIT_MS, what: 'ZooKeeper drops the master' })
    const atDrop = reads
    await waitFor(() => reads > atDrop + 300, { timeoutMs: ZK_WAIT_MS, what: 'reads after the drop' })
    stop = true
    await load
    t.comment(`reads: ${atKill} before the kill, ${atDrop - atKill} until ZooKeeper dropped the master, ${reads - atDrop} after; ${client.counters.readRetries - retriesBefore} retried on the replica`)
    t.same(errors, [], 'no read failed')
    t.equal(misses, 0, 'no read missed or returned a wrong value')
    t.ok(client.counters.readRetries > retriesBefore, 'reads that hit the dead master were retried on the replica within the call')
    t.same(client.route(live[0]).copies, [r1.address], 'the replica is the one copy left')
    const err = await client.set(live[0], 'x').then(() => null, (e: unknown) => e) as ClientError
    t.equal(err?.code, ClientErrorCode.NoPrimary, 'after the drop a write fails at once with NO_PRIMARY')
    t.match(err?.message, /shard s1 has no live master/)
    t.equal(err?.retriable, true, 'never sent, so retriable')
    t.equal(await held(r1.port, live[0]), `v-${live[0]}`, 'and nothing was written to the replica')
    const s2key = keysOf.get('s2')!.find((k) => client.route(k).shard === 's2')!
    t.equal(await client.set(s2key, 'after'), true, 'the other shard takes writes')
    t.equal((await client.get(s2key))?.toString(), 'after')
  })
})

t.test('election: kill -9 of an elected master; writes follow the new epoch, reads never fail, no key moves', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  // Two `--role auto` hosts: both run for master; the survivor is elected at a higher epoch.
  const auto = ['--zk', zk.connectString, '--cluster', 'fo', '--shard', 'f1', '--zk-session-timeout', String(SESSION_MS)]
  const hosts = [await startMemringProcess(t, auto), await startMemringProcess(t, auto)]
  const shards = await ZooKeeperShards.start({ zk: zk.connectString, cluster: 'fo', sessionTimeoutMs: SESSION_MS })
  t.teardown(() => shards.close())
  const client = new Client({ servers: shards, requestTimeoutMs: 1000, probeIntervalMs: 100 })
  t.teardown(() => client.close())
  const first = await waitFor(() => client.route('k').primary !== null && client.route('k').copies.length === 2 ? client.route('k') : null,
    { timeoutMs: ZK_WAIT_MS, what: 'an elected master and an in-sync replica in the client' })
  t.ok(first.epoch >= 1, `master ${first.primary} at epoch ${first.epoch}`)
  const master = hosts.find((h) => h.address === first.primary)!
  const replica = hosts.find((h) => h !== master)!
  const keys = Array.from({ length: 100 }, (_, i) => `fo:${i}`)
  t.same(await Promise.all(keys.map(async (k) => await client.set(k, `v-${k}`))), keys.map(() => true), 'all stored on the master')
  await inSyncWith(master, replica)

  const seen: string[] = []
  shards.subscribe((list) => { if (list[0].epoch > first.epoch && list[0].primary !== null) seen.push(`epoch ${list[0].epoch}`) })
  let reads = 0
  let wrong = 0
  const errors: string[] = []
  let stop = false
  const worker = async (w: number): Promise<void> => {
    for (let i = w; !stop; i++) {
      const k = keys[i % keys.length]
      try {
        if ((await client.get(k))?.toString() !== `v-${k}`) wrong++
        reads++
      } catch (err) { errors.push(`${k}: ${(err as Error).message}`) }
    }
  }
  const load = Promise.all([0, 1, 2, 3].map(worker))
  await waitFor(() => reads > 100, { timeoutMs: ZK_WAIT_MS, what: 'reads under way' })
  await master.kill('SIGKILL')
  const t0 = Date.now()
  await waitFor(() => seen.length > 0, { timeoutMs: ZK_WAIT_MS, what: 'a new epoch in the client' })
  const elected = Date.now() - t0
  const atElection = reads
  await waitFor(() => reads > atElection + 200, { timeoutMs: ZK_WAIT_MS, what: 'reads after the election' })
  stop = true
  await load
  t.comment(`kill -9 -> new epoch in the client: ${elected} ms (session ${SESSION_MS} ms); ${reads} reads, ${client.counters.readRetries} retried on another copy`)
  t.same(errors, [], 'no read failed during the failover')
  t.equal(wrong, 0, 'no read missed or returned a wrong value')
  const after = client.route('k')
  t.same(after, { shard: 'f1', epoch: after.epoch, primary: replica.address, copies: [replica.address] }, 'writes now go to the elected replica')
  t.ok(after.epoch > first.epoch, `epoch ${first.epoch} -> ${after.epoch}`)
  t.same(keys.filter((k) => client.route(k).shard !== 'f1'), [], 'no key moved')
  t.equal(await client.set(keys[0], 'after'), true, 'a write after the reroute is stored')
  t.equal(await held(replica.port, keys[0]), 'after', 'on the new master')
})

t.test('epochs: writes follow the highest epoch, a deposed master gets none; ZooKeeper away: routing goes on', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  // Real servers, registered by hand with the epochs an election would give them.
  const [a, b, c] = [await startServer(t), await startServer(t), await startServer(t)]
  const register = async (port: number, epoch: number): Promise<Registry> => {
    const r = new Registry({ zk: zk.connectString, cluster: 'ep', shard: 'e1', role: Role.Master, epoch, advertise: { host: '127.0.0.1', port }, sessionTimeoutMs: SESSION_MS })
    t.teardown(() => r.close())
    await r.start()
    return r
  }
  await register(a.port, 2)
  const shards = await ZooKeeperShards.start({ zk: zk.connectString, cluster: 'ep', sessionTimeoutMs: SESSION_MS })
  t.teardown(() => shards.close())
  const client = new Client({ servers: shards })
  t.teardown(() => client.close())
  await waitFor(() => client.route('k').primary !== null, { timeoutMs: ZK_WAIT_MS, what: 'e1 in the client' })
  t.same(client.route('k'), { shard: 'e1', epoch: 2, primary: `127.0.0.1:${a.port}`, copies: [`127.0.0.1:${a.port}`] })
  t.equal(await client.set('k', 'on-a'), true)

  const rb = await register(b.port, 3)
  await waitFor(() => client.route('k').epoch === 3, { timeoutMs: ZK_WAIT_MS, what: 'epoch 3 seen' })
  t.equal(client.route('k').primary, `127.0.0.1:${b.port}`, 'writes reroute to the epoch-3 master')
  t.equal(await client.set('k', 'on-b'), true)
  t.equal(b.ctx.stats.cmd_set, 1, 'the write reached the new master')

  // The new master goes; the old one's record is still there, with an older epoch.
  await rb.close()
  await waitFor(() => client.route('k').epoch === 2, { timeoutMs: ZK_WAIT_MS, what: 'only the epoch-2 record left' })
  const setsOnA = a.ctx.stats.cmd_set
  const getsOnA = a.ctx.stats.cmd_get
  t.same(client.route('k'), { shard: 'e1', epoch: 2, primary: null, copies: [] }, 'the deposed master is neither writer nor copy')
  await t.rejects(client.set('k', 'x'), { code: ClientErrorCode.NoPrimary, message: /epoch 2, older than epoch 3 seen before/ })
  await t.rejects(client.get('k'), { code: ClientErrorCode.NoCopy })
  t.equal(a.ctx.stats.cmd_set, setsOnA, 'no write reached the deposed master')
  t.equal(a.ctx.stats.cmd_get, getsOnA, 'no read either')
  t.equal(client.route('k').shard, 'e1', 'no key moved')

  await register(c.port, 4)
  await waitFor(() => client.route('k').epoch === 4, { timeoutMs: ZK_WAIT_MS, what: 'epoch 4 seen' })
  t.equal(await client.set('k', 'on-c'), true, 'writes resume on the next master')
  t.equal(c.ctx.stats.cmd_set, 1)
  t.equal(a.ctx.stats.cmd_set, setsOnA)

  // ZooKeeper away: the client keeps routing on the last snapshot.
  const seen: string[] = []
  shards.watcher.on('stale', () => seen.push('stale'))
  await zk.kill()
  await waitFor(() => shards.stale, { timeoutMs: ZK_WAIT_MS, what: 'the source knows ZooKeeper is away' })
  t.same(seen, ['stale'])
  t.same(client.route('k'), { shard: 'e1', epoch: 4, primary: `127.0.0.1:${c.port}`, copies: [`127.0.0.1:${c.port}`] }, 'the last snapshot still routes')
  t.equal(await client.set('k', 'zk-away'), true, 'writes go on')
  t.equal((await client.get('k'))?.toString(), 'zk-away', 'reads go on')
  t.equal(c.ctx.stats.cmd_set, 2)
})
