/**
 * Numbers from bytes with memcached's exact acceptance rules (util.c safe_strto*), so
 * the same tokens are accepted and rejected as by memcached 1.6:
 *  - leading C whitespace and one '+' or '-' sign are accepted (strtoul semantics);
 *  - the digits may be followed by nothing or by whitespace (then the rest is ignored);
 *  - out of range (ERANGE) is rejected; a '-' is rejected only when the unsigned
 *    result would be negative as a signed number;
 *  - 32-bit outputs are truncated from the 64-bit parse, as the C assignment does.
 * A plain run of up to 15 digits takes the fast path with no BigInt.
 */
import { isSpace } from './bytes.js'

const U64_MAX = (1n << 64n) - 1n
const I64_MAX = (1n << 63n) - 1n

/** Parses like strtoull/strtoll: returns [ok, negative, magnitude, endIndex]. */
interface Parsed { ok: boolean, neg: boolean, mag: bigint, end: number }
const scratch: Parsed = { ok: false, neg: false, mag: 0n, end: 0 }

function scan (buf: Uint8Array, s: number, e: number, limit: bigint): Parsed {
  const r = scratch
  r.ok = false; r.neg = false; r.mag = 0n
  let i = s
  while (i < e && isSpace(buf[i])) i++
  if (i < e && (buf[i] === 43 || buf[i] === 45)) { r.neg = buf[i] === 45; i++ }
  const ds = i
  let small = 0
  while (i < e && buf[i] >= 48 && buf[i] <= 57 && i - ds < 15) { small = small * 10 + buf[i] - 48; i++ }
  let mag = BigInt(small)
  let overflow = false
  while (i < e && buf[i] >= 48 && buf[i] <= 57) {
    mag = mag * 10n + BigInt(buf[i] - 48)
    if (mag > limit) overflow = true
    i++
  }
  if (i === ds) return r // no digits: str == endptr
  if (overflow) return r // ERANGE
  if (!(i === e || isSpace(buf[i]))) return r
  r.ok = true; r.mag = mag; r.end = i
  return r
}

function hasMinus (buf: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (buf[i] === 45) return true
  return false
}

/** Fast path: the whole range is 1..15 plain digits. Returns -1 otherwise. */
function plainDigits (buf: Uint8Array, s: number, e: number): number {
  const n = e - s
  if (n === 0 || n > 15) return -1
  let v = 0
  for (let i = s; i < e; i++) {
    const d = buf[i] - 48
    if (d < 0 || d > 9) return -1
    v = v * 10 + d
  }
  return v
}

/** safe_strtoull: unsigned 64-bit, or -1n if rejected. */
export function parseU64 (buf: Uint8Array, s: number, e: number): bigint {
  const fast = plainDigits(buf, s, e)
  if (fast >= 0) return BigInt(fast)
  const r = scan(buf, s, e, U64_MAX)
  if (!r.ok) return -1n
  let v = r.mag
  if (r.neg) v = (U64_MAX + 1n - v) & U64_MAX
  if (v > I64_MAX && hasMinus(buf, s, e)) return -1n
  return v
}

/** safe_strtoul: unsigned long parsed, then truncated to 32 bits; -1 if rejected. */
export function parseU32 (buf: Uint8Array, s: number, e: number): number {
  const fast = plainDigits(buf, s, e)
  if (fast >= 0) return fast <= 0xffffffff ? fast : Number(BigInt(fast) & 0xffffffffn)
  const v = parseU64(buf, s, e)
  if (v < 0n) return -1
  return Number(v & 0xffffffffn)
}

/** safe_strtol: signed long parsed, then truncated to int32; NaN if rejected. */
export function parseI32 (buf: Uint8Array, s: number, e: number): number {
  const fast = plainDigits(buf, s, e)
  if (fast >= 0) return fast <= 0x7fffffff ? fast : Number(BigInt.asIntN(32, BigInt(fast)))
  const r = scan(buf, s, e, r64Limit(buf, s, e))
  if (!r.ok) return NaN
  const v = r.neg ? -r.mag : r.mag
  return Number(BigInt.asIntN(32, v))
}

/** strtol accepts down to -2^63 and up to 2^63 - 1. */
function r64Limit (buf: Uint8Array, s: number, e: number): bigint {
  return hasMinus(buf, s, e) ? I64_MAX + 1n : I64_MAX
}

/** Decimal digits of a non-negative integer (< 2^53) into dst at off; returns the new offset. */
export function writeUint (dst: Uint8Array, off: number, n: number): number {
  if (n < 10) { dst[off] = 48 + n; return off + 1 }
  let len = 0
  for (let t = n; t > 0; t = Math.floor(t / 10)) len++
  let i = off + len
  while (n > 0) {
    const q = Math.floor(n / 10)
    dst[--i] = 48 + (n - q * 10)
    n = q
  }
  return off + len
}

/** Number of decimal digits of n (n >= 0, < 2^53). */
export function uintLength (n: number): number {
  let len = 1
  while (n >= 10) { n = Math.floor(n / 10); len++ }
  return len
}
