/**
 * The client's small parts: the ring-buffer FIFO, the backoff policy, server lists.
 */
import t from 'tap'
import { Fifo, exponentialBackoff, noRetry, parseServerList, StaticServers, serverId } from '../index.js'
import type { ServerAddress } from '../index.js'

t.test('Fifo keeps order across growth and wrap-around', async (t) => {
  const q = new Fifo<number>(4)
  const model: number[] = []
  let next = 0
  let bad = 0
  // interleave pushes and shifts so head wraps around many times while capacity grows
  for (let round = 0; round < 2000; round++) {
    const pushes = (round * 7) % 5
    for (let i = 0; i < pushes; i++) { q.push(next); model.push(next); next++ }
    const shifts = (round * 3) % 4
    for (let i = 0; i < shifts; i++) if (q.shift() !== model.shift()) bad++
    if (q.size !== model.length || q.peek() !== model[0]) bad++
  }
  t.equal(bad, 0, 'same sequence as an array model')
  t.same(q.drain(), model)
  t.equal(q.size, 0)
  t.equal(q.shift(), undefined)
  t.equal(q.peek(), undefined)
})

t.test('exponential backoff doubles, caps, jitters within bounds and gives up', async (t) => {
  const s = exponentialBackoff({ baseMs: 10, maxMs: 100, maxAttempts: 6, jitter: 0 })
  t.same([1, 2, 3, 4, 5, 6, 7].map(s), [10, 20, 40, 80, 100, 100, null])
  const j = exponentialBackoff({ baseMs: 100, jitter: 0.2, random: () => 0.999 })
  t.ok((j(1) ?? 0) <= 120 && (j(1) ?? 0) >= 119)
  const j0 = exponentialBackoff({ baseMs: 100, jitter: 0.2, random: () => 0 })
  t.equal(j0(1), 80)
  t.equal(noRetry(1), null)
})

t.test('server lists parse host:port[:weight][ name], IPv6 in brackets', async (t) => {
  t.same(parseServerList('127.0.0.1:11211, cache-b:11212:3 ,[::1]:11213:2 beta'), [
    { host: '127.0.0.1', port: 11211, weight: 1 },
    { host: 'cache-b', port: 11212, weight: 3 },
    { host: '::1', port: 11213, weight: 2, name: 'beta' },
  ])
  t.equal(serverId({ host: '::1', port: 11211 }), '[::1]:11211')
  for (const bad of ['', 'host', 'host:0', 'host:70000', 'host:1:0', 'a:1,b']) {
    t.throws(() => parseServerList(bad), RangeError, JSON.stringify(bad))
  }
})

t.test('StaticServers tells subscribers about a new list, and stops after unsubscribe', async (t) => {
  const s = new StaticServers('a:1')
  const seen: Array<readonly ServerAddress[]> = []
  const off = s.subscribe((l) => seen.push(l))
  const first = s.current()
  s.set('a:1,b:2')
  t.equal(seen.length, 1)
  t.not(seen[0], first, 'a new snapshot, not a mutation')
  t.same(first, [{ host: 'a', port: 1, weight: 1 }], 'the old snapshot is unchanged')
  off()
  s.set('c:3')
  t.equal(seen.length, 1)
  t.throws(() => { (s.current() as ServerAddress[]).push({ host: 'x', port: 1 }) }, TypeError, 'snapshots are frozen')
})
