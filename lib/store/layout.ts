/**
 * The chunk header: every chunk of every slab page starts with these 40 bytes, read and
 * written through 32-bit word views of the page (never objects).
 *
 *   byte  0  CAS (float64; integers < 2^53)      word 0-1
 *   byte  8  HNEXT  next handle in hash chain      word 2   (continuation: next chunk)
 *   byte 12  PREV   LRU previous                   word 3   (continuation: owner handle)
 *   byte 16  NEXT   LRU next                       word 4
 *   byte 20  EXPTIME store time, 0 = never         word 5
 *   byte 24  TIME   last access (store time)       word 6
 *   byte 28  FLAGS  client flags (32-bit)          word 7
 *   byte 32  NBYTES value length                   word 8
 *   byte 36  META   nkey | clsid << 8 | iflags << 16   word 9
 *   byte 40  key bytes, then value bytes. A chained item's head chunk puts a 4-byte
 *            next-chunk handle before the key: [u32 chain][key][value...], and its
 *            continuation chunks carry value bytes from byte 40.
 *
 * A handle names a chunk: page * 2^17 + (offset >> 3). Pages are 1-based, so 0 is "none".
 */
export const HEADER_BYTES = 40
export const W_CAS = 0
export const W_HNEXT = 2
export const W_PREV = 3
export const W_NEXT = 4
export const W_EXPTIME = 5
export const W_TIME = 6
export const W_FLAGS = 7
export const W_NBYTES = 8
export const W_META = 9
export const W_OWNER = 3 // continuation chunks only

export const PAGE_SHIFT = 17
export const OFFSET_MASK = (1 << PAGE_SHIFT) - 1

/** iflags (bits of META >>> 16). */
export const F_LINKED = 1
export const F_ACTIVE = 2
export const F_FETCHED = 4
export const F_CHAINED = 8
export const F_STALE = 16
export const F_TOKEN_SENT = 32
export const F_CONT = 64
export const F_ALLOCATED = 128
export const F_SEG_SHIFT = 8 // two bits: which LRU segment
export const F_SEG_MASK = 3 << F_SEG_SHIFT
/** The key was stored through a meta `b` (base64) request: meta replies echo it base64
 *  encoded (memcached ITEM_KEY_BINARY). */
export const F_KEY_BINARY = 1024

export const SEG_HOT = 0
export const SEG_WARM = 1
export const SEG_COLD = 2
/** Items stored with a TTL of at most -o temporary_ttl (memcached TEMP_LRU): never evicted, only reclaimed once expired. */
export const SEG_TEMP = 3
/** Lists per class (Lru arrays are class * SEGMENTS + segment). */
export const SEGMENTS = 4

export function handleOf (page: number, byteOffset: number): number {
  return page * (1 << PAGE_SHIFT) + (byteOffset >>> 3)
}
export function pageOf (h: number): number { return h >>> PAGE_SHIFT }
/** Word index (byte offset / 4) of the chunk's header. */
export function wordOf (h: number): number { return (h & OFFSET_MASK) << 1 }
export function byteOf (h: number): number { return (h & OFFSET_MASK) << 3 }
