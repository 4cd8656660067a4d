/**
 * One TCP connection to one memcached-protocol server, pipelined (STYLE §6.3):
 *
 *   send(cmd) ──► offline FIFO ──(connected)──► socket.write ──► in-flight FIFO
 *                 (not yet sent)                (corked per tick)  (sent, awaiting reply)
 *                                                                   │
 *   socket data ──► TextResponseParser ──► head of in-flight consumes lines/values
 *
 * Text replies come back in request order, so the oldest in-flight command owns the next
 * reply. One timer watches only the oldest deadline of each FIFO. When the head of the
 * in-flight FIFO times out we cannot know whether its reply will still come, so the
 * connection is closed: the timed-out command fails with TIMEOUT, the others in flight
 * with CONN_CLOSED, and the unsent ones stay queued for the reconnect.
 *
 * Reconnect: after a failure, if commands are waiting, retryStrategy(attempt) gives the
 * delay (null = give up: waiting commands fail with CONNECT). With nothing waiting the
 * connection stays idle and reconnects on the next send.
 */
import { connect, isIP, type Socket } from 'node:net'
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import { TextResponseParser, type TextResponseHandler } from '../../protocol/text/response-parser.js'
import { Reply, errorReply, type PendingCommand } from './command.js'
import { ClientError, ClientErrorCode } from './errors.js'
import { Fifo } from './fifo.js'
import { exponentialBackoff, type RetryStrategy } from './retry.js'

export interface ConnectionOptions {
  readonly host: string
  readonly port: number
  /** Default 1000. */
  readonly connectTimeoutMs?: number
  /** From send() to the complete reply; default 1000. */
  readonly requestTimeoutMs?: number
  /** Default exponentialBackoff(). */
  readonly retryStrategy?: RetryStrategy
  /** Commands waiting or in flight before send() fails with QUEUE_FULL; default 100000. */
  readonly maxQueued?: number
  /** Connect with TLS (node:tls options: ca, cert, key, ...); absent: plain TCP. */
  readonly tls?: TlsConnectionOptions
}

export const ConnState = { Idle: 0, Connecting: 1, Ready: 2, Waiting: 3, Closed: 4 } as const
export type ConnState = (typeof ConnState)[keyof typeof ConnState]

export class Connection implements TextResponseHandler {
  readonly server: string
  private readonly host: string
  private readonly port: number
  private readonly connectTimeoutMs: number
  private readonly tlsOptions: TlsConnectionOptions | undefined
  private readonly requestTimeoutMs: number
  private readonly retryStrategy: RetryStrategy
  private readonly maxQueued: number
  private readonly offline = new Fifo<PendingCommand>()
  private readonly inflight = new Fifo<PendingCommand>()
  private readonly parser = new TextResponseParser(this)
  private socket: Socket | null = null
  private stateValue: ConnState = ConnState.Idle
  private attempt = 0
  private corked = false
  private timer: NodeJS.Timeout | null = null
  private timerAt = 0
  private reconnectTimer: NodeJS.Timeout | null = null
  private lastError: unknown = null
  /** Connections made so far (for tests and stats). */
  connects = 0

  constructor (opts: ConnectionOptions) {
    this.host = opts.host
    this.port = opts.port
    this.server = opts.host.includes(':') ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 1000
    this.tlsOptions = opts.tls
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 1000
    this.retryStrategy = opts.retryStrategy ?? exponentialBackoff()
    this.maxQueued = opts.maxQueued ?? 100_000
  }

  get state (): ConnState {
    return this.stateValue
  }

  /** Commands not yet answered (waiting to be sent or in flight). */
  get pending (): number {
    return this.offline.size + this.inflight.size
  }

  /** Queues a command; it settles through its own callback. Never throws. */
  send (cmd: PendingCommand): void {
    if (this.stateValue === ConnState.Closed) {
      return cmd.fail(new ClientError(ClientErrorCode.Closed, `connection to ${this.server} is closed`, { retriable: true, server: this.server }))
    }
    if (this.pending >= this.maxQueued) {
      return cmd.fail(new ClientError(ClientErrorCode.QueueFull, `${this.pending} requests already waiting for ${this.server}`, { retriable: true, server: this.server }))
    }
    cmd.deadline = Date.now() + this.requestTimeoutMs
    if (this.stateValue === ConnState.Ready) {
      this.write(cmd)
    } else {
      this.offline.push(cmd)
      if (this.stateValue === ConnState.Idle) this.open()
    }
    this.armTimer(cmd.deadline)
  }

  /** Closes now: everything waiting or in flight fails with CLOSED, `why` in its message. */
  close (why = 'closed by the client'): void {
    if (this.stateValue === ConnState.Closed) return
    this.stateValue = ConnState.Closed
    this.clearTimers()
    const sock = this.socket
    this.socket = null
    if (sock !== null) sock.destroy()
    const err = new ClientError(ClientErrorCode.Closed, `connection to ${this.server} ${why}`, { server: this.server })
    for (const c of this.inflight.drain()) c.fail(err)
    const unsent = new ClientError(ClientErrorCode.Closed, `connection to ${this.server} ${why}`, { retriable: true, server: this.server })
    for (const c of this.offline.drain()) c.fail(unsent)
  }

  private open (): void {
    this.stateValue = ConnState.Connecting
    const t = this.tlsOptions
    const sock = t === undefined
      ? connect({ host: this.host, port: this.port, noDelay: true })
      : tlsConnect({ servername: isIP(this.host) === 0 ? this.host : undefined, ...t, host: this.host, port: this.port })
    if (t !== undefined) sock.setNoDelay(true)
    this.socket = sock
    const connectTimer = setTimeout(() => {
      sock.destroy(new Error(`connect timeout after ${this.connectTimeoutMs} ms`))
    }, this.connectTimeoutMs)
    sock.once(t === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(connectTimer)
      if (this.socket !== sock) return
      this.connects++
      this.attempt = 0
      this.lastError = null
      this.stateValue = ConnState.Ready
      this.parser.reset()
      for (let c = this.offline.shift(); c !== undefined; c = this.offline.shift()) this.write(c)
    })
    sock.on('data', (chunk: Buffer) => {
      if (this.socket === sock) this.parser.push(chunk)
    })
    sock.on('error', (err) => { this.lastError = err })
    sock.once('close', () => {
      clearTimeout(connectTimer)
      if (this.socket === sock) this.lost(null)
    })
  }

  private write (cmd: PendingCommand): void {
    const sock = this.socket as Socket
    if (!this.corked) {
      // every request of this tick leaves in one writev (STYLE §4.3)
      this.corked = true
      sock.cork()
      process.nextTick(() => {
        this.corked = false
        sock.uncork()
      })
    }
    const req = cmd.request
    if (Buffer.isBuffer(req)) sock.write(req)
    else for (const b of req) sock.write(b)
    cmd.sent = true
    this.inflight.push(cmd)
  }

  /**
   * The socket is gone (closed by the peer, reset, timed out, or framing lost).
   * `headError` is what the oldest in-flight command fails with; the rest get CONN_CLOSED.
   */
  private lost (headError: ClientError | null): void {
    const sock = this.socket
    this.socket = null
    if (sock !== null) sock.destroy()
    if (this.stateValue === ConnState.Closed) return
    const wasReady = this.stateValue === ConnState.Ready
    const cause = this.lastError
    if (headError !== null) this.inflight.shift()?.fail(headError)
    if (this.inflight.size > 0) {
      const err = new ClientError(ClientErrorCode.ConnClosed,
        `connection to ${this.server} ${headError !== null ? 'closed after an earlier request failed' : 'closed with requests in flight'}`,
        { cause: headError ?? cause, server: this.server })
      for (const c of this.inflight.drain()) c.fail(err)
    }
    if (this.offline.size === 0) {
      this.stateValue = ConnState.Idle
      this.attempt = 0
      return
    }
    const delay = this.retryStrategy(++this.attempt)
    if (delay === null) {
      const err = new ClientError(ClientErrorCode.Connect,
        `cannot ${wasReady ? 'reconnect' : 'connect'} to ${this.server} after ${this.attempt} attempt(s)${cause instanceof Error ? ': ' + cause.message : ''}`,
        { cause, retriable: true, server: this.server })
      this.stateValue = ConnState.Idle
      this.attempt = 0
      for (const c of this.offline.drain()) c.fail(err)
      return
    }
    this.stateValue = ConnState.Waiting
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null
      if (this.stateValue === ConnState.Waiting) this.open()
    }, delay)
  }

  // --- reply handling (TextResponseHandler) ---

  onLine (buf: Buffer, s: number, e: number): void {
    const cmd = this.inflight.peek()
    if (cmd === undefined) return this.protocolError(`unsolicited reply ${buf.toString('latin1', s, Math.min(e, s + 60))}`)
    const err = errorReply(buf, s, e, this.server)
    if (err !== null) {
      this.inflight.shift()
      cmd.fail(err)
      return
    }
    const r = cmd.onLine(buf, s, e)
    if (r === Reply.Done) {
      this.inflight.shift()
      cmd.succeed()
    } else if (r === Reply.Bad) {
      this.protocolError(`unexpected reply ${JSON.stringify(buf.toString('latin1', s, Math.min(e, s + 60)))}`)
    }
  }

  onValue (line: Buffer, ls: number, le: number, data: Buffer, ds: number, de: number): void {
    const cmd = this.inflight.peek()
    if (cmd === undefined) return this.protocolError('unsolicited VALUE')
    const r = cmd.onValue(line, ls, le, data, ds, de)
    if (r === Reply.Done) {
      this.inflight.shift()
      cmd.succeed()
    } else if (r === Reply.Bad) {
      this.protocolError(`unexpected ${line.toString('latin1', ls, Math.min(le, ls + 60))}`)
    }
  }

  onError (reason: string): void {
    this.protocolError(reason)
  }

  private protocolError (reason: string): void {
    this.lost(new ClientError(ClientErrorCode.Protocol, `bad reply from ${this.server}: ${reason}`, { server: this.server }))
  }

  // --- timeouts: one timer for the oldest deadline of either FIFO ---

  private armTimer (deadline: number): void {
    if (this.timer !== null && this.timerAt <= deadline) return
    if (this.timer !== null) clearTimeout(this.timer)
    this.timerAt = deadline
    // unref: a pending request keeps the process alive through its socket or reconnect timer
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, deadline - Date.now())).unref()
  }

  private onTimer (): void {
    this.timer = null
    const now = Date.now()
    // unsent commands past their deadline never ran: retriable
    for (let c = this.offline.peek(); c !== undefined && c.deadline <= now; c = this.offline.peek()) {
      this.offline.shift()
      c.fail(new ClientError(ClientErrorCode.Timeout, `no connection to ${this.server} within ${this.requestTimeoutMs} ms`,
        { cause: this.lastError, retriable: true, server: this.server }))
    }
    const head = this.inflight.peek()
    if (head !== undefined && head.deadline <= now) {
      this.lost(new ClientError(ClientErrorCode.Timeout, `no reply from ${this.server} within ${this.requestTimeoutMs} ms`, { server: this.server }))
    }
    const next = Math.min(this.inflight.peek()?.deadline ?? Infinity, this.offline.peek()?.deadline ?? Infinity)
    if (next !== Infinity) this.armTimer(next)
  }

  private clearTimers (): void {
    if (this.timer !== null) clearTimeout(this.timer)
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer)
    this.timer = null
    this.reconnectTimer = null
  }
}
