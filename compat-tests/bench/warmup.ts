// Warm-up benchmark (issue 14): the hit ratio of the keys that move when a shard is added
// under a steady read load, per 250 ms, with the proxy's warm-up window and without it.
//
//   npm run build && node dist/compat-tests/bench/warmup.js              # 3 rounds per mode, ~2 min
//   node dist/compat-tests/bench/warmup.js --rounds 1 --keys 10000        # quicker
//
// One round: a real ZooKeeper, memring hosts for shards 0 and 1 (registered with --zk), an
// in-process memring-proxy (createProxy) on ZooKeeper, KEYS keys of 100 B loaded through
// it. CONNS connections then read uniformly random keys through the proxy, one get in
// flight each, as a cache-aside client: a miss is followed by a set of the key (the
// refill an application does). After STEADY_MS the host of shard 2 starts and registers;
// reading goes on for AFTER_MS. Every read is logged (time, key, hit); once the ring has
// changed, the keys whose owner changed are known (the proxy's router), and the log gives,
// per 250 ms, the hit ratio of those moved keys and of all keys.
//
// Modes: `warm-up` (--warmup-window 60000, --warmup-hit-ratio 0.98, the defaults but a
// shorter window) and `none` (--warmup-window 0). The goal: moved keys never fall below
// 90% of the steady hit ratio. Hit ratios do not depend on the machine's speed; the
// number of reads per bucket does (it is printed).
import os from 'node:os'
import { createProxy, type MemringProxy } from '../../lib/proxy/index.js'
import { startZooKeeper, type Teardown } from '../../lib/testing/zookeeper.js'
import { startMemringProcess } from '../../lib/testing/memring-process.js'
import { rawClient, type RawClient } from '../../lib/testing/raw-client.js'
import { waitFor } from '../../lib/testing/wait-for.js'
import { gitSha, machineInfo } from './proc.js'
import { repoRoot } from '../harness/targets.js'
import { numArg as arg } from './args.js'

const ROUNDS = arg('rounds', 3)
const KEYS = arg('keys', 20_000)
const CONNS = arg('conns', 8)
const STEADY_MS = arg('steady-ms', 2000)
const AFTER_MS = arg('after-ms', 6000)
const BUCKET_MS = 250
const VALUE = 'v'.repeat(100)

interface Round { steady: number, moved: number, warm: string, buckets: { t: number, reads: number, movedReads: number, movedRatio: number, allRatio: number }[] }

/** A teardown list the bench runs itself (lib/testing helpers take a tap-like `t`). */
class Cleanup implements Teardown {
  #fns: (() => unknown)[] = []
  teardown (fn: () => unknown): void { this.#fns.push(fn) }
  async run (): Promise<void> { for (const f of this.#fns.reverse()) { try { await f() } catch {} } }
}

async function round (windowMs: number, n: number): Promise<Round> {
  const clean = new Cleanup()
  try {
    const zk = await startZooKeeper(clean)
    const cluster = `wb${n}`
    const hostArgs = (shard: string): string[] => ['--zk', zk.connectString, '--cluster', cluster, '--shard', shard, '--zk-session-timeout', '3000']
    await startMemringProcess(clean, hostArgs('0'))
    await startMemringProcess(clean, hostArgs('1'))
    const proxy: MemringProxy = createProxy({ port: 0, topology: { kind: 'zk', zk: zk.connectString, cluster, sessionTimeoutMs: 3000 }, warmUp: { windowMs, hitRatio: 0.98 } })
    await proxy.start()
    clean.teardown(() => proxy.close())
    const live = (k: number) => () => proxy.router.topology.shardIds.length === k && [...proxy.router.topology.shards.values()].every((s) => s.primary !== null)
    await waitFor(live(2), { timeoutMs: 20_000, what: 'two masters' })
    const keys = Array.from({ length: KEYS }, (_, i) => `bench:warm:${i}`)
    const loader = await rawClient(clean as never, proxy.port)
    for (let i = 0; i < KEYS; i += 2000) {
      loader.write(keys.slice(i, i + 2000).map((k) => `set ${k} 0 0 ${VALUE.length} noreply\r\n${VALUE}\r\n`).join('') + 'mn\r\n')
      await loader.until('MN\r\n', 30_000)
    }
    // The read log: time (ms since start), key index, hit.
    const cap = 4_000_000
    const at = new Float64Array(cap)
    const key = new Int32Array(cap)
    const hit = new Uint8Array(cap)
    let logged = 0
    const t0 = performance.now()
    let running = true
    const reader = async (c: RawClient): Promise<void> => {
      while (running && logged < cap) {
        const i = Math.floor(Math.random() * KEYS)
        c.write(`get ${keys[i]}\r\n`)
        const r = await c.until('END\r\n', 10_000)
        const h = r.length > 5
        at[logged] = performance.now() - t0; key[logged] = i; hit[logged] = h ? 1 : 0; logged++
        if (!h) { c.write(`set ${keys[i]} 0 0 ${VALUE.length}\r\n${VALUE}\r\n`); await c.until('\r\n', 10_000) }
      }
    }
    const conns = await Promise.all(Array.from({ length: CONNS }, async () => await rawClient(clean as never, proxy.port)))
    const readers = conns.map(reader)
    await new Promise((resolve) => setTimeout(resolve, STEADY_MS))
    const ownerBefore = keys.map((k) => proxy.router.shard(proxy.router.shardIndexOf(Buffer.from(k), 0, k.length)).id)
    await startMemringProcess(clean, hostArgs('2'))
    await waitFor(live(3), { timeoutMs: 20_000, intervalMs: 5, what: 'the third master' })
    const changedAt = performance.now() - t0
    await new Promise((resolve) => setTimeout(resolve, AFTER_MS))
    running = false
    await Promise.all(readers)
    const moved = new Uint8Array(KEYS)
    let nMoved = 0
    keys.forEach((k, i) => { if (proxy.router.shard(proxy.router.shardIndexOf(Buffer.from(k), 0, k.length)).id !== ownerBefore[i]) { moved[i] = 1; nMoved++ } })
    const nb = Math.ceil((performance.now() - t0) / BUCKET_MS)
    const reads = new Uint32Array(nb); const hits = new Uint32Array(nb); const mr = new Uint32Array(nb); const mh = new Uint32Array(nb)
    let sr = 0; let sh = 0
    for (let j = 0; j < logged; j++) {
      const b = Math.floor(at[j]! / BUCKET_MS)
      reads[b]++; hits[b] += hit[j]!
      if (moved[key[j]!] === 1) { mr[b]++; mh[b] += hit[j]! }
      if (at[j]! < changedAt && moved[key[j]!] === 1) { sr++; sh += hit[j]! }
    }
    const changeBucket = Math.floor(changedAt / BUCKET_MS)
    const buckets = []
    for (let b = 0; b < nb; b++) {
      if (reads[b] === 0) continue
      buckets.push({ t: (b - changeBucket) * BUCKET_MS, reads: reads[b]!, movedReads: mr[b]!, movedRatio: mr[b] === 0 ? 1 : mh[b]! / mr[b]!, allRatio: hits[b]! / reads[b]! })
    }
    const w = proxy.core.warmUp
    const warm = `warmup_reads ${w.counters.warmup_reads}, warmup_fills ${w.counters.warmup_fills}, warmup_fills_refused ${w.counters.warmup_fills_refused}, warmup_misses ${w.counters.warmup_misses}, active ${w.active ? 1 : 0}, ended ${w.endReason}, last ratio ${w.lastRatio.toFixed(3)}`
    return { steady: sr === 0 ? 1 : sh / sr, moved: nMoved, warm, buckets }
  } finally {
    await clean.run()
  }
}

function chart (r: Round, label: string): string {
  const lines = [`${label}: ${r.moved} of ${KEYS} keys moved; moved keys' steady hit ratio ${(r.steady * 100).toFixed(1)}%`,
    '  t(ms)  reads  moved  moved-hit  all-hit  (moved keys: # = 5%)']
  for (const b of r.buckets) {
    lines.push(`${String(b.t).padStart(7)} ${String(b.reads).padStart(6)} ${String(b.movedReads).padStart(6)} ${(b.movedRatio * 100).toFixed(1).padStart(8)}% ${(b.allRatio * 100).toFixed(1).padStart(7)}%  ${'#'.repeat(Math.round(b.movedRatio * 20))}`)
  }
  lines.push(`  proxy: ${r.warm}`)
  return lines.join('\n')
}

async function main (): Promise<void> {
  const m = machineInfo()
  console.log(`# warm-up bench: ${gitSha(repoRoot)}, node ${m.node}, ${m.cpuModel} x${m.cpus}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
  console.log(`# ${KEYS} keys of ${VALUE.length} B, ${CONNS} cache-aside readers, shard 2 added after ${STEADY_MS} ms, ${AFTER_MS} ms after; ${ROUNDS} rounds per mode`)
  const worst: Record<string, number[]> = { 'warm-up': [], none: [] }
  for (let n = 0; n < ROUNDS; n++) {
    for (const [mode, windowMs] of [['warm-up', 60_000], ['none', 0]] as const) {
      const r = await round(windowMs, n * 2 + (windowMs === 0 ? 1 : 0))
      const after = r.buckets.filter((b) => b.t >= 0 && b.movedReads > 0)
      const min = Math.min(...after.map((b) => b.movedRatio)) / r.steady
      worst[mode]!.push(min)
      console.log(`\n${chart(r, `round ${n + 1}, ${mode}`)}\n  lowest moved-key hit ratio after the change / steady: ${(min * 100).toFixed(1)}%`)
    }
  }
  console.log('\n| mode | lowest moved-key hit ratio / steady, min / median / max over rounds |\n| --- | --- |')
  for (const [mode, v] of Object.entries(worst)) {
    const s = [...v].sort((a, b) => a - b)
    console.log(`| ${mode} | ${(s[0]! * 100).toFixed(1)}% / ${(s[Math.floor(s.length / 2)]! * 100).toFixed(1)}% / ${(s[s.length - 1]! * 100).toFixed(1)}% |`)
  }
}

main().catch((err) => { console.error(err); process.exit(1) })
