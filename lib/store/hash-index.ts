/**
 * Key bytes -> item handle. A power-of-two table of chain heads (Uint32Array); chains run
 * through each item's HNEXT header word, so the index costs 4 bytes a bucket and nothing
 * per item. Grows x2 when items exceed the buckets (load factor 1), incrementally (memcached assoc.c
 * grows at 1.5; at 1.0 a miss walks a third fewer chunks, each a likely cache miss):
 * while expanding, buckets below `migrated` live in the new table, the rest in the old,
 * and each mutation moves a few buckets over.
 */
import type { Slabs } from './slabs.js'
import { F_CHAINED, HEADER_BYTES, W_HNEXT, W_META, byteOf, pageOf, wordOf } from './layout.js'
import { hashKey } from './hash.js'

const MIGRATE_PER_OP = 16
/** Items per bucket before the table doubles. */
const LOAD_FACTOR = 1

export class HashIndex {
  private table: Uint32Array
  private old: Uint32Array | null = null
  private migrated = 0
  count = 0

  constructor (private readonly slabs: Slabs, hashPower: number) {
    this.table = new Uint32Array(1 << hashPower)
  }

  get hashPower (): number { return Math.log2(this.table.length) }

  /** An empty index (count must be 0) with room for `items` at the load factor, or as it is. */
  resetEmpty (items: number): void {
    if (this.count !== 0) throw new Error('resetEmpty on a non-empty index')
    let size = this.table.length
    while (size * LOAD_FACTOR < items && size < (1 << 30)) size *= 2
    this.table = size === this.table.length && this.old === null ? this.table : new Uint32Array(size)
    this.old = null
    this.migrated = 0
  }
  get expanding (): boolean { return this.old !== null }
  get bytes (): number { return this.table.byteLength + (this.old === null ? 0 : this.old.byteLength) }

  /** Table and bucket holding hash hv. */
  private bucketTable (hv: number): Uint32Array {
    const old = this.old
    if (old !== null && (hv & (old.length - 1)) >= this.migrated) return old
    return this.table
  }

  find (key: Uint8Array, ks: number, ke: number, hv: number): number {
    const t = this.bucketTable(hv)
    let h = t[hv & (t.length - 1)]
    const nkey = ke - ks
    const slabs = this.slabs
    while (h !== 0) {
      const p = pageOf(h)
      const u32 = slabs.u32[p]
      const w = wordOf(h)
      const meta = u32[w + W_META]
      if ((meta & 0xff) === nkey) {
        const ko = byteOf(h) + HEADER_BYTES + (((meta >>> 16) & F_CHAINED) !== 0 ? 4 : 0)
        const buf = slabs.bufs[p]
        let i = 0
        while (i < nkey && buf[ko + i] === key[ks + i]) i++
        if (i === nkey) return h
      }
      h = u32[w + W_HNEXT]
    }
    return 0
  }

  /**
   * Touches the bucket heads of hvs[0, n), then the first item of each chain, in two tight
   * loops whose loads do not depend on each other, so the CPU overlaps the cache misses
   * that find() would otherwise take one after another (a multiget looks up many keys).
   * Changes nothing; the return value only keeps the loads from being optimised away.
   */
  prefetch (hvs: Uint32Array, heads: Uint32Array, n: number): number {
    const old = this.old
    const table = this.table
    const tmask = table.length - 1
    for (let i = 0; i < n; i++) {
      const hv = hvs[i]
      heads[i] = old !== null && (hv & (old.length - 1)) >= this.migrated ? old[hv & (old.length - 1)] : table[hv & tmask]
    }
    const u32 = this.slabs.u32
    let acc = 0
    for (let i = 0; i < n; i++) {
      const h = heads[i]
      if (h !== 0) acc += u32[pageOf(h)][wordOf(h) + W_META]
    }
    return acc
  }

  insert (h: number, hv: number): void {
    const t = this.bucketTable(hv)
    const b = hv & (t.length - 1)
    this.slabs.u32[pageOf(h)][wordOf(h) + W_HNEXT] = t[b]
    t[b] = h
    this.count++
    if (this.old !== null) this.migrate(MIGRATE_PER_OP)
    else if (this.count > this.table.length * LOAD_FACTOR && this.table.length < (1 << 30)) this.startExpand()
  }

  remove (h: number, hv: number): void {
    const t = this.bucketTable(hv)
    const b = hv & (t.length - 1)
    const slabs = this.slabs
    let cur = t[b]
    if (cur === h) {
      t[b] = slabs.u32[pageOf(h)][wordOf(h) + W_HNEXT]
    } else {
      while (cur !== 0) {
        const cu = slabs.u32[pageOf(cur)]
        const cw = wordOf(cur) + W_HNEXT
        const next = cu[cw]
        if (next === h) { cu[cw] = slabs.u32[pageOf(h)][wordOf(h) + W_HNEXT]; break }
        cur = next
      }
      if (cur === 0) throw new Error('hash index: item not in its chain')
    }
    this.count--
    if (this.old !== null) this.migrate(MIGRATE_PER_OP)
  }

  private startExpand (): void {
    this.old = this.table
    this.table = new Uint32Array(this.old.length * 2)
    this.migrated = 0
  }

  /** Moves up to n old buckets into the new table. Also driven by a timer from the store. */
  migrate (n: number): void {
    const old = this.old
    if (old === null) return
    const mask = this.table.length - 1
    const slabs = this.slabs
    for (let k = 0; k < n && this.migrated < old.length; k++) {
      let h = old[this.migrated]
      old[this.migrated] = 0
      while (h !== 0) {
        const u32 = slabs.u32[pageOf(h)]
        const w = wordOf(h)
        const next = u32[w + W_HNEXT]
        const hv = this.hashOfItem(h)
        const b = hv & mask
        u32[w + W_HNEXT] = this.table[b]
        this.table[b] = h
        h = next
      }
      this.migrated++
    }
    if (this.migrated === old.length) this.old = null
  }

  hashOfItem (h: number): number {
    const p = pageOf(h)
    const meta = this.slabs.u32[p][wordOf(h) + W_META]
    const ko = byteOf(h) + HEADER_BYTES + (((meta >>> 16) & F_CHAINED) !== 0 ? 4 : 0)
    return hashKey(this.slabs.bufs[p], ko, ko + (meta & 0xff))
  }

  /** Visits every bucket slot count; used by the crawler: returns the chain head at index i. */
  get size (): number { return this.table.length }
  chainAt (i: number): number {
    if (this.old !== null) {
      // During expansion the crawler walks the old table's unmigrated part via the new
      // table's indices; items are in exactly one of the two.
      const ol = this.old.length
      if (i < ol && i >= this.migrated) return this.old[i]
    }
    return this.table[i]
  }
}
