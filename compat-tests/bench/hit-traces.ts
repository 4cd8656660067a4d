// Request traces for the hit-ratio benchmark (hits.ts, issue 19): generated from fixed seeds,
// so memcached and memring replay exactly the same requests and a rerun replays them again.
// Every count is scaled by memoryMb / 64 (the size shift is written for -m 64), so
// `--quick` (-m 16) keeps the shape of each trace at a quarter of the work.
//
//   size-shift  40,000 sets of 50-200 B; 4,000 of 5-20 KB; 400 of 100-500 KB; 40,000 of
//               50-200 B again; measured: gets of 4,000 keys sampled from phase 4.
//   zipf-2x     cache-aside (get; on a miss, set) zipf(s = 1.0) reads over a key space
//   zipf-10x    holding 2x (10x) the memory in values of 100-1000 B; 500,000 requests to
//               warm up, then 500,000 measured.
//   scan        cache-aside zipf(1.0) reads over a hot set holding 0.5x the memory (200,000
//               to warm up); then a one-off cache-aside pass over cold keys holding 2x the
//               memory, interleaved 1:1 with the hot reads; measured: 100,000 plain gets
//               (no refill) of the hot set right after the scan. The same 100,000 gets are
//               also made before the scan (not measured; printed as the reference: what
//               the hot set hits with no scan, since rarely read keys were never filled).
//   ttl         sets of items with a 2 s TTL holding 1x the memory; a 3.5 s pause (they
//               all expire); sets of items with no TTL holding 0.6x the memory; measured:
//               a get of every live item. 100% means expired items were reclaimed first.
//   ttl-shift   the same, but the live items are 2-8 KB: the expired items' memory is in
//               other slab classes and has to be reclaimed and moved to the live ones'.
//
// Value sizes are uniform in each range; a key's size is fixed (a hash of key and seed), so
// a cache-aside refill stores what was there before. Sizes are counted against the memory
// as value + key + 50 B of item header (roughly memcached's).
import { createHash } from 'node:crypto'
import { rng } from '../../lib/testing/seeds.js'
import { zipf } from '../../lib/testing/zipf.js'

/** A set (with the op's size and TTL). */
export const OP_SET = 0
/** A get whose miss is only counted. */
export const OP_GET = 1
/** A cache-aside read: a get, and on a miss a set of the key (in the next batch). */
export const OP_FILL = 2

export interface Phase {
  readonly name: string
  /** Whether this phase's gets make the trace's reported hit ratio. */
  readonly measured: boolean
  /** Idle time before the phase starts (lets TTLs run out). */
  readonly pauseMs: number
  readonly ops: Uint8Array
  readonly keys: Uint32Array
  readonly sizes: Uint32Array
  readonly ttls: Uint32Array
}

export interface Trace {
  readonly name: string
  readonly seed: number
  readonly memoryMb: number
  readonly phases: readonly Phase[]
}

export const TRACE_NAMES = ['size-shift', 'zipf-2x', 'zipf-10x', 'scan', 'ttl', 'ttl-shift'] as const
export type TraceName = typeof TRACE_NAMES[number]

/** The fixed seed of each trace (a different seed is only for the generator's test). */
export const TRACE_SEEDS: Record<TraceName, number> = { 'size-shift': 1901, 'zipf-2x': 1902, 'zipf-10x': 1903, scan: 1904, ttl: 1905, 'ttl-shift': 1906 }

const ITEM_HEADER = 50
/** Cold keys of the scan start here, far above any hot key. */
const COLD_BASE = 1 << 24

class PhaseBuilder {
  private n = 0
  private ops = new Uint8Array(1024)
  private keys = new Uint32Array(1024)
  private sizes = new Uint32Array(1024)
  private ttls = new Uint32Array(1024)
  constructor (readonly name: string, readonly measured = false, readonly pauseMs = 0) {}

  push (op: number, key: number, size: number, ttl = 0): void {
    if (this.n === this.ops.length) {
      const grow = <A extends Uint8Array | Uint32Array>(a: A, make: (n: number) => A): A => { const b = make(a.length * 2); b.set(a); return b }
      this.ops = grow(this.ops, (n) => new Uint8Array(n))
      this.keys = grow(this.keys, (n) => new Uint32Array(n))
      this.sizes = grow(this.sizes, (n) => new Uint32Array(n))
      this.ttls = grow(this.ttls, (n) => new Uint32Array(n))
    }
    this.ops[this.n] = op
    this.keys[this.n] = key
    this.sizes[this.n] = size
    this.ttls[this.n] = ttl
    this.n++
  }

  done (): Phase {
    const n = this.n
    return { name: this.name, measured: this.measured, pauseMs: this.pauseMs, ops: this.ops.slice(0, n), keys: this.keys.slice(0, n), sizes: this.sizes.slice(0, n), ttls: this.ttls.slice(0, n) }
  }
}

/** The key's name on the wire. */
export function keyName (key: number): string { return 'k' + String(key) }

/** A fixed size in [lo, hi] for a key: an integer hash of key and seed, no state. */
function sizeOfKey (key: number, seed: number, lo: number, hi: number): number {
  let h = Math.imul(key ^ seed, 0x9e3779b1)
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b)
  h ^= h >>> 13
  return lo + (h >>> 0) % (hi - lo + 1)
}

/** How many keys, numbered from `base`, hold `bytes` with sizes from sizeOfKey. */
function keysHolding (bytes: number, base: number, seed: number, lo: number, hi: number): number {
  let n = 0
  for (let used = 0; used < bytes; n++) used += sizeOfKey(base + n, seed, lo, hi) + keyName(base + n).length + ITEM_HEADER
  return n
}

function sizeShift (seed: number, f: number): Phase[] {
  const r = rng(seed)
  const uniform = (lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1))
  const phases: Phase[] = []
  let next = 0
  const sets = (name: string, count: number, lo: number, hi: number): number => {
    const p = new PhaseBuilder(name)
    const first = next
    for (let i = 0; i < count; i++) p.push(OP_SET, next++, uniform(lo, hi))
    phases.push(p.done())
    return first
  }
  sets('40k x 50-200 B', Math.round(40000 * f), 50, 200)
  sets('4k x 5-20 KB', Math.round(4000 * f), 5 * 1024, 20 * 1024)
  sets('400 x 100-500 KB', Math.round(400 * f), 100 * 1024, 500 * 1024)
  const count4 = Math.round(40000 * f)
  const first4 = sets('40k x 50-200 B again', count4, 50, 200)
  const m = new PhaseBuilder('sample of phase 4', true)
  for (let i = 0; i < Math.round(4000 * f); i++) m.push(OP_GET, first4 + Math.floor(r() * count4), 0)
  phases.push(m.done())
  return phases
}

function zipfReads (seed: number, mb: number, f: number, times: number): Phase[] {
  const n = keysHolding(times * mb * 1048576, 0, seed, 100, 1000)
  const z = zipf(n, 1.0, seed)
  const phase = (name: string, measured: boolean): Phase => {
    const p = new PhaseBuilder(name, measured)
    for (let i = 0; i < Math.round(500000 * f); i++) { const k = z(); p.push(OP_FILL, k, sizeOfKey(k, seed, 100, 1000)) }
    return p.done()
  }
  return [phase('warm-up', false), phase('measured', true)]
}

function scan (seed: number, mb: number, f: number): Phase[] {
  const hot = keysHolding(0.5 * mb * 1048576, 0, seed, 100, 1000)
  const cold = keysHolding(2 * mb * 1048576, COLD_BASE, seed, 100, 1000)
  const z = zipf(hot, 1.0, seed)
  const hotRead = (p: PhaseBuilder, op: number): void => { const k = z(); p.push(op, k, sizeOfKey(k, seed, 100, 1000)) }
  const warm = new PhaseBuilder('hot warm-up')
  for (let i = 0; i < Math.round(200000 * f); i++) hotRead(warm, OP_FILL)
  const before = new PhaseBuilder('hot set before the scan (reference)')
  const z2 = zipf(hot, 1.0, seed + 1)
  for (let i = 0; i < Math.round(100000 * f); i++) { const k = z2(); before.push(OP_GET, k, 0) }
  const pass = new PhaseBuilder('cold scan + hot reads')
  for (let i = 0; i < cold; i++) {
    pass.push(OP_FILL, COLD_BASE + i, sizeOfKey(COLD_BASE + i, seed, 100, 1000))
    hotRead(pass, OP_FILL)
  }
  const after = new PhaseBuilder('hot set after the scan', true)
  const beforePhase = before.done()
  beforePhase.keys.forEach((k) => after.push(OP_GET, k, 0))
  return [warm.done(), beforePhase, pass.done(), after.done()]
}

function ttlMix (seed: number, mb: number, lo: number, hi: number): Phase[] {
  const short = keysHolding(mb * 1048576, 0, seed, 100, 1000)
  const liveBase = short
  const live = keysHolding(0.6 * mb * 1048576, liveBase, seed, lo, hi)
  const a = new PhaseBuilder('2 s TTL sets, 1x memory')
  for (let k = 0; k < short; k++) a.push(OP_SET, k, sizeOfKey(k, seed, 100, 1000), 2)
  const b = new PhaseBuilder('live sets, 0.6x memory', false, 3500)
  for (let k = liveBase; k < liveBase + live; k++) b.push(OP_SET, k, sizeOfKey(k, seed, lo, hi))
  const c = new PhaseBuilder('get every live item', true)
  for (let k = liveBase; k < liveBase + live; k++) c.push(OP_GET, k, 0)
  return [a.done(), b.done(), c.done()]
}

export function makeTrace (name: TraceName, memoryMb: number, seed = TRACE_SEEDS[name]): Trace {
  const f = memoryMb / 64
  const phases = name === 'size-shift'
    ? sizeShift(seed, f)
    : name === 'zipf-2x'
      ? zipfReads(seed, memoryMb, f, 2)
      : name === 'zipf-10x'
        ? zipfReads(seed, memoryMb, f, 10)
        : name === 'scan'
          ? scan(seed, memoryMb, f)
          : name === 'ttl' ? ttlMix(seed, memoryMb, 100, 1000) : ttlMix(seed, memoryMb, 2048, 8192)
  return { name, seed, memoryMb, phases }
}

/** sha256 over every phase's parameters and requests: equal digests, equal traces. */
export function traceDigest (t: Trace): string {
  const h = createHash('sha256')
  h.update(`${t.name} ${t.memoryMb}\n`)
  for (const p of t.phases) {
    h.update(`${p.name} ${String(p.measured)} ${p.pauseMs} ${p.ops.length}\n`)
    for (const a of [p.ops, p.keys, p.sizes, p.ttls]) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
  }
  return h.digest('hex')
}
