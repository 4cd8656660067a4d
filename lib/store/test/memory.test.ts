/**
 * The memory limit: pages are allocated lazily and never beyond -m, writing far more
 * than fits evicts (and counts it) instead of failing, and a shift in value sizes moves
 * pages to the class that needs them (page mover) instead of answering out-of-memory.
 */
import t from 'tap'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { ManualClock } from '../clock.js'
import { FIRST_PAGE_GRACE_BYTES, PAGE_SIZE } from '../slabs.js'
import { SlabStore } from '../slab-store.js'
import { get, set } from './verbs.js'

const MiB = 1024 * 1024

t.test('ten times the memory limit written: pages stay within -m, evictions are counted, no errors', async (t) => {
  const limit = 8 * MiB
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: limit })
  const before = process.memoryUsage().arrayBuffers
  const value = Buffer.alloc(1000, 0x61)
  const n = Math.ceil((10 * limit) / value.length)
  const replies = new Map<string, number>()
  let maxPages = 0
  for (let i = 0; i < n; i++) {
    value.writeUInt32BE(i, 0)
    const r = set(s, `key:${i}`, value)
    replies.set(r, (replies.get(r) ?? 0) + 1)
    if (s.slabs.totalPages > maxPages) maxPages = s.slabs.totalPages
  }
  t.same([...replies], [['STORED', n]], `all ${n} sets STORED`)
  t.ok(maxPages <= limit / PAGE_SIZE, `at most ${limit / PAGE_SIZE} pages ever (saw ${maxPages})`)
  t.ok(s.slabs.mallocedBytes <= limit, `slab memory ${s.slabs.mallocedBytes} <= ${limit}`)
  t.ok(s.counters.evictions > 0, `evictions counted (${s.counters.evictions})`)
  t.equal(s.counters.evictions + s.counters.curr_items, n, 'every item is either resident or counted as evicted')
  t.equal(s.counters.evicted_unfetched, s.counters.evictions, 'none of them had been read')
  // Off-heap memory (slab pages are ArrayBuffers) grew by no more than the limit + slack.
  const grown = process.memoryUsage().arrayBuffers - before
  t.ok(grown <= limit + 2 * MiB, `ArrayBuffer memory grew ${(grown / MiB).toFixed(1)} MiB for an ${limit / MiB} MiB limit`)
  // The newest items are the ones kept.
  for (let i = n - 100; i < n; i++) {
    const hit = get(s, `key:${i}`)
    if (hit === null || hit.value.readUInt32BE(0) !== i) { t.fail(`key:${i} (recent) missing or wrong`); break }
  }
  t.equal(get(s, 'key:0'), null, 'the oldest item was evicted')
})

/** A full GC without --expose-gc on the command line (tap starts the file): the flag set at run time. */
function fullGc (): void {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
}

t.test('RSS: 320 MiB written through a 32 MiB store grows the process by about the limit', async (t) => {
  const limit = 32 * MiB
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: limit })
  // A collected baseline: without it (global.gc is undefined unless node runs with
  // --expose-gc) the baseline held whatever garbage the earlier test left.
  fullGc()
  const rss0 = process.memoryUsage().rss
  const value = Buffer.alloc(4000, 0x72)
  let maxRss = rss0
  for (let i = 0; i < (10 * limit) / value.length; i++) {
    value.writeUInt32BE(i, 0)
    if (set(s, `r:${i}`, value) !== 'STORED') { t.fail(`set ${i} failed`); break }
    if (i % 4096 === 0) maxRss = Math.max(maxRss, process.memoryUsage().rss)
  }
  maxRss = Math.max(maxRss, process.memoryUsage().rss)
  const grown = maxRss - rss0
  // Fixed overhead allowed beside the limit: the hash table, V8's young generation and
  // the test's own garbage (key strings, result objects).
  t.ok(grown <= limit + 48 * MiB, `RSS grew ${(grown / MiB).toFixed(1)} MiB at most for a ${limit / MiB} MiB limit`)
  t.ok(s.counters.evictions > 0)
  t.ok(s.slabs.mallocedBytes <= limit)
})

t.test('with evictions off (-M) a full cache answers NO_MEMORY and keeps what it has', async (t) => {
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 2 * MiB, evictions: false })
  const value = Buffer.alloc(1000, 0x62)
  let stored = 0
  let lastReply = ''
  for (let i = 0; i < 5000; i++) {
    lastReply = set(s, `k${i}`, value)
    if (lastReply !== 'STORED') break
    stored++
  }
  t.equal(lastReply, 'NO_MEMORY')
  t.ok(stored > 1000, `${stored} stored before memory ran out`)
  t.equal(s.counters.evictions, 0)
  t.ok(get(s, 'k0') !== null, 'nothing was evicted')
  t.ok(s.slabs.mallocedBytes <= 2 * MiB)
})

/**
 * A stand-in for the server's automove policy, to drive the store's page mover here with
 * a ManualClock: the class that evicted most since the last turn asks for a page in the
 * background mode. This tests movePageTo, not the server's timer: that one is tested on
 * a running memring process in lib/server/test/background.test.ts.
 */
function automoveTick (s: SlabStore, evictedBefore: Float64Array): void {
  let needy = 0
  let most = 0
  for (let c = 1; c <= s.slabs.largest; c++) {
    const d = s.cls.evicted[c] - evictedBefore[c]
    evictedBefore[c] = s.cls.evicted[c]
    if (d > most) { most = d; needy = c }
  }
  if (needy !== 0) s.movePageTo(needy, true)
}

t.test('page mover: after the value-size mix shifts, the new class gets pages (no NO_MEMORY)', async (t) => {
  const limit = 8 * MiB
  const clock = new ManualClock()
  const s = new SlabStore({ clock, memoryLimitBytes: limit })
  const evictedBefore = new Float64Array(s.slabs.largest + 1)
  const small = Buffer.alloc(100, 0x73)
  for (let i = 0; i < 200_000; i++) set(s, `small:${i}`, small)
  const smallClass = s.slabs.classFor(40 + 'small:0'.length + 100)
  t.equal(s.slabs.pagesOf[smallClass], limit / PAGE_SIZE, 'phase 1: every page belongs to the small class')
  clock.advance(60)
  automoveTick(s, evictedBefore)
  // Phase 2: only 40 KiB values, 100 a second. Without moving pages this class could get none.
  const large = Buffer.alloc(40 * 1024, 0x4c)
  const replies = new Map<string, number>()
  for (let i = 0; i < 2000; i++) {
    large.writeUInt32BE(i, 0)
    const r = set(s, `large:${i}`, large)
    replies.set(r, (replies.get(r) ?? 0) + 1)
    if (i % 100 === 99) { clock.advance(1); automoveTick(s, evictedBefore) }
  }
  t.same([...replies], [['STORED', 2000]], 'every large set STORED')
  const largeClass = s.slabs.classFor(40 + 'large:0'.length + large.length)
  t.ok(s.slabs.pagesOf[largeClass] >= limit / PAGE_SIZE - 2, `the large class now holds most pages (${s.slabs.pagesOf[largeClass]})`)
  t.ok(s.counters.slabs_moved > 0, `pages moved: ${s.counters.slabs_moved}`)
  // the large class got its first page over -m (memcached's rule), within the grace
  t.ok(s.slabs.mallocedBytes <= limit + FIRST_PAGE_GRACE_BYTES, 'still within the limit (plus the first-page grace)')
  const hit = get(s, 'large:1999')
  t.equal(hit?.value.readUInt32BE(0), 1999, 'the newest large item reads back')
  t.equal(hit?.value.length, large.length)
  // And back again: the small class wins pages back.
  clock.advance(60)
  for (let i = 0; i < 100_000; i++) {
    if (set(s, `again:${i}`, small) !== 'STORED') { t.fail(`small set ${i} failed`); break }
    if (i % 5000 === 4999) { clock.advance(1); automoveTick(s, evictedBefore) }
  }
  t.ok(s.slabs.pagesOf[smallClass] >= limit / PAGE_SIZE - 2, `small class got pages back (${s.slabs.pagesOf[smallClass]})`)
})

t.test('page mover rescues live items into free chunks of their class when it can', async (t) => {
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 8 * MiB })
  const small = Buffer.alloc(100, 0x73)
  const n = 30_000 // about 2.5 pages of this class
  for (let i = 0; i < n; i++) set(s, `s:${i}`, small)
  // Free most items of the first page so rescue has room elsewhere.
  const c = s.slabs.classFor(40 + 's:0'.length + 100)
  for (let i = 0; i < n; i += 2) { const h = s.find(Buffer.from(`s:${i}`), 0, `s:${i}`.length); if (h !== 0) s.unlink(h) }
  const pages = s.slabs.pagesOf[c]
  t.ok(s.reassignPage(c, s.slabs.largest), 'a page was reassigned')
  t.equal(s.slabs.pagesOf[c], pages - 1)
  t.ok(s.counters.slab_reassign_rescues > 0, `items rescued: ${s.counters.slab_reassign_rescues}`)
  let lost = 0
  for (let i = 1; i < n; i += 2) if (get(s, `s:${i}`) === null) lost++
  t.equal(lost, s.counters.slab_reassign_evictions_nomem, 'every live item is either rescued or counted as evicted')
})
