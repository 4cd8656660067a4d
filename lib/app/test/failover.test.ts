// Failover with real processes and a real ZooKeeper: a shard of three `--role auto` hosts
// elects one master; kill -9 of it elects the in-sync replica with the highest position at
// a higher epoch, and the other replica continues with a partial resync; a master paused
// (SIGSTOP) past its session refuses the very first write when it wakes, then follows the
// new master; a master whose ZooKeeper link is frozen stops taking writes before ZooKeeper
// could elect another; a deposed master's stream is refused; memringctl failover hands over
// with no acknowledged write lost.
import t from 'tap'
import type { Test } from 'tap'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { decodeLeaderRecord, leaderPath } from '../../cluster/layout.js'
import { ZkSession } from '../../cluster/zk.js'
import { startMemringProcess, type ChildServer } from '../../testing/memring-process.js'
import { stats } from '../../testing/replication.js'
import { exchange } from '../../testing/raw-client.js'
import { startRelay } from '../../testing/tcp-relay.js'
import { waitFor } from '../../testing/wait-for.js'
import { startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'
import { F, FrameReader } from '../../replication/frames.js'

const CTL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/memringctl.js')
const SESSION_MS = 2000
const WAIT_MS = SESSION_MS * 10

interface Leader { node: string, epoch: number }

t.test('failover', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const obs = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 })
  t.teardown(() => obs.close())
  await obs.start()
  const args = (cluster: string, zkAddr = zk.connectString): string[] =>
    ['--zk', zkAddr, '--cluster', cluster, '--shard', 's1', '--zk-session-timeout', String(SESSION_MS)]
  const leader = async (cluster: string): Promise<Leader | null> => {
    const got = await obs.getData(leaderPath(cluster, 's1'))
    return got === null ? null : decodeLeaderRecord(got.data)
  }
  const newLeader = (cluster: string, after: number): Promise<Leader> => waitFor(async () => {
    const l = await leader(cluster)
    return l !== null && l.epoch > after ? l : null
  }, { timeoutMs: WAIT_MS, what: `a master of epoch > ${after}` })
  const byAddress = (hosts: ChildServer[], node: string): ChildServer => hosts.find((h) => h.address === node)!
  const set = async (port: number, key: string, value: string): Promise<string> =>
    (await exchange(port, `set ${key} 0 0 ${value.length}\r\n${value}\r\n`)).toString()
  const inSync = (master: ChildServer, replicas: ChildServer[]): Promise<unknown> => waitFor(async () => {
    const m = await stats(master.port, 'replication')
    for (const r of replicas) {
      const s = await stats(r.port, 'replication')
      if (s.master !== master.address || s.master_link !== 'online' || s.seqno !== m.seqno || s.sync_in_progress !== '0') return false
    }
    return true
  }, { timeoutMs: WAIT_MS, what: `replicas in sync with ${master.address}` })
  const writeSome = async (port: number, prefix: string, n: number): Promise<string[]> => {
    const acked: string[] = []
    for (let i = 0; i < n; i++) if (await set(port, `${prefix}${i}`, `v${i}`) === 'STORED\r\n') acked.push(`${prefix}${i}`)
    return acked
  }
  const missing = async (port: number, keys: string[]): Promise<string[]> => {
    const out: string[] = []
    for (const k of keys) if (!(await exchange(port, `get ${k}\r\n`)).toString().startsWith('VALUE ')) out.push(k)
    return out
  }
  const startShard = async (t: Test, cluster: string, n = 3): Promise<{ hosts: ChildServer[], master: ChildServer, replicas: ChildServer[], epoch: number }> => {
    const hosts: ChildServer[] = []
    for (let i = 0; i < n; i++) hosts.push(await startMemringProcess(t, args(cluster)))
    const l = await newLeader(cluster, 0)
    const master = byAddress(hosts, l.node)
    const replicas = hosts.filter((h) => h !== master)
    await inSync(master, replicas)
    return { hosts, master, replicas, epoch: l.epoch }
  }

  t.test('three auto hosts elect one master; kill -9 elects the best replica at a higher epoch, the other resyncs partially', async (t) => {
    const { master, replicas, epoch } = await startShard(t, 'f1')
    t.equal(epoch, 1, 'a new shard starts at epoch 1')
    t.equal((await stats(master.port, 'replication')).role, 'master')
    for (const r of replicas) t.match(await set(r.port, 'x', 'y'), /^SERVER_ERROR read-only replica \(master 127\.0\.0\.1:\d+\)\r\n$/)
    const acked = await writeSome(master.port, 'k', 300)
    t.equal(acked.length, 300)
    await inSync(master, replicas)
    // A replica's full_syncs row counts the syncs it received; a master's, those it served.
    const fullBefore = await Promise.all(replicas.map(async (r) => Number((await stats(r.port, 'replication')).full_syncs)))
    const killedAt = Date.now()
    await master.kill('SIGKILL')
    const l = await newLeader('f1', epoch)
    const took = Date.now() - killedAt
    // Durations are reported, not gated (the wait above is the bound; the checker measures).
    t.comment(`a new master ${took} ms after the kill (session ${SESSION_MS} ms)`)
    t.equal(l.epoch, epoch + 1, 'the epoch is bumped once')
    const winner = byAddress(replicas, l.node)
    const other = replicas.find((r) => r !== winner)!
    await waitFor(async () => (await set(winner.port, 'after', 'x')) === 'STORED\r\n', { timeoutMs: WAIT_MS, what: 'the new master takes writes' })
    await inSync(winner, [other])
    const w = await stats(winner.port, 'replication')
    t.equal(w.epoch, String(epoch + 1))
    t.same(await missing(winner.port, acked), [], 'no acknowledged write lost (all were replicated before the kill)')
    t.same(await missing(other.port, [...acked, 'after']), [], 'the other replica has everything')
    t.equal(w.full_syncs, '0', 'the new master served no full sync')
    t.equal((await stats(other.port, 'replication')).full_syncs, String(fullBefore[replicas.indexOf(other)]), 'the other replica took no full sync')
    t.ok(Number((await stats(other.port, 'replication')).partial_syncs) >= 1, 'the other replica continued with a partial resync')
  })

  t.test('a master paused past its session refuses the first write when it wakes, then follows the new master', async (t) => {
    const { master, replicas, epoch } = await startShard(t, 'f2')
    await writeSome(master.port, 'p', 50)
    await inSync(master, replicas)
    // A connection opened before the pause: its first write after SIGCONT is the test.
    const sock = await import('node:net').then((net) => net.connect(master.port, '127.0.0.1'))
    await new Promise((resolve) => sock.once('connect', resolve))
    const replies: Buffer[] = []
    sock.on('data', (d: Buffer) => replies.push(d))
    process.kill(master.pid!, 'SIGSTOP')
    let resumed = false
    t.teardown(() => { if (!resumed && master.pid !== null) process.kill(master.pid, 'SIGCONT') })
    const l = await newLeader('f2', epoch)
    t.not(l.node, master.address, 'a replica took over')
    // The write is already in the socket when the process wakes: nothing but its own clock
    // can stop it.
    sock.write('set fenced 0 0 1\r\nx\r\n')
    await new Promise((resolve) => setTimeout(resolve, 100))
    process.kill(master.pid!, 'SIGCONT')
    resumed = true
    await waitFor(() => Buffer.concat(replies).includes('\r\n'), { timeoutMs: WAIT_MS, what: 'a reply after SIGCONT' })
    t.match(Buffer.concat(replies).toString(), /^SERVER_ERROR not master: no master lease for shard s1 \(epoch \d+\)\r\n$/, 'refused')
    sock.destroy()
    const winner = byAddress(replicas, l.node)
    t.match((await exchange(winner.port, 'get fenced\r\n')).toString(), /^END\r\n$/, 'the refused write is nowhere')
    await waitFor(async () => (await stats(master.port, 'replication')).master === winner.address, { timeoutMs: WAIT_MS, what: 'the old master follows the new one' })
    t.match(await set(master.port, 'again', 'x'), /^SERVER_ERROR read-only replica/, 'and refuses writes as a replica')
  })

  t.test('a master whose ZooKeeper link is frozen stops taking writes before ZooKeeper can elect another', async (t) => {
    const relay = await startRelay(t, zk.port)
    const first = await startMemringProcess(t, args('f3', relay.address))
    const l0 = await newLeader('f3', 0)
    t.equal(l0.node, first.address)
    const others = [await startMemringProcess(t, args('f3')), await startMemringProcess(t, args('f3'))]
    await inSync(first, others)
    relay.freeze()
    const frozenAt = Date.now()
    // Writes stop being taken within 2/3 session (+ a probe interval).
    const refusedAt = await waitFor(async () => (await set(first.port, 'w', 'x')).startsWith('SERVER_ERROR not master') ? Date.now() : null,
      { timeoutMs: WAIT_MS, intervalMs: 20, what: 'the frozen master refuses writes' })
    // Every protocol refuses: meta writes and touches, binary writes (status 0x0007).
    t.match((await exchange(first.port, 'ms mk 1\r\nx\r\nmg w T30 v\r\nmg w v\r\n')).toString(),
      /^SERVER_ERROR not master: no master lease for shard s1 \(epoch 1\)\r\nSERVER_ERROR not master: [^\r]+\r\n(EN|VA 1)\r\n/)
    const bin = Buffer.alloc(24 + 8 + 2 + 1)
    bin[0] = 0x80; bin[1] = 0x01; bin.writeUInt16BE(2, 2); bin[4] = 8; bin.writeUInt32BE(8 + 2 + 1, 8)
    bin.write('bk', 32); bin.write('v', 34)
    const br = await exchange(first.port, bin)
    t.equal(br.readUInt16BE(6), 0x0007, 'binary set: not my vbucket')
    t.match(br.subarray(24).toString(), /^not master: no master lease for shard s1/)
    const l1 = await newLeader('f3', l0.epoch)
    const electedAt = Date.now()
    t.ok(refusedAt < electedAt, `fenced ${refusedAt - frozenAt} ms after the freeze, before the election ${electedAt - frozenAt} ms after`)
    t.comment(`fenced ${refusedAt - frozenAt} ms after the freeze (session ${SESSION_MS} ms, lease 2/3 of it)`)
    // Whoever wins (the old master too may, once it has a new session: it fenced itself
    // first and holds the highest position), it is at the next epoch.
    t.equal(l1.epoch, l0.epoch + 1, `elected ${l1.node === first.address ? 'the old master again' : 'a replica'} at the next epoch`)
  })

  t.test('epochs on the stream: a master refuses a replica that has seen a newer epoch', async (t) => {
    const { master, epoch } = await startShard(t, 'f4', 1)
    const reply = await exchange(master.port, `repl sync 0123456789abcdef 0 0 0 127.0.0.1:1 ${epoch + 1}\r\n`)
    const r = new FrameReader()
    r.push(reply)
    t.ok(r.next(), 'one frame')
    t.equal(r.type, F.Error)
    t.match(r.buf.toString('utf8', r.start, r.end), `stale epoch: this node is at epoch ${epoch}, the replica has seen ${epoch + 1}`)
    const ok = await exchange(master.port, `repl sync 0123456789abcdef 0 0 0 127.0.0.1:1 ${epoch}\r\n`, undefined, 2000).catch(() => Buffer.alloc(0))
    const r2 = new FrameReader()
    r2.push(ok)
    t.ok(r2.next() && r2.type === F.Hello, 'the same request at its own epoch gets a stream')
  })

  t.test('memringctl failover hands over with no acknowledged write lost', async (t) => {
    const { master, replicas, epoch } = await startShard(t, 'f5')
    const target = replicas[1]!
    // A writer keeps going through the hand-over; every STORED must survive.
    const acked: string[] = []
    let refused = 0
    let stop = false
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const r = await set(master.port, `h${i}`, `v${i}`).catch(() => 'ERR')
        if (r === 'STORED\r\n') acked.push(`h${i}`)
        else refused++
      }
    })()
    await new Promise((resolve) => setTimeout(resolve, 300))
    const ctl = spawnSync(process.execPath, [CTL, 'failover', '--zk', zk.connectString, '--cluster', 'f5', '--shard', 's1', '--to', target.address],
      { encoding: 'utf8', timeout: 30_000 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    stop = true
    await writer
    t.equal(ctl.status, 0, ctl.stderr)
    t.match(ctl.stdout, `shard s1: master ${master.address} (epoch ${epoch}) -> ${target.address} (epoch ${epoch + 1})`)
    t.ok(acked.length > 0 && refused > 0, `${acked.length} writes taken before, ${refused} refused once the hand-over began`)
    t.same(await missing(target.port, acked), [], 'every acknowledged write is on the new master')
    await waitFor(async () => (await stats(master.port, 'replication')).master === target.address, { timeoutMs: WAIT_MS, what: 'the old master follows the new one' })
    const s = await stats(master.port, 'replication')
    t.equal(s.full_syncs, '0', 'the old master rejoined with a partial resync')
    const bad = spawnSync(process.execPath, [CTL, 'failover', '--zk', zk.connectString, '--cluster', 'f5', '--shard', 's1', '--to', target.address],
      { encoding: 'utf8', timeout: 30_000 })
    t.equal(bad.status, 1)
    t.match(bad.stderr, 'is already the master of shard s1')
  })
})
