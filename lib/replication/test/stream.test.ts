// Replication between real memring processes (`--replica-of`), with real faults: a relay
// that cuts or freezes the link, kill -9 of a replica, a master restarted empty. Every test
// ends by comparing the digests of master and replica over every key the load touched
// (value, flags, CAS, TTL within 1 s) and counting syncs from `stats replication`.
// Loads are seeded (LOAD_SEED, printed) so a failure replays.
import t from 'tap'
import type { Test } from 'tap'
import { startMemringProcess, type ChildServer } from '../../testing/memring-process.js'
import { startRelay, type TcpRelay } from '../../testing/tcp-relay.js'
import { compareDigests, digest, mixedLoad, stats } from '../../testing/replication.js'
import { rawClient } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'

const SEED = Number(process.env.LOAD_SEED ?? 12)
t.comment(`LOAD_SEED=${SEED}`)
/** A frozen link is given up after this long by both ends (--repl-timeout). */
const REPL_TIMEOUT_MS = 1000
/** Catch-up deadlines: generous multiples of what loopback needs (ms), never a gate on speed. */
const CATCH_UP_MS = 30_000

async function repl (port: number): Promise<Record<string, string>> { return await stats(port, 'replication') }

/** Waits until the replica has applied everything the master logged, and is in sync. */
async function caughtUp (master: ChildServer, replica: ChildServer): Promise<void> {
  await waitFor(async () => {
    const [m, r] = await Promise.all([repl(master.port), repl(replica.port)])
    return r.sync_in_progress === '0' && r.master_link === 'online' && r.seqno === m.seqno && r.history_id === m.history_id
  }, { timeoutMs: CATCH_UP_MS, what: 'replica caught up' })
}

async function sameData (t: Test, master: ChildServer, replica: ChildServer, keys: Set<string>): Promise<void> {
  await caughtUp(master, replica)
  const [dm, dr] = await Promise.all([digest(master.port, keys), digest(replica.port, keys)])
  t.ok(dm.size > 0, `the master holds ${dm.size} of ${keys.size} keys`)
  t.same(compareDigests(dm, dr), [], 'replica digest-equal to the master (value, flags, CAS, TTL)')
  const [sm, sr] = await Promise.all([stats(master.port), stats(replica.port)])
  t.equal(sr.curr_items, sm.curr_items, 'same item count')
}

function union (a: Set<string>, b: Set<string>): Set<string> { for (const k of b) a.add(k); return a }

/** A master and a replica that reaches it through a relay (so the link can be cut). */
async function pairThroughRelay (t: Test, masterArgs: string[] = [], replicaArgs: string[] = []): Promise<{ master: ChildServer, relay: TcpRelay, replica: ChildServer }> {
  const master = await startMemringProcess(t, [...masterArgs, '--repl-timeout', String(REPL_TIMEOUT_MS)])
  const relay = await startRelay(t, master.port)
  const replica = await startMemringProcess(t, [...replicaArgs, '--replica-of', relay.address, '--repl-timeout', String(REPL_TIMEOUT_MS)])
  return { master, relay, replica }
}

/** Cut: reset the link, and freeze every reconnection attempt until restore(). */
function cut (relay: TcpRelay): void { relay.blockNew(true); relay.cut() }
/** New connections pass; the frozen attempts are reset, so the replica redials. */
function restore (relay: TcpRelay): void { relay.blockNew(false); relay.cut() }

t.test('a replica follows a mixed text/meta/binary load, and one attached mid-load catches up', async (t) => {
  const master = await startMemringProcess(t, ['--repl-timeout', String(REPL_TIMEOUT_MS)])
  const r1 = await startMemringProcess(t, ['--replica-of', master.address])
  const keys = await mixedLoad(master.port, { seed: SEED, ops: 6000 })
  // The second replica attaches while writes flow: its full sync and the live records interleave.
  let r2: ChildServer | null = null
  const attach = (async () => { r2 = await startMemringProcess(t, ['--replica-of', master.address]) })()
  union(keys, await mixedLoad(master.port, { seed: SEED + 1, ops: 6000 }))
  await attach
  await sameData(t, master, r1, keys)
  await sameData(t, master, r2 as unknown as ChildServer, keys)
  const m = await repl(master.port)
  t.equal(m.replicas, '2')
  t.equal(m.full_syncs, '2', 'one full sync per replica')
  t.equal(m.partial_syncs, '0')
  t.match(m.replica0, /state=online,acked_seqno=\d+,lag_seqno=0/)
  const r = await repl(r1.port)
  t.equal(r.role, 'replica')
  t.equal(r.master, master.address)
  t.equal(r.full_syncs, '1')
})

t.test('a cut link resumes with a partial resync: no full sync, nothing lost', async (t) => {
  const { master, relay, replica } = await pairThroughRelay(t)
  const keys = await mixedLoad(master.port, { seed: SEED + 2, ops: 3000 })
  await caughtUp(master, replica)
  cut(relay) // writes go on meanwhile
  const seqAtCut = Number((await repl(replica.port)).seqno)
  union(keys, await mixedLoad(master.port, { seed: SEED + 3, ops: 4000 }))
  t.ok(Number((await repl(master.port)).seqno) > seqAtCut, 'the master logged writes the replica has not seen')
  t.equal((await repl(replica.port)).seqno, String(seqAtCut), 'nothing reached the replica during the cut')
  restore(relay)
  union(keys, await mixedLoad(master.port, { seed: SEED + 4, ops: 1000 }))
  await sameData(t, master, replica, keys)
  const m = await repl(master.port)
  const r = await repl(replica.port)
  t.equal(m.full_syncs, '1', 'master: still the one initial full sync')
  t.equal(r.full_syncs, '1', 'replica: still the one initial full sync')
  t.ok(Number(r.partial_syncs) >= 1, `replica resumed partially (${r.partial_syncs})`)
  t.equal(m.partial_syncs, r.partial_syncs, 'master and replica count the same partial resyncs')
})

t.test('kill -9 of a replica: it restarts empty and gets exactly one full sync', async (t) => {
  const master = await startMemringProcess(t, ['--repl-timeout', String(REPL_TIMEOUT_MS)])
  const replica = await startMemringProcess(t, ['--replica-of', master.address])
  const keys = await mixedLoad(master.port, { seed: SEED + 5, ops: 3000 })
  await caughtUp(master, replica)
  const before = Number((await repl(master.port)).full_syncs)
  await replica.kill('SIGKILL')
  union(keys, await mixedLoad(master.port, { seed: SEED + 6, ops: 2000 }))
  await replica.start()
  t.equal((await stats(replica.port)).curr_items !== undefined, true)
  union(keys, await mixedLoad(master.port, { seed: SEED + 7, ops: 2000 }))
  await sameData(t, master, replica, keys)
  t.equal(Number((await repl(master.port)).full_syncs), before + 1, 'exactly one more full sync on the master')
  const r = await repl(replica.port)
  t.equal(r.full_syncs, '1', 'the restarted replica had one full sync')
  t.equal(r.partial_syncs, '0')
})

t.test('a replica that falls out of the backlog gets a full sync; writes during it are kept', async (t) => {
  // A 1 MiB backlog: a few MB of writes during a cut overflow it.
  const { master, relay, replica } = await pairThroughRelay(t, ['--repl-backlog-size', '1m'])
  const keys = await mixedLoad(master.port, { seed: SEED + 8, ops: 2000 })
  await caughtUp(master, replica)
  cut(relay)
  union(keys, await mixedLoad(master.port, { seed: SEED + 9, ops: 6000, maxValue: 2000 }))
  const m0 = await repl(master.port)
  const r0 = await repl(replica.port)
  t.ok(Number(m0.backlog_first_seqno) > Number(r0.seqno) + 1, `the backlog (from ${m0.backlog_first_seqno}) no longer holds the replica's next record (${Number(r0.seqno) + 1})`)
  restore(relay)
  // Writes keep flowing while the full sync runs.
  union(keys, await mixedLoad(master.port, { seed: SEED + 10, ops: 3000 }))
  await sameData(t, master, replica, keys)
  const m = await repl(master.port)
  t.equal(m.full_syncs, '2', 'the initial full sync and one more')
  t.equal((await repl(replica.port)).full_syncs, '2')
})

t.test('a link cut in the middle of a full sync resumes from its cursor', async (t) => {
  const master = await startMemringProcess(t, ['-m', '256', '--repl-timeout', String(REPL_TIMEOUT_MS)])
  // 200k items (~50 MB of stream): the listing takes long enough to be cut midway.
  const c = await rawClient(t, master.port)
  const value = 'x'.repeat(200)
  const total = 200_000
  for (let i = 0; i < total; i += 5000) {
    let s = ''
    for (let j = i; j < i + 5000; j++) s += `set big${j} ${j} 0 ${value.length} noreply\r\n${value}\r\n`
    c.write(s + 'mn\r\n')
    await c.until('MN\r\n', 30_000)
  }
  t.equal((await stats(master.port)).curr_items, String(total))
  const relay = await startRelay(t, master.port)
  // Same memory as the master: a replica with less would evict (each node evicts on its own).
  const replica = await startMemringProcess(t, ['-m', '256', '--replica-of', relay.address, '--repl-timeout', String(REPL_TIMEOUT_MS)])
  await waitFor(async () => Number((await stats(replica.port)).curr_items) > 2000, { timeoutMs: CATCH_UP_MS, intervalMs: 5, what: 'listing under way' })
  cut(relay)
  const mid = await repl(replica.port)
  const held = Number((await stats(replica.port)).curr_items)
  t.equal(mid.sync_in_progress, '1', 'cut while the full sync was running')
  t.ok(held > 0 && held < total, `the replica holds part of the listing (${held} of ${total})`)
  // Writes during the cut must arrive too (replayed from the backlog before the listing goes on).
  c.write('set big7 1 0 3\r\nnew\r\ndelete big8\r\n')
  t.same(await c.lines(2), ['STORED', 'DELETED'])
  restore(relay)
  await caughtUp(master, replica)
  const m = await repl(master.port)
  const r = await repl(replica.port)
  t.equal(m.full_syncs, '1', 'no second full sync')
  t.equal(m.resumed_syncs, '1', 'the listing resumed')
  t.equal(r.resumed_syncs, '1')
  const keys = new Set(Array.from({ length: total }, (_, i) => `big${i}`))
  await sameData(t, master, replica, keys)
  t.equal((await stats(replica.port)).evictions, '0', 'the replica evicted nothing')
})

t.test('a replica refuses writes with the documented errors, in all three protocols', async (t) => {
  const master = await startMemringProcess(t)
  const replica = await startMemringProcess(t, ['--replica-of', master.address])
  const c = await rawClient(t, master.port)
  c.write('set k 1 0 1\r\nv\r\n')
  t.same(await c.lines(1), ['STORED'])
  await caughtUp(master, replica)
  const err = `SERVER_ERROR read-only replica (master ${master.address})`
  const r = await rawClient(t, replica.port)
  r.write('set k 0 0 1 noreply\r\nx\r\nadd z 0 0 1\r\nx\r\ncas k 0 0 1 1\r\nx\r\nappend k 0 0 1\r\nx\r\n' +
    'incr k 1\r\ndecr k 1\r\ndelete k\r\ntouch k 10\r\ngat 10 k\r\nflush_all\r\n' +
    'ms k 1\r\nx\r\nmd k\r\nma k\r\nmg k T10 v\r\nmg zz N30 v\r\nget k\r\nmg k v\r\n')
  t.same(await r.lines(17), [err, err, err, err, err, err, err, err, err, err, err, err, err, err, err,
    'VALUE k 1 1', 'v'], 'text and meta writes refused (noreply too); reads served')
  t.same(await r.lines(3), ['END', 'VA 1', 'v'])
  // Binary SET and DELETE: status 0x0007 with the same text; the value is swallowed.
  const set = Buffer.alloc(24 + 8 + 1 + 1)
  set[0] = 0x80; set[1] = 0x01; set.writeUInt16BE(1, 2); set[4] = 8; set.writeUInt32BE(10, 8); set.writeUInt32BE(0xabcd, 12)
  set.write('k', 32); set.write('x', 33)
  const noop = Buffer.alloc(24); noop[0] = 0x80; noop[1] = 0x0a
  const b = await rawClient(t, replica.port)
  b.write(Buffer.concat([set, noop]))
  const h = await b.bytes(24)
  t.equal(h[0], 0x81)
  t.equal(h.readUInt16BE(6), 0x0007, 'status: not my vbucket')
  t.equal(h.readUInt32BE(12), 0xabcd, 'opaque kept')
  t.equal((await b.bytes(h.readUInt32BE(8))).toString(), `read-only replica (master ${master.address})`)
  const n = await b.bytes(24)
  t.equal(n[1], 0x0a, 'the connection goes on: the next request is answered')
  const d = await digest(replica.port, ['k'])
  t.equal(d.get('k')?.value, 'v', 'nothing changed on the replica')
  // `stats replication` through the binary STAT command: one packet per row, then an empty one.
  const st = Buffer.alloc(24 + 11)
  st[0] = 0x80; st[1] = 0x10; st.writeUInt16BE(11, 2); st.writeUInt32BE(11, 8); st.write('replication', 24)
  b.write(st)
  const rows: Record<string, string> = {}
  for (;;) {
    const hh = await b.bytes(24)
    const body = await b.bytes(hh.readUInt32BE(8))
    const kl = hh.readUInt16BE(2)
    if (kl === 0) break
    rows[body.toString('latin1', 0, kl)] = body.toString('latin1', kl)
  }
  t.equal(rows.role, 'replica', 'binary STAT replication: role')
  t.equal(rows.master, master.address, 'binary STAT replication: master')
})

t.test('flush_all (immediate and delayed) and deletes match on the replica', async (t) => {
  const master = await startMemringProcess(t)
  const replica = await startMemringProcess(t, ['--replica-of', master.address])
  const c = await rawClient(t, master.port)
  c.write('set a 0 0 1\r\n1\r\nset b 0 0 1\r\n2\r\nflush_all\r\nset c 0 0 1\r\n3\r\nset d 0 0 1\r\n4\r\ndelete d\r\n')
  t.same(await c.lines(6), ['STORED', 'STORED', 'OK', 'STORED', 'STORED', 'DELETED'])
  await caughtUp(master, replica)
  const keys = new Set(['a', 'b', 'c', 'd', 'e'])
  t.same([...(await digest(replica.port, keys)).keys()], ['c'], 'flushed before c was set; d deleted')
  await sameData(t, master, replica, keys)
  // A delayed flush: items stored before it takes effect go at that time, on both. Both
  // clocks tick whole seconds from their own start, so "the same time" means within 1 s
  // (the TTL tolerance of the contract): the replica is given 2.5 s after the master.
  c.write('flush_all 4\r\nset e 0 0 1\r\n5\r\n')
  t.same(await c.lines(2), ['OK', 'STORED'])
  await caughtUp(master, replica)
  t.equal((await digest(replica.port, keys)).size, 2, 'before the delay: c and e still there')
  await waitFor(async () => (await digest(master.port, keys)).size === 0, { timeoutMs: 10_000, what: 'delayed flush on the master' })
  await waitFor(async () => (await digest(replica.port, keys)).size === 0, { timeoutMs: 2500, what: 'the delayed flush on the replica, within the clock tolerance' })
  // A replica attached after a delayed flush was ordered learns it from the handshake.
  c.write('set f 0 0 1\r\n6\r\nflush_all 6\r\n')
  t.same(await c.lines(2), ['STORED', 'OK'])
  const late = await startMemringProcess(t, ['--replica-of', master.address])
  await caughtUp(master, late)
  t.equal((await digest(master.port, ['f'])).size, 1, 'before the flush time f is on the master')
  t.equal((await digest(late.port, ['f'])).size, 1, 'and on the late replica')
  await waitFor(async () => (await digest(master.port, ['f'])).size === 0, { timeoutMs: 10_000, what: 'second delayed flush' })
  await waitFor(async () => (await digest(late.port, ['f'])).size === 0, { timeoutMs: 2500, what: 'the late replica drops f too' })
  t.pass('the late replica dropped f with the master')
})

t.test('an item the replica cannot store leaves the key absent there, never stale', async (t) => {
  const master = await startMemringProcess(t, ['-I', '2m'])
  const replica = await startMemringProcess(t, ['--replica-of', master.address]) // -I 1m
  const c = await rawClient(t, master.port)
  const big = 'b'.repeat(1536 * 1024)
  c.write('set k 0 0 5\r\nsmall\r\n')
  t.same(await c.lines(1), ['STORED'])
  await caughtUp(master, replica)
  t.equal((await digest(replica.port, ['k'])).get('k')?.value, 'small')
  c.write(`set k 0 0 ${big.length}\r\n${big}\r\n`)
  t.same(await c.lines(1), ['STORED'])
  await caughtUp(master, replica)
  t.equal((await digest(replica.port, ['k'])).has('k'), false, 'the old value is gone, the new one did not fit')
  t.equal((await repl(replica.port)).apply_failed, '1', 'counted')
})

t.test('a master restarted empty never wipes a replica that holds data', async (t) => {
  const master = await startMemringProcess(t)
  const replica = await startMemringProcess(t, ['--replica-of', master.address, '--repl-timeout', String(REPL_TIMEOUT_MS)])
  const keys = await mixedLoad(master.port, { seed: SEED + 11, ops: 2000 })
  await caughtUp(master, replica)
  const held = await digest(replica.port, keys)
  t.ok(held.size > 0)
  await master.kill('SIGKILL')
  await master.start() // same port, empty, a new history
  await waitFor(async () => Number((await repl(replica.port)).sync_refused) >= 1, { timeoutMs: CATCH_UP_MS, what: 'the replica refuses the empty master' })
  // Values, flags and CAS unchanged; TTLs counted down meanwhile (slack: the wait).
  t.same(compareDigests(held, await digest(replica.port, keys), 60), [], 'the replica kept every item')
  t.equal((await repl(replica.port)).master_link, 'refused')
  t.equal((await stats(master.port)).curr_items, '0', 'and the empty master was not filled either')
})

