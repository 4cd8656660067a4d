/**
 * When a class needs a page and the best donor cannot give one now, the mover tries the
 * next. The case (memcached's t/chunked-items.t, -m 48 -o slab_chunk_max=16384): memory is
 * full of chained items, and a chain's last chunk needs a class with no page yet. The
 * class whose tail is oldest is the chain heads' class, and its one page holds the head of
 * the chain being built, which must not be taken. Taking only that donor failed 48 of 420
 * large sets with out of memory (memcached stores all of them), and appends to a small key
 * lost it once the growing value needed a new class. Now every set and append stores.
 */
import t from 'tap'
import { ManualClock } from '../clock.js'
import { SlabStore } from '../slab-store.js'
import { StoreMode } from '../store.js'
import { set, store, val } from './verbs.js'

t.test('large chained sets and appends find a donor page when the first choice is busy', async (t) => {
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 48 * 1024 * 1024, slabChunkMax: 16384, slabReassign: true })
  for (let i = 0; i < 5; i++) t.equal(set(s, `foo${i}`, 'x'.repeat(400 * 1024)), 'STORED')
  const toast = 'a'.repeat(589824)
  for (let i = 1; i <= 100; i++) t.equal(set(s, `toast${i}`, toast), 'STORED', `toast${i}`)
  let failed = 0
  for (let len = 200 * 1024; len < 1024 * 1024; len += 2048) if (set(s, `foo_${len}`, 'B'.repeat(len)) !== 'STORED') failed++
  t.equal(failed, 0, 'every large set stored (memcached stores all)')
  t.ok(s.counters.slabs_moved > 0, `pages were moved (${s.counters.slabs_moved})`)
  let v = 'seedstring'
  t.equal(set(s, 'appender', v), 'STORED')
  let bad = 0
  for (let p = 1; p <= 400; p++) {
    const part = `${p}xxxxxxxxxx`
    v += part
    if (store(s, StoreMode.Append, 'appender', part) !== 'STORED') bad++
  }
  t.equal(bad, 0, 'every append stored')
  t.equal(val(s, 'appender'), v, 'the appended value is whole')
})
