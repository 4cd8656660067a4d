/**
 * mcrouter's `Ch3` placement: Mark Rabkin's "furc" consistent hash (a binary decision tree
 * over a stream of pseudo-random bits of the key), as mcrouter's lib/fbi/hash.c describes
 * it. Written here from that description, in 32-bit halves (no BigInt, nothing allocated):
 *
 *   bits    word 0 is MurmurHash64A(key, seed 4193360111); word n is MurmurHash64A of the
 *           8 bytes of word n-1 (same seed); bit i is bit (i mod 64) of word (i div 64).
 *   tree    d = the number of bits of m - 1 (the smallest d with 2^d >= m); a = d. Up to
 *           32 tries: while bit a is 0, d decreases (d reaching 0 answers 0) and a = d;
 *           then num starts at 1 and takes d - 1 more bits, at a + 23, a + 46, ...
 *           (a advancing 23 per bit read, the first step included); num < m answers num.
 *           After 32 tries without an answer: 0.
 *   m <= 1  answers 0 without hashing.
 *
 * It has furc's two published properties, checked in test/furc.test.ts: growing m to m + 1
 * moves only keys that then land on m (a key never moves between old servers), and the
 * spread is even. Exact equality with a running mcrouter could not be checked on this
 * machine (mcrouter is not installable here); it does give every result mcrouter's own unit
 * test (lib/test/Ch3HashTest.cpp) expects, and MurmurHash64A is checked against a BigInt
 * transcription of the published algorithm.
 */
import { encodeKey, scratchBytes } from './key-bytes.js'
import type { Router } from './ketama-ring.js'

const SEED = 4193360111
const MAX_TRIES = 32
const FURC_SHIFT = 23
/** furc's largest pool (2^23 servers). */
export const FURC_MAX_POOL = 1 << FURC_SHIFT
/** Words of bit stream a lookup can need: (MAX_TRIES * (FURC_SHIFT + 1) * 23 bits) / 64, rounded up generously. */
const WORDS = 1024

// m = 0xc6a4a7935bd1e995
const M_HI = 0xc6a4a793
const M_LO = 0x5bd1e995

/** Result registers of the 64-bit helpers (module scratch: nothing allocated per call). */
let rHi = 0
let rLo = 0

/** (ah:al) * (bh:bl) mod 2^64 into rHi:rLo. */
function mul64 (ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff
  const a1 = al >>> 16
  const b0 = bl & 0xffff
  const b1 = bl >>> 16
  const p00 = a0 * b0
  const p01 = a0 * b1
  const p10 = a1 * b0
  const p11 = a1 * b1
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  rLo = (((mid & 0xffff) << 16) | (p00 & 0xffff)) >>> 0
  const carry = p11 + Math.floor(p01 / 65536) + Math.floor(p10 / 65536) + Math.floor(mid / 65536)
  rHi = (carry + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0
}

/** MurmurHash64A over buf[s, e) with `seed` (a 32-bit seed, as furc uses), into rHi:rLo. */
function murmur64A (buf: Uint8Array, s: number, e: number): void {
  const len = e - s
  // h = seed ^ (len * m)
  mul64(0, len, M_HI, M_LO)
  let hHi = rHi
  let hLo = (rLo ^ SEED) >>> 0
  let i = s
  const end8 = s + (len & ~7)
  for (; i < end8; i += 8) {
    const kLo = (buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16) | (buf[i + 3] << 24)) >>> 0
    const kHi = (buf[i + 4] | (buf[i + 5] << 8) | (buf[i + 6] << 16) | (buf[i + 7] << 24)) >>> 0
    mixInto(kHi, kLo, hHi, hLo)
    hHi = rHi
    hLo = rLo
  }
  const rest = len & 7
  if (rest > 0) {
    let tLo = 0
    let tHi = 0
    for (let j = rest - 1; j >= 0; j--) {
      const b = buf[i + j]
      if (j >= 4) tHi |= b << ((j - 4) * 8)
      else tLo |= b << (j * 8)
    }
    hHi = (hHi ^ tHi) >>> 0
    hLo = (hLo ^ tLo) >>> 0
    mul64(hHi, hLo, M_HI, M_LO)
    hHi = rHi
    hLo = rLo
  }
  finish(hHi, hLo)
}

/** k *= m; k ^= k >> 47; k *= m; h ^= k; h *= m  -> rHi:rLo */
function mixInto (kHi: number, kLo: number, hHi: number, hLo: number): void {
  mul64(kHi, kLo, M_HI, M_LO)
  kHi = rHi
  kLo = (rLo ^ (kHi >>> 15)) >>> 0
  mul64(kHi, kLo, M_HI, M_LO)
  mul64((hHi ^ rHi) >>> 0, (hLo ^ rLo) >>> 0, M_HI, M_LO)
}

/** h ^= h >> 47; h *= m; h ^= h >> 47  -> rHi:rLo */
function finish (hHi: number, hLo: number): void {
  hLo = (hLo ^ (hHi >>> 15)) >>> 0
  mul64(hHi, hLo, M_HI, M_LO)
  rLo = (rLo ^ (rHi >>> 15)) >>> 0
}

/** MurmurHash64A of the 8 little-endian bytes of hi:lo with furc's seed, into rHi:rLo. */
function rehash (hi: number, lo: number): void {
  // h = seed ^ (8 * m)
  mul64(0, 8, M_HI, M_LO)
  const hHi = rHi
  const hLo = (rLo ^ SEED) >>> 0
  mixInto(hi, lo, hHi, hLo)
  finish(rHi, rLo)
}

/** The bit stream of the current key: words[n] as two halves, filled on demand. */
const wordsHi = new Uint32Array(WORDS)
const wordsLo = new Uint32Array(WORDS)
let filled = -1

function bit (idx: number): number {
  const ord = idx >>> 6
  while (filled < ord) {
    filled++
    rehash(wordsHi[filled - 1], wordsLo[filled - 1])
    wordsHi[filled] = rHi
    wordsLo[filled] = rLo
  }
  const b = idx & 63
  return b < 32 ? (wordsLo[ord] >>> b) & 1 : (wordsHi[ord] >>> (b - 32)) & 1
}

/** furc_hash: a server index in [0, m) for key bytes buf[s, e). */
export function furcHash (buf: Uint8Array, s: number, e: number, m: number): number {
  if (m <= 1) return 0
  murmur64A(buf, s, e)
  wordsHi[0] = rHi
  wordsLo[0] = rLo
  filled = 0
  let d = 0
  while (m > 2 ** d) d++
  let a = d
  for (let tries = 0; tries < MAX_TRIES; tries++) {
    while (bit(a) === 0) {
      if (--d === 0) return 0
      a = d
    }
    a += FURC_SHIFT
    let num = 1
    for (let i = 0; i < d - 1; i++) {
      num = (num * 2) | bit(a)
      a += FURC_SHIFT
    }
    if (num < m) return num
  }
  return 0
}

/** MurmurHash64A (furc's seed) as [hi, lo], for tests. */
export function furcMurmur64 (buf: Uint8Array, s: number, e: number): [number, number] {
  murmur64A(buf, s, e)
  return [rHi, rLo]
}

/** mcrouter's Ch3 over n servers in list order (index = server). */
export class Ch3Router implements Router {
  readonly size: number
  constructor (n: number) {
    if (!Number.isInteger(n) || n < 1 || n > FURC_MAX_POOL) throw new RangeError(`ch3 needs 1 to ${FURC_MAX_POOL} servers, got ${n}`)
    this.size = n
  }

  serverOfBytes (buf: Uint8Array, s: number, e: number): number {
    return furcHash(buf, s, e, this.size)
  }

  serverOf (key: string | Uint8Array): number {
    if (typeof key !== 'string') return this.serverOfBytes(key, 0, key.length)
    const n = encodeKey(key)
    return this.serverOfBytes(scratchBytes(), 0, n)
  }
}
