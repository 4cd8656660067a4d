/**
 * Client side of the text protocol: server replies from bytes, resumable over any
 * chunking. It only frames: lines, and the data block after a `VALUE` line (and a
 * meta `VA` line). What a line means is up to the command waiting for it, which the
 * handler knows (replies come back in request order, protocol.txt "Commands").
 *
 * Views passed to the handler are valid only during the call: the client copies what
 * it keeps. A value that spans chunks is assembled into one buffer sized from its
 * header (no concatenation per chunk).
 */
import { LF, CR, SP } from '../bytes.js'

export interface TextResponseHandler {
  /** A reply line without its line ending (CRLF, or a bare LF as memcached accepts). */
  onLine (buf: Buffer, s: number, e: number): void
  /** A VALUE/VA header line and the data block after it (without its CRLF). */
  onValue (line: Buffer, ls: number, le: number, data: Buffer, ds: number, de: number): void
  /** Framing is lost: the connection must be closed. The parser stops until reset(). */
  onError (reason: string): void
}

/** Longest reply line we buffer; memcached's lines (VALUE, STAT, errors) are far shorter. */
export const REPLY_LINE_MAX = 8192
/** Largest data block we accept (memcached's -I maximum is 1 GiB). */
export const REPLY_VALUE_MAX = 1024 * 1024 * 1024

const State = { Line: 0, Data: 1, Dead: 2 } as const
type State = (typeof State)[keyof typeof State]

export class TextResponseParser {
  private state: State = State.Line
  /** Unfinished line carried from the previous chunk. */
  private carry: Buffer | null = null
  /** Data block being assembled across chunks: n + 2 bytes (CRLF included). */
  private data: Buffer | null = null
  private filled = 0
  /** Copy of the header line of the value being assembled. */
  private header: Buffer | null = null

  constructor (private readonly handler: TextResponseHandler) {}

  /** Forget any partial reply (after a reconnect). */
  reset (): void {
    this.state = State.Line
    this.carry = null
    this.data = null
    this.header = null
    this.filled = 0
  }

  push (chunk: Buffer): void {
    let buf = chunk
    let off = 0
    if (this.state === State.Dead) return
    if (this.state === State.Data) {
      off = this.fill(buf, 0)
      if (off < 0) return
    } else if (this.carry !== null) {
      // slow path: a line was split across chunks
      buf = Buffer.concat([this.carry, chunk])
      this.carry = null
    }
    while (off < buf.length && this.state === State.Line) {
      const lf = buf.indexOf(LF, off)
      if (lf < 0) {
        if (buf.length - off > REPLY_LINE_MAX) return this.fail(`reply line longer than ${REPLY_LINE_MAX} bytes`)
        this.carry = Buffer.from(buf.subarray(off))
        return
      }
      const end = lf > off && buf[lf - 1] === CR ? lf - 1 : lf
      const n = valueLength(buf, off, end)
      if (n === -2) return this.fail(`bad VALUE line: ${buf.toString('latin1', off, Math.min(end, off + 80))}`)
      if (n < 0) {
        this.handler.onLine(buf, off, end)
        off = lf + 1
        continue
      }
      const ds = lf + 1
      if (buf.length - ds >= n + 2) {
        if (buf[ds + n] !== CR || buf[ds + n + 1] !== LF) return this.fail('value not followed by CRLF')
        this.handler.onValue(buf, off, end, buf, ds, ds + n)
        off = ds + n + 2
        continue
      }
      // the value continues in later chunks
      this.header = Buffer.from(buf.subarray(off, end))
      this.data = Buffer.allocUnsafe(n + 2)
      this.filled = 0
      this.state = State.Data
      off = this.fill(buf, ds)
      if (off < 0) return
    }
  }

  /** Copies value bytes from buf[off..]; returns the offset after the value, or -1 if more is needed. */
  private fill (buf: Buffer, off: number): number {
    const data = this.data as Buffer
    const take = Math.min(data.length - this.filled, buf.length - off)
    buf.copy(data, this.filled, off, off + take)
    this.filled += take
    if (this.filled < data.length) return -1
    const n = data.length - 2
    if (data[n] !== CR || data[n + 1] !== LF) {
      this.fail('value not followed by CRLF')
      return -1
    }
    const header = this.header as Buffer
    this.data = null
    this.header = null
    this.state = State.Line
    this.handler.onValue(header, 0, header.length, data, 0, n)
    return off + take
  }

  private fail (reason: string): void {
    this.state = State.Dead
    this.carry = null
    this.data = null
    this.handler.onError(reason)
  }
}

/**
 * For a `VALUE <key> <flags> <bytes> [<cas>]` line: <bytes>. For `VA <bytes> <flags>*`: <bytes>.
 * -1 for any other line, -2 for a VALUE/VA line whose length is missing or bad.
 */
function valueLength (buf: Buffer, s: number, e: number): number {
  let i: number
  let skip: number
  if (e - s > 6 && buf[s] === 0x56 && buf[s + 1] === 0x41 && buf[s + 2] === 0x4c && buf[s + 3] === 0x55 &&
      buf[s + 4] === 0x45 && buf[s + 5] === SP) {
    i = s + 6 // "VALUE ": the length is the third token after it (key, flags, bytes)
    skip = 2
  } else if (e - s > 3 && buf[s] === 0x56 && buf[s + 1] === 0x41 && buf[s + 2] === SP) {
    i = s + 3 // "VA ": the length comes first
    skip = 0
  } else {
    return -1
  }
  for (; skip > 0; skip--) {
    const sp = buf.indexOf(SP, i)
    if (sp < 0 || sp >= e) return -2
    i = sp + 1
  }
  let n = 0
  const start = i
  while (i < e && buf[i] !== SP) {
    const d = buf[i] - 48
    if (d < 0 || d > 9) return -2
    n = n * 10 + d
    if (n > REPLY_VALUE_MAX) return -2
    i++
  }
  return i === start ? -2 : n
}
