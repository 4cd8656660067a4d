/**
 * MD5 (RFC 1321) over a byte range, for ketama: both libmemcached and twemproxy
 * place ring points with MD5 and libketama-compatible clients hash keys with it.
 * Written for short inputs (keys, "host:port-i" labels): no allocation per call,
 * the 64 steps unrolled. Not for security. Imports nothing.
 */

const block = new Int32Array(16)
/** The four state words of the last digest: digest byte 4*i+j is byte j (LE) of state[i]. */
const state = new Int32Array(4)

function ff (a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  const n = (a + ((b & c) | (~b & d)) + x + t) | 0
  return (((n << s) | (n >>> (32 - s))) + b) | 0
}
function gg (a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  const n = (a + ((b & d) | (c & ~d)) + x + t) | 0
  return (((n << s) | (n >>> (32 - s))) + b) | 0
}
function hh (a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  const n = (a + (b ^ c ^ d) + x + t) | 0
  return (((n << s) | (n >>> (32 - s))) + b) | 0
}
function ii (a: number, b: number, c: number, d: number, x: number, s: number, t: number): number {
  const n = (a + (c ^ (b | ~d)) + x + t) | 0
  return (((n << s) | (n >>> (32 - s))) + b) | 0
}

/** One 64-byte block from `w` folded into `state` (RFC 1321 section 3.4). */
function compress (w: Int32Array): void {
  let a = state[0]
  let b = state[1]
  let c = state[2]
  let d = state[3]
  a = ff(a, b, c, d, w[0], 7, 0xd76aa478)
  d = ff(d, a, b, c, w[1], 12, 0xe8c7b756)
  c = ff(c, d, a, b, w[2], 17, 0x242070db)
  b = ff(b, c, d, a, w[3], 22, 0xc1bdceee)
  a = ff(a, b, c, d, w[4], 7, 0xf57c0faf)
  d = ff(d, a, b, c, w[5], 12, 0x4787c62a)
  c = ff(c, d, a, b, w[6], 17, 0xa8304613)
  b = ff(b, c, d, a, w[7], 22, 0xfd469501)
  a = ff(a, b, c, d, w[8], 7, 0x698098d8)
  d = ff(d, a, b, c, w[9], 12, 0x8b44f7af)
  c = ff(c, d, a, b, w[10], 17, 0xffff5bb1)
  b = ff(b, c, d, a, w[11], 22, 0x895cd7be)
  a = ff(a, b, c, d, w[12], 7, 0x6b901122)
  d = ff(d, a, b, c, w[13], 12, 0xfd987193)
  c = ff(c, d, a, b, w[14], 17, 0xa679438e)
  b = ff(b, c, d, a, w[15], 22, 0x49b40821)
  a = gg(a, b, c, d, w[1], 5, 0xf61e2562)
  d = gg(d, a, b, c, w[6], 9, 0xc040b340)
  c = gg(c, d, a, b, w[11], 14, 0x265e5a51)
  b = gg(b, c, d, a, w[0], 20, 0xe9b6c7aa)
  a = gg(a, b, c, d, w[5], 5, 0xd62f105d)
  d = gg(d, a, b, c, w[10], 9, 0x02441453)
  c = gg(c, d, a, b, w[15], 14, 0xd8a1e681)
  b = gg(b, c, d, a, w[4], 20, 0xe7d3fbc8)
  a = gg(a, b, c, d, w[9], 5, 0x21e1cde6)
  d = gg(d, a, b, c, w[14], 9, 0xc33707d6)
  c = gg(c, d, a, b, w[3], 14, 0xf4d50d87)
  b = gg(b, c, d, a, w[8], 20, 0x455a14ed)
  a = gg(a, b, c, d, w[13], 5, 0xa9e3e905)
  d = gg(d, a, b, c, w[2], 9, 0xfcefa3f8)
  c = gg(c, d, a, b, w[7], 14, 0x676f02d9)
  b = gg(b, c, d, a, w[12], 20, 0x8d2a4c8a)
  a = hh(a, b, c, d, w[5], 4, 0xfffa3942)
  d = hh(d, a, b, c, w[8], 11, 0x8771f681)
  c = hh(c, d, a, b, w[11], 16, 0x6d9d6122)
  b = hh(b, c, d, a, w[14], 23, 0xfde5380c)
  a = hh(a, b, c, d, w[1], 4, 0xa4beea44)
  d = hh(d, a, b, c, w[4], 11, 0x4bdecfa9)
  c = hh(c, d, a, b, w[7], 16, 0xf6bb4b60)
  b = hh(b, c, d, a, w[10], 23, 0xbebfbc70)
  a = hh(a, b, c, d, w[13], 4, 0x289b7ec6)
  d = hh(d, a, b, c, w[0], 11, 0xeaa127fa)
  c = hh(c, d, a, b, w[3], 16, 0xd4ef3085)
  b = hh(b, c, d, a, w[6], 23, 0x04881d05)
  a = hh(a, b, c, d, w[9], 4, 0xd9d4d039)
  d = hh(d, a, b, c, w[12], 11, 0xe6db99e5)
  c = hh(c, d, a, b, w[15], 16, 0x1fa27cf8)
  b = hh(b, c, d, a, w[2], 23, 0xc4ac5665)
  a = ii(a, b, c, d, w[0], 6, 0xf4292244)
  d = ii(d, a, b, c, w[7], 10, 0x432aff97)
  c = ii(c, d, a, b, w[14], 15, 0xab9423a7)
  b = ii(b, c, d, a, w[5], 21, 0xfc93a039)
  a = ii(a, b, c, d, w[12], 6, 0x655b59c3)
  d = ii(d, a, b, c, w[3], 10, 0x8f0ccc92)
  c = ii(c, d, a, b, w[10], 15, 0xffeff47d)
  b = ii(b, c, d, a, w[1], 21, 0x85845dd1)
  a = ii(a, b, c, d, w[8], 6, 0x6fa87e4f)
  d = ii(d, a, b, c, w[15], 10, 0xfe2ce6e0)
  c = ii(c, d, a, b, w[6], 15, 0xa3014314)
  b = ii(b, c, d, a, w[13], 21, 0x4e0811a1)
  a = ii(a, b, c, d, w[4], 6, 0xf7537e82)
  d = ii(d, a, b, c, w[11], 10, 0xbd3af235)
  c = ii(c, d, a, b, w[2], 15, 0x2ad7d2bb)
  b = ii(b, c, d, a, w[9], 21, 0xeb86d391)
  state[0] = (state[0] + a) | 0
  state[1] = (state[1] + b) | 0
  state[2] = (state[2] + c) | 0
  state[3] = (state[3] + d) | 0
}

/**
 * MD5 of buf[s, e). The digest stays in module state; read it with md5Word(i)
 * before the next call. Returns word 0, the value libmemcached's and twemproxy's
 * "md5" key hash use (digest bytes 0..3, little-endian).
 */
export function md5 (buf: Uint8Array, s: number, e: number): number {
  state[0] = 0x67452301
  state[1] = 0xefcdab89 | 0
  state[2] = 0x98badcfe | 0
  state[3] = 0x10325476
  const len = e - s
  let p = s
  // whole blocks straight from the input
  while (e - p >= 64) {
    for (let i = 0; i < 16; i++, p += 4) {
      block[i] = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)
    }
    compress(block)
  }
  // tail, the 0x80 marker, zero fill and the bit length (RFC 1321 3.1, 3.2)
  block.fill(0)
  const rest = e - p
  for (let i = 0; i < rest; i++) block[i >> 2] |= buf[p + i] << ((i & 3) << 3)
  block[rest >> 2] |= 0x80 << ((rest & 3) << 3)
  if (rest >= 56) {
    compress(block)
    block.fill(0)
  }
  block[14] = (len << 3) | 0
  block[15] = Math.floor(len / 0x20000000) | 0
  compress(block)
  return state[0] >>> 0
}

/** Word i (0..3) of the last digest as an unsigned 32-bit number: ketama's point "alignment" i. */
export function md5Word (i: number): number {
  return state[i] >>> 0
}
