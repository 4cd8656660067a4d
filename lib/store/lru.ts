/**
 * Segmented LRU per slab class, as memcached 1.6 (doc/new_lru.txt): HOT, WARM and COLD
 * doubly linked lists threaded through each item's PREV/NEXT header words.
 *
 *   new item ─► HOT head
 *   HOT over 20% of the class ─► tail moves to WARM if ACTIVE, else COLD
 *   WARM over 40% of the class ─► tail re-bumped in WARM if ACTIVE, else COLD
 *   a read of a COLD item that was fetched before ─► WARM head (memcached does it
 *     asynchronously; we do it inline, it is O(1))
 *   eviction ─► COLD tail first, then HOT, then WARM
 * A one-time scan therefore only churns COLD: items read twice survive it.
 *
 * The shares are memcached's `lru tune` hot/warm percentages (of the class's items here,
 * of its memory in memcached). Flat mode (`lru mode flat`, memcached's compat mode): new
 * items enter COLD, reads move an item to the head of its list, and HOT/WARM drain into
 * COLD as memcached's maintainer drains them (max age 0).
 *
 * TEMP (memcached's TEMP_LRU, `-o temporary_ttl` / `lru temp_ttl`): items stored with a TTL
 * of at most temporary_ttl seconds enter it and stay there. It is never an eviction source
 * (victimList), takes no part in the HOT/WARM shares, and its expired items are reclaimed by
 * the maintainer's tail pass like the other lists'.
 */
import type { Slabs } from './slabs.js'
import { F_ACTIVE, F_SEG_MASK, F_SEG_SHIFT, SEGMENTS, SEG_COLD, SEG_HOT, SEG_TEMP, SEG_WARM, W_META, W_NEXT, W_PREV, pageOf, wordOf } from './layout.js'

export const HOT_LRU_PCT = 20
export const WARM_LRU_PCT = 40

export class Lru {
  readonly head: Uint32Array
  readonly tail: Uint32Array
  readonly size: Uint32Array
  /** Per class: items moved between segments (stats items moves_to_cold/warm). */
  readonly movesToCold: Float64Array
  readonly movesToWarm: Float64Array
  readonly movesWithin: Float64Array
  /** memcached settings.lru_segmented / hot_lru_pct / warm_lru_pct (uint32). */
  segmented = true
  hotPct = HOT_LRU_PCT
  warmPct = WARM_LRU_PCT

  constructor (private readonly slabs: Slabs, classes: number) {
    this.head = new Uint32Array(classes * SEGMENTS)
    this.tail = new Uint32Array(classes * SEGMENTS)
    this.size = new Uint32Array(classes * SEGMENTS)
    this.movesToCold = new Float64Array(classes)
    this.movesToWarm = new Float64Array(classes)
    this.movesWithin = new Float64Array(classes)
  }

  segmentOf (h: number): number {
    return (this.slabs.u32[pageOf(h)][wordOf(h) + W_META] >>> 16 & F_SEG_MASK) >>> F_SEG_SHIFT
  }

  /** Links h at the head of segment seg of class c. */
  insert (h: number, c: number, seg: number): void {
    const slabs = this.slabs
    const u32 = slabs.u32[pageOf(h)]
    const w = wordOf(h)
    const l = c * SEGMENTS + seg
    const oldHead = this.head[l]
    u32[w + W_PREV] = 0
    u32[w + W_NEXT] = oldHead
    if (oldHead !== 0) slabs.u32[pageOf(oldHead)][wordOf(oldHead) + W_PREV] = h
    else this.tail[l] = h
    this.head[l] = h
    this.size[l]++
    u32[w + W_META] = (u32[w + W_META] & ~(F_SEG_MASK << 16)) | ((seg << F_SEG_SHIFT) << 16)
  }

  remove (h: number, c: number): void {
    const slabs = this.slabs
    const u32 = slabs.u32[pageOf(h)]
    const w = wordOf(h)
    const seg = (u32[w + W_META] >>> 16 & F_SEG_MASK) >>> F_SEG_SHIFT
    const l = c * SEGMENTS + seg
    const prev = u32[w + W_PREV]
    const next = u32[w + W_NEXT]
    if (prev !== 0) slabs.u32[pageOf(prev)][wordOf(prev) + W_NEXT] = next
    else this.head[l] = next
    if (next !== 0) slabs.u32[pageOf(next)][wordOf(next) + W_PREV] = prev
    else this.tail[l] = prev
    this.size[l]--
  }

  /** Flat mode's relink (memcached do_item_update): h moves to the head of its own list. */
  toHead (h: number, c: number): void {
    this.move(h, c, this.segmentOf(h))
  }

  private move (h: number, c: number, seg: number): void {
    this.remove(h, c)
    this.insert(h, c, seg)
  }

  /** On a read of an item seen before: COLD items go to WARM, others are marked ACTIVE. */
  bump (h: number, c: number): void {
    const u32 = this.slabs.u32[pageOf(h)]
    const w = wordOf(h)
    const seg = (u32[w + W_META] >>> 16 & F_SEG_MASK) >>> F_SEG_SHIFT
    if (seg === SEG_COLD) {
      this.move(h, c, SEG_WARM)
      this.movesToWarm[c]++
    } else {
      u32[w + W_META] |= F_ACTIVE << 16
    }
  }

  /** Keeps HOT and WARM within their shares of class c; bounded work per call. */
  balance (c: number): void {
    const hot = c * SEGMENTS + SEG_HOT
    const warm = c * SEGMENTS + SEG_WARM
    const total = this.size[hot] + this.size[warm] + this.size[c * SEGMENTS + SEG_COLD]
    if (!this.segmented) {
      for (let i = 0; i < 2 && this.size[hot] > 0; i++) { this.move(this.tail[hot], c, SEG_COLD); this.movesToCold[c]++ }
      for (let i = 0; i < 2 && this.size[warm] > 0; i++) { this.move(this.tail[warm], c, SEG_COLD); this.movesToCold[c]++ }
      return
    }
    for (let i = 0; i < 2 && this.size[hot] * 100 > total * this.hotPct; i++) {
      const t = this.tail[hot]
      if (this.takeActive(t)) { this.move(t, c, SEG_WARM); this.movesToWarm[c]++ } else { this.move(t, c, SEG_COLD); this.movesToCold[c]++ }
    }
    for (let i = 0; i < 2 && this.size[warm] * 100 > total * this.warmPct; i++) {
      const t = this.tail[warm]
      if (this.takeActive(t)) { this.move(t, c, SEG_WARM); this.movesWithin[c]++ } else { this.move(t, c, SEG_COLD); this.movesToCold[c]++ }
    }
  }

  /** Clears the ACTIVE bit of h; returns whether it was set. */
  private takeActive (h: number): boolean {
    const u32 = this.slabs.u32[pageOf(h)]
    const w = wordOf(h)
    const active = (u32[w + W_META] & (F_ACTIVE << 16)) !== 0
    if (active) u32[w + W_META] &= ~(F_ACTIVE << 16)
    return active
  }

  /**
   * Eviction candidates for class c, coldest first: COLD tail, then HOT, then WARM (attempts
   * 0-2). Attempt 3 is TEMP's tail, for reclaiming expired items only, never for eviction.
   */
  victimList (c: number, attempt: number): number {
    const order = attempt === 0 ? SEG_COLD : attempt === 1 ? SEG_HOT : attempt === 2 ? SEG_WARM : SEG_TEMP
    return this.tail[c * SEGMENTS + order]
  }

  /** The class's least recently used item (COLD tail, else WARM, else HOT, else TEMP), or 0. */
  oldest (c: number): number {
    const l = c * SEGMENTS
    return this.tail[l + SEG_COLD] || this.tail[l + SEG_WARM] || this.tail[l + SEG_HOT] || this.tail[l + SEG_TEMP]
  }

  count (c: number, seg: number): number { return this.size[c * SEGMENTS + seg] }
}
