/**
 * The 24-byte packet header of the binary protocol (protocol-binary.txt "Packet
 * Structure", memcached's protocol_binary.h): layout, magic bytes and the reader and
 * writer for it. Every multi-byte field is big-endian.
 *
 *   byte  0      1       2..3     4       5         6..7             8..11    12..15  16..23
 *        magic  opcode  keylen   extlen  datatype  vbucket|status   bodylen  opaque  cas
 */

export const HEADER_LEN = 24
export const MAGIC_REQUEST = 0x80
export const MAGIC_RESPONSE = 0x81
/** The only datatype defined (PROTOCOL_BINARY_RAW_BYTES). */
export const RAW_BYTES = 0x00

/** Field offsets inside the header. */
export const Off = {
  magic: 0,
  opcode: 1,
  keylen: 2,
  extlen: 4,
  datatype: 5,
  /** vbucket id in requests, status in responses. */
  status: 6,
  bodylen: 8,
  opaque: 12,
  cas: 16,
} as const

const TWO_32 = 4294967296

/**
 * Reads the 64-bit CAS at buf[off, off + 8) as a number. Values we hand out stay below
 * 2^53 and come back exactly; a larger value loses low bits but stays >= 2^53, so it can
 * never equal a CAS we issued and stays non-zero: the comparisons memcached makes
 * (zero or not, equal or not) give the same answers.
 */
export function readCas (buf: Uint8Array, off: number): number {
  return u32(buf, off) * TWO_32 + u32(buf, off + 4)
}

/** Writes a CAS number (an integer below 2^53) as 64 bits big-endian. */
export function writeCas (buf: Uint8Array, off: number, cas: number): void {
  const hi = Math.floor(cas / TWO_32)
  writeU32(buf, off, hi)
  writeU32(buf, off + 4, cas - hi * TWO_32)
}

export function u16 (buf: Uint8Array, off: number): number {
  return (buf[off] << 8) | buf[off + 1]
}

export function u32 (buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) >>> 0) + ((buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3])
}

export function writeU16 (buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 8) & 0xff
  buf[off + 1] = v & 0xff
}

export function writeU32 (buf: Uint8Array, off: number, v: number): void {
  buf[off] = (v >>> 24) & 0xff
  buf[off + 1] = (v >>> 16) & 0xff
  buf[off + 2] = (v >>> 8) & 0xff
  buf[off + 3] = v & 0xff
}

/** Writes one whole header at buf[off, off + 24) and returns off + 24. */
export function writeHeader (
  buf: Uint8Array, off: number, magic: number, opcode: number, keylen: number, extlen: number,
  statusOrVbucket: number, bodylen: number, opaque: number, cas: number,
): number {
  buf[off] = magic
  buf[off + 1] = opcode
  writeU16(buf, off + 2, keylen)
  buf[off + 4] = extlen
  buf[off + 5] = RAW_BYTES
  writeU16(buf, off + 6, statusOrVbucket)
  writeU32(buf, off + 8, bodylen)
  writeU32(buf, off + 12, opaque)
  writeCas(buf, off + 16, cas)
  return off + HEADER_LEN
}
