/**
 * What a store reports to an observer, at the points memcached 1.6.18 calls its logger
 * (items.c do_item_get and lru_pull_tail, memcached.c do_store_item). The store knows
 * nothing of who listens; lib/server's watcher registry turns these into `watch` lines.
 * With no observer installed the cost is one null check per lookup, link or eviction.
 *
 * Handles and key views passed to an observer are valid only during the call.
 */
import type { StoreMode, StoreResult } from './store.js'

/** memcached's was_found codes (logger.c: not_found, found, flushed, expired). */
export const FetchStatus = { NotFound: 0, Found: 1, Flushed: 2, Expired: 3 } as const
export type FetchStatus = (typeof FetchStatus)[keyof typeof FetchStatus]

export interface StoreObserver {
  /** A lookup by key (memcached do_item_get, also the one inside do_store_item); h is 0 unless found. */
  fetch (status: FetchStatus, key: Uint8Array, ks: number, ke: number, h: number): void
  /** link() decided: h is the item offered, or the merged one for append/prepend. */
  store (result: StoreResult, mode: StoreMode, h: number): void
  /** A live item is about to be evicted from an LRU tail to make room. */
  evict (h: number): void
}

/**
 * Told about every change a client verb makes to the store's contents, after it is made:
 * the hook replication plugs into (lib/replication). Evictions, expiry, the crawler and
 * lazy unlinks are not client writes and are not reported. Handles are valid only
 * during the call. With no observer installed the cost is one null check per write.
 */
export interface MutationObserver {
  /** h's item (key, value, flags, exptime, CAS, meta bits) is now as it is: a store,
   *  an arithmetic result, a vivify, an invalidation or a win token handed out. */
  item (h: number): void
  /** Only h's exptime changed (touch, gat, mg T). */
  touch (h: number): void
  /** A client removes h (delete, md, a failed set's old value); called before the unlink. */
  remove (h: number): void
  /** flush_all: items last stored at or before store time oldestLive, or with a CAS below
   *  oldestCas (0 = none), are gone from the moment oldestLive is reached. */
  flush (oldestLive: number, oldestCas: number): void
  /** The page mover copied a live item to handle h (same contents, new place). */
  relocated (h: number): void
}
