/**
 * Slab memory: 1 MiB pages allocated lazily as Buffers up to the memory limit, carved into
 * chunks of per-class sizes (memcached's slabs.c). Sizes start at 48 + -n and grow by -f,
 * aligned to 8, up to slab_chunk_max (half a page unless `-o slab_chunk_max=` says
 * otherwise); the last class is exactly slab_chunk_max, and larger items are chained over
 * chunks of that class (slab-store.ts allocChain).
 *
 * Owns: pages, the class of each page, per-class free stacks and carve positions.
 * Knows nothing of items beyond the chunk header's META word (to mark chunks free).
 */
import { PAGE_SHIFT, W_META, handleOf, pageOf, wordOf } from './layout.js'

export const PAGE_SIZE = 1024 * 1024
/** Pages a class may get over -m for its first page (firstPageGrace): slab memory <= -m + this. */
export const FIRST_PAGE_GRACE = 8
export const FIRST_PAGE_GRACE_BYTES = FIRST_PAGE_GRACE * PAGE_SIZE
/** memcached's sizeof(item) with CAS: class sizes are computed from it so that
 *  `stats slabs` chunk sizes match memcached's exactly. */
const MEMCACHED_ITEM_HEADER = 48
const CHUNK_ALIGN = 8
const MAX_CLASSES = 63
const MAX_PAGES = (1 << (32 - PAGE_SHIFT)) - 1

export interface SlabOptions {
  memoryLimitBytes: number
  growthFactor: number
  minChunkBytes: number // -n
  /** -o slab_chunk_max: the largest chunk (a divisor of PAGE_SIZE); PAGE_SIZE / 2 by default. */
  chunkMax?: number
}

/** The smallest slab_chunk_max memring takes: a chained item's head (40 B + 4 + a 250 B key)
 *  must fit a class below it (memcached takes smaller values and then cannot store items). */
export const CHUNK_MAX_MIN = 1024

export class Slabs {
  readonly chunkSize: number[] = [0] // index = clsid (1-based like memcached)
  readonly perPage: number[] = [0]
  readonly largest: number
  readonly chunkMax: number

  /** page index -> memory views (index 0 unused). */
  readonly bufs: Buffer[] = [Buffer.alloc(0)]
  readonly u32: Uint32Array[] = [new Uint32Array(0)]
  readonly f64: Float64Array[] = [new Float64Array(0)]
  readonly pageClass: number[] = [0]

  /** Per class: stack of free chunk handles. */
  private readonly freeStack: Uint32Array[] = []
  private readonly freeCount: number[] = []
  /** Per class: page being carved and next chunk index in it (0 page = none). */
  private readonly carvePage: number[] = []
  private readonly carveNext: number[] = []
  readonly pagesOf: number[] = [] // pages per class
  readonly usedChunks: number[] = []

  memoryLimitBytes: number
  mallocedBytes = 0
  /** Pages released by the page mover and not yet given to a class. */
  private readonly spare: number[] = []

  constructor (o: SlabOptions) {
    this.memoryLimitBytes = o.memoryLimitBytes
    this.chunkMax = o.chunkMax ?? PAGE_SIZE / 2
    if (this.chunkMax < CHUNK_MAX_MIN || PAGE_SIZE % this.chunkMax !== 0) throw new RangeError(`slab_chunk_max ${this.chunkMax}: a divisor of ${PAGE_SIZE} of at least ${CHUNK_MAX_MIN}`)
    let size = MEMCACHED_ITEM_HEADER + o.minChunkBytes
    let i = 0
    while (++i < MAX_CLASSES - 1) {
      if (size >= this.chunkMax / o.growthFactor) break
      if (size % CHUNK_ALIGN) size += CHUNK_ALIGN - (size % CHUNK_ALIGN)
      this.chunkSize[i] = size
      this.perPage[i] = Math.floor(PAGE_SIZE / size)
      size = size * o.growthFactor
    }
    this.largest = i
    this.chunkSize[i] = this.chunkMax
    this.perPage[i] = PAGE_SIZE / this.chunkMax
    for (let c = 0; c <= this.largest; c++) {
      this.freeStack.push(new Uint32Array(16))
      this.freeCount.push(0)
      this.carvePage.push(0)
      this.carveNext.push(0)
      this.pagesOf.push(0)
      this.usedChunks.push(0)
    }
  }

  /** Smallest class whose chunks hold `total` bytes (header included), or 0 if too big. */
  classFor (total: number): number {
    if (total > this.chunkMax) return 0
    // linear scan over <= 42 sizes beats a division-heavy search at these counts
    for (let c = 1; c <= this.largest; c++) if (this.chunkSize[c] >= total) return c
    return 0
  }

  get sparePages (): number { return this.spare.length }
  get totalPages (): number { return this.bufs.length - 1 }
  freeChunks (c: number): number {
    const carved = this.carvePage[c] === 0 ? 0 : this.perPage[c] - this.carveNext[c]
    return this.freeCount[c] + carved
  }

  /** Pops a free chunk of class c, or carves one, or takes a new page. 0 if none. */
  alloc (c: number): number {
    let h = 0
    if (this.freeCount[c] > 0) {
      h = this.freeStack[c][--this.freeCount[c]]
    } else {
      if (this.carvePage[c] === 0 && !this.newPage(c)) return 0
      const p = this.carvePage[c]
      h = handleOf(p, this.carveNext[c] * this.chunkSize[c])
      if (++this.carveNext[c] === this.perPage[c]) this.carvePage[c] = 0
    }
    this.usedChunks[c]++
    return h
  }

  /** Returns a chunk to its class (unless its page is being emptied: see beginMove). */
  free (h: number): void {
    const p = pageOf(h)
    const c = this.pageClass[p]
    this.u32[p][wordOf(h) + W_META] = 0
    if (p !== this.leaving) this.pushFree(c, h)
    this.usedChunks[c]--
  }

  /** Page being emptied by the page mover (0 = none). */
  private leaving = 0

  /**
   * The page mover is about to empty page p: none of its chunks may be handed out again,
   * or rescuing an item would copy it into the very page being emptied (memcached's
   * slab_rebalance takes the page's free chunks off the freelist first for the same reason).
   * Ends with reassign(p).
   */
  beginMove (p: number): void {
    this.dropFree(p)
    this.leaving = p
  }

  private dropFree (p: number): void {
    const c = this.pageClass[p]
    const st = this.freeStack[c]
    let n = 0
    for (let i = 0; i < this.freeCount[c]; i++) {
      const h = st[i]
      if (pageOf(h) !== p) st[n++] = h
    }
    this.freeCount[c] = n
    if (this.carvePage[c] === p) this.carvePage[c] = 0
  }

  private pushFree (c: number, h: number): void {
    let st = this.freeStack[c]
    if (this.freeCount[c] === st.length) {
      const bigger = new Uint32Array(st.length * 2)
      bigger.set(st)
      this.freeStack[c] = st = bigger
    }
    st[this.freeCount[c]++] = h
  }

  /** Whether a new page can be had (spare, or under the limit). */
  canGrow (): boolean {
    return this.spare.length > 0 ||
      (this.mallocedBytes + PAGE_SIZE <= this.memoryLimitBytes && this.bufs.length <= MAX_PAGES)
  }

  /**
   * At the limit, a class with no page yet still gets its first one, as memcached's
   * do_slabs_newslab does (it refuses only a class that already has a page): otherwise a
   * class first seen when the cache is full must take a whole page from another class,
   * emptying it of live items (compat-tests/bench/hits.ts size-shift: 72% of phase 4's
   * keys hit instead of memcached's 100%). Unlike memcached, at most FIRST_PAGE_GRACE pages
   * in all go over -m, so slab memory stays within -m + FIRST_PAGE_GRACE_BYTES.
   */
  private firstPageGrace (c: number): boolean {
    if (this.pagesOf[c] !== 0 || this.bufs.length > MAX_PAGES) return false
    return this.mallocedBytes + PAGE_SIZE <= this.memoryLimitBytes + FIRST_PAGE_GRACE_BYTES
  }

  private newPage (c: number): boolean {
    let p: number
    if (this.spare.length > 0) {
      p = this.spare.pop() as number
    } else {
      if (!this.canGrow() && !this.firstPageGrace(c)) return false
      // allocUnsafeSlow: a page of its own (not from Node's pool), so the word views
      // below start at byte 0 and stay aligned.
      const buf = Buffer.allocUnsafeSlow(PAGE_SIZE)
      p = this.bufs.length
      this.bufs.push(buf)
      this.u32.push(new Uint32Array(buf.buffer, buf.byteOffset, PAGE_SIZE >>> 2))
      this.f64.push(new Float64Array(buf.buffer, buf.byteOffset, PAGE_SIZE >>> 3))
      this.pageClass.push(0)
      this.mallocedBytes += PAGE_SIZE
    }
    this.assignPage(p, c)
    return true
  }

  private assignPage (p: number, c: number): void {
    this.pageClass[p] = c
    this.pagesOf[c]++
    // Carve from the front; a previous carve page (if any) keeps its rest in the free stack.
    if (this.carvePage[c] !== 0) {
      const old = this.carvePage[c]
      // Never carved: their bytes are whatever the page held before (another class's items,
      // when it was moved), so the header word is cleared, or a page scan would read stale
      // flags (a stray F_CONT sent the page mover to a made-up owner and crashed it).
      const u = this.u32[old]
      for (let i = this.carveNext[c]; i < this.perPage[c]; i++) {
        const h = handleOf(old, i * this.chunkSize[c])
        u[wordOf(h) + W_META] = 0
        this.pushFree(c, h)
      }
    }
    this.carvePage[c] = p
    this.carveNext[c] = 0
  }

  /** Chunk handles of page p that are carved (may hold items or be free). */
  carvedCount (p: number): number {
    const c = this.pageClass[p]
    return this.carvePage[c] === p ? this.carveNext[c] : this.perPage[c]
  }

  chunkHandle (p: number, i: number): number {
    return handleOf(p, i * this.chunkSize[this.pageClass[p]])
  }

  /**
   * Takes page p away from its class (the page mover has already emptied it of items):
   * drops its chunks from the free stack and hands it to class `to` (or the spare pool if 0).
   */
  reassign (p: number, to: number): void {
    const c = this.pageClass[p]
    this.dropFree(p)
    if (this.leaving === p) this.leaving = 0
    this.pagesOf[c]--
    if (to === 0) {
      this.pageClass[p] = 0
      this.spare.push(p)
    } else {
      this.assignPage(p, to)
    }
  }
}
