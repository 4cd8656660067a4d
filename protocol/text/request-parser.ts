/**
 * Server-side framing for memcached's text protocol (classic and meta commands share it):
 * a resumable state machine over incoming chunks.
 *
 *   Line ──(handler.onLine returns n >= 0)──► Data (n bytes, delivered or swallowed) ──► Line
 *
 * Lines end at LF; one CR before it is dropped when the line is longer than one byte
 * (memcached try_read_command_ascii), so bare "\n" endings work. A NUL byte ends the line
 * for everything after framing: memcached writes a NUL over the line ending and tokenizes
 * a C string (strlen), so `set k 0 0 5\0junk` is `set k 0 0 5`. The NUL is found with one
 * native search per input buffer, repeated only past a NUL already used, so lines without
 * one cost a compare each (a byte test in the tokenizer loop measured 20-30% slower on
 * pipelined gets; protocol/text/bench/request-parser.bench.ts). A line is split into at
 * most 23 space-separated tokens (memcached tokenize_command; only ' ' separates); longer
 * lines leave `rest` pointing at the unsplit remainder (multigets walk it).
 *
 * Limits: an unterminated line longer than LINE_MAX closes the connection unless it starts
 * like a get/gets (memcached does the same), which may grow to GET_LINE_MAX.
 *
 * Ownership: `TextLine` and every byte range in it are valid only during the handler call
 * that receives them (onLine, and onData for the same request).
 */
import { CR, GET_LINE_MAX, LF, LINE_MAX, MAX_TOKENS, SP } from '../bytes.js'
import { Op } from '../request.js'
import { commandOf } from './commands.js'

export class TextLine {
  op: Op = Op.Unknown
  /** Buffer holding the line; [start, end) excludes the line ending. */
  buf: Buffer = EMPTY
  start = 0
  end = 0
  /** Number of tokens (memcached's ntokens minus the terminal token). */
  ntokens = 0
  readonly tokS = new Int32Array(MAX_TOKENS)
  readonly tokE = new Int32Array(MAX_TOKENS)
  /** Offset of the unsplit remainder when the line had more than 23 tokens, else -1. */
  rest = -1
  /** Set by the handler in onLine: discard the data block instead of delivering it. */
  swallow = false
  /**
   * Set by the handler in onLine (with onDataPart/onDataEnd defined): a data block that
   * spans input chunks is handed over piece by piece as it arrives instead of being
   * assembled in a buffer of its own, so a large value is copied once, straight to where
   * the handler keeps it (the store's slab memory). A block whole in one chunk still comes
   * through onData.
   */
  stream = false

  tokenLength (i: number): number { return this.tokE[i] - this.tokS[i] }
}

const EMPTY = Buffer.alloc(0)
export const NO_DATA = -1

export interface TextRequestHandler {
  /**
   * A complete line. Return NO_DATA, or the byte count of the data block that follows
   * (value plus its CRLF); set line.swallow to discard it instead of receiving onData.
   */
  onLine (line: TextLine): number
  /** The data block announced by onLine: buf[s, e) is its n bytes, CRLF included. */
  onData (line: TextLine, buf: Buffer, s: number, e: number): void
  /**
   * A streamed block (line.stream): value bytes buf[s, e) go at offset `at` of the value
   * (the CRLF is not passed). Ranges are valid only during the call.
   */
  onDataPart? (line: TextLine, buf: Buffer, s: number, e: number, at: number): void
  /** The streamed block is complete; crlf: whether it ended with CR LF as it must. */
  onDataEnd? (line: TextLine, crlf: boolean): void
  /** Framing is lost (line too long): close the connection without a reply. */
  onFatal (reason: string): void
}

const State = { Line: 0, Data: 1 } as const
type State = (typeof State)[keyof typeof State]

export class TextRequestParser {
  private state: State = State.Line
  private readonly line = new TextLine()
  /** Input not yet consumed after a pause. */
  private pending: Buffer | null = null
  /** A line still without its LF: bytes [0, partialLen) of `partial`, with room to grow, so
   *  a long get line arriving in many small chunks is copied once, not once per chunk. */
  private partial: Buffer | null = null
  private partialLen = 0
  /** Data block being assembled across chunks (null when swallowing). */
  private data: Buffer | null = null
  private dataNeed = 0
  private dataFilled = 0
  /** A streamed block's CR or LF was something else. */
  private crlfBad = false
  private paused = false
  private halted = false

  constructor (private readonly handler: TextRequestHandler) {}

  /** Stop after the current request; input is kept until resume(). */
  pause (): void { this.paused = true }
  get isPaused (): boolean { return this.paused }
  /** Drop all buffered input and ignore the rest (quit, fatal errors). */
  halt (): void { this.halted = true; this.pending = null; this.partial = null; this.data = null; this.crlfBad = false }
  /** Bytes buffered but not yet parsed. */
  get buffered (): number { return (this.pending?.length ?? 0) + this.partialLen + (this.data !== null ? this.dataFilled : 0) }

  push (chunk: Buffer): void {
    if (this.halted) return
    if (this.partial !== null) { this.growPartialLine(chunk); return }
    let buf = chunk
    let owned = false
    if (this.pending !== null) {
      owned = this.pending.length !== 0
      buf = owned ? Buffer.concat([this.pending, chunk]) : chunk
      this.pending = null
    }
    this.run(buf, 0, owned)
  }

  resume (): void {
    this.paused = false
    if (this.halted || this.pending === null) return
    const buf = this.pending
    this.pending = null
    this.run(buf, 0, true)
  }

  /** owned: buf is the parser's own (kept input), not the caller's chunk. */
  private run (buf: Buffer, off: number, owned: boolean): void {
    const len = buf.length
    // First NUL at or after the current line in buf; -2 = not searched yet, -1 = none left.
    // Each search starts past the previous hit, so a buffer is scanned at most once overall.
    // Local to this call: the caller may reuse a chunk's memory after push() returns.
    let nul = -2
    while (off < len) {
      if (this.halted) return
      if (this.paused) {
        // The caller's chunk may be overwritten once push() returns (a reused read buffer).
        this.pending = owned ? buf.subarray(off) : Buffer.from(buf.subarray(off))
        if (!owned) this.keepLineForData()
        return
      }
      if (this.state === State.Data) {
        off = this.dataBytes(buf, off)
        continue
      }
      const lf = buf.indexOf(LF, off)
      if (lf === -1) {
        this.keepPartialLine(buf, off)
        return
      }
      if (nul !== -1 && nul < off) nul = buf.indexOf(0, off)
      off = this.onLineBytes(buf, off, lf, nul)
    }
    if (!owned) this.keepLineForData()
  }

  /**
   * A data block still to come is delivered with its line (valid until onData returns):
   * when that line is a view of the caller's chunk, copy it (offsets rebased), since the
   * chunk may be overwritten before the block is complete.
   */
  private keepLineForData (): void {
    const l = this.line
    if (this.state !== State.Data || l.swallow) return
    const s = l.start
    l.buf = Buffer.from(l.buf.subarray(s, l.end))
    for (let i = 0; i < l.ntokens; i++) { l.tokS[i] -= s; l.tokE[i] -= s }
    if (l.rest >= 0) l.rest -= s
    l.start = 0
    l.end -= s
  }

  private keepPartialLine (buf: Buffer, off: number): void {
    const n = buf.length - off
    if (this.tooLong(buf, off)) return
    // Copy: the caller's chunk may be large; keep only the partial line (and room to grow).
    this.partial = Buffer.allocUnsafe(n < 1024 ? 1024 : 2 * n)
    buf.copy(this.partial, 0, off)
    this.partialLen = n
  }

  /** Appends to a line still without LF; searches only the new bytes for the LF. */
  private growPartialLine (chunk: Buffer): void {
    const from = this.partialLen
    const n = from + chunk.length
    let p = this.partial as Buffer
    if (n > p.length) {
      const bigger = Buffer.allocUnsafe(2 * n)
      p.copy(bigger, 0, 0, from)
      p = bigger
    }
    chunk.copy(p, from)
    const line = p.subarray(0, n)
    if (line.indexOf(LF, from) === -1) {
      if (this.tooLong(line, 0)) return
      this.partial = p
      this.partialLen = n
      return
    }
    this.partial = null
    this.partialLen = 0
    this.run(line, 0, true)
  }

  /** An unterminated line over the limits: fatal (see the file comment). */
  private tooLong (buf: Buffer, off: number): boolean {
    const n = buf.length - off
    if (n > LINE_MAX && !this.looksLikeGet(buf, off)) {
      this.halt()
      this.handler.onFatal('line too long')
      return true
    }
    if (n > GET_LINE_MAX) {
      this.halt()
      this.handler.onFatal('multiget line too long')
      return true
    }
    return false
  }

  /** memcached: leading spaces (at most 100) then "get " or "gets ". */
  private looksLikeGet (buf: Buffer, off: number): boolean {
    let p = off
    while (p < buf.length && buf[p] === SP) p++
    if (p - off > 100) return false
    if (buf[p] !== 103 || buf[p + 1] !== 101 || buf[p + 2] !== 116) return false
    return buf[p + 3] === SP || (buf[p + 3] === 115 && buf[p + 4] === SP)
  }

  private onLineBytes (buf: Buffer, off: number, lf: number, nul: number): number {
    let end = lf
    if (end - off > 1 && buf[end - 1] === CR) end--
    if (nul !== -1 && nul < end) end = nul // the C string ends here (see the file comment)
    const line = this.line
    line.buf = buf
    line.start = off
    line.end = end
    line.swallow = false
    line.stream = false
    tokenize(line, buf, off, end)
    line.op = line.ntokens > 0 ? commandOf(buf, line.tokS[0], line.tokE[0]) : Op.Unknown
    const next = lf + 1
    const n = this.handler.onLine(line)
    if (n < 0 || this.halted) return next
    this.state = State.Data
    this.dataNeed = n
    this.dataFilled = 0
    this.data = null
    return next
  }

  private dataBytes (buf: Buffer, off: number): number {
    const need = this.dataNeed - this.dataFilled
    const avail = buf.length - off
    const line = this.line
    if (line.swallow) {
      const take = avail < need ? avail : need
      this.dataFilled += take
      if (this.dataFilled === this.dataNeed) this.finishData()
      return off + take
    }
    if (this.data === null && this.dataFilled === 0 && avail >= need) {
      // Fast path: the whole block is in this chunk; hand out a view.
      this.state = State.Line
      this.dataFilled = 0
      this.handler.onData(line, buf, off, off + need)
      return off + need
    }
    if (line.stream) return this.streamBytes(buf, off)
    if (this.data === null) this.data = Buffer.allocUnsafe(this.dataNeed)
    const take = avail < need ? avail : need
    buf.copy(this.data, this.dataFilled, off, off + take)
    this.dataFilled += take
    if (this.dataFilled === this.dataNeed) {
      const d = this.data
      this.finishData()
      this.handler.onData(line, d, 0, d.length)
    }
    return off + take
  }

  /** line.stream: value bytes go to onDataPart as they come; the CRLF is checked here. */
  private streamBytes (buf: Buffer, off: number): number {
    const need = this.dataNeed - this.dataFilled
    const take = buf.length - off < need ? buf.length - off : need
    const vlen = this.dataNeed - 2
    const at = this.dataFilled
    const valueEnd = at + take < vlen ? at + take : vlen
    if (valueEnd > at) (this.handler.onDataPart as NonNullable<TextRequestHandler['onDataPart']>)(this.line, buf, off, off + valueEnd - at, at)
    // The CRLF's bytes in this piece: CR at value offset vlen, LF at vlen + 1.
    for (let i = Math.max(at, vlen); i < at + take; i++) {
      const b = buf[off + i - at]
      if (b !== (i === vlen ? CR : LF)) this.crlfBad = true
    }
    this.dataFilled += take
    if (this.dataFilled === this.dataNeed) {
      const ok = !this.crlfBad
      this.crlfBad = false
      this.finishData()
      ;(this.handler.onDataEnd as NonNullable<TextRequestHandler['onDataEnd']>)(this.line, ok)
    }
    return off + take
  }

  private finishData (): void {
    this.state = State.Line
    this.data = null
    this.dataFilled = 0
  }
}

/** Splits buf[s, e) on ' ' into at most 23 tokens (memcached tokenize_command). */
function tokenize (line: TextLine, buf: Buffer, s: number, e: number): void {
  let n = 0
  let ts = s
  let i = s
  line.rest = -1
  const max = MAX_TOKENS - 1
  for (; i < e; i++) {
    if (buf[i] === SP) {
      if (ts !== i) {
        line.tokS[n] = ts
        line.tokE[n] = i
        n++
        if (n === max) {
          // memcached stops splitting here; the remainder is processed later (multigets).
          line.rest = i + 1 < e ? i + 1 : -1
          line.ntokens = n
          return
        }
      }
      ts = i + 1
    }
  }
  if (ts !== e) {
    line.tokS[n] = ts
    line.tokE[n] = e
    n++
  }
  line.ntokens = n
}

export { tokenize as tokenizeLine }
