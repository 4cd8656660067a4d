/**
 * mcrouter's Ch3 (furc hash). mcrouter cannot be installed here, so placement equality with
 * a running mcrouter is NOT checked; what is checked: the expectations mcrouter's own unit
 * test publishes (exact indices and per-server counts, last test below); our 32-bit-halves MurmurHash64A against
 * a BigInt transcription of the published algorithm (every tail length, the rehash chain),
 * and the properties mcrouter's own test asserts for furc_hash: results in [0, m), growing
 * m never moves a key between old servers (only onto the new ones), and an even spread.
 */
import t from 'tap'
import { furcHash, Ch3Router, createRouter } from '../index.js'
import { furcMurmur64, FURC_MAX_POOL } from '../furc.js'
import { makeKeys } from './keys.js'

const M = 0xc6a4a7935bd1e995n
const MASK = (1n << 64n) - 1n
const SEED = 4193360111n

function murmurBig (b: Uint8Array): bigint {
  let h = (SEED ^ (BigInt(b.length) * M)) & MASK
  const n8 = b.length - (b.length % 8)
  for (let i = 0; i < n8; i += 8) {
    let k = 0n
    for (let j = 7; j >= 0; j--) k = (k << 8n) | BigInt(b[i + j]!)
    k = (k * M) & MASK
    k ^= k >> 47n
    k = (k * M) & MASK
    h ^= k
    h = (h * M) & MASK
  }
  const rest = b.length % 8
  if (rest > 0) {
    for (let j = rest - 1; j >= 0; j--) h ^= BigInt(b[n8 + j]!) << BigInt(8 * j)
    h = (h * M) & MASK
  }
  h ^= h >> 47n
  h = (h * M) & MASK
  h ^= h >> 47n
  return h
}

/** furc over the BigInt stream, the published algorithm step by step. */
function furcBig (b: Uint8Array, m: number): number {
  if (m <= 1) return 0
  const words: bigint[] = [murmurBig(b)]
  const bit = (idx: number): number => {
    const ord = idx >> 6
    while (words.length <= ord) {
      const prev = words[words.length - 1]!
      const bytes = new Uint8Array(8)
      for (let j = 0; j < 8; j++) bytes[j] = Number((prev >> BigInt(8 * j)) & 0xffn)
      words.push(murmurBig(bytes))
    }
    return Number((words[ord]! >> BigInt(idx & 63)) & 1n)
  }
  let d = 0
  while (m > 2 ** d) d++
  let a = d
  for (let tries = 0; tries < 32; tries++) {
    while (bit(a) === 0) { if (--d === 0) return 0; a = d }
    a += 23
    let num = 1
    for (let i = 0; i < d - 1; i++) { num = num * 2 + bit(a); a += 23 }
    if (num < m) return num
  }
  return 0
}

t.test('MurmurHash64A in 32-bit halves equals the BigInt transcription', async (t) => {
  let diff = 0
  const keys = makeKeys(3000, 77)
  for (let len = 0; len < 40; len++) keys.push('x'.repeat(len))
  for (const k of keys) {
    const b = Buffer.from(k)
    const [hi, lo] = furcMurmur64(b, 0, b.length)
    if (((BigInt(hi) << 32n) | BigInt(lo)) !== murmurBig(b)) diff++
  }
  t.equal(diff, 0, `${keys.length} keys, every tail length`)
})

t.test('furc_hash equals the step-by-step BigInt version', async (t) => {
  let diff = 0
  let n = 0
  for (const k of makeKeys(2000, 78)) {
    const b = Buffer.from(k)
    for (const m of [2, 3, 5, 7, 8, 13, 64, 100, 1000, 65537]) {
      n++
      if (furcHash(b, 0, b.length, m) !== furcBig(b, m)) diff++
    }
  }
  t.equal(diff, 0, `${n} lookups`)
})

t.test('furc properties: in range, growth moves keys only onto new servers, even spread', async (t) => {
  const keys = makeKeys(20000, 79).map((k) => Buffer.from(k))
  let outOfRange = 0
  let badMoves = 0
  for (const k of keys) {
    let prev = 0
    for (let m = 1; m <= 40; m++) {
      const s = furcHash(k, 0, k.length, m)
      if (s >= m) outOfRange++
      if (m > 1 && s !== prev && s < m - 1) badMoves++
      prev = s
    }
  }
  t.equal(outOfRange, 0, 'every answer < m')
  t.equal(badMoves, 0, 'from m-1 to m servers, a key stays or moves to the new server m-1')
  const counts = new Array(10).fill(0)
  for (const k of keys) counts[furcHash(k, 0, k.length, 10)]++
  const max = Math.max(...counts) / (keys.length / 10)
  t.ok(max < 1.08, `10 servers, 20,000 keys: max/avg ${max.toFixed(3)}`)
  t.equal(new Ch3Router(10).serverOf('user:1'), furcHash(Buffer.from('user:1'), 0, 6, 10))
  t.equal(createRouter([{ host: 'a', port: 1 }, { host: 'b', port: 1 }, { host: 'c', port: 1 }], { method: 'ch3' }).serverOf('k'), furcHash(Buffer.from('k'), 0, 1, 3))
  t.throws(() => createRouter([{ host: 'a', port: 1, weight: 2 }], { method: 'ch3' }), /ch3 takes no weights/)
})

/**
 * The expectations mcrouter's own unit test states for Ch3 (mcrouter/lib/test/Ch3HashTest.cpp,
 * TEST(Ch3Func, basic / ch3_3) and TEST(Ch3HashFunc, ch3_10)): numbers its authors got from
 * the C furc_hash, so they check our independent implementation against theirs without
 * a running mcrouter. Only the expected values are taken from there; the key sets are
 * rebuilt here from the test's description.
 */
t.test('mcrouter\'s published Ch3 test expectations', async (t) => {
  const f = (k: Uint8Array, m: number): number => furcHash(k, 0, k.length, m)
  const s = (k: string): Buffer => Buffer.from(k, 'latin1')
  t.equal(f(s('sample'), 100), 97)
  t.equal(f(s('sample'), 1), 0)
  t.equal(f(s(''), 100), 72)
  t.equal(f(s(''), 1), 0)
  t.equal(f(s(''), FURC_MAX_POOL), 6173600, 'largest pool, empty key')
  t.equal(f(s('sample'), FURC_MAX_POOL), 5167780, 'largest pool')
  const bytes = Buffer.alloc(256)
  for (let i = 0; i < 256; i++) bytes[i] = (i - 128) & 0xff // chars -128 .. 127
  t.equal(f(bytes, 99999), 31015, '256-byte key -128..127, 99,999 servers')
  t.equal(f(Buffer.from(bytes).reverse(), 99999), 67101, 'the same reversed')
  const counts = (m: number, n: number): number[] => {
    const c = new Array<number>(m).fill(0)
    for (let i = 0; i < n; i++) c[f(s(String(i)), m)]!++
    return c
  }
  t.same(counts(3, 1000), [307, 342, 351], 'keys "0".."999" over 3 servers')
  t.same(counts(10, 10000), [995, 955, 1046, 968, 1032, 972, 1016, 1038, 1010, 968], 'keys "0".."9999" over 10 servers')
})
