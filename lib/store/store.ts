/**
 * The Store contract: memcached's item verbs over key bytes, with no protocol and no sockets.
 *
 * Items are addressed by handles (positive integers; 0 = none). A handle returned by
 * find()/alloc() is valid until the next call that may allocate or unlink (alloc, link,
 * unlink, flush, the crawler); dispatchers use it synchronously within one request.
 * Nothing here retains the caller's Buffers: values are copied into slab memory.
 *
 * Time: exptime values in and out of the store are *server-relative seconds* on the
 * store's clock (memcached's rel_time_t): 0 = never. Convert wire exptimes with
 * relExptime() and back with remainingTtl().
 */

/** Results of link()/arith(), as small integers (memcached's store_item_type). */
export const StoreResult = {
  Stored: 0,
  NotStored: 1,
  Exists: 2,
  NotFound: 3,
  /** Item does not fit in -I (SERVER_ERROR object too large for cache). */
  TooLarge: 4,
  /** No memory and eviction impossible or disabled by -M. */
  NoMemory: 5,
  /** incr/decr on a value that is not a decimal number. */
  NonNumeric: 6,
} as const
export type StoreResult = (typeof StoreResult)[keyof typeof StoreResult]

/** memcached's store commands (NREAD_*). */
export const StoreMode = {
  Set: 1,
  Add: 2,
  Replace: 3,
  Append: 4,
  Prepend: 5,
  Cas: 6,
} as const
export type StoreMode = (typeof StoreMode)[keyof typeof StoreMode]

export interface Store {
  /** The store's coarse clock: current server-relative time in seconds. */
  now (): number
  /** Converts a wire exptime (memcached rules: 0 never, <= 30 days relative, else absolute Unix
   *  time, negative = already expired) into store time. Expired-at-birth maps to a time <= now(). */
  relExptime (wireExptime: number): number

  /**
   * Looks a key up. Returns 0 on miss (including expired or flushed items, which are
   * unlinked lazily as memcached's do_item_get does). Does not bump the LRU: call touchRead().
   */
  find (key: Uint8Array, ks: number, ke: number): number
  /**
   * A hint before a run of find() calls (a multiget): the keys are key[ks[i], ke[i]) for i
   * in [from, to). Changes nothing observable; lets the store start the memory loads of
   * all of them at once instead of one miss after another.
   */
  prefetch (key: Uint8Array, ks: Int32Array, ke: Int32Array, from: number, to: number): void
  /** Records a read hit: LRU bump (rate-limited), fetched bit, last-access time. */
  touchRead (h: number): void

  // Item fields (h must be a live handle).
  flags (h: number): number
  exptime (h: number): number
  setExptime (h: number, relExptime: number): void
  cas (h: number): number
  nbytes (h: number): number
  lastAccess (h: number): number
  /** Whether the item had been fetched before (meta h flag); read before touchRead(). */
  fetched (h: number): boolean
  /** Meta-protocol bits (memcached ITEM_TOKEN_SENT / ITEM_STALE). */
  winTokenSent (h: number): boolean
  setWinTokenSent (h: number, on: boolean): void
  stale (h: number): boolean
  setStale (h: number, on: boolean): void
  /** Copies the value bytes of h into dst at off; returns off + nbytes. */
  copyValue (h: number, dst: Uint8Array, off: number): number
  /** Copies the key bytes of h into dst at off; returns off + nkey. */
  copyKey (h: number, dst: Uint8Array, off: number): number
  nkey (h: number): number

  /**
   * Allocates an unlinked item able to hold nbytes of value. Returns a handle > 0, or
   * -StoreResult.TooLarge / -StoreResult.NoMemory. May evict. The caller fills the value
   * with writeValue() and then link()s or free()s it.
   */
  alloc (key: Uint8Array, ks: number, ke: number, flags: number, relExptime: number, nbytes: number): number
  /** Writes src[s, e) into the value of an allocated item at value offset at. */
  writeValue (h: number, src: Uint8Array, s: number, e: number, at: number): void
  /** Releases an allocated item that was never linked. */
  free (h: number): void
  /**
   * Stores an allocated item (memcached's do_store_item). casIn must match in Cas mode
   * (callers turn set-with-CAS into Cas, as memcached does) and, when non-zero, in Append
   * and Prepend; Set/Add/Replace ignore it. allowStale (meta `I` with `C`): a casIn lower
   * than the item's stores the value marked stale. On Stored, the item is linked and
   * `lastCas()` tells its CAS; on every other result the store has freed it.
   */
  link (h: number, mode: StoreMode, casIn: number, allowStale?: boolean): StoreResult
  /** CAS of the item most recently stored by link() or arith(). */
  lastCas (): number
  /** Unlinks a live item (delete). */
  unlink (h: number): void

  /**
   * incr/decr in place (memcached's do_add_delta): 64-bit unsigned, incr wraps, decr
   * floors at 0. casIn != 0 must match. Result value readable with lastArith().
   */
  arith (h: number, incr: boolean, delta: bigint, casIn: number): StoreResult
  lastArith (): bigint

  /** flush_all: items stored before store time `at` become invalid once now() >= at. */
  flush (relAt: number): void

  /** Counters and gauges with memcached's names; see stats.ts for the list. */
  readonly counters: StoreCounters
}

export interface StoreCounters {
  curr_items: number
  total_items: number
  bytes: number
  evictions: number
  reclaimed: number
  expired_unfetched: number
  evicted_unfetched: number
  curr_connections?: number
}
