// lib/proxy/hot-keys.ts
/**
 * Hot-key detection (`--hot-key-threshold N`, reads per second per key, at this proxy).
 *
 *   every read key ──► CountMinSketch.add (decayed count, fixed memory)
 *                          │ estimate >= N * window
 *                          ▼
 *                      candidates: at most `slots` HotKey entries (a Map by hash), each
 *                      with its own exact read count per window, its copy rotation, its
 *                      per-copy read counts and (with --hot-key-cache) its cached reply.
 *
 * A cold key costs one FNV pass over its bytes, `depth` counter increments and one Map
 * lookup by number: no allocation, no string. A key is copied (one Buffer) only when it is
 * admitted. tick() runs once per window (the proxy's timer; tests call it): it turns each
 * entry's window count into its rate, drops entries whose rate fell under N/2 (hysteresis,
 * so a key near N does not flap) and halves the sketch.
 *
 * Detection: a key read at rate r >= N is admitted within one window of reaching it; a key
 * read at r < N/2 never is, unless the sketch overcounts it (a false positive: the
 * overcount must reach N * window - its own count; see count-min.ts for the bound). A
 * false positive costs nothing but a slot and round-robin reads of that key; an admitted
 * cold key leaves at the next tick (its exact count is under N/2).
 *
 * When the table is full, a new key takes the slot of the entry with the fewest reads
 * this window if it has more (Space-Saving's rule, Metwally et al., ICDT 2005), so the
 * table holds the hottest keys; the loser's cached value is dropped (an eviction).
 */
import { CountMinSketch } from './count-min.js'

export interface HotKeysOptions {
  /** Reads per second per key at which a key is hot (> 0). */
  threshold: number
  /** Decay window, ms (default 1000). */
  windowMs?: number
  /** Most keys tracked as hot at once (default 32). */
  slots?: number
  /** Sketch shape (count-min.ts). */
  width?: number
  depth?: number
}

/** One hot key. `key` is a private copy; its ownership never leaves this table. */
export class HotKey {
  readonly key: Buffer
  readonly hash: number
  /** Exact reads of this key since the last tick, and since it was admitted. */
  reads = 0
  total = 0
  /** Reads per second over the last whole window (the sketch's estimate until then). */
  rate: number
  /** Admitted during the current window (its first count is partial: not cooled yet). */
  fresh = true
  /** Rotation over the shard's copies (router.ts ShardRoute.spread). */
  turn = 0
  /** Reads sent per copy (host address), for `stats hotkeys`. */
  readonly copies = new Map<string, number>()
  /** --hot-key-cache: the whole `get` reply, when it may still be served (hot-cache.ts). */
  value: Buffer | null = null
  expiresAt = 0
  /** Bumped by every write through this proxy: a fill that started before it is not kept. */
  gen = 0
  filling = false

  constructor (key: Buffer, hash: number, rate: number) {
    this.key = key
    this.hash = hash
    this.rate = rate
  }

  is (buf: Uint8Array, s: number, e: number): boolean {
    const k = this.key
    if (k.length !== e - s) return false
    for (let i = 0; i < k.length; i++) if (k[i] !== buf[s + i]) return false
    return true
  }
}

export class HotKeys {
  readonly threshold: number
  readonly windowMs: number
  readonly slots: number
  readonly sketch: CountMinSketch
  /** Hot keys by hash (a second key with the same 32-bit hash is never hot: rare, harmless). */
  readonly #table = new Map<number, HotKey>()
  /** Sketch count at which a key is admitted: threshold reads per second over one window. */
  readonly #level: number
  /** Keys admitted, and those that left (cooled or displaced), since start. */
  admitted = 0
  left = 0
  /** Called with an entry that leaves the table (the cache drops its value). */
  onLeave: (k: HotKey) => void = () => {}

  constructor (opts: HotKeysOptions) {
    if (!(opts.threshold > 0) || !Number.isFinite(opts.threshold)) throw new RangeError(`hot key threshold must be > 0, got ${opts.threshold}`)
    this.threshold = opts.threshold
    this.windowMs = opts.windowMs ?? 1000
    this.slots = opts.slots ?? 32
    this.sketch = new CountMinSketch(opts.width, opts.depth)
    this.#level = Math.max(2, Math.ceil(this.threshold * this.windowMs / 1000))
  }

  get size (): number { return this.#table.size }

  /** The hot keys, hottest first (a copy: for stats, not the request path). */
  list (): HotKey[] { return [...this.#table.values()].sort((a, b) => b.rate - a.rate || b.total - a.total) }

  /** A read of buf[s, e): counts it; returns its entry when the key is hot (now or already). */
  observe (buf: Uint8Array, s: number, e: number): HotKey | null {
    const h = CountMinSketch.hash(buf, s, e)
    const est = this.sketch.add(h)
    const hk = this.#table.get(h)
    if (hk !== undefined) {
      if (!hk.is(buf, s, e)) return null
      hk.reads++
      hk.total++
      return hk
    }
    // Admission is tried when the estimate reaches the level and every 16 reads after,
    // not on every read of a key that cannot get a slot (the scan is O(slots)).
    if (est < this.#level || (est - this.#level) % 16 !== 0) return null
    return this.#admit(buf, s, e, h, est)
  }

  /** The entry of buf[s, e) if the key is hot; counts nothing (writes). */
  find (buf: Uint8Array, s: number, e: number): HotKey | null {
    if (this.#table.size === 0) return null
    const hk = this.#table.get(CountMinSketch.hash(buf, s, e))
    return hk !== undefined && hk.is(buf, s, e) ? hk : null
  }

  /** Every entry (flush_all drops every cached value). */
  entries (): IterableIterator<HotKey> { return this.#table.values() }

  /** End of a window: rates from exact counts, cool entries under threshold / 2, decay the sketch. */
  tick (): void {
    const perSec = 1000 / this.windowMs
    for (const hk of this.#table.values()) {
      if (hk.fresh) {
        hk.fresh = false
        hk.rate = Math.max(hk.rate, hk.reads * perSec)
      } else {
        hk.rate = hk.reads * perSec
        if (hk.rate < this.threshold / 2) this.#remove(hk)
      }
      hk.reads = 0
    }
    this.sketch.halve()
  }

  #admit (buf: Uint8Array, s: number, e: number, h: number, est: number): HotKey | null {
    if (this.#table.size >= this.slots) {
      let victim: HotKey | null = null
      for (const hk of this.#table.values()) if (victim === null || hk.reads < victim.reads) victim = hk
      if (victim === null || victim.reads >= est) return null
      this.#remove(victim)
    }
    const key = Buffer.allocUnsafe(e - s)
    key.set(buf.subarray(s, e))
    // Until its first whole window, its rate is what the sketch says (a decayed count).
    const hk = new HotKey(key, h, est * 1000 / this.windowMs)
    hk.reads = 1
    hk.total = 1
    this.#table.set(h, hk)
    this.admitted++
    return hk
  }

  #remove (hk: HotKey): void {
    this.#table.delete(hk.hash)
    this.left++
    this.onLeave(hk)
  }
}
