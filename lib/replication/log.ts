/**
 * ReplicationLog: this node's position in the shard's history and the backlog of recent
 * records. On a master it is the store's MutationObserver: every client write becomes
 * one record, framed once into the backlog and sent from there as it is. On a replica the
 * records it applies are appended as they arrived (same seqnos, same bytes), so a replica
 * that later becomes master can resume its siblings' streams from its own backlog.
 *
 * The backlog is a list of blocks (1 MiB, or one block for a larger record). Blocks are
 * append-only and never reused: a sender may hand a view of one to socket.write() and
 * the bytes stay valid whatever the log does next. The oldest blocks are dropped when
 * the total passes the configured size.
 */
import { randomBytes } from 'node:crypto'
import type { MutationObserver } from '../store/events.js'
import type { SlabStore } from '../store/slab-store.js'
import { F, FRAME_HEADER, ITEM_FIXED, readU64, writeHeader, writeU32, writeU64, type HistoryEntry } from './frames.js'

const BLOCK_SIZE = 1024 * 1024
/** Append times kept for lag figures: the last 64 Ki records. */
const TIMES = 1 << 16
/** Failover log entries kept. */
const HISTORY_MAX = 16

export class Block {
  fill = 0
  firstSeqno = 0
  lastSeqno = 0
  constructor (readonly id: number, readonly buf: Buffer) {}
}

/** A reader's place in the backlog: the next byte to send. */
export interface LogCursor { block: number, off: number }

export function newHistoryId (): string { return randomBytes(8).toString('hex') }

export class ReplicationLog implements MutationObserver {
  /** Current history and every earlier one this node's data descends from (oldest first). */
  history: HistoryEntry[]
  /** Seqno of the last record (0 = none yet). */
  seqno = 0
  /** The lowest seqno a partial resync from this node may start after (a replica's backlog
   *  does not cover what it received in a listing). */
  servableFrom = 0
  /** Epoch of the master whose stream this data comes from (this node's own, on a master). */
  epoch = 0
  private readonly blocks: Block[] = []
  private firstBlockId = 0
  private nextBlockId = 0
  private bytesHeld = 0
  private readonly times = new Float64Array(TIMES)
  /** Bytes appended per second over the last 10 s (ring of 1 s buckets). */
  private readonly rateBuckets = new Float64Array(10)
  private rateSecond = 0
  private wakeScheduled = false
  private readonly listeners = new Set<() => void>()
  /** A full sync is listing items: moved items must be re-sent (see relocated()). */
  listingActive = 0

  constructor (private readonly store: SlabStore, readonly capacity: number) {
    this.history = [{ id: newHistoryId(), start: 1 }]
  }

  get historyId (): string { return this.history[this.history.length - 1].id }
  get backlogBytes (): number { return this.bytesHeld }
  /** Seqno of the oldest record held (seqno + 1 when the backlog is empty). */
  get firstSeqno (): number {
    for (const b of this.blocks) if (b.fill > 0) return b.firstSeqno
    return this.seqno + 1
  }

  /** Bytes appended per second, averaged over the last 10 s. */
  writeRate (): number {
    this.rollRate(this.store.clock.now())
    let sum = 0
    for (let i = 0; i < 10; i++) sum += this.rateBuckets[i]
    return sum / 10
  }

  /** performance.now() when record seq was appended, or -1 if no longer known. */
  appendTime (seq: number): number {
    if (seq > this.seqno || seq <= 0 || this.seqno - seq >= TIMES) return -1
    return this.times[seq & (TIMES - 1)]
  }

  /** Called (once per event-loop turn) after records were appended. */
  onAppend (fn: () => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  /** This node starts a new history as master (kept: the ones its data came from). */
  newHistory (): void {
    this.history.push({ id: newHistoryId(), start: this.seqno + 1 })
    if (this.history.length > HISTORY_MAX) this.history.splice(0, this.history.length - HISTORY_MAX)
  }

  /**
   * A full sync starts: this node now holds nothing but the master's history, at `seq`.
   * The backlog is dropped (it described data that is gone).
   */
  resetTo (history: HistoryEntry[], seq: number): void {
    this.history = history.map((e) => ({ ...e }))
    this.seqno = seq
    this.blocks.length = 0
    this.firstBlockId = this.nextBlockId
    this.bytesHeld = 0
    this.servableFrom = Number.MAX_SAFE_INTEGER
  }

  /** A partial resync: adopt the master's view of the history (it may know newer entries). */
  adoptHistory (history: HistoryEntry[]): void {
    this.history = history.map((e) => ({ ...e }))
  }

  /**
   * Whether a replica at (historyId, seq) can continue from this node's stream: the history
   * is one of ours, seq is not past where it ended, and the backlog holds seq + 1.
   */
  canContinue (historyId: string, seq: number): boolean {
    const i = this.history.findIndex((e) => e.id === historyId)
    if (i < 0) return false
    const end = i === this.history.length - 1 ? this.seqno : this.history[i + 1].start - 1
    if (seq > end || seq < this.servableFrom) return false
    return seq === this.seqno || this.firstSeqno <= seq + 1
  }

  // ---- appending ------------------------------------------------------------------

  private reserve (n: number): Block {
    let b = this.blocks.length > 0 ? this.blocks[this.blocks.length - 1] : null
    if (b === null || b.buf.length - b.fill < n) {
      b = new Block(this.nextBlockId++, Buffer.allocUnsafeSlow(Math.max(BLOCK_SIZE, n)))
      this.blocks.push(b)
      this.bytesHeld += b.buf.length
      // Keep the newest block whatever the size; drop the oldest past the capacity.
      while (this.blocks.length > 1 && this.bytesHeld > this.capacity) {
        const old = this.blocks.shift() as Block
        this.bytesHeld -= old.buf.length
        this.firstBlockId = this.blocks[0].id
      }
    }
    return b
  }

  private appended (b: Block, seq: number, len: number): void {
    if (b.fill === 0) b.firstSeqno = seq
    b.lastSeqno = seq
    b.fill += len
    this.seqno = seq
    this.times[seq & (TIMES - 1)] = performance.now()
    // The store's coarse clock (whole seconds, no system call) buckets the write rate.
    const sec = this.store.clock.now()
    if (sec !== this.rateSecond) this.rollRate(sec)
    this.rateBuckets[sec % 10] += len
    if (!this.wakeScheduled && this.listeners.size > 0) {
      this.wakeScheduled = true
      setImmediate(() => this.wake())
    }
  }

  private rollRate (sec: number): void {
    if (sec === this.rateSecond) return
    const gap = Math.min(10, sec - this.rateSecond)
    for (let i = 1; i <= gap; i++) this.rateBuckets[(this.rateSecond + i) % 10] = 0
    this.rateSecond = sec
  }

  private wake (): void {
    this.wakeScheduled = false
    for (const fn of this.listeners) fn()
  }

  /** Absolute Unix seconds of a store time (0 stays 0). */
  private absTime (rel: number): number {
    return rel === 0 ? 0 : rel + this.store.clock.processStarted
  }

  /** The block the record being written goes into (see begin/commit). */
  private cur: Block | null = null

  /** Starts a record of payload length len: header and seqno written; returns the offset after them. */
  private begin (type: number, len: number): number {
    const b = this.reserve(FRAME_HEADER + len)
    this.cur = b
    return writeU64(b.buf, writeHeader(b.buf, b.fill, type, len), this.seqno + 1)
  }

  private commit (len: number): void {
    this.appended(this.cur as Block, this.seqno + 1, FRAME_HEADER + len)
  }

  item (h: number): void {
    const store = this.store
    const nkey = store.nkey(h)
    const len = ITEM_FIXED + nkey + store.nbytes(h)
    let o = this.begin(F.Item, len)
    const buf = (this.cur as Block).buf
    o = writeU64(buf, o, store.cas(h))
    o = writeU32(buf, o, store.flags(h))
    o = writeU32(buf, o, this.absTime(store.exptime(h)))
    buf[o++] = store.itemBits(h)
    buf[o++] = nkey
    store.copyValue(h, buf, store.copyKey(h, buf, o))
    this.commit(len)
  }

  touch (h: number): void {
    const store = this.store
    const nkey = store.nkey(h)
    const len = 8 + 4 + 1 + nkey
    let o = this.begin(F.Touch, len)
    const buf = (this.cur as Block).buf
    o = writeU32(buf, o, this.absTime(store.exptime(h)))
    buf[o++] = nkey
    store.copyKey(h, buf, o)
    this.commit(len)
  }

  remove (h: number): void {
    const store = this.store
    const nkey = store.nkey(h)
    const len = 8 + 1 + nkey
    const o = this.begin(F.Delete, len)
    const buf = (this.cur as Block).buf
    buf[o] = nkey
    store.copyKey(h, buf, o + 1)
    this.commit(len)
  }

  flush (oldestLive: number, oldestCas: number): void {
    const len = 8 + 4 + 8
    const o = this.begin(F.Flush, len)
    const buf = (this.cur as Block).buf
    writeU64(buf, writeU32(buf, o, this.absTime(oldestLive)), oldestCas)
    this.commit(len)
  }

  /**
   * The page mover copied an item elsewhere. A listing in progress holds the old handle and
   * would miss it, so while one runs the item is logged again (the same state: harmless).
   */
  relocated (h: number): void {
    if (this.listingActive > 0) this.item(h)
  }

  /** A replica appends a record it applied, as it arrived (frame bytes src[s, e)). */
  appendFrame (src: Uint8Array, s: number, e: number, seq: number): void {
    const b = this.reserve(e - s)
    b.buf.set(src.subarray(s, e), b.fill)
    this.appended(b, seq, e - s)
  }

  // ---- reading --------------------------------------------------------------------

  /** A cursor just after record seq, or null when the backlog no longer holds seq + 1. */
  cursorAfter (seq: number): LogCursor | null {
    if (seq === this.seqno) {
      const last = this.blocks[this.blocks.length - 1]
      return last === undefined ? { block: this.nextBlockId, off: 0 } : { block: last.id, off: last.fill }
    }
    for (const b of this.blocks) {
      if (b.fill === 0 || b.lastSeqno <= seq) continue
      if (b.firstSeqno > seq + 1) return null
      let off = 0
      while (off < b.fill) {
        const rs = readU64(b.buf, off + FRAME_HEADER)
        if (rs === seq + 1) return { block: b.id, off }
        off += FRAME_HEADER + b.buf.readUInt32LE(off + 1)
      }
      return null
    }
    return null
  }

  /**
   * The next bytes to send from cursor c (a view, valid forever), advancing c; null when
   * c is at the end; 'lost' when the blocks c needs were dropped.
   */
  read (c: LogCursor): Buffer | null | 'lost' {
    for (;;) {
      if (c.block < this.firstBlockId) return 'lost'
      const b = this.blocks[c.block - this.firstBlockId]
      if (b === undefined) return null // nothing appended since (block not created yet)
      if (c.off < b.fill) {
        const view = b.buf.subarray(c.off, b.fill)
        c.off = b.fill
        return view
      }
      if (c.block - this.firstBlockId === this.blocks.length - 1) return null
      c.block++
      c.off = 0
    }
  }
}
