// lib/testing/zipf.ts
/**
 * A seeded zipf(s) sampler over ranks 0..n-1 (0 the most frequent: P(r) ~ 1/(r+1)^s), by
 * inverse CDF and binary search, for skewed loads in tests and benchmarks (hot keys).
 * Deterministic for a seed (mulberry32 from seeds.ts). Test-only code: unstable API.
 */
import { rng } from './seeds.js'

export function zipf (n: number, s: number, seed: number): () => number {
  const cdf = new Float64Array(n)
  let sum = 0
  for (let i = 0; i < n; i++) { sum += 1 / Math.pow(i + 1, s); cdf[i] = sum }
  const next = rng(seed)
  return () => {
    const u = next() * sum
    let lo = 0
    let hi = n - 1
    while (lo < hi) { const m = (lo + hi) >> 1; if (cdf[m]! < u) lo = m + 1; else hi = m }
    return lo
  }
}
