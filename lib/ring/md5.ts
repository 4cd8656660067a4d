/**
 * MD5 (RFC 1321) over a byte range, for ketama: both libmemcached and twemproxy
 * place ring points with MD5 and libketama-compatible clients hash keys with it.
 * Written for short inputs (keys, "host:port-i" labels): no allocation per call,
 * the 64 steps unrolled. Not for security. Imports nothing.
 */

const block = new Int32Array(16)
/** The four state words of the last digest: digest byte 4*i+j is byte j (LE) of state[i]. */
const state = new Int32Array(4)

/**
 * One 64-byte block from `w` folded into `state` (RFC 1321 section 3.4): the 64 steps
 * written out with the sine-table constants as signed 32-bit literals, so the whole
 * block stays in int32 registers (about 4x faster here than calling per-step helpers).
 */
function compress (w: Int32Array): void {
  const x0 = w[0]; const x1 = w[1]; const x2 = w[2]; const x3 = w[3]
  const x4 = w[4]; const x5 = w[5]; const x6 = w[6]; const x7 = w[7]
  const x8 = w[8]; const x9 = w[9]; const x10 = w[10]; const x11 = w[11]
  const x12 = w[12]; const x13 = w[13]; const x14 = w[14]; const x15 = w[15]
  let a = state[0]
  let b = state[1]
  let c = state[2]
  let d = state[3]
  a = (a + ((b & c) | (~b & d)) + x0 + -680876936) | 0; a = (((a << 7) | (a >>> 25)) + b) | 0
  d = (d + ((a & b) | (~a & c)) + x1 + -389564586) | 0; d = (((d << 12) | (d >>> 20)) + a) | 0
  c = (c + ((d & a) | (~d & b)) + x2 + 606105819) | 0; c = (((c << 17) | (c >>> 15)) + d) | 0
  b = (b + ((c & d) | (~c & a)) + x3 + -1044525330) | 0; b = (((b << 22) | (b >>> 10)) + c) | 0
  a = (a + ((b & c) | (~b & d)) + x4 + -176418897) | 0; a = (((a << 7) | (a >>> 25)) + b) | 0
  d = (d + ((a & b) | (~a & c)) + x5 + 1200080426) | 0; d = (((d << 12) | (d >>> 20)) + a) | 0
  c = (c + ((d & a) | (~d & b)) + x6 + -1473231341) | 0; c = (((c << 17) | (c >>> 15)) + d) | 0
  b = (b + ((c & d) | (~c & a)) + x7 + -45705983) | 0; b = (((b << 22) | (b >>> 10)) + c) | 0
  a = (a + ((b & c) | (~b & d)) + x8 + 1770035416) | 0; a = (((a << 7) | (a >>> 25)) + b) | 0
  d = (d + ((a & b) | (~a & c)) + x9 + -1958414417) | 0; d = (((d << 12) | (d >>> 20)) + a) | 0
  c = (c + ((d & a) | (~d & b)) + x10 + -42063) | 0; c = (((c << 17) | (c >>> 15)) + d) | 0
  b = (b + ((c & d) | (~c & a)) + x11 + -1990404162) | 0; b = (((b << 22) | (b >>> 10)) + c) | 0
  a = (a + ((b & c) | (~b & d)) + x12 + 1804603682) | 0; a = (((a << 7) | (a >>> 25)) + b) | 0
  d = (d + ((a & b) | (~a & c)) + x13 + -40341101) | 0; d = (((d << 12) | (d >>> 20)) + a) | 0
  c = (c + ((d & a) | (~d & b)) + x14 + -1502002290) | 0; c = (((c << 17) | (c >>> 15)) + d) | 0
  b = (b + ((c & d) | (~c & a)) + x15 + 1236535329) | 0; b = (((b << 22) | (b >>> 10)) + c) | 0
  a = (a + ((b & d) | (c & ~d)) + x1 + -165796510) | 0; a = (((a << 5) | (a >>> 27)) + b) | 0
  d = (d + ((a & c) | (b & ~c)) + x6 + -1069501632) | 0; d = (((d << 9) | (d >>> 23)) + a) | 0
  c = (c + ((d & b) | (a & ~b)) + x11 + 643717713) | 0; c = (((c << 14) | (c >>> 18)) + d) | 0
  b = (b + ((c & a) | (d & ~a)) + x0 + -373897302) | 0; b = (((b << 20) | (b >>> 12)) + c) | 0
  a = (a + ((b & d) | (c & ~d)) + x5 + -701558691) | 0; a = (((a << 5) | (a >>> 27)) + b) | 0
  d = (d + ((a & c) | (b & ~c)) + x10 + 38016083) | 0; d = (((d << 9) | (d >>> 23)) + a) | 0
  c = (c + ((d & b) | (a & ~b)) + x15 + -660478335) | 0; c = (((c << 14) | (c >>> 18)) + d) | 0
  b = (b + ((c & a) | (d & ~a)) + x4 + -405537848) | 0; b = (((b << 20) | (b >>> 12)) + c) | 0
  a = (a + ((b & d) | (c & ~d)) + x9 + 568446438) | 0; a = (((a << 5) | (a >>> 27)) + b) | 0
  d = (d + ((a & c) | (b & ~c)) + x14 + -1019803690) | 0; d = (((d << 9) | (d >>> 23)) + a) | 0
  c = (c + ((d & b) | (a & ~b)) + x3 + -187363961) | 0; c = (((c << 14) | (c >>> 18)) + d) | 0
  b = (b + ((c & a) | (d & ~a)) + x8 + 1163531501) | 0; b = (((b << 20) | (b >>> 12)) + c) | 0
  a = (a + ((b & d) | (c & ~d)) + x13 + -1444681467) | 0; a = (((a << 5) | (a >>> 27)) + b) | 0
  d = (d + ((a & c) | (b & ~c)) + x2 + -51403784) | 0; d = (((d << 9) | (d >>> 23)) + a) | 0
  c = (c + ((d & b) | (a & ~b)) + x7 + 1735328473) | 0; c = (((c << 14) | (c >>> 18)) + d) | 0
  b = (b + ((c & a) | (d & ~a)) + x12 + -1926607734) | 0; b = (((b << 20) | (b >>> 12)) + c) | 0
  a = (a + (b ^ c ^ d) + x5 + -378558) | 0; a = (((a << 4) | (a >>> 28)) + b) | 0
  d = (d + (a ^ b ^ c) + x8 + -2022574463) | 0; d = (((d << 11) | (d >>> 21)) + a) | 0
  c = (c + (d ^ a ^ b) + x11 + 1839030562) | 0; c = (((c << 16) | (c >>> 16)) + d) | 0
  b = (b + (c ^ d ^ a) + x14 + -35309556) | 0; b = (((b << 23) | (b >>> 9)) + c) | 0
  a = (a + (b ^ c ^ d) + x1 + -1530992060) | 0; a = (((a << 4) | (a >>> 28)) + b) | 0
  d = (d + (a ^ b ^ c) + x4 + 1272893353) | 0; d = (((d << 11) | (d >>> 21)) + a) | 0
  c = (c + (d ^ a ^ b) + x7 + -155497632) | 0; c = (((c << 16) | (c >>> 16)) + d) | 0
  b = (b + (c ^ d ^ a) + x10 + -1094730640) | 0; b = (((b << 23) | (b >>> 9)) + c) | 0
  a = (a + (b ^ c ^ d) + x13 + 681279174) | 0; a = (((a << 4) | (a >>> 28)) + b) | 0
  d = (d + (a ^ b ^ c) + x0 + -358537222) | 0; d = (((d << 11) | (d >>> 21)) + a) | 0
  c = (c + (d ^ a ^ b) + x3 + -722521979) | 0; c = (((c << 16) | (c >>> 16)) + d) | 0
  b = (b + (c ^ d ^ a) + x6 + 76029189) | 0; b = (((b << 23) | (b >>> 9)) + c) | 0
  a = (a + (b ^ c ^ d) + x9 + -640364487) | 0; a = (((a << 4) | (a >>> 28)) + b) | 0
  d = (d + (a ^ b ^ c) + x12 + -421815835) | 0; d = (((d << 11) | (d >>> 21)) + a) | 0
  c = (c + (d ^ a ^ b) + x15 + 530742520) | 0; c = (((c << 16) | (c >>> 16)) + d) | 0
  b = (b + (c ^ d ^ a) + x2 + -995338651) | 0; b = (((b << 23) | (b >>> 9)) + c) | 0
  a = (a + (c ^ (b | ~d)) + x0 + -198630844) | 0; a = (((a << 6) | (a >>> 26)) + b) | 0
  d = (d + (b ^ (a | ~c)) + x7 + 1126891415) | 0; d = (((d << 10) | (d >>> 22)) + a) | 0
  c = (c + (a ^ (d | ~b)) + x14 + -1416354905) | 0; c = (((c << 15) | (c >>> 17)) + d) | 0
  b = (b + (d ^ (c | ~a)) + x5 + -57434055) | 0; b = (((b << 21) | (b >>> 11)) + c) | 0
  a = (a + (c ^ (b | ~d)) + x12 + 1700485571) | 0; a = (((a << 6) | (a >>> 26)) + b) | 0
  d = (d + (b ^ (a | ~c)) + x3 + -1894986606) | 0; d = (((d << 10) | (d >>> 22)) + a) | 0
  c = (c + (a ^ (d | ~b)) + x10 + -1051523) | 0; c = (((c << 15) | (c >>> 17)) + d) | 0
  b = (b + (d ^ (c | ~a)) + x1 + -2054922799) | 0; b = (((b << 21) | (b >>> 11)) + c) | 0
  a = (a + (c ^ (b | ~d)) + x8 + 1873313359) | 0; a = (((a << 6) | (a >>> 26)) + b) | 0
  d = (d + (b ^ (a | ~c)) + x15 + -30611744) | 0; d = (((d << 10) | (d >>> 22)) + a) | 0
  c = (c + (a ^ (d | ~b)) + x6 + -1560198380) | 0; c = (((c << 15) | (c >>> 17)) + d) | 0
  b = (b + (d ^ (c | ~a)) + x13 + 1309151649) | 0; b = (((b << 21) | (b >>> 11)) + c) | 0
  a = (a + (c ^ (b | ~d)) + x4 + -145523070) | 0; a = (((a << 6) | (a >>> 26)) + b) | 0
  d = (d + (b ^ (a | ~c)) + x11 + -1120210379) | 0; d = (((d << 10) | (d >>> 22)) + a) | 0
  c = (c + (a ^ (d | ~b)) + x2 + 718787259) | 0; c = (((c << 15) | (c >>> 17)) + d) | 0
  b = (b + (d ^ (c | ~a)) + x9 + -343485551) | 0; b = (((b << 21) | (b >>> 11)) + c) | 0
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
