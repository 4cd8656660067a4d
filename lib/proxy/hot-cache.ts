// lib/proxy/hot-cache.ts
/**
 * `--hot-key-cache`: hot keys' `get` replies kept in the proxy for a short TTL.
 *
 * What is served from it: a text `get` of ONE key that is hot (hot-keys.ts) and whose
 * bytes are all printable (0x21-0x7e). Everything else is forwarded as before: `gets`
 * and `gats` (a CAS unique must be the item's current one), `gat`/`touch` (they change
 * the item), multi-key gets, `bget`, meta `mg` (its flags ask for per-item facts: CAS,
 * TTL, last access, hit-before...) and binary gets (their reply carries the CAS).
 *
 * Fill: the first get of a hot key that finds no live value goes to the shard's WRITER as
 * `mg <key> f t v` (one fill in flight per key; other reads meanwhile go to the copies as
 * usual). The reply is rewritten to what `get` answers, byte for byte: `VA <n> f<F> t<T>` +
 * data -> `VALUE <key> <F> <n>` + data + `END`; `EN` -> `END` (a miss is not cached). The
 * value is kept until now + min(--hot-key-cache-ttl, (T - 1) s), so it is never served
 * past the item's own exptime (memcached's T is whole seconds left on a 1 s clock: the
 * item may expire up to 1 s sooner); T 0 or 1: not kept; T -1 (no exptime): the TTL only.
 * A fill that fails is sent again as the plain get it was (ReadForward, any copy).
 *
 * Invalidation: every write through THIS proxy for a hot key (text set/add/replace/append/
 * prepend/cas/incr/decr/delete/touch/gat/gats, meta ms/md/ma and mg with T or N, binary
 * keyed writes, gat/gatk included) drops the value when it is sent and again when its reply
 * comes back, and bumps the key's generation, so a fill that raced the write is not kept;
 * flush_all (text or binary) drops every value. Writes through other proxies, or straight to
 * the servers, are seen after at most the TTL: that is the staleness bound the option costs.
 *
 * Memory: at most one value per hot key (HotKeys.slots) and --hot-key-cache-max-bytes in
 * all; a value that would pass the budget is not kept (counted as an eviction).
 */
import { FailReason } from './backend.js'
import type { HotKey } from './hot-keys.js'
import type { ReplySink } from './requests.js'

export interface HotCacheOptions {
  /** How long a value may be served, ms (> 0). */
  ttlMs: number
  /** Bytes of cached replies at most. */
  maxBytes: number
}

const END = Buffer.from('END\r\n')
const FILL_FLAGS = Buffer.from(' f t v\r\n')
const MG = Buffer.from('mg ')

export class HotCache {
  readonly ttlMs: number
  readonly maxBytes: number
  bytes = 0
  hits = 0
  misses = 0
  fills = 0
  invalidations = 0
  evictions = 0

  constructor (opts: HotCacheOptions) {
    if (!(opts.ttlMs > 0)) throw new RangeError(`hot key cache TTL must be > 0 ms, got ${opts.ttlMs}`)
    if (!(opts.maxBytes > 0)) throw new RangeError(`hot key cache budget must be > 0 bytes, got ${opts.maxBytes}`)
    this.ttlMs = opts.ttlMs
    this.maxBytes = opts.maxBytes
  }

  /** Only keys whose `get` and `mg` forms are the same bytes are cached. */
  static cacheable (buf: Uint8Array, s: number, e: number): boolean {
    for (let i = s; i < e; i++) { const c = buf[i]!; if (c < 0x21 || c > 0x7e) return false }
    return e > s
  }

  /** The reply to serve for hk now, or null (a miss: counted). The Buffer is shared and never written to. */
  lookup (hk: HotKey, now: number): Buffer | null {
    const v = hk.value
    if (v !== null && now < hk.expiresAt) { this.hits++; return v }
    if (v !== null) this.#drop(hk)
    this.misses++
    return null
  }

  /**
   * Starts a fill for hk (false: one is already in flight). `wire` is what to send to the
   * writer; replies and failures go through `sink`, which answers `reply` as the get's.
   */
  fill (hk: HotKey, reply: ReplySink, fallback: () => void): { wire: Buffer, sink: ReplySink } | null {
    if (hk.filling) return null
    hk.filling = true
    this.fills++
    const k = hk.key
    const wire = Buffer.allocUnsafe(MG.length + k.length + FILL_FLAGS.length)
    MG.copy(wire, 0)
    k.copy(wire, MG.length)
    FILL_FLAGS.copy(wire, MG.length + k.length)
    return { wire, sink: new Fill(this, hk, hk.gen, reply, fallback) }
  }

  /** A write for hk was sent or answered: its value is gone and fills in flight are not kept. */
  written (hk: HotKey): void {
    hk.gen++
    if (hk.value !== null) { this.invalidations++; this.#drop(hk) }
  }

  /** flush_all: every value goes. */
  clear (keys: Iterable<HotKey>): void { for (const hk of keys) this.written(hk) }

  /** hk left the hot set. */
  left (hk: HotKey): void {
    hk.gen++
    if (hk.value !== null) { this.evictions++; this.#drop(hk) }
  }

  keep (hk: HotKey, gen: number, value: Buffer, ttlSec: number, now: number): void {
    if (gen !== hk.gen || ttlSec === 0 || ttlSec === 1 || ttlSec < -1) return
    if (hk.value !== null) this.#drop(hk)
    if (this.bytes + value.length > this.maxBytes) { this.evictions++; return }
    hk.value = value
    hk.expiresAt = now + (ttlSec === -1 ? this.ttlMs : Math.min(this.ttlMs, (ttlSec - 1) * 1000))
    this.bytes += value.length
  }

  #drop (hk: HotKey): void {
    this.bytes -= hk.value!.length
    hk.value = null
  }
}

/** The reply to one fill: `mg k f t v` -> what `get k` answers; kept when still current. */
class Fill implements ReplySink {
  constructor (readonly cache: HotCache, readonly hk: HotKey, readonly gen: number, readonly reply: ReplySink, readonly fallback: () => void) {}

  onReply (pieces: Buffer[]): void {
    this.hk.filling = false
    const p = pieces[0]
    if (pieces.length !== 1 || p === undefined) { this.reply.onReply(pieces, 0); return }
    if (p.length === 4 && p[0] === 0x45 && p[1] === 0x4e) { this.reply.onReply([END], 0); return } // EN: a miss
    if (p[0] !== 0x56 || p[1] !== 0x41 || p[2] !== 0x20) { this.reply.onReply(pieces, 0); return } // an error line: as it came
    const got = asGetReply(this.hk.key, p)
    if (got === null) { this.reply.onReply(pieces, 0); return }
    this.cache.keep(this.hk, this.gen, got.reply, got.ttl, performance.now())
    this.reply.onReply([got.reply], 0)
  }

  onFail (_reason: FailReason): void {
    this.hk.filling = false
    this.fallback()
  }
}

/**
 * `VA <n> <flags...>\r\n<data>\r\n` -> `VALUE <key> <f> <n>\r\n<data>\r\nEND\r\n` and the
 * `t` flag's seconds (-1: none); null when the line is not what `mg k f t v` answers.
 */
export function asGetReply (key: Buffer, p: Buffer): { reply: Buffer, ttl: number } | null {
  let le = 3
  while (le < p.length && p[le] !== 0x0d) le++
  let i = 3
  const n = num(p, i, le)
  if (n.at === i || p.length !== le + 2 + n.v + 2) return null
  i = n.at
  let flags = -1
  let ttl = -2
  while (i < le) {
    if (p[i] === 0x20) { i++; continue }
    const f = p[i]!
    const neg = p[i + 1] === 0x2d
    const x = num(p, neg ? i + 2 : i + 1, le)
    if (f === 0x66) flags = x.v
    else if (f === 0x74) ttl = neg ? -x.v : x.v
    i = x.at
    while (i < le && p[i] !== 0x20) i++
  }
  if (flags < 0 || ttl < -1) return null
  const head = `VALUE ${key.toString('latin1')} ${flags} ${n.v}\r\n`
  const reply = Buffer.allocUnsafe(head.length + n.v + 2 + END.length)
  reply.write(head, 0, 'latin1')
  p.copy(reply, head.length, le + 2, le + 2 + n.v + 2)
  END.copy(reply, head.length + n.v + 2)
  return { reply, ttl }
}

function num (b: Buffer, i: number, e: number): { v: number, at: number } {
  let v = 0
  const s = i
  while (i < e && b[i]! >= 0x30 && b[i]! <= 0x39) v = v * 10 + b[i++]! - 0x30
  return { v, at: i === s ? s : i }
}
