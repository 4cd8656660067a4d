/**
 * Floating-point tokens the way memcached 1.6.18 reads and prints them: util.c
 * safe_strtod (glibc strtod in the C locale, then "the rest is whitespace or nothing")
 * and printf's "%.2f". Used by `lru tune` and `stats settings`; not on any request hot path.
 *
 * strtod accepts, after C whitespace and one sign: decimal digits with an optional '.'
 * and an exponent (taken only when digits follow the 'e'), hexadecimal "0x" mantissas
 * with an optional 'p' exponent, "inf"/"infinity" and "nan"/"nan(chars)", all case
 * insensitive. A result that overflows, or underflows to zero or a subnormal, sets ERANGE
 * and safe_strtod refuses it (measured on 1.6.18: 1e400, 1e-400 and 1e-310 are refused).
 */
import { isSpace } from './bytes.js'

const MIN_NORMAL = 2.2250738585072014e-308

function lower (b: number): number { return b >= 65 && b <= 90 ? b + 32 : b }

function matchWord (buf: Uint8Array, i: number, e: number, w: string): boolean {
  if (e - i < w.length) return false
  for (let k = 0; k < w.length; k++) if (lower(buf[i + k]) !== w.charCodeAt(k)) return false
  return true
}

function hexDigit (b: number): number {
  if (b >= 48 && b <= 57) return b - 48
  const l = lower(b)
  return l >= 97 && l <= 102 ? l - 87 : -1
}

const result = { value: 0, end: 0, neg: false }

/** glibc strtod over buf[s, e): sets result.value / result.end; false if nothing parsed or ERANGE. */
function strtod (buf: Uint8Array, s: number, e: number): boolean {
  let i = s
  while (i < e && isSpace(buf[i])) i++
  let neg = false
  if (i < e && (buf[i] === 43 || buf[i] === 45)) { neg = buf[i] === 45; i++ }
  const sign = neg ? -1 : 1
  result.neg = neg
  if (matchWord(buf, i, e, 'inf')) {
    result.value = sign * Infinity
    result.end = matchWord(buf, i, e, 'infinity') ? i + 8 : i + 3
    return true
  }
  if (matchWord(buf, i, e, 'nan')) {
    let j = i + 3
    if (j < e && buf[j] === 40) { // "nan(" n-char-sequence ")"
      let k = j + 1
      while (k < e && (buf[k] === 95 || (lower(buf[k]) >= 97 && lower(buf[k]) <= 122) || (buf[k] >= 48 && buf[k] <= 57))) k++
      if (k < e && buf[k] === 41) j = k + 1
    }
    result.value = NaN
    result.end = j
    return true
  }
  if (i + 1 < e && buf[i] === 48 && lower(buf[i + 1]) === 120 && hexStart(buf, i + 2, e)) {
    return hex(buf, i + 2, e, sign)
  }
  const ds = i
  let digits = 0
  while (i < e && buf[i] >= 48 && buf[i] <= 57) { i++; digits++ }
  if (i < e && buf[i] === 46) { i++; while (i < e && buf[i] >= 48 && buf[i] <= 57) { i++; digits++ } }
  if (digits === 0) return false
  let nonzero = false
  for (let k = ds; k < i; k++) if (buf[k] >= 49 && buf[k] <= 57) { nonzero = true; break }
  if (i < e && lower(buf[i]) === 101) {
    let j = i + 1
    if (j < e && (buf[j] === 43 || buf[j] === 45)) j++
    if (j < e && buf[j] >= 48 && buf[j] <= 57) {
      while (j < e && buf[j] >= 48 && buf[j] <= 57) j++
      i = j
    }
  }
  let text = ''
  for (let k = ds; k < i; k++) text += String.fromCharCode(buf[k])
  const v = Number(text)
  result.end = i
  return finish(sign * v, nonzero)
}

function hexStart (buf: Uint8Array, i: number, e: number): boolean {
  if (i < e && hexDigit(buf[i]) >= 0) return true
  return i + 1 < e && buf[i] === 46 && hexDigit(buf[i + 1]) >= 0
}

function hex (buf: Uint8Array, i: number, e: number, sign: number): boolean {
  let mant = 0n
  let scale = 0
  while (i < e && hexDigit(buf[i]) >= 0) { mant = mant * 16n + BigInt(hexDigit(buf[i])); i++ }
  if (i < e && buf[i] === 46) {
    i++
    while (i < e && hexDigit(buf[i]) >= 0) { mant = mant * 16n + BigInt(hexDigit(buf[i])); scale -= 4; i++ }
  }
  if (i < e && lower(buf[i]) === 112) {
    let j = i + 1
    let eneg = false
    if (j < e && (buf[j] === 43 || buf[j] === 45)) { eneg = buf[j] === 45; j++ }
    if (j < e && buf[j] >= 48 && buf[j] <= 57) {
      let x = 0
      while (j < e && buf[j] >= 48 && buf[j] <= 57) { if (x < 1e6) x = x * 10 + buf[j] - 48; j++ }
      scale += eneg ? -x : x
      i = j
    }
  }
  result.end = i
  return finish(sign * Number(mant) * 2 ** scale, mant !== 0n)
}

function finish (v: number, nonzero: boolean): boolean {
  result.value = v
  if (!Number.isFinite(v)) return false // overflow: ERANGE
  if (nonzero && Math.abs(v) < MIN_NORMAL) return false // underflow: ERANGE
  return true
}

/**
 * memcached safe_strtod over buf[s, e): the double, or null when memcached refuses the
 * token (nothing parsed, ERANGE, or trailing bytes that are not whitespace).
 */
export function parseDouble (buf: Uint8Array, s: number, e: number): number | null {
  if (!strtod(buf, s, e)) return null
  const end = result.end
  if (end === s) return null
  if (end < e && !isSpace(buf[end])) return null
  return result.value
}

/**
 * C's atof over buf[s, e) (memcached reads its start-up `-o` factors with it): strtod with
 * the rest ignored, 0 when nothing parses, +-inf on overflow, the rounded value on underflow.
 */
export function atof (buf: Uint8Array, s: number, e: number): number {
  result.end = s
  if (strtod(buf, s, e)) return result.value
  return result.end === s ? 0 : result.value
}

/** Whether the last number parseDouble or atof read had a '-' sign (tells "-nan" from "nan"). */
export function lastDoubleNegative (): boolean { return result.neg }

/**
 * printf("%.<digits>f", x) as glibc prints it: the exact binary value rounded half to
 * even, every integer digit written out (no exponent form), "inf", "nan", "-nan".
 * `negNan` says whether a NaN carries the sign bit (JavaScript cannot tell; strtod("-nan")
 * sets it, and memcached prints "-nan" for it).
 */
export function formatFixed (x: number, digits: number, negNan = false): string {
  if (Number.isNaN(x)) return negNan ? '-nan' : 'nan'
  if (x === Infinity) return 'inf'
  if (x === -Infinity) return '-inf'
  const neg = x < 0 || Object.is(x, -0)
  const a = Math.abs(x)
  // a = m * 2^exp exactly, m an integer below 2^53.
  let exp = 0
  let m = a
  while (m !== Math.floor(m)) { m *= 2; exp-- }
  const big = BigInt(m)
  const pow = 10n ** BigInt(digits)
  let q: bigint
  if (exp >= 0) {
    q = (big << BigInt(exp)) * pow
  } else {
    const num = big * pow
    const den = 1n << BigInt(-exp)
    q = num / den
    const r2 = (num % den) * 2n
    if (r2 > den || (r2 === den && (q & 1n) === 1n)) q++
  }
  let s = q.toString()
  if (digits > 0) {
    s = s.padStart(digits + 1, '0')
    s = s.slice(0, s.length - digits) + '.' + s.slice(s.length - digits)
  }
  return (neg ? '-' : '') + s
}
