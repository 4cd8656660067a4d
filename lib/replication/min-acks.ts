/**
 * --min-replicas-to-ack N: a master answers a client write only once N replicas have
 * acknowledged it. lib/app installs this as the server's WriteGate (structurally: this
 * area imports nothing of the server's):
 *
 *   refuse()  before a write is applied: fewer than N replicas online (in the stream, not
 *             mid full sync) -> the write is refused, not applied
 *   hold()    after it was applied: a Hold on the log's current seqno, released once N
 *             online replicas have acked a seqno at least that high, failed after the
 *             timeout (the write stays applied here; it may or may not be on a replica)
 *
 * A hold waits for everything the master had applied when the write completed, not only
 * its own record, so a reply never depends on an unconfirmed write of another connection.
 * Holds are queued in seqno order (writes are applied one at a time), which is also their
 * deadline order: one timer serves them all, and an ack releases a prefix of the queue.
 *
 * Acks count only from replicas that hold a complete copy: a partial resync's from the
 * start; a full sync's once they ack past its SNAP_END seqno (an ack sent before the replica
 * applied the last listed items carries a seqno the listing may not have reached yet).
 */
import type { ReplicationLog } from './log.js'
import type { ReplicationSource } from './source.js'

/** Hold states, the server's HOLD_WAITING / HOLD_RELEASED / HOLD_FAILED (lib/server/output.ts). */
export const ACK_WAITING = 0
export const ACK_RELEASED = 1
export const ACK_FAILED = 2

/** Binary statuses (memcached's protocol-binary.txt): see README "Synchronous acks". */
const STATUS_INTERNAL_ERROR = 0x0084
const STATUS_TEMPORARY_FAILURE = 0x0086

/** Ack waits kept for the p50/p99 rows of `stats replication`. */
const WAITS = 1024

export class AckHold {
  state = ACK_WAITING
  wake: (() => void) | null = null
  constructor (readonly seq: number, readonly started: number, readonly deadline: number) {}
}

export interface Refusal { readonly line: Buffer, readonly body: Buffer, readonly status: number }

function refusal (text: string, status: number): Refusal {
  return { line: Buffer.from(`SERVER_ERROR ${text}\r\n`, 'latin1'), body: Buffer.from(text, 'latin1'), status }
}

export class MinAcks {
  /** N: replicas that must ack a write before it is answered (0 = asynchronous). */
  n = 0
  timeoutMs = 1000
  /** The highest seqno N counted replicas have acked (never goes back). */
  confirmed = 0
  readonly counters = { writes_waited: 0, ack_timeouts: 0, writes_refused_no_replicas: 0 }
  failLine = Buffer.alloc(0)
  failBody = Buffer.alloc(0)
  readonly failStatus = STATUS_INTERNAL_ERROR
  private noReplicas: Refusal = refusal('', STATUS_TEMPORARY_FAILURE)
  private online = 0
  private queue: AckHold[] = []
  private head = 0
  private timer: NodeJS.Timeout | null = null
  private readonly waits = new Float64Array(WAITS)
  private waitCount = 0
  private waitMax = 0

  constructor (private readonly log: ReplicationLog, private readonly source: ReplicationSource) {}

  configure (n: number, timeoutMs: number): void {
    this.n = n
    this.timeoutMs = timeoutMs
    const s = n === 1 ? '' : 's'
    this.noReplicas = refusal(`not enough replicas: ${n} required to acknowledge a write (--min-replicas-to-ack), fewer are online; the write was not applied`, STATUS_TEMPORARY_FAILURE)
    const fail = `replication timeout: the write was applied on the master but not acknowledged by ${n} replica${s} within ${timeoutMs} ms; it may be lost on a failover`
    this.failLine = Buffer.from(`SERVER_ERROR ${fail}\r\n`, 'latin1')
    this.failBody = Buffer.from(fail, 'latin1')
    this.update()
  }

  /** WriteGate.refuse: the refusal while fewer than N replicas are online, else null. */
  refuse (): Refusal | null {
    if (this.online >= this.n) return null
    this.counters.writes_refused_no_replicas++
    return this.noReplicas
  }

  /** WriteGate.hold: wait for the current seqno, unless N replicas already have it. */
  hold (): AckHold | null {
    const seq = this.log.seqno
    if (seq <= this.confirmed) return null
    const now = performance.now()
    const h = new AckHold(seq, now, now + this.timeoutMs)
    this.queue.push(h)
    this.counters.writes_waited++
    if (this.timer === null) this.arm(this.timeoutMs)
    return h
  }

  /** Holds not yet settled. */
  get waiting (): number { return this.queue.length - this.head }
  get replicasOnline (): number { return this.online }

  /** Called by the source when a replica acked, finished its full sync, attached or left. */
  update (): void {
    let online = 0
    let best = 0
    let acks: number[] | null = null
    for (const s of this.source.senders) {
      if (!s.online) continue
      online++
      const a = s.confirmedSeqno
      if (this.n <= 1) { if (a > best) best = a } else (acks ??= []).push(a)
    }
    this.online = online
    if (this.n === 0) return
    let c = 0
    if (this.n === 1) c = online > 0 ? best : 0
    else if (acks !== null && acks.length >= this.n) c = acks.sort((a, b) => b - a)[this.n - 1]
    if (c > this.confirmed) {
      this.confirmed = c
      this.release(c)
    }
  }

  private release (upTo: number): void {
    const q = this.queue
    const now = performance.now()
    while (this.head < q.length && q[this.head].seq <= upTo) {
      const h = q[this.head++]
      const waited = now - h.started
      this.waits[this.waitCount++ % WAITS] = waited
      if (waited > this.waitMax) this.waitMax = waited
      h.state = ACK_RELEASED
      h.wake?.()
    }
    this.compact()
  }

  private arm (ms: number): void {
    this.timer = setTimeout(() => this.expire(), Math.max(1, Math.ceil(ms)))
    this.timer.unref()
  }

  private expire (): void {
    this.timer = null
    const q = this.queue
    const now = performance.now()
    while (this.head < q.length && q[this.head].deadline <= now) {
      const h = q[this.head++]
      this.counters.ack_timeouts++
      h.state = ACK_FAILED
      h.wake?.()
    }
    this.compact()
    if (this.head < q.length) this.arm(q[this.head].deadline - now)
  }

  private compact (): void {
    if (this.head === this.queue.length) { this.queue.length = 0; this.head = 0 } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head)
      this.head = 0
    }
  }

  /** This node stops being a master (or closes): every waiting write gets the timeout error. */
  failAll (): void {
    if (this.timer !== null) { clearTimeout(this.timer); this.timer = null }
    const q = this.queue
    while (this.head < q.length) {
      const h = q[this.head++]
      this.counters.ack_timeouts++
      h.state = ACK_FAILED
      h.wake?.()
    }
    this.compact()
  }

  /** `stats replication` rows. */
  stats (): Array<[string, string | number]> {
    const n = Math.min(this.waitCount, WAITS)
    let p50 = 0
    let p99 = 0
    if (n > 0) {
      const w = this.waits.slice(0, n).sort()
      p50 = w[Math.floor((n - 1) * 0.5)]
      p99 = w[Math.floor((n - 1) * 0.99)]
    }
    const ms = (v: number): number => Math.round(v * 100) / 100
    return [
      ['min_replicas_to_ack', this.n],
      ['min_replicas_timeout_ms', this.timeoutMs],
      ['replicas_online', this.online],
      ['acked_seqno', this.confirmed],
      ['writes_waited', this.counters.writes_waited],
      ['writes_waiting', this.waiting],
      ['ack_timeouts', this.counters.ack_timeouts],
      ['writes_refused_no_replicas', this.counters.writes_refused_no_replicas],
      ['ack_wait_ms_p50', ms(p50)],
      ['ack_wait_ms_p99', ms(p99)],
      ['ack_wait_ms_max', ms(this.waitMax)],
    ]
  }
}
