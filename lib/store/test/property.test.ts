/**
 * Random command sequences against SlabStore and the MapStore model: while memory is
 * ample (nothing is evicted) every reply, value, flag and CAS must be the same.
 * fast-check shrinks a failure to a short sequence and prints the seed to replay it.
 * Seeds (lib/testing/seeds.ts): a fixed list, FC_SEED=<n>[,<n>] replays one printed in a
 * test name, MEMRING_RANDOM_SEED=1 adds a random one. Each seed checks PROPERTY_RUNS
 * sequences (default 3,000), not a time box, so a seed is the same input on any machine.
 */
import t from 'tap'
import fc from 'fast-check'
import { ManualClock } from '../clock.js'
import { SlabStore } from '../slab-store.js'
import { StoreMode } from '../store.js'
import type { Store } from '../store.js'
import { MapStore } from './map-store.js'
import { arith, del, flushAll, get, store, touch } from './verbs.js'
import { testSeeds } from '../../testing/seeds.js'

const U64_MAX = (1n << 64n) - 1n
const KEYS = ['a', 'b', 'key:with:colons', 'k'.repeat(250), 'ü\u00ff', 'num']
const SEEDS = testSeeds('FC_SEED', [20261205, 5, 987654321])
const RUNS = Number(process.env.PROPERTY_RUNS ?? 3000)

type Cmd =
  | { op: 'store', mode: StoreMode, key: string, value: Buffer, flags: number, exptime: number, cas: 'seen' | 'zero' | number }
  | { op: 'get', key: string }
  | { op: 'del', key: string }
  | { op: 'arith', key: string, incr: boolean, delta: bigint, cas: 'seen' | 'zero' }
  | { op: 'touch', key: string, exptime: number }
  | { op: 'advance', sec: number }
  | { op: 'flush' }

const key = fc.constantFrom(...KEYS)
const exptime = fc.oneof(
  { weight: 6, arbitrary: fc.constant(0) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 8 }) },
  { weight: 1, arbitrary: fc.constant(-1) },
)
const value = fc.oneof(
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)) },
  { weight: 4, arbitrary: fc.bigInt({ min: 0n, max: U64_MAX }).map((n) => Buffer.from(n.toString())) },
  { weight: 1, arbitrary: fc.constantFrom('', ' 12', '12 ', '-1', '007').map((s) => Buffer.from(s)) },
  // Sizes around class boundaries and past a chunk (chained items).
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 900, max: 600_000 }), fc.integer({ min: 0, max: 255 })).map(([n, b]) => Buffer.alloc(n, b)) },
)
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('store' as const), mode: fc.constantFrom<StoreMode>(StoreMode.Set, StoreMode.Set, StoreMode.Add, StoreMode.Replace, StoreMode.Append, StoreMode.Prepend, StoreMode.Cas), key, value, flags: fc.oneof(fc.constant(0), fc.nat({ max: 0xffffffff })), exptime, cas: fc.oneof(fc.constant<'seen'>('seen'), fc.constant<'zero'>('zero'), fc.integer({ min: 1, max: 50 })) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('get' as const), key }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('del' as const), key }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('arith' as const), key, incr: fc.boolean(), delta: fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: U64_MAX })), cas: fc.constantFrom<'seen' | 'zero'>('zero', 'zero', 'seen') }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('touch' as const), key, exptime }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('advance' as const), sec: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'flush' as const }) },
)

/** Runs one command on a store; returns a comparable description of the outcome. */
function run (s: Store, c: Cmd, seen: Map<string, number>): unknown {
  switch (c.op) {
    case 'store': {
      const cas = c.cas === 'seen' ? (seen.get(c.key) ?? 1) : c.cas === 'zero' ? 0 : c.cas
      return store(s, c.mode, c.key, c.value, c.flags, c.exptime, cas)
    }
    case 'get': {
      const hit = get(s, c.key)
      if (hit !== null) seen.set(c.key, hit.cas)
      return hit === null ? null : { value: hit.value.toString('hex'), flags: hit.flags, cas: hit.cas }
    }
    case 'del': return del(s, c.key)
    case 'arith': return arith(s, c.key, c.incr, c.delta, c.cas === 'seen' ? (seen.get(c.key) ?? 0) : 0)
    case 'touch': return touch(s, c.key, c.exptime)
    case 'flush': flushAll(s); return 'OK'
    case 'advance': return 'tick'
  }
}

const show = (c: Cmd): string => JSON.stringify(c, (_k, v: unknown) =>
  typeof v === 'bigint' ? `${v}n` : (v as { type?: string })?.type === 'Buffer' ? `<${(v as { data: number[] }).data.length} bytes>` : v)

for (const seed of SEEDS) {
t.test(`random command sequences: SlabStore agrees with the MapStore model (seed ${seed})`, async (t) => {
  let runs = 0
  let steps = 0
  const started = Date.now()
    const result = fc.check(fc.property(fc.array(cmd, { minLength: 1, maxLength: 120 }), (cmds) => {
    runs++
    const clockA = new ManualClock(1_700_000_000)
    const clockB = new ManualClock(1_700_000_000)
    // hashPower 4: the index expands (incrementally) within most runs.
    const slab = new SlabStore({ clock: clockA, memoryLimitBytes: 256 * 1024 * 1024, hashPower: 4 })
    const model = new MapStore(clockB)
    const seenA = new Map<string, number>()
    const seenB = new Map<string, number>()
    for (let i = 0; i < cmds.length; i++) {
      const c = cmds[i]
      if (c.op === 'advance') { clockA.advance(c.sec); clockB.advance(c.sec) }
      const a = run(slab, c, seenA)
      const b = run(model, c, seenB)
      steps++
      if (JSON.stringify(a, big) !== JSON.stringify(b, big)) {
        throw new Error(`step ${i} ${show(c)}: slab ${JSON.stringify(a, big)} model ${JSON.stringify(b, big)}`)
      }
    }
    for (const k of KEYS) {
      const a = JSON.stringify(run(slab, { op: 'get', key: k }, seenA), big)
      const b = JSON.stringify(run(model, { op: 'get', key: k }, seenB), big)
      if (a !== b) throw new Error(`final get ${k}: slab ${a} model ${b}`)
    }
    if (slab.counters.evictions !== 0) throw new Error('memory was not ample: the slab store evicted')
  }), { numRuns: RUNS, seed })
  t.comment(`${runs} sequences, ${steps} commands in ${Date.now() - started} ms (seed ${result.seed})`)
  if (result.failed) {
    t.fail(`counterexample (seed ${result.seed}, path ${result.counterexamplePath ?? ''}): ${String(result.errorInstance)}\n` +
      (result.counterexample?.[0] ?? []).map(show).join('\n'))
  } else {
    t.pass('no disagreement')
  }
  t.ok(runs >= RUNS, `every sequence of the seed ran (${runs})`)
})
}

function big (_k: string, v: unknown): unknown { return typeof v === 'bigint' ? `${v}n` : v }
