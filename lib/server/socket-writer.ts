/**
 * Output below Node's stream layer (issue 15): replies go straight to the socket's libuv
 * handle (`writeBuffer` / `writev`, the calls net.Socket itself makes underneath), without
 * the Writable state machine, a WriteWrap per write, or a callback per write.
 *
 * libuv first tries the write synchronously; on loopback and on any socket that keeps up,
 * all of it is taken at once and nothing is left to track. Only a write the kernel could
 * not take whole is queued by libuv (in order: libuv refuses a synchronous write while its
 * queue is not empty), and then:
 *   - the buffers are kept referenced until libuv reports the write done;
 *   - `done` (releasing pinned slab memory) runs then, with an error if the socket was
 *     destroyed first (libuv cancels queued writes on close, and reports each);
 *   - write() returns false once libuv's queue holds a high-water mark or more, and
 *     `onDrain` runs when the queue is empty again (the 'drain' of a stream).
 *
 * The stream path stays in use whenever the stream layer has its own state to respect: a
 * TLS socket (the handle is the TLS wrap, which the JS layer drives), a socket the stream
 * has unsent bytes for, or one that is ending. Both paths can be mixed on one socket: a
 * direct write is only made while the stream's own queue is empty, and `end()` (through
 * the stream) is performed by libuv after every queued write.
 */
import type { Socket } from 'node:net'
import type { Sink } from './output.js'

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq
  streamBaseState: Int32Array
  kLastWriteWasAsync: number
}
/** What libuv's stream handle offers JS (node's src/stream_base.cc). */
interface Handle {
  writeBuffer (req: WriteReq, b: Buffer): number
  writev (req: WriteReq, chunks: Buffer[], allBuffers: boolean): number
  readonly writeQueueSize: number
}
interface WriteReq {
  oncomplete: (this: WriteReq, status: number) => void
  writer: SocketWriter | null
  chunks: Buffer[] | Buffer | null
  done: ((err?: Error | null) => void) | undefined
}
interface SocketInternals { _handle: Handle | null, encrypted?: boolean }

// process.binding('stream_wrap') is on Node's list of bindings still given to user code;
// it is what net.Socket uses (lib/internal/stream_base_commons.js).
const binding = (process as unknown as { binding: (name: string) => StreamWrapBinding }).binding('stream_wrap')
const { WriteWrap, streamBaseState, kLastWriteWasAsync } = binding

/** A queued write finished (or was cancelled by close: status < 0). `this` is the request. */
function onComplete (this: WriteReq, status: number): void {
  const w = this.writer as SocketWriter
  const done = this.done
  this.writer = null
  this.chunks = null
  this.done = undefined
  w.completed(status, done)
}

export class SocketWriter implements Sink {
  /** A request object not handed to libuv yet (a synchronous write leaves it unused). */
  private spare: WriteReq | null = null
  /** Writes libuv has queued and not yet reported done. */
  inFlight = 0
  private needDrain = false
  /** The last write was taken whole by the kernel before it returned (Sink.lastSync). */
  lastSync = false
  private readonly direct: boolean
  private readonly hwm: number

  constructor (private readonly socket: Socket, private readonly onDrain: () => void) {
    this.direct = (socket as unknown as SocketInternals).encrypted !== true
    this.hwm = socket.writableHighWaterMark
  }

  /** Bytes handed over and not yet taken by the kernel (`stats conns` out_bytes). */
  get queued (): number {
    const h = (this.socket as unknown as SocketInternals)._handle
    return this.socket.writableLength + (h !== null && this.inFlight > 0 ? h.writeQueueSize : 0)
  }

  /** The handle to write to directly, or null when the stream path must be taken. */
  private handle (): Handle | null {
    if (!this.direct) return null
    const s = this.socket
    if (s.writableLength !== 0 || s.writableCorked !== 0 || s.writableEnded || s.destroyed) return null
    return (s as unknown as SocketInternals)._handle
  }

  write (b: Buffer, cb?: (err?: Error | null) => void): boolean {
    const h = this.handle()
    if (h === null) { this.lastSync = false; return this.socket.write(b, cb) }
    const req = this.spare ?? this.newReq()
    const err = h.writeBuffer(req, b)
    return this.after(h, req, err, b, cb)
  }

  /** Corking goes through the stream: while corked, write() takes the stream path. */
  cork (): void { this.socket.cork() }
  uncork (): void { this.socket.uncork() }

  /** list[0, n) in one writev; done runs once all of it is written (or failed). */
  writev (list: Buffer[], n: number, done: ((err?: Error | null) => void) | undefined): boolean {
    if (n === 1) return this.write(list[0], done)
    const h = this.handle()
    if (h === null) {
      this.lastSync = false
      const s = this.socket
      s.cork()
      let ok = true
      for (let i = 0; i < n; i++) ok = s.write(list[i], i === n - 1 ? done : undefined)
      s.uncork()
      return ok
    }
    const chunks = list.length === n ? list : list.slice(0, n)
    const req = this.spare ?? this.newReq()
    const err = h.writev(req, chunks, true)
    // libuv keeps pointers into these buffers while the write is queued: keep them alive,
    // in a list the caller will not truncate (after() copies it only then).
    return this.after(h, req, err, chunks === list ? null : chunks, done, list, n)
  }

  private newReq (): WriteReq {
    const r = new WriteWrap()
    r.oncomplete = onComplete
    r.writer = null
    r.chunks = null
    r.done = undefined
    return r
  }

  private after (h: Handle, req: WriteReq, err: number, keep: Buffer[] | Buffer | null, done: ((err?: Error | null) => void) | undefined,
    list: Buffer[] | null = null, n = 0): boolean {
    if (err !== 0) {
      this.lastSync = false
      // EPIPE, ECONNRESET...: the stream would destroy the socket with the error; so do we.
      this.spare = req.writer === null ? req : null
      const e = new Error(`write failed (${err})`)
      this.socket.destroy()
      done?.(e)
      return false
    }
    if (streamBaseState[kLastWriteWasAsync] === 0) {
      this.lastSync = true
      this.spare = req
      done?.()
      return true
    }
    // Queued by libuv: this request object now belongs to the write.
    this.lastSync = false
    this.spare = null
    req.writer = this
    req.chunks = keep ?? (list as Buffer[]).slice(0, n)
    req.done = done
    this.inFlight++
    if (h.writeQueueSize < this.hwm) return true
    this.needDrain = true
    return false
  }

  /** From onComplete. */
  completed (status: number, done: ((err?: Error | null) => void) | undefined): void {
    this.inFlight--
    done?.(status < 0 ? new Error(`write failed (${status})`) : null)
    if (status < 0) {
      if (!this.socket.destroyed) this.socket.destroy()
      return
    }
    if (this.inFlight === 0 && this.needDrain) {
      this.needDrain = false
      this.onDrain()
    }
  }
}
