/**
 * Jump consistent hash: John Lamping and Eric Veach, "A Fast, Minimal Memory,
 * Consistent Hash Algorithm" (2014, arXiv:1406.2294). A 64-bit key -> bucket in
 * [0, n) with no table; growing n to n+1 moves exactly the keys that land in the
 * new bucket (1/(n+1) of them), and each bucket gets 1/n of the keys in expectation.
 *
 * Buckets are stable shard indices. Jump can only shrink by dropping the LAST
 * bucket. To remove any other shard we keep its index and mark it dead: a key that
 * lands on a dead bucket jumps again from a remixed key until it lands on a live one.
 * That moves exactly the dead shard's keys, spread evenly over the survivors, and a
 * later shard can take the dead index back (moving those keys home). See README.md.
 *
 * The 64-bit arithmetic (the paper's LCG, key * 2862933555777941757 + 1) is done in
 * two 32-bit halves; jump.test.ts checks it against BigInt.
 */
import { md5, md5Word } from './md5.js'
import { encodeKey, scratchBytes } from './key-bytes.js'
import type { Router } from './ketama-ring.js'

const M_HI = 0x27bb2ee6
const M_LO = 0x87b0b0fd | 0
const TWO31 = 2147483648

// LCG state left by the last jump() call, for jumpAgain().
let stHi = 0
let stLo = 0

/**
 * Bucket in [0, n) for the 64-bit key hi:lo (unsigned 32-bit halves).
 * n must be an integer in [1, 2^31).
 */
export function jumpHash (hi: number, lo: number, n: number): number {
  let b = -1
  let j = 0
  hi |= 0
  lo |= 0
  while (j < n) {
    b = j
    // (hi:lo) = (hi:lo) * M + 1  (mod 2^64)
    const a0 = lo & 0xffff
    const a1 = lo >>> 16
    const b0 = M_LO & 0xffff
    const b1 = M_LO >>> 16
    const p00 = a0 * b0
    const p01 = a0 * b1
    const p10 = a1 * b0
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
    const carryHi = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)
    const newLo = Math.imul(lo, M_LO)
    hi = (carryHi + Math.imul(hi, M_LO) + Math.imul(lo, M_HI)) | 0
    lo = (newLo + 1) | 0
    if (lo === 0) hi = (hi + 1) | 0
    // j = (b + 1) * (2^31 / ((key >>> 33) + 1))
    j = Math.floor((b + 1) * (TWO31 / ((hi >>> 1) + 1)))
  }
  stHi = hi
  stLo = lo
  return b
}

/** murmur3's 32-bit finaliser. */
function fmix (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

/** Re-jump from a remix of the state the last jumpHash() call ended in. */
function jumpAgain (n: number, attempt: number): number {
  const lo = fmix(stLo ^ Math.imul(attempt, 0x9e3779b9))
  const hi = fmix(stHi ^ lo)
  return jumpHash(hi, lo, n)
}

/**
 * Jump over shards 0..n-1, some of which may be dead (removed out of order). Keys are
 * hashed to 64 bits with MD5 (digest words 1:0).
 */
export class JumpRouter implements Router {
  readonly size: number
  private readonly dead: Uint8Array
  private readonly live: number

  /** `dead` lists shard indices that are removed; at least one shard must be live. */
  constructor (n: number, dead: Iterable<number> = []) {
    if (!Number.isInteger(n) || n < 1 || n >= TWO31) throw new RangeError(`jump needs 1 <= n < 2^31 shards, got ${n}`)
    this.size = n
    this.dead = new Uint8Array(n)
    let live = n
    for (const d of dead) {
      if (!Number.isInteger(d) || d < 0 || d >= n) throw new RangeError(`dead shard ${d} out of range`)
      if (this.dead[d] === 0) live--
      this.dead[d] = 1
    }
    if (live === 0) throw new RangeError('jump needs at least one live shard')
    this.live = live
  }

  get liveCount (): number {
    return this.live
  }

  /** Shard for the 64-bit key hi:lo. */
  shardOf64 (hi: number, lo: number): number {
    let b = jumpHash(hi, lo, this.size)
    for (let attempt = 1; this.dead[b] === 1; attempt++) b = jumpAgain(this.size, attempt)
    return b
  }

  serverOfBytes (buf: Uint8Array, s: number, e: number): number {
    md5(buf, s, e)
    return this.shardOf64(md5Word(1), md5Word(0))
  }

  serverOf (key: string | Uint8Array): number {
    if (typeof key !== 'string') return this.serverOfBytes(key, 0, key.length)
    const n = encodeKey(key)
    return this.serverOfBytes(scratchBytes(), 0, n)
  }
}
