/**
 * Meta replies (protocol.txt "Meta Get" … "Meta No-Op"): status codes HD VA EN NF NS EX
 * MN ME, the returned flags (" c12", " t-1", " kkey", " Oopaque"), and the exact error
 * lines memcached 1.6.18 sends for meta commands.
 *
 * Writers put bytes into a caller-owned Buffer at `off` and return the new offset; the
 * caller sizes it (metaLineMax() bounds any single reply line). Constant replies are
 * built once at load. No strings on the per-request path.
 */

import { encodeBase64, encodedLength } from './base64.js'
import { FlagError } from './flags.js'

const line = (s: string): Buffer => Buffer.from(s + '\r\n', 'latin1')

/** Whole constant reply lines. */
export const Reply = {
  HD: line('HD'),
  EN: line('EN'),
  NF: line('NF'),
  NS: line('NS'),
  EX: line('EX'),
  MN: line('MN'),
  ERROR: line('ERROR'),
} as const

/** Two-byte status codes, for lines that carry flags after the code. */
export const Code = {
  HD: 0x4844, // 'H' 'D'
  VA: 0x5641,
  EN: 0x454e,
  NF: 0x4e46,
  NS: 0x4e53,
  EX: 0x4558,
  ME: 0x4d45,
} as const
export type Code = (typeof Code)[keyof typeof Code]

/** Error lines, worded exactly as memcached 1.6.18 words them for meta commands. */
export const MetaError = {
  badFormat: line('CLIENT_ERROR bad command line format'),
  duplicateFlag: line('CLIENT_ERROR duplicate flag'),
  invalidFlag: line('CLIENT_ERROR invalid flag'),
  decodingKey: line('CLIENT_ERROR error decoding key'),
  badToken: line('CLIENT_ERROR bad token in command line format'),
  mTokenLength: line('CLIENT_ERROR incorrect length for M token'),
  initialValue: line('CLIENT_ERROR invalid numeric initial value'),
  deltaValue: line('CLIENT_ERROR invalid numeric delta value'),
  /** mg's wording for more than OPT_MAX_TOKENS tokens. */
  mgTooManyFlags: line('CLIENT_ERROR options flags are too long'),
  /** ms, md and ma word the same limit differently. */
  tooManyFlags: line('CLIENT_ERROR options flags too long'),
  opaqueTooLong: line('CLIENT_ERROR opaque token too long'),
  msMode: line('CLIENT_ERROR invalid mode for ms M token'),
  maMode: line('CLIENT_ERROR invalid mode for ma M token'),
  /** md and ma replace every preparse message with this one. */
  invalidOrDuplicate: line('CLIENT_ERROR invalid or duplicate flag'),
  nonNumeric: line('CLIENT_ERROR cannot increment or decrement non-numeric value'),
  badDataChunk: line('CLIENT_ERROR bad data chunk'),
  tooLarge: line('SERVER_ERROR object too large for cache'),
  noMemoryStoring: line('SERVER_ERROR out of memory storing object'),
  noMemory: line('SERVER_ERROR out of memory'),
  noMemoryVivify: line('SERVER_ERROR Out of memory allocating new item'),
} as const

/** The error line mg and ms send for a preparse failure. */
export function flagErrorLine (e: FlagError): Buffer {
  switch (e) {
    case FlagError.Duplicate: return MetaError.duplicateFlag
    case FlagError.Invalid: return MetaError.invalidFlag
    case FlagError.DecodingKey: return MetaError.decodingKey
    case FlagError.BadToken: return MetaError.badToken
    case FlagError.MTokenLength: return MetaError.mTokenLength
    case FlagError.InitialValue: return MetaError.initialValue
    case FlagError.DeltaValue: return MetaError.deltaValue
    default: return MetaError.badFormat
  }
}

/**
 * Upper bound of one meta reply line for a key of nkey bytes: code, VA size, a base64
 * key and its " b", the opaque and every numeric flag, CRLF. Value bytes not included.
 */
export function metaLineMax (nkey: number): number {
  return 64 + encodedLength(nkey) + 4 + 34 + 16 * 24
}

/** Writes a two-byte status code. */
export function writeCode (buf: Buffer, off: number, code: Code): number {
  buf[off] = code >> 8
  buf[off + 1] = code & 0xff
  return off + 2
}

/** "VA <size>" */
export function writeVa (buf: Buffer, off: number, size: number): number {
  buf[off] = 0x56; buf[off + 1] = 0x41; buf[off + 2] = 0x20
  return writeUint(buf, off + 3, size)
}

/** " <letter><n>" for a non-negative integer below 2^53. */
export function writeFlagUint (buf: Buffer, off: number, letter: number, n: number): number {
  buf[off] = 0x20
  buf[off + 1] = letter
  return writeUint(buf, off + 2, n)
}

/** " <letter>" alone (W, X, Z, and the b after a base64 key). */
export function writeFlagChar (buf: Buffer, off: number, letter: number): number {
  buf[off] = 0x20
  buf[off + 1] = letter
  return off + 2
}

/** " " followed by a request token copied as is (the O opaque echo). */
export function writeToken (buf: Buffer, off: number, src: Uint8Array, s: number, e: number): number {
  buf[off++] = 0x20
  for (let i = s; i < e; i++) buf[off++] = src[i]
  return off
}

/**
 * " k<key>", or " k<base64 key> b" for a binary key (protocol.txt "Meta Get", b flag:
 * a returned key stays base64 and the b says so).
 */
export function writeKeyFlag (buf: Buffer, off: number, key: Uint8Array, s: number, e: number, binary: boolean): number {
  buf[off++] = 0x20
  buf[off++] = 0x6b // k
  if (!binary) {
    for (let i = s; i < e; i++) buf[off++] = key[i]
    return off
  }
  off = encodeBase64(key, s, e, buf, off)
  buf[off++] = 0x20
  buf[off++] = 0x62 // b
  return off
}

export function writeCrlf (buf: Buffer, off: number): number {
  buf[off] = 13
  buf[off + 1] = 10
  return off + 2
}

/** ASCII bytes of a latin-1 string (for rare, non-hot text such as me's field names). */
export function writeAscii (buf: Buffer, off: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[off++] = s.charCodeAt(i)
  return off
}

/** Decimal digits of a non-negative integer below 2^53, with a digit loop. */
export function writeUint (buf: Buffer, off: number, n: number): number {
  if (n < 10) { buf[off] = 48 + n; return off + 1 }
  let len = 1
  for (let t = n; t >= 10; t = Math.floor(t / 10)) len++
  let p = off + len
  let t = n
  while (p > off) {
    const q = Math.floor(t / 10)
    buf[--p] = 48 + (t - q * 10)
    t = q
  }
  return off + len
}

/** Decimal digits of a signed integer (me's exp field can be negative). */
export function writeInt (buf: Buffer, off: number, n: number): number {
  if (n < 0) { buf[off] = 45; return writeUint(buf, off + 1, -n) }
  return writeUint(buf, off, n)
}

/** Decimal digits of a uint64 held in a bigint (ma values). */
export function writeU64 (buf: Buffer, off: number, n: bigint): number {
  if (n < 9007199254740992n) return writeUint(buf, off, Number(n))
  const hi = n / 10000000000n
  const lo = Number(n - hi * 10000000000n)
  off = writeU64(buf, off, hi)
  // ten zero-padded digits of the low part
  let p = off + 10
  let t = lo
  while (p > off) { const q = Math.floor(t / 10); buf[--p] = 48 + (t - q * 10); t = q }
  return off + 10
}

/** Number of decimal digits writeU64 would write. */
export function u64Length (n: bigint): number {
  if (n < 10n) return 1
  let len = 0
  for (let t = n; t > 0n; t /= 10n) len++
  return len
}
