// A raw TCP connection for protocol scripts: write bytes, then expect bytes.
//
// expect() takes the reply written out literally, as strings/Buffers, with a few
// placeholders for what no two servers can agree on (CAS uniques, remaining TTLs):
//   await c.expect('VALUE k 0 1 ', num('cas'), '\r\nx\r\nEND\r\n')
// Bytes are matched as they arrive; a wrong byte fails at once with both sides shown,
// and missing bytes fail after a deadline. Nothing here knows memcached's protocol.

import net from 'node:net'
import { CompatFailure, show } from './check.js'

export interface NumMatcher { readonly kind: 'num', readonly name?: string, readonly min?: number, readonly max?: number }
export interface BytesMatcher { readonly kind: 'bytes', readonly name?: string, readonly n: number }
export interface LineMatcher { readonly kind: 'line', readonly name?: string }
export type Matcher = NumMatcher | BytesMatcher | LineMatcher
export type Part = string | Buffer | Matcher

/** One or more decimal digits (optionally bounded); captured under `name` as a string. */
export const num = (name?: string, min?: number, max?: number): NumMatcher => ({ kind: 'num', name, min, max })
/** Exactly n arbitrary bytes. */
export const bytes = (n: number, name?: string): BytesMatcher => ({ kind: 'bytes', n, name })
/** Any bytes up to (not including) the next \r\n. */
export const line = (name?: string): LineMatcher => ({ kind: 'line', name })

export type Captures = Record<string, string>

type MatchResult =
  | { st: 'ok', used: number, caps: Captures }
  | { st: 'more' }
  | { st: 'bad', at: number, why: string }

const isMatcher = (p: Part): p is Matcher => typeof p === 'object' && !Buffer.isBuffer(p)

function describe (parts: readonly Part[]): string {
  return parts.map((p) => {
    if (!isMatcher(p)) return show(p)
    if (p.kind === 'num') return `<num${p.name ? ':' + p.name : ''}>`
    if (p.kind === 'bytes') return `<${p.n} bytes>`
    return '<line>'
  }).join('')
}

function match (buf: Buffer, parts: readonly Part[]): MatchResult {
  let pos = 0
  const caps: Captures = {}
  for (const p of parts) {
    if (!isMatcher(p)) {
      const lit = typeof p === 'string' ? Buffer.from(p, 'latin1') : p
      for (let i = 0; i < lit.length; i++) {
        if (pos + i >= buf.length) return { st: 'more' }
        if (buf[pos + i] !== lit[i]) return { st: 'bad', at: pos + i, why: `literal "${show(lit)}"` }
      }
      pos += lit.length
    } else if (p.kind === 'num') {
      const start = pos
      while (pos < buf.length && buf[pos] >= 48 && buf[pos] <= 57) pos++
      if (pos === buf.length) return { st: 'more' }
      if (pos === start) return { st: 'bad', at: pos, why: 'a number' }
      const s = buf.toString('latin1', start, pos)
      const v = Number(s)
      if ((p.min !== undefined && v < p.min) || (p.max !== undefined && v > p.max)) {
        return { st: 'bad', at: start, why: `a number in [${p.min ?? '-inf'}, ${p.max ?? 'inf'}], got ${s}` }
      }
      if (p.name) caps[p.name] = s
    } else if (p.kind === 'bytes') {
      if (pos + p.n > buf.length) return { st: 'more' }
      if (p.name) caps[p.name] = buf.toString('latin1', pos, pos + p.n)
      pos += p.n
    } else {
      const e = buf.indexOf('\r\n', pos, 'latin1')
      if (e < 0) return { st: 'more' }
      if (p.name) caps[p.name] = buf.toString('latin1', pos, e)
      pos = e
    }
  }
  return { st: 'ok', used: pos, caps }
}

export class RawConn {
  private buf: Buffer = Buffer.alloc(0)
  private closed = false
  private closeErr: Error | null = null
  private wake: (() => void) | null = null
  readonly sock: net.Socket

  private constructor (sock: net.Socket, readonly defaultTimeoutMs: number) {
    this.sock = sock
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d])
      this.poke()
    })
    sock.on('error', (e) => { this.closeErr = e; this.closed = true; this.poke() })
    sock.on('close', () => { this.closed = true; this.poke() })
  }

  static connect (host: string, port: number, timeoutMs = 3000): Promise<RawConn> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port })
      sock.setNoDelay(true)
      const timer = setTimeout(() => { sock.destroy(); reject(new CompatFailure(`connect ${host}:${port} timed out`)) }, timeoutMs)
      sock.once('connect', () => { clearTimeout(timer); resolve(new RawConn(sock, 3000)) })
      sock.once('error', (e) => { clearTimeout(timer); reject(new CompatFailure(`connect ${host}:${port}: ${e.message}`)) })
    })
  }

  private poke (): void {
    const w = this.wake
    this.wake = null
    if (w) w()
  }

  /** Resolves when data arrives, the socket closes or ms pass; false on timeout. */
  private waitData (ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.wake = null; resolve(false) }, ms)
      this.wake = () => { clearTimeout(timer); resolve(true) }
    })
  }

  send (data: string | Buffer): this {
    this.sock.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data)
    return this
  }

  /** Bytes received and not yet consumed by an expect. */
  pending (): Buffer { return this.buf }

  /** Waits for exactly these bytes next; returns the placeholders' captures. */
  async expect (...parts: Part[]): Promise<Captures> {
    return this.expectWithin(this.defaultTimeoutMs, ...parts)
  }

  async expectWithin (timeoutMs: number, ...parts: Part[]): Promise<Captures> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const r = match(this.buf, parts)
      if (r.st === 'ok') {
        this.buf = this.buf.subarray(r.used)
        return r.caps
      }
      if (r.st === 'bad') {
        throw new CompatFailure(`expected "${describe(parts)}"\n      got "${show(this.buf)}"\n      (first difference at byte ${r.at}, wanted ${r.why})`)
      }
      if (this.closed) {
        throw new CompatFailure(`connection closed${this.closeErr ? ' (' + this.closeErr.message + ')' : ''} while expecting "${describe(parts)}"; got "${show(this.buf)}"`)
      }
      const left = deadline - Date.now()
      if (left <= 0 || !(await this.waitData(left))) {
        throw new CompatFailure(`timed out after ${timeoutMs} ms expecting "${describe(parts)}"; got "${show(this.buf)}"`)
      }
    }
  }

  /** send() then expect(). */
  async req (data: string | Buffer, ...parts: Part[]): Promise<Captures> {
    this.send(data)
    return this.expect(...parts)
  }

  /** Reads up to and including `terminator` (e.g. 'END\r\n' after stats). */
  async readUntil (terminator: string, timeoutMs = this.defaultTimeoutMs): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = this.buf.indexOf(terminator, 0, 'latin1')
      if (i >= 0) {
        const out = this.buf.subarray(0, i + terminator.length)
        this.buf = this.buf.subarray(i + terminator.length)
        return out
      }
      if (this.closed) throw new CompatFailure(`connection closed while reading until "${show(terminator)}"; got "${show(this.buf)}"`)
      const left = deadline - Date.now()
      if (left <= 0 || !(await this.waitData(left))) {
        throw new CompatFailure(`timed out reading until "${show(terminator)}"; got "${show(this.buf)}"`)
      }
    }
  }

  /** Reads exactly n bytes. */
  async read (n: number, timeoutMs = this.defaultTimeoutMs): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs
    while (this.buf.length < n) {
      if (this.closed) throw new CompatFailure(`connection closed after ${this.buf.length} of ${n} bytes: "${show(this.buf)}"`)
      const left = deadline - Date.now()
      if (left <= 0 || !(await this.waitData(left))) {
        throw new CompatFailure(`timed out waiting for ${n} bytes; got ${this.buf.length}: "${show(this.buf)}"`)
      }
    }
    const out = this.buf.subarray(0, n)
    this.buf = this.buf.subarray(n)
    return out
  }

  /** The server must close the connection (after sending nothing more than already expected). */
  async expectClosed (timeoutMs = this.defaultTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.closed) {
      const left = deadline - Date.now()
      if (left <= 0 || !(await this.waitData(left))) throw new CompatFailure(`server did not close the connection within ${timeoutMs} ms; pending "${show(this.buf)}"`)
    }
    if (this.buf.length > 0) throw new CompatFailure(`unexpected bytes before close: "${show(this.buf)}"`)
  }

  /** Nothing unconsumed may be pending (use after a sentinel reply). */
  expectIdle (): void {
    if (this.buf.length > 0) throw new CompatFailure(`unexpected extra bytes: "${show(this.buf)}"`)
  }

  isClosed (): boolean { return this.closed }

  close (): void { this.sock.destroy() }
}
