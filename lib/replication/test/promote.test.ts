// Positions compare across nodes, which failover builds on: when a replica becomes master
// it starts a new history and keeps the old one up to its switch point, so a sibling
// replica at the same or an older position continues with a partial resync from it (no
// full sync), while one that is ahead of the new master's switch point (it saw writes the
// new master never got) is given a full sync instead of a diverged copy.
// In-process servers (real sockets), so the test can promote through the library.
import t from 'tap'
import type { Test } from 'tap'
import { attachReplication } from '../../app/replication-app.js'
import { silentLogger } from '../../log.js'
import type { Replication } from '../replication.js'
import type { MemringServer } from '../../server/server.js'
import { compareDigests, digest, mixedLoad, stats } from '../../testing/replication.js'
import { startServer } from '../../testing/servers.js'
import { waitFor } from '../../testing/wait-for.js'

interface Node { server: MemringServer, repl: Replication, port: number }

async function node (t: Test): Promise<Node> {
  const server = await startServer(t)
  const repl = attachReplication(server, { replicaOf: null, backlogBytes: 16 * 1024 * 1024, timeoutMs: 1000 }, () => `127.0.0.1:${server.port}`, silentLogger())
  t.teardown(() => repl.close())
  return { server, repl, port: server.port }
}

async function inSync (master: Node, replica: Node): Promise<void> {
  await waitFor(() => replica.repl.link.inSync && replica.repl.link.state === 'online' && replica.repl.log.seqno === master.repl.log.seqno,
    { timeoutMs: 30_000, what: 'replica in sync' })
}

t.test('a promoted replica keeps the old history: its sibling resyncs partially', async (t) => {
  const a = await node(t)
  const b = await node(t)
  const c = await node(t)
  b.repl.follow('127.0.0.1', a.port)
  c.repl.follow('127.0.0.1', a.port)
  const keys = await mixedLoad(a.port, { seed: 41, ops: 3000 })
  await inSync(a, b)
  await inSync(a, c)
  const oldHistory = a.repl.log.historyId
  const switchPoint = b.repl.log.seqno
  // The master goes away; B is promoted; C follows B.
  a.repl.close() // its streams first: detached from the server, they would hold its listener open
  await a.server.close(0)
  b.repl.lead()
  t.equal(b.repl.role, 'master')
  t.not(b.repl.log.historyId, oldHistory, 'a new history')
  t.same(b.repl.log.history.map((e) => e.id).slice(-2), [oldHistory, b.repl.log.historyId], 'the old one is kept')
  t.equal(b.repl.log.history[b.repl.log.history.length - 1].start, switchPoint + 1, 'the new history starts after the switch point')
  c.repl.follow('127.0.0.1', b.port)
  for (const k of await mixedLoad(b.port, { seed: 42, ops: 2000 })) keys.add(k)
  await inSync(b, c)
  t.equal(c.repl.link.counters.full_syncs, 1, 'C: only its first full sync')
  t.equal(c.repl.link.counters.partial_syncs, 1, 'C continued partially from B')
  t.equal(b.repl.source.counters.full_syncs, 0, 'B served no full sync')
  t.same(compareDigests(await digest(b.port, keys), await digest(c.port, keys)), [], 'digest-equal')
  t.equal(c.repl.log.historyId, b.repl.log.historyId, 'C is on B\'s history now')
  const r = await stats(c.port, 'replication')
  t.match(r.history, new RegExp(`${oldHistory}:\\d+,${b.repl.log.historyId}:${switchPoint + 1}$`))
})

t.test('a sibling ahead of the promoted node\'s switch point gets a full sync, not a diverged copy', async (t) => {
  const a = await node(t)
  const b = await node(t)
  const c = await node(t)
  b.repl.follow('127.0.0.1', a.port)
  const keys = await mixedLoad(a.port, { seed: 43, ops: 1000 })
  await inSync(a, b)
  b.repl.link.setTarget(null) // B stops following (as if its link died)
  c.repl.follow('127.0.0.1', a.port)
  for (const k of await mixedLoad(a.port, { seed: 44, ops: 500 })) keys.add(k)
  await inSync(a, c)
  t.ok(c.repl.log.seqno > b.repl.log.seqno, 'C saw writes B never got')
  b.repl.lead()
  c.repl.follow('127.0.0.1', b.port)
  await inSync(b, c)
  t.equal(b.repl.source.counters.full_syncs, 1, 'B gave C a full sync')
  t.same(compareDigests(await digest(b.port, keys), await digest(c.port, keys)), [], 'C now holds exactly B\'s data')
})
