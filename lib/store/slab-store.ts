/**
 * The Store: items in slab pages, a hash index over key bytes, a segmented LRU per class.
 * Never touches sockets or protocol types. Handles are valid until the next call that can
 * allocate or unlink (see store.ts); values are always copied in and out.
 *
 * Verbs follow memcached's items.c / do_store_item / do_add_delta so behaviour matches
 * byte for byte at the protocol level; see README.md for the memory layout and policies.
 */
import type { Clock } from './clock.js'
import { CoarseClock } from './clock.js'
import { Automove } from './automove.js'
import { isExpired, relExptime } from './expiry.js'
import { hashKey } from './hash.js'
import { HashIndex } from './hash-index.js'
import {
  F_ACTIVE, F_ALLOCATED, F_CHAINED, F_CONT, F_FETCHED, F_KEY_BINARY, F_LINKED, F_STALE, F_TOKEN_SENT,
  HEADER_BYTES, SEGMENTS, SEG_COLD, SEG_HOT, SEG_TEMP, SEG_WARM, W_EXPTIME, W_FLAGS, W_HNEXT, W_META, W_NBYTES, W_NEXT, W_OWNER, W_TIME,
  byteOf, pageOf, wordOf,
} from './layout.js'
import { FetchStatus } from './events.js'
import type { MutationObserver, StoreObserver } from './events.js'
import { Lru } from './lru.js'
import { PAGE_SIZE, Slabs } from './slabs.js'
import { StoreMode, StoreResult } from './store.js'
import type { Store, StoreCounters } from './store.js'

/** memcached ITEM_UPDATE_INTERVAL: an item's access time is refreshed at most this often. */
export const ITEM_UPDATE_INTERVAL = 60
/** memcached's sizeof(item) on 64-bit Linux; used only for its item-size limit formula. */
const MC_ITEM_HEADER = 48
const U64_MAX = (1n << 64n) - 1n
const I64_MAX = (1n << 63n) - 1n
/** Idle-time buckets (seconds) of a full-sync listing's order; items idle longer share the last. */
const RECENCY_BUCKETS = 4096
/**
 * A chained item's value chunks are sized as memcached sizes its item_chunks (48-byte
 * header; the value's CRLF, which memcached stores, counted in the last one), so each chunk
 * lands in the class memcached would put it in and `stats slabs` shows the same used chunks.
 * memring's chunk header is 40 bytes: 8 bytes of each chunk go unused.
 */
const MC_CHUNK_HEADER = 48
/** How many tail items an allocation looks at before giving up on eviction. */
const EVICT_TRIES = 5

export interface SlabStoreOptions {
  memoryLimitBytes?: number // -m, bytes
  growthFactor?: number // -f
  minChunkBytes?: number // -n
  itemSizeMax?: number // -I
  evictions?: boolean // false with -M
  useCas?: boolean // false with -C
  hashPower?: number // -o hashpower
  slabReassign?: boolean
  /** -o slab_chunk_max: items larger than this are chained (default: half a page). */
  slabChunkMax?: number
  /** -o slab_automove_window (samples, one a second) and slab_automove_ratio (automove.ts). */
  slabAutomoveWindow?: number
  slabAutomoveRatio?: number
  clock?: Clock
}

export interface ClassStats {
  getHits: Float64Array
  cmdSet: Float64Array
  deleteHits: Float64Array
  incrHits: Float64Array
  decrHits: Float64Array
  casHits: Float64Array
  casBadval: Float64Array
  touchHits: Float64Array
  evicted: Float64Array
  evictedNonzero: Float64Array
  evictedTime: Float64Array
  evictedUnfetched: Float64Array
  evictedActive: Float64Array
  outOfMemory: Float64Array
  reclaimed: Float64Array
  expiredUnfetched: Float64Array
  crawlerReclaimed: Float64Array
  memRequested: Float64Array
  directReclaims: Float64Array
}

/** Expired items reclaimed per LRU segment and maintainer pass (reclaimTails). */
const MAINTAIN_BATCH = 500

export class SlabStore implements Store {
  readonly slabs: Slabs
  readonly index: HashIndex
  readonly lru: Lru
  readonly clock: Clock
  readonly itemSizeMax: number
  evictionsEnabled: boolean
  readonly useCas: boolean
  slabReassign: boolean
  private readonly ownsClock: boolean
  private casCounter = 0
  /** useExplicitCas(): the CAS the next links give their items instead of the counter's; -1 = none. */
  private explicitCas = -1
  private lastCasValue = 0
  private lastArithValue = 0n
  /** flush_all: items last stored at or before oldestLive (or with CAS < oldestCas) are gone. */
  oldestLive = 0
  private oldestCas = 0
  /** -1, or temporary_ttl while the TEMP LRU is on (setTempLru, linkSegment). */
  private tempTtl = -1
  /** Items that must not be evicted right now (an append's old item). */
  private pin = 0
  /**
   * Pinned items (pinItem/unpinItem): handle -> count (memcached's refcount above 1). A reply is
   * being written straight from their slab memory, so they are neither evicted nor moved,
   * and their chunk is not reused: an item unlinked while pinned is freed at its last unpin.
   */
  private readonly pins = new Map<number, number>()
  private readonly unlinkedPinned = new Set<number>()
  /** prefetch() scratch: hashes and chain heads of up to 32 keys, and a sink for the loads. */
  private readonly prefetchHashes = new Uint32Array(32)
  private readonly prefetchHeads = new Uint32Array(32)
  prefetchSink = 0

  readonly counters: StoreCounters & Record<string, number> = {
    curr_items: 0,
    total_items: 0,
    bytes: 0,
    evictions: 0,
    reclaimed: 0,
    expired_unfetched: 0,
    evicted_unfetched: 0,
    evicted_active: 0,
    get_expired: 0,
    get_flushed: 0,
    crawler_reclaimed: 0,
    crawler_items_checked: 0,
    slabs_moved: 0,
    slab_reassign_rescues: 0,
    slab_reassign_evictions_nomem: 0,
    direct_reclaims: 0,
    crawler_starts: 0,
  }

  readonly cls: ClassStats
  /** The background page mover's decision (slab_automove=1): automoveTick() runs it. */
  readonly automover: Automove
  /** Told about lookups, links and evictions (memcached's logger hooks); null = nobody listens. */
  observer: StoreObserver | null = null
  /** Told about every client write (replication); null = nobody listens. */
  mutations: MutationObserver | null = null

  constructor (o: SlabStoreOptions = {}) {
    this.clock = o.clock ?? new CoarseClock()
    this.ownsClock = o.clock === undefined
    this.itemSizeMax = o.itemSizeMax ?? 1024 * 1024
    this.evictionsEnabled = o.evictions ?? true
    this.useCas = o.useCas ?? true
    this.slabReassign = o.slabReassign ?? true
    this.slabs = new Slabs({
      memoryLimitBytes: o.memoryLimitBytes ?? 64 * 1024 * 1024,
      growthFactor: o.growthFactor ?? 1.25,
      minChunkBytes: o.minChunkBytes ?? 48,
      chunkMax: o.slabChunkMax,
    })
    this.index = new HashIndex(this.slabs, o.hashPower ?? 16)
    const n = this.slabs.largest + 1
    this.lru = new Lru(this.slabs, n)
    const arr = (): Float64Array => new Float64Array(n)
    this.cls = {
      getHits: arr(), cmdSet: arr(), deleteHits: arr(), incrHits: arr(), decrHits: arr(),
      casHits: arr(), casBadval: arr(), touchHits: arr(), evicted: arr(), evictedNonzero: arr(),
      evictedTime: arr(), evictedUnfetched: arr(), evictedActive: arr(), outOfMemory: arr(),
      reclaimed: arr(), expiredUnfetched: arr(), crawlerReclaimed: arr(), memRequested: arr(),
      directReclaims: arr(),
    }
    const slabs = this.slabs
    this.automover = new Automove({
      largest: slabs.largest,
      evicted: (c) => this.cls.evicted[c],
      outOfMemory: (c) => this.cls.outOfMemory[c],
      pages: (c) => slabs.pagesOf[c],
      freeChunks: (c) => slabs.freeChunks(c),
      chunksPerPage: (c) => slabs.perPage[c],
      coldTailAge: (c) => this.segmentTailAge(c, SEG_COLD),
    }, o.slabAutomoveWindow ?? 30, o.slabAutomoveRatio ?? 0.8)
  }

  close (): void {
    if (this.ownsClock) (this.clock as CoarseClock).close()
  }

  now (): number { return this.clock.now() }
  relExptime (wire: number): number { return relExptime(wire, this.clock) }

  // ---- field access -------------------------------------------------------------

  private u32 (h: number): Uint32Array { return this.slabs.u32[pageOf(h)] }
  private meta (h: number): number { return this.slabs.u32[pageOf(h)][wordOf(h) + W_META] }
  private iflags (h: number): number { return this.meta(h) >>> 16 }
  private setIflag (h: number, f: number, on: boolean): void {
    const u = this.u32(h); const w = wordOf(h) + W_META
    if (on) u[w] |= f << 16; else u[w] &= ~(f << 16)
  }

  clsid (h: number): number { return (this.meta(h) >>> 8) & 0xff }
  nkey (h: number): number { return this.meta(h) & 0xff }
  flags (h: number): number { return this.u32(h)[wordOf(h) + W_FLAGS] }
  exptime (h: number): number { return this.u32(h)[wordOf(h) + W_EXPTIME] }
  /** A client changes a live item's exptime (touch, gat, mg T): reported as a mutation. */
  setExptime (h: number, e: number): void {
    this.u32(h)[wordOf(h) + W_EXPTIME] = e
    if (this.mutations !== null && this.linked(h)) this.mutations.touch(h)
  }
  private linked (h: number): boolean { return (this.iflags(h) & F_LINKED) !== 0 }
  cas (h: number): number { return this.slabs.f64[pageOf(h)][wordOf(h) >>> 1] }
  private setCas (h: number, v: number): void { this.slabs.f64[pageOf(h)][wordOf(h) >>> 1] = v }
  nbytes (h: number): number { return this.u32(h)[wordOf(h) + W_NBYTES] }
  lastAccess (h: number): number { return this.u32(h)[wordOf(h) + W_TIME] }
  fetched (h: number): boolean { return (this.iflags(h) & F_FETCHED) !== 0 }
  winTokenSent (h: number): boolean { return (this.iflags(h) & F_TOKEN_SENT) !== 0 }
  setWinTokenSent (h: number, on: boolean): void { this.setIflag(h, F_TOKEN_SENT, on); this.changed(h) }
  stale (h: number): boolean { return (this.iflags(h) & F_STALE) !== 0 }
  setStale (h: number, on: boolean): void { this.setIflag(h, F_STALE, on); this.changed(h) }
  /** Meta: the key arrived base64-encoded (memcached ITEM_KEY_BINARY); set on an allocated item. */
  keyBinary (h: number): boolean { return (this.iflags(h) & F_KEY_BINARY) !== 0 }
  setKeyBinary (h: number, on: boolean): void { this.setIflag(h, F_KEY_BINARY, on) }
  /** Meta md with I: gives a live item a fresh CAS in place (memcached ITEM_set_cas(get_cas_id())). */
  bumpCas (h: number): number { const c = this.nextCas(); this.setCas(h, c); this.changed(h); return c }
  /**
   * Meta E (memcached 1.6.27 ITEM_set_cas(it, E)): a live item's CAS becomes v, the counter
   * untouched. Nothing with -C (memcached's items then have no CAS to set).
   */
  setCasOf (h: number, v: number): void {
    if (!this.useCas) return
    this.setCas(h, v)
    this.changed(h)
  }
  /**
   * Meta E on a command that links an item (memcached 1.6.27 passes E as do_store_item's or
   * do_item_link's cas_in): links and bumpCas until endExplicitCas() give v, not the next
   * counter value, and the counter does not move.
   */
  useExplicitCas (v: number): void { this.explicitCas = v }
  endExplicitCas (): void { this.explicitCas = -1 }
  /** A live item's state changed in place: tell the mutation observer. */
  private changed (h: number): void {
    if (this.mutations !== null && this.linked(h)) this.mutations.item(h)
  }
  private chained (h: number): boolean { return (this.iflags(h) & F_CHAINED) !== 0 }

  private keyOffset (h: number): number {
    return byteOf(h) + HEADER_BYTES + (this.chained(h) ? 4 : 0)
  }

  copyKey (h: number, dst: Uint8Array, off: number): number {
    const ko = this.keyOffset(h)
    const n = this.nkey(h)
    dst.set(this.slabs.bufs[pageOf(h)].subarray(ko, ko + n), off)
    return off + n
  }

  /**
   * Calls fn over the value's contiguous pieces from value offset `from` on, in order: one
   * piece for an item up to slab_chunk_max, one per chunk of a chained item. The pieces are
   * ranges of slab pages (bufs[page]), valid until the next call that may allocate or
   * unlink; a reader that keeps them longer (a socket write) must hold the item so that
   * neither eviction nor the page mover takes it (see `evictable`).
   */
  forEachValuePiece (h: number, from: number, fn: (buf: Buffer, s: number, e: number) => void): void {
    const nbytes = this.nbytes(h)
    if (!this.chained(h)) {
      const vo = byteOf(h) + HEADER_BYTES + this.nkey(h)
      fn(this.slabs.bufs[pageOf(h)], vo + from, vo + nbytes)
      return
    }
    // A chained item's head holds no value (memcached's header item): every chunk of the
    // chain holds slab_chunk_max - 48 bytes but the last, which holds the rest.
    const contRoom = this.slabs.chunkMax - MC_CHUNK_HEADER
    let pos = 0
    let c = this.u32(h)[wordOf(h) + HEADER_BYTES / 4]
    while (c !== 0 && pos < nbytes) {
      const n = Math.min(contRoom, nbytes - pos)
      const co = byteOf(c) + HEADER_BYTES
      if (from < pos + n) {
        const skip = from > pos ? from - pos : 0
        fn(this.slabs.bufs[pageOf(c)], co + skip, co + n)
      }
      pos += n
      c = this.u32(c)[wordOf(c) + W_HNEXT]
    }
  }

  copyValue (h: number, dst: Uint8Array, off: number): number {
    if (!this.chained(h)) {
      // Hot path: one contiguous range, no closure.
      const p = pageOf(h)
      const vo = byteOf(h) + HEADER_BYTES + this.nkey(h)
      const n = this.nbytes(h)
      this.slabs.bufs[p].copy(dst, off, vo, vo + n)
      return off + n
    }
    let o = off
    this.forEachValuePiece(h, 0, (buf, s, e) => { dst.set(buf.subarray(s, e), o); o += e - s })
    return o
  }

  /** Contiguous value view when the item is not chained (valid until the next mutation), else null. */
  valueView (h: number): Buffer | null {
    if (this.chained(h)) return null
    const vo = byteOf(h) + HEADER_BYTES + this.nkey(h)
    return this.slabs.bufs[pageOf(h)].subarray(vo, vo + this.nbytes(h))
  }

  /**
   * Keeps item h's chunk as it is (not evicted, moved or reused) until the matching unpinItem(),
   * so a view from valueView(h) stays valid across event-loop turns (a socket write). It may
   * still be unlinked (deleted, replaced, expired) meanwhile: its chunk is freed at the last unpinItem.
   */
  pinItem (h: number): void {
    this.pins.set(h, (this.pins.get(h) ?? 0) + 1)
  }

  unpinItem (h: number): void {
    const n = this.pins.get(h)
    if (n === undefined) return
    if (n > 1) { this.pins.set(h, n - 1); return }
    this.pins.delete(h)
    if (this.unlinkedPinned.delete(h)) this.free(h)
  }

  /** Items pinned now (each counted once, whatever its count). */
  pinnedItems (): number { return this.pins.size }

  private pinnedOnPage (page: number): boolean {
    for (const h of this.pins.keys()) if (pageOf(h) === page) return true
    return false
  }

  // ---- lookup ---------------------------------------------------------------------

  /** Flushed by flush_all (memcached item_is_flushed). */
  private isFlushed (h: number): boolean {
    const ol = this.oldestLive
    if (ol === 0 || ol > this.clock.now()) return false
    if (this.lastAccess(h) <= ol) return true
    const oc = this.oldestCas
    if (oc !== 0) { const c = this.cas(h); if (c !== 0 && c < oc) return true }
    return false
  }

  prefetch (key: Uint8Array, ks: Int32Array, ke: Int32Array, from: number, to: number): void {
    const hvs = this.prefetchHashes
    let m = 0
    for (let i = from; i < to && m < hvs.length; i++) hvs[m++] = hashKey(key, ks[i], ke[i])
    this.prefetchSink = this.index.prefetch(hvs, this.prefetchHeads, m)
  }

  find (key: Uint8Array, ks: number, ke: number): number {
    return this.lookup(key, ks, ke, hashKey(key, ks, ke), true)
  }

  /**
   * memcached do_item_get: the live item or 0; a flushed or expired one is unlinked on the
   * way (lazy expiry) and reported to the observer. `count`: the get_flushed/get_expired
   * counters move (a client lookup), or not (the lookup inside link(), DONT_UPDATE).
   */
  private lookup (key: Uint8Array, ks: number, ke: number, hv: number, count: boolean): number {
    const h = this.index.find(key, ks, ke, hv)
    const obs = this.observer
    if (h === 0) {
      if (obs !== null) obs.fetch(FetchStatus.NotFound, key, ks, ke, 0)
      return 0
    }
    let status: FetchStatus = FetchStatus.Found
    if (this.isFlushed(h)) {
      status = FetchStatus.Flushed
      if (count) this.counters.get_flushed++
    } else if (isExpired(this.exptime(h), this.clock.now())) {
      status = FetchStatus.Expired
      if (count) {
        this.counters.get_expired++
        if (!this.fetched(h)) { this.counters.expired_unfetched++; this.cls.expiredUnfetched[this.clsid(h)]++ }
      }
    }
    if (status !== FetchStatus.Found) {
      this.unlinkHv(h, hv)
      if (obs !== null) obs.fetch(status, key, ks, ke, 0)
      return 0
    }
    if (obs !== null) obs.fetch(FetchStatus.Found, key, ks, ke, h)
    return h
  }

  touchRead (h: number): void {
    if (!this.lru.segmented) {
      // memcached do_item_bump in flat mode: FETCHED, then do_item_update relinks at the
      // head at most once per ITEM_UPDATE_INTERVAL.
      this.setIflag(h, F_FETCHED, true)
      const now = this.clock.now()
      const u = this.u32(h); const w = wordOf(h) + W_TIME
      if (u[w] < now - ITEM_UPDATE_INTERVAL) { u[w] = now; this.lru.toHead(h, this.clsid(h)) }
      return
    }
    // memcached do_item_bump (segmented): first read marks FETCHED, the next ACTIVE;
    // COLD items that become active go back to WARM.
    const f = this.iflags(h)
    if ((f & F_ACTIVE) !== 0) return
    if ((f & F_FETCHED) === 0) { this.setIflag(h, F_FETCHED, true); return }
    const c = this.clsid(h)
    if (this.lru.segmentOf(h) === SEG_COLD) {
      this.lru.bump(h, c)
      this.u32(h)[wordOf(h) + W_TIME] = this.clock.now()
    } else {
      this.setIflag(h, F_ACTIVE, true)
      this.u32(h)[wordOf(h) + W_TIME] = this.clock.now()
    }
  }

  /** memcached do_item_update: refresh access time at most once per ITEM_UPDATE_INTERVAL. */
  touchUpdate (h: number): void {
    const now = this.clock.now()
    const u = this.u32(h); const w = wordOf(h) + W_TIME
    if (u[w] < now - ITEM_UPDATE_INTERVAL) u[w] = now
  }

  // ---- allocation -------------------------------------------------------------------

  /** memcached item_size_ok(): the limit is computed with memcached's header sizes so the
   *  same values are accepted and rejected as by memcached with the same -I. */
  itemSizeOk (nkey: number, flags: number, nbytes: number): boolean {
    const total = MC_ITEM_HEADER + (this.useCas ? 8 : 0) + nkey + 1 + (flags !== 0 ? 4 : 0) + nbytes + 2
    return total <= this.itemSizeMax
  }

  /** Whether memcached (do_item_alloc) would store this item chunked: its total size with
   *  memcached's header formula over slab_chunk_max. */
  private mcChunked (nkey: number, flags: number, nbytes: number): boolean {
    return MC_ITEM_HEADER + nkey + 1 + (flags !== 0 ? 4 : 0) + nbytes + 2 + (this.useCas ? 8 : 0) > this.slabs.chunkMax
  }

  alloc (key: Uint8Array, ks: number, ke: number, flags: number, exptime: number, nbytes: number): number {
    const nkey = ke - ks
    if (!this.itemSizeOk(nkey, flags, nbytes)) return -StoreResult.TooLarge
    const total = HEADER_BYTES + nkey + nbytes
    let h: number
    let chained = false
    if (total <= this.slabs.chunkMax) {
      const c = this.slabs.classFor(total)
      h = this.allocChunk(c)
      if (h === 0) { this.cls.outOfMemory[c]++; return -StoreResult.NoMemory }
    } else {
      h = this.allocChain(nkey, nbytes)
      if (h === 0) { this.cls.outOfMemory[this.slabs.largest]++; return -StoreResult.NoMemory }
      chained = true
    }
    const u = this.u32(h)
    const w = wordOf(h)
    this.setCas(h, 0)
    u[w + W_HNEXT] = 0
    u[w + W_EXPTIME] = exptime
    u[w + W_TIME] = this.clock.now()
    u[w + W_FLAGS] = flags
    u[w + W_NBYTES] = nbytes
    const c = chained ? this.slabs.largest : this.slabs.pageClass[pageOf(h)]
    u[w + W_META] = nkey | (c << 8) | ((F_ALLOCATED | (chained ? F_CHAINED : 0)) << 16)
    const ko = byteOf(h) + HEADER_BYTES + (chained ? 4 : 0)
    const buf = this.slabs.bufs[pageOf(h)]
    for (let i = 0; i < nkey; i++) buf[ko + i] = key[ks + i]
    return h
  }

  /**
   * A chain as memcached's do_item_alloc builds a chunked item: a head chunk of the smallest
   * class that holds the header, the chain word and the key, then value chunks of the
   * largest class (slab_chunk_max), the last one of the smallest class that holds what is
   * left. The item lives in the largest class's LRU (the head's META clsid), as memcached's.
   */
  private allocChain (nkey: number, nbytes: number): number {
    const big = this.slabs.largest
    const contRoom = this.slabs.chunkMax - MC_CHUNK_HEADER
    const conts = Math.ceil(nbytes / contRoom)
    const head = this.allocChunk(this.slabs.classFor(HEADER_BYTES + 4 + nkey))
    if (head === 0) return 0
    this.u32(head)[wordOf(head) + W_META] = (big << 8) | ((F_ALLOCATED | F_CHAINED) << 16)
    // No pin here: the chunks being chained are ALLOCATED and unlinked, which the LRU and
    // the page mover already leave alone; `pin` stays the caller's (append's old item).
    let prev = head
    let prevWord = wordOf(head) + HEADER_BYTES / 4 // head's chain pointer lives after the header
    // Cleared now: if a continuation cannot be had, freeChain(head) follows this pointer, and
    // the chunk's old bytes may still hold a previous chain's (now reused) chunks.
    this.u32(head)[prevWord] = 0
    for (let i = 0; i < conts; i++) {
      const cls = i < conts - 1 ? big : this.slabs.classFor(Math.min(this.slabs.chunkMax, MC_CHUNK_HEADER + nbytes - i * contRoom + 2))
      const c = this.allocChunk(cls)
      if (c === 0) {
        this.freeChain(head)
        return 0
      }
      const cu = this.u32(c); const cw = wordOf(c)
      cu[cw + W_HNEXT] = 0
      cu[cw + W_OWNER] = head
      cu[cw + W_META] = (cls << 8) | ((F_CONT | F_ALLOCATED) << 16)
      this.u32(prev)[prevWord] = c
      prev = c
      prevWord = cw + W_HNEXT
    }
    this.u32(prev)[prevWord] = 0
    return head
  }

  /** Frees the head chunk and every continuation chunk of a chained item. */
  private freeChain (head: number): void {
    let c = this.u32(head)[wordOf(head) + HEADER_BYTES / 4]
    this.slabs.free(head)
    while (c !== 0) {
      const next = this.u32(c)[wordOf(c) + W_HNEXT]
      this.slabs.free(c)
      c = next
    }
  }

  /**
   * The one place eviction (pullTail) and the page mover (reassignPage) ask whether a linked
   * item may be taken now: not while a request holds it (an append's old item). A reader
   * that keeps an item's value pieces past its call (a zero-copy socket write) is to be
   * checked here too.
   */
  private evictable (h: number): boolean { return h !== this.pin && (this.pins.size === 0 || !this.pins.has(h)) }

  /** A chunk of class c: free, carved, a new page, or by evicting the class's coldest item. */
  private allocChunk (c: number): number {
    // Flat LRU (-o no_lru_segmented, no_modern): memcached's do_item_alloc_pull first frees
    // one expired or flushed item from the class's tail, if any, before taking a chunk.
    if (!this.lru.segmented) this.reclaimOne(c)
    for (let attempt = 0; attempt < 50; attempt++) {
      const h = this.slabs.alloc(c)
      if (h !== 0) return h
      if (!this.pullTail(c)) {
        // Nothing evictable in this class: move a page from another class (inline
        // rescue of memcached's slab_automove) when allowed.
        if (!this.slabReassign || !this.evictionsEnabled || !this.movePageTo(c)) return 0
      }
    }
    return 0
  }

  /**
   * memcached's LRU maintainer, the part that frees memory: looks at up to `search` items
   * from the tail of each LRU segment of every class and reclaims the expired and flushed
   * ones (`reclaimed`, `expired_unfetched`), so their chunks are reused before anything is
   * evicted or a new page taken, without waiting for a read or a crawler pass. Returns the
   * number reclaimed. Cost: classes x 3 x search header reads.
   */
  reclaimTails (search = 5): number {
    const now = this.clock.now()
    let n = 0
    for (let c = 1; c <= this.slabs.largest; c++) {
      for (let seg = 0; seg < SEGMENTS; seg++) {
        let h = this.lru.victimList(c, seg)
        // Up to `search` live items are stepped over; expired ones are taken as found (at
        // most MAINTAIN_BATCH per segment and pass, as memcached's juggle loop bounds it).
        for (let live = 0, taken = 0; h !== 0 && live < search && taken < MAINTAIN_BATCH;) {
          const prev = this.u32(h)[wordOf(h) + 3]
          if (this.evictable(h) && (isExpired(this.exptime(h), now) || this.isFlushed(h))) {
            this.reclaim(h, c)
            n++
            taken++
          } else live++
          h = prev
        }
      }
    }
    return n
  }

  /** Frees an expired or flushed item of class c, counted as memcached counts it (reclaimed). */
  private reclaim (h: number, c: number): void {
    this.counters.reclaimed++
    this.cls.reclaimed[c]++
    if (!this.fetched(h)) { this.counters.expired_unfetched++; this.cls.expiredUnfetched[c]++ }
    this.drop(h)
  }

  /** Reclaims the first expired or flushed item among the 5 at class c's tail (lru_pull_tail, search 5). */
  private reclaimOne (c: number): void {
    const now = this.clock.now()
    let h = this.lru.oldest(c)
    for (let tries = 0; h !== 0 && tries < 5; tries++) {
      const prev = this.u32(h)[wordOf(h) + 3]
      if (this.evictable(h) && (isExpired(this.exptime(h), now) || this.isFlushed(h))) {
        this.reclaim(h, c)
        return
      }
      h = prev
    }
  }

  /**
   * Frees one item at the tail of class c: an expired/flushed one is reclaimed whatever
   * -M says; a live one is evicted only when evictions are enabled.
   */
  private pullTail (c: number): boolean {
    const now = this.clock.now()
    // COLD, HOT, WARM: never TEMP (memcached evicts from COLD only; TEMP items leave when they expire).
    for (let seg = 0; seg < 3; seg++) {
      let h = this.lru.victimList(c, seg)
      for (let tries = 0; h !== 0 && tries < EVICT_TRIES; tries++) {
        const prev = this.u32(h)[wordOf(h) + 3]
        if (!this.evictable(h)) { h = prev; continue }
        if (isExpired(this.exptime(h), now) || this.isFlushed(h)) {
          this.reclaim(h, c)
          return true
        }
        if (!this.evictionsEnabled) { h = prev; continue }
        this.counters.evictions++
        this.cls.evicted[c]++
        const e = this.exptime(h)
        if (e !== 0) { this.cls.evictedNonzero[c]++ }
        this.cls.evictedTime[c] = now - this.lastAccess(h)
        if (!this.fetched(h)) { this.counters.evicted_unfetched++; this.cls.evictedUnfetched[c]++ }
        if ((this.iflags(h) & F_ACTIVE) !== 0) { this.counters.evicted_active++; this.cls.evictedActive[c]++ }
        if (this.observer !== null) this.observer.evict(h)
        this.drop(h)
        return true
      }
    }
    return false
  }

  writeValue (h: number, src: Uint8Array, s: number, e: number, at: number): void {
    if (!this.chained(h)) {
      const vo = byteOf(h) + HEADER_BYTES + this.nkey(h) + at
      this.slabs.bufs[pageOf(h)].set(src.subarray(s, e), vo)
      return
    }
    let i = s
    this.forEachValuePiece(h, at, (buf, ps, pe) => {
      if (i >= e) return
      const n = Math.min(pe - ps, e - i)
      buf.set(src.subarray(i, i + n), ps)
      i += n
    })
  }

  free (h: number): void {
    if (this.chained(h)) this.freeChain(h); else this.slabs.free(h)
  }

  // ---- linking ----------------------------------------------------------------------

  private nextCas (): number {
    if (!this.useCas) return 0
    return this.explicitCas >= 0 ? this.explicitCas : ++this.casCounter
  }

  /**
   * The list a newly linked item enters (memcached do_item_alloc): TEMP when the TEMP LRU is
   * on and the item expires within temporary_ttl seconds (never for exptime 0 or a time
   * already past: memcached's unsigned `exptime - current_time` wraps there), else HOT, or
   * COLD with a flat LRU.
   */
  private linkSegment (h: number): number {
    const ttl = this.tempTtl
    if (ttl >= 0) {
      const e = this.exptime(h)
      const now = this.clock.now()
      if (e !== 0 && e >= now && e - now <= ttl) return SEG_TEMP
    }
    return this.lru.segmented ? SEG_HOT : SEG_COLD
  }

  private doLink (h: number, hv: number): void {
    const c = this.clsid(h)
    this.setCas(h, this.nextCas())
    this.setIflag(h, F_LINKED, true)
    this.u32(h)[wordOf(h) + W_TIME] = this.clock.now()
    this.index.insert(h, hv)
    this.lru.insert(h, c, this.linkSegment(h))
    this.lru.balance(c)
    this.counters.curr_items++
    this.counters.total_items++
    const sz = this.itemBytes(h)
    this.counters.bytes += sz
    this.cls.memRequested[c] += sz
  }

  /** Bytes this item counts for in `stats bytes` (memcached's ITEM_ntotal, our layout). */
  private itemBytes (h: number): number {
    return HEADER_BYTES + this.nkey(h) + this.nbytes(h) + (this.chained(h) ? 4 : 0)
  }

  private unlinkHv (h: number, hv: number): void {
    const c = this.clsid(h)
    this.index.remove(h, hv)
    this.lru.remove(h, c)
    this.counters.curr_items--
    const sz = this.itemBytes(h)
    this.counters.bytes -= sz
    this.cls.memRequested[c] -= sz
    if (this.pins.size !== 0 && this.pins.has(h)) {
      // A reply is still being sent from this chunk: free it at the last unpin. It stays
      // ALLOCATED and unlinked meanwhile, which the page mover already leaves alone.
      this.setIflag(h, F_LINKED, false)
      this.unlinkedPinned.add(h)
      return
    }
    this.free(h)
  }

  /** A client removes a live item (delete, md, a failed set's old value). */
  unlink (h: number): void {
    if (this.mutations !== null) this.mutations.remove(h)
    this.unlinkHv(h, this.index.hashOfItem(h))
  }

  /** The store itself removes an item (eviction, expiry, crawler, page mover): no mutation. */
  private drop (h: number): void {
    this.unlinkHv(h, this.index.hashOfItem(h))
  }

  private replace (old: number, h: number, hv: number): void {
    this.unlinkHv(old, hv)
    this.doLink(h, hv)
  }

  lastCas (): number { return this.lastCasValue }

  /**
   * link(h, Add) without telling the observer: memcached's mg vivify links its new item
   * with do_item_link, not do_store_item, so no lookup and no store is logged for it.
   */
  linkUnobserved (h: number, mode: StoreMode, casIn: number): StoreResult {
    const observer = this.observer
    this.observer = null
    try {
      return this.link(h, mode, casIn)
    } finally {
      this.observer = observer
    }
  }

  link (h: number, mode: StoreMode, casIn: number, allowStale = false): StoreResult {
    const hv = this.index.hashOfItem(h)
    const ko = this.keyOffset(h)
    const buf = this.slabs.bufs[pageOf(h)]
    const old = this.lookup(buf, ko, ko + this.nkey(h), hv, false)
    const c = this.clsid(h)
    this.cls.cmdSet[c]++
    let result: StoreResult = StoreResult.NotStored
    let stored = h
    if (old !== 0) {
      const oldCas = this.cas(old)
      // CAS_NONE 0, MATCH 1, STALE 2, BADVAL 3
      const casRes = casIn === 0 ? 0 : casIn === oldCas ? 1 : (allowStale && casIn < oldCas) ? 2 : 3
      let doStore = false
      switch (mode) {
        case StoreMode.Add:
          this.touchUpdate(old)
          break
        case StoreMode.Cas:
          if (casRes === 1) {
            this.cls.casHits[this.clsid(old)]++
            doStore = true
          } else if (casRes === 2) {
            this.u32(h)[wordOf(h) + W_EXPTIME] = this.exptime(old)
            this.setIflag(h, F_STALE, true)
            if (this.winTokenSent(old)) this.setIflag(h, F_TOKEN_SENT, true)
            this.cls.casHits[this.clsid(old)]++
            doStore = true
          } else {
            this.cls.casBadval[this.clsid(old)]++
            result = StoreResult.Exists
          }
          break
        case StoreMode.Append:
        case StoreMode.Prepend: {
          if (casRes !== 0 && casRes !== 1) { result = StoreResult.Exists; break }
          const merged = this.concat(old, h, mode === StoreMode.Append)
          if (merged <= 0) break // out of memory: NOT_STORED as memcached
          this.free(h)
          stored = merged
          doStore = true
          break
        }
        case StoreMode.Replace:
        case StoreMode.Set:
          doStore = true
          break
      }
      if (doStore) {
        this.replace(old, stored, hv)
        result = StoreResult.Stored
      }
    } else {
      switch (mode) {
        case StoreMode.Add:
        case StoreMode.Set:
          this.doLink(h, hv)
          result = StoreResult.Stored
          break
        case StoreMode.Cas:
          result = StoreResult.NotFound
          break
        default:
          break // replace/append/prepend need an item
      }
    }
    if (this.observer !== null) this.observer.store(result, mode, stored)
    if (result === StoreResult.Stored) {
      this.lastCasValue = this.cas(stored)
      if (this.mutations !== null) this.mutations.item(stored)
    } else {
      this.free(h)
    }
    return result
  }


  /** New item holding old's value with add's appended (or prepended), old's flags and exptime. */
  private concat (old: number, add: number, append: boolean): number {
    const nOld = this.nbytes(old)
    const nAdd = this.nbytes(add)
    const nkey = this.nkey(old)
    const kbuf = Buffer.allocUnsafe(nkey)
    this.copyKey(old, kbuf, 0)
    this.pin = old
    const h = this.alloc(kbuf, 0, nkey, this.flags(old), this.exptime(old), nOld + nAdd)
    this.pin = 0
    if (h <= 0) return h
    const first = append ? old : add
    const second = append ? add : old
    let at = 0
    this.forEachValuePiece(first, 0, (b, s, e) => { this.writeValue(h, b, s, e, at); at += e - s })
    this.forEachValuePiece(second, 0, (b, s, e) => { this.writeValue(h, b, s, e, at); at += e - s })
    return h
  }

  // ---- arithmetic -------------------------------------------------------------------

  lastArith (): bigint { return this.lastArithValue }

  arith (h: number, incr: boolean, delta: bigint, casIn: number): StoreResult {
    const nbytes = this.nbytes(h)
    // memcached do_add_delta: empty and chunked values are not numbers. memcached chunks an
    // item whose own size (its header formula) exceeds slab_chunk_max, a little below where
    // our chains start: decide with its formula so the same values are refused.
    if (nbytes === 0 || this.chained(h) || this.mcChunked(this.nkey(h), this.flags(h), nbytes)) return StoreResult.NonNumeric
    if (casIn !== 0 && this.cas(h) !== casIn) return StoreResult.Exists
    const view = this.valueView(h) as Buffer
    const value = parseValueU64(view)
    if (value < 0n) return StoreResult.NonNumeric
    const c = this.clsid(h)
    let v: bigint
    if (incr) {
      v = (value + delta) & U64_MAX
      this.cls.incrHits[c]++
    } else {
      v = delta > value ? 0n : value - delta
      this.cls.decrHits[c]++
    }
    this.lastArithValue = v
    const digits = v.toString()
    if (digits.length <= nbytes) {
      // In place, padded with spaces: memcached keeps the length when the number shrinks.
      this.setCas(h, this.nextCas())
      for (let i = 0; i < digits.length; i++) view[i] = digits.charCodeAt(i)
      view.fill(32, digits.length, nbytes)
      this.touchUpdate(h)
      this.lastCasValue = this.cas(h)
      if (this.mutations !== null) this.mutations.item(h)
      return StoreResult.Stored
    }
    // Longer: a new item with the same key, flags and exptime replaces the old one.
    const nkey = this.nkey(h)
    const kbuf = Buffer.allocUnsafe(nkey)
    this.copyKey(h, kbuf, 0)
    this.pin = h
    const n = this.alloc(kbuf, 0, nkey, this.flags(h), this.exptime(h), digits.length)
    this.pin = 0
    if (n <= 0) return StoreResult.NoMemory
    const tmp = Buffer.from(digits, 'latin1')
    this.writeValue(n, tmp, 0, tmp.length, 0)
    this.replace(h, n, this.index.hashOfItem(h))
    this.lastCasValue = this.cas(n)
    if (this.mutations !== null) this.mutations.item(n)
    return StoreResult.Stored
  }

  // ---- flush, crawl, page moves --------------------------------------------------------

  flush (relAt: number): void {
    // memcached process_flush_all: with CAS, items stored in the same second are caught
    // by the CAS watermark.
    if (this.useCas) {
      this.oldestLive = relAt - 1
      if (this.oldestLive <= this.clock.now()) this.oldestCas = ++this.casCounter // memcached get_cas_id()
    } else {
      this.oldestLive = relAt
    }
    if (this.mutations !== null) this.mutations.flush(this.oldestLive, this.oldestCas)
  }

  /**
   * One bounded crawler step: checks up to `budget` items from hash bucket `cursor` on,
   * reclaiming expired and flushed ones. Returns the next cursor (0 after a full pass).
   */
  crawl (cursor: number, budget: number): number {
    const now = this.clock.now()
    const idx = this.index
    let i = cursor
    let checked = 0
    let visited = 0
    // Empty buckets count too, so a large, sparse table is also walked in bounded steps.
    while (checked + visited < budget && i < idx.size) {
      visited++
      let h = idx.chainAt(i)
      while (h !== 0) {
        const next = this.u32(h)[wordOf(h) + W_HNEXT]
        checked++
        if (isExpired(this.exptime(h), now) || this.isFlushed(h)) {
          const c = this.clsid(h)
          this.counters.crawler_reclaimed++
          this.cls.crawlerReclaimed[c]++
          if (!this.fetched(h)) { this.counters.expired_unfetched++; this.cls.expiredUnfetched[c]++ }
          this.drop(h)
        }
        h = next
      }
      i++
    }
    this.counters.crawler_items_checked += checked
    if (idx.expanding) idx.migrate(64)
    return i >= idx.size ? 0 : i
  }

  /**
   * Moves one page from the class that can best spare it to class `to`, emptying it
   * first (items are rescued into free chunks of their class when possible, else evicted).
   * The donor is the class with the oldest LRU tail among those with more than one page.
   */
  /**
   * One second of memcached's slab_automove=1 (automove.ts): at most one page moves, from
   * the class the decision names to another class or to the global pool. True if one did.
   */
  automoveTick (): boolean {
    const move = this.automover.run()
    if (move === null) return false
    return this.reassignPage(move[0], move[1])
  }

  movePageTo (to: number, background = false): boolean {
    // Best donor first; one whose every page holds something that may not be taken now (a
    // chain being built, a pinned item) gives way to the next. Taking only the best failed
    // whenever that was the chain heads' class, whose one page holds the chain in flight:
    // memcached's t/chunked-items.t then got out of memory where memcached stores.
    for (const donor of this.donors(to, background)) if (this.reassignPage(donor, to)) return true
    return false
  }

  /** Classes that may give `to` a page, best first. */
  private donors (to: number, background: boolean): number[] {
    const list: Array<[number, number]> = [] // [class, oldest item's age]
    const now = this.clock.now()
    // In the background, only take from a class whose oldest item is clearly older than
    // the needy class's (memcached automove compares LRU tail ages the same way).
    const minAge = background ? 2 * this.oldestAge(to) + 1 : -1
    for (let c = 1; c <= this.slabs.largest; c++) {
      if (c === to || this.slabs.pagesOf[c] === 0) continue
      if (this.slabs.pagesOf[c] === 1 && this.slabs.usedChunks[c] > 0 && this.slabs.pagesOf[to] > 0) continue
      const t = this.lru.oldest(c)
      const age = t === 0 ? Number.MAX_SAFE_INTEGER : now - this.lastAccess(t)
      if (background && (this.slabs.pagesOf[c] < 2 || age < minAge)) continue
      list.push([c, age])
    }
    // Oldest first. Ages are whole seconds: on a tie, the class with the most pages gives
    // one (the smallest share of its items), not the first in class order, which is the
    // small items' class (compat-tests/bench/hits.ts size-shift).
    const pages = this.slabs.pagesOf
    list.sort((a, b) => b[1] - a[1] || pages[b[0]] - pages[a[0]] || a[0] - b[0])
    return list.map((e) => e[0])
  }

  private oldestAge (c: number): number {
    const t = this.lru.oldest(c)
    return t === 0 ? 0 : this.clock.now() - this.lastAccess(t)
  }

  /**
   * Empties a page of class `from` and gives it to `to`: the page holding the fewest live
   * chunks (cheapest to empty) among those that may be taken now. False if none may.
   */
  reassignPage (from: number, to: number): boolean {
    const slabs = this.slabs
    const candidates: Array<[number, number]> = [] // [page, live chunks]
    for (let p = 1; p < slabs.pageClass.length; p++) {
      if (slabs.pageClass[p] !== from) continue
      let live = 0
      const n = slabs.carvedCount(p)
      const u = slabs.u32[p]
      for (let i = 0; i < n; i++) {
        const w = wordOf(slabs.chunkHandle(p, i)) + W_META
        if ((u[w] >>> 16 & (F_LINKED | F_CONT | F_ALLOCATED)) !== 0) live++
      }
      candidates.push([p, live])
      if (live === 0) break
    }
    candidates.sort((a, b) => a[1] - b[1] || a[0] - b[0])
    for (const [page] of candidates) {
      if (this.movable(page)) { this.movePage(page, to); return true }
    }
    return false
  }

  /** Whether every chunk of `page` may be taken now. */
  private movable (page: number): boolean {
    if (this.pins.size !== 0 && this.pinnedOnPage(page)) return false
    const slabs = this.slabs
    const n = slabs.carvedCount(page)
    const u = slabs.u32[page]
    // Allocated-but-unlinked chunks belong to a request in flight: never steal those.
    for (let i = 0; i < n; i++) {
      const h = slabs.chunkHandle(page, i)
      const f = u[wordOf(h) + W_META] >>> 16
      if ((f & F_ALLOCATED) !== 0 && (f & (F_LINKED | F_CONT)) === 0) return false
      if ((f & F_CONT) !== 0) {
        const owner = u[wordOf(h) + W_OWNER]
        if ((this.iflags(owner) & F_LINKED) === 0 || !this.evictable(owner)) return false
      }
      if (!this.evictable(h)) return false
    }
    return true
  }

  /** Empties `page` (rescuing what fits elsewhere in its class, evicting the rest) and gives it to `to`. */
  private movePage (page: number, to: number): void {
    const slabs = this.slabs
    const n = slabs.carvedCount(page)
    const u = slabs.u32[page]
    slabs.beginMove(page)
    for (let i = 0; i < n; i++) {
      const h = slabs.chunkHandle(page, i)
      const f = u[wordOf(h) + W_META] >>> 16
      if ((f & F_CONT) !== 0) {
        const owner = u[wordOf(h) + W_OWNER]
        if ((this.iflags(owner) & F_LINKED) !== 0) { this.counters.slab_reassign_evictions_nomem++; this.drop(owner) }
      } else if ((f & F_LINKED) !== 0) {
        if (!this.rescue(h, page)) { this.counters.slab_reassign_evictions_nomem++; this.drop(h) }
      }
    }
    slabs.reassign(page, to)
    this.counters.slabs_moved++
  }

  /** Copies a live item into a free chunk of its class outside `page`; true if done. */
  private rescue (h: number, page: number): boolean {
    if (this.chained(h)) return false
    const c = this.clsid(h)
    if (this.slabs.freeChunks(c) <= 1) return false
    const n = this.slabs.alloc(c)
    if (n === 0) return false
    if (pageOf(n) === page) { this.slabs.free(n); return false }
    const size = this.slabs.chunkSize[c]
    this.slabs.bufs[pageOf(n)].set(this.slabs.bufs[page].subarray(byteOf(h), byteOf(h) + size), byteOf(n))
    // Swap n into h's place in the hash chain and the LRU.
    const hv = this.index.hashOfItem(h)
    const seg = this.lru.segmentOf(h)
    this.index.remove(h, hv)
    this.lru.remove(h, c)
    this.index.insert(n, hv)
    this.lru.insert(n, c, seg)
    this.slabs.free(h)
    this.counters.slab_reassign_rescues++
    if (this.mutations !== null) this.mutations.relocated(n)
    return true
  }

  // ---- replication support (lib/replication): reading whole items, applying them ------------

  /** Meta bits that travel with an item: 1 stale, 2 win token sent, 4 binary key. */
  itemBits (h: number): number {
    const f = this.iflags(h)
    return ((f & F_STALE) !== 0 ? 1 : 0) | ((f & F_TOKEN_SENT) !== 0 ? 2 : 0) | ((f & F_KEY_BINARY) !== 0 ? 4 : 0)
  }

  /** Whether h is the head of a linked item (a snapshot handle may have been reused or freed). */
  isLiveHead (h: number): boolean {
    const p = pageOf(h)
    if (p <= 0 || p >= this.slabs.u32.length || this.slabs.u32[p] === undefined) return false
    const f = this.iflags(h)
    return (f & F_LINKED) !== 0 && (f & F_CONT) === 0
  }

  // ---- debug dumps (stats cachedump, lru_crawler metadump) -----------------------------

  /** Newest item of segment seg (SEG_HOT/WARM/COLD) of class c, or 0. */
  lruHead (c: number, seg: number): number { return this.lru.head[c * SEGMENTS + seg] }
  /** The next older item in h's LRU segment, or 0. */
  lruNext (h: number): number { return this.u32(h)[wordOf(h) + W_NEXT] }
  /** Expired or flushed but not yet reclaimed, as memcached's crawler judges it for a dump
   *  (crawler_metadump_eval: expired strictly before now). */
  isDead (h: number): boolean {
    const e = this.exptime(h)
    return (e !== 0 && e < this.clock.now()) || this.isFlushed(h)
  }

  /** Unix time of store time 0 (absolute times in dumps are store time + this). */
  get processStarted (): number { return this.clock.processStarted }

  /** The flush_all watermarks (see flush()). */
  get flushState (): { oldestLive: number, oldestCas: number } { return { oldestLive: this.oldestLive, oldestCas: this.oldestCas } }

  /** Slab pages so far (page numbers run 1 .. pageCount - 1). */
  get pageCount (): number { return this.slabs.pageClass.length }

  /**
   * Appends the handles of the live items on pages [from, to) to handles at n, and their
   * idle seconds (capped at RECENCY_BUCKETS - 1) to ages; returns the new n (at most
   * handles.length). Pages are stable while items come and go (only the page mover moves
   * an item, and it reports that as relocated()), so a walk spread over several
   * event-loop turns still meets every item that stays live throughout. Sequential
   * memory: each chunk's header is read once.
   */
  listLivePages (from: number, to: number, handles: Uint32Array, ages: Uint16Array, n: number): number {
    const slabs = this.slabs
    const now = this.clock.now()
    const end = Math.min(to, slabs.pageClass.length)
    for (let p = Math.max(1, from); p < end && n < handles.length; p++) {
      if (slabs.pageClass[p] === 0) continue
      const u = slabs.u32[p]
      const count = slabs.carvedCount(p)
      for (let i = 0; i < count && n < handles.length; i++) {
        const h = slabs.chunkHandle(p, i)
        const w = wordOf(h)
        const f = u[w + W_META] >>> 16
        if ((f & F_LINKED) === 0 || (f & F_CONT) !== 0) continue
        handles[n] = h
        ages[n++] = Math.min(RECENCY_BUCKETS - 1, Math.max(0, now - u[w + W_TIME]))
      }
    }
    return n
  }

  /** Orders handles[0, n) by age, youngest first: a counting sort, O(n), over the ages given. */
  static sortByRecency (handles: Uint32Array, ages: Uint16Array, n: number): Uint32Array {
    const counts = new Uint32Array(RECENCY_BUCKETS + 1)
    for (let i = 0; i < n; i++) counts[ages[i] + 1]++
    for (let b = 1; b <= RECENCY_BUCKETS; b++) counts[b] += counts[b - 1]
    const out = new Uint32Array(n)
    for (let i = 0; i < n; i++) out[counts[ages[i]]++] = handles[i]
    return out
  }

  /**
   * Stores an item exactly as another node holds it: value, flags, store-time exptime, CAS
   * and meta bits. Not a client write: no observer hears it. When it cannot be stored
   * (too large or no memory here), any older value of the key is removed instead, so
   * it is never served in its place.
   */
  applyItem (key: Uint8Array, ks: number, ke: number, flags: number, exptime: number, cas: number, bits: number,
    value: Uint8Array, vs: number, ve: number): StoreResult {
    const observer = this.observer
    const mutations = this.mutations
    this.observer = null
    this.mutations = null
    try {
      const h = this.alloc(key, ks, ke, flags, exptime, ve - vs)
      if (h < 0) {
        const old = this.find(key, ks, ke)
        if (old !== 0) this.drop(old)
        return -h as StoreResult
      }
      this.writeValue(h, value, vs, ve, 0)
      if ((bits & 4) !== 0) this.setIflag(h, F_KEY_BINARY, true)
      this.link(h, StoreMode.Set, 0)
      this.setCas(h, cas)
      if (cas > this.casCounter) this.casCounter = cas
      this.setIflag(h, F_STALE, (bits & 1) !== 0)
      this.setIflag(h, F_TOKEN_SENT, (bits & 2) !== 0)
      return StoreResult.Stored
    } finally {
      this.observer = observer
      this.mutations = mutations
    }
  }

  /** Sets a key's exptime as another node did (not a client write). */
  applyTouch (key: Uint8Array, ks: number, ke: number, exptime: number): void {
    const h = this.index.find(key, ks, ke, hashKey(key, ks, ke))
    if (h !== 0) this.u32(h)[wordOf(h) + W_EXPTIME] = exptime
  }

  /** Removes a key as another node did (not a client write). */
  applyDelete (key: Uint8Array, ks: number, ke: number): void {
    const hv = hashKey(key, ks, ke)
    const h = this.index.find(key, ks, ke, hv)
    if (h !== 0) this.unlinkHv(h, hv)
  }

  /** Takes another node's flush_all watermarks (store time, CAS) as they are. */
  applyFlush (oldestLive: number, oldestCas: number): void {
    this.oldestLive = oldestLive
    this.oldestCas = oldestCas
    if (oldestCas > this.casCounter) this.casCounter = oldestCas
  }

  /**
   * Removes every item and forgets flush_all (a replica before a full sync). expectItems:
   * the hash table is sized for that many at once, instead of doubling its way there.
   */
  clear (expectItems = 0): void {
    for (let c = 1; c <= this.slabs.largest; c++) {
      for (let seg = 0; seg < SEGMENTS; seg++) {
        let h: number
        while ((h = this.lru.head[c * SEGMENTS + seg]) !== 0) this.drop(h)
      }
    }
    this.index.resetEmpty(expectItems)
    this.oldestLive = 0
    this.oldestCas = 0
  }

  /** Starts a full crawler pass now (`lru_crawler crawl`). */
  crawlAll (): void {
    this.counters.crawler_starts++
    let cursor = 0
    do { cursor = this.crawl(cursor, 100000) } while (cursor !== 0)
  }

  /** `stats reset`: counters that memcached resets. */
  resetStats (): void {
    const c = this.counters
    c.total_items = 0; c.evictions = 0; c.reclaimed = 0; c.expired_unfetched = 0
    c.evicted_unfetched = 0; c.evicted_active = 0; c.get_expired = 0; c.get_flushed = 0
    c.crawler_reclaimed = 0; c.crawler_items_checked = 0; c.slabs_moved = 0
    for (const a of Object.values(this.cls)) if (a !== this.cls.memRequested) a.fill(0)
  }

  /** Pages, chunk counts and LRU sizes for `stats slabs` / `stats items`. */
  get totalMalloced (): number { return this.slabs.mallocedBytes }
  get pageSize (): number { return PAGE_SIZE }
  /**
   * memcached `lru mode` / `lru tune`: segmented or flat, and the HOT and WARM shares in
   * percent (uint32, as memcached keeps them). Takes effect as items are linked.
   */
  setLruPolicy (segmented: boolean, hotPct: number, warmPct: number): void {
    this.lru.segmented = segmented
    this.lru.hotPct = hotPct
    this.lru.warmPct = warmPct
  }

  /** memcached temp_lru / temporary_ttl: items linked with at most ttl seconds to live go to TEMP; -1: no TEMP LRU. */
  setTempLru (ttl: number): void { this.tempTtl = ttl }

  segmentCount (c: number, seg: number): number { return this.lru.count(c, seg) }
  segmentTailAge (c: number, seg: number): number {
    const t = this.lru.tail[c * SEGMENTS + seg]
    return t === 0 ? 0 : this.clock.now() - this.lastAccess(t)
  }

  static readonly SEG_HOT = SEG_HOT
  static readonly SEG_WARM = SEG_WARM
  static readonly SEG_COLD = SEG_COLD
  static readonly SEG_TEMP = SEG_TEMP
}

/** memcached safe_strtoull over a stored value: digits with optional leading space/sign and
 *  trailing whitespace (the stored "\r\n" in memcached; padding spaces after a decr) or a
 *  NUL (strtoull stops there and safe_strtoull accepts it, so `1\0x` is 1). A result of
 *  2^63 or more is refused when a '-' comes before the value's first NUL: memcached
 *  searches the C string for one (strchr). Without a NUL its search runs past the value
 *  into whatever memory follows, so there memring looks only inside the value (README,
 *  documented differences). */
function parseValueU64 (v: Buffer): bigint {
  let i = 0
  const e = v.length
  while (i < e && (v[i] === 32 || (v[i] >= 9 && v[i] <= 13))) i++
  let neg = false
  if (i < e && (v[i] === 43 || v[i] === 45)) { neg = v[i] === 45; i++ }
  const ds = i
  let mag = 0n
  let small = 0
  while (i < e && v[i] >= 48 && v[i] <= 57 && i - ds < 15) { small = small * 10 + v[i] - 48; i++ }
  mag = BigInt(small)
  while (i < e && v[i] >= 48 && v[i] <= 57) {
    mag = mag * 10n + BigInt(v[i] - 48)
    if (mag > U64_MAX) return -1n
    i++
  }
  if (i === ds) return -1n
  // memcached's value always ends in "\r\n", so end-of-value counts as whitespace.
  if (i < e && !(v[i] === 0 || v[i] === 32 || (v[i] >= 9 && v[i] <= 13))) return -1n
  const r = neg ? (U64_MAX + 1n - mag) & U64_MAX : mag
  if (r > I64_MAX) {
    const nul = v.indexOf(0)
    const minus = v.indexOf(45)
    if (minus !== -1 && (nul === -1 || minus < nul)) return -1n
  }
  return r
}
