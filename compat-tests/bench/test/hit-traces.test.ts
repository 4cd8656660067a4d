// The hit-ratio benchmark's traces (hit-traces.ts) are fixed by their seeds: the same seed
// gives the same requests (digest), another seed other requests, and each trace has the
// shape its documentation gives. Runs the generator only, at -m 8, not the benchmark.
import t from 'tap'
import { makeTrace, OP_FILL, OP_GET, OP_SET, TRACE_NAMES, TRACE_SEEDS, traceDigest } from '../hit-traces.js'

const MB = 8

t.test('same seed, same digest; another seed, another digest', async (t) => {
  for (const name of TRACE_NAMES) {
    const a = traceDigest(makeTrace(name, MB))
    t.equal(traceDigest(makeTrace(name, MB)), a, `${name}: regenerated`)
    t.not(traceDigest(makeTrace(name, MB, TRACE_SEEDS[name] + 1)), a, `${name}: seed + 1`)
  }
})

t.test('size-shift: four phases of sets in the issue\'s size ranges, then gets of phase 4 keys', async (t) => {
  const [p1, p2, p3, p4, sample] = makeTrace('size-shift', MB).phases
  const f = MB / 64
  const ranges: Array<[typeof p1, number, number, number]> = [[p1, 40000 * f, 50, 200], [p2, 4000 * f, 5120, 20480], [p3, 400 * f, 102400, 512000], [p4, 40000 * f, 50, 200]]
  for (const [p, n, lo, hi] of ranges) {
    t.equal(p!.ops.length, n, `${p!.name}: count`)
    t.ok(p!.ops.every((op) => op === OP_SET), `${p!.name}: sets only`)
    t.ok(p!.sizes.every((s) => s >= lo && s <= hi), `${p!.name}: sizes in ${lo}-${hi}`)
  }
  const k4 = new Set(p4!.keys)
  t.ok(sample!.measured && sample!.ops.every((op) => op === OP_GET), 'measured gets')
  t.ok(sample!.keys.every((k) => k4.has(k)), 'sampled from phase 4')
})

t.test('zipf: a refilled key keeps its size, low ranks dominate, 10x has more keys than 2x', async (t) => {
  const distinct = (name: 'zipf-2x' | 'zipf-10x'): number => {
    const { phases } = makeTrace(name, MB)
    const size = new Map<number, number>()
    let rank0 = 0
    for (const p of phases) {
      t.ok(p.ops.every((op) => op === OP_FILL), `${name} ${p.name}: cache-aside reads`)
      p.keys.forEach((k, i) => {
        if (k === 0) rank0++
        const s = size.get(k)
        if (s !== undefined && s !== p.sizes[i]) t.fail(`${name}: key ${k} changed size`)
        size.set(k, p.sizes[i]!)
      })
    }
    const total = phases.reduce((s, p) => s + p.ops.length, 0)
    t.ok(rank0 / total > 0.03, `${name}: rank 0 is ${(100 * rank0 / total).toFixed(1)}% of reads`)
    return size.size
  }
  t.ok(distinct('zipf-10x') > distinct('zipf-2x'), '10x reads over more keys')
})

t.test('scan: cold keys are read once, and the hot gets after it repeat the reference gets before it', async (t) => {
  const [warm, before, pass, after] = makeTrace('scan', MB).phases
  const hot = new Set(warm!.keys)
  const cold = pass!.keys.filter((k) => !hot.has(k) && k >= 1 << 24)
  t.ok(cold.length > pass!.keys.length / 3, `${cold.length} cold reads in the scan`)
  t.equal(new Set(cold).size, cold.length, 'each cold key once')
  t.ok(after!.measured && !before!.measured, 'only the gets after the scan are measured')
  t.same([...after!.keys], [...before!.keys], 'same hot gets before and after')
})

t.test('ttl, ttl-shift: short-TTL sets, a pause, then live sets read back', async (t) => {
  for (const [name, lo, hi] of [['ttl', 100, 1000], ['ttl-shift', 2048, 8192]] as const) {
    const [a, b, c] = makeTrace(name, MB).phases
    t.ok(a!.ttls.every((x) => x > 0) && b!.ttls.every((x) => x === 0), `${name}: short TTLs, then none`)
    t.ok(b!.pauseMs > 1000 * Math.max(...a!.ttls), `${name}: the pause outlasts the TTLs`)
    t.ok(b!.sizes.every((s) => s >= lo && s <= hi), `${name}: live sizes in ${lo}-${hi}`)
    t.same([...c!.keys], [...b!.keys], `${name}: every live key is read`)
  }
})
