/**
 * Meta flags (protocol.txt "Meta Commands"): single letters, some followed by a token
 * ("T30", "Oabc"), turned into two bitmasks plus the token offsets, in one pass.
 *
 * Why two masks: memcached ORs `1 << (c - 65)` into one 64-bit word. JavaScript bit
 * operators are 32-bit, so `1 << 57` ('z') would equal `1 << 25` ('Z'). Upper-case
 * letters live in `upper` and lower-case in `lower`, 26 bits each; "has v" is one AND.
 *
 * preparseMetaFlags() is memcached's _meta_flag_preparse restated: it walks the flag
 * tokens in order, rejects an unknown first byte or a repeated letter at once, reads the
 * numeric tokens with C rules (c-numbers.ts), records a value error and keeps going (the
 * last error message wins), and base64-decodes the key when it meets `b`. The caller
 * then acts on the flags in their request order, which memcached's replies depend on.
 *
 * Ownership: offsets point into the caller's line buffer, valid while that line is.
 * A decoded `b` key is written into this object's own `keyScratch`, never into the line.
 */

import { cStrtol32, cStrtoul32, cStrtoull, cStrtoullNumber } from './c-numbers.js'
import { decodeBase64 } from './base64.js'

/** Bit of an upper-case letter ('A'..'Z') in `upper`, or 0 for any other byte. */
export function upperBit (c: number): number {
  return c >= 65 && c <= 90 ? 1 << (c - 65) : 0
}
/** Bit of a lower-case letter ('a'..'z') in `lower`, or 0 for any other byte. */
export function lowerBit (c: number): number {
  return c >= 97 && c <= 122 ? 1 << (c - 97) : 0
}

const u = (ch: string): number => upperBit(ch.charCodeAt(0))
const l = (ch: string): number => lowerBit(ch.charCodeAt(0))

/** Upper-case flag bits, for `flags.upper & U.X`. */
export const U = {
  C: u('C'), D: u('D'), E: u('E'), F: u('F'), I: u('I'), J: u('J'), L: u('L'), M: u('M'),
  N: u('N'), O: u('O'), P: u('P'), R: u('R'), T: u('T'),
} as const
/** Lower-case flag bits, for `flags.lower & Lo.x`. */
export const Lo = {
  b: l('b'), c: l('c'), f: l('f'), h: l('h'), k: l('k'), l: l('l'), q: l('q'),
  s: l('s'), t: l('t'), u: l('u'), v: l('v'), x: l('x'),
} as const

/** Letters memcached 1.6.18's preparse knows (any command); others are "invalid flag". */
const KNOWN_UPPER = U.C | U.D | U.F | U.I | U.J | U.L | U.M | U.N | U.O | U.P | U.R | U.T
const KNOWN_LOWER = Lo.b | Lo.c | Lo.f | Lo.h | Lo.k | Lo.l | Lo.q | Lo.s | Lo.t | Lo.u | Lo.v
/**
 * What memcached 1.6.27 added to its preparse, known only with `-o meta_e`: E(token), an
 * explicit new CAS (ms md ma, and mg when N creates the item), and x (md: keep the item,
 * drop its value). Any command accepts both; those that do not use them ignore them.
 */
const NEWER_UPPER = U.E
const NEWER_LOWER = Lo.x

/** The largest E token memring can keep: CAS values are doubles in the store (README). */
export const EXPLICIT_CAS_MAX = Number.MAX_SAFE_INTEGER

/** Why preparse failed. The reply text for each is in response-encoder.ts MetaError. */
export const FlagError = {
  None: 0,
  /** A default message chosen by the command ("bad command line format"), as for a bad F. */
  Default: 1,
  Duplicate: 2,
  Invalid: 3,
  DecodingKey: 4,
  BadToken: 5,
  MTokenLength: 6,
  InitialValue: 7,
  DeltaValue: 8,
} as const
export type FlagError = (typeof FlagError)[keyof typeof FlagError]

/** memcached's MFLAG_MAX_OPAQUE_LENGTH: an O token, 'O' included, may be this long. */
export const OPAQUE_MAX_LENGTH = 32
/** memcached's MFLAG_MAX_OPT_LENGTH, compared with its token count (command, key, any
 *  datalen, flags, plus one terminal token). */
export const OPT_MAX_TOKENS = 20
/** memcached's REALTIME_MAXDELTA + 1: where a negative TTL token lands (already expired). */
export const NEGATIVE_EXPTIME = 60 * 60 * 24 * 30 + 1

/**
 * The flags of one meta request, reused for every request (reset() by preparse).
 * Values are only meaningful when their letter's bit is set.
 */
export class MetaFlags {
  upper = 0
  lower = 0
  /** Flag token offsets in request order: flag i is line[starts[i], ends[i]). */
  readonly starts = new Int32Array(32)
  readonly ends = new Int32Array(32)
  count = 0

  /** The key to look up: the line's key token, or keyScratch after a `b` decode. */
  key: Uint8Array = EMPTY
  keyStart = 0
  keyEnd = 0
  keyBinary = false
  readonly keyScratch = new Uint8Array(256)

  /** Wire exptimes after memcached's negative → REALTIME_MAXDELTA + 1 step (T, N, R). */
  ttl = 0
  vivifyTtl = 0
  recacheTtl = 0
  /** F: client flags (uint32). */
  clientFlags = 0
  /** C: compare-CAS value (see cStrtoullNumber); meaningful when U.C is set. */
  compareCas = 0
  /** E: the new CAS value (at most EXPLICIT_CAS_MAX); meaningful when U.E is set. */
  newCas = 0
  /** D (default 1) and J (default 0) for ma. */
  delta = 1n
  initial = 0n
  /** M: the mode byte, 0 when absent. */
  mode = 0
  /** Which error preparse hit (FlagError.None when it succeeded). */
  error: FlagError = FlagError.None

  reset (): void {
    this.upper = 0
    this.lower = 0
    this.count = 0
    this.key = EMPTY
    this.keyStart = 0
    this.keyEnd = 0
    this.keyBinary = false
    this.ttl = 0
    this.vivifyTtl = 0
    this.recacheTtl = 0
    this.clientFlags = 0
    this.compareCas = 0
    this.newCas = 0
    this.delta = 1n
    this.initial = 0n
    this.mode = 0
    this.error = FlagError.None
  }

  has (upperBits: number, lowerBits: number): boolean {
    return (this.upper & upperBits) !== 0 || (this.lower & lowerBits) !== 0
  }
}

const EMPTY = new Uint8Array(0)

/**
 * Parses the flag tokens tokens[first .. count) of a meta line held in `line`, with
 * the key in line[ks, ke). Fills `out` and returns FlagError.None, or the error that
 * memcached would report (also left in out.error). Never throws on client input.
 * `newer` (-o meta_e) also knows memcached 1.6.27's E and x; without it they are invalid
 * flags, as in 1.6.18.
 */
export function preparseMetaFlags (
  line: Uint8Array, ks: number, ke: number,
  starts: ArrayLike<number>, ends: ArrayLike<number>, first: number, count: number,
  out: MetaFlags, newer = false,
): FlagError {
  const knownUpper = newer ? KNOWN_UPPER | NEWER_UPPER : KNOWN_UPPER
  const knownLower = newer ? KNOWN_LOWER | NEWER_LOWER : KNOWN_LOWER
  out.reset()
  out.key = line
  out.keyStart = ks
  out.keyEnd = ke
  let err: FlagError = FlagError.None
  let failed = false
  for (let i = first; i < count; i++) {
    const s = starts[i]
    const e = ends[i]
    const c = line[s]
    const ub = upperBit(c)
    const lb = lowerBit(c)
    // memcached checks "seen before" ahead of "known", and treats bytes >= 127 as repeats.
    if (c >= 127 || (out.upper & ub) !== 0 || (out.lower & lb) !== 0) return fail(out, FlagError.Duplicate)
    if ((ub & knownUpper) === 0 && (lb & knownLower) === 0) return fail(out, FlagError.Invalid)
    out.upper |= ub
    out.lower |= lb
    if (out.count < out.starts.length) {
      out.starts[out.count] = s
      out.ends[out.count] = e
      out.count++
    }
    switch (c) {
      case 98: { // b
        const n = decodeBase64(line, ks, ke, out.keyScratch, 0)
        if (n === 0) { err = FlagError.DecodingKey; failed = true }
        out.key = out.keyScratch
        out.keyStart = 0
        out.keyEnd = n
        out.keyBinary = true
        break
      }
      case 78: case 84: case 82: { // N T R
        const v = cStrtol32(line, s + 1, e)
        if (Number.isNaN(v)) { err = FlagError.BadToken; failed = true; break }
        const ttl = v < 0 ? NEGATIVE_EXPTIME : v
        if (c === 78) out.vivifyTtl = ttl
        else if (c === 84) out.ttl = ttl
        else out.recacheTtl = ttl
        break
      }
      case 70: { // F
        const v = cStrtoul32(line, s + 1, e)
        if (Number.isNaN(v)) failed = true // memcached sets no message here
        else out.clientFlags = v
        break
      }
      case 67: { // C
        const v = cStrtoullNumber(line, s + 1, e)
        if (v < 0) { err = FlagError.BadToken; failed = true; out.upper &= ~U.C } else out.compareCas = v
        break
      }
      case 69: { // E (newer only): memcached reads it as C's token; memring also refuses
        // values above EXPLICIT_CAS_MAX, which a double cannot hold exactly.
        const v = cStrtoullNumber(line, s + 1, e)
        if (v < 0 || v > EXPLICIT_CAS_MAX) { err = FlagError.BadToken; failed = true; out.upper &= ~U.E } else out.newCas = v
        break
      }
      case 77: // M
        if (e - s !== 2) { err = FlagError.MTokenLength; failed = true } else out.mode = line[s + 1]
        break
      case 74: { // J
        const v = cStrtoull(line, s + 1, e)
        if (v < 0n) { err = FlagError.InitialValue; failed = true } else out.initial = v
        break
      }
      case 68: { // D
        const v = cStrtoull(line, s + 1, e)
        if (v < 0n) { err = FlagError.DeltaValue; failed = true } else out.delta = v
        break
      }
      default:
        break
    }
  }
  if (!failed) return FlagError.None
  return fail(out, err === FlagError.None ? FlagError.Default : err)
}

function fail (out: MetaFlags, e: FlagError): FlagError {
  out.error = e
  return e
}
