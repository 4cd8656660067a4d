// lib/proxy/write-batch.ts
/**
 * Requests from every client socket readable in one loop iteration leave a backend in one
 * write: queued here and flushed after the I/O phase (setImmediate), not per client chunk.
 * Small requests are joined into one buffer (one write() of a buffer costs less than a
 * writev of many tiny ones); more than 64 KiB goes out corked as it is.
 * Shared by the text and binary backend connections.
 */
import type { Socket } from 'node:net'

const JOIN_MAX = 64 * 1024

export class WriteBatch {
  #scheduled = false
  #bufs: Buffer[] = []
  #bytes = 0

  /** `socket()` names the connection's current socket (null once it failed). */
  constructor (private readonly socket: () => Socket | null) {}

  push (b: Buffer): void {
    this.#bufs.push(b)
    this.#bytes += b.length
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(this.#flush)
    }
  }

  /** Drops what is queued (the connection failed). */
  clear (): void {
    this.#bufs = []
    this.#bytes = 0
  }

  #flush = (): void => {
    this.#scheduled = false
    const bufs = this.#bufs
    const n = this.#bytes
    this.clear()
    const sock = this.socket()
    if (sock === null || bufs.length === 0) return
    if (bufs.length === 1) sock.write(bufs[0]!)
    else if (n <= JOIN_MAX) sock.write(Buffer.concat(bufs, n))
    else { sock.cork(); for (const b of bufs) sock.write(b); sock.uncork() }
  }
}
