// compat-tests/chaos/analyze.ts
/**
 * From what was recorded (every client operation, the nemesis's fault records, the
 * read-backs) to the measures of the report. Pure: no I/O, no clock; unit-tested with
 * hand-made histories in test/analyze.test.ts.
 *
 * Values are `<writer>:<seq>`, one writer per key, seq rising per writer: seqOf orders
 * any two values of one key. Times are ms on the one clock of this machine
 * (performance.timeOrigin + now() in every process).
 */
import type { OpRecord } from './client.js'

export const FAULTS = ['kill', 'stop', 'zk-freeze', 'expire', 'restart-fast', 'replica-sync-kill'] as const
export type FaultKind = typeof FAULTS[number]

/** An operation with who did it: a proxy client, the checker (seq 0 writes), or a direct writer. */
export interface Op {
  kind: 'w' | 'r'
  key: string
  value: string | null
  s: number
  e: number
  result: string
  /** 'proxy' | 'checker' | 'direct' */
  via: 'proxy' | 'checker' | 'direct'
  /** For direct writers: the fault (index into faults) it ran for. */
  fault?: number
}

export function opsFrom (records: readonly OpRecord[], via: Op['via'], fault?: number): Op[] {
  return records.map(([kind, key, value, s, e, result]) => ({ kind, key, value, s, e, result, via, ...(fault !== undefined ? { fault } : {}) }))
}

export interface Readback {
  /** When the read-back started (acks completed before this must be there). */
  at: number
  /** key -> value read from the shard's master (null: missing), for every key read. */
  values: Map<string, string | null>
  /** Keys that could not be read (no master, error): not judged. */
  unread: number
}

export interface FaultRecord {
  kind: FaultKind
  rep: number
  /** The fault was applied as planned (e.g. the replica really was mid full sync). */
  injected: boolean
  note: string
  injectedAt: number
  /** The fault was lifted (restart, SIGCONT, unfreeze); = injectedAt for instant ones. */
  liftedAt: number
  /** SIGCONT time (stop only). */
  contAt: number | null
  oldMaster: string | null
  oldEpoch: number
  /** First seen in ZooKeeper: a master of the shard with a higher epoch. */
  newMaster: string | null
  newEpoch: number
  newMasterAt: number | null
  /** Shard has a master and every replica is in sync again; null: not within the bound. */
  settledAt: number | null
  /** End of this fault's window (the next fault's injection, or the end of the run). */
  windowEnd: number
  /** full_syncs deltas of hosts that were replicas before, were not faulted, and still are. */
  survivorFullSyncs: number
  survivors: string[]
  /** full_syncs of the other hosts (the faulted or promoted ones): informational. */
  otherFullSyncs: Record<string, number>
  readback: Readback | null
}

export interface FaultMeasures {
  kind: FaultKind
  rep: number
  injected: boolean
  settled: boolean
  note: string
  /** ms from injection to a new master seen in ZooKeeper / to settled (informational). */
  failoverMs: number | null
  settleMs: number | null
  readErrors: number
  reads: number
  /** ms, first failed write of the faulted shard to the first success after its last failure; 0: none failed. */
  writeUnavailableMs: number
  /** The window ended with writes still failing. */
  writesNeverRecovered: boolean
  writes: number
  writesFailed: number
  /** Failed writes on the shard that was NOT faulted (informational). */
  otherShardWritesFailed: number
  lostWrites: number
  lostKeys: string[]
  /** Keys the read-back could not read (no master, no answer): their writes are not judged. */
  unreadKeys: number
  fencedWrites: number
  /** Acked by the old master in a request that straddled the new master's appearance: not counted. */
  fencedAmbiguous: number
  directWrites: number
  staleReads: number
  survivorFullSyncs: number
  /** Failed proxy operations in the window by result text (first 60 characters), most frequent first. */
  errorKinds: Record<string, number>
}

/** Failed operations by result text (what the clients saw), most frequent first, at most `top`. */
export function errorKinds (ops: readonly Op[], top = 6): Record<string, number> {
  const n = new Map<string, number>()
  for (const o of ops) if (o.result !== 'ok') { const k = `${o.kind === 'w' ? 'write' : 'read'} ${o.result.slice(0, 60)}`; n.set(k, (n.get(k) ?? 0) + 1) }
  return Object.fromEntries([...n].sort((a, b) => b[1] - a[1]).slice(0, top))
}

export const seqOf = (v: string | null): number => {
  if (v === null) return -1
  const i = v.lastIndexOf(':')
  const n = Number(v.slice(i + 1))
  return i === -1 || !Number.isFinite(n) ? -1 : n
}

const failed = (o: Op): boolean => o.result !== 'ok'

/**
 * Writes acked before `at` that `rb` does not show: per key, the last write acknowledged
 * (completed ok) before the read-back started, against the value read back.
 */
export function lostWrites (ops: readonly Op[], rb: Readback): string[] {
  const lastAck = new Map<string, number>()
  for (const o of ops) {
    if (o.kind !== 'w' || o.result !== 'ok' || o.e >= rb.at) continue
    const q = seqOf(o.value)
    if (q > (lastAck.get(o.key) ?? -1)) lastAck.set(o.key, q)
  }
  const lost: string[] = []
  for (const [k, v] of rb.values) {
    const want = lastAck.get(k)
    if (want !== undefined && seqOf(v) < want) lost.push(k)
  }
  return lost.sort()
}

/**
 * Stale reads inside [from, to) (invoked at or after `from`, completed before `to`): a read that returns a value older than (or misses) a
 * value of its key that was acknowledged and then read back, both inside the window,
 * before this read was invoked.
 */
export function staleReads (ops: readonly Op[], from: number, to: number): number {
  const acked = new Set<string>()
  for (const o of ops) if (o.kind === 'w' && o.result === 'ok' && o.s >= from && o.value !== null) acked.add(`${o.key}\u0000${o.value}`)
  const reads = ops.filter((o) => o.kind === 'r' && o.via === 'proxy' && o.s >= from && o.e < to && (o.result === 'ok' || o.result === 'miss'))
    .sort((a, b) => a.s - b.s)
  // confirmations in completion order; a read is judged against those completed before it began
  const confirms = reads.filter((o) => o.result === 'ok' && acked.has(`${o.key}\u0000${o.value}`)).sort((a, b) => a.e - b.e)
  const confirmed = new Map<string, number>()
  let ci = 0
  let stale = 0
  for (const r of reads) {
    while (ci < confirms.length && confirms[ci]!.e < r.s) {
      const c = confirms[ci++]!
      const q = seqOf(c.value)
      if (q > (confirmed.get(c.key) ?? -1)) confirmed.set(c.key, q)
    }
    const want = confirmed.get(r.key)
    if (want !== undefined && seqOf(r.value) < want) stale++
  }
  return stale
}

/** Measures of one fault. `shardOf` maps a key to its shard; `shard` is the faulted one. */
export function measureFault (f: FaultRecord, index: number, ops: readonly Op[], shardOf: (k: string) => string, shard: string): FaultMeasures {
  const end = f.windowEnd
  // Invoked after this fault and completed before the next one was injected: an operation
  // that straddles the next injection may have failed because of the next fault.
  const inWin = (o: Op): boolean => o.s >= f.injectedAt && o.e < end
  const proxyOps = ops.filter((o) => o.via === 'proxy' && inWin(o))
  const reads = proxyOps.filter((o) => o.kind === 'r')
  // A miss is a failed read: every key was written (and replicated) before clients started.
  const readErrors = reads.filter(failed).length
  const writes = proxyOps.filter((o) => o.kind === 'w' && shardOf(o.key) === shard).sort((a, b) => a.s - b.s)
  const otherShardWritesFailed = proxyOps.filter((o) => o.kind === 'w' && shardOf(o.key) !== shard && failed(o)).length
  let unavailable = 0
  let never = false
  const fails = writes.filter(failed)
  if (fails.length > 0) {
    const first = fails[0]!
    const last = fails[fails.length - 1]!
    const ok = writes.find((o) => !failed(o) && o.s > last.s)
    if (ok === undefined) { never = true; unavailable = end - first.s } else unavailable = ok.e - first.s
  }
  // Fencing: the direct writer of this fault, acked by the old master once ANOTHER host was
  // seen as master with a higher epoch (if the same host won again, its writes are the new
  // epoch's). Certain: invoked after the new master was seen. Straddling: invoked before,
  // acked after (the ack may have come first): reported, not counted.
  const direct = ops.filter((o) => o.via === 'direct' && o.fault === index && o.kind === 'w')
  let fenced = 0
  let ambiguous = 0
  const otherMaster = f.newMasterAt !== null && f.newMaster !== null && f.newMaster !== f.oldMaster
  for (const o of direct) {
    if (o.result !== 'ok') continue
    if (!otherMaster) continue
    // SIGSTOP: once it is continued, the old master has been replaced; not one ack may follow.
    if (f.kind === 'stop' && f.contAt !== null && o.e >= f.contAt) { fenced++; continue }
    {
      if (o.s >= f.newMasterAt!) fenced++
      else if (o.e >= f.newMasterAt!) ambiguous++
    }
  }
  const lost = f.readback !== null ? lostWrites(ops, f.readback) : []
  const stale = f.settledAt !== null ? staleReads(ops, f.settledAt, end) : 0
  return {
    kind: f.kind,
    rep: f.rep,
    injected: f.injected,
    settled: f.settledAt !== null,
    note: f.note,
    failoverMs: f.newMasterAt !== null ? Math.round(f.newMasterAt - f.injectedAt) : null,
    settleMs: f.settledAt !== null ? Math.round(f.settledAt - f.injectedAt) : null,
    readErrors,
    reads: reads.length,
    writeUnavailableMs: Math.round(unavailable),
    writesNeverRecovered: never,
    writes: writes.length,
    writesFailed: fails.length,
    otherShardWritesFailed,
    lostWrites: lost.length,
    lostKeys: lost.slice(0, 20),
    unreadKeys: f.readback === null ? -1 : f.readback.unread,
    fencedWrites: fenced,
    fencedAmbiguous: ambiguous,
    directWrites: direct.length,
    staleReads: stale,
    survivorFullSyncs: f.survivorFullSyncs,
    errorKinds: errorKinds(proxyOps),
  }
}

/** Nearest-rank quantile. */
export function quantile (xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!
}

export interface Goals {
  /** Write unavailability must stay below this (session timeout + 1 s). */
  unavailableMaxMs: number
  /** Lost acknowledged writes are a goal (N >= 1) or only reported (N = 0). */
  lostIsGoal: boolean
}

/** One row of the report: a fault kind over its repetitions. */
export interface Summary {
  kind: FaultKind
  /** Repetitions planned, and attempts made (more when an attempt was not injected). */
  reps: number
  attempts: number
  injected: number
  settled: number
  readErrors: number
  reads: number
  unavailP50Ms: number
  unavailMaxMs: number
  neverRecovered: number
  lostWrites: number
  /** Keys not read back (summed over reps): lost writes among them are unknown. */
  unreadKeys: number
  fencedWrites: number
  fencedAmbiguous: number
  staleReads: number
  survivorFullSyncs: number
  failoverP50Ms: number | null
  /** Goals missed, by measure name. */
  missed: string[]
}

/**
 * One fault kind over its attempts. `planned` repetitions must each have been injected
 * (a fault whose injection depends on timing, e.g. the restart inside the detection
 * window, is attempted again); every attempt, injected or not, must settle and counts in
 * every measure.
 */
export function summarize (kind: FaultKind, ms: readonly FaultMeasures[], goals: Goals, planned = ms.length): Summary {
  const sum = (f: (m: FaultMeasures) => number): number => ms.reduce((a, m) => a + f(m), 0)
  const un = ms.map((m) => m.writeUnavailableMs)
  const fo = ms.map((m) => m.failoverMs).filter((x): x is number => x !== null)
  const s: Summary = {
    kind,
    reps: planned,
    attempts: ms.length,
    injected: ms.filter((m) => m.injected).length,
    settled: ms.filter((m) => m.settled).length,
    readErrors: sum((m) => m.readErrors),
    reads: sum((m) => m.reads),
    unavailP50Ms: un.length > 0 ? quantile(un, 0.5) : 0,
    unavailMaxMs: un.length > 0 ? Math.max(...un) : 0,
    neverRecovered: ms.filter((m) => m.writesNeverRecovered).length,
    lostWrites: sum((m) => m.lostWrites),
    unreadKeys: sum((m) => Math.max(0, m.unreadKeys)),
    fencedWrites: sum((m) => m.fencedWrites),
    fencedAmbiguous: sum((m) => m.fencedAmbiguous),
    staleReads: sum((m) => m.staleReads),
    survivorFullSyncs: sum((m) => m.survivorFullSyncs),
    failoverP50Ms: fo.length > 0 ? quantile(fo, 0.5) : null,
    missed: [],
  }
  if (s.attempts === 0) s.missed.push('ran')
  if (s.injected < s.reps) s.missed.push('injected')
  if (s.settled < s.attempts) s.missed.push('settled')
  if (s.readErrors > 0) s.missed.push('readErrors')
  if (s.neverRecovered > 0 || s.unavailMaxMs >= goals.unavailableMaxMs) s.missed.push('writeUnavailability')
  if (goals.lostIsGoal && (s.lostWrites > 0 || s.unreadKeys > 0)) s.missed.push('lostWrites')
  if (s.fencedWrites > 0) s.missed.push('fencedWrites')
  if (s.staleReads > 0) s.missed.push('staleReads')
  if (s.survivorFullSyncs > 0) s.missed.push('survivorFullSyncs')
  return s
}
