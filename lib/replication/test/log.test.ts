// The log on a real SlabStore: client writes become records with consecutive seqnos,
// store-internal removals (eviction, expiry) do not; the backlog stays within its size;
// canContinue() follows the failover log; a cursor reads every record once, in order.
import t from 'tap'
import { ManualClock } from '../../store/clock.js'
import { SlabStore } from '../../store/slab-store.js'
import { StoreMode } from '../../store/store.js'
import { F, FrameReader, readU64 } from '../frames.js'
import { ReplicationLog } from '../log.js'

function set (s: SlabStore, key: string, value: string, mode: number = StoreMode.Set): number {
  const k = Buffer.from(key)
  const h = s.alloc(k, 0, k.length, 0, 0, value.length)
  if (h < 0) return h
  s.writeValue(h, Buffer.from(value), 0, value.length, 0)
  return s.link(h, mode as StoreMode, 0)
}

function records (log: ReplicationLog, after: number): Array<[number, number]> {
  const c = log.cursorAfter(after)
  if (c === null) throw new Error('not held')
  const r = new FrameReader()
  const out: Array<[number, number]> = []
  for (;;) {
    const b = log.read(c)
    if (b === null || b === 'lost') break
    r.push(b)
    while (r.next()) out.push([r.type, readU64(r.buf, r.start)])
  }
  return out
}

t.test('client writes are records; failed writes, evictions and expiry are not', async (t) => {
  const clock = new ManualClock()
  const s = new SlabStore({ memoryLimitBytes: 2 * 1024 * 1024, clock, slabReassign: false })
  const log = new ReplicationLog(s, 8 * 1024 * 1024)
  s.mutations = log
  set(s, 'a', 'x')
  set(s, 'a', 'y', StoreMode.Add) // NOT_STORED: no record
  set(s, 'b', '5')
  s.arith(s.find(Buffer.from('b'), 0, 1), true, 10n, 0)
  s.setExptime(s.find(Buffer.from('a'), 0, 1), clock.now() + 1)
  s.unlink(s.find(Buffer.from('b'), 0, 1))
  s.flush(clock.now())
  t.same(records(log, 0), [[F.Item, 1], [F.Item, 2], [F.Item, 3], [F.Touch, 4], [F.Delete, 5], [F.Flush, 6]])
  clock.advance(2)
  t.equal(s.find(Buffer.from('a'), 0, 1), 0, 'expired')
  const before = log.seqno
  // Fill past the memory limit: evictions happen, none is logged beyond the sets themselves.
  let stored = 0
  for (let i = 0; i < 5000; i++) if (set(s, `k${i}`, 'v'.repeat(1000)) === 0) stored++
  t.ok(s.counters.evictions > 0, 'evicted')
  t.equal(log.seqno - before, stored, 'one record per stored set, none for evictions or expiry')
})

t.test('the backlog is bounded; canContinue follows the history and the backlog', async (t) => {
  const s = new SlabStore({ memoryLimitBytes: 64 * 1024 * 1024 })
  t.teardown(() => s.close())
  const log = new ReplicationLog(s, 2 * 1024 * 1024)
  s.mutations = log
  const value = 'v'.repeat(10_000)
  for (let i = 0; i < 1000; i++) set(s, `k${i % 50}`, value)
  t.ok(log.backlogBytes <= 2 * 1024 * 1024 + 1024 * 1024, `held ${log.backlogBytes}`)
  t.ok(log.firstSeqno > 1, 'old records dropped')
  const h = log.historyId
  t.equal(log.canContinue(h, log.seqno), true, 'at the head')
  t.equal(log.canContinue(h, log.firstSeqno - 1), true, 'just before the oldest record held')
  t.equal(log.canContinue(h, log.firstSeqno - 2), false, 'before it: not held')
  t.equal(log.canContinue(h, log.seqno + 1), false, 'ahead of us: diverged')
  t.equal(log.canContinue('0000000000000000', log.seqno), false, 'another history')
  const c = log.cursorAfter(log.firstSeqno - 2)
  t.equal(c, null)
  const recs = records(log, log.seqno - 10)
  t.same(recs.map((r) => r[1]), Array.from({ length: 10 }, (_, i) => log.seqno - 9 + i), 'the last 10 records, in order')
  // A new history (this node becomes master) keeps the old one up to its switch point.
  const old = log.historyId
  const at = log.seqno
  log.newHistory()
  set(s, 'z', 'z')
  t.equal(log.canContinue(old, at), true, 'the old history up to its end')
  t.equal(log.canContinue(old, at + 1), false, 'not past its end')
  t.equal(log.canContinue(log.historyId, at + 1), true)
})
