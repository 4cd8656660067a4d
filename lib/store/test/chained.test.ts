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
  // One page of the largest class (two 512 KiB chunks), no evictions. The head of a chained
  // item goes to a small class (its first page is granted over -m, as memcached's would be).
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 1 * MiB, itemSizeMax: 2 * MiB, evictions: false })
  const live = randomBytes(500_000)
  t.equal(set(s, 'live', live), 'STORED', 'a one-chunk item takes one of the two chunks')
  const before = used(s)
  // Two full value chunks: the first takes the free chunk, the second cannot be had.
  t.equal(set(s, 'again', randomBytes(2 * (512 * 1024 - 48))), 'NO_MEMORY', 'a chained item no longer fits')
  t.equal(used(s), before, 'the head and the chunk it did get are given back')
  t.equal(set(s, 'other', randomBytes(500_000)), 'STORED', 'the other chunk is still free')
  t.equal(set(s, 'third', randomBytes(500_000)), 'NO_MEMORY', 'and then memory is full')
  t.ok(get(s, 'live')?.value.equals(live), 'the live item was not freed or overwritten')
})

t.test('prepend growing a chained item under memory pressure does not evict the item it copies from', async (t) => {
  // Two pages (the small class's, holding 'small' and the chained item's head; the largest
  // class's): the merged item needs a second value chunk that only eviction could give, and
  // the only evictable item is the one being prepended to. It must stay pinned: NOT_STORED.
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 2 * MiB, itemSizeMax: 2 * MiB })
  set(s, 'small', Buffer.alloc(200))
  const old = randomBytes(524_243) // with a 6-byte key: just over one chunk, so chained
  t.equal(set(s, 'key:12', old), 'STORED')
  t.equal(store(s, StoreMode.Prepend, 'key:12', randomBytes(524_244)), 'NOT_STORED')
  t.ok(get(s, 'key:12')?.value.equals(old), 'the old value is intact')
  t.equal(s.index.count, s.counters.curr_items)
})

t.test('a chained item takes chunks as memcached\'s: a small head, full chunks, a tail sized to fit', async (t) => {
  const s = build(8 * MiB)
  const big = s.slabs.largest
  const before = s.slabs.usedChunks.slice()
  const n = 2 * (512 * 1024 - 48) + 70_000 // two full value chunks and 70,000 bytes
  t.equal(set(s, 'k', randomBytes(n)), 'STORED')
  const grew = s.slabs.usedChunks.map((u, c) => u - before[c])
  const headCls = s.slabs.classFor(40 + 4 + 1)
  const tailCls = s.slabs.classFor(48 + 70_000 + 2)
  t.equal(grew[headCls], 1, 'head in the smallest class that holds header + chain word + key')
  t.equal(grew[big], 2, 'two chunks of the largest class')
  t.equal(grew[tailCls], 1, `the tail in class ${tailCls} (${s.slabs.chunkSize[tailCls]} B), not a whole 512 KiB chunk`)
  t.equal(grew.reduce((a, b) => a + b, 0), 4, 'nothing else')
  const h = s.find(Buffer.from('k'), 0, 1)
  t.equal(s.clsid(h), big, 'the item is in the largest class\'s LRU, as memcached keeps chunked items')
  const pieces: number[] = []
  s.forEachValuePiece(h, 0, (_b, ps, pe) => pieces.push(pe - ps))
  t.same(pieces, [512 * 1024 - 48, 512 * 1024 - 48, 70_000], 'the value reads back as one slice per chunk')
})

t.test('slab_chunk_max: items above it are chained over chunks of that size', async (t) => {
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 16 * MiB, slabChunkMax: 16 * 1024 })
  t.equal(s.slabs.chunkSize[s.slabs.largest], 16 * 1024, 'the largest class is slab_chunk_max')
  const v = randomBytes(100_000)
  t.equal(set(s, 'k', v, 7), 'STORED')
  t.ok(get(s, 'k')?.value.equals(v), 'read back byte-exact')
  const h = s.find(Buffer.from('k'), 0, 1)
  let pieces = 0
  s.forEachValuePiece(h, 0, () => { pieces++ })
  t.equal(pieces, Math.ceil(100_000 / (16 * 1024 - 48)), 'one piece per 16 KiB chunk')
  t.equal(store(s, StoreMode.Append, 'k', Buffer.from('tail')), 'STORED')
  t.ok(get(s, 'k')?.value.equals(Buffer.concat([v, Buffer.from('tail')])), 'append on a chained item')
  t.throws(() => new SlabStore({ clock: new ManualClock(), slabChunkMax: 1000 }), RangeError, 'not a divisor of the page')
})
