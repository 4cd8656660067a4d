// Replication in a ZooKeeper cluster, with real processes and a real ZooKeeper:
// `--role replica` finds its shard's master there; an empty host started as master
// next to a live master joins as its replica and leaves the master's data alone; a
// replica started before any master stands by and follows the master once it registers;
// the node records carry role, history, seqno and lag, and memringctl shows them.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { decodeHostRecord, nodePath } from '../../cluster/layout.js'
import { ZkSession } from '../../cluster/zk.js'
import { startMemringProcess, type ChildServer } from '../../testing/memring-process.js'
import { compareDigests, digest, mixedLoad, stats } from '../../testing/replication.js'
import { exchange } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'
import { startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'

const CTL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/memringctl.js')
const SESSION_MS = 2000
/** ZooKeeper-derived waits: a topology change reaches a host within a few ticks; 10 sessions is ample. */
const ZK_WAIT_MS = SESSION_MS * 10

async function inSyncWith (master: ChildServer, replica: ChildServer): Promise<void> {
  await waitFor(async () => {
    const [m, r] = await Promise.all([stats(master.port, 'replication'), stats(replica.port, 'replication')])
    return r.master === master.address && r.sync_in_progress === '0' && r.master_link === 'online' && r.seqno === m.seqno
  }, { timeoutMs: ZK_WAIT_MS, what: `${replica.address} in sync with ${master.address}` })
}

t.test('replication in a ZooKeeper cluster', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const obs = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 })
  t.teardown(() => obs.close())
  await obs.start()
  const member = (shard: string, ...more: string[]): string[] =>
    ['--zk', zk.connectString, '--cluster', 'rc', '--shard', shard, '--zk-session-timeout', String(SESSION_MS), ...more]

  t.test('--role replica follows the shard master found in ZooKeeper; the records show the positions', async (t) => {
    const master = await startMemringProcess(t, member('0'))
    await waitFor(async () => (await stats(master.port, 'replication')).role === 'master', { timeoutMs: ZK_WAIT_MS, what: 'role decided' })
    const keys = await mixedLoad(master.port, { seed: 31, ops: 2000 })
    const replica = await startMemringProcess(t, member('0', '--role', 'replica'))
    await inSyncWith(master, replica)
    t.same(compareDigests(await digest(master.port, keys), await digest(replica.port, keys)), [], 'digest-equal')
    const m = await stats(master.port, 'replication')
    const rec = await waitFor(async () => {
      const got = await obs.getData(nodePath('rc', replica.address))
      const r = got === null ? null : decodeHostRecord(got.data)
      return r?.repl?.master === master.address && r.repl.syncInProgress === false ? r : null
    }, { timeoutMs: ZK_WAIT_MS, what: 'the replica record after its sync' })
    t.equal(rec.role, 'replica')
    t.equal(rec.repl?.historyId, m.history_id, 'the master\'s history')
    t.ok((rec.repl?.seqno ?? 0) > 0, `seqno ${rec.repl?.seqno}`)
    t.type(rec.repl?.lagMs, 'number')
    const top = spawnSync(process.execPath, [CTL, 'topology', '--zk', zk.connectString, '--cluster', 'rc'], { encoding: 'utf8', timeout: 20_000 })
    t.equal(top.status, 0, top.stderr)
    t.match(top.stdout, new RegExp(`replica +${replica.address.replace(/\./g, '\\.')}.*\\n +history ${m.history_id}:\\d+ +follows ${master.address.replace(/\./g, '\\.')} +lag \\d+ records / [\\d.-]+ ms`))
    t.match(top.stdout, new RegExp(`master +${master.address.replace(/\./g, '\\.')}.*\\n +history ${m.history_id}:\\d+ +replicas [01]`))

    // An empty host started as master beside the live master joins as a replica instead.
    const before = await digest(master.port, keys)
    const late = await startMemringProcess(t, member('0'))
    await inSyncWith(master, late)
    const l = await stats(late.port, 'replication')
    t.equal(l.role, 'replica', 'the empty host did not take the shard over')
    // TTLs count down meanwhile: values, flags and CAS must be untouched, TTLs within the wait.
    t.same(compareDigests(before, await digest(master.port, keys), 60), [], 'the master kept its data')
    t.same(compareDigests(await digest(master.port, keys), await digest(late.port, keys)), [], 'and the newcomer has it')
    const lateRec = decodeHostRecord((await obs.getData(nodePath('rc', late.address)))!.data)
    t.equal(lateRec?.role, 'replica', 'registered as a replica')
    t.match((await exchange(late.port, 'set k 0 0 1\r\nv\r\n')).toString(), /^SERVER_ERROR read-only replica \(master 127\.0\.0\.1:\d+\)\r\n$/)
  })

  t.test('a replica started before its master stands by, then follows the master that registers', async (t) => {
    const replica = await startMemringProcess(t, member('1', '--role', 'replica'))
    const r0 = await stats(replica.port, 'replication')
    t.equal(r0.role, 'replica')
    t.equal(r0.master, '', 'no master yet')
    t.equal((await exchange(replica.port, 'set k 0 0 1\r\nv\r\n')).toString(), 'SERVER_ERROR read-only replica (master unknown)\r\n')
    const master = await startMemringProcess(t, member('1'))
    // The host checks ZooKeeper's view before it registers as master.
    await waitFor(async () => (await stats(master.port, 'replication')).role === 'master', { timeoutMs: ZK_WAIT_MS, what: 'the master takes the shard (the replica holds no data)' })
    const keys = await mixedLoad(master.port, { seed: 32, ops: 1000 })
    await inSyncWith(master, replica)
    t.same(compareDigests(await digest(master.port, keys), await digest(replica.port, keys)), [], 'digest-equal')
  })
})
