/**
 * Random command sequences under memory pressure (a few pages for values up to chained
 * sizes, so eviction, chained allocation and the page mover all run). The slab store may
 * now lose items, but it may never return anything the MapStore model would not: a hit
 * must carry exactly the model's value and flags. A key the slab store lost (a miss where
 * the model hits) must be paid for by a counted loss in the same step (evictions,
 * slab_reassign_evictions_nomem): with -M that count stays 0, so any item that vanishes
 * fails the run. An allocation failure (NO_MEMORY, an append that could not allocate) is
 * an answer, not a loss. After either, the model is brought in line and the run goes on.
 * Structural invariants (item counts, LRU lists, the memory limit) are checked at the end
 * of every sequence. Seeds as in property.test.ts (FC_SEED, MEMRING_RANDOM_SEED,
 * PROPERTY_RUNS per seed and mode, default 1,500).
 */
import t from 'tap'
import fc from 'fast-check'
import { ManualClock } from '../clock.js'
import { SlabStore } from '../slab-store.js'
import { StoreMode } from '../store.js'
import type { Store } from '../store.js'
import { MapStore } from './map-store.js'
import { arith, del, flushAll, get, store, touch } from './verbs.js'
import type { Hit, Reply } from './verbs.js'
import { testSeeds } from '../../testing/seeds.js'
import { FIRST_PAGE_GRACE_BYTES } from '../slabs.js'

const MiB = 1024 * 1024
const KEYS = Array.from({ length: 24 }, (_, i) => `key:${i}`)
const SEEDS = testSeeds('FC_SEED', [20261205, 5, 987654321])
const RUNS = Number(process.env.PROPERTY_RUNS ?? 1500)

type Cmd =
  | { op: 'store', mode: StoreMode, key: string, size: number, fill: number, flags: number, exptime: number }
  | { op: 'get', key: string }
  | { op: 'del', key: string }
  | { op: 'arith', key: string, incr: boolean, delta: bigint }
  | { op: 'touch', key: string, exptime: number }
  | { op: 'advance', key: string, sec: number }
  | { op: 'crawl', key: string, budget: number }
  | { op: 'flush', key: string }
  | { op: 'automove', key: string }

const key = fc.constantFrom(...KEYS)
const size = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 200 }) },
  { weight: 3, arbitrary: fc.integer({ min: 200, max: 20_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 20_000, max: 520_000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 520_000, max: 1_000_000 }) },
)
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('store' as const), mode: fc.constantFrom<StoreMode>(StoreMode.Set, StoreMode.Set, StoreMode.Set, StoreMode.Add, StoreMode.Replace, StoreMode.Append, StoreMode.Prepend), key, size, fill: fc.integer({ min: 0, max: 255 }), flags: fc.nat({ max: 1000 }), exptime: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: -1, max: 5 })) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('del' as const), key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('arith' as const), key, incr: fc.boolean(), delta: fc.bigInt({ min: 0n, max: 1n << 64n }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('touch' as const), key, exptime: fc.integer({ min: -1, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('advance' as const), key, sec: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('crawl' as const), key, budget: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const, key: 'key:0' }) },
  { weight: 1, arbitrary: fc.constant({ op: 'automove' as const, key: 'key:0' }) },
)

function valueOf (c: Extract<Cmd, { op: 'store' }>): Buffer {
  // Small values are sometimes numbers, so incr/decr have something to work on.
  if (c.size < 20 && c.fill % 2 === 0) return Buffer.from(String(c.size * 1000 + c.fill))
  const v = Buffer.alloc(c.size, c.fill)
  if (c.size >= 8) v.writeUInt32BE(c.size, 0)
  return v
}

function same (a: Hit | null, b: Hit | null): boolean {
  if (a === null || b === null) return a === b
  return a.flags === b.flags && a.value.equals(b.value)
}

/** Makes the model hold what the slab store holds for key (value and flags), or nothing. */
function sync (slab: Store, model: MapStore, k: string): void {
  const h = peek(slab, k)
  del(model, k)
  if (h === null) return
  const kb = Buffer.from(k)
  const e = slab.exptime(slab.find(kb, 0, kb.length))
  // Store times to a relative wire exptime (the two clocks move together).
  store(model, StoreMode.Set, k, h.value, h.flags, e === 0 ? 0 : e - slab.now())
}

/** A read that does not count as one (no LRU bump), to inspect the slab store. */
function peek (s: Store, k: string): Hit | null {
  const kb = Buffer.from(k)
  const h = s.find(kb, 0, kb.length)
  if (h === 0) return null
  const value = Buffer.alloc(s.nbytes(h))
  s.copyValue(h, value, 0)
  return { value, flags: s.flags(h), cas: s.cas(h) }
}

function invariants (s: SlabStore, limit: number): string | null {
  const c = s.counters
  if (s.index.count !== c.curr_items) return `index holds ${s.index.count} items, curr_items says ${c.curr_items}`
  let onLists = 0
  for (let cl = 1; cl <= s.slabs.largest; cl++) {
    for (let seg = 0; seg < 3; seg++) onLists += s.lru.count(cl, seg)
  }
  if (onLists !== c.curr_items) return `LRU lists hold ${onLists} items, curr_items says ${c.curr_items}`
  // a class's first page may go over -m (memcached's rule), within FIRST_PAGE_GRACE_BYTES
  if (s.slabs.mallocedBytes > limit + FIRST_PAGE_GRACE_BYTES) return `slab memory ${s.slabs.mallocedBytes} over the limit ${limit} + ${FIRST_PAGE_GRACE_BYTES}`
  return null
}

for (const seed of SEEDS) {
for (const evictions of [true, false]) {
t.test(`under memory pressure${evictions ? '' : ' with -M (no evictions)'} the slab store never returns a value the model would not (seed ${seed})`, async (t) => {
  let runs = 0
  let evictionsSeen = 0
  let movesSeen = 0
  const started = Date.now()
  const limit = 2 * MiB
  const result = fc.check(fc.property(fc.array(cmd, { minLength: 1, maxLength: 150 }), (cmds) => {
    runs++
    const clock = new ManualClock(1_700_000_000)
    const modelClock = new ManualClock(1_700_000_000)
    const slab = new SlabStore({ clock, memoryLimitBytes: limit, itemSizeMax: 2 * MiB, hashPower: 4, evictions, slabAutomoveWindow: 2 })
    const model = new MapStore(modelClock, { itemSizeMax: 2 * MiB })
    let cursor = 0
    const losses = (): number => slab.counters.evictions + slab.counters.slab_reassign_evictions_nomem
    let lossesBefore = 0
    for (let i = 0; i < cmds.length; i++) {
      const c = cmds[i]
      const where = (): string => `step ${i} ${JSON.stringify(c, (_k, v: unknown) => typeof v === 'bigint' ? `${v}n` : v)}`
      switch (c.op) {
        case 'get': {
          const a = get(slab, c.key)
          const b = get(model, c.key)
          if (!same(a, b)) throw new Error(`${where()}: slab ${a?.value.length ?? 'miss'} bytes, model ${b?.value.length ?? 'miss'} bytes (or flags differ)`)
          break
        }
        case 'del': {
          const a = del(slab, c.key)
          const b = del(model, c.key)
          if (a !== b) throw new Error(`${where()}: slab ${String(a)} model ${String(b)}`)
          break
        }
        case 'store': {
          const v = valueOf(c)
          const a: Reply = store(slab, c.mode, c.key, v, c.flags, c.exptime)
          const b: Reply = store(model, c.mode, c.key, v, c.flags, c.exptime)
          if (a !== b) {
            // The allocation for the new value may evict the old item of the same key
            // (memcached allocates before it looks the key up, too): the outcome is then the
            // one for an absent key.
            del(model, c.key)
            const absent = store(model, c.mode, c.key, v, c.flags, c.exptime)
            // Or the allocation failed (append/prepend then answer NOT_STORED).
            const failed = a === 'NO_MEMORY' || (a === 'NOT_STORED' && (c.mode === StoreMode.Append || c.mode === StoreMode.Prepend))
            if (absent !== a && !failed) throw new Error(`${where()}: slab ${a} model ${b}`)
            sync(slab, model, c.key)
          }
          break
        }
        case 'arith': {
          const a = arith(slab, c.key, c.incr, c.delta)
          const b = arith(model, c.key, c.incr, c.delta)
          if (a !== b) {
            if (a !== 'NO_MEMORY') throw new Error(`${where()}: slab ${String(a)} model ${String(b)}`)
            sync(slab, model, c.key)
          }
          break
        }
        case 'touch': {
          const a = touch(slab, c.key, c.exptime)
          const b = touch(model, c.key, c.exptime)
          if (a !== b) throw new Error(`${where()}: slab ${String(a)} model ${String(b)}`)
          break
        }
        case 'advance': clock.advance(c.sec); modelClock.advance(c.sec); break
        case 'crawl': cursor = slab.crawl(cursor, c.budget); break
        case 'flush': flushAll(slab); flushAll(model); break
        // One second of the background page mover (a 2-sample window, so it can decide).
        case 'automove': if (evictions) slab.automoveTick(); break
      }
      // A hit on the key just used must agree (also after a failed store).
      const a = peek(slab, c.key)
      const b = peek(model, c.key)
      if (a !== null && !same(a, b)) throw new Error(`${where()}: afterwards slab holds ${a.value.length} bytes, model ${b?.value.length ?? 'miss'}`)
      // Every key the slab store lost in this step is paid for by a counted loss.
      const lost = KEYS.filter((k) => peek(slab, k) === null && peek(model, k) !== null)
      const counted = losses() - lossesBefore
      if (lost.length > counted) throw new Error(`${where()}: ${lost.join(', ')} vanished with ${counted} counted evictions${evictions ? '' : ' (-M)'}`)
      for (const k of lost) del(model, k)
      lossesBefore = losses()
    }
    for (const k of KEYS) {
      const a = peek(slab, k)
      if (a !== null && !same(a, peek(model, k))) throw new Error(`final ${k}: slab and model differ`)
    }
    const broken = invariants(slab, limit)
    if (broken !== null) throw new Error(broken)
    evictionsSeen += slab.counters.evictions
    movesSeen += slab.counters.slabs_moved
  }), { numRuns: RUNS, seed })
  t.comment(`${runs} sequences in ${Date.now() - started} ms, ${evictionsSeen} evictions, ${movesSeen} page moves (seed ${result.seed})`)
  if (result.failed) {
    t.fail(`counterexample (seed ${result.seed}, path ${result.counterexamplePath ?? ''}): ${String(result.errorInstance)}\n` +
      (result.counterexample?.[0] ?? []).map((c) => JSON.stringify(c, (_k, v: unknown) => typeof v === 'bigint' ? `${v}n` : v)).join('\n'))
  } else {
    t.pass('no wrong value returned, invariants held')
  }
  if (evictions) {
    t.ok(evictionsSeen > 0, 'the runs did evict')
    // Page moves are rare here since chained items take chunks sized to fit (a short
    // sequence seldom fills 4 MiB + the first-page grace); automove.test.ts and
    // memory.test.ts make them happen on purpose. Reported, not required.
    t.comment(`page moves in these runs: ${movesSeen}`)
  } else {
    t.equal(evictionsSeen, 0, 'with -M nothing is ever evicted')
  }
  t.ok(runs >= RUNS, `every sequence of the seed ran (${runs})`)
})
}
}
