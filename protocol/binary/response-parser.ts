/**
 * Client-side response framing: a resumable state machine that turns socket chunks into
 * whole response packets. Used by tests and tools, so it favours clarity: every packet is
 * copied out, and the parser never throws on a short read.
 */
import { HEADER_LEN, Off, readCas, u16, u32 } from './header.js'

export interface BinaryResponse {
  magic: number
  opcode: number
  keylen: number
  extlen: number
  datatype: number
  status: number
  bodylen: number
  opaque: number
  cas: number
  extras: Buffer
  key: Buffer
  value: Buffer
  /** The whole packet as received (header and body). */
  raw: Buffer
}

export class BinaryResponseParser {
  private pending: Buffer[] = []
  private pendingBytes = 0

  constructor (private readonly onResponse: (res: BinaryResponse) => void) {}

  /** Bytes received but not yet part of a whole packet. */
  get buffered (): number { return this.pendingBytes }

  push (chunk: Buffer): void {
    this.pending.push(chunk)
    this.pendingBytes += chunk.length
    if (this.pendingBytes < HEADER_LEN) return
    const first = this.pending[0]
    if (this.pending.length > 1 && first.length >= HEADER_LEN &&
      this.pendingBytes < HEADER_LEN + u32(first, Off.bodylen)) return // wait: one concat per packet
    let buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending)
    let off = 0
    while (buf.length - off >= HEADER_LEN) {
      const bodylen = u32(buf, off + Off.bodylen)
      const size = HEADER_LEN + bodylen
      if (buf.length - off < size) break
      this.onResponse(decode(Buffer.from(buf.subarray(off, off + size))))
      off += size
    }
    buf = buf.subarray(off)
    this.pending = buf.length > 0 ? [buf] : []
    this.pendingBytes = buf.length
  }
}

/** Decodes one whole packet (the buffer is kept, not copied). */
export function decode (raw: Buffer): BinaryResponse {
  const keylen = u16(raw, Off.keylen)
  const extlen = raw[Off.extlen]
  const bodylen = u32(raw, Off.bodylen)
  const ks = HEADER_LEN + extlen
  return {
    magic: raw[Off.magic],
    opcode: raw[Off.opcode],
    keylen,
    extlen,
    datatype: raw[Off.datatype],
    status: u16(raw, Off.status),
    bodylen,
    opaque: u32(raw, Off.opaque),
    cas: readCas(raw, Off.cas),
    extras: raw.subarray(HEADER_LEN, ks),
    key: raw.subarray(ks, ks + keylen),
    value: raw.subarray(ks + keylen, HEADER_LEN + bodylen),
    raw,
  }
}
