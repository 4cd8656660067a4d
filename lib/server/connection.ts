/**
 * One client socket. The first byte picks the protocol (0x80 = binary, anything else =
 * text/meta; memcached try_read_command_negotiate). Every reply produced while handling one
 * input chunk leaves in one write. When the client stops reading, we stop reading it:
 * the socket and the parser pause until 'drain'.
 */
import type { Socket } from 'node:net'
import type { ConnControl, ServerContext } from './context.js'
import { Output, type HoldOwner } from './output.js'
import { SocketWriter } from './socket-writer.js'
import { flushLater, type Deferrable } from './flush-batch.js'
import { TextSession } from './text-session.js'
import { VerboseTextSession, newConnectionLine, verboseLine } from './verbose.js'
import { CONN_OUTPUT_LIMIT, type ServerSettings } from './settings.js'

/** A protocol's per-connection state machine. */
export interface ProtocolSession {
  push (chunk: Buffer): void
  /** Stop parsing after the current request (input is kept). */
  pause (): void
  /** Continue with input buffered while paused. */
  resume (): void
  /** Release anything held (allocated items, buffers). */
  close (): void
  /**
   * True when push() keeps no view of its chunk once it returns (it copies what it keeps):
   * the connection may then read into a buffer that the next read overwrites. Otherwise
   * the connection hands the session a copy of every chunk.
   */
  readonly copiesInput?: boolean
  /**
   * Optional: the client half-closed. Return true to close the connection yourself
   * (closeAfterWrite + flush) once replies still in progress are written.
   */
  endInput? (): boolean
  /** Optional: a data block is being read (`stats conns` state conn_nread). */
  readingData? (): boolean
}

/** The binary protocol plugs in here (lib/server/binary-*.ts). */
export type SessionFactory = (conn: ConnControl, ctx: ServerContext) => ProtocolSession

/** Held replies beyond these many bytes stop reading the socket until some settle (checkHeld). */
const OUT_HIGH_WATER = 1024 * 1024
/** Held write replies (--min-replicas-to-ack) beyond this stop reading the socket until some settle. */
const MAX_HELD = 4096
/** After our FIN (quit, a closing error), how long a peer that keeps its side open is waited for. */
const END_GRACE_MS = 2000

let nextId = 1

/** Connection ids (also the listeners' numbers in -vv output): from 1, never reused. */
export function takeConnectionId (): number { return nextId++ }

class TextProtocol implements ProtocolSession {
  readonly copiesInput = true
  readonly session: TextSession
  constructor (conn: ConnControl, ctx: ServerContext, verbose: boolean) {
    this.session = verbose ? new VerboseTextSession(conn, ctx) : new TextSession(conn, ctx)
  }
  push (chunk: Buffer): void { this.session.push(chunk) }
  pause (): void { this.session.pause() }
  resume (): void { this.session.resume() }
  close (): void { this.session.close() }
  endInput (): boolean { return this.session.endInput() }
  readingData (): boolean { return this.session.parser.readingData }
}

export class Connection implements ConnControl, HoldOwner, Deferrable {
  readonly id = takeConnectionId()
  readonly out = new Output()
  /** Where replies go: the socket's handle directly, or its stream (socket-writer.ts). */
  private readonly writer: SocketWriter
  /** The end-of-input flush waits for the end of this event-loop turn (flush-batch.ts). */
  flushQueued = false
  lastCmdSec: number
  private session: ProtocolSession | null = null
  private closing = false
  private waitingDrain = false
  /** The client half-closed while replies were held back (see the 'end' handler). */
  private inputEnded = false
  private destroyed = false
  /** The socket belongs to an Upgrade now (detach()). */
  private detached = false
  /** Reading is paused because too many replies are held (see MAX_HELD). */
  private heldPause = false
  /** memcached -vv human output for this connection (verbose.ts); decided once, here. */
  private readonly verbose: boolean
  /**
   * Why the connection closed, for `watch connevents` (memcached's close_reason): error
   * unless the client closed or quit, an idle sweep kicked it, or the server shut down.
   */
  private closeReason: CloseReason = 'error'
  private endTimer: NodeJS.Timeout | null = null
  private readonly rip: string | undefined
  private readonly rport: number
  /** --conn-output-limit: unsent reply bytes past which parsing stops until 'drain'. */
  private readonly outputLimit: number

  constructor (
    private readonly socket: Socket,
    private readonly ctx: ServerContext,
    private readonly binary: SessionFactory | null,
    private readonly textFactory: SessionFactory | null,
    /**
     * The socket reads with `onread` (onread-socket.ts): input arrives through onInput()
     * as views of a shared buffer. false: the socket's 'data' events, Buffers of our own.
     */
    private readonly sharedInput = false,
  ) {
    this.rip = socket.remoteAddress // undefined on a unix socket
    this.rport = socket.remotePort ?? 0
    this.lastCmdSec = Math.floor(Date.now() / 1000)
    this.out.owner = this
    this.writer = new SocketWriter(socket, () => this.onDrain())
    // The proxy's frontend reuses Connection with no settings: no -vv lines, the default limit.
    const settings = ctx.settings as ServerSettings | null
    this.verbose = settings !== null && settings.verbosity > 1
    if (this.verbose) verboseLine(newConnectionLine(this.id, ctx.settings.protocol))
    this.outputLimit = settings?.connOutputLimit ?? CONN_OUTPUT_LIMIT
    socket.setNoDelay(true)
    if (!sharedInput) socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('drain', () => this.onDrain())
    socket.on('error', () => this.destroy())
    socket.on('close', () => this.onClose())
    if (ctx.watchers?.active === true) this.connEvent(true)
    socket.on('end', () => {
      if (this.closeReason === 'error') this.closeReason = 'normal'
      if (this.destroyed) return
      // Replies to input read with the FIN go out before anything below ends the socket.
      if (this.flushQueued) this.flush()
      // A session whose replies complete later (the proxy) closes once they are out.
      if (this.session?.endInput?.() === true) return
      // Requests read before the FIN but held back by backpressure are answered first, as
      // memcached does; onDrain ends the socket once they are.
      if (this.waitingDrain) { this.inputEnded = true; return }
      // Replies held for replication acks: close once they are out (flush ends the socket).
      if (this.out.gates !== null) { this.closing = true; return }
      this.socket.end()
    })
  }

  /** `stats conns` addr: memcached prints a unix-socket client as "?:<AF 0>". Built when asked, not per accept. */
  get addr (): string { return this.rip === undefined ? '?:<AF 0>' : `tcp:${this.rip}:${this.rport}` }

  /** `stats conns` listen_addr: the listener's path on a unix socket. */
  get listenAddr (): string {
    if (this.rip === undefined) return `unix:${(this.ctx.settings as ServerSettings | null)?.unixSocket ?? ''}`
    return `tcp:${this.socket.localAddress ?? '?'}:${this.socket.localPort ?? 0}`
  }

  /** Reply bytes not yet taken by the kernel: queued here plus in the socket's buffer (`stats conns`). */
  outBytes (): number { return this.out.pendingBytes + this.writer.queued }

  state (): string {
    if (this.session === null) return 'conn_new_cmd'
    if (this.waitingDrain) return 'conn_mwrite'
    return this.session.readingData?.() === true ? 'conn_nread' : 'conn_parse_cmd'
  }

  /**
   * Input from an `onread` socket: a view of the shared read buffer, valid during this call.
   * After detach() the new owner gets ordinary 'data' events (copies).
   */
  onInput (chunk: Buffer): void {
    if (this.detached) { this.socket.emit('data', Buffer.from(chunk)); return }
    this.onData(chunk)
  }

  private onData (chunk: Buffer): void {
    if (this.destroyed || this.closing) return
    this.ctx.stats.bytes_read += chunk.length
    this.lastCmdSec = Math.floor(Date.now() / 1000)
    try {
      if (this.session === null) {
        const binary = chunk[0] === 0x80 ? this.binary : null
        // memcached try_read_command_negotiate: said only when the first byte decided.
        if (this.verbose && this.ctx.settings.protocol === 'auto') verboseLine(`${this.id}: Client using the ${binary !== null ? 'binary' : 'ascii'} protocol`)
        if (binary !== null) this.session = binary(this, this.ctx)
        else if (this.textFactory !== null) this.session = this.textFactory(this, this.ctx)
        else this.session = new TextProtocol(this, this.ctx, this.verbose)
      }
      this.session.push(this.sharedInput && this.session.copiesInput !== true ? Buffer.from(chunk) : chunk)
    } catch (err) {
      this.internalError(err)
      return
    }
    // With the other connections' replies of this turn (flush-batch.ts).
    flushLater(this)
  }

  /**
   * Writes queued replies; pauses the socket when the kernel buffer is full. Public so
   * a session whose replies complete later (the proxy's routing sessions) can send them.
   */
  flush (): void {
    if (this.destroyed) return
    const before = this.out.bytesWritten
    const ok = this.out.flush(this.writer)
    this.ctx.stats.bytes_written += this.out.bytesWritten - before
    if (this.closing) {
      // Held replies go out before the close (quit after a write waiting for its acks).
      if (this.out.gates === null) this.endSoon()
      return
    }
    if (!ok && !this.waitingDrain) {
      this.waitingDrain = true
      this.socket.pause()
    }
    if (this.out.gates !== null || this.heldPause) this.checkHeld()
  }

  /** A held reply settled (HoldOwner): send what is no longer held. */
  flushHeld (): void { this.flush() }

  /** Stop reading while too many replies are held; read again once they settle. */
  private checkHeld (): void {
    const g = this.out.gates
    const over = g !== null && (g.length > MAX_HELD || this.out.pendingBytes > OUT_HIGH_WATER)
    if (over && !this.heldPause) {
      this.heldPause = true
      this.socket.pause()
    } else if (!over && this.heldPause) {
      this.heldPause = false
      if (!this.waitingDrain) this.socket.resume()
    }
  }

  /**
   * Called by a session after each reply (each key of a multiget): once the output queued
   * since the last flush passes --conn-output-limit, or the socket already refuses more,
   * flush and, if the socket is full, stop parsing at this request boundary until 'drain'.
   * Unsent output per connection stays within the limit plus the socket's high-water mark
   * plus one reply (and replies of 16 KiB and more are views of slab memory, not copies).
   */
  pauseInput (): void {
    if (this.out.pendingBytes < this.outputLimit && !this.waitingDrain) return
    this.flush()
    if (this.waitingDrain) {
      this.ctx.stats.conn_yields++
      this.session?.pause()
    }
  }

  private onDrain (): void {
    if (!this.waitingDrain || this.destroyed) return
    this.waitingDrain = false
    try {
      this.session?.resume()
    } catch (err) {
      this.internalError(err)
      return
    }
    this.flush()
    if (this.waitingDrain || this.destroyed) return
    if (this.inputEnded) {
      if (this.out.gates === null) this.socket.end()
      else this.closing = true
    } else if (!this.heldPause) this.socket.resume()
  }

  /**
   * Sends FIN after the queued replies; memcached close()s at this point. A peer that never
   * reads (so never answers our FIN) would keep the connection here forever: it is
   * destroyed after END_GRACE_MS.
   */
  private endSoon (): void {
    if (this.endTimer !== null) return
    this.socket.end()
    this.endTimer = setTimeout(() => this.socket.destroy(), END_GRACE_MS)
    this.endTimer.unref()
  }

  closeAfterWrite (normal = false): void {
    this.closing = true
    if (normal && this.closeReason === 'error') this.closeReason = 'normal'
  }

  congested (): boolean { return this.waitingDrain }

  /** Hands the socket to another owner (an Upgrade): replies queued so far go first. */
  detach (): Socket | null {
    if (this.destroyed) return null
    this.out.flush(this.writer)
    this.destroyed = true
    this.detached = true
    this.session?.close()
    this.session = null
    for (const ev of ['data', 'drain', 'error', 'close', 'end']) this.socket.removeAllListeners(ev)
    this.ctx.connectionClosed(this)
    this.ctx.socketDetached?.(this.socket)
    if (this.waitingDrain) this.socket.resume()
    return this.socket
  }

  destroy (): void {
    if (this.destroyed) return
    this.destroyed = true
    this.out.clear()
    this.socket.destroy()
  }

  private internalError (err: unknown): void {
    this.ctx.stats.internal_errors++
    this.ctx.onInternalError?.(err, this.id)
    this.out.clear()
    this.out.bytes(SERVER_ERROR_INTERNAL)
    this.out.flush(this.writer)
    this.destroyed = true
    this.socket.end()
    setTimeout(() => this.socket.destroy(), 100).unref()
  }

  private onClose (): void {
    if (this.endTimer !== null) clearTimeout(this.endTimer)
    if (this.verbose) verboseLine(`<${this.id} connection closed.`)
    if (this.ctx.watchers?.active === true) this.connEvent(false)
    this.destroyed = true
    this.out.clear() // replies never handed to the socket drop their pins here
    this.session?.close()
    this.ctx.connectionClosed(this)
  }

  /** Graceful stop: finish what is queued, then close. */
  end (): void {
    this.closeReason = 'shutdown'
    this.closing = true
    this.flush()
  }

  /** Idle sweep and shutdown: close without waiting. */
  kill (reason: 'idle_timeout' | 'shutdown' = 'shutdown'): void {
    this.closeReason = reason
    this.destroy()
  }

  /** A conn_new / conn_close line for `watch connevents` (watchers.ts). */
  private connEvent (open: boolean): void {
    const unix = this.rip === undefined
    this.ctx.watchers.connEvent(open, this.id, unix ? 'unix' : this.rip!, unix ? 0 : this.rport, unix ? 'local' : 'tcp', this.closeReason)
  }
}

export type CloseReason = 'error' | 'normal' | 'idle_timeout' | 'shutdown'

const SERVER_ERROR_INTERNAL = Buffer.from('SERVER_ERROR internal error\r\n')
