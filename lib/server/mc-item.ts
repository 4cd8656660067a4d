/**
 * An item as memcached would account it: its size (item header, CAS, key, NUL, flags
 * suffix, value, CRLF) and the slab class that size falls in for the same -n/-f/-I. Used
 * where memcached prints them (`me`, `lru_crawler metadump`, `stats cachedump <class>`),
 * so those lines match memcached's even though memring's own chunk header is smaller.
 */
import type { SlabStore } from '../store/slab-store.js'

/** memcached's sizeof(item) on 64-bit Linux (without the CAS field). */
const MC_ITEM_HEADER = 48

export function mcItemSize (store: SlabStore, h: number, nkey: number): number {
  return MC_ITEM_HEADER + (store.useCas ? 8 : 0) + nkey + 1 + (store.flags(h) !== 0 ? 4 : 0) + store.nbytes(h) + 2
}

export function mcClassFor (store: SlabStore, size: number): number {
  const c = store.slabs.classFor(size)
  return c === 0 ? store.slabs.largest : c
}
