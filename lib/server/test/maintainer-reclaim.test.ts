/**
 * The LRU maintainer's tail pass, against real memcached: expired items are reclaimed in the
 * background (stats `reclaimed`, per class `items:N:reclaimed`) and their memory is reused
 * before new pages are taken (memcached's t/lru-maintainer.t, t/issue_14.t, t/issue_163.t).
 */
import t from 'tap'
import { rawClient } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'
import { startServer } from '../../testing/servers.js'
import { haveMemcached, startMemcached } from '../../testing/memcached.js'
import type { Test } from 'tap'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function scenario (t: Test, port: number): Promise<{ reclaimed: number, grew: boolean, small: number }> {
  const c = await rawClient(t, port)
  const stat = async (cmd: string, key: string): Promise<number> => {
    c.write(`${cmd}\r\n`)
    const s = await c.until('END\r\n')
    return Number(new RegExp(`STAT ${key} (\\d+)\\r\\n`).exec(s)?.[1] ?? NaN)
  }
  const value = 'B'.repeat(66560)
  for (let i = 0; i < 10; i++) { c.write(`set key${i} 0 2 ${value.length}\r\n${value}\r\n`); await c.until('STORED\r\n') }
  for (let i = 0; i < 10; i++) { c.write(`set small${i} 0 1 2\r\nok\r\n`); await c.until('STORED\r\n') }
  const before = await stat('stats slabs', 'total_malloced')
  // Everything above expires within 2 s and nobody reads it: wait (bounded) for the
  // background pass to reclaim all 20, rather than for a fixed time.
  const small = await waitFor(async () => { const n = await stat('stats', 'reclaimed'); return n >= 20 ? n : 0 }, { timeoutMs: 15_000, intervalMs: 250, what: 'the 20 expired items to be reclaimed' })
  for (let i = 10; i < 20; i++) { c.write(`set key${i} 0 2 ${value.length}\r\n${value}\r\n`); await c.until('STORED\r\n') }
  const after = await stat('stats slabs', 'total_malloced')
  return { reclaimed: await stat('stats', 'reclaimed'), grew: after > before, small }
}

t.test('expired items are reclaimed without a read, and their memory reused', async (t) => {
  const mr = await startServer(t)
  const got = await scenario(t, mr.port)
  t.equal(got.small, 20, 'all 20 expired items reclaimed in the background, unread')
  t.equal(got.grew, false, 'ten more 65 KiB items fit in the reclaimed memory: total_malloced does not grow')
  if (haveMemcached()) {
    const mc = await startMemcached(t)
    const want = await scenario(t, mc.port)
    t.same({ small: got.small, grew: got.grew }, { small: want.small, grew: want.grew }, `as memcached (reclaimed ${want.small}, grew ${String(want.grew)})`)
  }
})

t.test('flat LRU (-o no_modern): a set first reclaims a flushed item at the tail', async (t) => {
  const run = async (port: number): Promise<number> => {
    const c = await rawClient(t, port)
    c.write('set key 0 0 1\r\n1\r\n'); await c.until('STORED\r\n')
    await sleep(1100) // flush_all marks items older than this second
    c.write('flush_all\r\n'); await c.until('OK\r\n')
    c.write('set key 0 0 1\r\n1\r\n'); await c.until('STORED\r\n')
    c.write('stats\r\n')
    return Number(/STAT reclaimed (\d+)\r\n/.exec(await c.until('END\r\n'))?.[1])
  }
  const mr = await startServer(t, { lruSegmented: false, lruMaintainer: false, lruCrawler: false })
  const got = await run(mr.port)
  t.equal(got, 1, 'reclaimed 1 (memcached t/issue_183.t)')
  if (haveMemcached()) t.equal(got, await run((await startMemcached(t, ['-o', 'no_modern'])).port), 'as memcached')
})
