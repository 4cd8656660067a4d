// lib/proxy/count-min.ts
/**
 * A count-min sketch over key bytes with halving decay: how often each key was read
 * lately, in fixed memory, whatever the number of keys.
 *
 * Algorithm from Cormode and Muthukrishnan, "An Improved Data Stream Summary: The
 * Count-Min Sketch and its Applications" (J. Algorithms 55, 2005): `depth` rows of `width`
 * counters; a key adds 1 to one counter per row (row i: (h1 + i * h2) mod width, the
 * double hashing of Kirsch and Mitzenmacher, "Less Hashing, Same Performance", 2006) and
 * its estimate is the smallest of its counters. The estimate never undercounts; it
 * overcounts by more than (e / width) * N (N: the sum of all counts) with probability at
 * most e^-depth. With the defaults (4 x 2048, 32 KiB): more than 0.13% of N in under 2%
 * of lookups.
 *
 * Decay: halve() halves every counter (the proxy calls it once per window), so a count is
 * a geometric sum of past windows; a key read at a steady r per window settles between r
 * and 2r. The same halving divides the overcount, so old traffic fades from both.
 *
 * Memory: depth * width Uint32 counters, allocated once. add() and estimate() allocate
 * nothing and read the key once (one FNV-1a pass; h2 is a remix of h1).
 */
import { keyHashFn, KeyHash } from '../ring/index.js'

const fnv1a32 = keyHashFn(KeyHash.fnv1a_32)

export class CountMinSketch {
  readonly depth: number
  readonly width: number
  readonly #mask: number
  readonly #rows: Uint32Array

  constructor (width = 2048, depth = 4) {
    if (!Number.isInteger(Math.log2(width)) || width < 16 || width > 1 << 24) throw new RangeError(`sketch width must be a power of two in [16, 2^24], got ${width}`)
    if (!Number.isInteger(depth) || depth < 1 || depth > 16) throw new RangeError(`sketch depth must be an integer in [1, 16], got ${depth}`)
    this.width = width
    this.depth = depth
    this.#mask = width - 1
    this.#rows = new Uint32Array(width * depth)
  }

  /** Bytes of counters (the sketch's whole memory but a few fields). */
  get bytes (): number { return this.#rows.byteLength }

  /** The key hash add() and estimate() take (so a caller hashing for its own table hashes once). */
  static hash (buf: Uint8Array, s: number, e: number): number { return fmix32(fnv1a32(buf, s, e)) }

  /** Counts one occurrence of the key whose hash is `h`; returns its new estimate. */
  add (h: number): number {
    const rows = this.#rows
    const h2 = fmix32(h ^ 0x9e3779b9) | 1
    let min = 0xffffffff
    for (let i = 0, at = 0; i < this.depth; i++, at += this.width) {
      const j = at + ((h + Math.imul(i, h2)) & this.#mask)
      const v = rows[j]! + 1
      if (v <= 0xffffffff) rows[j] = v
      if (v < min) min = v
    }
    return min
  }

  /** The key's estimate (never below its true decayed count). */
  estimate (h: number): number {
    const rows = this.#rows
    const h2 = fmix32(h ^ 0x9e3779b9) | 1
    let min = 0xffffffff
    for (let i = 0, at = 0; i < this.depth; i++, at += this.width) {
      const v = rows[at + ((h + Math.imul(i, h2)) & this.#mask)]!
      if (v < min) min = v
    }
    return min
  }

  /** Halves every counter (decay, once per window). */
  halve (): void {
    const rows = this.#rows
    for (let i = 0; i < rows.length; i++) rows[i] = rows[i]! >>> 1
  }
}

/** MurmurHash3's 32-bit finalizer: spreads FNV's low-entropy high bits over the word. */
function fmix32 (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
