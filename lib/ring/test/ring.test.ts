/**
 * Unit tests of lib/ring's building blocks against independent references computed
 * here: node:crypto MD5, zlib's CRC-32, BigInt versions of FNV and of jump's 64-bit LCG.
 */
import t from 'tap'
import { createHash, randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'
import {
  md5, md5Word, keyHashFn, jumpHash, hashTagRange, parseHashTag, ketamaPointCount,
  twemproxyKetama, libmemcachedKetama, createRouter, KetamaContinuum, JumpRouter, type KetamaRing,
} from '../index.js'
import { prng } from './keys.js'

t.test('md5 matches node:crypto for every length 0..300 and every word', async (t) => {
  let bad = 0
  for (let n = 0; n <= 300; n++) {
    const b = randomBytes(n + 3)
    md5(b, 3, 3 + n)
    const d = createHash('md5').update(b.subarray(3)).digest()
    for (let w = 0; w < 4; w++) if (md5Word(w) !== d.readUInt32LE(4 * w)) bad++
  }
  t.equal(bad, 0)
})

t.test('crc32a is the standard CRC-32 (zlib)', async (t) => {
  const fn = keyHashFn('crc32a')
  for (let n = 0; n < 100; n++) {
    const b = randomBytes(n)
    t.equal(fn(b, 0, n), crc32(b), `length ${n}`)
  }
})

/** FNV over bytes read as C signed chars (see key-hash.ts), in BigInt. */
function fnvRef (bits: 32 | 64, a: boolean, b: Uint8Array): number {
  const mask = bits === 64 ? (1n << 64n) - 1n : (1n << 32n) - 1n
  const prime = bits === 64 ? 0x100000001b3n : 0x01000193n
  let h = bits === 64 ? 0xcbf29ce484222325n : 0x811c9dc5n
  for (const x of b) {
    const v = BigInt.asUintN(bits, BigInt((x << 24) >> 24))
    if (a) h = ((h ^ v) * prime) & mask
    else h = ((h * prime) & mask) ^ v
  }
  return Number(h & 0xffffffffn)
}

t.test('FNV variants match a BigInt reference, bytes >= 0x80 included', async (t) => {
  const rnd = prng(3)
  for (const [name, bits, a] of [['fnv1a_64', 64, true], ['fnv1_64', 64, false], ['fnv1a_32', 32, true], ['fnv1_32', 32, false]] as const) {
    const fn = keyHashFn(name)
    let bad = 0
    for (let i = 0; i < 500; i++) {
      const b = Uint8Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256))
      if (fn(b, 0, b.length) !== fnvRef(bits, a, b)) bad++
    }
    t.equal(bad, 0, name)
  }
})

t.test('an unknown key hash name is a clear error', async (t) => {
  t.throws(() => keyHashFn('sha1' as never), /unknown key hash sha1/)
})

/** Lamping & Veach's function, literally, in BigInt. */
function jumpRef (key: bigint, n: number): number {
  let b = -1n
  let j = 0n
  while (j < BigInt(n)) {
    b = j
    key = (key * 2862933555777941757n + 1n) & ((1n << 64n) - 1n)
    j = BigInt(Math.floor(Number(b + 1n) * (2147483648 / Number((key >> 33n) + 1n))))
  }
  return Number(b)
}

t.test('jumpHash matches the paper\'s algorithm computed in BigInt', async (t) => {
  const rnd = prng(5)
  let bad = 0
  for (let i = 0; i < 3000; i++) {
    const hi = Math.floor(rnd() * 0x100000000)
    const lo = Math.floor(rnd() * 0x100000000)
    const n = 1 + Math.floor(rnd() * (i % 2 === 0 ? 10 : 100000))
    if (jumpHash(hi, lo, n) !== jumpRef((BigInt(hi) << 32n) | BigInt(lo), n)) bad++
  }
  t.equal(bad, 0)
  t.equal(jumpHash(0xffffffff, 0xffffffff, 1000), jumpRef((1n << 64n) - 1n, 1000), 'all-ones key (carry out of the low word)')
})

t.test('JumpRouter refuses bad shard sets', async (t) => {
  t.throws(() => new JumpRouter(0), /1 <= n/)
  t.throws(() => new JumpRouter(3, [3]), /out of range/)
  t.throws(() => new JumpRouter(2, [0, 1]), /at least one live/)
})

t.test('hash tags pick the part twemproxy hashes', async (t) => {
  const tag = parseHashTag('{}')
  const out = new Int32Array(2)
  const cases: Array<[string, string]> = [
    ['user:{42}:name', '42'],
    ['{a}{b}', 'a'],
    ['x{ab}c}', 'ab'],
    ['a}b{c}', 'c'],
    ['{}x', '{}x'],
    ['a{b', 'a{b'],
    ['plain', 'plain'],
    ['{', '{'],
  ]
  for (const [key, part] of cases) {
    const b = Buffer.from(key)
    hashTagRange(tag, b, 0, b.length, out)
    t.equal(b.subarray(out[0], out[1]).toString(), part, key)
  }
  t.throws(() => parseHashTag('{'), /two characters/)
})

t.test('points per server follow the float arithmetic of both C implementations', async (t) => {
  t.equal(ketamaPointCount(1, 3, 3), 160, 'equal weights: 160')
  t.equal(ketamaPointCount(1, 101, 2), 0, 'a 1% server of two gets no points')
  t.equal(ketamaPointCount(100, 101, 2), 316)
  const c = KetamaContinuum.build([{ label: 'a', weight: 1 }, { label: 'b', weight: 2 }])
  t.same([...c.pointCounts], [104, 212])
  t.equal(c.points.length, 316)
  let sorted = true
  for (let i = 1; i < c.points.length; i++) if (c.points[i - 1] > c.points[i]) sorted = false
  t.ok(sorted, 'points are sorted')
  const shares = c.shares()
  t.ok(Math.abs(shares[0] + shares[1] - 1) < 1e-12, 'shares sum to 1')
  t.throws(() => KetamaContinuum.build([]), /at least one/)
  t.throws(() => KetamaContinuum.build([{ label: 'a', weight: 0 }]), /weight must be/)
})

t.test('twemproxy labels longer than its 86-byte buffer allows are refused', async (t) => {
  t.throws(() => twemproxyKetama([{ host: 'h'.repeat(82), port: 11211 }]), /at most 81 bytes/)
  t.doesNotThrow(() => twemproxyKetama([{ host: 'h'.repeat(81), port: 11211 }]))
})

t.test('createRouter names the same placement as the specific constructors', async (t) => {
  const servers = [{ host: 'a', port: 11211 }, { host: 'b', port: 11212, weight: 2 }, { host: 'c', port: 11213, name: 'gamma' }]
  const lm = libmemcachedKetama(servers)
  const tw = twemproxyKetama(servers, { hashTag: '{}' })
  const jr = new JumpRouter(3)
  const r1 = createRouter(servers)
  const r2 = createRouter(servers, { method: 'ketama-twemproxy', hashTag: '{}' })
  const r3 = createRouter(servers, { method: 'jump' })
  let bad = 0
  for (let i = 0; i < 2000; i++) {
    const k = `k{${i % 7}}${i}`
    if (r1.serverOf(k) !== lm.serverOf(k) || r2.serverOf(k) !== tw.serverOf(k) || r3.serverOf(k) !== jr.serverOf(k)) bad++
  }
  t.equal(bad, 0)
  t.throws(() => createRouter(servers, { method: 'modula' as never }), /unknown hash method modula/)
  const exact = createRouter(Array.from({ length: 50 }, (_, i) => ({ host: `h${i}`, port: 11211 })), { pointRounding: 'exact' }) as KetamaRing
  t.equal(exact.continuum.pointCounts[0], 160, 'exact rounding: 160 points at n = 50')
})

t.test('createRouter: ketama-unweighted is libmemcached\'s 100-point continuum', async (t) => {
  const servers = [{ host: 'a', port: 11211 }, { host: 'b', port: 11212 }]
  const r = createRouter(servers, { method: 'ketama-unweighted', keyHash: 'md5' }) as KetamaRing
  t.same([...r.continuum.pointCounts], [100, 100])
  t.throws(() => createRouter([{ host: 'a', port: 1, weight: 2 }], { method: 'ketama-unweighted' }), /ignores weights/)
})
