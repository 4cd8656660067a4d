// The background timers of a RUNNING memring process (lib/server/server.ts): the LRU
// crawler reclaims expired items nobody reads, and slab automove gives pages to the class
// that evicts. Each behaviour is shown against a twin process, started the same way and
// given the same traffic, with the timer turned off (-o no_lru_crawler, `slabs automove
// 0`): the difference between the twins is the timer's doing. No durations are asserted;
// deadlines are derived from the timers' periods (TESTING.md).
import t from 'tap'
import { startMemringProcess } from '../../testing/memring-process.js'
import { rawClient, type RawClient } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'

// lib/server/server.ts: a crawler tick every 100 ms; after a pass that reclaimed nothing
// it rests 5 s. Automove runs once a second.
const CRAWL_REST_MS = 5000
const AUTOMOVE_MS = 1000

async function stats (c: RawClient, group = ''): Promise<Map<string, string>> {
  c.write(`stats${group === '' ? '' : ' ' + group}\r\n`)
  const text = await c.until('END\r\n')
  const m = new Map<string, string>()
  for (const line of text.split('\r\n')) {
    const p = /^STAT (\S+) (.*)$/.exec(line)
    if (p !== null) m.set(p[1]!, p[2]!)
  }
  return m
}
const num = async (c: RawClient, name: string, group = ''): Promise<number> => Number((await stats(c, group)).get(name))

t.test('the LRU maintainer reclaims expired items nobody reads (as memcached: reclaimed, not crawler_reclaimed); with -o no_lru_maintainer they stay until read', async (t) => {
  const on = await rawClient(t, (await startMemringProcess(t)).port)
  const off = await rawClient(t, (await startMemringProcess(t, ['-o', 'no_lru_maintainer'])).port)
  t.equal((await stats(off, 'settings')).get('lru_maintainer_thread'), 'no')
  const N = 200
  const sets = Array.from({ length: N }, (_, i) => `set exp:${i} 0 1 1\r\nx\r\n`).join('')
  for (const c of [on, off]) {
    c.write(sets)
    t.same(await c.lines(N), Array.from({ length: N }, () => 'STORED'))
    t.equal(await num(c, 'curr_items'), N)
  }
  // The twin's own clock when its items were stored: they expire at most a second later.
  const offStoredAt = await num(off, 'time')
  // No get from here on. Deadline: the TTL (1 s, plus a second of clock granularity),
  // a crawler rest and a pass, x3 for a loaded machine.
  await waitFor(async () => await num(on, 'curr_items') === 0, { timeoutMs: (2000 + CRAWL_REST_MS + 1000) * 3, intervalMs: 200, what: 'the maintainer to reclaim every expired item' })
  t.ok(await num(on, 'reclaimed') >= N, 'counted as reclaimed (memcached 1.6.18: reclaimed 200, crawler_reclaimed 0)')
  t.equal(await num(on, 'get_expired'), 0, 'not by a read')
  // The twin had the same items: once they are past their TTL by its own clock (it may have
  // stored them in the next second: `on` can reclaim before the twin's items expire), without
  // the maintainer nothing went. `time` is whole seconds, and the store's clock ticks on them.
  await waitFor(async () => await num(off, 'time') >= offStoredAt + 2, { timeoutMs: 10_000, intervalMs: 100, what: 'the twin\'s clock to pass its items\' TTL' })
  t.equal(await num(off, 'curr_items'), N, '-o no_lru_maintainer: the expired items are still held (memcached: curr_items 200)')
  t.equal(await num(off, 'crawler_reclaimed'), 0)
  off.write('get exp:0\r\n')
  t.same(await off.lines(1), ['END'], 'a read finds it expired (lazy expiry)')
  t.equal(await num(off, 'get_expired'), 1)
})

t.test('slab automove gives pages to the class that evicts; after `slabs automove 0` it does not', async (t) => {
  // A 3-second window (memcached's default is 30) so the decision can be made soon.
  const on = await rawClient(t, (await startMemringProcess(t, ['-m', '8', '-o', 'slab_automove_window=3'])).port)
  const off = await rawClient(t, (await startMemringProcess(t, ['-m', '8', '-o', 'slab_automove_window=3'])).port)
  off.write('slabs automove 0\r\n')
  t.same(await off.lines(1), ['OK'])
  t.equal((await stats(off, 'settings')).get('slab_automove'), '0')
  t.equal((await stats(on, 'settings')).get('slab_automove'), '1')
  // Phase 1: small values take every page.
  const small = 'x'.repeat(100)
  for (let b = 0; b < 100; b++) {
    const batch = Array.from({ length: 1000 }, (_, i) => `set s:${b * 1000 + i} 0 0 ${small.length} noreply\r\n${small}\r\n`).join('')
    for (const c of [on, off]) c.write(batch)
  }
  for (const c of [on, off]) {
    c.write('mn\r\n')
    await c.until('MN\r\n', 30_000)
    t.ok(await num(c, 'evictions') > 0, 'the small class filled the memory and evicts')
  }
  // Phase 2: only 40 KiB values. The first one takes a page inline (allocation rescue, on
  // both twins); further pages can only come from the automove timer, which moves one a
  // second once its window has filled, the large class has evicted in most of it, and the
  // large class's COLD tail is younger than 0.8 x the small class's (lib/store/automove.ts).
  const large = 'L'.repeat(40 * 1024)
  const movedAtStart = [await num(on, 'slabs_moved'), await num(off, 'slabs_moved')]
  let i = 0
  const writeBoth = async (): Promise<void> => {
    for (const c of [on, off]) {
      c.write(`set l:${i} 0 0 ${large.length}\r\n${large}\r\n`)
      t.equal((await c.lines(1))[0], 'STORED', `large set ${i}`)
    }
    i++
  }
  for (let k = 0; k < 10; k++) await writeBoth()
  const offAfterInline = await num(off, 'slabs_moved')
  // Deadline: the window must fill (4 samples), the small items must age past the large
  // ones' (a few seconds of the server's 1 s clock) and the timer must run twice more:
  // 10 periods, x3 for load.
  await waitFor(async () => {
    for (let k = 0; k < 10; k++) await writeBoth()
    return await num(on, 'slabs_moved') >= offAfterInline + 2
  }, { timeoutMs: AUTOMOVE_MS * 10 * 3, intervalMs: 50, what: 'automove to move two more pages to the large class' })
  const movedOn = await num(on, 'slabs_moved')
  const movedOff = await num(off, 'slabs_moved')
  t.comment(`slabs_moved: automove on ${movedAtStart[0]} -> ${movedOn}, off ${movedAtStart[1]} -> ${movedOff} (${i} large sets each)`)
  t.equal(movedOff, offAfterInline, '`slabs automove 0`: no page moved by the timer under the same traffic')
  t.ok(movedOn >= offAfterInline + 2, 'automove on: the timer moved pages')
})
