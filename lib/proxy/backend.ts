// lib/proxy/backend.ts
/**
 * Backends: a few pipelined text-protocol connections per host, shared by every
 * client of the proxy, and the host's health (mcrouter-style TKO).
 *
 *   BackendConnection  one socket, a FIFO of requests in flight (text replies come
 *                      back in order); replies framed by protocol/text's reply parser.
 *                      A request older than timeoutMs fails the whole connection:
 *                      after a lost reply the FIFO cannot be trusted.
 *   BackendHost        connections to one address. After `tkoThreshold` consecutive
 *                      failures (connect refused/reset, timeout, lost connection) the
 *                      host is marked down ("TKO"): requests fail at once, without
 *                      touching the network, and a probe (`version`) runs every
 *                      probeMs (doubling up to probeMaxMs) until the host answers.
 *                      Any good reply resets the count. This is faster than the
 *                      ZooKeeper session, which is the slow, authoritative signal.
 *
 * Requests are handler objects (./requests.ts); no promise per hop (STYLE §6.2).
 */
import type { Socket } from 'node:net'
import { dialBackend, type BackendTlsProfile } from './backend-dial.js'
import { TextResponseParser, type TextResponseHandler } from '../../protocol/text/response-parser.js'
import { Fifo } from '../client/index.js'
import { WriteBatch } from './write-batch.js'
import { AsciiLogin, asciiAuthWire, saslAuthWire, type BackendCredentials } from './backend-auth.js'

export const FailReason = {
  /** The host is marked down (TKO) or has no live connection. */
  Down: 'down',
  Timeout: 'timeout',
  /** The connection closed or reset with the request in flight. */
  ConnectionLost: 'connection lost',
  /** The reply could not be framed (garbage from the backend). */
  Protocol: 'bad reply',
} as const
export type FailReason = typeof FailReason[keyof typeof FailReason]

export const Reply = { More: 0, Done: 1, Bad: -1 } as const
export type Reply = typeof Reply[keyof typeof Reply]

/** A request as a backend connection sees it. */
export interface BackendRequest {
  /** Bytes to send (complete request, CRLFs included). */
  readonly wire: Buffer
  /** Time sent (ms), set by the connection. */
  sentAt: number
  /** A reply line: Reply.More, Reply.Done, or Reply.Bad (not a reply to this request). */
  onLine (buf: Buffer, s: number, e: number): Reply
  /** A VALUE/VA block, same answers. */
  onValue (line: Buffer, ls: number, le: number, data: Buffer, ds: number, de: number): Reply
  /** The request will get no reply. Called once; never after completion. */
  onFail (reason: FailReason): void
}

export interface BackendOptions {
  /** Connections per host (clients are spread over them by connection id). Default 1, as twemproxy. */
  connsPerHost?: number
  /** A request without its reply after this long fails its connection. Default 1000 ms. */
  timeoutMs?: number
  connectTimeoutMs?: number
  /** Consecutive failures that mark a host down. Default 3. */
  tkoThreshold?: number
  /** First probe delay once down; doubles up to probeMaxMs. Defaults 100 / 1000 ms. */
  probeMs?: number
  probeMaxMs?: number
  /**
   * TLS to backends: `all` (--backend-tls) for every host, else only for hosts that
   * advertise TLS in ZooKeeper; `profile` is what the proxy presents and trusts. Null: a
   * host advertising TLS gets Node's default CAs and no client certificate.
   */
  tls?: { all: boolean, profile: BackendTlsProfile } | null
  /**
   * --backend-username / --backend-password: the proxy's own login, sent first on every
   * backend connection (backend-auth.ts). Absent: none.
   */
  auth?: BackendCredentials | null
}

export interface BackendCounters {
  backend_requests: number
  backend_failures: number
  backend_timeouts: number
  backend_tko_marks: number
  backend_tko_recoveries: number
  backend_fast_fails: number
  backend_reconnects: number
}

export function newBackendCounters (): BackendCounters {
  return { backend_requests: 0, backend_failures: 0, backend_timeouts: 0, backend_tko_marks: 0, backend_tko_recoveries: 0, backend_fast_fails: 0, backend_reconnects: 0 }
}

class BackendConnection implements TextResponseHandler {
  #host: BackendHost
  #socket: Socket | null = null
  #connected = false
  #inflight = new Fifo<BackendRequest>()
  #parser: TextResponseParser
  #batch = new WriteBatch(() => this.#socket)

  constructor (host: BackendHost) {
    this.#host = host
    this.#parser = new TextResponseParser(this)
  }

  get pending (): number { return this.#inflight.size }

  send (req: BackendRequest): void {
    if (this.#socket === null) this.#open()
    req.sentAt = Date.now()
    this.#inflight.push(req)
    // One write per loop iteration for every client's requests (write-batch.ts).
    this.#batch.push(req.wire)
  }

  #open (): void {
    const h = this.#host
    let timer: NodeJS.Timeout | undefined
    const sock = dialBackend(h.host, h.port, h.tls, () => { clearTimeout(timer); this.#connected = true })
    sock.setNoDelay(true)
    this.#socket = sock
    this.#connected = false
    this.#parser.reset()
    if (h.login !== null) {
      // The login goes first, pipelined ahead of the request that opened the connection.
      const login = new AsciiLogin(h.login.text)
      login.sentAt = Date.now()
      this.#inflight.push(login)
      this.#batch.push(login.wire)
    }
    timer = setTimeout(() => { if (!this.#connected) this.#fail(sock, FailReason.Timeout) }, h.connectTimeoutMs)
    sock.on('data', (b: Buffer) => { if (this.#socket === sock) this.#parser.push(b) })
    sock.on('error', () => this.#fail(sock, FailReason.ConnectionLost))
    sock.on('close', () => { clearTimeout(timer); this.#fail(sock, FailReason.ConnectionLost) })
  }

  /** The head request is older than the timeout: give up on this connection. */
  checkTimeout (now: number, timeoutMs: number): void {
    if (this.#socket === null || this.pending === 0) return
    if (now - this.#inflight.peek()!.sentAt > timeoutMs) this.#fail(this.#socket, FailReason.Timeout)
  }

  #fail (sock: Socket, reason: FailReason): void {
    if (this.#socket !== sock) return
    this.#socket = null
    sock.destroy()
    this.#batch.clear()
    const lost = this.#inflight.drain()
    if (lost.length > 0 || reason !== FailReason.ConnectionLost || !this.#connected) {
      // An idle connection closed by the host (idle timeout, restart) is no failure.
      this.#host.failed(reason)
    }
    for (const r of lost) r.onFail(reason)
  }

  #shift (): void {
    this.#host.succeeded(this.#inflight.shift()!.sentAt)
  }

  onLine (buf: Buffer, s: number, e: number): void {
    const req = this.#inflight.peek()
    if (req === undefined) { this.onError('reply with no request in flight'); return }
    const r = req.onLine(buf, s, e)
    if (r === Reply.Done) this.#shift()
    else if (r === Reply.Bad) this.onError('unexpected reply line')
  }

  onValue (line: Buffer, ls: number, le: number, data: Buffer, ds: number, de: number): void {
    const req = this.#inflight.peek()
    if (req === undefined) { this.onError('reply with no request in flight'); return }
    const r = req.onValue(line, ls, le, data, ds, de)
    if (r === Reply.Done) this.#shift()
    else if (r === Reply.Bad) this.onError('unexpected value')
  }

  onError (_reason: string): void {
    if (this.#socket !== null) this.#fail(this.#socket, FailReason.Protocol)
  }

  close (): void {
    if (this.#socket !== null) this.#fail(this.#socket, FailReason.Down)
  }
}

/** A binary request as a backend connection sees it: one or more response packets. */
export interface BinaryBackendRequest {
  readonly wire: Buffer
  sentAt: number
  /** One response packet buf[s, e) (header included): More, Done or Bad. */
  onPacket (buf: Buffer, s: number, e: number): Reply
  onFail (reason: FailReason): void
}

/** What BackendHost needs from a binary connection (binary-backend.ts implements it). */
export interface BinaryConnectionLike {
  /** Requests in flight on this connection. */
  readonly pending: number
  send (req: BinaryBackendRequest): void
  checkTimeout (now: number, timeoutMs: number): void
  close (): void
}

let binaryConnectionFactory: ((host: BackendHost) => BinaryConnectionLike) | null = null
/** binary-backend.ts registers itself here (keeps this file free of binary framing). */
export function setBinaryConnectionFactory (f: (host: BackendHost) => BinaryConnectionLike): void { binaryConnectionFactory = f }

/** One backend address: its connections and its health. */
export class BackendHost {
  readonly host: string
  readonly port: number
  readonly address: string
  readonly connectTimeoutMs: number
  /** This host's TLS profile; null: plain TCP. */
  readonly tls: BackendTlsProfile | null
  /** The proxy's login on this host's connections, in both forms (backend-auth.ts); null: none. */
  readonly login: { text: Buffer, binary: Buffer } | null
  #conns: BackendConnection[]
  /** Binary-protocol connections, made on first use (binary clients). */
  #binConns: BinaryConnectionLike[] | null = null
  #opts: Required<BackendOptions>
  #counters: BackendCounters
  #failures = 0
  #down = false
  #downSince = 0
  #probeDelay = 0
  #probeTimer: NodeJS.Timeout | null = null
  #probeCount = 0
  #closed = false
  /** Called when the host is marked down or back up. */
  onHealth: ((host: BackendHost, up: boolean) => void) | null = null
  /** This host's own share of the pool's counters (per-backend metrics, lib/metrics). */
  readonly counters = newBackendCounters()
  /** One reply in 16: its round trip in ms (the send clock is Date.now()); null: not sampled. */
  onLatency: ((ms: number) => void) | null = null
  #sample = 0

  constructor (host: string, port: number, opts: Required<BackendOptions>, counters: BackendCounters, advertisesTls = false) {
    this.tls = opts.tls !== null && (opts.tls.all || advertisesTls) ? opts.tls.profile : advertisesTls ? {} : null
    this.host = host
    this.port = port
    this.address = `${host}:${port}`
    this.#opts = opts
    this.connectTimeoutMs = opts.connectTimeoutMs
    this.login = opts.auth === null ? null : { text: asciiAuthWire(opts.auth), binary: saslAuthWire(opts.auth) }
    this.#counters = counters
    this.#conns = Array.from({ length: opts.connsPerHost }, () => new BackendConnection(this))
  }

  /** Marked down (TKO): requests fail fast until a probe succeeds. */
  get down (): boolean { return this.#down }
  get downSince (): number { return this.#downSince }
  /** Requests in flight to this host, text and binary (what read routing balances on). */
  get pending (): number {
    let n = 0
    for (const c of this.#conns) n += c.pending
    if (this.#binConns !== null) for (const c of this.#binConns) n += c.pending
    return n
  }

  /**
   * Send on the connection picked by `affinity` (the client connection id): one
   * client's requests to one host stay in order on one connection.
   */
  send (req: BackendRequest, affinity: number): void {
    if (this.#down || this.#closed) {
      this.#counters.backend_fast_fails++
      req.onFail(FailReason.Down)
      return
    }
    this.#counters.backend_requests++
    this.counters.backend_requests++
    this.#conns[affinity % this.#conns.length]!.send(req)
  }

  /** Same as send(), on a binary-protocol connection (see binary-backend.ts). */
  sendBinary (req: BinaryBackendRequest, affinity: number): void {
    if (this.#down || this.#closed) {
      this.#counters.backend_fast_fails++
      req.onFail(FailReason.Down)
      return
    }
    this.#counters.backend_requests++
    this.counters.backend_requests++
    if (this.#binConns === null) {
      this.#binConns = Array.from({ length: this.#opts.connsPerHost }, () => binaryConnectionFactory!(this))
    }
    this.#binConns[affinity % this.#binConns.length]!.send(req)
  }

  checkTimeouts (now: number): void {
    for (const c of this.#conns) c.checkTimeout(now, this.#opts.timeoutMs)
    if (this.#binConns !== null) for (const c of this.#binConns) c.checkTimeout(now, this.#opts.timeoutMs)
  }

  /** A connection failed (once per incident, not per request). */
  failed (reason: FailReason): void {
    if (this.#closed) return
    this.#counters.backend_failures++
    this.counters.backend_failures++
    if (reason === FailReason.Timeout) { this.#counters.backend_timeouts++; this.counters.backend_timeouts++ }
    if (this.#down) return
    this.#failures++
    if (this.#failures >= this.#opts.tkoThreshold) this.#markDown()
    else this.#counters.backend_reconnects++
  }

  succeeded (sentAt?: number): void {
    this.#failures = 0
    if (this.onLatency !== null && sentAt !== undefined && (++this.#sample & 15) === 0) this.onLatency(Date.now() - sentAt)
  }

  #markDown (): void {
    this.#down = true
    this.#downSince = Date.now()
    this.#counters.backend_tko_marks++
    this.counters.backend_tko_marks++
    for (const c of this.#conns) c.close()
    if (this.#binConns !== null) for (const c of this.#binConns) c.close()
    this.#probeDelay = this.#opts.probeMs
    this.#scheduleProbe()
    this.onHealth?.(this, false)
  }

  #scheduleProbe (): void {
    if (this.#closed) return
    this.#probeTimer = setTimeout(() => { this.#probeTimer = null; this.#probe() }, this.#probeDelay)
    this.#probeTimer.unref()
    this.#probeDelay = Math.min(this.#probeDelay * 2, this.#opts.probeMaxMs)
  }

  /**
   * One `version` round trip on a fresh socket; success brings the host back. With a
   * login (--backend-username), probes alternate between the text form (ASCII auth, then
   * `version`: a -Y host) and a binary VERSION packet (a -S host closes text clients, and
   * answers VERSION without a login, as memcached does).
   */
  #probe (): void {
    const binary = this.login !== null && (this.#probeCount++ & 1) === 1
    const sock = dialBackend(this.host, this.port, this.tls, () => {
      if (binary) sock.write(BINARY_VERSION)
      else sock.write(this.login === null ? 'version\r\n' : Buffer.concat([this.login.text, Buffer.from('version\r\n')]))
    })
    let done = false
    const finish = (ok: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      sock.destroy()
      if (this.#closed) return
      if (ok) {
        this.#down = false
        this.#failures = 0
        this.#counters.backend_tko_recoveries++
        this.onHealth?.(this, true)
      } else this.#scheduleProbe()
    }
    const timer = setTimeout(() => finish(false), this.#opts.timeoutMs)
    let got = ''
    let bin = Buffer.alloc(0)
    sock.on('data', (b: Buffer) => {
      if (binary) {
        bin = Buffer.concat([bin, b])
        if (bin.length >= 24) finish(bin[0] === 0x81 && bin[1] === 0x0b && bin.readUInt16BE(6) === 0)
        return
      }
      got += b.toString('latin1')
      // After a login: its reply line(s), then VERSION; without one: VERSION first.
      if (this.login === null ? got.includes('\n') : got.includes('VERSION ') || got.includes('CLIENT_ERROR authentication failure')) {
        finish(this.login === null ? got.startsWith('VERSION ') : /(^|\n)VERSION /.test(got))
      }
    })
    sock.on('error', () => finish(false))
    sock.on('close', () => finish(false))
  }

  close (): void {
    this.#closed = true
    if (this.#probeTimer !== null) clearTimeout(this.#probeTimer)
    for (const c of this.#conns) c.close()
    if (this.#binConns !== null) for (const c of this.#binConns) c.close()
  }
}

/** A binary VERSION request (the probe of a host that may take only binary clients). */
const BINARY_VERSION = Buffer.from([0x80, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])

/** Hosts by address; added and dropped as the topology changes. */
export class BackendPool {
  readonly counters = newBackendCounters()
  readonly opts: Required<BackendOptions>
  #hosts = new Map<string, BackendHost>()
  #timer: NodeJS.Timeout
  onHealth: ((host: BackendHost, up: boolean) => void) | null = null
  /** A sampled reply round trip of one host, in ms (BackendHost.onLatency). */
  onLatency: ((host: BackendHost, ms: number) => void) | null = null

  constructor (opts: BackendOptions = {}) {
    this.opts = {
      connsPerHost: opts.connsPerHost ?? 1,
      timeoutMs: opts.timeoutMs ?? 1000,
      connectTimeoutMs: opts.connectTimeoutMs ?? opts.timeoutMs ?? 1000,
      tkoThreshold: opts.tkoThreshold ?? 3,
      probeMs: opts.probeMs ?? 100,
      probeMaxMs: opts.probeMaxMs ?? 1000,
      tls: opts.tls ?? null,
      auth: opts.auth ?? null,
    }
    const tick = Math.max(10, Math.min(100, Math.floor(this.opts.timeoutMs / 4)))
    this.#timer = setInterval(() => {
      const now = Date.now()
      for (const h of this.#hosts.values()) h.checkTimeouts(now)
    }, tick)
    this.#timer.unref()
  }

  get hosts (): ReadonlyMap<string, BackendHost> { return this.#hosts }

  /** The host at host:port; `advertisesTls`: its ZooKeeper record says it requires TLS. */
  get (host: string, port: number, advertisesTls = false): BackendHost {
    const address = `${host}:${port}`
    let h = this.#hosts.get(address)
    // A host restarted with or without -Z at the same address: new connections of the new kind.
    if (h !== undefined && advertisesTls && h.tls === null) { h.close(); h = undefined }
    if (h === undefined) {
      h = new BackendHost(host, port, this.opts, this.counters, advertisesTls)
      h.onHealth = (x, up) => this.onHealth?.(x, up)
      const made = h
      h.onLatency = (ms) => this.onLatency?.(made, ms)
      this.#hosts.set(address, h)
    }
    return h
  }

  /** Keep only these addresses (hosts that left the topology are closed). */
  retain (addresses: ReadonlySet<string>): void {
    for (const [a, h] of this.#hosts) {
      if (!addresses.has(a)) { h.close(); this.#hosts.delete(a) }
    }
  }

  close (): void {
    clearInterval(this.#timer)
    for (const h of this.#hosts.values()) h.close()
    this.#hosts.clear()
  }
}
