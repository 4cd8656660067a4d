/**
 * The background page mover's decision (memcached's slab_automove=1, slab_automove.c):
 * called once a second, it keeps a sliding window of `window` samples per class and picks at
 * most one page move:
 *
 * - a class whose free chunks exceed 2.5 pages and whose window is clean (no eviction,
 *   out-of-memory or new page in any sample) gives a page to the global pool (dst 0), from
 *   which any class takes its next page;
 * - otherwise, once the window has filled, the youngest class that evicted in more than
 *   half of the window's samples (and in the last one) takes a page from the class whose
 *   COLD tail is oldest (averaged over the window, at least 2 pages), when the young class's
 *   average age is below `ratio` times the old one's.
 *
 * "Evicted" in a sample means more than a thousandth of all evictions of that second, as
 * memcached counts it. Ages are seconds of the store's coarse clock. The window and the
 * ratio are `-o slab_automove_window` and `-o slab_automove_ratio`.
 *
 * Reads the store's per-class counters through AutomoveSource; moves nothing itself.
 */

/** What the decision reads, per class (1 .. largest). */
export interface AutomoveSource {
  readonly largest: number
  evicted (c: number): number
  outOfMemory (c: number): number
  pages (c: number): number
  freeChunks (c: number): number
  chunksPerPage (c: number): number
  /** Seconds since the COLD tail item was last accessed (0 if the class has none). */
  coldTailAge (c: number): number
}

/** memcached slab_automove.c MIN_PAGES_FOR_SOURCE / MIN_PAGES_FOR_RECLAIM. */
const MIN_PAGES_FOR_SOURCE = 2
const MIN_PAGES_FOR_RECLAIM = 2.5

const W_EVICTED = 0
const W_DIRTY = 1
const W_AGE = 2
const FIELDS = 3

export class Automove {
  private window: number
  /** Per class, `window` samples of [evicted, dirty, age]. */
  private samples: Float64Array
  private readonly evictedBefore: Float64Array
  private readonly oomBefore: Float64Array
  private readonly pagesBefore: Float64Array
  private cur = 0

  constructor (private readonly src: AutomoveSource, window: number, public ratio: number) {
    const n = src.largest + 1
    this.window = window
    this.samples = new Float64Array(n * window * FIELDS)
    this.evictedBefore = new Float64Array(n)
    this.oomBefore = new Float64Array(n)
    this.pagesBefore = new Float64Array(n)
    for (let c = 1; c < n; c++) {
      this.evictedBefore[c] = src.evicted(c)
      this.oomBefore[c] = src.outOfMemory(c)
      this.pagesBefore[c] = src.pages(c)
    }
  }

  /** A new window size starts the window over (memcached allocates a new one). */
  setWindow (window: number): void {
    if (window === this.window) return
    this.window = window
    this.samples = new Float64Array((this.src.largest + 1) * window * FIELDS)
    this.cur = 0
  }

  /** One sample (one second): the move to make as [src, dst] (dst 0 = the global pool), or null. */
  run (): [number, number] | null {
    const s = this.src
    const w = this.window
    let evictedTotal = 0
    for (let c = 1; c <= s.largest; c++) evictedTotal += s.evicted(c) - this.evictedBefore[c]
    this.cur++
    let oldest = -1
    let oldestAge = 0
    let youngest = -1
    let youngestAge = Infinity
    let youngestEvicting = false
    let reclaim = -1
    for (let c = 1; c <= s.largest; c++) {
      const base = c * w * FIELDS
      const slot = base + (this.cur % w) * FIELDS
      const evictedDelta = s.evicted(c) - this.evictedBefore[c]
      const evicted = evictedDelta > 0 && evictedDelta > Math.floor(evictedTotal / 1000) ? 1 : 0
      const pages = s.pages(c)
      const dirty = evicted === 1 || s.outOfMemory(c) > this.oomBefore[c] || pages > this.pagesBefore[c] ? 1 : 0
      this.samples[slot + W_EVICTED] = evicted
      this.samples[slot + W_DIRTY] = dirty
      this.samples[slot + W_AGE] = s.coldTailAge(c)
      this.evictedBefore[c] = s.evicted(c)
      this.oomBefore[c] = s.outOfMemory(c)
      this.pagesBefore[c] = pages
      let sumEvicted = 0
      let sumDirty = 0
      let sumAge = 0
      for (let i = 0; i < w; i++) {
        const o = base + i * FIELDS
        sumEvicted += this.samples[o + W_EVICTED]
        sumDirty += this.samples[o + W_DIRTY]
        sumAge += this.samples[o + W_AGE]
      }
      const age = Math.floor(sumAge / w)
      if (reclaim === -1 && sumDirty === 0 && s.freeChunks(c) > s.chunksPerPage(c) * MIN_PAGES_FOR_RECLAIM) reclaim = c
      if (age > oldestAge && pages > MIN_PAGES_FOR_SOURCE) { oldest = c; oldestAge = age }
      if (age < youngestAge && sumEvicted > w / 2) { youngest = c; youngestAge = age; youngestEvicting = evicted === 1 }
    }
    if (reclaim !== -1) return [reclaim, 0]
    if (youngest !== -1 && oldest !== -1 && oldest !== youngest && this.cur > w &&
      youngestAge < oldestAge * this.ratio && youngestEvicting) return [oldest, youngest]
    return null
  }
}
