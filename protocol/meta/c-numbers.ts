/**
 * Numbers in meta flag tokens, read the way memcached 1.6's safe_strtol / safe_strtoul /
 * safe_strtoull read them (util.c over C strtol/strtoull on a 64-bit machine), so a
 * token memcached accepts we accept, with the same value, and one it rejects we reject.
 *
 * The C rules, restated:
 *   - leading C whitespace (space, \t, \n, \v, \f, \r) is skipped, then an optional + or -;
 *   - at least one decimal digit; the first non-digit must be whitespace or the token end;
 *   - out of the 64-bit range (signed for strtol, unsigned for strtoull) is an error;
 *   - the unsigned readers negate a leading '-' modulo 2^64 and then refuse the result
 *     only when it is >= 2^63 (so "-0" is 0 and "-18446744073709551615" is 1);
 *   - the 32-bit results are the low 32 bits of the 64-bit value (C assignment narrows).
 *
 * Every function reads buf[s, e) and never allocates on the common short path; tokens
 * longer than 15 characters take a bigint slow path.
 */

const TWO64 = 1n << 64n
const TWO63 = 1n << 63n

/** C isspace() in the "C" locale. */
function isCSpace (c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13)
}

/**
 * Scans a C integer. Returns the magnitude as a bigint (or -1n on a syntax error or a
 * magnitude over 2^64 - 1) and reports the sign through `negOut[0]`.
 */
function scan (buf: Uint8Array, s: number, e: number, negOut: Uint8Array): bigint {
  let i = s
  while (i < e && isCSpace(buf[i])) i++
  let neg = 0
  if (i < e && (buf[i] === 43 || buf[i] === 45)) { neg = buf[i] === 45 ? 1 : 0; i++ }
  const d0 = i
  // Fast path: up to 15 digits fit exactly in a double.
  let small = 0
  while (i < e && i - d0 < 15 && buf[i] >= 48 && buf[i] <= 57) { small = small * 10 + (buf[i] - 48); i++ }
  let big = -1n
  if (i < e && buf[i] >= 48 && buf[i] <= 57) {
    big = BigInt(small)
    while (i < e && buf[i] >= 48 && buf[i] <= 57) {
      big = big * 10n + BigInt(buf[i] - 48)
      if (big >= TWO64) {
        // strtoull saturates and sets ERANGE; keep consuming digits for the end check.
        while (i < e && buf[i] >= 48 && buf[i] <= 57) i++
        negOut[0] = neg
        return -1n
      }
      i++
    }
  }
  if (i === d0) return -1n
  if (i < e && !isCSpace(buf[i])) return -1n
  negOut[0] = neg
  return big >= 0n ? big : BigInt(small)
}

const sign = new Uint8Array(1)

/**
 * safe_strtol into an int32_t: returns the value, or NaN when memcached would refuse
 * the token. Values in the 64-bit range but outside 32 bits wrap as C narrowing does.
 */
export function cStrtol32 (buf: Uint8Array, s: number, e: number): number {
  sign[0] = 0
  const m = scanFast(buf, s, e)
  if (m >= 0) return sign[0] === 1 ? (-m | 0) : (m | 0)
  if (m === -2) return NaN
  const b = scan(buf, s, e, sign)
  if (b < 0n) return NaN
  const v = sign[0] === 1 ? -b : b
  if (v >= TWO63 || v < -TWO63) return NaN
  return Number(BigInt.asIntN(32, v))
}

/** safe_strtoul into a uint32_t: the value, or NaN when memcached would refuse it. */
export function cStrtoul32 (buf: Uint8Array, s: number, e: number): number {
  const v = cStrtoull(buf, s, e)
  if (v < 0n) return NaN
  return Number(BigInt.asUintN(32, v))
}

/** safe_strtoull: the uint64 value, or -1n when memcached would refuse it. */
export function cStrtoull (buf: Uint8Array, s: number, e: number): bigint {
  sign[0] = 0
  const m = scanFast(buf, s, e)
  if (m >= 0 && sign[0] === 0) return BigInt(m)
  if (m === -2) return -1n
  const b = scan(buf, s, e, sign)
  if (b < 0n) return -1n
  if (sign[0] === 0) return b
  const v = (TWO64 - b) % TWO64
  return v >= TWO63 ? -1n : v
}

/**
 * safe_strtoull narrowed to a double, for CAS tokens: our CAS values stay below 2^53, and
 * any larger token still compares as larger than all of them. -1 when refused.
 */
export function cStrtoullNumber (buf: Uint8Array, s: number, e: number): number {
  sign[0] = 0
  const m = scanFast(buf, s, e)
  if (m >= 0 && sign[0] === 0) return m
  if (m === -2) return -1
  const v = cStrtoull(buf, s, e)
  return v < 0n ? -1 : Number(v)
}

/**
 * The common case without bigints: optional whitespace and sign, 1..15 digits, then the
 * end or whitespace. Returns the magnitude (sign in `sign[0]`), -2 for a definite syntax
 * error, or -1 when the slow path must decide (more than 15 digits).
 */
function scanFast (buf: Uint8Array, s: number, e: number): number {
  let i = s
  while (i < e && isCSpace(buf[i])) i++
  if (i < e && (buf[i] === 43 || buf[i] === 45)) { sign[0] = buf[i] === 45 ? 1 : 0; i++ }
  const d0 = i
  let n = 0
  while (i < e && buf[i] >= 48 && buf[i] <= 57) {
    if (i - d0 === 15) return -1
    n = n * 10 + (buf[i] - 48)
    i++
  }
  if (i === d0) return -2
  if (i < e && !isCSpace(buf[i])) return -2
  return n
}
