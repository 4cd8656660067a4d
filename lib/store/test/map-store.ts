/**
 * MapStore: a deliberately naive Store for tests only. One JS object per item in a Map,
 * no memory limit, no LRU. It is the reference model the slab store is checked against
 * (store-contract.ts runs on both; property.test.ts compares them command by command),
 * so it is written from memcached's documented behaviour, not from slab-store.ts:
 *   - exptime rules of protocol.txt (0 never, <= 30 days relative, else absolute, negative
 *     already expired), expiry at exptime <= now;
 *   - do_store_item's table of modes x (item present, CAS none/match/mismatch);
 *   - do_add_delta: 64-bit unsigned, incr wraps, decr floors at 0, a shorter result keeps
 *     the old length padded with spaces, a longer one is a new item;
 *   - flush_all: memcached's oldest_live / oldest_cas watermarks;
 *   - the -I limit with memcached's item-size formula.
 */
import type { Clock } from '../clock.js'
import { StoreMode, StoreResult } from '../store.js'
import type { Store, StoreCounters } from '../store.js'

const THIRTY_DAYS = 60 * 60 * 24 * 30
const U64_MAX = (1n << 64n) - 1n
const I64_MAX = (1n << 63n) - 1n

interface Rec {
  key: Buffer
  value: Buffer
  flags: number
  exptime: number
  cas: number
  /** Store time of the last store (memcached it->time as used by flush_all). */
  time: number
  fetched: boolean
  tokenSent: boolean
  stale: boolean
  linked: boolean
}

export interface MapStoreOptions {
  itemSizeMax?: number
  useCas?: boolean
}

export class MapStore implements Store {
  private readonly recs = new Map<number, Rec>()
  private readonly index = new Map<string, number>()
  private nextHandle = 1
  private casCounter = 0
  private lastCasValue = 0
  private lastArithValue = 0n
  private oldestLive = 0
  private oldestCas = 0
  private readonly itemSizeMax: number
  private readonly useCas: boolean
  readonly counters: StoreCounters = {
    curr_items: 0, total_items: 0, bytes: 0, evictions: 0, reclaimed: 0, expired_unfetched: 0, evicted_unfetched: 0,
  }

  constructor (private readonly clock: Clock, o: MapStoreOptions = {}) {
    this.itemSizeMax = o.itemSizeMax ?? 1024 * 1024
    this.useCas = o.useCas ?? true
  }

  now (): number { return this.clock.now() }

  relExptime (wire: number): number {
    if (wire === 0) return 0
    if (wire < 0) return 1
    if (wire > THIRTY_DAYS) return wire <= this.clock.processStarted ? 1 : wire - this.clock.processStarted
    return wire + this.clock.now()
  }

  private rec (h: number): Rec {
    const r = this.recs.get(h)
    if (r === undefined) throw new Error(`MapStore: dead handle ${h}`)
    return r
  }

  private gone (r: Rec): boolean {
    const now = this.clock.now()
    if (r.exptime !== 0 && r.exptime <= now) return true
    const ol = this.oldestLive
    if (ol === 0 || ol > now) return false
    return r.time <= ol || (this.oldestCas !== 0 && r.cas !== 0 && r.cas < this.oldestCas)
  }

  private lookup (key: string): number {
    const h = this.index.get(key)
    if (h === undefined) return 0
    if (this.gone(this.rec(h))) { this.unlink(h); return 0 }
    return h
  }

  prefetch (): void {}

  find (key: Uint8Array, ks: number, ke: number): number {
    return this.lookup(Buffer.from(key.subarray(ks, ke)).toString('latin1'))
  }

  touchRead (h: number): void { this.rec(h).fetched = true }

  flags (h: number): number { return this.rec(h).flags }
  exptime (h: number): number { return this.rec(h).exptime }
  setExptime (h: number, e: number): void { this.rec(h).exptime = e }
  cas (h: number): number { return this.rec(h).cas }
  nbytes (h: number): number { return this.rec(h).value.length }
  lastAccess (h: number): number { return this.rec(h).time }
  fetched (h: number): boolean { return this.rec(h).fetched }
  winTokenSent (h: number): boolean { return this.rec(h).tokenSent }
  setWinTokenSent (h: number, on: boolean): void { this.rec(h).tokenSent = on }
  stale (h: number): boolean { return this.rec(h).stale }
  setStale (h: number, on: boolean): void { this.rec(h).stale = on }
  nkey (h: number): number { return this.rec(h).key.length }

  copyValue (h: number, dst: Uint8Array, off: number): number {
    const v = this.rec(h).value
    dst.set(v, off)
    return off + v.length
  }

  copyKey (h: number, dst: Uint8Array, off: number): number {
    const k = this.rec(h).key
    dst.set(k, off)
    return off + k.length
  }

  /** memcached item_size_ok with the 64-bit header sizes. */
  private sizeOk (nkey: number, flags: number, nbytes: number): boolean {
    return 48 + (this.useCas ? 8 : 0) + nkey + 1 + (flags !== 0 ? 4 : 0) + nbytes + 2 <= this.itemSizeMax
  }

  alloc (key: Uint8Array, ks: number, ke: number, flags: number, exptime: number, nbytes: number): number {
    if (!this.sizeOk(ke - ks, flags, nbytes)) return -StoreResult.TooLarge
    const h = this.nextHandle++
    this.recs.set(h, {
      key: Buffer.from(key.subarray(ks, ke)),
      value: Buffer.alloc(nbytes),
      flags,
      exptime,
      cas: 0,
      time: this.clock.now(),
      fetched: false,
      tokenSent: false,
      stale: false,
      linked: false,
    })
    return h
  }

  writeValue (h: number, src: Uint8Array, s: number, e: number, at: number): void {
    this.rec(h).value.set(src.subarray(s, e), at)
  }

  free (h: number): void {
    if (this.rec(h).linked) throw new Error('MapStore: free() of a linked item')
    this.recs.delete(h)
  }

  private nextCas (): number { return this.useCas ? ++this.casCounter : 0 }

  private linkNew (h: number): void {
    const r = this.rec(h)
    r.linked = true
    r.cas = this.nextCas()
    r.time = this.clock.now()
    this.index.set(r.key.toString('latin1'), h)
    this.counters.curr_items++
    this.counters.total_items++
    this.lastCasValue = r.cas
  }

  link (h: number, mode: StoreMode, casIn: number): StoreResult {
    const r = this.rec(h)
    const old = this.lookup(r.key.toString('latin1'))
    if (old === 0) {
      if (mode === StoreMode.Set || mode === StoreMode.Add) { this.linkNew(h); return StoreResult.Stored }
      this.free(h)
      return mode === StoreMode.Cas ? StoreResult.NotFound : StoreResult.NotStored
    }
    const o = this.rec(old)
    const casMatch = casIn !== 0 && casIn === o.cas
    const casBad = casIn !== 0 && casIn !== o.cas
    let stored = h
    switch (mode) {
      case StoreMode.Add:
        this.free(h)
        return StoreResult.NotStored
      case StoreMode.Cas:
        if (!casMatch) { this.free(h); return StoreResult.Exists }
        break
      case StoreMode.Append:
      case StoreMode.Prepend: {
        if (casBad) { this.free(h); return StoreResult.Exists }
        if (!this.sizeOk(o.key.length, o.flags, o.value.length + r.value.length)) { this.free(h); return StoreResult.NotStored }
        const value = mode === StoreMode.Append ? Buffer.concat([o.value, r.value]) : Buffer.concat([r.value, o.value])
        this.free(h)
        stored = this.alloc(o.key, 0, o.key.length, o.flags, o.exptime, value.length)
        this.rec(stored).value = value
        break
      }
      default:
        break
    }
    this.unlink(old)
    this.linkNew(stored)
    return StoreResult.Stored
  }

  lastCas (): number { return this.lastCasValue }

  unlink (h: number): void {
    const r = this.rec(h)
    this.index.delete(r.key.toString('latin1'))
    r.linked = false
    this.recs.delete(h)
    this.counters.curr_items--
  }

  arith (h: number, incr: boolean, delta: bigint, casIn: number): StoreResult {
    const r = this.rec(h)
    // memcached do_add_delta: empty values and chunked items (over slab_chunk_max, 512 KiB,
    // by memcached's item size) are not numbers, whatever the CAS says.
    const chunked = 48 + r.key.length + 1 + (r.flags !== 0 ? 4 : 0) + r.value.length + 2 + (this.useCas ? 8 : 0) > 512 * 1024
    if (r.value.length === 0 || chunked) return StoreResult.NonNumeric
    if (casIn !== 0 && casIn !== r.cas) return StoreResult.Exists
    const cur = parseNumber(r.value)
    if (cur === null) return StoreResult.NonNumeric
    const v = incr ? (cur + delta) & U64_MAX : (delta > cur ? 0n : cur - delta)
    this.lastArithValue = v
    const digits = Buffer.from(v.toString(), 'latin1')
    if (digits.length <= r.value.length) {
      r.value.fill(0x20)
      digits.copy(r.value)
      r.cas = this.nextCas()
      this.lastCasValue = r.cas
      return StoreResult.Stored
    }
    const n = this.alloc(r.key, 0, r.key.length, r.flags, r.exptime, digits.length)
    if (n < 0) return StoreResult.NoMemory
    this.rec(n).value = digits
    this.unlink(h)
    this.linkNew(n)
    return StoreResult.Stored
  }

  lastArith (): bigint { return this.lastArithValue }

  flush (relAt: number): void {
    if (this.useCas) {
      this.oldestLive = relAt - 1
      // memcached takes the watermark with get_cas_id(), which uses up one CAS value.
      if (this.oldestLive <= this.clock.now()) this.oldestCas = ++this.casCounter
    } else {
      this.oldestLive = relAt
    }
  }

  /** Test helper: keys currently readable (expired and flushed ones excluded). */
  liveKeys (): string[] {
    return [...this.index.keys()].filter((k) => this.lookup(k) !== 0)
  }
}

/** strtoull as memcached's safe_strtoull uses it, on the value as a C string: optional
 *  leading whitespace and sign, digits, then whitespace, a NUL or the end (the stored value
 *  ends with "\r\n" in memcached); a result above 2^63 - 1 is refused when the C string
 *  (the value up to its first NUL) holds a '-' anywhere (safe_strtoull's strchr). */
function parseNumber (v: Buffer): bigint | null {
  const s = v.toString('latin1')
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)(?:[ \t\n\v\f\r\0]|$)/.exec(s)
  if (m === null) return null
  const mag = BigInt(m[2])
  if (mag > U64_MAX) return null
  const r = m[1] === '-' ? ((U64_MAX + 1n) - mag) & U64_MAX : mag
  if (r <= I64_MAX) return r
  const nul = s.indexOf('\0')
  return (nul === -1 ? s : s.slice(0, nul)).includes('-') ? null : r
}
