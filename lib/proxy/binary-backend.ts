// lib/proxy/binary-backend.ts
/**
 * A pipelined binary-protocol connection to a backend, for binary clients. Same
 * contract as the text BackendConnection (backend.ts): a FIFO of requests in flight,
 * a request older than the timeout fails the connection, failures count toward the
 * host's TKO. Framing is the 24-byte header's total body length; a response whose
 * magic is not 0x81 loses framing and fails the connection.
 */
import { connect, type Socket } from 'node:net'
import { BackendHost, FailReason, Reply, setBinaryConnectionFactory, type BinaryBackendRequest, type BinaryConnectionLike } from './backend.js'

const HEADER = 24

class BinaryBackendConnection implements BinaryConnectionLike {
  #host: BackendHost
  #socket: Socket | null = null
  #connected = false
  #inflight: BinaryBackendRequest[] = []
  #head = 0
  #carry: Buffer | null = null
  #corked = false
  #batch: Buffer[] = []
  #batchBytes = 0
  #flushBatch = (): void => {
    this.#corked = false
    const batch = this.#batch
    const n = this.#batchBytes
    this.#batch = []
    this.#batchBytes = 0
    const sock = this.#socket
    if (sock === null || batch.length === 0) return
    if (batch.length === 1) sock.write(batch[0]!)
    else if (n <= 64 * 1024) sock.write(Buffer.concat(batch, n))
    else { sock.cork(); for (const b of batch) sock.write(b); sock.uncork() }
  }

  constructor (host: BackendHost) { this.#host = host }

  send (req: BinaryBackendRequest): void {
    if (this.#socket === null) this.#open()
    req.sentAt = Date.now()
    this.#inflight.push(req)
    // One write per loop iteration, as the text connection does (backend.ts).
    this.#batch.push(req.wire)
    this.#batchBytes += req.wire.length
    if (!this.#corked) {
      this.#corked = true
      setImmediate(this.#flushBatch)
    }
  }

  #open (): void {
    const h = this.#host
    const sock = connect({ host: h.host, port: h.port })
    sock.setNoDelay(true)
    this.#socket = sock
    this.#connected = false
    this.#carry = null
    const timer = setTimeout(() => { if (!this.#connected) this.#fail(sock, FailReason.Timeout) }, h.connectTimeoutMs)
    sock.once('connect', () => { clearTimeout(timer); this.#connected = true })
    sock.on('data', (b: Buffer) => { if (this.#socket === sock) this.#data(sock, b) })
    sock.on('error', () => this.#fail(sock, FailReason.ConnectionLost))
    sock.on('close', () => { clearTimeout(timer); this.#fail(sock, FailReason.ConnectionLost) })
  }

  #data (sock: Socket, chunk: Buffer): void {
    const buf = this.#carry === null ? chunk : Buffer.concat([this.#carry, chunk])
    this.#carry = null
    let off = 0
    while (buf.length - off >= HEADER) {
      if (buf[off] !== 0x81) { this.#fail(sock, FailReason.Protocol); return }
      const total = HEADER + buf.readUInt32BE(off + 8)
      if (buf.length - off < total) break
      const req = this.#inflight[this.#head]
      if (req === undefined) { this.#fail(sock, FailReason.Protocol); return }
      const r = req.onPacket(buf, off, off + total)
      if (r === Reply.Bad) { this.#fail(sock, FailReason.Protocol); return }
      if (r === Reply.Done) this.#shift()
      off += total
      if (this.#socket !== sock) return
    }
    if (off < buf.length) this.#carry = Buffer.from(buf.subarray(off))
  }

  #shift (): void {
    this.#inflight[this.#head] = undefined as unknown as BinaryBackendRequest
    this.#head++
    if (this.#head === this.#inflight.length) { this.#inflight.length = 0; this.#head = 0 } else if (this.#head > 1024 && this.#head * 2 > this.#inflight.length) {
      this.#inflight = this.#inflight.slice(this.#head)
      this.#head = 0
    }
    this.#host.succeeded()
  }

  checkTimeout (now: number, timeoutMs: number): void {
    if (this.#socket === null || this.#inflight.length - this.#head === 0) return
    if (now - this.#inflight[this.#head]!.sentAt > timeoutMs) this.#fail(this.#socket, FailReason.Timeout)
  }

  #fail (sock: Socket, reason: FailReason): void {
    if (this.#socket !== sock) return
    this.#socket = null
    sock.destroy()
    this.#batch = []
    this.#batchBytes = 0
    const lost = this.#inflight
    const head = this.#head
    this.#inflight = []
    this.#head = 0
    if (lost.length - head > 0 || reason !== FailReason.ConnectionLost || !this.#connected) this.#host.failed(reason)
    for (let i = head; i < lost.length; i++) lost[i]!.onFail(reason)
  }

  close (): void { if (this.#socket !== null) this.#fail(this.#socket, FailReason.Down) }
}

setBinaryConnectionFactory((host) => new BinaryBackendConnection(host))
