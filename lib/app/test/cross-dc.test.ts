// Cross-DC followers with real processes, a real ZooKeeper and a delayed WAN between the
// two "datacenters" (lib/testing/tcp-relay.ts: 40 ms one way, jitter; every link from DC B
// to DC A crosses it: the follower stream, B's ZooKeeper session, B's proxy to A's hosts).
//   - B's followers stream the shard: one stream crosses the WAN (B's head), the other
//     chains from the head; they end with A's exact state after a random set/delete run
//     on a few keys (digest), and are never elected when A's master is killed -9;
//   - a cut WAN link comes back with a partial resync (no full sync);
//   - a proxy in B (--dc B) reads from B's copies only while B has one (the proxy's
//     local/remote counters and the hosts' own cmd_get), writes reach A's master, and
//     reads fall back to A when B's copies are gone;
//   - memringctl promote moves the home DC to B with an epoch bump and no acknowledged
//     write lost; A's hosts then follow B.
import t from 'tap'
import type { Test } from 'tap'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { decodeHostRecord, nodePath } from '../../cluster/layout.js'
import { ZkSession } from '../../cluster/zk.js'
import type { ChildServer } from '../../testing/memring-process.js'
import { compareDigests, digest, stats } from '../../testing/replication.js'
import { exchange } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'
import { byAddr, caughtUp, startDcs as startTwoDcs, startProxyInB, WAIT_MS, WAN, type Dcs } from '../../testing/two-dcs.js'
import { startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'
import { rng } from '../../testing/seeds.js'

const CTL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/memringctl.js')

/** memringctl, run asynchronously: the WAN relays live in this process and must keep relaying. */
function ctl (args: string[]): Promise<{ status: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CTL, ...args], { encoding: 'utf8', timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ status: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr })
    })
  })
}

t.test('cross-DC followers', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const obs = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 })
  t.teardown(() => obs.close())
  await obs.start()
  const dir = mkdtempSync(path.join(tmpdir(), 'memring-wan-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))

  const startDcs = (t: Test, cluster: string): Promise<Dcs> => startTwoDcs(t, zk, obs, dir, cluster)
  const set = async (port: number, key: string, value: string): Promise<string> =>
    (await exchange(port, `set ${key} 0 0 ${value.length}\r\n${value}\r\n`)).toString()
  const role = async (cluster: string, h: ChildServer): Promise<string> => {
    const got = await obs.getData(nodePath(cluster, h.address))
    return got === null ? 'gone' : decodeHostRecord(got.data)?.role ?? '?'
  }

  t.test('followers: one WAN stream, the other chained; exact final state; never elected; lag reported', async (t) => {
    const d = await startDcs(t, 'x1')
    const l = await d.master()
    const m = byAddr(d.a, l.node)
    const replica = d.a.find((h) => h !== m)!
    const [head, chained] = [...d.b].sort((x, y) => x.address < y.address ? -1 : 1)
    await caughtUp(m, [replica, ...d.b])
    t.equal((await stats(head.port, 'replication')).master, m.address, 'B\'s head streams from A\'s master')
    t.equal((await stats(chained.port, 'replication')).master, head.address, 'B\'s other follower chains from the head')
    const ms = await stats(m.port, 'replication')
    t.equal(ms.replicas, '2', 'A\'s master serves two streams: its replica and B\'s head (one WAN stream)')
    t.equal((await stats(head.port, 'replication')).replicas, '1', 'the head serves the chained follower')
    for (const h of d.b) t.equal(await role('x1', h), 'follower', `${h.address} is published as a follower`)
    t.match(await set(head.port, 'w', 'x'), /^SERVER_ERROR read-only replica/, 'followers refuse client writes')

    // a random run of set/delete over a few keys in A: B ends with A's exact state
    const rand = rng(1405)
    const keys = ['k0', 'k1', 'k2', 'k3']
    let ops = ''
    for (let i = 0; i < 600; i++) {
      const k = keys[Math.floor(rand() * keys.length)]!
      if (rand() < 0.35) ops += `delete ${k} noreply\r\n`
      else { const v = `v${i}-${Math.floor(rand() * 1e6)}`; ops += `set ${k} ${i} 0 ${v.length} noreply\r\n${v}\r\n` }
    }
    await exchange(m.port, ops + 'mn\r\n')
    await caughtUp(m, [replica, ...d.b])
    const want = await digest(m.port, keys)
    for (const h of d.b) t.same(compareDigests(want, await digest(h.port, keys)), [], `${h.address} has A's final state of every key`)

    // lag under load over the 40 ms link: measured (reported, not gated: see the bench)
    const lags: number[] = []
    for (let i = 0; i < 40; i++) {
      const t0 = performance.now()
      await set(m.port, `lag${i}`, 'x')
      await waitFor(async () => (await exchange(chained.port, `mg lag${i} v\r\n`)).toString().startsWith('VA'), { timeoutMs: 5000, intervalMs: 2, what: 'the write in B' })
      lags.push(performance.now() - t0)
    }
    lags.sort((x, y) => x - y)
    t.ok(lags[0]! >= WAN.delayMs, `a write reaches B no sooner than the one-way delay (${lags[0]!.toFixed(1)} ms)`)
    t.comment(`write in A -> visible on B's chained follower: p50 ${lags[20]!.toFixed(1)} ms, max ${lags[39]!.toFixed(1)} ms over a ${WAN.delayMs} ms one-way link`)
    const hs = await stats(chained.port, 'replication')
    t.ok(Number(hs.lag_ms) >= 0 && hs.lag_seqno !== undefined, 'stats replication reports lag in ms and seqno')

    // kill -9 A's master: A's replica is elected; B never is, and B continues partially
    const fullBefore = await Promise.all(d.b.map(async (h) => (await stats(h.port, 'replication')).full_syncs))
    await m.kill()
    const l2 = await waitFor(async () => { const x = await d.master(); return x.epoch > l.epoch ? x : null }, { timeoutMs: WAIT_MS, what: 'a new master' })
    t.equal(l2.node, replica.address, 'A\'s replica is elected, never a follower of B')
    t.equal(await set(replica.port, 'after', 'kill'), 'STORED\r\n')
    await caughtUp(replica, d.b)
    t.equal((await stats(head.port, 'replication')).master, replica.address, 'B\'s head follows the new master')
    const fullAfter = await Promise.all(d.b.map(async (h) => (await stats(h.port, 'replication')).full_syncs))
    t.same(fullAfter, fullBefore, 'no full sync in B after the failover in A')
    for (const h of d.b) t.equal(await role('x1', h), 'follower')
    t.match((await exchange(chained.port, 'get after\r\n')).toString(), /^VALUE after 0 4\r\nkill\r\n/, 'new writes reach the chained follower')
  })

  t.test('a cut WAN link comes back with a partial resync', async (t) => {
    const d = await startDcs(t, 'x2')
    const m = byAddr(d.a, (await d.master()).node)
    const [head] = [...d.b].sort((x, y) => x.address < y.address ? -1 : 1)
    await caughtUp(m, d.b)
    const before = await stats(head.port, 'replication')
    const link = d.relays.get(m.address)!
    link.blockNew(true)
    link.cut()
    let stored = 0
    for (let i = 0; i < 200; i++) if (await set(m.port, `cut${i}`, `v${i}`) === 'STORED\r\n') stored++
    t.equal(stored, 200, 'the master takes writes while B is cut off')
    await new Promise((resolve) => setTimeout(resolve, 500))
    link.blockNew(false)
    link.cut()
    await caughtUp(m, d.b)
    const after = await stats(head.port, 'replication')
    t.equal(after.full_syncs, before.full_syncs, 'no full sync')
    t.ok(Number(after.partial_syncs) > Number(before.partial_syncs), `partial resync (${before.partial_syncs} -> ${after.partial_syncs})`)
    const keys = Array.from({ length: 200 }, (_, i) => `cut${i}`)
    for (const h of d.b) t.same(compareDigests(await digest(m.port, keys), await digest(h.port, keys)), [], `${h.address} has every write made while cut`)
  })

  t.test('a proxy in B reads in B while B has a copy, writes to A\'s master, falls back to A', async (t) => {
    const d = await startDcs(t, 'x3')
    const m = byAddr(d.a, (await d.master()).node)
    await caughtUp(m, d.b)
    const proxy = await startProxyInB(t, d, 4)
    const port = proxy.port
    for (let i = 0; i < 50; i++) t.equal(await set(port, `p${i}`, `v${i}`), 'STORED\r\n')
    await caughtUp(m, d.b)
    const getsA = await Promise.all(d.a.map(async (h) => Number((await stats(h.port)).cmd_get)))
    const getsB = await Promise.all(d.b.map(async (h) => Number((await stats(h.port)).cmd_get)))
    const p0 = await stats(port, 'proxy')
    let hits = 0
    for (let i = 0; i < 50; i++) if ((await exchange(port, `get p${i}\r\n`)).toString().startsWith(`VALUE p${i} 0`)) hits++
    t.equal(hits, 50, 'every write read back through the proxy in B')
    const p1 = await stats(port, 'proxy')
    t.equal(Number(p1.proxy_remote_reads) - Number(p0.proxy_remote_reads), 0, 'no read crossed the WAN')
    t.ok(Number(p1.proxy_local_reads) - Number(p0.proxy_local_reads) >= 50, 'every read went to a copy in B')
    const getsA1 = await Promise.all(d.a.map(async (h) => Number((await stats(h.port)).cmd_get)))
    const getsB1 = await Promise.all(d.b.map(async (h) => Number((await stats(h.port)).cmd_get)))
    t.same(getsA1, getsA, 'A\'s hosts served no get')
    t.ok(getsB1.every((g, i) => g > getsB[i]!), `both of B's followers served gets (${getsB} -> ${getsB1})`)
    // B's copies gone: reads fall back to A
    for (const h of d.b) await h.kill()
    await waitFor(async () => (await stats(port, 'proxy')).topology_hosts === '2', { timeoutMs: WAIT_MS, what: 'the proxy sees B\'s hosts gone' })
    const r = (await exchange(port, 'get p7\r\n')).toString()
    t.match(r, /^VALUE p7 0 2\r\nv7\r\nEND\r\n$/, 'a read falls back to A')
    t.ok(Number((await stats(port, 'proxy')).proxy_remote_reads) > Number(p1.proxy_remote_reads), 'counted as a remote read')
  })

  t.test('memringctl promote moves the home DC to B with an epoch bump, nothing acknowledged lost', async (t) => {
    const d = await startDcs(t, 'x4')
    const l = await d.master()
    const m = byAddr(d.a, l.node)
    await caughtUp(m, [...d.a.filter((h) => h !== m), ...d.b])
    const keys: string[] = []
    for (let i = 0; i < 100; i++) { t.equal(await set(m.port, `pr${i}`, `v${i}`), 'STORED\r\n'); keys.push(`pr${i}`) }
    const r = await ctl(['promote', '--zk', zk.connectString, '--cluster', 'x4', '--shard', 's1', '--dc', 'B', '--timeout', '20000'])
    t.equal(r.status, 0, `memringctl promote: ${r.stdout}${r.stderr}`)
    if (r.status !== 0) for (const h of [...d.a, ...d.b]) t.comment(`${h.address}:\n${h.stderr.split('\n').filter((x) => /switchover|hand|elect|master|home/.test(x)).slice(-12).join('\n')}`)
    t.match(r.stdout, `in dc B (epoch ${l.epoch + 1})`, 'memringctl reports the new master in B')
    const l2 = await d.master()
    const nb = byAddr(d.b, l2.node)
    t.ok(nb !== undefined, `the new master ${l2.node} is in B`)
    t.equal(l2.epoch, l.epoch + 1, 'epoch bumped')
    t.same(compareDigests(await digest(m.port, keys), await digest(nb.port, keys)), [], 'every acknowledged write is on B\'s new master')
    t.equal(await set(nb.port, 'fromB', 'yes'), 'STORED\r\n', 'B\'s master takes writes')
    t.match(await set(m.port, 'x', 'y'), /^SERVER_ERROR read-only replica/, 'A\'s old master refuses writes')
    await caughtUp(nb, d.a)
    for (const h of d.a) {
      t.equal(await role('x4', h), 'follower', `${h.address} (A) is now a follower`)
      t.match((await exchange(h.port, 'get fromB\r\n')).toString(), /^VALUE fromB 0 3\r\nyes\r\n/, `${h.address} has B's write`)
    }
    // and the other way round: promote back to A
    const back = await ctl(['promote', '--zk', zk.connectString, '--cluster', 'x4', '--shard', 's1', '--dc', 'B'])
    t.equal(back.status, 1, 'promoting to the DC that is already home fails')
    t.match(back.stderr, /already the home DC/)
  })
})
