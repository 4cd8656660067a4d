/**
 * Bounded loads under a zipf load: per-server share of requests with and without
 * `--bounded-load c`, as memring-proxy measures load (requests in flight per server).
 *
 * An open-loop model, deterministic (seeded): every tick ARRIVALS = rho * N requests arrive,
 * their keys drawn from a zipf(s) distribution over KEYS keys, and every server completes
 * one request it holds (equal service rates: rho is the utilisation). Placement is lib/ring's
 * ketama continuum (libmemcached's, MD5 keys) and, with c, boundedOwner() over the in-flight
 * counts, exactly the lookup the proxy runs. Prints per server the share of requests (a bar
 * chart) for plain ketama and for each c, then the peak in-flight queue of any server and
 * the share of requests placed off their ketama owner. Uniform keys (s = 0) show the cost
 * when nothing is hot.
 *
 *   node dist/lib/ring/bench/bounded-zipf.bench.js [servers=10] [s=1.1] [rho=0.7] [minLoad=8]
 */
import { libmemcachedKetama, boundedOwner, md5, md5Word } from '../index.js'
import { prng } from '../test/keys.js'

const N = Number(process.argv[2] ?? 10)
const S = Number(process.argv[3] ?? 1.1)
const RHO = Number(process.argv[4] ?? 0.7)
const ARRIVALS = Math.max(1, Math.round(RHO * N))
const KEYS = 100_000
const TICKS = 20_000
/** As memring-proxy (BOUNDED_MIN_LOAD): a server with fewer requests in flight is never over. */
const MIN_LOAD = Number(process.argv[5] ?? 8)

/** Inverse-CDF zipf sampler over ranks 0..n-1. */
function zipf (n: number, s: number, rnd: () => number): () => number {
  const cdf = new Float64Array(n)
  let sum = 0
  for (let i = 0; i < n; i++) { sum += 1 / Math.pow(i + 1, s); cdf[i] = sum }
  for (let i = 0; i < n; i++) cdf[i] /= sum
  return () => {
    const u = rnd()
    let lo = 0
    let hi = n - 1
    while (lo < hi) { const mid = (lo + hi) >>> 1; if (cdf[mid]! < u) lo = mid + 1; else hi = mid }
    return lo
  }
}

interface Result { share: Float64Array, peak: number, moved: number }

function run (s: number, c: number): Result {
  const ring = libmemcachedKetama(Array.from({ length: N }, (_, i) => ({ host: `10.0.0.${i + 1}`, port: 11211 })))
  const cont = ring.continuum
  const hashes = new Uint32Array(KEYS)
  const key = new Uint8Array(32)
  for (let k = 0; k < KEYS; k++) {
    const n = Buffer.from(key.buffer).write(`key:${k}`, 'latin1')
    md5(key, 0, n)
    hashes[k] = md5Word(0)
  }
  const draw = zipf(KEYS, s, prng(7))
  const weights = new Float64Array(N).fill(1)
  const loads = new Float64Array(N)
  const placed = new Float64Array(N)
  let total = 0
  let moved = 0
  let peak = 0
  for (let t = 0; t < TICKS; t++) {
    for (let a = 0; a < ARRIVALS; a++) {
      const h = hashes[draw()]!
      const home = cont.serverFor(h)
      const at = c === 0 ? home : boundedOwner(cont, h, c, loads, weights, total, N, MIN_LOAD)
      if (at !== home) moved++
      loads[at]!++
      total++
      placed[at]!++
      if (loads[at]! > peak) peak = loads[at]!
    }
    for (let i = 0; i < N; i++) if (loads[i]! > 0) { loads[i]!--; total-- }
  }
  const all = placed.reduce((a, b) => a + b, 0)
  return { share: placed.map((p) => p / all), peak, moved: moved / all }
}

const bar = (x: number): string => '#'.repeat(Math.round(x * 100))
for (const s of [S, 0]) {
  const cs = [0, 1.25, 1.1]
  const rs = cs.map((c) => run(s, c))
  process.stdout.write(`\n${s === 0 ? 'uniform keys' : `zipf s=${s}`} over ${KEYS} keys, ${N} servers, utilisation ${RHO} (${ARRIVALS} arrivals per tick, each server serves 1), ${TICKS} ticks (fair share ${(100 / N).toFixed(1)}%)\n`)
  for (let i = 0; i < N; i++) {
    process.stdout.write(`server ${String(i).padStart(2)} ` + rs.map((r, j) => `${cs[j] === 0 ? 'ketama' : `c=${cs[j]}`} ${(r.share[i]! * 100).toFixed(1).padStart(5)}% ${bar(r.share[i]!).padEnd(40)}`).join(' ') + '\n')
  }
  for (let j = 0; j < cs.length; j++) {
    const r = rs[j]!
    process.stdout.write(`${cs[j] === 0 ? 'ketama  ' : `c=${cs[j]}`.padEnd(8)} max share ${(Math.max(...r.share) * 100).toFixed(1)}%  peak in flight on one server ${r.peak}  placed off the ketama owner ${(r.moved * 100).toFixed(2)}%\n`)
  }
}
