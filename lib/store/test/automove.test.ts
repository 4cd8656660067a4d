/**
 * The background page mover (slab_automove=1, automove.ts) on a real SlabStore: a class that
 * keeps evicting takes pages from a class of old items once the window has filled and the
 * age ratio says so; a class with many free chunks gives pages back to the global pool;
 * nothing moves while ages are alike or before the window has filled.
 */
import t from 'tap'
import { ManualClock } from '../clock.js'
import { SlabStore } from '../slab-store.js'
import { get, set } from './verbs.js'

const MiB = 1024 * 1024

/** A store whose memory is all in the 1000-byte class (old items), then a 100-byte load. */
function shifted (window: number, ratio: number): { s: SlabStore, clock: ManualClock, big: number, small: number } {
  const clock = new ManualClock(1_700_000_000)
  const s = new SlabStore({ clock, memoryLimitBytes: 16 * MiB, slabAutomoveWindow: window, slabAutomoveRatio: ratio })
  const bigV = Buffer.alloc(1000, 0x62)
  for (let i = 0; i < 40_000; i++) set(s, `old:${i}`, bigV)
  const big = s.slabs.classFor(40 + 9 + 1000)
  const small = s.slabs.classFor(40 + 9 + 100)
  clock.advance(600) // the 1000-byte items are now 10 minutes old
  return { s, clock, big, small }
}

/** One second of a small-item load that overflows its class (more new items than a page
 *  holds, so it evicts even in a second after it got a page), then one automove tick. */
function second (s: SlabStore, clock: ManualClock, from: number): boolean {
  const v = Buffer.alloc(100, 0x73)
  for (let i = 0; i < 8000; i++) set(s, `new:${from + i}`, v)
  clock.advance(1)
  return s.automoveTick()
}

t.test('an evicting class of young items takes pages from a class of old ones, after the window fills', async (t) => {
  const window = 5
  const { s, clock, big, small } = shifted(window, 0.8)
  const bigPages = s.slabs.pagesOf[big]
  t.ok(bigPages > 2, `the old class holds ${bigPages} pages`)
  const moves: boolean[] = []
  for (let i = 0; i < 12; i++) moves.push(second(s, clock, i * 8000))
  t.ok(s.cls.evicted[small] > 0, 'the small class evicted')
  t.same(moves.slice(0, window), Array(window).fill(false), 'nothing moves before the window has filled')
  t.ok(moves.slice(window).every((m) => m), 'then one page a second moves')
  t.equal(s.counters.slabs_moved, moves.filter((m) => m).length, 'slabs_moved counts them')
  t.equal(s.slabs.pagesOf[big], bigPages - s.counters.slabs_moved, 'every page came from the old class')
  t.ok(s.counters.slab_reassign_evictions_nomem + s.counters.slab_reassign_rescues > 0, 'the moved pages were emptied (rescues or evictions counted)')
  t.ok(get(s, `new:${12 * 8000 - 1}`) !== null, 'the newest small item is held')
})

t.test('no move when the ratio says the evicting class is not younger enough', async (t) => {
  // ratio 0.001: the young class's age (0-1 s) must be below 0.6 s; with ages in whole
  // seconds it is 0, so use a ratio that no age beats: a NaN ratio (memcached compares false).
  const { s, clock } = shifted(3, Number.NaN)
  let moved = 0
  for (let i = 0; i < 8; i++) if (second(s, clock, i * 8000)) moved++
  t.equal(moved, 0, 'nothing moved')
  t.equal(s.counters.slabs_moved, 0)
})

t.test('a class with more than 2.5 pages of free chunks and a clean window gives a page to the pool', async (t) => {
  const clock = new ManualClock(1_700_000_000)
  const s = new SlabStore({ clock, memoryLimitBytes: 16 * MiB, slabAutomoveWindow: 3 })
  const v = Buffer.alloc(1000, 0x62)
  for (let i = 0; i < 8000; i++) set(s, `k:${i}`, v)
  const c = s.slabs.classFor(40 + 7 + 1000)
  const pages = s.slabs.pagesOf[c]
  // Delete (expire) most of them: free chunks way over 2.5 pages.
  for (let i = 0; i < 7000; i++) { const k = Buffer.from(`k:${i}`); s.unlink(s.find(k, 0, k.length)) }
  t.ok(s.slabs.freeChunks(c) > 2.5 * s.slabs.perPage[c], 'many free chunks')
  // The first samples are dirty (the class took pages while the window was recording).
  let moved = 0
  for (let i = 0; i < 6; i++) { clock.advance(1); if (s.automoveTick()) moved++ }
  t.ok(moved > 0, `pages went to the pool (${moved})`)
  t.equal(s.slabs.pagesOf[c], pages - moved, 'taken from that class')
  t.equal(s.slabs.sparePages, moved, 'and held in the global pool for any class')
  for (let i = 7000; i < 8000; i++) if (get(s, `k:${i}`) === null) { t.fail(`k:${i} lost`); break }
  // A new class takes its first page from the pool, not from the limit.
  const malloced = s.slabs.mallocedBytes
  set(s, 'other', Buffer.alloc(50_000, 1))
  t.equal(s.slabs.mallocedBytes, malloced, 'no new page was allocated')
  t.equal(s.slabs.sparePages, moved - 1)
})
