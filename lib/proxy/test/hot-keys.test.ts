// The hot-key detector without I/O: the count-min sketch (fixed memory, never undercounts,
// overcount within its bound, halving decay) and HotKeys over it (a heavy hitter found in a
// zipf stream, cold keys not admitted, cooling, a full table keeping the hottest), and the
// hot cache's rewrite of an `mg k f t v` reply into a `get` reply.
import t from 'tap'
import { CountMinSketch } from '../count-min.js'
import { HotKeys } from '../hot-keys.js'
import { asGetReply, HotCache } from '../hot-cache.js'
import { zipf } from '../../testing/zipf.js'

const key = (i: number): Buffer => Buffer.from(`key:${i}`)
const h = (b: Buffer): number => CountMinSketch.hash(b, 0, b.length)

t.test('count-min: memory fixed by its shape, whatever the number of keys', async (t) => {
  const cms = new CountMinSketch(1024, 4)
  t.equal(cms.bytes, 1024 * 4 * 4)
  const heap0 = process.memoryUsage().heapUsed
  for (let i = 0; i < 200_000; i++) { const k = key(i); cms.add(h(k)) }
  t.equal(cms.bytes, 1024 * 4 * 4, 'still 16 KiB of counters after 200,000 distinct keys')
  t.comment(`heap delta ${(process.memoryUsage().heapUsed - heap0) >> 10} KiB (the test's own key Buffers)`)
  t.throws(() => new CountMinSketch(1000), /power of two/)
})

t.test('count-min: never undercounts; the overcount stays within e/width of the total for all but a few keys', async (t) => {
  const width = 2048
  const cms = new CountMinSketch(width, 4)
  const next = zipf(50_000, 1.0, 7)
  const truth = new Map<number, number>()
  const N = 200_000
  for (let i = 0; i < N; i++) {
    const r = next()
    truth.set(r, (truth.get(r) ?? 0) + 1)
    cms.add(h(key(r)))
  }
  let under = 0
  let over = 0
  const bound = Math.E / width * N
  for (const [r, c] of truth) {
    const est = cms.estimate(h(key(r)))
    if (est < c) under++
    if (est - c > bound) over++
  }
  t.equal(under, 0, 'no key is undercounted')
  // Theory: P(overcount > bound) <= e^-4 = 1.8%; allow that much.
  t.ok(over / truth.size <= Math.exp(-4), `${over} of ${truth.size} keys over the bound ${bound.toFixed(0)} (${(100 * over / truth.size).toFixed(2)}%)`)
})

t.test('count-min: halving decays every count', async (t) => {
  const cms = new CountMinSketch(256, 4)
  const k = h(Buffer.from('x'))
  for (let i = 0; i < 100; i++) cms.add(k)
  t.equal(cms.estimate(k), 100)
  cms.halve()
  t.equal(cms.estimate(k), 50)
  for (let i = 0; i < 7; i++) cms.halve()
  t.equal(cms.estimate(k), 0, 'gone after enough windows without reads')
})

t.test('hot keys: the heavy hitters of a zipf stream are found, cold keys are not', async (t) => {
  // 100 reads/s threshold over a 1 s window; one window of 20,000 reads of zipf(1.1) over
  // 10,000 keys. A rank's expected count is 20,000 * p(rank): ranks with p >= 0.5% are hot.
  const hot = new HotKeys({ threshold: 100, windowMs: 1000 })
  const next = zipf(10_000, 1.1, 42)
  const counts = new Map<number, number>()
  for (let i = 0; i < 20_000; i++) {
    const r = next()
    counts.set(r, (counts.get(r) ?? 0) + 1)
    const k = key(r)
    hot.observe(k, 0, k.length)
  }
  const found = new Set(hot.list().map((hk) => hk.key.toString()))
  const shouldBe = [...counts].filter(([, c]) => c >= 110).map(([r]) => `key:${r}`)
  const cold = [...counts].filter(([, c]) => c < 50).map(([r]) => `key:${r}`)
  t.ok(shouldBe.length >= 5, `${shouldBe.length} keys read >= 110 times`)
  t.same(shouldBe.filter((k) => !found.has(k)), [], 'every key read well over the threshold is hot')
  t.same(cold.filter((k) => found.has(k)), [], `no key read under half the threshold is hot (${cold.length} such keys)`)
  t.equal(hot.list()[0]!.key.toString(), 'key:0', 'the hottest first')
  t.ok(hot.size <= hot.slots)
})

t.test('hot keys: a hot key cools after a window under half the threshold; the rate is its exact count', async (t) => {
  const hot = new HotKeys({ threshold: 10, windowMs: 1000 })
  const k = Buffer.from('hot')
  let hk = null
  for (let i = 0; i < 40; i++) hk = hot.observe(k, 0, k.length)
  t.ok(hk !== null, 'admitted once its count reached 10')
  t.equal(hk!.reads, 31, 'counted exactly from admission (reads 10..40)')
  hot.tick() // first window: partial count, not cooled
  for (let i = 0; i < 25; i++) hot.observe(k, 0, k.length)
  hot.tick()
  t.equal(hot.list()[0]!.rate, 25, 'rate = reads in the last whole window')
  for (let i = 0; i < 4; i++) hot.observe(k, 0, k.length)
  hot.tick()
  t.equal(hot.size, 0, '4 reads/s < 10/2: cooled')
  t.equal(hot.left, 1)
  const other = Buffer.from('cold')
  t.equal(hot.find(other, 0, other.length), null)
})

t.test('hot keys: a full table keeps the hottest (the entry with the fewest reads gives way)', async (t) => {
  const hot = new HotKeys({ threshold: 5, windowMs: 1000, slots: 2 })
  const left: string[] = []
  hot.onLeave = (hk) => left.push(hk.key.toString())
  const read = (name: string, n: number): void => { const b = Buffer.from(name); for (let i = 0; i < n; i++) hot.observe(b, 0, b.length) }
  read('a', 100)
  read('b', 10)
  read('c', 5 + 16 * 2) // admission tries at 5, 21, 37: beats b (6 reads since admission) at one of them
  t.same(hot.list().map((k) => k.key.toString()).sort(), ['a', 'c'])
  t.same(left, ['b'])
})

t.test('hot cache: an mg reply becomes the exact get reply; T sets how long it may live', async (t) => {
  const k = Buffer.from('user:1')
  const got = asGetReply(k, Buffer.from('VA 5 f4294967295 t-1\r\nhello\r\n'))
  t.equal(got?.reply.toString(), 'VALUE user:1 4294967295 5\r\nhello\r\nEND\r\n')
  t.equal(got?.ttl, -1)
  t.equal(asGetReply(k, Buffer.from('VA 0 t30 f0\r\n\r\n'))?.reply.toString(), 'VALUE user:1 0 0\r\n\r\nEND\r\n')
  t.equal(asGetReply(k, Buffer.from('VA 0 t30 f0\r\n\r\n'))?.ttl, 30)
  t.equal(asGetReply(k, Buffer.from('VA 9 f0 t1\r\nhello\r\n')), null, 'length mismatch: not a reply we understand')
  t.equal(asGetReply(k, Buffer.from('VA 5 t3\r\nhello\r\n')), null, 'no flags: not kept')

  const cache = new HotCache({ ttlMs: 100, maxBytes: 64 })
  const hot = new HotKeys({ threshold: 1 })
  let hk = null
  for (let i = 0; i < 3 && hk === null; i++) hk = hot.observe(k, 0, k.length)
  const v = Buffer.from('VALUE user:1 0 5\r\nhello\r\nEND\r\n')
  cache.keep(hk!, hk!.gen, v, 2, 0)
  t.equal(hk!.expiresAt, 100, 'T 2: min(TTL 100 ms, (2 - 1) s)')
  t.equal(cache.lookup(hk!, 50), v)
  t.equal(cache.lookup(hk!, 100), null, 'not served at its expiry')
  cache.keep(hk!, hk!.gen, v, 1, 0)
  t.equal(hk!.value, null, 'T 1: the item may expire within the second: not kept')
  cache.keep(hk!, hk!.gen - 1, v, -1, 0)
  t.equal(hk!.value, null, 'a fill older than a write is not kept')
  cache.keep(hk!, hk!.gen, Buffer.alloc(65), -1, 0)
  t.equal(hk!.value, null, 'over the byte budget: not kept')
  t.equal(cache.evictions, 1)
  cache.keep(hk!, hk!.gen, v, -1, 0)
  t.equal(cache.bytes, v.length)
  cache.written(hk!)
  t.equal(cache.bytes, 0, 'a write drops it')
  t.equal(cache.invalidations, 1)
  t.notOk(HotCache.cacheable(Buffer.from('a\x01b'), 0, 3), 'control bytes in a key: never cached')
})
