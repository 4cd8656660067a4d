/**
 * Segmented LRU (HOT/WARM/COLD, memcached 1.6 doc/new_lru.txt): items read twice move
 * to WARM and survive a one-time scan many times larger than the cache, which only churns
 * COLD. The control run (items read once) shows the same scan does evict them.
 */
import t from 'tap'
import { ManualClock } from '../clock.js'
import { SlabStore } from '../slab-store.js'
import { get, set } from './verbs.js'

const MiB = 1024 * 1024

function scanScenario (readsPerHotItem: number): { lost: number, evictions: number, store: SlabStore } {
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 4 * MiB })
  const value = Buffer.alloc(1000, 0x68)
  const hot = 300 // under a tenth of what fits (~3,500 items of this class)
  // A cache in steady state: full of older items, so the hot set is a small share of the
  // class (as in memcached, WARM may hold 40% of the class; a hot set larger than that is
  // demoted whatever the LRU).
  for (let i = 0; i < 5_000; i++) set(s, `old:${i}`, value)
  for (let i = 0; i < hot; i++) set(s, `hot:${i}`, value)
  for (let r = 0; r < readsPerHotItem; r++) for (let i = 0; i < hot; i++) get(s, `hot:${i}`)
  // The scan: 20,000 items written once and never read (about 6x the cache).
  for (let i = 0; i < 20_000; i++) set(s, `scan:${i}`, value)
  let lost = 0
  for (let i = 0; i < hot; i++) if (s.find(Buffer.from(`hot:${i}`), 0, `hot:${i}`.length) === 0) lost++
  return { lost, evictions: s.counters.evictions, store: s }
}

t.test('items read twice survive a one-time scan', async (t) => {
  const { lost, evictions, store } = scanScenario(2)
  t.ok(evictions > 20_000, `the scan evicted (${evictions})`)
  t.equal(lost, 0, 'every hot item is still there')
  t.ok(store.counters.evicted_active === 0, 'no ACTIVE item was evicted')
})

t.test('control: items read once do not survive the same scan', async (t) => {
  const { lost } = scanScenario(1)
  t.ok(lost > 250, `${lost}/300 items read only once were evicted`)
})

t.test('an item read again while in COLD goes back to WARM and survives', async (t) => {
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 4 * MiB })
  const value = Buffer.alloc(1000, 0x68)
  set(s, 'late', value)
  get(s, 'late') // fetched once
  for (let i = 0; i < 1000; i++) set(s, `fill:${i}`, value)
  const c = s.clsid(s.find(Buffer.from('late'), 0, 4))
  t.equal(s.lru.segmentOf(s.find(Buffer.from('late'), 0, 4)), SlabStore.SEG_COLD, 'pushed down to COLD by newer items')
  get(s, 'late') // second read: COLD -> WARM
  t.equal(s.lru.segmentOf(s.find(Buffer.from('late'), 0, 4)), SlabStore.SEG_WARM, 'moved to WARM')
  t.ok(s.lru.movesToWarm[c] > 0)
  for (let i = 0; i < 20_000; i++) set(s, `scan:${i}`, value)
  t.ok(get(s, 'late') !== null, 'survives the scan')
})

t.test('segment sizes stay within their shares while items stream through', async (t) => {
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 4 * MiB })
  const value = Buffer.alloc(1000, 0x68)
  for (let i = 0; i < 10_000; i++) {
    set(s, `k:${i}`, value)
    if (i % 3 === 0) { get(s, `k:${i}`); get(s, `k:${i}`) }
  }
  const c = s.clsid(s.find(Buffer.from('k:9999'), 0, 6))
  const hot = s.segmentCount(c, SlabStore.SEG_HOT)
  const warm = s.segmentCount(c, SlabStore.SEG_WARM)
  const cold = s.segmentCount(c, SlabStore.SEG_COLD)
  const total = hot + warm + cold
  t.equal(total, s.counters.curr_items, 'every item is on exactly one list')
  t.ok(hot * 100 <= total * 20 + 200, `HOT ${hot} of ${total} (20% share)`)
  t.ok(warm * 100 <= total * 40 + 200, `WARM ${warm} of ${total} (40% share)`)
})
