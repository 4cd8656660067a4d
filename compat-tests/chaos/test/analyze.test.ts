// The checker's judgements on hand-made histories: each measure counts what it should
// and nothing else (a lost write, a stale read, a write accepted by a fenced master, the
// unavailability span), so a failover that misbehaves cannot pass for one that did not.
import t from 'tap'
import { lostWrites, measureFault, seqOf, staleReads, summarize, type FaultRecord, type Op } from '../analyze.js'

const w = (key: string, value: string, s: number, e: number, result = 'ok', via: Op['via'] = 'proxy', fault?: number): Op =>
  ({ kind: 'w', key, value, s, e, result, via, ...(fault !== undefined ? { fault } : {}) })
const r = (key: string, value: string | null, s: number, e: number, result = value === null ? 'miss' : 'ok'): Op =>
  ({ kind: 'r', key, value, s, e, result, via: 'proxy' })

function fault (over: Partial<FaultRecord> = {}): FaultRecord {
  return {
    kind: 'kill', rep: 1, injected: true, note: '', injectedAt: 1000, liftedAt: 1000, contAt: null,
    oldMaster: 'h:1', oldEpoch: 1, newMaster: 'h:2', newEpoch: 2, newMasterAt: 3000, settledAt: 5000, windowEnd: 9000,
    survivorFullSyncs: 0, survivors: [], otherFullSyncs: {}, readback: null, ...over,
  }
}

t.test('seqOf orders the values of one writer', async (t) => {
  t.equal(seqOf('c1:42'), 42)
  t.equal(seqOf('d:1000003'), 1000003)
  t.equal(seqOf(null), -1)
  t.equal(seqOf('garbage'), -1)
})

t.test('lost writes: the last write acked before the read-back must be there', async (t) => {
  const ops = [w('a', 'c0:1', 0, 1), w('a', 'c0:2', 2, 3), w('b', 'c0:3', 4, 5), w('b', 'c0:4', 6, 7, 'timeout'), w('c', 'c0:5', 8, 20)]
  const values = new Map<string, string | null>([['a', 'c0:1'], ['b', 'c0:4'], ['c', null]])
  // a: acked c0:2, reads c0:1 -> lost. b: a newer (unacked) value is fine. c: acked after the read-back began.
  t.same(lostWrites(ops, { at: 10, values, unread: 0 }), ['a'])
  values.set('a', null)
  t.same(lostWrites(ops, { at: 10, values, unread: 0 }), ['a'], 'a missing key lost its write too')
  t.same(lostWrites(ops, { at: 30, values: new Map([['c', null]]), unread: 0 }), ['c'])
})

t.test('stale reads: older than a value acked and read back, both inside the window', async (t) => {
  const ops = [
    w('a', 'c0:1', 100, 101), r('a', 'c0:1', 102, 103), // confirmed c0:1
    r('a', 'c0:0', 104, 105), // older: stale
    r('a', null, 106, 107), // a miss after a confirmation: stale
    r('a', 'c0:1', 108, 109),
    w('b', 'c0:2', 110, 111), r('b', 'c0:0', 112, 113), // acked but never read back: not judged
  ]
  t.equal(staleReads(ops, 100, 200), 2)
  t.equal(staleReads(ops, 103.5, 200), 0, 'confirmations from before the window do not count')
  // a read that began before the confirmation completed is not judged against it
  t.equal(staleReads([w('a', 'c0:1', 0, 1), r('a', 'c0:1', 2, 10), r('a', 'c0:0', 5, 6)], 0, 100), 0)
})

t.test('fencing: acks from the old master after another master was seen', async (t) => {
  const shardOf = (): string => 's1'
  const ops = [
    w('d:1', 'd:1', 2000, 2001, 'ok', 'direct', 0), // before the new master: fine
    w('d:1', 'd:2', 2990, 3010, 'ok', 'direct', 0), // straddles: not counted
    w('d:1', 'd:3', 3100, 3101, 'ok', 'direct', 0), // after: fenced
    w('d:1', 'd:4', 3200, 3201, 'err SERVER_ERROR lease lost', 'direct', 0), // refused: fine
    w('d:1', 'd:5', 3300, 3301, 'ok', 'direct', 1), // another fault's writer
  ]
  const m = measureFault(fault(), 0, ops, shardOf, 's1')
  t.equal(m.fencedWrites, 1)
  t.equal(m.fencedAmbiguous, 1)
  t.equal(m.directWrites, 4)
  t.equal(measureFault(fault({ newMaster: 'h:1' }), 0, ops, shardOf, 's1').fencedWrites, 0, 'the same host re-elected: its writes are the new epoch\'s')
  t.equal(measureFault(fault({ newMaster: null, newMasterAt: null }), 0, ops, shardOf, 's1').fencedWrites, 0, 'no new master: nothing is fenced')
  const stop = fault({ kind: 'stop', contAt: 3050, newMasterAt: 3500 })
  t.equal(measureFault(stop, 0, ops, shardOf, 's1').fencedWrites, 1, 'SIGSTOP: any ack completed after SIGCONT')
})

t.test('write unavailability: first failure to the first success after the last failure', async (t) => {
  const shardOf = (k: string): string => k.startsWith('x') ? 's2' : 's1'
  const ops = [
    w('a', 'c0:1', 1100, 1101), w('a', 'c0:2', 1200, 2200, 'timeout'), w('a', 'c0:3', 2300, 2301),
    w('a', 'c0:4', 2400, 2401, 'err SERVER_ERROR backend marked down'), w('x', 'c0:5', 2500, 2501),
    w('a', 'c0:6', 2600, 2650), w('x', 'c0:7', 2700, 2701, 'timeout'),
  ]
  const m = measureFault(fault(), 0, ops, shardOf, 's1')
  t.equal(m.writeUnavailableMs, 2650 - 1200)
  t.equal(m.writesFailed, 2)
  t.equal(m.otherShardWritesFailed, 1)
  t.notOk(m.writesNeverRecovered)
  const never = measureFault(fault(), 0, ops.slice(0, 2), shardOf, 's1')
  t.ok(never.writesNeverRecovered)
  t.equal(never.writeUnavailableMs, 9000 - 1200, 'until the window ends')
  t.equal(measureFault(fault(), 0, [w('a', 'c0:1', 1100, 1101)], shardOf, 's1').writeUnavailableMs, 0)
  // invoked just before the next fault, failed because of it: not this fault's
  const straddle = measureFault(fault(), 0, [...ops, w('a', 'c0:8', 8999, 10000, 'timeout')], shardOf, 's1')
  t.equal(straddle.writeUnavailableMs, 2650 - 1200, 'a write that straddles the next injection is not counted')
  t.notOk(straddle.writesNeverRecovered)
})

t.test('read errors: errors, timeouts and misses inside the window', async (t) => {
  const ops = [r('a', 'c0:1', 500, 501, 'err SERVER_ERROR x'), r('a', null, 1500, 1501), r('a', 'c0:1', 1600, 1601, 'timeout'), r('a', 'c0:1', 1700, 1701)]
  const m = measureFault(fault(), 0, ops, () => 's1', 's1')
  t.equal(m.readErrors, 2)
  t.equal(m.reads, 3)
})

t.test('summaries miss exactly the goals that were missed', async (t) => {
  const base = measureFault(fault(), 0, [], () => 's1', 's1')
  const goals = { unavailableMaxMs: 3000, lostIsGoal: true }
  t.same(summarize('kill', [base], goals).missed, [])
  t.same(summarize('kill', [{ ...base, lostWrites: 1 }], goals).missed, ['lostWrites'])
  t.same(summarize('kill', [{ ...base, lostWrites: 1 }], { ...goals, lostIsGoal: false }).missed, [], 'N=0: lost writes are reported only')
  t.same(summarize('kill', [{ ...base, writeUnavailableMs: 3000 }], goals).missed, ['writeUnavailability'])
  t.same(summarize('kill', [{ ...base, settled: false }, base], goals).missed, ['settled'])
  t.same(summarize('kill', [{ ...base, fencedWrites: 2, staleReads: 1, survivorFullSyncs: 1, readErrors: 3 }], goals).missed,
    ['readErrors', 'fencedWrites', 'staleReads', 'survivorFullSyncs'])
  t.same(summarize('kill', [{ ...base, injected: false }], goals).missed, ['injected'])
  t.same(summarize('kill', [{ ...base, unreadKeys: 4 }], goals).missed, ['lostWrites'], 'keys not read back cannot pass as not lost')
  t.same(summarize('kill', [], goals).missed, ['ran'])
  // a timing-dependent fault attempted again: the planned reps injected, every attempt settled
  t.same(summarize('restart-fast', [{ ...base, injected: false }, base], goals, 1).missed, [])
  t.same(summarize('restart-fast', [{ ...base, injected: false }, { ...base, injected: false }], goals, 1).missed, ['injected'])
  t.same(summarize('restart-fast', [{ ...base, injected: false, settled: false }, base], goals, 1).missed, ['settled'], 'an attempt that did not settle still counts')
  t.same(summarize('restart-fast', [{ ...base, injected: false, readErrors: 2 }, base], goals, 1).missed, ['readErrors'], 'so do its errors')
})
