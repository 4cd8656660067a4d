/**
 * Items larger than half a page are chained over chunks of the largest class (memcached's
 * chunked items). They must read back byte-exact however the value was written, survive
 * append/prepend, and give every chunk back when they go.
 */
import t from 'tap'
import { randomBytes } from 'node:crypto'
import { ManualClock } from '../clock.js'
import { SlabStore } from '../slab-store.js'
import { StoreMode, StoreResult } from '../store.js'
import { del, get, set, store } from './verbs.js'

const MiB = 1024 * 1024

function build (itemSizeMax: number): SlabStore {
  return new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 64 * MiB, itemSizeMax })
}

/** Chunks in use across every class. */
function used (s: SlabStore): number {
  let n = 0
  for (let c = 1; c <= s.slabs.largest; c++) n += s.slabs.usedChunks[c]
  return n
}

t.test('values up to -I read back byte-exact (1 MiB default, 5 MiB with -I 8m)', async (t) => {
  const s = build(8 * MiB)
  const values = new Map<string, Buffer>([
    ['half-page-minus', randomBytes(512 * 1024 - 200)],
    ['half-page-plus', randomBytes(512 * 1024 + 1)],
    ['one-mib', randomBytes(MiB)],
    ['five-mib', randomBytes(5 * MiB)],
    ['odd', randomBytes(3 * MiB + 12345)],
  ])
  for (const [k, v] of values) t.equal(set(s, k, v, 0xabcdef01), 'STORED', `${k} stored`)
  for (const [k, v] of values) {
    const hit = get(s, k)
    t.ok(hit?.value.equals(v), `${k}: ${v.length} bytes back byte-exact`)
    t.equal(hit?.flags, 0xabcdef01)
  }
  // copyValue at an offset into a larger buffer.
  const h = s.find(Buffer.from('five-mib'), 0, 8)
  const dst = Buffer.alloc(5 * MiB + 10, 0xee)
  t.equal(s.copyValue(h, dst, 7), 7 + 5 * MiB)
  t.ok(dst.subarray(7, 7 + 5 * MiB).equals(values.get('five-mib') as Buffer), 'copyValue at an offset')
  t.equal(dst[6], 0xee, 'nothing written before the offset')
  t.equal(dst[7 + 5 * MiB], 0xee, 'nothing written after the value')
})

t.test('a value written in many pieces (as a socket delivers it) lands byte-exact', async (t) => {
  const s = build(8 * MiB)
  const v = randomBytes(2 * MiB + 777)
  const k = Buffer.from('pieces')
  const h = s.alloc(k, 0, k.length, 0, 0, v.length)
  t.ok(h > 0)
  // Cuts that fall on and around chunk boundaries, and tiny pieces.
  let at = 0
  const cuts = [1, 100, 524_287, 524_288, 524_289, 3, 65_536, 1_000_000]
  let i = 0
  while (at < v.length) {
    const n = Math.min(cuts[i++ % cuts.length], v.length - at)
    s.writeValue(h, v, at, at + n, at)
    at += n
  }
  t.equal(s.link(h, StoreMode.Set, 0), StoreResult.Stored)
  t.ok(get(s, 'pieces')?.value.equals(v), 'read back byte-exact')
})

t.test('the -I limit holds for chained items, and memcached\'s formula decides it', async (t) => {
  const s = build(5 * MiB)
  const room = 5 * MiB - 48 - 8 - 1 - 2 - 'k'.length
  t.equal(set(s, 'k', Buffer.alloc(room, 1)), 'STORED')
  t.equal(set(s, 'k', Buffer.alloc(room + 1, 1)), 'TOO_LARGE')
})

t.test('append/prepend across chained items keep every byte in order', async (t) => {
  const s = build(4 * MiB)
  const a = randomBytes(700_000)
  const b = randomBytes(600_000)
  const c = randomBytes(10)
  set(s, 'x', a, 9)
  t.equal(store(s, StoreMode.Append, 'x', b), 'STORED')
  t.equal(store(s, StoreMode.Prepend, 'x', c), 'STORED')
  const hit = get(s, 'x')
  t.ok(hit?.value.equals(Buffer.concat([c, a, b])), 'prepend + old + append, byte-exact')
  t.equal(hit?.flags, 9)
  set(s, 'small', 'tail')
  t.equal(store(s, StoreMode.Prepend, 'small', b), 'STORED', 'a small item grown into a chained one')
  t.ok(get(s, 'small')?.value.equals(Buffer.concat([b, Buffer.from('tail')])))
})

t.test('deleting and overwriting chained items gives every chunk back', async (t) => {
  const s = build(8 * MiB)
  const base = used(s)
  for (let round = 0; round < 20; round++) {
    set(s, 'big', randomBytes(1 + ((round * 997_331) % (7 * MiB))))
    set(s, 'big2', randomBytes(600_000 + round))
  }
  t.ok(used(s) > base)
  del(s, 'big')
  del(s, 'big2')
  t.equal(used(s), base, 'no chunk leaked after 40 chained stores and 2 deletes')
  t.ok(s.slabs.mallocedBytes <= 64 * MiB)
  // Freed chunks are reused: running the same workload again takes no new pages.
  const workload = (): void => { for (let round = 0; round < 10; round++) set(s, 'big', randomBytes(7 * MiB - 100 * round)) }
  workload()
  const pages = s.slabs.totalPages
  workload()
  workload()
  t.equal(s.slabs.totalPages, pages, 'overwrites reuse the chunks they free')
})

t.test('incr on a chained item is NON_NUMERIC (memcached: chunked items are not numbers)', async (t) => {
  const s = build(2 * MiB)
  set(s, 'n', Buffer.alloc(600_000, 0x31))
  const h = s.find(Buffer.from('n'), 0, 1)
  t.equal(s.arith(h, true, 1n, 0), StoreResult.NonNumeric)
})

t.test('a chained allocation that fails part-way frees only its own chunks', async (t) => {
  // One page (two chunks of the largest class), no evictions: a chained item needs both.
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 1 * MiB, itemSizeMax: 2 * MiB, evictions: false })
  t.equal(set(s, 'chained', randomBytes(700_000)), 'STORED')
  t.equal(del(s, 'chained'), true) // leaves the old chain pointer in the head chunk's bytes
  const live = randomBytes(500_000)
  t.equal(set(s, 'live', live), 'STORED', 'a one-chunk item takes one of the two chunks')
  t.equal(set(s, 'again', randomBytes(700_000)), 'NO_MEMORY', 'a chained item no longer fits')
  t.equal(set(s, 'other', randomBytes(500_000)), 'STORED', 'the other chunk is still free')
  t.equal(set(s, 'third', randomBytes(400_000)), 'NO_MEMORY', 'and then memory is full')
  t.ok(get(s, 'live')?.value.equals(live), 'the live item was not freed or overwritten')
})

t.test('prepend growing a chained item under memory pressure does not evict the item it copies from', async (t) => {
  // Four pages: the merged item needs chunks that only eviction could give, and the only
  // evictable item is the one being prepended to. It must stay pinned: NOT_STORED, intact.
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 4 * MiB, itemSizeMax: 2 * MiB })
  set(s, 'small', Buffer.alloc(200))
  const old = randomBytes(524_243) // with a 6-byte key: just over one chunk, so chained
  t.equal(set(s, 'key:12', old), 'STORED')
  t.equal(store(s, StoreMode.Prepend, 'key:12', randomBytes(524_244)), 'NOT_STORED')
  t.ok(get(s, 'key:12')?.value.equals(old), 'the old value is intact')
  t.equal(s.index.count, s.counters.curr_items)
})
