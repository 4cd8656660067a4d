// lib/proxy/hot-reads.ts
/**
 * What the frontend sessions ask of hot-key handling (null in ProxyCore when
 * `--hot-key-threshold 0`): count a read and learn whether its key is hot (then its read
 * goes round the shard's copies: ShardRoute.spread), drop a hot key's cached value on a
 * write, drop them all on flush_all, and the window timer of the detector.
 * Detection is hot-keys.ts, the cache hot-cache.ts, the stats hot-stats.ts.
 */
import { HotKeys, type HotKey, type HotKeysOptions } from './hot-keys.js'
import { HotCache, type HotCacheOptions } from './hot-cache.js'
import type { FailReason } from './backend.js'
import type { ReplySink } from './requests.js'

export interface HotReadsOptions extends HotKeysOptions {
  /** --hot-key-cache (absent: off). */
  cache?: HotCacheOptions
}

export class HotReads {
  readonly keys: HotKeys
  readonly cache: HotCache | null
  /** Reads of keys that were hot when read (cache hits included): `hot_key_reads`. */
  reads = 0
  #timer: NodeJS.Timeout | null = null

  constructor (opts: HotReadsOptions) {
    this.keys = new HotKeys(opts)
    this.cache = opts.cache === undefined ? null : new HotCache(opts.cache)
    const cache = this.cache
    if (cache !== null) this.keys.onLeave = (hk) => cache.left(hk)
  }

  /** Runs the detector's window (decay, rates, cooling) until stop(). */
  start (): void {
    if (this.#timer !== null) return
    this.#timer = setInterval(() => this.keys.tick(), this.keys.windowMs)
    this.#timer.unref()
  }

  stop (): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  /** A read of buf[s, e): its entry when the key is hot. */
  read (buf: Uint8Array, s: number, e: number): HotKey | null {
    const hk = this.keys.observe(buf, s, e)
    if (hk !== null) this.reads++
    return hk
  }

  /**
   * A write of buf[s, e) is being sent: a cached value of the key is dropped now, and
   * `sink` is wrapped to drop it again when the reply comes (a fill that reached the
   * server before the write must not be kept). Cold keys, or no cache: `sink` itself.
   */
  written (buf: Uint8Array, s: number, e: number, sink: ReplySink): ReplySink {
    const hk = this.cache === null ? null : this.keys.find(buf, s, e)
    if (hk === null) return sink
    this.cache!.written(hk)
    return new AfterWrite(this.cache!, hk, sink)
  }

  /** The entry of a written key, its value dropped (binary writes wrap themselves). */
  writtenKey (buf: Uint8Array, s: number, e: number): HotKey | null {
    const hk = this.cache === null ? null : this.keys.find(buf, s, e)
    if (hk !== null) this.cache!.written(hk)
    return hk
  }

  /** flush_all was sent or answered: every cached value goes. */
  flushed (): void { this.cache?.clear(this.keys.entries()) }
}

/** A write's reply sink that drops the key's cached value once more when the reply comes. */
class AfterWrite implements ReplySink {
  constructor (readonly cache: HotCache, readonly hk: HotKey, readonly inner: ReplySink) {}
  onReply (pieces: Buffer[], tag: number): void { this.cache.written(this.hk); this.inner.onReply(pieces, tag) }
  onFail (reason: FailReason, tag: number): void { this.cache.written(this.hk); this.inner.onFail(reason, tag) }
}
