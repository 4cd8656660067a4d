/**
 * MurmurHash3 x86 32-bit (Austin Appleby, public domain algorithm) over key bytes.
 * Server-internal: the hash index uses it, so its choice never reaches the wire. With seed 0
 * it is memcached's default `hash()` (murmur3), which orders `stats detail dump`.
 */
export function hashKey (key: Uint8Array, s: number, e: number, seed = 0x9747b28c): number {
  let h = seed
  const n = e - s
  const blocks = s + (n & ~3)
  let i = s
  for (; i < blocks; i += 4) {
    let k = key[i] | (key[i + 1] << 8) | (key[i + 2] << 16) | (key[i + 3] << 24)
    k = Math.imul(k, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, 0x1b873593)
    h ^= k
    h = (h << 13) | (h >>> 19)
    h = (Math.imul(h, 5) + 0xe6546b64) | 0
  }
  const rem = n & 3
  if (rem !== 0) {
    let k = 0
    if (rem === 3) k ^= key[i + 2] << 16
    if (rem >= 2) k ^= key[i + 1] << 8
    k ^= key[i]
    k = Math.imul(k, 0xcc9e2d51)
    k = (k << 15) | (k >>> 17)
    k = Math.imul(k, 0x1b873593)
    h ^= k
  }
  h ^= n
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
