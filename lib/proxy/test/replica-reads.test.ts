// Replica reads through memring-proxy on a real cluster: a real ZooKeeper, shard s1 with
// a master and a replica that follows it (real memring processes, --role master /
// --role replica), shard s2 with a master, and proxies that learn all of it from
// ZooKeeper. Reads are spread over s1's copies; --read-from master never reads the
// replica; kill -9 of s1's master under a continuous read load costs the readers no
// error and no false miss (the replica answers), while writes to s1 fail with a clear
// SERVER_ERROR and s2 keeps taking them.
import t from 'tap'
import { createProxy, type MemringProxy } from '../proxy.js'
import { startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'
import { startMemringProcess, type ChildServer } from '../../testing/memring-process.js'
import { rawClient, type RawClient } from '../../testing/raw-client.js'
import { stats } from '../../testing/replication.js'
import { waitFor } from '../../testing/wait-for.js'

const SESSION_MS = 1500
/** ZooKeeper-derived waits (registration, record updates, expiry): ten sessions. */
const ZK_WAIT_MS = SESSION_MS * 10
const KEYS = 100

async function inSync (master: ChildServer, replica: ChildServer): Promise<void> {
  await waitFor(async () => {
    const [m, r] = await Promise.all([stats(master.port, 'replication'), stats(replica.port, 'replication')])
    return r.master === master.address && r.sync_in_progress === '0' && r.master_link === 'online' && r.seqno === m.seqno
  }, { timeoutMs: ZK_WAIT_MS, what: `${replica.address} in sync with ${master.address}` })
}

const gets = async (s: ChildServer): Promise<number> => Number((await stats(s.port)).cmd_get)

/** Sequential single-key gets; returns what was not the expected hit. */
async function readEach (c: RawClient, keys: string[]): Promise<string[]> {
  const wrong: string[] = []
  for (const k of keys) {
    c.write(`get ${k}\r\n`)
    const head = (await c.lines(1))[0]!
    if (head !== `VALUE ${k} 0 ${k.length}`) { wrong.push(`${k}: ${head}`); continue }
    const rest = await c.lines(2)
    if (rest[0] !== k || rest[1] !== 'END') wrong.push(`${k}: ${rest.join('|')}`)
  }
  return wrong
}

t.test('a shard master and its replica behind memring-proxy', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const member = (shard: string, role: string): string[] =>
    ['--zk', zk.connectString, '--cluster', 'rr', '--shard', shard, '--role', role, '--zk-session-timeout', String(SESSION_MS)]
  const m1 = await startMemringProcess(t, member('s1', 'master'))
  await waitFor(async () => (await stats(m1.port, 'replication')).role === 'master', { timeoutMs: ZK_WAIT_MS, what: 's1 master decided' })
  const r1 = await startMemringProcess(t, member('s1', 'replica'))
  await startMemringProcess(t, member('s2', 'master'))
  const proxyWith = async (readFrom: 'any' | 'master'): Promise<MemringProxy> => {
    const p = createProxy({
      port: 0,
      readFrom,
      topology: { kind: 'zk', zk: zk.connectString, cluster: 'rr', sessionTimeoutMs: SESSION_MS },
      backend: { timeoutMs: 500, tkoThreshold: 3, probeMs: 50, probeMaxMs: 300 },
    })
    await p.start()
    t.teardown(() => p.close())
    return p
  }
  const proxy = await proxyWith('any')
  const masterOnly = await proxyWith('master')
  const s1 = (p: MemringProxy): number => p.router.topology.shardIds.indexOf('s1')
  for (const p of [proxy, masterOnly]) {
    // Both shards have a master (with the election: once elected, not once registered) and
    // s1's replica publishes a complete copy.
    await waitFor(() => p.router.topology.shardIds.length === 2 && p.router.route(0).writer !== null && p.router.route(1).writer !== null &&
      p.router.topology.shards.get('s1')!.copies.length === 2,
      { timeoutMs: ZK_WAIT_MS, what: 'two shards with masters, s1 with two readable copies, in the proxy\'s topology' })
  }
  t.same(proxy.router.route(s1(proxy)).readers.map((h) => h.address), [m1.address, r1.address], 'any: s1 reads from master and replica')
  t.same(masterOnly.router.route(s1(masterOnly)).readers.map((h) => h.address), [m1.address], 'master: s1 reads from the master only')

  // Keys per shard, through the proxy's own router; written through the proxy.
  const keysPerShard = (prefix: string): Record<string, string[]> => {
    const out: Record<string, string[]> = { s1: [], s2: [] }
    for (let i = 0; out.s1!.length < KEYS || out.s2!.length < KEYS; i++) {
      const k = `${prefix}:${i}`
      const id = proxy.router.topology.shardIds[proxy.router.shardIndexOf(Buffer.from(k), 0, k.length)]!
      if (out[id]!.length < KEYS) out[id]!.push(k)
    }
    return out
  }
  const keysOf = keysPerShard('item')
  const writeKeysOf = keysPerShard('w')
  const c = await rawClient(t, proxy.port)
  const all = [...keysOf.s1!, ...keysOf.s2!]
  c.write(all.map((k) => `set ${k} 0 0 ${k.length}\r\n${k}\r\n`).join(''))
  t.same(await c.lines(all.length), all.map(() => 'STORED'))
  await inSync(m1, r1)

  t.test('reads are spread over the master and the replica', async (t) => {
    const [gm, gr] = [await gets(m1), await gets(r1)]
    t.same(await readEach(c, keysOf.s1!), [], 'every s1 key hits')
    const dm = await gets(m1) - gm
    const dr = await gets(r1) - gr
    t.comment(`s1 reads: master ${dm}, replica ${dr}`)
    t.equal(dm + dr, KEYS, 'each read reached one copy')
    t.ok(dm >= KEYS / 4 && dr >= KEYS / 4, `both copies served at least a quarter (master ${dm}, replica ${dr})`)
  })

  t.test('--read-from master never reads the replica', async (t) => {
    const mc = await rawClient(t, masterOnly.port)
    const [gm, gr] = [await gets(m1), await gets(r1)]
    t.same(await readEach(mc, keysOf.s1!), [], 'every s1 key hits')
    t.equal(await gets(r1) - gr, 0, 'the replica served none')
    t.equal(await gets(m1) - gm, KEYS, 'the master served all')
  })

  t.test('kill -9 of the master under a read load: no error, no false miss; writes fail clearly', async (t) => {
    const reader = await rawClient(t, proxy.port)
    const writer = await rawClient(t, proxy.port)
    let stop = false
    let reads = 0
    const wrong: string[] = []
    const readLoop = (async () => {
      for (let i = 0; !stop; i++) {
        // Single gets over s1, and multi-gets across both shards, of keys written before the kill.
        const k = keysOf.s1![i % KEYS]!
        wrong.push(...await readEach(reader, [k]))
        const mk = [keysOf.s1![(i * 7) % KEYS]!, keysOf.s2![i % KEYS]!, keysOf.s1![(i * 3 + 1) % KEYS]!]
        reader.write(`get ${mk.join(' ')}\r\n`)
        const got = await reader.until('END\r\n')
        const want = mk.map((x) => `VALUE ${x} 0 ${x.length}\r\n${x}\r\n`).join('') + 'END\r\n'
        if (got !== want) wrong.push(`multi-get ${mk.join(' ')}: ${JSON.stringify(got)}`)
        reads += 4
      }
    })()
    const writes: { shard: string, reply: string, afterKill: boolean, afterRemoval: boolean }[] = []
    let killed = false
    let removed = false
    const writeLoop = (async () => {
      for (let i = 0; !stop; i++) {
        for (const shard of ['s1', 's2']) {
          const k = writeKeysOf[shard]![i % KEYS]!
          writer.write(`set ${k} 0 0 1\r\nw\r\n`)
          const afterKill = killed
          const afterRemoval = removed
          writes.push({ shard, reply: (await writer.lines(1))[0]!, afterKill, afterRemoval })
        }
      }
    })()
    await waitFor(() => reads > 200 && writes.length > 50, { timeoutMs: ZK_WAIT_MS, what: 'load running' })
    const readsAtKill = reads
    const retriesAtKill = proxy.core.counters.proxy_read_retries
    // A write sent while the signal is on its way may still land: "after the kill" starts
    // once the process is gone (its exit observed).
    await m1.kill('SIGKILL')
    killed = true
    await waitFor(() => proxy.router.topology.shards.get('s1')!.primary === null, { timeoutMs: ZK_WAIT_MS, intervalMs: 5, what: 'ZooKeeper drops the s1 master' })
    removed = true
    const readsAtRemoval = reads
    const writesAtRemoval = writes.length
    await waitFor(() => reads > readsAtRemoval + 200 && writes.length > writesAtRemoval + 20, { timeoutMs: ZK_WAIT_MS, what: 'load after the removal' })
    stop = true
    await Promise.all([readLoop, writeLoop])

    t.comment(`reads: ${readsAtKill} before the kill, ${readsAtRemoval - readsAtKill} between kill and ZooKeeper removal, ${reads - readsAtRemoval} after; ` +
      `read retries ${proxy.core.counters.proxy_read_retries - retriesAtKill}`)
    t.same(wrong, [], 'no read error and no false miss, before, during and after the failover')
    t.ok(reads - readsAtKill > 200, 'reads went on through the kill')
    t.same(proxy.router.route(s1(proxy)).readers.map((h) => h.address), [r1.address], 'the replica is s1\'s only copy now')
    // How many reads were caught on the dead master depends on how soon the writes marked it
    // down (TKO): reported, not asserted. With the retry disabled, the check above fails.

    const s1After = writes.filter((w) => w.shard === 's1' && w.afterKill)
    const s2 = writes.filter((w) => w.shard === 's2')
    t.ok(s1After.length > 0 && s1After.every((w) => /^SERVER_ERROR (no live master for this key|backend (marked down|timeout|connection lost))$/.test(w.reply)),
      `every s1 write after the kill failed with a clear SERVER_ERROR (${[...new Set(s1After.map((w) => w.reply))].join('; ')})`)
    t.ok(s1After.filter((w) => w.afterRemoval).every((w) => w.reply === 'SERVER_ERROR no live master for this key'), 'once ZooKeeper dropped it: no live master')
    t.ok(s1After.some((w) => w.afterRemoval), 'writes were tried after the removal')
    t.same(s2.filter((w) => w.reply !== 'STORED'), [], `s2 took every write (${s2.length})`)
    t.equal((await stats(r1.port)).cmd_set, '0', 'the replica was sent no client write')
    t.notOk(reader.closed || writer.closed, 'no client connection dropped')
  })
})
