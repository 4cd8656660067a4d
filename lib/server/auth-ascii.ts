/**
 * ASCII authentication (`-Y authfile`), memcached 1.6.18 proto_text.c
 * try_read_command_asciiauth. Until a client authenticates, every text connection goes
 * through this gate instead of the text parser:
 *
 *   set <anything> <anything> <anything> <n>[ ...]\r\n<user> <password>\r\n   -> STORED
 *
 *  - a line that is not `set` with at least 5 space-separated tokens and a valid <n>
 *    -> "CLIENT_ERROR unauthenticated" (the line is consumed, the connection stays);
 *  - the data block must end in \r\n ("CLIENT_ERROR bad command line termination") and
 *    hold at least two tokens ("CLIENT_ERROR bad authentication token format");
 *  - wrong credentials -> "CLIENT_ERROR authentication failure";
 *  - no newline within 2048 bytes, or a data block that cannot fit memcached's 16 KiB
 *    read buffer -> close without reply.
 *
 * Compatibility scar, copied on purpose: memcached reuses one reply slot for the gate
 * until it flushes, so of the replies the gate makes while handling one input chunk only
 * the last is sent. We keep one slot per push() the same way.
 * Only ' ' separates tokens (a tab does not), as memcached's tokenizer.
 */
import { parseU32 } from '../../protocol/numbers.js'

export const AUTH_LINE_MAX = 2048
export const AUTH_BUFFER_MAX = 16384

const reply = (s: string): Buffer => Buffer.from(s + '\r\n', 'latin1')
export const AuthReply = {
  stored: reply('STORED'),
  unauthenticated: reply('CLIENT_ERROR unauthenticated'),
  badTermination: reply('CLIENT_ERROR bad command line termination'),
  badFormat: reply('CLIENT_ERROR bad authentication token format'),
  failure: reply('CLIENT_ERROR authentication failure'),
} as const

export type CredentialCheck = (user: Uint8Array, pass: Uint8Array) => boolean

/** The outcome of one push(). */
export interface GateResult {
  /** The single reply to send for this chunk, or null. */
  reply: Buffer | null
  /** Close the connection now (without sending `reply`). */
  close: boolean
  /** Set once authenticated: the bytes after the auth data, for the text parser. */
  rest: Buffer | null
}

const SET = [0x73, 0x65, 0x74]

export class AsciiAuthGate {
  private pending: Buffer | null = null
  /** Bytes of the data block still expected (0: waiting for a command line). */
  private dataLen = 0
  authenticated = false
  private readonly result: GateResult = { reply: null, close: false, rest: null }

  constructor (private readonly check: CredentialCheck, private readonly onAuth?: (ok: boolean) => void) {}

  /** Feeds bytes that arrived while unauthenticated. The result object is reused. */
  push (chunk: Buffer): GateResult {
    const r = this.result
    r.reply = null
    r.close = false
    r.rest = null
    const buf = this.pending === null ? chunk : Buffer.concat([this.pending, chunk])
    this.pending = null
    let off = 0
    while (off < buf.length) {
      if (this.dataLen === 0) {
        const avail = buf.length - off
        if (avail < 2) break
        const lf = buf.indexOf(10, off)
        if (lf < 0) {
          if (avail > AUTH_LINE_MAX) { r.close = true; return r }
          break
        }
        const n = this.commandLine(buf, off, lf)
        off = lf + 1
        if (n < 0) { r.reply = AuthReply.unauthenticated; continue }
        this.dataLen = n + 2
      }
      if (buf.length - off < this.dataLen) {
        if (this.dataLen > AUTH_BUFFER_MAX && buf.length - off >= AUTH_BUFFER_MAX) { r.close = true; return r }
        break
      }
      const s = off
      const e = off + this.dataLen
      off = e
      this.dataLen = 0
      if (buf[e - 2] !== 13 || buf[e - 1] !== 10) { r.reply = AuthReply.badTermination; continue }
      r.reply = this.credentials(buf, s, e - 2)
      if (this.authenticated) {
        r.rest = buf.subarray(off)
        return r
      }
    }
    if (off < buf.length) this.pending = Buffer.from(buf.subarray(off))
    return r
  }

  /** Checks a command line (without its LF); returns <n> or -1. */
  private commandLine (buf: Buffer, s: number, e: number): number {
    // memcached tokenizes the line with its \r (if any) still attached to the last token.
    const t = tokens(buf, s, e, 6)
    if (t.length < 10) return -1
    if (t[1] - t[0] !== 3 || buf[t[0]] !== SET[0] || buf[t[0] + 1] !== SET[1] || buf[t[0] + 2] !== SET[2]) return -1
    const n = parseU32(buf, t[8], t[9])
    return n < 0 ? -1 : n
  }

  private credentials (buf: Buffer, s: number, e: number): Buffer {
    // The block is a C string to memcached: a NUL byte ends it.
    const nul = buf.indexOf(0, s)
    if (nul >= 0 && nul < e) e = nul
    const t = tokens(buf, s, e, 2)
    if (t.length < 4) return AuthReply.badFormat
    const ok = this.check(buf.subarray(t[0], t[1]), buf.subarray(t[2], t[3]))
    this.onAuth?.(ok)
    if (!ok) return AuthReply.failure
    this.authenticated = true
    return AuthReply.stored
  }
}

/** Start/end pairs of up to `max` tokens in buf[s, e), split on ' ' only. */
function tokens (buf: Buffer, s: number, e: number, max: number): number[] {
  const out: number[] = []
  let i = s
  while (i < e && out.length < max * 2) {
    while (i < e && buf[i] === 32) i++
    if (i >= e) break
    const ts = i
    while (i < e && buf[i] !== 32) i++
    out.push(ts, i)
  }
  return out
}
