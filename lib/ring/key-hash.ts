/**
 * Key hash functions, selectable by name as in twemproxy's `hash:` setting
 * (nutcracker's README, "Configuration"). Each maps key bytes buf[s, e) to an
 * unsigned 32-bit number. Pure; imports nothing of ours but md5.ts.
 *
 * Compatibility scar: twemproxy's C code reads key bytes as (signed) `char` and
 * widens them to 32 bits in every FNV variant and in one_at_a_time, so a byte
 * >= 0x80 enters those hashes as 0xFFFFFFxx. We do the same on purpose (the
 * twemproxy placement test sets keys with such bytes). crc32a and murmur read
 * unsigned bytes, as there.
 */
import { md5 } from './md5.js'

export const KeyHash = {
  md5: 'md5',
  fnv1a_64: 'fnv1a_64',
  fnv1_64: 'fnv1_64',
  fnv1a_32: 'fnv1a_32',
  fnv1_32: 'fnv1_32',
  one_at_a_time: 'one_at_a_time',
  crc32a: 'crc32a',
  murmur: 'murmur',
} as const
export type KeyHash = (typeof KeyHash)[keyof typeof KeyHash]

export type HashFn = (buf: Uint8Array, s: number, e: number) => number

/** A byte as C's signed char widened to uint32 (x86 ABI: char is signed). */
function sch (b: number): number {
  return (b << 24) >> 24
}

// FNV (http://www.isthe.com/chongo/tech/comp/fnv/). The 64-bit variants return only
// the low 32 bits, and the low 32 bits of a 64-bit product depend only on the low 32
// bits of its factors, so 32-bit arithmetic on the truncated basis/prime is exact.
const FNV64_BASIS_LO = 0x84222325
const FNV64_PRIME_LO = 0x1b3
const FNV32_BASIS = 0x811c9dc5
const FNV32_PRIME = 0x01000193

export function fnv1a64 (buf: Uint8Array, s: number, e: number): number {
  let h = FNV64_BASIS_LO
  for (let i = s; i < e; i++) h = Math.imul(h ^ sch(buf[i]), FNV64_PRIME_LO)
  return h >>> 0
}

export function fnv164 (buf: Uint8Array, s: number, e: number): number {
  let h = FNV64_BASIS_LO
  for (let i = s; i < e; i++) h = Math.imul(h, FNV64_PRIME_LO) ^ sch(buf[i])
  return h >>> 0
}

export function fnv1a32 (buf: Uint8Array, s: number, e: number): number {
  let h = FNV32_BASIS
  for (let i = s; i < e; i++) h = Math.imul(h ^ sch(buf[i]), FNV32_PRIME)
  return h >>> 0
}

export function fnv132 (buf: Uint8Array, s: number, e: number): number {
  let h = FNV32_BASIS
  for (let i = s; i < e; i++) h = Math.imul(h, FNV32_PRIME) ^ sch(buf[i])
  return h >>> 0
}

/** Bob Jenkins' one-at-a-time hash (Dr. Dobb's, 1997). */
export function oneAtATime (buf: Uint8Array, s: number, e: number): number {
  let v = 0
  for (let i = s; i < e; i++) {
    v = (v + sch(buf[i])) | 0
    v = (v + (v << 10)) | 0
    v ^= v >>> 6
  }
  v = (v + (v << 3)) | 0
  v ^= v >>> 11
  v = (v + (v << 15)) | 0
  return v >>> 0
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  return t
})()

/** The standard (IEEE 802.3, reflected) CRC-32: twemproxy's "crc32a". */
export function crc32a (buf: Uint8Array, s: number, e: number): number {
  let c = -1
  for (let i = s; i < e; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8)
  return (c ^ -1) >>> 0
}

/** MurmurHash2 (Austin Appleby) with twemproxy's seed: 0xdeadbeef * length. */
export function murmur2 (buf: Uint8Array, s: number, e: number): number {
  const m = 0x5bd1e995
  let len = e - s
  let h = Math.imul(0xdeadbeef | 0, len) ^ len
  let p = s
  while (len >= 4) {
    let k = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)
    k = Math.imul(k, m)
    k ^= k >>> 24
    k = Math.imul(k, m)
    h = Math.imul(h, m) ^ k
    p += 4
    len -= 4
  }
  if (len > 0) {
    if (len === 3) h ^= buf[p + 2] << 16
    if (len >= 2) h ^= buf[p + 1] << 8
    h = Math.imul(h ^ buf[p], m)
  }
  h ^= h >>> 13
  h = Math.imul(h, m)
  h ^= h >>> 15
  return h >>> 0
}

const FNS: Record<KeyHash, HashFn> = {
  md5,
  fnv1a_64: fnv1a64,
  fnv1_64: fnv164,
  fnv1a_32: fnv1a32,
  fnv1_32: fnv132,
  one_at_a_time: oneAtATime,
  crc32a,
  murmur: murmur2,
}

/** The hash function for a twemproxy-style name; throws on an unknown name (config error). */
export function keyHashFn (name: KeyHash): HashFn {
  const fn = FNS[name]
  if (fn === undefined) throw new RangeError(`unknown key hash ${String(name)}; one of ${Object.keys(FNS).join(', ')}`)
  return fn
}
