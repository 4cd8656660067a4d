/**
 * `memringctl status` against a live cluster: ZooKeeper and memring processes (two
 * candidates and a follower in shard a, one host in shard b). The JSON and the screen show
 * every shard's master and epoch, the replica following it with its lag and DC, and the
 * follower; after writes the replica's seqno catches up with the master's; after the
 * master is killed, the replica is master at a newer epoch. A proxy is listed with its DC
 * and backends while it runs.
 */
import t from 'tap'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'
import { ChildServer, PROXY_BIN, startMemringProcess } from '../../testing/memring-process.js'
import { freePort } from '../../testing/zookeeper.js'
import { exchange } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'
import type { ClusterStatus } from '../status.js'

const CTL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/memringctl.js')
const SESSION_MS = 1500

t.test('memringctl status shows shards, masters, epochs, replicas, followers, lag and DC', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const common = ['--zk', zk.connectString, '--cluster', 'st', '--zk-session-timeout', String(SESSION_MS)]
  const a1 = await startMemringProcess(t, [...common, '--shard', 'a', '--dc', 'east'])
  const a2 = await startMemringProcess(t, [...common, '--shard', 'a', '--dc', 'east'])
  const a3 = await startMemringProcess(t, [...common, '--shard', 'a', '--dc', 'west', '--role', 'follower'])
  const b1 = await startMemringProcess(t, [...common, '--shard', 'b', '--dc', 'east'])
  const ctl = (...args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [CTL, 'status', '--zk', zk.connectString, '--cluster', 'st', ...args], { encoding: 'utf8', timeout: 20000 })
  const status = (): ClusterStatus => {
    const r = ctl('--json')
    if (r.status !== 0) throw new Error(String(r.stderr))
    return JSON.parse(String(r.stdout)) as ClusterStatus
  }

  const st = await waitFor(() => {
    const s = status()
    const a = s.shards.find((x) => x.id === 'a')
    return s.hosts === 4 && s.noMaster.length === 0 && a !== undefined && a.hosts.some((h) => h.role === 'replica') ? s : null
  }, { timeoutMs: SESSION_MS * 10, intervalMs: 300, what: 'both shards with a master, shard a with a replica' })
  t.same(st.shards.map((s) => s.id), ['a', 'b'])
  const a = st.shards[0]!
  const byAddr = new Map<string, ChildServer>([[a1.address, a1], [a2.address, a2]])
  t.ok(a.master !== null && byAddr.has(a.master), `shard a's master is one of its candidates (${a.master})`)
  t.ok(a.epoch >= 1, 'shard a has an epoch')
  t.same(a.hosts.map((h) => [h.role, h.dc]), [['master', 'east'], ['replica', 'east'], ['follower', 'west']], 'master, then replica, then follower, with their DCs')
  t.equal(a.hosts[0]!.address, a.master)
  t.equal(a.hosts[1]!.follows, a.master, 'the replica follows the master')
  t.equal(a.hosts[2]!.address, a3.address)
  t.equal(st.shards[1]!.master, b1.address)

  const screen = ctl()
  t.equal(screen.status, 0, String(screen.stderr))
  const out = String(screen.stdout)
  t.match(out, /^cluster st: 2 shards, 4 hosts, every shard has a master/)
  t.match(out, new RegExp(`^a\\s+${a.epoch}\\s+master\\s+${a.master!.replace(/\./g, '\\.')}\\s+east`, 'm'))
  t.match(out, /^\s+replica\s+\S+\s+east\s+\d+\s+\d+\s+\d+/m, 'the replica line has seqno, lag and lag ms')
  t.match(out, /^\s+follower\s+\S+\s+west/m)

  // A proxy of the cluster is listed with its DC and its backends; gone once it stops.
  const pport = await freePort()
  const proxy = new ChildServer(PROXY_BIN, pport, ['-p', String(pport), '-l', '127.0.0.1', '--zk', zk.connectString, '--cluster', 'st', '--dc', 'west', '--zk-session-timeout', String(SESSION_MS)])
  t.teardown(() => proxy.kill())
  await proxy.start()
  const withProxy = await waitFor(() => { const s = status(); return s.proxies.length === 1 ? s : null }, { timeoutMs: SESSION_MS * 10, intervalMs: 300, what: 'the proxy listed' })
  const p = withProxy.proxies[0]!
  t.equal(p.address, `127.0.0.1:${pport}`, 'the proxy is listed by its address')
  t.equal(p.dc, 'west')
  t.ok(p.backends >= 2, `it reports its backends (${p.backends})`)
  t.same(p.down, [], 'none marked down')
  const lines = String(ctl().stdout).split('\n')
  const at = lines.indexOf('1 proxies')
  t.ok(at > 0 && lines[at + 2]?.startsWith(`127.0.0.1:${pport} `) === true && lines[at + 2]!.includes(' west '), 'the screen lists it')
  await proxy.kill('SIGTERM')
  await waitFor(() => status().proxies.length === 0, { timeoutMs: SESSION_MS * 10, intervalMs: 300, what: 'the stopped proxy gone' })
  t.pass('a stopped proxy leaves the list')

  // Writes on the master: the replica's published seqno follows to the master's.
  const master = byAddr.get(a.master!)!
  const other = master === a1 ? a2 : a1
  t.equal((await exchange(master.port, 'set k1 0 0 1\r\nx\r\nset k2 0 0 1\r\ny\r\n')).toString(), 'STORED\r\nSTORED\r\n')
  const caught = await waitFor(() => {
    const s = status().shards[0]!
    const m = s.hosts.find((h) => h.role === 'master')
    const r = s.hosts.find((h) => h.role === 'replica')
    return m !== undefined && r !== undefined && m.seqno !== null && m.seqno >= 2 && r.seqno === m.seqno && r.lagSeqno === 0 ? { m, r } : null
  }, { timeoutMs: SESSION_MS * 10, intervalMs: 300, what: 'the replica caught up in the node records' })
  t.ok(caught.m.seqno! >= 2, `master seqno ${caught.m.seqno}, replica ${caught.r.seqno}`)

  // Kill the master: the replica becomes master at a newer epoch.
  await master.kill()
  const after = await waitFor(() => {
    const s = status().shards[0]!
    return s.master === other.address ? s : null
  }, { timeoutMs: SESSION_MS * 12, intervalMs: 300, what: 'the replica elected' })
  t.ok(after.epoch > a.epoch, `epoch ${a.epoch} -> ${after.epoch}`)
  t.notOk(after.hosts.some((h) => h.address === master.address), 'the dead master is gone from the status')
})
