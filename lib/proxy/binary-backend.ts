// lib/proxy/binary-backend.ts
/**
 * A pipelined binary-protocol connection to a backend, for binary clients. Same
 * contract as the text BackendConnection (backend.ts): a FIFO of requests in flight,
 * a request older than the timeout fails the connection, failures count toward the
 * host's TKO. Framing is the 24-byte header's total body length; a response whose
 * magic is not 0x81 loses framing and fails the connection.
 */
import type { Socket } from 'node:net'
import { dialBackend } from './backend-dial.js'
import { Fifo } from '../client/index.js'
import { WriteBatch } from './write-batch.js'
import { BackendHost, FailReason, Reply, setBinaryConnectionFactory, type BinaryBackendRequest, type BinaryConnectionLike } from './backend.js'
import { SaslLogin } from './backend-auth.js'

const HEADER = 24

class BinaryBackendConnection implements BinaryConnectionLike {
  #host: BackendHost
  #socket: Socket | null = null
  #connected = false
  #inflight = new Fifo<BinaryBackendRequest>()
  #carry: Buffer | null = null
  /** A response packet being assembled across chunks, sized from its header. */
  #packet: Buffer | null = null
  #packetFilled = 0
  #batch = new WriteBatch(() => this.#socket)

  constructor (host: BackendHost) { this.#host = host }

  get pending (): number { return this.#inflight.size }

  send (req: BinaryBackendRequest): void {
    if (this.#socket === null) this.#open()
    req.sentAt = Date.now()
    this.#inflight.push(req)
    this.#batch.push(req.wire)
  }

  #open (): void {
    const h = this.#host
    let timer: NodeJS.Timeout | undefined
    const sock = dialBackend(h.host, h.port, h.tls, () => { clearTimeout(timer); this.#connected = true })
    sock.setNoDelay(true)
    this.#socket = sock
    this.#connected = false
    this.#carry = null
    this.#packet = null
    if (h.login !== null) {
      // The proxy's SASL login goes first (backend-auth.ts).
      const login = new SaslLogin(h.login.binary)
      login.sentAt = Date.now()
      this.#inflight.push(login)
      this.#batch.push(login.wire)
    }
    timer = setTimeout(() => { if (!this.#connected) this.#fail(sock, FailReason.Timeout) }, h.connectTimeoutMs)
    sock.on('data', (b: Buffer) => { if (this.#socket === sock) this.#data(sock, b) })
    sock.on('error', () => this.#fail(sock, FailReason.ConnectionLost))
    sock.on('close', () => { clearTimeout(timer); this.#fail(sock, FailReason.ConnectionLost) })
  }

  #data (sock: Socket, chunk: Buffer): void {
    let buf = chunk
    let off = 0
    if (this.#packet !== null) {
      // A packet whose header said how long it is: fill it, copying each chunk once.
      const p = this.#packet
      const take = Math.min(p.length - this.#packetFilled, chunk.length)
      chunk.copy(p, this.#packetFilled, 0, take)
      this.#packetFilled += take
      if (this.#packetFilled < p.length) return
      this.#packet = null
      if (!this.#deliver(sock, p, 0, p.length)) return
      off = take
    } else if (this.#carry !== null) {
      // Fewer than 24 bytes of a header were carried: join them with this chunk.
      buf = Buffer.concat([this.#carry, chunk])
      this.#carry = null
    }
    while (buf.length - off >= HEADER) {
      if (buf[off] !== 0x81) { this.#fail(sock, FailReason.Protocol); return }
      const total = HEADER + buf.readUInt32BE(off + 8)
      if (buf.length - off < total) {
        this.#packet = Buffer.allocUnsafe(total)
        this.#packetFilled = buf.copy(this.#packet, 0, off)
        return
      }
      if (!this.#deliver(sock, buf, off, off + total)) return
      off += total
    }
    if (off < buf.length) this.#carry = Buffer.from(buf.subarray(off))
  }

  /** Hands one whole response packet to the oldest request; false if the connection failed. */
  #deliver (sock: Socket, buf: Buffer, s: number, e: number): boolean {
    const req = this.#inflight.peek()
    if (req === undefined) { this.#fail(sock, FailReason.Protocol); return false }
    const r = req.onPacket(buf, s, e)
    if (r === Reply.Bad) { this.#fail(sock, FailReason.Protocol); return false }
    if (r === Reply.Done) this.#shift()
    return this.#socket === sock
  }

  #shift (): void {
    this.#inflight.shift()
    this.#host.succeeded()
  }

  checkTimeout (now: number, timeoutMs: number): void {
    if (this.#socket === null || this.#inflight.size === 0) return
    if (now - this.#inflight.peek()!.sentAt > timeoutMs) this.#fail(this.#socket, FailReason.Timeout)
  }

  #fail (sock: Socket, reason: FailReason): void {
    if (this.#socket !== sock) return
    this.#socket = null
    sock.destroy()
    this.#batch.clear()
    const lost = this.#inflight.drain()
    if (lost.length > 0 || reason !== FailReason.ConnectionLost || !this.#connected) this.#host.failed(reason)
    for (const r of lost) r.onFail(reason)
  }

  close (): void { if (this.#socket !== null) this.#fail(this.#socket, FailReason.Down) }
}

setBinaryConnectionFactory((host) => new BinaryBackendConnection(host))
