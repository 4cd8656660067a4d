// Structured cluster events (README "Cluster events") during a real failover: three
// `--role auto` hosts and a real ZooKeeper, kill -9 of the master. The new master's stderr
// (pino JSON lines, -v) must carry the documented sequence with its fields, and the other
// replica's must show it re-syncing from the new master. A replica whose link to the master
// is slowed (a real relay with a delay) logs lag_high past --repl-lag-threshold, and lag_ok
// once the link is fast again.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import t from 'tap'
import { decodeLeaderRecord, leaderPath } from '../../cluster/layout.js'
import { ZkSession } from '../../cluster/zk.js'
import { ChildServer, PROXY_BIN, startMemringProcess } from '../../testing/memring-process.js'
import { freePort } from '../../testing/memcached.js'
import { exchange } from '../../testing/raw-client.js'
import { replicationOptions } from '../replication-app.js'
import { startRelay } from '../../testing/tcp-relay.js'
import { waitFor } from '../../testing/wait-for.js'
import { startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'

const SESSION_MS = 2000
const WAIT_MS = SESSION_MS * 10

type Line = Record<string, unknown> & { event?: string }

/** README "Cluster events": each event's level, area (mod) and fields. */
const SCHEMA: Record<string, { level: number, mod: string, fields: string[] }> = {
  joined: { level: 30, mod: 'zk', fields: ['sessionId', 'timeoutMs'] },
  registered: { level: 30, mod: 'registry', fields: ['node', 'path', 'sessionId'] },
  session_expired: { level: 40, mod: 'zk', fields: ['sessionId', 'cause'] },
  following: { level: 30, mod: 'election', fields: ['shard', 'master', 'epoch'] },
  vacant: { level: 40, mod: 'election', fields: ['shard', 'last'] },
  elected: { level: 30, mod: 'election', fields: ['shard', 'epoch', 'seqno', 'ms', 'ranked'] },
  fenced: { level: 40, mod: 'election', fields: ['shard', 'epoch', 'why'] },
  resync_started: { level: 30, mod: 'replication', fields: ['kind', 'master', 'seqno', 'epoch'] },
  resync_finished: { level: 30, mod: 'replication', fields: ['kind', 'items', 'bytes', 'durationMs', 'master', 'seqno'] },
}

/** Every event line of a host against the documented schema: returns what is off. */
function offSchema (lines: Line[]): string[] {
  const off: string[] = []
  for (const e of lines) {
    const s = SCHEMA[e.event!]
    if (s === undefined) continue
    if (e.level !== s.level || e.mod !== s.mod) off.push(`${e.event!}: level ${String(e.level)} mod ${String(e.mod)}`)
    for (const f of s.fields) if (!(f in e)) off.push(`${e.event!}: no ${f}`)
    if (typeof e.time !== 'string' || typeof e.pid !== 'number') off.push(`${e.event!}: no time/pid`)
  }
  return off
}

/** Every JSON line of a process's stderr (non-JSON lines fail the parse: there must be none). */
function events (h: ChildServer): Line[] {
  return h.stderr.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line).filter((l) => typeof l.event === 'string')
}

t.test('the event log of a failover', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const obs = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 })
  t.teardown(() => obs.close())
  await obs.start()
  const leader = (after: number): Promise<{ node: string, epoch: number }> => waitFor(async () => {
    const got = await obs.getData(leaderPath('ev', 's1'))
    const l = got === null ? null : decodeLeaderRecord(got.data)
    return l !== null && l.epoch > after ? l : null
  }, { timeoutMs: WAIT_MS, what: `a master of epoch > ${after}` })
  const args = ['-v', '--zk', zk.connectString, '--cluster', 'ev', '--shard', 's1', '--zk-session-timeout', String(SESSION_MS)]
  const hosts: ChildServer[] = []
  for (let i = 0; i < 3; i++) hosts.push(await startMemringProcess(t, args))
  const first = await leader(0)
  const old = hosts.find((h) => h.address === first.node)!
  for (let i = 0; i < 50; i++) await exchange(old.port, `set k${i} 0 0 2\r\nv${i % 10}\r\n`)
  const rest = hosts.filter((h) => h !== old)
  // Both replicas have finished a full sync and applied the writes before the kill.
  await waitFor(() => rest.every((h) => events(h).some((e) => e.event === 'resync_finished' && e.kind === 'full')), { timeoutMs: WAIT_MS, what: 'full syncs finished' })
  await waitFor(async () => {
    for (const h of rest) if (!(await exchange(h.port, 'get k49\r\n')).toString().startsWith('VALUE ')) return false
    return true
  }, { timeoutMs: WAIT_MS, what: 'the writes on both replicas' })

  await old.kill('SIGKILL')
  const next = await leader(first.epoch)
  const winner = rest.find((h) => h.address === next.node)!
  const other = rest.find((h) => h !== winner)!
  const elected = await waitFor(() => events(winner).find((e) => e.event === 'elected'), { timeoutMs: WAIT_MS, what: 'the elected event' })

  const seq = events(winner).map((e) => e.event)
  const order = ['joined', 'registered', 'following', 'resync_started', 'resync_finished', 'vacant', 'elected']
  let at = -1
  for (const ev of order) {
    const i = seq.indexOf(ev, at + 1)
    t.ok(i > at, `${ev} comes after the events before it (${seq.join(',')})`)
    at = Math.max(at, i)
  }
  const full = events(winner).find((e) => e.event === 'resync_finished')!
  t.equal(full.kind, 'full')
  t.ok(typeof full.items === 'number' && typeof full.bytes === 'number' && typeof full.durationMs === 'number', 'a finished resync has items, bytes, durationMs')
  t.ok((full.items as number) >= 0 && (full.bytes as number) >= (full.items as number) * 20, `bytes cover the items (${String(full.items)} items, ${String(full.bytes)} bytes)`)
  t.equal(elected.shard, 's1')
  t.equal(elected.epoch, next.epoch, 'elected carries the epoch ZooKeeper records')
  t.ok((elected.seqno as number) >= 50, `elected carries the winner's seqno (${String(elected.seqno)})`)
  t.ok(typeof elected.ms === 'number' && (elected.ms as number) >= 0, `elected carries the ms since the vacancy (${String(elected.ms)})`)
  t.equal(elected.level, 30, 'elected is an info line')
  t.ok(typeof elected.time === 'string' && typeof elected.pid === 'number', 'every line has time and pid')

  // The other replica continues from the new master with a partial resync.
  const again = await waitFor(() => events(other).find((e) => e.event === 'resync_started' && (e.epoch as number) === next.epoch), { timeoutMs: WAIT_MS, what: 'the other replica re-syncing' })
  t.equal(again.kind, 'partial', 'the other replica resumes its stream (partial)')
  t.same(again.master, { host: '127.0.0.1', port: winner.port })

  // The new master paused past its session (SIGSTOP): the other host is elected; the paused
  // one wakes fenced, learns its session expired, and joins and registers again.
  const before = events(winner).length
  process.kill(winner.pid!, 'SIGSTOP')
  let resumed = false
  t.teardown(() => { if (!resumed && winner.pid !== null) process.kill(winner.pid, 'SIGCONT') })
  const third = await leader(next.epoch)
  t.equal(third.node, other.address, 'the other host took over')
  process.kill(winner.pid!, 'SIGCONT')
  resumed = true
  const seen = new Set([...events(winner), ...events(other)].map((e) => e.event))
  t.same(offSchema([...events(winner), ...events(other)]), [], `every event has its documented level, mod and fields (${[...seen].join(',')})`)
  const after = (): Line[] => events(winner).slice(before)
  await waitFor(() => after().some((e) => e.event === 'registered'), { timeoutMs: WAIT_MS, what: 'the woken host registering again' })
  const woke = after()
  const fenced = woke.find((e) => e.event === 'fenced')
  t.ok(fenced !== undefined, `the woken master logs fenced (${woke.map((e) => e.event).join(',')})`)
  t.match(fenced?.why, /^(lease lapsed|zk link lost|zk session expired|lease node gone|another host holds the lease)$/, 'with a documented why')
  t.equal(fenced?.level, 40)
  const expired = woke.findIndex((e) => e.event === 'session_expired')
  t.ok(expired >= 0, 'session_expired is logged')
  t.ok(woke.findIndex((e, i) => i > expired && e.event === 'joined') > expired, 'a new session joins after the expiry')
  t.ok(woke.findIndex((e, i) => i > expired && e.event === 'registered') > expired, 'and registers again')
  t.same(offSchema(woke), [], 'the woken host\'s events have their documented fields')
})

t.test('--repl-lag-threshold: default, a value, and what is refused', async (t) => {
  t.equal(replicationOptions({}).lagThresholdMs, 5000)
  t.equal(replicationOptions({ replLagThreshold: '250' }).lagThresholdMs, 250)
  for (const bad of ['0', '-1', '2.5', 'x', '', '3600001']) t.throws(() => replicationOptions({ replLagThreshold: bad }), /--repl-lag-threshold/, `'${bad}' refused`)
})

t.test('a slow link to the master: lag_high past --repl-lag-threshold, then lag_ok', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const THRESHOLD_MS = 300
  const zk = await startZooKeeper(t)
  const obs = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 })
  t.teardown(() => obs.close())
  await obs.start()
  const args = ['-v', '--zk', zk.connectString, '--cluster', 'lag', '--shard', 's1', '--zk-session-timeout', String(SESSION_MS), '--repl-lag-threshold', String(THRESHOLD_MS)]
  const master = await startMemringProcess(t, args)
  await waitFor(async () => {
    const got = await obs.getData(leaderPath('lag', 's1'))
    return got !== null && decodeLeaderRecord(got.data)?.node === master.address
  }, { timeoutMs: WAIT_MS, what: 'the first host elected' })
  // The replica reaches the master through a relay (lib/wan-map.ts: the test hooks' WAN map).
  const relay = await startRelay(t, master.port)
  const dir = mkdtempSync(path.join(tmpdir(), 'memring-lag-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const map = path.join(dir, 'wan.json')
  writeFileSync(map, JSON.stringify({ [master.address]: relay.address }))
  const replica = await startMemringProcess(t, args, { env: { MEMRING_TEST_HOOKS: '1', MEMRING_TEST_WAN_MAP: map } })
  await waitFor(() => events(replica).some((e) => e.event === 'resync_finished'), { timeoutMs: WAIT_MS, what: 'the replica in sync' })
  let n = 0
  const write = async (): Promise<void> => { await exchange(master.port, `set w${n++ % 100} 0 0 1\r\nx\r\n`) }
  // Fast link: writes flow and nothing is logged about lag.
  for (let i = 0; i < 20; i++) await write()
  t.notOk(events(replica).some((e) => e.event === 'lag_high'), 'no lag_high on a fast link')

  relay.shape({ delayMs: THRESHOLD_MS * 2 }) // each way: an ack comes back >= 4x the threshold after the write
  const high = await waitFor(async () => { await write(); return events(replica).find((e) => e.event === 'lag_high') }, { timeoutMs: WAIT_MS, what: 'lag_high' })
  t.equal(high.level, 40, 'lag_high is a warning')
  t.equal(high.mod, 'replication')
  t.equal(high.thresholdMs, THRESHOLD_MS, 'carries the threshold given by --repl-lag-threshold')
  t.ok((high.lagMs as number) > THRESHOLD_MS, `lagMs is above it (${String(high.lagMs)})`)
  t.ok(typeof high.lagSeqno === 'number', 'carries lagSeqno')
  t.same(high.master, { host: '127.0.0.1', port: master.port }, 'names the master')

  relay.shape(null)
  const ok = await waitFor(async () => { await write(); return events(replica).find((e) => e.event === 'lag_ok') }, { timeoutMs: WAIT_MS, what: 'lag_ok' })
  t.equal(ok.level, 30)
  t.ok((ok.lagMs as number) <= THRESHOLD_MS, `lag_ok: lagMs back under (${String(ok.lagMs)})`)
  const seq = events(replica).map((e) => e.event).filter((e) => e === 'lag_high' || e === 'lag_ok')
  t.same(seq, ['lag_high', 'lag_ok'], 'once per crossing')
})

t.test('the proxy logs backend_down and backend_up', async (t) => {
  const backend = await startMemringProcess(t)
  const port = await freePort()
  const proxy = new ChildServer(PROXY_BIN, port, ['-v', '-p', String(port), '-l', '127.0.0.1', '--servers', backend.address, '--tko-threshold', '1'])
  await proxy.start()
  t.teardown(() => proxy.kill())
  t.equal((await exchange(port, 'set a 0 0 1\r\n1\r\n')).toString(), 'STORED\r\n')
  await backend.kill('SIGKILL')
  // Requests fail against the dead backend until the proxy marks it down.
  const down = await waitFor(async () => {
    await exchange(port, 'get a\r\n')
    return events(proxy).find((e) => e.event === 'backend_down')
  }, { timeoutMs: WAIT_MS, what: 'backend_down' })
  t.same({ backend: down.backend, mod: down.mod, level: down.level }, { backend: backend.address, mod: 'proxy', level: 40 })
  await backend.start()
  const up = await waitFor(() => events(proxy).find((e) => e.event === 'backend_up'), { timeoutMs: WAIT_MS, what: 'backend_up' })
  t.same({ backend: up.backend, level: up.level }, { backend: backend.address, level: 30 })
  t.ok(events(proxy).findIndex((e) => e.event === 'backend_down') < events(proxy).findIndex((e) => e.event === 'backend_up'), 'down, then up')
})
