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

const CHUNK_SIZE = 64 * 1024
/** Values at least this large are copied into their own Buffer instead of the chunk. */
export const LARGE_PIECE = 16 * 1024

class Staging {
  buf = Buffer.allocUnsafeSlow(CHUNK_SIZE)
  start = 0
  end = 0
  owner: Output | null = null
}
const staging = new Staging()

export interface Sink {
  write (b: Buffer): boolean
  cork (): void
  uncork (): void
}

export class Output {
  /** Pieces taken from staging or large values, in order, not yet written. */
  private pieces: Buffer[] = []
  /** Bytes queued (staged + pieces) since the last flush. */
  pendingBytes = 0
  bytesWritten = 0
  private committed = 0
  private committedBytes = 0

  /** Reserve n bytes in staging for this output; returns the offset to write at. */
  private reserve (n: number): number {
    const st = staging
    if (st.owner !== this) {
      if (st.owner !== null) st.owner.yieldStaging()
      st.owner = this
      st.start = st.end
    }
    if (st.end + n > st.buf.length) {
      if (st.end > st.start) this.pieces.push(st.buf.subarray(st.start, st.end))
      st.buf = Buffer.allocUnsafeSlow(n > CHUNK_SIZE ? n : CHUNK_SIZE)
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
    if (st.end > st.start) this.pieces.push(st.buf.subarray(st.start, st.end))
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
      this.pieces.push(st.buf.subarray(st.start, st.end))
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
    this.discard()
  }

  /** Drops everything queued since the last commit() or flush (memcached conn_release_items). */
  discard (): void {
    const st = staging
    if (st.owner === this) { st.end = st.start; st.owner = null }
    this.pieces.length = this.committed
    this.pendingBytes = this.committedBytes
  }

  /** Writes everything queued to the sink. Returns false if the sink asks us to wait. */
  flush (sink: Sink): boolean {
    const st = staging
    if (st.owner === this) {
      if (st.end > st.start) this.pieces.push(st.buf.subarray(st.start, st.end))
      st.start = st.end
      st.owner = null
    }
    const pieces = this.pieces
    const n = pieces.length
    if (n === 0) return true
    this.bytesWritten += this.pendingBytes
    this.pendingBytes = 0
    let ok = true
    if (n === 1) {
      ok = sink.write(pieces[0])
    } else {
      sink.cork()
      for (let i = 0; i < n; i++) ok = sink.write(pieces[i])
      sink.uncork()
    }
    pieces.length = 0
    this.committed = 0
    this.committedBytes = 0
    return ok
  }
}
