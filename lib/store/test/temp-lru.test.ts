/**
 * The TEMP LRU (memcached's TEMP_LRU, -o temporary_ttl / lru temp_ttl): which items enter it,
 * that eviction never takes them, and that the maintainer's tail pass reclaims them once
 * expired. The end-to-end check against memcached is compat-tests/text/server-flags.ts.
 */
import t from 'tap'
import { ManualClock } from '../clock.js'
import { SlabStore } from '../slab-store.js'
import { set, val } from './verbs.js'

const TEMP = SlabStore.SEG_TEMP

function store (ttl: number): { s: SlabStore, clock: ManualClock } {
  const clock = new ManualClock()
  const s = new SlabStore({ clock, memoryLimitBytes: 2 * 1024 * 1024 })
  s.setTempLru(ttl)
  return { s, clock }
}
const clsOf = (s: SlabStore, key: string): number => s.clsid(s.find(Buffer.from(key), 0, key.length))

t.test('which items enter TEMP', async (t) => {
  const { s } = store(61)
  set(s, 'short', 'v', 0, 30)
  set(s, 'edge', 'v', 0, 61)
  set(s, 'long', 'v', 0, 62)
  set(s, 'never', 'v', 0, 0)
  const c = clsOf(s, 'short')
  t.equal(s.segmentCount(c, TEMP), 2, 'TTLs of 30 and 61 s, not 62 s or none')
  const off = store(-1).s
  set(off, 'short', 'v', 0, 30)
  t.equal(off.segmentCount(clsOf(off, 'short'), TEMP), 0, 'no TEMP LRU when it is off')
})

t.test('eviction never takes a TEMP item; expiry does', async (t) => {
  const { s, clock } = store(61)
  const v = 'B'.repeat(66560)
  set(s, 'canary', v, 0, 30)
  for (let i = 0; i < 100; i++) set(s, `key${i}`, v, 0, 3600)
  const c = clsOf(s, 'canary')
  t.ok(s.cls.evicted[c] > 0, `long-TTL items were evicted (${s.cls.evicted[c]})`)
  t.equal(val(s, 'canary'), v, 'the unfetched TEMP item is still there')
  clock.advance(31)
  t.ok(s.reclaimTails() >= 1, 'the tail pass reclaims the expired TEMP item')
  t.equal(s.segmentCount(c, TEMP), 0, 'TEMP is empty')
})
