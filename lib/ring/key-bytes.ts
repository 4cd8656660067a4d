/**
 * Keys arrive as strings (apps) or bytes (the proxy, straight from the parser).
 * Hashing needs bytes; strings are encoded as UTF-8 into one reused scratch
 * buffer, so a lookup allocates nothing. Hash tags (`{...}`) as twemproxy does them.
 */

let scratch = new Uint8Array(512)
const encoder = new TextEncoder()

/**
 * The bytes of `key`. For a string the result is a view of module scratch memory,
 * valid only until the next call; for bytes it is `key` itself.
 */
export function keyBytes (key: string | Uint8Array): Uint8Array {
  if (typeof key !== 'string') return key
  const n = key.length
  if (n * 3 > scratch.length) scratch = new Uint8Array(n * 3)
  let i = 0
  for (; i < n; i++) {
    const c = key.charCodeAt(i)
    if (c > 0x7f) break
    scratch[i] = c
  }
  if (i === n) return scratch.subarray(0, n)
  const { written } = encoder.encodeInto(key.slice(i), scratch.subarray(i))
  return scratch.subarray(0, i + written)
}

/** A hash tag: the two delimiter bytes, e.g. "{}" (twemproxy's `hash_tag:`). */
export interface HashTag { readonly open: number, readonly close: number }

export function parseHashTag (tag: string): HashTag {
  if (tag.length !== 2) throw new RangeError(`hash tag must be two characters, got ${JSON.stringify(tag)}`)
  return { open: tag.charCodeAt(0), close: tag.charCodeAt(1) }
}

/**
 * The part of buf[s, e) that is hashed under `tag`, as twemproxy's server_pool_idx
 * picks it: after the first `open`, up to the first `close` after that; if either is
 * missing or the part between them is empty, the whole key. Writes the range to
 * out[0] (start) and out[1] (end, exclusive).
 */
export function hashTagRange (tag: HashTag, buf: Uint8Array, s: number, e: number, out: Int32Array): void {
  out[0] = s
  out[1] = e
  const o = buf.indexOf(tag.open, s)
  if (o < 0 || o >= e) return
  const c = buf.indexOf(tag.close, o + 1)
  if (c < 0 || c >= e || c - o <= 1) return
  out[0] = o + 1
  out[1] = c
}
