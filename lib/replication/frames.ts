/**
 * The replication stream's wire format: after the replica's `repl sync ...` line, both
 * directions carry frames `[type u8][length u32 LE][payload]`, integers little-endian.
 * 64-bit numbers (seqnos, CAS) are written as two u32 (low, high) and read back as JS
 * numbers (exact below 2^53, which a seqno or CAS counter never reaches).
 *
 * Records (kept byte for byte in the backlog and forwarded as they are):
 *   ITEM    seq8 cas8 flags4 exptime4 bits1 nkey1 key value
 *   TOUCH   seq8 exptime4 nkey1 key
 *   DELETE  seq8 nkey1 key
 *   FLUSH   seq8 oldestLive4 oldestCas8
 * Full sync: SNAP cursor4 cas8 flags4 exptime4 bits1 nkey1 key value; SNAP_END seq8.
 * Control:   HELLO (below), PING seq8 lagMs4, ERROR utf8 text; replica -> master: ACK seq8 cursor4.
 * Times (exptime, oldestLive) are absolute Unix seconds, 0 = never / none.
 */

export const F = {
  Item: 1,
  Touch: 2,
  Delete: 3,
  Flush: 4,
  Snap: 5,
  SnapEnd: 6,
  Hello: 7,
  Ping: 8,
  Error: 9,
  Ack: 0x20,
} as const

export const FRAME_HEADER = 5
/** Payload offsets shared by ITEM and SNAP after their first 8 (ITEM: seq) or 4 (SNAP: cursor) bytes. */
export const ITEM_FIXED = 8 + 8 + 4 + 4 + 1 + 1
export const SNAP_FIXED = 4 + 8 + 4 + 4 + 1 + 1
/** Largest frame a peer may send: a 1 GiB item (-I's ceiling) plus headers. */
export const MAX_FRAME = (1 << 30) + 1024

export const SyncMode = { Partial: 1, Full: 2, Resume: 3 } as const
export type SyncMode = (typeof SyncMode)[keyof typeof SyncMode]

export function writeU64 (b: Uint8Array, o: number, v: number): number {
  const lo = v % 0x100000000
  const hi = (v - lo) / 0x100000000
  b[o] = lo; b[o + 1] = lo >>> 8; b[o + 2] = lo >>> 16; b[o + 3] = lo >>> 24
  b[o + 4] = hi; b[o + 5] = hi >>> 8; b[o + 6] = hi >>> 16; b[o + 7] = hi >>> 24
  return o + 8
}

export function readU64 (b: Uint8Array, o: number): number {
  return readU32(b, o) + readU32(b, o + 4) * 0x100000000
}

export function writeU32 (b: Uint8Array, o: number, v: number): number {
  b[o] = v; b[o + 1] = v >>> 8; b[o + 2] = v >>> 16; b[o + 3] = v >>> 24
  return o + 4
}

export function readU32 (b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16)) + b[o + 3] * 0x1000000
}

export function writeHeader (b: Uint8Array, o: number, type: number, len: number): number {
  b[o] = type
  return writeU32(b, o + 1, len)
}

/** One entry of a failover log: a history and the first seqno written under it. */
export interface HistoryEntry { id: string, start: number }

export interface Hello {
  mode: SyncMode
  /** Partial/resume: the replica's seqno (the stream continues after it). Full: the
   *  master's seqno when the listing starts (live records follow from seq + 1). */
  seq: number
  syncId: string
  cursor: number
  /** Items in the listing (full and resume). */
  total: number
  /** The master's flush_all watermarks (absolute time, CAS). */
  flushAt: number
  flushCas: number
  /** The sender's epoch (ZooKeeper's election count for the shard; 0 standalone). A
   *  stream is bound to it: a replica that knows a newer epoch refuses the stream. */
  epoch: number
  history: HistoryEntry[]
}

export function encodeHello (h: Hello): Buffer {
  const len = 1 + 8 + 8 + 4 + 4 + 4 + 8 + 4 + 2 + h.history.length * 16
  const b = Buffer.allocUnsafe(FRAME_HEADER + len)
  let o = writeHeader(b, 0, F.Hello, len)
  b[o++] = h.mode
  o = writeU64(b, o, h.seq)
  o += b.write(h.syncId.padStart(16, '0').slice(-16), o, 'hex')
  o = writeU32(b, o, h.cursor)
  o = writeU32(b, o, h.total)
  o = writeU32(b, o, h.flushAt)
  o = writeU64(b, o, h.flushCas)
  o = writeU32(b, o, h.epoch)
  b.writeUInt16LE(h.history.length, o); o += 2
  for (const e of h.history) {
    o += b.write(e.id.padStart(16, '0').slice(-16), o, 'hex')
    o = writeU64(b, o, e.start)
  }
  return b
}

/** Decodes a HELLO payload b[s, e); null when malformed. */
export function decodeHello (b: Buffer, s: number, e: number): Hello | null {
  if (e - s < 43) return null
  let o = s
  const mode = b[o++] as SyncMode
  if (mode !== SyncMode.Partial && mode !== SyncMode.Full && mode !== SyncMode.Resume) return null
  const seq = readU64(b, o); o += 8
  const syncId = b.toString('hex', o, o + 8); o += 8
  const cursor = readU32(b, o); o += 4
  const total = readU32(b, o); o += 4
  const flushAt = readU32(b, o); o += 4
  const flushCas = readU64(b, o); o += 8
  const epoch = readU32(b, o); o += 4
  const n = b.readUInt16LE(o); o += 2
  if (e - o !== n * 16) return null
  const history: HistoryEntry[] = []
  for (let i = 0; i < n; i++) {
    history.push({ id: b.toString('hex', o, o + 8), start: readU64(b, o + 8) })
    o += 16
  }
  return { mode, seq, syncId, cursor, total, flushAt, flushCas, epoch, history }
}

/**
 * PING: the newest seqno the sender knows of the shard's master (its own on a master, its
 * master's on a chained replica), the receiver's lag as the sender sees it (ms), and the
 * sender's own lag behind the master (ms; 0 on a master), so a follower chained through
 * its DC's head knows its whole lag. A 12-byte PING (no third field) means 0.
 */
export function encodePing (seq: number, lagMs: number, upstreamLagMs = 0): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER + 16)
  const o = writeHeader(b, 0, F.Ping, 16)
  const ms = (v: number): number => Math.min(0xffffffff, Math.max(0, Math.round(v)))
  writeU32(b, writeU32(b, writeU64(b, o, seq), ms(lagMs)), ms(upstreamLagMs))
  return b
}

export function encodeAck (seq: number, cursor: number): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER + 12)
  const o = writeHeader(b, 0, F.Ack, 12)
  writeU32(b, writeU64(b, o, seq), cursor)
  return b
}

export function encodeError (text: string): Buffer {
  const t = Buffer.from(text, 'utf8')
  const b = Buffer.allocUnsafe(FRAME_HEADER + t.length)
  t.copy(b, writeHeader(b, 0, F.Error, t.length))
  return b
}

export function encodeSnapEnd (seq: number): Buffer {
  const b = Buffer.allocUnsafe(FRAME_HEADER + 8)
  writeU64(b, writeHeader(b, 0, F.SnapEnd, 8), seq)
  return b
}

/**
 * Splits a byte stream into frames. push() a chunk, then call next() until it returns
 * false; `type`, `buf`, `start`, `end` then describe the frame's payload (a view valid
 * until the next push). A frame split across chunks is assembled in a buffer of its own.
 */
export class FrameReader {
  type = 0
  buf: Buffer = Buffer.alloc(0)
  start = 0
  end = 0
  /** Whole frame [frameStart, end) in buf, for forwarding a record as it is. */
  frameStart = 0
  private chunk: Buffer = Buffer.alloc(0)
  private pos = 0
  private partial: Buffer | null = null
  private partialFill = 0
  private headBytes = Buffer.alloc(FRAME_HEADER)
  private headFill = 0
  /** Set when a peer announces a frame larger than MAX_FRAME: the stream is broken. */
  broken = false

  push (chunk: Buffer): void {
    this.chunk = chunk
    this.pos = 0
  }

  next (): boolean {
    if (this.broken) return false
    const c = this.chunk
    if (this.partial !== null) {
      const need = this.partial.length - this.partialFill
      const take = Math.min(need, c.length - this.pos)
      c.copy(this.partial, this.partialFill, this.pos, this.pos + take)
      this.partialFill += take
      this.pos += take
      if (this.partialFill < this.partial.length) return false
      const f = this.partial
      this.partial = null
      return this.emit(f, 0)
    }
    if (this.headFill > 0) {
      const take = Math.min(FRAME_HEADER - this.headFill, c.length - this.pos)
      c.copy(this.headBytes, this.headFill, this.pos, this.pos + take)
      this.headFill += take
      this.pos += take
      if (this.headFill < FRAME_HEADER) return false
      this.headFill = 0
      return this.startPartial(this.headBytes, 0)
    }
    const avail = c.length - this.pos
    if (avail === 0) return false
    if (avail < FRAME_HEADER) {
      c.copy(this.headBytes, 0, this.pos, c.length)
      this.headFill = avail
      this.pos = c.length
      return false
    }
    const len = readU32(c, this.pos + 1)
    if (len > MAX_FRAME) { this.broken = true; return false }
    if (avail >= FRAME_HEADER + len) {
      const s = this.pos
      this.pos += FRAME_HEADER + len
      return this.emit(c, s)
    }
    const ok = this.startPartial(c, this.pos)
    return ok
  }

  private startPartial (head: Buffer, at: number): boolean {
    const len = readU32(head, at + 1)
    if (len > MAX_FRAME) { this.broken = true; return false }
    const f = Buffer.allocUnsafe(FRAME_HEADER + len)
    head.copy(f, 0, at, at + FRAME_HEADER)
    this.partial = f
    this.partialFill = FRAME_HEADER
    if (head === this.chunk) this.pos = at + FRAME_HEADER
    return this.next()
  }

  private emit (b: Buffer, s: number): boolean {
    this.type = b[s]
    this.buf = b
    this.frameStart = s
    this.start = s + FRAME_HEADER
    this.end = this.start + readU32(b, s + 1)
    return true
  }
}
