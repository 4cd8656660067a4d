/**
 * Keys arrive as strings (apps) or bytes (the proxy, straight from the parser).
 * Hashing needs bytes; strings are encoded as UTF-8 into one reused scratch
 * buffer, so a lookup allocates nothing. Hash tags (`{...}`) as twemproxy does them.
 */

let scratch = new Uint8Array(512)
const encoder = new TextEncoder()

/**
 * Encodes a string key as UTF-8 into module scratch memory and returns its length;
 * the bytes are scratchBytes()[0, length), valid until the next call. No allocation
 * for keys up to 170 characters (the scratch grows for longer ones).
 */
export function encodeKey (key: string): number {
  const n = key.length
  if (n * 3 > scratch.length) scratch = new Uint8Array(n * 3)
  const out = scratch
  let i = 0
  for (; i < n; i++) {
    const c = key.charCodeAt(i)
    if (c > 0x7f) break
    out[i] = c
  }
  if (i === n) return n
  return i + encoder.encodeInto(key.slice(i), out.subarray(i)).written
}

/** The scratch memory encodeKey() wrote into. */
export function scratchBytes (): Uint8Array {
  return scratch
}

/** The bytes of `key`: a fresh copy for a string (convenience, allocates), `key` itself for bytes. */
export function keyBytes (key: string | Uint8Array): Uint8Array {
  if (typeof key !== 'string') return key
  return scratch.slice(0, encodeKey(key))
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
