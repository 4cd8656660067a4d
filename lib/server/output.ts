/**
 * Reply assembly with few allocations: small pieces (status lines, VALUE headers, small
 * values) are appended into one staging chunk shared by every connection of the process;
 * large values get a Buffer of their own. Everything produced for one input chunk leaves
 * in one socket write (a writev when there are several pieces).
 *
 * Ownership: a range taken from the staging chunk is handed to socket.write() and never
 * written again; when the chunk is full a fresh one is started and the old one is freed by
 * GC once the socket is done with it. Only one Output appends to the chunk at a time: an
 * Output that finds another one's unflushed bytes there first moves them into that
 * Output's own piece list (`yieldStaging`).
 */
import { writeUint } from '../../protocol/numbers.js'
import { truncate } from './truncate.js'

const CHUNK_SIZE = 64 * 1024
/** Values at least this large are copied into their own Buffer instead of the chunk. */
export const LARGE_PIECE = 16 * 1024
/**
 * Values at least this large are sent straight from slab memory (a pinned view, see
 * pinnedValue) when the store can give a contiguous view. Below it, copying into the
 * staging chunk is cheaper than a pin and an extra writev piece (measured against 1 KiB:
 * lib/server/README.md, "Output").
 */
export const ZERO_COPY_MIN = 16 * 1024

/**
 * Where pinned values come from (the store: SlabStore's valueView/pinItem/unpinItem). A view
 * stays valid from pinItem(h) until unpinItem(h); the Output unpins once the socket is done with it
 * (write callback, also called with an error when the socket is destroyed) or when the
 * piece is dropped unsent (discard, clear).
 */
export interface PinSource {
  valueView (h: number): Buffer | null
  pinItem (h: number): void
  unpinItem (h: number): void
}

class Staging {
  buf = Buffer.allocUnsafeSlow(CHUNK_SIZE)
  start = 0
  end = 0
  owner: Output | null = null
  /** Which chunk `buf` is (changes when a fresh one is started). */
  gen = 0
  /**
   * Ranges of this chunk in some Output's piece list or in a write not known to be done.
   * At 0, with no owner, nothing refers to the chunk and it is written from its start
   * again (see Output.release): while every write completes synchronously, one chunk
   * serves all replies instead of a new 64 KiB Buffer per 64 KiB of replies.
   */
  refs = 0
}
const staging = new Staging()

/** A held reply's state (see Hold). */
export const HOLD_WAITING = 0
export const HOLD_RELEASED = 1
export const HOLD_FAILED = 2

/**
 * A write's reply that waits for something outside the server (replication's
 * --min-replicas-to-ack): the Output keeps the reply, and everything queued after it, until
 * state leaves HOLD_WAITING; on HOLD_FAILED the reply is replaced by the gate's error.
 */
export interface Hold {
  state: number
  /** Set by the Output holding the reply; the owner calls it once when state changes. */
  wake: (() => void) | null
}

/** Who flushes an Output when one of its holds settles (the connection). */
export interface HoldOwner { flushHeld (): void }

/**
 * Markers in the piece list around a held reply (zero-length, compared by identity): the
 * k-th GATE_START belongs to gates[k]. flush() writes up to the first gate still waiting.
 */
const GATE_START = Buffer.alloc(0)
const GATE_END = Buffer.alloc(0)
interface Gate { hold: Hold | null, fail: Buffer | null }
const NO_WAIT: Hold = { state: HOLD_RELEASED, wake: null }

export interface Sink {
  write (b: Buffer, cb?: (err?: Error | null) => void): boolean
  cork (): void
  uncork (): void
  /**
   * Optional: list[0, n) as one write, done once all of it is written (SocketWriter). The
   * sink must not keep `list` itself past the call: the Output reuses it.
   */
  writev? (list: Buffer[], n: number, done: ((err?: Error | null) => void) | undefined): boolean
  /**
   * Optional: true when the last write was copied by the kernel before it returned (so
   * its buffers may be reused at once); anything else keeps them untouched.
   */
  readonly lastSync?: boolean
}

export class Output {
  /** Pieces taken from staging or large values, in order, not yet written. */
  private pieces: Buffer[] = []
  /** Bytes queued (staged + pieces) since the last flush. */
  pendingBytes = 0
  bytesWritten = 0
  private committed = 0
  private committedBytes = 0
  /** Held replies in queue order (null: none, the usual case: flush() takes its fast path). */
  gates: Gate[] | null = null
  /** The gate opened by holdBegin() whose reply is being written (always gates' last). */
  private open: Gate | null = null
  /** Flushes this output when a hold settles (set by the connection). */
  owner: HoldOwner | null = null
  private wakeQueued = false
  private wakeFn: (() => void) | null = null
  /** Pinned pieces not yet handed to the socket: their index in `pieces` and their handle. */
  private pinIdx: number[] = []
  private pinH: number[] = []
  private pinSrc: PinSource | null = null
  /** Ranges of staging chunk `myGen` in `pieces` (counted in staging.refs). */
  private myRefs = 0
  private myGen = -1

  /** Moves staging[start, end) into the piece list. */
  private stage (st: Staging): void {
    this.pieces.push(st.buf.subarray(st.start, st.end))
    if (this.myGen !== st.gen) { this.myGen = st.gen; this.myRefs = 0 }
    this.myRefs++
    st.refs++
  }

  /**
   * Everything this Output handed over was written synchronously (the kernel copied it):
   * its ranges no longer refer to the chunk; if no one else's do, start it over.
   */
  private release (st: Staging): void {
    if (this.myGen === st.gen) st.refs -= this.myRefs
    this.myRefs = 0
    if (st.refs === 0 && st.owner === null) { st.start = 0; st.end = 0 }
  }

  /** Reserve n bytes in staging for this output; returns the offset to write at. */
  private reserve (n: number): number {
    const st = staging
    if (st.owner !== this) {
      if (st.owner !== null) st.owner.yieldStaging()
      st.owner = this
      st.start = st.end
    }
    if (st.end + n > st.buf.length) {
      if (st.end > st.start) this.stage(st)
      st.buf = Buffer.allocUnsafeSlow(n > CHUNK_SIZE ? n : CHUNK_SIZE)
      st.gen++
      st.refs = 0
      st.start = 0
      st.end = 0
    }
    const off = st.end
    st.end += n
    this.pendingBytes += n
    return off
  }

  /** Another Output needs the staging chunk: take our range out of it. */
  yieldStaging (): void {
    const st = staging
    if (st.end > st.start) this.stage(st)
    st.start = st.end
    st.owner = null
  }

  /** Appends a constant or any small buffer. */
  bytes (src: Uint8Array): void {
    const off = this.reserve(src.length)
    staging.buf.set(src, off)
  }

  /** Appends src[s, e), copying; large ranges become their own piece. */
  range (src: Uint8Array, s: number, e: number): void {
    const n = e - s
    if (n >= LARGE_PIECE) {
      this.flushStagingToPieces()
      const own = Buffer.allocUnsafe(n)
      own.set(src.subarray(s, e))
      this.pieces.push(own)
      this.pendingBytes += n
      return
    }
    const off = this.reserve(n)
    staging.buf.set(src.subarray(s, e), off)
  }

  /** Appends a Buffer the caller hands over for good (it must never change it again). */
  owned (b: Buffer): void {
    this.flushStagingToPieces()
    this.pieces.push(b)
    this.pendingBytes += b.length
  }

  /**
   * Appends item h's value as a view of slab memory, pinned until it is written (no copy).
   * Returns false, appending nothing, when the store has no contiguous view (a chained item):
   * the caller copies then.
   */
  pinnedValue (src: PinSource, h: number): boolean {
    const v = src.valueView(h)
    if (v === null) return false
    this.flushStagingToPieces()
    src.pinItem(h)
    this.pinSrc = src
    this.pinIdx.push(this.pieces.length)
    this.pinH.push(h)
    this.pieces.push(v)
    this.pendingBytes += v.length
    return true
  }

  /** Pins held by pieces not yet written (they are released by the write callbacks). */
  get pinsQueued (): number { return this.pinH.length }

  /** Unpins pieces [from, ...) that are dropped unsent. */
  private dropPins (from: number): void {
    const idx = this.pinIdx
    let k = idx.length
    while (k > 0 && idx[k - 1] >= from) {
      k--
      ;(this.pinSrc as PinSource).unpinItem(this.pinH[k])
    }
    idx.length = k
    this.pinH.length = k
  }

  /**
   * The pins of pieces [0, upTo), handed to the socket now: returns the write callback that
   * releases them, or undefined when there are none.
   */
  private takePins (upTo: number): ((err?: Error | null) => void) | undefined {
    const idx = this.pinIdx
    if (idx.length === 0 || idx[0] >= upTo) {
      for (let k = 0; k < idx.length; k++) idx[k] -= upTo
      return undefined
    }
    let k = 0
    while (k < idx.length && idx[k] < upTo) k++
    const hs = this.pinH.splice(0, k)
    idx.splice(0, k)
    for (let j = 0; j < idx.length; j++) idx[j] -= upTo
    const src = this.pinSrc as PinSource
    return () => { for (let j = 0; j < hs.length; j++) src.unpinItem(hs[j]) }
  }

  /** Direct write access: reserve n bytes; write them at the returned offset of `target()`. */
  reserveRaw (n: number): number { return this.reserve(n) }
  target (): Buffer { return staging.buf }
  /** Gives back the unused tail of the last reserveRaw (when fewer bytes were written). */
  unreserve (n: number): void { staging.end -= n; this.pendingBytes -= n }

  ascii (s: string): void {
    const off = this.reserve(s.length)
    staging.buf.write(s, off, 'latin1')
  }

  uint (n: number): void {
    const off = this.reserve(20)
    const end = writeUint(staging.buf, off, n)
    this.unreserve(20 - (end - off))
  }

  private flushStagingToPieces (): void {
    const st = staging
    if (st.owner === this && st.end > st.start) {
      this.stage(st)
      st.start = st.end
    }
  }

  /**
   * Marks everything queued so far as sent: discard() will not drop it. memcached
   * transmits its pending replies after every get and at every `mn`, and culls only what
   * has not been transmitted; commit() marks those points.
   */
  commit (): void {
    this.flushStagingToPieces()
    this.committed = this.pieces.length
    this.committedBytes = this.pendingBytes
  }

  /** Drops everything queued, committed or not (the connection is going away). */
  clear (): void {
    this.committed = 0
    this.committedBytes = 0
    this.gates = null
    this.open = null
    this.discard()
  }

  // ---- held replies (--min-replicas-to-ack) ---------------------------------------------

  /** A write starts: its reply, written next, may have to wait (holdEnd decides). */
  holdBegin (): void {
    this.flushStagingToPieces()
    const g: Gate = { hold: null, fail: null }
    this.open = g
    if (this.gates === null) this.gates = [g]
    else this.gates.push(g)
    this.pieces.push(GATE_START)
  }

  /** A write's reply is between holdBegin() and now. */
  get holding (): boolean { return this.open !== null }

  /**
   * The write's reply is complete. hold null: send it in order, as usual. Otherwise it (and
   * all that follows) waits until the hold settles; on HOLD_FAILED `fail` is sent instead
   * (also when the reply was empty: noreply and quiet commands still get the error).
   */
  holdEnd (hold: Hold | null, fail: Buffer | null): void {
    const g = this.open
    if (g === null) return
    this.open = null
    this.flushStagingToPieces()
    this.pieces.push(GATE_END)
    if (hold === null) { g.hold = NO_WAIT; return }
    g.hold = hold
    g.fail = fail
    if (this.wakeFn === null) {
      // One flush per settled batch: holds released together wake the connection once.
      const run = (): void => { this.wakeQueued = false; this.owner?.flushHeld() }
      this.wakeFn = () => { if (!this.wakeQueued) { this.wakeQueued = true; queueMicrotask(run) } }
    }
    hold.wake = this.wakeFn
  }

  /** After discard() cut the piece list: keep markers and gates consistent. */
  private repairGates (): void {
    const gates = this.gates as Gate[]
    const pieces = this.pieces
    let starts = 0
    let inside = false
    for (let i = 0; i < pieces.length; i++) {
      if (pieces[i] === GATE_START) { starts++; inside = true } else if (pieces[i] === GATE_END) inside = false
    }
    const open = this.open
    const openKept = open !== null && starts === gates.length && inside
    // A closed gate cut inside its reply: close it again (what is left of its reply stays held).
    if (inside && !openKept) pieces.push(GATE_END)
    gates.length = Math.min(starts, gates.length)
    if (open !== null && !openKept) {
      if (gates[gates.length - 1] === open) gates.length--
      gates.push(open)
      pieces.push(GATE_START)
    }
    if (gates.length === 0) this.gates = null
  }

  /** flush() while replies are held: writes up to the first gate still waiting. */
  private flushGated (sink: Sink): boolean {
    const pieces = this.pieces
    const gates = this.gates as Gate[]
    const n = pieces.length
    const send: Buffer[] = []
    let i = 0
    let g = 0
    let consumed = 0
    let written = 0
    while (i < n) {
      const p = pieces[i]
      if (p === GATE_START) {
        const gate = gates[g]
        const h = gate.hold
        if (h === null || h.state === HOLD_WAITING) break
        g++
        i++
        if (h.state === HOLD_FAILED) {
          while (pieces[i] !== GATE_END) consumed += pieces[i++].length
          const f = gate.fail as Buffer
          send.push(f)
          written += f.length
        }
        continue
      }
      if (p !== GATE_END) { send.push(p); consumed += p.length; written += p.length }
      i++
    }
    if (i === 0) return true
    pieces.splice(0, i)
    gates.splice(0, g)
    if (gates.length === 0) this.gates = null
    this.pendingBytes -= consumed
    this.bytesWritten += written
    this.committed = Math.max(0, this.committed - i)
    this.committedBytes = Math.max(0, this.committedBytes - consumed)
    const ok = writeAll(sink, send, send.length, this.takePins(i))
    // Ranges of a write libuv queued stay counted for good (see flush()).
    if (sink.lastSync !== true) this.myRefs = 0
    return ok
  }

  /** Drops everything queued since the last commit() or flush (memcached conn_release_items). */
  discard (): void {
    const st = staging
    if (st.owner === this) { st.end = st.start; st.owner = null }
    if (this.pinIdx.length !== 0) this.dropPins(this.committed)
    truncate(this.pieces, this.committed)
    this.pendingBytes = this.committedBytes
    if (this.gates !== null) this.repairGates()
  }

  /** Writes everything queued to the sink. Returns false if the sink asks us to wait. */
  flush (sink: Sink): boolean {
    const st = staging
    if (st.owner === this) {
      if (st.end > st.start) this.stage(st)
      st.start = st.end
      st.owner = null
    }
    if (this.gates !== null) return this.flushGated(sink)
    const pieces = this.pieces
    const n = pieces.length
    if (n === 0) return true
    this.bytesWritten += this.pendingBytes
    this.pendingBytes = 0
    const ok = writeAll(sink, pieces, n, this.pinIdx.length === 0 ? undefined : this.takePins(n))
    truncate(pieces, 0)
    this.committed = 0
    this.committedBytes = 0
    // A write libuv had to queue (or a sink that cannot tell) keeps its ranges counted:
    // that chunk is then never started over, and is replaced once full, as before.
    if (sink.lastSync === true) this.release(st)
    else this.myRefs = 0
    return ok
  }
}

/**
 * Writes list[0, n) in one writev (cork/uncork). done (releasing pins) goes with the last
 * write: a stream completes its writes in order, so it runs once all of them are done.
 */
function writeAll (sink: Sink, list: Buffer[], n: number, done: ((err?: Error | null) => void) | undefined): boolean {
  if (n === 0) { done?.(); return true }
  if (sink.writev !== undefined) return sink.writev(list, n, done)
  if (n === 1) return sink.write(list[0], done)
  let ok = true
  sink.cork()
  for (let i = 0; i < n - 1; i++) ok = sink.write(list[i])
  ok = sink.write(list[n - 1], done)
  sink.uncork()
  return ok
}
