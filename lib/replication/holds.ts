// lib/replication/holds.ts
/**
 * Held keys of a replica: `dc_invalidate <key> <ms>` (memring-proxy --dc-writes
 * local-invalidate) drops the replica's copy of a key and HOLDS the key for `ms`: records
 * of the key that arrive from the stream meanwhile are kept aside, not applied, so reads
 * here miss; when the hold ends they are applied in stream order.
 *
 * Why a hold and not only a delete: the proxy deletes the local copy, then forwards the
 * client's write to the master. A record of an EARLIER write of the same key (e.g. the
 * client's previous set, a WAN delay behind) may still be on its way here; applied after
 * the delete it would bring the old value back. Held, it is applied only after the hold,
 * followed by every later record of the key (the client's own write among them once it
 * has arrived): the stream's order decides the final state, as always. The hold must
 * outlast proxy -> master -> this replica (the proxy's --dc-invalidate-hold).
 *
 * Memory: at most MAX_KEYS keys held, MAX_RECORDS records kept per key; a key whose
 * records overflow keeps none and stays deleted when the hold ends (a miss, never an old
 * value; the next write of the key brings it back). The log still carries every record
 * (chained followers receive the stream unchanged); nothing here is replicated or logged.
 */

/** One record kept aside: its frame type and body (from after the seqno/cursor). */
interface Kept { type: number, body: Buffer }

interface Hold { until: number, kept: Kept[] | null, timer: NodeJS.Timeout }

export const MAX_HELD_KEYS = 65536
const MAX_RECORDS = 64

export class KeyHolds {
  readonly #held = new Map<string, Hold>()
  /** Applies a kept record (the replica's own apply, store only). */
  replay: ((type: number, body: Buffer) => void) | null = null
  readonly counters = { dc_invalidations: 0, dc_invalidate_refused: 0, dc_held_records: 0 }

  get size (): number { return this.#held.size }

  /** Holds key bytes [ks, ke) for `ms` (extends a hold in place); false when too many are held. */
  hold (key: Uint8Array, ks: number, ke: number, ms: number): boolean {
    const k = Buffer.from(key.buffer, key.byteOffset + ks, ke - ks).toString('latin1')
    const h = this.#held.get(k)
    const until = Date.now() + ms
    if (h !== undefined) {
      if (until > h.until) { h.until = until; h.timer.refresh() }
      this.counters.dc_invalidations++
      return true
    }
    if (this.#held.size >= MAX_HELD_KEYS) { this.counters.dc_invalidate_refused++; return false }
    const timer = setTimeout(() => this.#release(k), ms)
    timer.unref()
    this.#held.set(k, { until, kept: [], timer })
    this.counters.dc_invalidations++
    return true
  }

  /**
   * A record of key b[ks, ke) with body b[bs, be): true when the key is held (the record
   * is kept for later and must not be applied now). Callers test `size` first.
   */
  keep (type: number, b: Buffer, ks: number, ke: number, bs: number, be: number): boolean {
    const h = this.#held.get(b.toString('latin1', ks, ke))
    if (h === undefined) return false
    this.counters.dc_held_records++
    if (h.kept !== null) {
      if (h.kept.length >= MAX_RECORDS) h.kept = null
      else h.kept.push({ type, body: Buffer.from(b.subarray(bs, be)) })
    }
    return true
  }

  /** A flush or a full sync: what was kept predates it, so it goes (the holds stay). */
  dropKept (): void {
    for (const h of this.#held.values()) h.kept = []
  }

  #release (k: string): void {
    const h = this.#held.get(k)
    if (h === undefined) return
    // refresh() re-armed the timer for the full ms: the hold may end later than planned.
    const left = h.until - Date.now()
    if (left > 0) { h.timer = setTimeout(() => this.#release(k), left); h.timer.unref(); return }
    this.#held.delete(k)
    if (h.kept !== null && this.replay !== null) for (const r of h.kept) this.replay(r.type, r.body)
  }

  /** Ends every hold now, applying what was kept (the node stops being a replica, or closes). */
  releaseAll (): void {
    for (const k of [...this.#held.keys()]) {
      const h = this.#held.get(k)!
      clearTimeout(h.timer)
      h.until = 0
      this.#release(k)
    }
  }
}
