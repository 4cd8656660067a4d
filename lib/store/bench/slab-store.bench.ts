/**
 * SlabStore (slab-store.ts) get and set with 1,000,000 items resident (32-byte keys, 100-byte
 * values, -m 1024), plus what those items cost the V8 heap and how long a full GC takes
 * with them in place (the reason items live in slab pages, not in JS objects).
 *
 *   npx tsc -p . && node dist/lib/store/bench/slab-store.bench.js [--quick]
 *
 * get = find + touchRead + copyValue (what a get hit does), on random keys and on 64 hot
 * ones (the difference is memory latency); set = alloc + writeValue +
 * link (an overwrite of a resident key). Each timed iteration is 1,000 operations on
 * pseudo-random keys; figures are per operation, median of tinybench samples timed with
 * this process's CPU time (a shared machine's other processes count less; its cache and
 * memory-bandwidth contention still show). --quick uses 50,000 items.
 */
import { performance } from 'node:perf_hooks'
import v8 from 'node:v8'
import { runInNewContext } from 'node:vm'
import { Bench } from 'tinybench'
import { SlabStore } from '../slab-store.js'
import { StoreMode, StoreResult } from '../store.js'

const quick = process.argv.includes('--quick')
const ITEMS = quick ? 50_000 : 1_000_000
const BATCH = 1000
const KEY = 32
const VALUE = 100

// A full-GC function without --expose-gc on the command line.
v8.setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const keys = Buffer.alloc(ITEMS * KEY)
for (let i = 0; i < ITEMS; i++) keys.write(`key:${String(i).padStart(KEY - 4, '0')}`, i * KEY, 'latin1')
const missKey = Buffer.from(`nokey:${'0'.repeat(KEY - 6)}`)
const value = Buffer.alloc(VALUE, 'v')
const dst = Buffer.alloc(VALUE + 64)

gc()
const heapBefore = process.memoryUsage()
const store = new SlabStore({ memoryLimitBytes: 1024 * 1024 * 1024 })

function set (i: number): void {
  const ks = i * KEY
  const h = store.alloc(keys, ks, ks + KEY, 0, 0, VALUE)
  if (h <= 0) throw new Error(`alloc failed: ${-h}`)
  store.writeValue(h, value, 0, VALUE, 0)
  if (store.link(h, StoreMode.Set, 0) !== StoreResult.Stored) throw new Error('link failed')
}

const t0 = process.cpuUsage()
for (let i = 0; i < ITEMS; i++) set(i)
const tl = process.cpuUsage(t0)
const loadMs = (tl.user + tl.system) / 1000
if (store.counters.curr_items !== ITEMS) throw new Error(`expected ${ITEMS} items, store has ${store.counters.curr_items}`)

// xorshift: the same pseudo-random key order on every run.
let seed = 0x2545f491
const next = (): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % ITEMS }

/** Process CPU time in ms: other processes on a shared machine stretch wall time, not this. */
const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
let sink = 0
const bench = new Bench({ now: cpuMs, time: quick ? 30 : 800, warmupTime: quick ? 10 : 200 })
bench.add('get hit (find + touchRead + copyValue)', () => {
  for (let j = 0; j < BATCH; j++) {
    const ks = next() * KEY
    const h = store.find(keys, ks, ks + KEY)
    if (h === 0) throw new Error('miss on a resident key')
    store.touchRead(h)
    sink += store.copyValue(h, dst, 0)
  }
})
// The same work on 64 keys that stay in the CPU caches: the difference from the case above
// is what a get's memory accesses (bucket, item header, key, value) cost when the keys are
// spread over the whole store, as memaslap's are. memcached pays that too; the benchmark's
// ceiling server, which stores nothing, does not (issue 15).
bench.add('get hit, 64 hot keys (same work, cached)', () => {
  for (let j = 0; j < BATCH; j++) {
    const ks = (j & 63) * KEY
    const h = store.find(keys, ks, ks + KEY)
    if (h === 0) throw new Error('miss on a resident key')
    store.touchRead(h)
    sink += store.copyValue(h, dst, 0)
  }
})
bench.add('get miss (find)', () => {
  for (let j = 0; j < BATCH; j++) {
    missKey[KEY - 1] = 48 + (j % 10)
    sink += store.find(missKey, 0, KEY)
  }
})
bench.add('set, overwrite (alloc + writeValue + link)', () => {
  for (let j = 0; j < BATCH; j++) set(next())
})
await bench.run()

gc()
const heapAfter = process.memoryUsage()
const gcMs: number[] = []
for (let i = 0; i < 5; i++) {
  const g0 = performance.now()
  gc()
  gcMs.push(performance.now() - g0)
}
gcMs.sort((a, b) => a - b)
store.close()
if (sink === 0) throw new Error('slab-store bench: nothing was read')

const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`
console.log(`${ITEMS} items loaded in ${loadMs.toFixed(0)} ms of CPU (${((loadMs * 1e6) / ITEMS).toFixed(0)} ns/set on an empty store)`)
console.table(bench.tasks.map((t) => {
  const r = t.result
  if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state}`)
  const ns = (r.latency.p50 * 1e6) / BATCH
  return { case: t.name, 'ns/op': ns.toFixed(0), 'ops/s': `${(1e3 / ns).toFixed(2)} M`, 'rme %': r.latency.rme.toFixed(1) }
}))
console.log(`V8 heap used: ${mib(heapBefore.heapUsed)} before the store, ${mib(heapAfter.heapUsed)} with ${ITEMS} items ` +
  `(slab memory outside the heap: ${mib(heapAfter.arrayBuffers - heapBefore.arrayBuffers)} in ArrayBuffers)`)
console.log(`full GC with ${ITEMS} items resident: median ${gcMs[2].toFixed(2)} ms (min ${gcMs[0].toFixed(2)}, max ${gcMs[4].toFixed(2)})`)
