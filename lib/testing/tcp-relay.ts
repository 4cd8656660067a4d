/**
 * A real TCP relay between a client and a server, for link failures that a process
 * kill cannot show, and for a WAN between two "datacenters" on loopback (the kernels
 * here have no netem qdisc):
 *   freeze()     the current connections become black holes (TCP stays open, nothing
 *                passes either way, like a dead NAT entry or a partition without RST)
 *   cut()        resets them
 *   blockNew()   new connections are accepted but frozen from the start
 *   shape()      a one-way delay, jitter and a bandwidth cap per direction, like a WAN
 *                link: bytes keep their order (jitter delays, never reorders, as TCP
 *                would deliver them), and the cap serialises them at `bytesPerSec`.
 * Test-only code: unstable API.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { Teardown } from './zookeeper.js'

/** A WAN link's shape, per direction. */
export interface LinkShape {
  /** One-way delay added to every chunk, ms. */
  delayMs: number
  /** Extra delay, uniform in [0, jitterMs), per chunk (order kept). */
  jitterMs?: number
  /** Bandwidth cap per direction per connection, bytes/s (0 or absent: none). */
  bytesPerSec?: number
}

/** One direction of one connection: chunks leave in order at their release time. */
class Lane {
  #queue: Array<{ at: number, b: Buffer }> = []
  #timer: NodeJS.Timeout | null = null
  /** When the shaped link finishes sending what it holds (bandwidth cap). */
  #busyUntil = 0
  #lastRelease = 0
  constructor (private readonly out: Socket, private readonly shape: () => LinkShape | null, private readonly alive: () => boolean) {}

  push (b: Buffer): void {
    const s = this.shape()
    if (s === null && this.#queue.length === 0) { this.out.write(b); return }
    const now = performance.now()
    const sh = s ?? { delayMs: 0 }
    let sent = now
    if (sh.bytesPerSec !== undefined && sh.bytesPerSec > 0) {
      this.#busyUntil = Math.max(this.#busyUntil, now) + b.length * 1000 / sh.bytesPerSec
      sent = this.#busyUntil
    }
    const jitter = sh.jitterMs !== undefined && sh.jitterMs > 0 ? Math.random() * sh.jitterMs : 0
    const at = Math.max(this.#lastRelease, sent + sh.delayMs + jitter)
    this.#lastRelease = at
    this.#queue.push({ at, b })
    this.#arm()
  }

  #arm (): void {
    if (this.#timer !== null || this.#queue.length === 0) return
    const wait = Math.max(0, this.#queue[0]!.at - performance.now())
    this.#timer = setTimeout(() => {
      this.#timer = null
      const now = performance.now()
      while (this.#queue.length > 0 && this.#queue[0]!.at <= now + 0.5) {
        const { b } = this.#queue.shift()!
        if (this.alive()) this.out.write(b)
      }
      this.#arm()
    }, wait)
  }

  clear (): void {
    this.#queue = []
    if (this.#timer !== null) { clearTimeout(this.#timer); this.#timer = null }
  }
}

interface Pair { client: Socket, server: Socket, frozen: boolean, up: Lane, down: Lane }

export class TcpRelay {
  readonly port: number
  readonly targetPort: number
  #server: Server
  #pairs = new Set<Pair>()
  /** Every socket this relay opened or accepted and has not seen closed (close() ends them all). */
  #sockets = new Set<Socket>()
  #blockNew = false
  #shape: LinkShape | null = null
  /** Connections accepted so far. */
  accepted = 0
  /** Bytes relayed client -> server and server -> client (all connections, so far). */
  bytesUp = 0
  bytesDown = 0

  constructor (server: Server, port: number, targetPort: number) {
    this.#server = server
    this.port = port
    this.targetPort = targetPort
    server.on('connection', (client) => this.#accept(client))
  }

  get address (): string { return `127.0.0.1:${this.port}` }
  /** Open connections that still pass traffic. */
  get flowing (): number { let n = 0; for (const p of this.#pairs) if (!p.frozen) n++; return n }

  #accept (client: Socket): void {
    this.accepted++
    const server = connect({ host: '127.0.0.1', port: this.targetPort })
    for (const s of [client, server]) { this.#sockets.add(s); s.once('close', () => this.#sockets.delete(s)) }
    client.setNoDelay(true)
    server.setNoDelay(true)
    const shape = (): LinkShape | null => this.#shape
    const pair: Pair = {
      client,
      server,
      frozen: this.#blockNew,
      up: new Lane(server, shape, () => !pair.frozen),
      down: new Lane(client, shape, () => !pair.frozen),
    }
    this.#pairs.add(pair)
    const end = (): void => { this.#pairs.delete(pair); pair.up.clear(); pair.down.clear(); client.destroy(); server.destroy() }
    client.on('data', (b: Buffer) => { if (!pair.frozen) { this.bytesUp += b.length; pair.up.push(b) } })
    server.on('data', (b: Buffer) => { if (!pair.frozen) { this.bytesDown += b.length; pair.down.push(b) } })
    // A frozen link never carries a FIN or RST either: only cut() or close() end it.
    // A shaped link delivers the bytes in flight before the FIN (after their delay).
    const closeLater = (): void => {
      if (pair.frozen) return
      const d = this.#shape === null ? 0 : this.#shape.delayMs + (this.#shape.jitterMs ?? 0)
      if (d === 0) end()
      else setTimeout(end, d + 5)
    }
    client.on('close', closeLater)
    server.on('close', closeLater)
    client.on('error', () => {})
    server.on('error', () => {})
  }

  /** Shape every connection (open and new) like a WAN link; null: a plain relay again. */
  shape (s: LinkShape | null): void { this.#shape = s }
  /** Every open connection silently drops all bytes from now on, both ways. */
  freeze (): void { for (const p of this.#pairs) { p.frozen = true; p.up.clear(); p.down.clear() } }
  /** New connections are accepted but frozen from the start (true) or pass (false). */
  blockNew (on: boolean): void { this.#blockNew = on }
  /** Reset every open connection (frozen or not). */
  cut (): void {
    for (const p of this.#pairs) { p.up.clear(); p.down.clear(); reset(p.client); p.server.destroy() }
    this.#pairs.clear()
  }

  close (): Promise<void> {
    this.cut()
    for (const s of this.#sockets) s.destroy()
    this.#sockets.clear()
    return new Promise((resolve) => this.#server.close(() => resolve()))
  }
}

/**
 * RST the client, as a cut link would. Not on a socket whose FIN is already under way
 * (end() called, e.g. by Node on the peer's FIN): libuv refuses to reset a handle with a
 * shutdown pending (uv_tcp_close_reset: EINVAL), the handle is then never closed, and the
 * test process spins at exit in its handle cleanup (seen as a tap "timeout!" after every
 * assertion passed). Such a socket is destroyed plainly.
 */
function reset (s: Socket): void {
  if (s.destroyed) return
  if (s.writableEnded || s.connecting) s.destroy()
  else s.resetAndDestroy()
}

/** A relay on a free loopback port forwarding to 127.0.0.1:targetPort; closed with `t`. */
export async function startRelay (t: Teardown, targetPort: number, shape: LinkShape | null = null): Promise<TcpRelay> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const addr = server.address()
  const relay = new TcpRelay(server, typeof addr === 'object' && addr !== null ? addr.port : 0, targetPort)
  relay.shape(shape)
  t.teardown(() => relay.close())
  return relay
}
