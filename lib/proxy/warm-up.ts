// lib/proxy/warm-up.ts
/**
 * The warm-up window (issue 14): when the ring is rebuilt (a shard added, a weight
 * changed), the keys whose owner changed would all miss on their new owner at once.
 * For --warmup-window ms the proxy keeps the previous ring, and a READ of a moved key
 * that misses on its new owner is read through from its previous owner:
 *
 *   client get k ──► new owner: miss ──► previous owner: mg k t f v
 *                                          │ VA (value, flags, remaining TTL)
 *              new owner's writer ◄── ms k <len> F<flags> T<ttl> ME   (add: never overwrites)
 *              new owner's writer ◄── the client's read again, same backend connection
 *                                      (so it is answered after the fill) ──► client
 *
 * Re-reading from the new owner (rather than answering from the old copy) keeps every
 * reply exactly what the new owner serves: its CAS (a `gets` token a later `cas` can use),
 * every mg flag the client asked for, and a fresher value when a client wrote the key
 * there first (the add is refused: NS, and the re-read returns that fresher value).
 *
 * WRITES to a moved key during the window (any keyed write: set, delete, incr, touch, ms,
 * md, binary ones) also delete the previous owner's copy (`md k`), and stop the fill of a
 * read-through of that key in flight: a deleted key is never brought back from the old
 * owner. One race is left: a fill already sent and a client's write to the new owner on
 * another backend connection may reach the server in either order (one round trip wide).
 *
 * THE GAP: a new shard appears in ZooKeeper (its hosts register) a moment before its master
 * is elected, and a shard can lose its only copy during a window. While a moved key's new
 * owner has no copy to read, readOwner() sends the read to the previous owner instead (any
 * copy, retried), and nothing is filled (there is no writer to fill). Writes are not moved:
 * they still fail with `no live master`, because a write the previous owner took would be
 * shadowed the moment the new master appears (reads go there and only read through on a
 * miss; a write deleted on the old owner by a later write could come back).
 *
 * The window ends after windowMs, or when the moved keys' hit ratio on the new owner,
 * hits / (hits + read-through hits), reaches hitRatio over a sample of RATIO_SAMPLE
 * reads that found a value. A new ring during a window starts a new window from the
 * ring just replaced (a key that moved twice warms from its latest owner only).
 * Cost outside a window: one boolean test per keyed request. Inside: one ring lookup of
 * the previous ring per key read or written.
 */
import type { ShardEntry } from '../cluster/index.js'
import type { Router as Ring } from '../ring/index.js'
import { FailReason } from './backend.js'
import type { ProxyCounters } from './core.js'
import { Forward, Kind, ReadForward, type ReplySink } from './requests.js'
import type { Router } from './router.js'
import { inKeyOrder, isEnd, valueBlockKey } from './value-blocks.js'

export const WARMUP_WINDOW_MS = 300_000
export const WARMUP_HIT_RATIO = 0.98
/** Reads of moved keys that found a value (here or through) per hit-ratio check. */
const RATIO_SAMPLE = 1000
/** memcached's relative exptime limit: longer remaining TTLs are sent as absolute times. */
const REALTIME_MAXDELTA = 60 * 60 * 24 * 30

export interface WarmUpOptions {
  /** Window length after a ring change (ms); 0: no warm-up. */
  windowMs?: number
  /** End the window early at this hit ratio of moved keys on their new owner (0: time only). */
  hitRatio?: number
}

export interface WarmUpCounters {
  warmup_windows: number
  warmup_moved_reads: number
  warmup_new_hits: number
  warmup_reads: number
  warmup_hits: number
  warmup_misses: number
  warmup_fills: number
  warmup_fills_refused: number
  warmup_fills_skipped: number
  warmup_fill_errors: number
  warmup_invalidations: number
  warmup_gap_reads: number
}

export class WarmUp {
  readonly windowMs: number
  readonly hitRatio: number
  readonly counters: WarmUpCounters = {
    warmup_windows: 0, warmup_moved_reads: 0, warmup_new_hits: 0, warmup_reads: 0, warmup_hits: 0, warmup_misses: 0,
    warmup_fills: 0, warmup_fills_refused: 0, warmup_fills_skipped: 0, warmup_fill_errors: 0, warmup_invalidations: 0, warmup_gap_reads: 0,
  }

  /** Why the last window ended: `time`, `hit-ratio`, `closed`, or `-` (none yet / still open). */
  endReason = '-'
  /** The last sample's hit ratio of moved keys on their new owner (-1: no sample yet). */
  lastRatio = -1
  #prev: Ring | null = null
  /** Previous ring's shard index -> the router's index of that shard now (-1: gone). */
  #prevToNew = new Int32Array(0)
  #timer: NodeJS.Timeout | null = null
  #sampleNew = 0
  #sampleThrough = 0
  /** Read-throughs in flight per key (latin1), so a write can stop their fill. */
  readonly #inflight = new Map<string, ReadThrough[]>()

  constructor (readonly router: Router, readonly proxyCounters: ProxyCounters, opts: WarmUpOptions = {}) {
    this.windowMs = opts.windowMs ?? WARMUP_WINDOW_MS
    this.hitRatio = opts.hitRatio ?? WARMUP_HIT_RATIO
  }

  /** A fill's answer: HD stored, NS refused (the new owner had the key), else an error. */
  filled (pieces: Buffer[] | null): void {
    const p = pieces?.[0]
    if (p !== undefined && p[0] === 0x48 && p[1] === 0x44) this.counters.warmup_fills++
    else if (p !== undefined && p[0] === 0x4e && p[1] === 0x53) this.counters.warmup_fills_refused++
    else this.counters.warmup_fill_errors++
  }

  get active (): boolean { return this.#prev !== null }

  /** The router rebuilt its ring: open a window over `prev` (a first ring opens none). */
  ringChanged (prev: Ring | null, prevShards: readonly ShardEntry[], shards: readonly ShardEntry[]): void {
    if (this.windowMs === 0 || prev === null || shards.length === 0) { this.end('-'); return }
    const now = new Map(shards.map((s, i) => [s.id, i]))
    this.#prevToNew = Int32Array.from(prevShards, (s) => now.get(s.id) ?? -1)
    this.#prev = prev
    this.endReason = '-'
    this.#sampleNew = 0
    this.#sampleThrough = 0
    this.lastRatio = -1
    this.counters.warmup_windows++
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = setTimeout(() => this.end('time'), this.windowMs)
    this.#timer.unref()
  }

  end (reason: string): void {
    if (this.#timer !== null) { clearTimeout(this.#timer); this.#timer = null }
    if (this.#prev !== null) this.endReason = reason
    this.#prev = null
  }

  /** The router's index of key buf[s, e)'s owner in the previous ring, when it is not `shard`; else -1. */
  previousOwner (buf: Uint8Array, s: number, e: number, shard: number): number {
    const prev = this.#prev
    if (prev === null || shard < 0) return -1
    const p = this.#prevToNew[prev.serverOfBytes(buf, s, e)] ?? -1
    return p === shard ? -1 : p
  }

  /**
   * The shard a READ of key buf[s, e) goes to: its previous owner when the key moved and
   * its new owner `shard` has no copy to read (the gap before a new shard's master is
   * elected; counted in warmup_gap_reads), else `shard`. Call only while `active`.
   */
  readOwner (buf: Uint8Array, s: number, e: number, shard: number): number {
    if (shard < 0 || this.router.route(shard).readers.length > 0) return shard
    const prev = this.previousOwner(buf, s, e, shard)
    if (prev < 0 || this.router.route(prev).readers.length === 0) return shard
    this.counters.warmup_gap_reads++
    return prev
  }

  /** A get/gets/bget part for `shard` (command word `head`): `sink` itself when none of `keys` moved. */
  values (sink: ReplySink, keys: Buffer[], shard: number, head: Buffer, affinity: number): ReplySink {
    let prevs: Int32Array | null = null
    for (let i = 0; i < keys.length; i++) {
      const p = this.previousOwner(keys[i]!, 0, keys[i]!.length, shard)
      if (p < 0) continue
      prevs ??= new Int32Array(keys.length).fill(-1)
      prevs[i] = p
    }
    // Copies: the reply may come after the client's input buffers were let go.
    return prevs === null ? sink : new WarmValues(this, sink, keys.map((k) => Buffer.from(k)), prevs, shard, Buffer.from(head), affinity)
  }

  /** An mg (any copy): `sink` itself unless `key` moved. The re-read resends `wire` as `kind`. */
  meta (sink: ReplySink, key: Buffer, shard: number, wire: Buffer, kind: Kind, affinity: number): ReplySink {
    const prev = this.previousOwner(key, 0, key.length, shard)
    if (prev < 0) return sink
    return {
      onReply: (pieces: Buffer[], tag: number): void => {
        const p = pieces[0]
        const hit = p !== undefined && !(p[0] === 0x45 && p[1] === 0x4e) // not EN (a quiet miss is no piece)
        const writer = this.router.route(shard).writer
        if (writer === null) { sink.onReply(pieces, tag); return }
        this.afterRead(hit, key, prev, shard, affinity,
          () => writer.send(new Forward(wire, kind, { onReply: (again) => sink.onReply(again, tag), onFail: () => sink.onReply(pieces, tag) }), affinity),
          () => sink.onReply(pieces, tag))
      },
      onFail: (reason: FailReason, tag: number): void => sink.onFail(reason, tag),
    }
  }

  /**
   * One read of a moved key answered by its new owner. A hit is counted; a miss is read
   * through from `prev`, and then `reread()` is called when it was found there (once the
   * new owner's writer has answered the fill), else `pass()`.
   */
  afterRead (hit: boolean, key: Buffer, prev: number, shard: number, affinity: number, reread: () => void, pass: () => void): void {
    this.movedRead(hit)
    if (hit) { pass(); return }
    this.readThrough([key], [prev], shard, affinity, (found) => { if (found > 0) reread(); else pass() })
  }

  /** A read of a moved key got its new owner's answer: a hit or a miss (hit-ratio sample). */
  movedRead (hit: boolean): void {
    this.counters.warmup_moved_reads++
    if (!hit) return
    this.counters.warmup_new_hits++
    this.#sampleNew++
    this.#sample()
  }

  #sample (): void {
    const n = this.#sampleNew + this.#sampleThrough
    if (n < RATIO_SAMPLE) return
    this.lastRatio = this.#sampleNew / n
    this.#sampleNew = 0
    this.#sampleThrough = 0
    if (this.hitRatio > 0 && this.lastRatio >= this.hitRatio) this.end('hit-ratio')
  }

  /**
   * Reads keys[i] from shard prevs[i] (any copy), copies each hit into `shard`'s writer
   * with its flags and remaining TTL (add semantics), then calls then(found) once every
   * fill is answered, so a re-read on any connection (text or binary) sees them. Keys
   * written through the proxy meanwhile are not copied.
   */
  readThrough (keys: Buffer[], prevs: ArrayLike<number>, shard: number, affinity: number, then: (found: number) => void): void {
    new ReadThrough(this, keys, prevs, shard, affinity, then).start()
  }

  /**
   * A keyed write passed through to `shard`: when the key moved, stop in-flight fills of
   * it and delete its previous owner's copy (so no read-through brings an old value back).
   */
  wrote (buf: Uint8Array, s: number, e: number, shard: number, affinity: number): void {
    const prev = this.previousOwner(buf, s, e, shard)
    if (prev < 0) return
    const key = Buffer.from(buf.subarray(s, e))
    const pending = this.#inflight.get(key.toString('latin1'))
    if (pending !== undefined) for (const rt of pending) rt.raced(key)
    const writer = this.router.route(prev).writer
    if (writer === null) return
    this.counters.warmup_invalidations++
    writer.send(new Forward(metaLine('md', key, ''), Kind.Meta, DISCARD), affinity)
  }

  /** Registers (on) or unregisters a read-through of `key` in flight. */
  track (key: string, rt: ReadThrough, on: boolean): void {
    const list = this.#inflight.get(key)
    if (on) {
      if (list === undefined) this.#inflight.set(key, [rt])
      else list.push(rt)
      return
    }
    if (list === undefined) return
    const i = list.indexOf(rt)
    if (i >= 0) list.splice(i, 1)
    if (list.length === 0) this.#inflight.delete(key)
  }

  /** A read-through found the key on its previous owner (counted into the hit-ratio sample). */
  foundThrough (): void {
    this.counters.warmup_hits++
    this.#sampleThrough++
    this.#sample()
  }

  /**
   * Sends a fill: `ms key len F T ME` + value, to `shard`'s writer on connection `affinity`;
   * `sink` hears its answer. False when there is nothing to send (no writer, an item
   * expiring this second, a malformed VA).
   */
  fill (key: Buffer, va: Buffer, shard: number, affinity: number, sink: ReplySink): boolean {
    const writer = this.router.route(shard).writer
    const item = parseVa(va)
    if (writer === null || item === null || item.ttl === 0) { this.counters.warmup_fills_skipped++; return false }
    const ttl = item.ttl < 0 ? '' : ` T${item.ttl > REALTIME_MAXDELTA ? Math.floor(Date.now() / 1000) + item.ttl : item.ttl}`
    const head = metaLine('ms', key, ` ${item.vlen} F${item.flags}${ttl} ME`)
    const wire = Buffer.allocUnsafe(head.length + item.vlen + 2)
    head.copy(wire, 0)
    va.copy(wire, head.length, item.data, item.data + item.vlen + 2)
    writer.send(new Forward(wire, Kind.Meta, sink), affinity)
    return true
  }

  /** `stats proxy` rows. */
  statsRows (): [string, string | number][] {
    return [
      ['warmup_window_ms', this.windowMs],
      ['warmup_hit_ratio', this.hitRatio],
      ['warmup_active', this.active ? 1 : 0],
      ['warmup_ended', this.endReason],
      ['warmup_last_ratio', this.lastRatio < 0 ? '-' : this.lastRatio.toFixed(4)],
      ...Object.entries(this.counters),
    ]
  }
}

const DISCARD: ReplySink = { onReply () {}, onFail () {} }

/** One round of read-throughs: every key's mg to its previous owner, then the fills. */
class ReadThrough implements ReplySink {
  #left: number
  #found = 0
  readonly #values: (Buffer | null)[]
  readonly #raced: boolean[]
  readonly #names: string[]

  constructor (readonly warm: WarmUp, readonly keys: Buffer[], readonly prevs: ArrayLike<number>, readonly shard: number,
    readonly affinity: number, readonly then: (found: number) => void) {
    this.#left = keys.length
    this.#values = new Array<Buffer | null>(keys.length).fill(null)
    this.#raced = new Array<boolean>(keys.length).fill(false)
    this.#names = keys.map((k) => k.toString('latin1'))
  }

  start (): void {
    const w = this.warm
    for (let i = 0; i < this.keys.length; i++) w.track(this.#names[i]!, this, true)
    for (let i = 0; i < this.keys.length; i++) {
      w.counters.warmup_reads++
      const f = new ReadForward(metaLine('mg', this.keys[i]!, ' t f v'), Kind.Meta, this, i, w.router.route(this.prevs[i]!), this.affinity, w.proxyCounters)
      if (!f.start()) this.onFail(FailReason.Down, i)
    }
  }

  raced (key: Buffer): void {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i]!.equals(key)) this.#raced[i] = true
  }

  onReply (pieces: Buffer[], tag: number): void {
    const p = pieces[0]
    if (p !== undefined && p[0] === 0x56 && p[1] === 0x41) { // VA
      this.#values[tag] = p
      this.#found++
      this.warm.foundThrough()
    } else {
      this.warm.counters.warmup_misses++
    }
    if (--this.#left === 0) this.#finish()
  }

  onFail (_reason: FailReason, tag: number): void {
    this.warm.counters.warmup_misses++
    this.#values[tag] = null
    if (--this.#left === 0) this.#finish()
  }

  #finish (): void {
    const w = this.warm
    let fills = 1 // released below, after all are sent
    const answered = (): void => { if (--fills === 0) this.then(this.#found) }
    const sink: ReplySink = {
      onReply: (pieces) => { w.filled(pieces); answered() },
      onFail: () => { w.filled(null); answered() },
    }
    for (let i = 0; i < this.keys.length; i++) {
      w.track(this.#names[i]!, this, false)
      const v = this.#values[i]
      if (v === null || v === undefined) continue
      if (this.#raced[i]) w.counters.warmup_fills_skipped++
      else if (w.fill(this.keys[i]!, v, this.shard, this.affinity, sink)) fills++
    }
    answered()
  }
}

/** get/gets/bget part whose moved keys that missed are read through, then re-read. */
class WarmValues implements ReplySink {
  constructor (readonly warm: WarmUp, readonly sink: ReplySink, readonly keys: Buffer[], readonly prevs: Int32Array,
    readonly shard: number, readonly head: Buffer, readonly affinity: number) {}

  onReply (pieces: Buffer[], tag: number): void {
    const last = pieces[pieces.length - 1]
    if (last === undefined || !isEnd(last)) { this.sink.onReply(pieces, tag); return }
    const present = new Set<string>()
    for (const p of pieces) { const k = valueBlockKey(p); if (k !== null) present.add(k) }
    const missing: Buffer[] = []
    const prevs: number[] = []
    const asked = new Set<string>()
    for (let i = 0; i < this.keys.length; i++) {
      if (this.prevs[i]! < 0) continue
      const k = this.keys[i]!.toString('latin1')
      if (asked.has(k)) continue
      asked.add(k)
      const hit = present.has(k)
      this.warm.movedRead(hit)
      if (hit) continue
      missing.push(this.keys[i]!)
      prevs.push(this.prevs[i]!)
    }
    if (missing.length === 0) { this.sink.onReply(pieces, tag); return }
    this.warm.readThrough(missing, prevs, this.shard, this.affinity, (found) => {
      const writer = this.warm.router.route(this.shard).writer
      if (found === 0 || writer === null) { this.sink.onReply(pieces, tag); return }
      let n = this.head.length + 2
      for (const k of missing) n += k.length + 1
      const wire = Buffer.allocUnsafe(n)
      let o = this.head.copy(wire, 0)
      for (const k of missing) { wire[o++] = 0x20; o += k.copy(wire, o) }
      wire[o++] = 13
      wire[o] = 10
      writer.send(new Forward(wire, Kind.Values, {
        onReply: (more: Buffer[]) => {
          const end = more[more.length - 1]
          if (end === undefined || !isEnd(end)) { this.sink.onReply(pieces, tag); return }
          const blocks = pieces.slice(0, -1).concat(more.slice(0, -1))
          this.sink.onReply([...inKeyOrder(blocks, this.keys), last], tag)
        },
        onFail: () => this.sink.onReply(pieces, tag),
      }), this.affinity)
    })
  }

  onFail (reason: FailReason, tag: number): void { this.sink.onFail(reason, tag) }
}

/** `<cmd> <key><rest>\r\n`; a key with bytes a text line cannot carry goes base64 (`b`). */
function metaLine (cmd: string, key: Buffer, rest: string): Buffer {
  let plain = key.length > 0
  for (let i = 0; i < key.length && plain; i++) plain = key[i]! > 0x20 && key[i] !== 0x7f
  return Buffer.from(plain ? `${cmd} ${key.toString('latin1')}${rest}\r\n` : `${cmd} ${key.toString('base64')}${rest} b\r\n`, 'latin1')
}

/**
 * `VA <len> <flags...>\r\n<data>\r\n` from `mg k t f v`: value length, client flags,
 * remaining TTL (-1: never expires) and where the data starts. Null when malformed.
 */
function parseVa (va: Buffer): { vlen: number, flags: number, ttl: number, data: number } | null {
  const eol = va.indexOf(13)
  if (eol < 0) return null
  const words = va.toString('latin1', 0, eol).split(' ')
  const vlen = Number(words[1])
  let flags = 0
  let ttl = -1
  for (let i = 2; i < words.length; i++) {
    const w = words[i]!
    if (w[0] === 'f') flags = Number(w.slice(1))
    else if (w[0] === 't') ttl = Number(w.slice(1))
  }
  if (!Number.isSafeInteger(vlen) || !Number.isSafeInteger(flags) || !Number.isSafeInteger(ttl) || eol + 2 + vlen + 2 > va.length) return null
  return { vlen, flags, ttl, data: eol + 2 }
}
