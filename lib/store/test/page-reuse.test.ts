/**
 * A page that moves between classes keeps the bytes of its old items until they are
 * overwritten. Chunks never carved from it must not be read as items: a class given a new
 * page by the mover while its carve page is half carved puts that page's rest on its free
 * list, and a later page scan (the mover again) must find clean headers there. Before the
 * fix, a stale value byte read as F_CONT sent the mover to a made-up owner and the process
 * died (found by memcached's t/slabs-reassign2.t).
 */
import t from 'tap'
import { ManualClock } from '../clock.js'
import { SlabStore } from '../slab-store.js'
import { del, set, val } from './verbs.js'

t.test('a reused page\'s uncarved chunks read as free, and the mover can empty it', async (t) => {
  const s = new SlabStore({ clock: new ManualClock(), memoryLimitBytes: 8 * 1024 * 1024 })
  const big = 'B'.repeat(11000) // 0x42 bytes: a stale header of these has F_CONT (0x40) set
  const n = 300
  for (let i = 0; i < n; i++) set(s, `a:${i}`, big)
  const a = s.clsid(s.find(Buffer.from('a:0'), 0, 3))
  for (let i = 0; i < n; i++) del(s, `a:${i}`)
  let moved = 0
  while (s.reassignPage(a, 0)) moved++ // every empty page of class A to the pool
  t.ok(moved >= 2, `${moved} pages of 11000-byte items went to the pool`)
  const small = 'x'.repeat(7000)
  set(s, 'c:0', small) // class C takes a stale page from the pool and carves one chunk
  const c = s.clsid(s.find(Buffer.from('c:0'), 0, 3))
  t.not(c, a, 'another class')
  for (let i = 0; i < 50; i++) set(s, `a2:${i}`, big) // class A gets a page again
  t.ok(s.reassignPage(a, c), 'the mover gives class C a second page while its first is half carved')
  t.doesNotThrow(() => { while (s.reassignPage(c, 0)) { /* empty every page of C */ } }, 'scanning C\'s pages reads no stale header')
  const v = val(s, 'c:0')
  t.ok(v === null || v === small, 'the live item is served whole or was dropped with its page, never garbled')
  set(s, 'c:1', small)
  t.equal(val(s, 'c:1'), small, 'the store still works')
})
