/**
 * Server-side response packets (protocol-binary.txt "Response header" and the per-command
 * sections), laid out as memcached 1.6.18 sends them:
 *  - the header echoes the request's opcode as sent (GETQ stays 0x09) and its opaque;
 *  - datatype is always 0; CAS is 0 unless the command produced or read an item;
 *  - errors carry a text body and no extras or key (write_bin_error); a GETK/GATK miss
 *    carries the key instead of text (write_bin_miss_response).
 *
 * Writers put bytes into a caller-owned Buffer at `off` and return the new offset; the
 * *Length helpers size it first. No strings are made per response.
 */
import { HEADER_LEN, MAGIC_RESPONSE, writeHeader, writeU32 } from './header.js'
import { ErrorBody, Status } from './status.js'

/** Header only: success with no body (SET, DELETE, NOOP, FLUSH, QUIT ...). */
export function writeResponseHeader (
  buf: Uint8Array, off: number, opcode: number, status: number, keylen: number, extlen: number,
  bodylen: number, opaque: number, cas: number,
): number {
  return writeHeader(buf, off, MAGIC_RESPONSE, opcode, keylen, extlen, status, bodylen, opaque, cas)
}

/** Bytes an error reply takes (default text for the status unless `body` is given). */
export function errorLength (status: number, body?: Uint8Array): number {
  return HEADER_LEN + (body ?? ErrorBody[status] ?? EMPTY).length
}

const EMPTY = new Uint8Array(0)

/** An error reply: status, no extras, no key, the text body, CAS 0. */
export function writeError (
  buf: Uint8Array, off: number, opcode: number, status: number, opaque: number, body?: Uint8Array,
): number {
  const text = body ?? ErrorBody[status] ?? EMPTY
  off = writeHeader(buf, off, MAGIC_RESPONSE, opcode, 0, 0, status, text.length, opaque, 0)
  buf.set(text, off)
  return off + text.length
}

/** A success reply whose body is `body` (VERSION, SASL mechanisms, "Authenticated"). */
export function writeBodyResponse (
  buf: Uint8Array, off: number, opcode: number, status: number, opaque: number, body: Uint8Array,
): number {
  off = writeHeader(buf, off, MAGIC_RESPONSE, opcode, 0, 0, status, body.length, opaque, 0)
  buf.set(body, off)
  return off + body.length
}

/**
 * The header and 4-byte flags of a GET/GAT/TOUCH hit. The caller then writes `keylen`
 * key bytes (GETK, GATK) and `valueLength` value bytes (0 for TOUCH).
 */
export function writeItemHeader (
  buf: Uint8Array, off: number, opcode: number, opaque: number, cas: number, flags: number,
  keylen: number, valueLength: number,
): number {
  off = writeHeader(buf, off, MAGIC_RESPONSE, opcode, keylen, 4, Status.SUCCESS,
    4 + keylen + valueLength, opaque, cas)
  writeU32(buf, off, flags)
  return off + 4
}

/** Bytes writeItemHeader writes. */
export const ITEM_HEADER_LEN = HEADER_LEN + 4

/** A GETK/GATK miss: KEY_ENOENT with the key as both key and body, no text. */
export function writeKeyMiss (
  buf: Uint8Array, off: number, opcode: number, opaque: number, key: Uint8Array, ks: number, ke: number,
): number {
  const n = ke - ks
  off = writeHeader(buf, off, MAGIC_RESPONSE, opcode, n, 0, Status.KEY_ENOENT, n, opaque, 0)
  buf.set(key.subarray(ks, ke), off)
  return off + n
}

/** INCREMENT/DECREMENT success: the new 64-bit value as the body. */
export function writeCounter (
  buf: Uint8Array, off: number, opcode: number, opaque: number, cas: number, value: bigint,
): number {
  off = writeHeader(buf, off, MAGIC_RESPONSE, opcode, 0, 0, Status.SUCCESS, 8, opaque, cas)
  const hi = Number(value >> 32n)
  writeU32(buf, off, hi)
  writeU32(buf, off + 4, Number(value & 0xffffffffn))
  return off + 8
}

/** One STAT packet: key = stat name, body = value; name and value are latin1 text. */
export function statLength (name: string, value: string): number {
  return HEADER_LEN + name.length + value.length
}

export function writeStat (
  buf: Uint8Array, off: number, opaque: number, name: string, value: string,
): number {
  const nk = name.length
  const nv = value.length
  off = writeHeader(buf, off, MAGIC_RESPONSE, 0x10, nk, 0, Status.SUCCESS, nk + nv, opaque, 0)
  for (let i = 0; i < nk; i++) buf[off + i] = name.charCodeAt(i)
  off += nk
  for (let i = 0; i < nv; i++) buf[off + i] = value.charCodeAt(i)
  return off + nv
}

/** The empty STAT packet that ends a stats listing. */
export function writeStatEnd (buf: Uint8Array, off: number, opaque: number): number {
  return writeHeader(buf, off, MAGIC_RESPONSE, 0x10, 0, 0, Status.SUCCESS, 0, opaque, 0)
}
