/**
 * The crawler reclaims expired and flushed items in bounded steps (a slice of the hash
 * table per call, as the server's timer calls it), also while the index is expanding.
 */
import t from 'tap'
import { ManualClock } from '../clock.js'
import { SlabStore } from '../slab-store.js'
import { flushAll, get, set } from './verbs.js'

const BUDGET = 500

/** One full pass in steps; returns the steps and the most items any step checked. */
function pass (s: SlabStore): { steps: number, maxChecked: number } {
  let cursor = 0
  let steps = 0
  let maxChecked = 0
  do {
    const before = s.counters.crawler_items_checked
    cursor = s.crawl(cursor, BUDGET)
    steps++
    maxChecked = Math.max(maxChecked, s.counters.crawler_items_checked - before)
  } while (cursor !== 0)
  return { steps, maxChecked }
}

t.test('expired items are reclaimed by bounded steps, live ones are kept', async (t) => {
  const clock = new ManualClock()
  const s = new SlabStore({ clock, memoryLimitBytes: 64 * 1024 * 1024 })
  for (let i = 0; i < 20_000; i++) set(s, `short:${i}`, 'v', 0, 5)
  for (let i = 0; i < 2_000; i++) set(s, `forever:${i}`, 'v', 0, 0)
  for (let i = 0; i < 1_000; i++) set(s, `long:${i}`, 'v', 0, 100)
  clock.advance(10)
  const { steps, maxChecked } = pass(s)
  t.ok(maxChecked <= BUDGET + 16, `no step checked more than its budget plus one chain (max ${maxChecked})`)
  t.ok(steps >= 23_000 / (BUDGET + 16), `the pass took ${steps} steps`)
  t.equal(s.counters.crawler_reclaimed, 20_000, 'every expired item reclaimed')
  t.equal(s.counters.curr_items, 3_000)
  t.equal(s.counters.get_expired, 0, 'nothing was left for lazy expiry to find')
  t.ok(get(s, 'forever:1999') !== null && get(s, 'long:999') !== null, 'live items kept')
  t.equal(s.counters.expired_unfetched, 20_000, 'reclaimed items that were never read are counted as such')
  clock.advance(100)
  pass(s)
  t.equal(s.counters.curr_items, 2_000, 'the 100 s items go on the next pass after they expire')
})

t.test('flushed items are reclaimed by the crawler', async (t) => {
  const clock = new ManualClock()
  const s = new SlabStore({ clock, memoryLimitBytes: 64 * 1024 * 1024 })
  for (let i = 0; i < 5_000; i++) set(s, `k:${i}`, 'v')
  flushAll(s)
  set(s, 'after', 'v')
  pass(s)
  t.equal(s.counters.curr_items, 1, 'only the item stored after the flush remains')
  t.ok(get(s, 'after') !== null)
})

t.test('crawling while the hash index expands still reclaims everything', async (t) => {
  const clock = new ManualClock()
  const s = new SlabStore({ clock, memoryLimitBytes: 64 * 1024 * 1024, hashPower: 10 })
  let i = 0
  // Stop right after an expansion starts so the crawl runs during it.
  while (i < 20_000 || !s.index.expanding) set(s, `e:${i++}`, 'v', 0, 5)
  for (let j = 0; j < 500; j++) set(s, `p:${j}`, 'v')
  t.ok(s.index.expanding || s.index.hashPower > 10, 'the index grew')
  clock.advance(10)
  let passes = 0
  while (s.counters.curr_items > 500 && passes < 3) { pass(s); passes++ }
  t.equal(s.counters.curr_items, 500, `all ${i} expired items reclaimed in ${passes} pass(es)`)
  let missing = 0
  for (let j = 0; j < 500; j++) if (get(s, `p:${j}`) === null) missing++
  t.equal(missing, 0, 'live items kept')
})
