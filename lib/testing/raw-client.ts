/**
 * A raw TCP client for exact-bytes tests: write anything, read exactly what comes back.
 * Closed with the test.
 */
import net from 'node:net'
import type { Test } from 'tap'

export class RawClient {
  private buf = Buffer.alloc(0)
  private waiters: Array<() => void> = []
  closed = false

  constructor (readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => { this.buf = Buffer.concat([this.buf, d]); this.wake() })
    socket.on('close', () => { this.closed = true; this.wake() })
    socket.on('error', () => {})
  }

  private wake (): void { const w = this.waiters; this.waiters = []; for (const f of w) f() }

  write (data: string | Buffer): void { this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data) }

  /** Resolves with exactly n bytes (rejects on close/timeout with what arrived). */
  async bytes (n: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs
    while (this.buf.length < n) {
      if (this.closed) throw new Error(`closed after ${this.buf.length}/${n} bytes: ${JSON.stringify(this.buf.toString('latin1'))}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timeout after ${this.buf.length}/${n} bytes: ${JSON.stringify(this.buf.toString('latin1'))}`)
      await new Promise<void>((resolve) => { const t = setTimeout(resolve, left); this.waiters.push(() => { clearTimeout(t); resolve() }) })
    }
    const out = this.buf.subarray(0, n)
    this.buf = this.buf.subarray(n)
    return out
  }

  /** Resolves with the text up to and including the next occurrence of `end`. */
  async until (end: string, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = this.buf.indexOf(end, 0, 'latin1')
      if (i !== -1) {
        const out = this.buf.subarray(0, i + end.length).toString('latin1')
        this.buf = this.buf.subarray(i + end.length)
        return out
      }
      if (this.closed) throw new Error(`closed before ${JSON.stringify(end)}: ${JSON.stringify(this.buf.toString('latin1'))}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timeout waiting for ${JSON.stringify(end)}: ${JSON.stringify(this.buf.toString('latin1'))}`)
      await new Promise<void>((resolve) => { const t = setTimeout(resolve, left); this.waiters.push(() => { clearTimeout(t); resolve() }) })
    }
  }

  /** Lines (without CRLF). */
  async lines (n: number, timeoutMs = 5000): Promise<string[]> {
    const out: string[] = []
    for (let i = 0; i < n; i++) out.push((await this.until('\r\n', timeoutMs)).slice(0, -2))
    return out
  }

  /** Everything that arrives until the server has been quiet for quietMs (or closes). */
  async drain (quietMs = 150, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs
    let last = -1
    while (Date.now() < deadline && !this.closed) {
      if (this.buf.length === last) break
      last = this.buf.length
      await new Promise((resolve) => setTimeout(resolve, quietMs))
    }
    const out = this.buf
    this.buf = Buffer.alloc(0)
    return out
  }

  /** Everything received so far, kept (a look, not a read). */
  buffered (): Buffer { return this.buf }

  /** Everything received so far (and forgets it). */
  drainNow (): Buffer {
    const out = this.buf
    this.buf = Buffer.alloc(0)
    return out
  }

  /** Waits for the server to close the connection. */
  async closedByPeer (timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => { const t = setTimeout(resolve, 50); this.waiters.push(() => { clearTimeout(t); resolve() }) })
    }
    return this.closed
  }

  end (): void { this.socket.destroy() }
}

export async function rawClient (t: Test, port: number, host = '127.0.0.1'): Promise<RawClient> {
  const socket = net.connect(port, host)
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const c = new RawClient(socket)
  t.teardown(() => c.end())
  return c
}

/**
 * Sends `request` on a fresh connection, half-closes, and returns every byte the server
 * sends until it closes the connection (memcached and memring answer everything they
 * were sent before a half-close, then close). The primitive of differential tests.
 *
 * The end of the replies is the server's close, an event, not a quiet period: this used
 * to stop at 200 ms of silence, which a loaded machine produces mid-reply (issue 20: the
 * -o differential test compared an empty memring reply). `_quietMs` is ignored and kept
 * for callers; `timeoutMs` only bounds a server that never closes.
 */
export async function exchange (port: number, request: Buffer | string, _quietMs?: number, timeoutMs = 30_000): Promise<Buffer> {
  const socket = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const c = new RawClient(socket)
  c.write(request)
  socket.end()
  await c.closedByPeer(timeoutMs)
  const out = c.drainNow()
  c.end()
  return out
}
