/**
 * Base64 for meta `b` keys (protocol.txt "Meta Get": b interprets the key as base64).
 *
 * Decoding follows what memcached 1.6.18 accepts, which is looser than RFC 4648:
 *   - bytes outside the alphabet are skipped, not rejected;
 *   - the count of alphabet bytes ('=' included) must be a non-zero multiple of 4;
 *   - the first 4-byte group holding any '=' ends decoding: one '=' drops one output
 *     byte, two drop two, three or four make the whole key invalid; later bytes are ignored;
 *   - a key that decodes to zero bytes is invalid.
 * Encoding is standard base64 with '=' padding, no line breaks.
 * Pure byte loops over caller-supplied buffers: no strings, no allocation.
 */

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const ENC = Uint8Array.from(ALPHABET, (c) => c.charCodeAt(0))
const PAD = 61 // '='
const SKIP = 255

/** byte → 6-bit value; '=' counts as a zero digit; SKIP for bytes outside the alphabet. */
const DEC = (() => {
  const t = new Uint8Array(256).fill(SKIP)
  for (let i = 0; i < 64; i++) t[ENC[i]] = i
  t[PAD] = 0
  return t
})()

/** Longest decoded key for an encoded key of n bytes. */
export function decodedLengthMax (n: number): number {
  return Math.floor(n / 4) * 3
}

/** Encoded length of n bytes. */
export function encodedLength (n: number): number {
  return Math.ceil(n / 3) * 4
}

/**
 * Decodes src[s, e) into dst at d. Returns the number of bytes written, or 0 when
 * memcached would refuse the key ("CLIENT_ERROR error decoding key"). dst must have room
 * for decodedLengthMax(e - s) bytes and may be src itself only if d <= s.
 */
export function decodeBase64 (src: Uint8Array, s: number, e: number, dst: Uint8Array, d: number): number {
  let count = 0
  for (let i = s; i < e; i++) if (DEC[src[i]] !== SKIP) count++
  if (count === 0 || count % 4 !== 0) return 0
  let o = d
  let n = 0
  let pad = 0
  let b0 = 0; let b1 = 0; let b2 = 0
  for (let i = s; i < e; i++) {
    const c = src[i]
    const v = DEC[c]
    if (v === SKIP) continue
    if (c === PAD) pad++
    switch (n) {
      case 0: b0 = v; n = 1; break
      case 1: b1 = v; n = 2; break
      case 2: b2 = v; n = 3; break
      default:
        dst[o++] = ((b0 << 2) | (b1 >> 4)) & 0xff
        dst[o++] = ((b1 << 4) | (b2 >> 2)) & 0xff
        dst[o++] = ((b2 << 6) | v) & 0xff
        n = 0
        if (pad !== 0) {
          if (pad > 2) return 0
          return o - pad - d
        }
    }
  }
  return o - d
}

/** Encodes src[s, e) into dst at d; returns the offset after the last byte written. */
export function encodeBase64 (src: Uint8Array, s: number, e: number, dst: Uint8Array, d: number): number {
  let o = d
  let i = s
  for (; e - i >= 3; i += 3) {
    const a = src[i]; const b = src[i + 1]; const c = src[i + 2]
    dst[o++] = ENC[a >> 2]
    dst[o++] = ENC[((a & 3) << 4) | (b >> 4)]
    dst[o++] = ENC[((b & 15) << 2) | (c >> 6)]
    dst[o++] = ENC[c & 63]
  }
  const rest = e - i
  if (rest === 1) {
    const a = src[i]
    dst[o++] = ENC[a >> 2]
    dst[o++] = ENC[(a & 3) << 4]
    dst[o++] = PAD
    dst[o++] = PAD
  } else if (rest === 2) {
    const a = src[i]; const b = src[i + 1]
    dst[o++] = ENC[a >> 2]
    dst[o++] = ENC[((a & 3) << 4) | (b >> 4)]
    dst[o++] = ENC[(b & 15) << 2]
    dst[o++] = PAD
  }
  return o
}
