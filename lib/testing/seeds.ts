// lib/testing/seeds.ts
/**
 * Seeds for fuzz and property tests (TESTING.md, "Seeds"). The test command runs a fixed
 * list, so a run is reproducible and a pass means the same thing every time:
 *   - ENV=<n>[,<n>...] replaces the list (to replay a failure printed in a test name);
 *   - MEMRING_RANDOM_SEED=1 adds one random seed to the list, printed like the others
 *     (for exploring; a failure found that way is replayed with ENV=<n> and its seed is
 *     then added to the fixed list as a regression case).
 * Test-only code: unstable API.
 */
export function testSeeds (envName: string, fixed: readonly number[]): number[] {
  const given = process.env[envName]
  if (given !== undefined && given.trim() !== '') {
    const seeds = given.split(',').map((s) => Number(s.trim()))
    if (seeds.some((s) => !Number.isSafeInteger(s))) throw new Error(`${envName}=${given}: expected integers separated by commas`)
    return seeds
  }
  const seeds = [...fixed]
  if (process.env.MEMRING_RANDOM_SEED === '1') seeds.push(Math.floor(Math.random() * 2 ** 31))
  return seeds
}

/** mulberry32: a small seeded PRNG, so a failing load can be replayed with its seed. */
export function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Seeded choices for random test generators: extend it and add the domain's picks. */
export class Picker {
  protected readonly rnd: () => number
  constructor (seed: number) { this.rnd = rng(seed) }
  int (n: number): number { return Math.floor(this.rnd() * n) }
  pick<T> (a: readonly T[]): T { return a[this.int(a.length)] as T }
  chance (p: number): boolean { return this.rnd() < p }
}
