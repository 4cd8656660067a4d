/**
 * The Store contract: what every Store implementation must do, written from memcached's
 * protocol.txt and its item verbs. store-contract.test.ts runs it against SlabStore and
 * against MapStore (the reference model the property test uses as its oracle).
 *
 * `build` gets a fresh ManualClock per subtest and must return an empty store with at
 * least 64 MiB of memory and the default -I of 1 MiB.
 */
import type { Test } from 'tap'
import { ManualClock } from '../clock.js'
import { StoreMode } from '../store.js'
import type { Store } from '../store.js'
import { arith, del, flushAll, get, set, store, touch, val } from './verbs.js'

export type BuildStore = (clock: ManualClock) => Store

const DAY = 24 * 60 * 60
const U64_MAX = (1n << 64n) - 1n

export function storeContract (t: Test, build: BuildStore): void {
  const fresh = (): { s: Store, clock: ManualClock } => {
    const clock = new ManualClock(1_700_000_000)
    return { s: build(clock), clock }
  }

  t.test('set then get returns the bytes, flags and a CAS', async (t) => {
    const { s } = fresh()
    const binary = Buffer.from([0, 13, 10, 255, 32, 13, 10, 0])
    t.equal(set(s, 'bin', binary, 0xffffffff), 'STORED')
    const hit = get(s, 'bin')
    t.ok(hit !== null)
    t.same(hit?.value, binary, 'value is binary-safe (NUL, CRLF, 0xff)')
    t.equal(hit?.flags, 0xffffffff, 'flags are 32-bit unsigned')
    t.ok((hit?.cas ?? 0) > 0, 'CAS is positive')
    t.equal(s.lastCas(), hit?.cas, 'lastCas() names the stored CAS')
    t.equal(set(s, 'empty', ''), 'STORED')
    t.equal(val(s, 'empty'), '', 'an empty value is a hit, not a miss')
    t.equal(set(s, 'bin', 'second', 7), 'STORED')
    t.same(get(s, 'bin')?.value.toString(), 'second', 'set overwrites')
    t.equal(get(s, 'bin')?.flags, 7)
    t.equal(get(s, 'nope'), null, 'unknown key misses')
    const key250 = 'k'.repeat(250)
    t.equal(set(s, key250, 'long key'), 'STORED')
    t.equal(val(s, key250), 'long key', '250-byte keys work')
    t.equal(val(s, key250.slice(1)), null, 'a prefix of a key is another key')
  })

  t.test('an allocated item is invisible until linked, and free() leaves no trace', async (t) => {
    const { s } = fresh()
    const k = Buffer.from('pending')
    const h = s.alloc(k, 0, k.length, 3, 0, 5)
    t.ok(h > 0)
    t.equal(s.nkey(h), k.length)
    const kc = Buffer.alloc(k.length)
    s.copyKey(h, kc, 0)
    t.same(kc, k, 'copyKey returns the key bytes')
    t.equal(s.find(k, 0, k.length), 0, 'not findable before link')
    s.free(h)
    t.equal(s.find(k, 0, k.length), 0)
    // A key given as a slice of a larger buffer.
    const line = Buffer.from('xx slice yy')
    const h2 = s.alloc(line, 3, 8, 0, 0, 1)
    s.writeValue(h2, Buffer.from('v'), 0, 1, 0)
    t.equal(s.link(h2, StoreMode.Set, 0), 0)
    t.equal(val(s, 'slice'), 'v', 'keys are taken from [ks, ke) of the buffer')
  })

  t.test('add stores only when the key is absent (or expired)', async (t) => {
    const { s, clock } = fresh()
    t.equal(store(s, StoreMode.Add, 'a', 'one'), 'STORED')
    t.equal(store(s, StoreMode.Add, 'a', 'two'), 'NOT_STORED')
    t.equal(val(s, 'a'), 'one', 'a failed add keeps the old value')
    t.equal(set(s, 'e', 'old', 0, 5), 'STORED')
    clock.advance(5)
    t.equal(store(s, StoreMode.Add, 'e', 'new'), 'STORED', 'add over an expired item stores')
    t.equal(val(s, 'e'), 'new')
  })

  t.test('replace stores only when the key is present', async (t) => {
    const { s } = fresh()
    t.equal(store(s, StoreMode.Replace, 'r', 'x'), 'NOT_STORED')
    t.equal(val(s, 'r'), null)
    set(s, 'r', 'x', 1)
    t.equal(store(s, StoreMode.Replace, 'r', 'yy', 2), 'STORED')
    t.equal(val(s, 'r'), 'yy')
    t.equal(get(s, 'r')?.flags, 2, 'replace takes the new flags')
  })

  t.test('append and prepend keep flags and exptime of the old item and take a new CAS', async (t) => {
    const { s, clock } = fresh()
    t.equal(store(s, StoreMode.Append, 'ap', 'x'), 'NOT_STORED', 'append needs an item')
    t.equal(store(s, StoreMode.Prepend, 'ap', 'x'), 'NOT_STORED', 'prepend needs an item')
    set(s, 'ap', 'mid', 42, 100)
    const cas0 = get(s, 'ap')?.cas ?? 0
    t.equal(store(s, StoreMode.Append, 'ap', '>>', 9, 0), 'STORED')
    t.equal(store(s, StoreMode.Prepend, 'ap', '<<', 9, 0), 'STORED')
    const hit = get(s, 'ap')
    t.equal(hit?.value.toString(), '<<mid>>')
    t.equal(hit?.flags, 42, 'flags of the original item')
    t.ok((hit?.cas ?? 0) > cas0, 'a new CAS')
    clock.advance(99)
    t.equal(val(s, 'ap'), '<<mid>>', 'still alive at 99 s')
    clock.advance(1)
    t.equal(val(s, 'ap'), null, 'expires when the original item would (exptime 100)')
  })

  t.test('append/prepend with a CAS: mismatch is EXISTS, match stores', async (t) => {
    const { s } = fresh()
    set(s, 'c', 'a')
    const cas = get(s, 'c')?.cas ?? 0
    t.equal(store(s, StoreMode.Append, 'c', 'b', 0, 0, cas + 1000), 'EXISTS')
    t.equal(val(s, 'c'), 'a')
    t.equal(store(s, StoreMode.Append, 'c', 'b', 0, 0, cas), 'STORED')
    t.equal(val(s, 'c'), 'ab')
  })

  t.test('cas: NOT_FOUND without an item, EXISTS on a stale CAS, STORED on a match', async (t) => {
    const { s } = fresh()
    t.equal(store(s, StoreMode.Cas, 'k', 'v', 0, 0, 1), 'NOT_FOUND')
    set(s, 'k', 'v1')
    const c1 = get(s, 'k')?.cas ?? 0
    t.equal(store(s, StoreMode.Cas, 'k', 'v2', 5, 0, c1), 'STORED')
    const hit = get(s, 'k')
    t.equal(hit?.value.toString(), 'v2')
    t.equal(hit?.flags, 5)
    t.not(hit?.cas, c1, 'the CAS changes on every store')
    t.equal(store(s, StoreMode.Cas, 'k', 'v3', 0, 0, c1), 'EXISTS', 'the old CAS no longer matches')
    t.equal(val(s, 'k'), 'v2')
    // A CAS of 0 never matches (memcached compares against a real CAS only).
    t.equal(store(s, StoreMode.Cas, 'k', 'v4', 0, 0, 0), 'EXISTS')
    set(s, 'k', 'v5')
    t.equal(store(s, StoreMode.Cas, 'k', 'v6', 0, 0, hit?.cas ?? 0), 'EXISTS', 'a set in between invalidates the CAS')
    del(s, 'k')
    t.equal(store(s, StoreMode.Cas, 'k', 'v7', 0, 0, hit?.cas ?? 0), 'NOT_FOUND')
  })

  t.test('delete removes the item; deleting a missing key says so', async (t) => {
    const { s } = fresh()
    set(s, 'd', '1')
    t.equal(del(s, 'd'), true)
    t.equal(val(s, 'd'), null)
    t.equal(del(s, 'd'), false)
    t.equal(set(s, 'd', '2'), 'STORED', 'the key can be stored again')
    t.equal(val(s, 'd'), '2')
  })

  t.test('incr/decr: 64-bit unsigned, incr wraps, decr floors at 0', async (t) => {
    const { s } = fresh()
    t.equal(arith(s, 'n', true, 1n), 'NOT_FOUND')
    set(s, 'n', '5', 77)
    t.equal(arith(s, 'n', true, 10n), 15n)
    t.equal(arith(s, 'n', false, 3n), 12n)
    t.equal(arith(s, 'n', false, 100n), 0n, 'decr below zero floors at 0')
    t.equal(get(s, 'n')?.flags, 77, 'flags are kept')
    set(s, 'max', U64_MAX.toString())
    t.equal(arith(s, 'max', true, 1n), 0n, '2^64-1 + 1 wraps to 0')
    set(s, 'max', U64_MAX.toString())
    t.equal(arith(s, 'max', true, 2n), 1n)
    set(s, 'max', '1')
    t.equal(arith(s, 'max', true, U64_MAX), 0n, 'a 2^64-1 delta wraps too')
    set(s, 'big', '18446744073709551616')
    t.equal(arith(s, 'big', true, 1n), 'NON_NUMERIC', '2^64 is not a 64-bit number')
    for (const bad of ['', 'abc', '12a', 'a12', '1.5']) {
      set(s, 'bad', bad)
      t.equal(arith(s, 'bad', true, 1n), 'NON_NUMERIC', `incr on ${JSON.stringify(bad)}`)
      t.equal(val(s, 'bad'), bad, 'the value is unchanged')
    }
    set(s, 'sp', ' 7')
    t.equal(arith(s, 'sp', true, 1n), 8n, 'leading whitespace is accepted (strtoull)')
    set(s, 'crlf', '12\r\n')
    t.equal(arith(s, 'crlf', true, 1n), 13n, 'trailing whitespace is accepted')
    const before = get(s, 'n')?.cas ?? 0
    arith(s, 'n', true, 1n)
    t.ok((get(s, 'n')?.cas ?? 0) > before, 'incr takes a new CAS')
  })

  t.test('incr/decr keep the length when the number shrinks (space padding) and grow it when it does not fit', async (t) => {
    const { s } = fresh()
    set(s, 'n', '100')
    t.equal(arith(s, 'n', false, 1n), 99n)
    t.equal(val(s, 'n'), '99 ', 'memcached pads in place with spaces')
    t.equal(arith(s, 'n', false, 90n), 9n)
    t.equal(val(s, 'n'), '9  ')
    t.equal(arith(s, 'n', true, 991n), 1000n)
    t.equal(val(s, 'n'), '1000', 'a longer number makes a new item of the new length')
    set(s, 'w', '99', 3, 50)
    t.equal(arith(s, 'w', true, 1n), 100n)
    t.equal(val(s, 'w'), '100')
    t.equal(get(s, 'w')?.flags, 3, 'the grown item keeps flags')
    set(s, 'z', '00042')
    t.equal(arith(s, 'z', true, 0n), 42n)
    t.equal(val(s, 'z'), '42   ')
  })

  t.test('incr/decr on a value memcached would store chunked (over 512 KiB) is NON_NUMERIC', async (t) => {
    const { s } = fresh()
    // "5" padded with spaces: a number by its bytes, but memcached refuses chunked items.
    // Key "n", flags 0, with CAS: chunked from 524,229 value bytes on (memcached 1.6.18).
    const padded = (n: number): Buffer => { const v = Buffer.alloc(n, 0x20); v[0] = 0x35; return v }
    set(s, 'n', padded(524_228))
    t.equal(arith(s, 'n', true, 1n), 6n, 'just under: still a number')
    set(s, 'n', padded(524_240))
    t.equal(arith(s, 'n', true, 1n), 'NON_NUMERIC', 'just over: refused, as memcached does')
    t.equal(arith(s, 'n', true, 1n, 12345), 'NON_NUMERIC', 'before the CAS is looked at')
  })

  t.test('incr/decr with a CAS (meta arithmetic): mismatch is EXISTS', async (t) => {
    const { s } = fresh()
    set(s, 'n', '1')
    const cas = get(s, 'n')?.cas ?? 0
    t.equal(arith(s, 'n', true, 1n, cas + 1), 'EXISTS')
    t.equal(val(s, 'n'), '1')
    t.equal(arith(s, 'n', true, 1n, cas), 2n)
  })

  t.test('touch changes the exptime of a live item only', async (t) => {
    const { s, clock } = fresh()
    t.equal(touch(s, 'x', 10), false)
    set(s, 't', 'v', 0, 10)
    clock.advance(5)
    t.equal(touch(s, 't', 100), true)
    clock.advance(50)
    t.equal(val(s, 't'), 'v', 'the new TTL counts from the touch')
    t.equal(touch(s, 't', 0), true)
    clock.advance(100 * DAY)
    t.equal(val(s, 't'), 'v', 'touch 0 makes it permanent')
    t.equal(touch(s, 't', -1), true)
    t.equal(val(s, 't'), null, 'a negative touch expires it now')
  })

  t.test('exptime rules: 0, relative, 30 days, absolute, negative', async (t) => {
    const { s, clock } = fresh()
    const unixNow = (): number => clock.processStarted + clock.now()
    set(s, 'zero', 'v', 0, 0)
    set(s, 'rel', 'v', 0, 10)
    set(s, 'month', 'v', 0, 30 * DAY)
    set(s, 'abs', 'v', 0, unixNow() + 20)
    set(s, 'neg', 'v', 0, -1)
    set(s, 'past', 'v', 0, 30 * DAY + 1)
    t.equal(val(s, 'neg'), null, 'negative: expired at once')
    t.equal(val(s, 'past'), null, 'just over 30 days is an absolute time long past')
    t.equal(val(s, 'rel'), 'v')
    clock.advance(9)
    t.equal(val(s, 'rel'), 'v', 'relative 10: alive at 9 s')
    clock.advance(1)
    t.equal(val(s, 'rel'), null, 'relative 10: gone at 10 s')
    t.equal(val(s, 'abs'), 'v', 'absolute +20: alive at 10 s')
    clock.advance(10)
    t.equal(val(s, 'abs'), null, 'absolute +20: gone at 20 s')
    clock.advance(30 * DAY - 21)
    t.equal(val(s, 'month'), 'v', 'exactly 30 days is relative: alive a second before')
    clock.advance(1)
    t.equal(val(s, 'month'), null, 'and gone at 30 days')
    clock.advance(1000 * DAY)
    t.equal(val(s, 'zero'), 'v', '0 never expires')
    t.equal(s.relExptime(0), 0)
    t.ok(s.relExptime(-5) <= s.now(), 'a negative exptime maps to a past store time')
  })

  t.test('flush_all now: everything stored before is gone, later stores are kept', async (t) => {
    const { s, clock } = fresh()
    for (let i = 0; i < 20; i++) set(s, `k${i}`, 'v')
    const lastCas = s.lastCas()
    flushAll(s)
    for (let i = 0; i < 20; i++) t.equal(val(s, `k${i}`), null, `k${i} flushed`)
    t.equal(set(s, 'after', 'v'), 'STORED')
    t.equal(val(s, 'after'), 'v', 'stored in the same second as the flush, after it: kept')
    t.equal(s.lastCas(), lastCas + 2, 'memcached uses up one CAS value for the flush watermark')
    clock.advance(1000)
    t.equal(val(s, 'after'), 'v')
    t.equal(store(s, StoreMode.Add, 'k1', 'again'), 'STORED', 'a flushed key can be added')
  })

  t.test('flush_all with a delay: items are kept until the deadline', async (t) => {
    const { s, clock } = fresh()
    set(s, 'a', 'v')
    flushAll(s, 10)
    clock.advance(5)
    set(s, 'b', 'v')
    clock.advance(3)
    t.equal(val(s, 'a'), 'v', 'alive 8 s into a 10 s delay')
    clock.advance(2)
    t.equal(val(s, 'a'), null, 'gone at the deadline')
    t.equal(val(s, 'b'), null, 'an item stored before the deadline is flushed too')
    set(s, 'c', 'v')
    clock.advance(1)
    t.equal(val(s, 'c'), 'v', 'an item stored after the deadline is kept')
  })

  t.test('CAS values are unique across keys and stores', async (t) => {
    const { s } = fresh()
    const seen = new Set<number>()
    let prev = 0
    let ok = true
    for (let i = 0; i < 37; i++) set(s, `k${i}`, '1')
    for (let i = 0; i < 2000; i++) {
      const key = `k${i % 37}`
      if (i % 5 === 0) arith(s, key, true, 1n)
      else set(s, key, String(i))
      const c = get(s, key)?.cas ?? 0
      if (c === 0 || seen.has(c) || c <= prev) ok = false
      seen.add(c)
      prev = c
    }
    t.ok(ok, 'every store took a fresh, increasing CAS')
  })

  t.test('the -I limit: memcached\'s item size formula decides TOO_LARGE', async (t) => {
    const { s } = fresh()
    // 1 MiB item limit: header 48 + CAS 8 + key + 1 + value + 2 (no flags suffix with flags 0).
    const room = 1024 * 1024 - 48 - 8 - 1 - 2
    t.equal(set(s, 'k', Buffer.alloc(room - 1, 1)), 'STORED', 'the largest value that fits')
    t.equal(get(s, 'k')?.value.length, room - 1)
    t.equal(set(s, 'k', Buffer.alloc(room, 1)), 'TOO_LARGE', 'one byte more does not')
    t.equal(val(s, 'k'), null, 'a failed set drops the old value')
    t.equal(set(s, 'f', Buffer.alloc(room - 4, 1), 1), 'TOO_LARGE', 'non-zero flags cost 4 bytes')
    t.equal(set(s, 'f', Buffer.alloc(room - 5, 1), 1), 'STORED')
    set(s, 'ap', Buffer.alloc(room - 10, 1))
    t.equal(store(s, StoreMode.Append, 'ap', Buffer.alloc(20, 2)), 'NOT_STORED', 'an append past -I is not stored')
    t.equal(get(s, 'ap')?.value.length, room - 10, 'and keeps the old value')
  })
}
