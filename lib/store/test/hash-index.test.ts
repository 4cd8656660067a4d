/**
 * The hash index grows x2 incrementally (memcached assoc.c): during an expansion some
 * buckets live in the old table and some in the new. Every lookup, insert and delete
 * must stay correct at every point of the expansion.
 */
import t from 'tap'
import { ManualClock } from '../clock.js'
import { SlabStore } from '../slab-store.js'
import { del, get, set } from './verbs.js'
import { hashKey } from '../hash.js'
import { W_HNEXT, pageOf, wordOf } from '../layout.js'

t.test('lookups, overwrites and deletes are correct during incremental expansion (hashpower 12, 100k items)', async (t) => {
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 128 * 1024 * 1024, hashPower: 12 })
  const N = 100_000
  const deleted = new Set<number>()
  let expansions = 0
  let wasExpanding = false
  let checksDuringExpansion = 0
  let fullChecks = 0
  let step = 0
  let bad = 0
  let seed = 1
  const rnd = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return seed % n }
  const check = (i: number): void => {
    const v = get(s, `key-${i}`)
    const want = deleted.has(i) ? null : `value-${i}`
    if ((v?.value.toString() ?? null) !== want) bad++
  }
  for (let i = 0; i < N; i++) {
    set(s, `key-${i}`, `value-${i}`)
    if (!s.index.expanding) { wasExpanding = false; continue }
    if (!wasExpanding) { expansions++; wasExpanding = true; step = 0 }
    step++
    // Spot checks on every insert during an expansion, an overwrite and a delete now and then.
    check(i)
    for (let k = 0; k < 4; k++) check(rnd(i + 1))
    checksDuringExpansion += 5
    if (i % 7 === 0) { const j = rnd(i + 1); set(s, `key-${j}`, `value-${j}`); deleted.delete(j) }
    if (i % 11 === 0) { const j = rnd(i + 1); del(s, `key-${j}`); deleted.add(j) }
    // A full check of every key in the middle of every expansion (the old and the new
    // table both hold items then), whatever load factor triggers the growth.
    if (step === 50) { for (let j = 0; j <= i; j++) check(j); fullChecks++ }
  }
  for (let j = 0; j < N; j++) check(j)
  t.equal(bad, 0, `no wrong lookup in ${checksDuringExpansion} spot checks and ${fullChecks} full checks during expansions`)
  t.ok(expansions >= 4, `${expansions} expansions happened`)
  t.ok(fullChecks >= 2, 'full checks ran while expanding')
  t.ok(s.index.hashPower >= 16, `the table grew from 2^12 to 2^${s.index.hashPower}`)
  t.equal(s.index.count, s.counters.curr_items, 'index count matches the items')
  t.equal(s.counters.curr_items, N - deleted.size)
})

t.test('expansion finishes through mutations alone and keeps every key', async (t) => {
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 64 * 1024 * 1024, hashPower: 12 })
  let i = 0
  while (!s.index.expanding) set(s, `k${i++}`, 'v')
  const power = s.index.hashPower
  let ops = 0
  while (s.index.expanding) { set(s, 'churn', String(ops)); ops++ }
  t.equal(s.index.hashPower, power, 'the new table size')
  t.ok(ops <= (1 << (power - 1)) / 16 + 1, `finished after ${ops} mutations (16 buckets each)`)
  let missing = 0
  for (let j = 0; j < i; j++) if (get(s, `k${j}`) === null) missing++
  t.equal(missing, 0)
})

t.test('prefetch reads the chain head find() starts from, before, during and after an expansion', async (t) => {
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 64 * 1024 * 1024, hashPower: 10 })
  const hvs = new Uint32Array(8)
  const heads = new Uint32Array(8)
  let checked = 0
  let duringExpansion = 0
  let wrong = 0
  for (let i = 0; i < 20_000; i++) {
    set(s, `p${i}`, 'v')
    if (i % 97 !== 0) continue
    // 8 keys, some stored, some never stored
    const keys = Array.from({ length: 8 }, (_, j) => Buffer.from(j % 3 === 2 ? `absent${i}-${j}` : `p${(i * 7 + j * 13) % (i + 1)}`))
    for (let j = 0; j < 8; j++) hvs[j] = hashKey(keys[j], 0, keys[j].length)
    heads.fill(0xffffffff)
    s.index.prefetch(hvs, heads, 8)
    for (let j = 0; j < 8; j++) {
      const found = s.index.find(keys[j], 0, keys[j].length, hvs[j])
      // walk the chain from the head prefetch read: a found item must be on it
      let h = heads[j]
      let onChain = found === 0
      while (h !== 0 && !onChain) { if (h === found) onChain = true; h = s.slabs.u32[pageOf(h)][wordOf(h) + W_HNEXT] }
      if (!onChain || heads[j] === 0xffffffff) wrong++
      checked++
    }
    if (s.index.expanding) duringExpansion++
  }
  t.equal(wrong, 0, `every one of ${checked} keys: the head prefetch read leads to the item find() returns`)
  t.ok(duringExpansion > 0, `${duringExpansion} batches ran while the table was expanding`)
  // as the session uses it: through the store, on a line of keys, nothing observable changes
  const line = Buffer.from('p1 p2 absent p3')
  const ks = Int32Array.from([0, 3, 6, 13])
  const ke = Int32Array.from([2, 5, 12, 15])
  const before = { ...s.counters }
  s.prefetch(line, ks, ke, 0, 4)
  t.same(s.counters, before, 'no counter moves')
  t.equal(get(s, 'p2')?.value.toString(), 'v')
})
