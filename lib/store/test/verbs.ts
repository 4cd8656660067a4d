/**
 * memcached's commands as sequences of Store calls, the way the text session drives the
 * store (alloc, writeValue, link; find + unlink; find + arith ...). Test-only: lets the
 * contract and the property test speak in commands and compare plain results.
 * Keys are latin1 strings; exptimes are wire exptimes (memcached rules).
 */
import { StoreMode, StoreResult } from '../store.js'
import type { Store } from '../store.js'

export type Reply = 'STORED' | 'NOT_STORED' | 'EXISTS' | 'NOT_FOUND' | 'TOO_LARGE' | 'NO_MEMORY' | 'NON_NUMERIC'

const NAMES: Record<number, Reply> = {
  [StoreResult.Stored]: 'STORED',
  [StoreResult.NotStored]: 'NOT_STORED',
  [StoreResult.Exists]: 'EXISTS',
  [StoreResult.NotFound]: 'NOT_FOUND',
  [StoreResult.TooLarge]: 'TOO_LARGE',
  [StoreResult.NoMemory]: 'NO_MEMORY',
  [StoreResult.NonNumeric]: 'NON_NUMERIC',
}

export interface Hit { value: Buffer, flags: number, cas: number }

const kb = (key: string): Buffer => Buffer.from(key, 'latin1')
const vb = (v: Buffer | string): Buffer => typeof v === 'string' ? Buffer.from(v, 'latin1') : v

/** set/add/replace/append/prepend/cas. A failed allocation for `set` also drops the old
 *  value, as memcached's process_update_command does. */
export function store (s: Store, mode: StoreMode, key: string, value: Buffer | string, flags = 0, exptime = 0, cas = 0): Reply {
  const k = kb(key)
  const v = vb(value)
  const h = s.alloc(k, 0, k.length, flags, s.relExptime(exptime), v.length)
  if (h < 0) {
    if (mode === StoreMode.Set) { const old = s.find(k, 0, k.length); if (old !== 0) s.unlink(old) }
    return NAMES[-h]
  }
  s.writeValue(h, v, 0, v.length, 0)
  return NAMES[s.link(h, mode, cas)]
}

export const set = (s: Store, key: string, value: Buffer | string, flags = 0, exptime = 0): Reply =>
  store(s, StoreMode.Set, key, value, flags, exptime)

/** get/gets: the value, flags and CAS, or null on a miss. Records the read like a get does. */
export function get (s: Store, key: string): Hit | null {
  const k = kb(key)
  const h = s.find(k, 0, k.length)
  if (h === 0) return null
  s.touchRead(h)
  const value = Buffer.alloc(s.nbytes(h))
  s.copyValue(h, value, 0)
  return { value, flags: s.flags(h), cas: s.cas(h) }
}

/** Value as a latin1 string, or null. */
export function val (s: Store, key: string): string | null {
  return get(s, key)?.value.toString('latin1') ?? null
}

export function del (s: Store, key: string): boolean {
  const k = kb(key)
  const h = s.find(k, 0, k.length)
  if (h === 0) return false
  s.unlink(h)
  return true
}

/** incr/decr: the new value, or the failure. */
export function arith (s: Store, key: string, incr: boolean, delta: bigint, cas = 0): bigint | Reply {
  const k = kb(key)
  const h = s.find(k, 0, k.length)
  if (h === 0) return 'NOT_FOUND'
  const r = s.arith(h, incr, delta, cas)
  return r === StoreResult.Stored ? s.lastArith() : NAMES[r]
}

export function touch (s: Store, key: string, exptime: number): boolean {
  const k = kb(key)
  const h = s.find(k, 0, k.length)
  if (h === 0) return false
  s.setExptime(h, s.relExptime(exptime))
  s.touchRead(h)
  return true
}

/** flush_all [delay] as the text session computes its time. */
export function flushAll (s: Store, delay = 0): void {
  s.flush(delay > 0 ? s.relExptime(delay) : s.now())
}
