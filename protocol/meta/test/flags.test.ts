import t from 'tap'
import { FlagError, Lo, MetaFlags, NEGATIVE_EXPTIME, U, lowerBit, preparseMetaFlags, upperBit } from '../flags.js'

/** Tokenizes a whole meta line the way memcached does (split on ' ' only). */
function parse (text: string, first = 2): { f: MetaFlags, err: FlagError, line: Buffer } {
  const line = Buffer.from(text, 'latin1')
  const starts: number[] = []; const ends: number[] = []
  let i = 0
  while (i < line.length) {
    while (i < line.length && line[i] === 32) i++
    if (i >= line.length) break
    const s = i
    while (i < line.length && line[i] !== 32) i++
    starts.push(s); ends.push(i)
  }
  const f = new MetaFlags()
  const err = preparseMetaFlags(line, starts[1], ends[1], starts, ends, first, starts.length, f)
  return { f, err, line }
}

const key = (f: MetaFlags): string => Buffer.from(f.key.subarray(f.keyStart, f.keyEnd)).toString('latin1')

t.test('every one of the 52 letters gets its own bit: no two letters share one', async (t) => {
  const seen = new Map<string, string>()
  for (let c = 65; c <= 90; c++) {
    t.equal(lowerBit(c), 0, `${String.fromCharCode(c)} has no lower-case bit`)
    const b = upperBit(c)
    t.ok(b !== 0 && (b & (b - 1)) === 0, `${String.fromCharCode(c)} is one bit`)
    seen.set(`U${b}`, String.fromCharCode(c))
  }
  for (let c = 97; c <= 122; c++) {
    t.equal(upperBit(c), 0, `${String.fromCharCode(c)} has no upper-case bit`)
    const b = lowerBit(c)
    t.ok(b !== 0 && (b & (b - 1)) === 0, `${String.fromCharCode(c)} is one bit`)
    seen.set(`L${b}`, String.fromCharCode(c))
  }
  t.equal(seen.size, 52, 'fifty-two distinct (mask, bit) pairs')
  // Setting all letters of one case fills exactly 26 bits.
  let up = 0; let lo = 0
  for (let c = 65; c <= 90; c++) up |= upperBit(c)
  for (let c = 97; c <= 122; c++) lo |= lowerBit(c)
  t.equal(up, 0x3ffffff); t.equal(lo, 0x3ffffff)
  // The 64-bit C idiom would alias z onto Z in 32-bit JS: ours must not.
  t.not(upperBit(90), 0); t.equal(upperBit(122), 0)
  t.equal(1 << (122 - 65), 1 << (90 - 65), 'the trap the two masks avoid is real')
})

t.test('every letter alone: known ones set only their own bit, the rest are invalid flag', async (t) => {
  const known = new Set('bcfhklqstuv'.split('').concat('CDFIJLMNOPRT'.split('')))
  for (let c = 65; c <= 122; c++) {
    if (c > 90 && c < 97) continue
    const ch = String.fromCharCode(c)
    // give numeric flags a valid token, M a mode
    const tok = 'NTRFCJD'.includes(ch) ? `${ch}5` : ch === 'M' ? 'MS' : ch === 'b' ? 'b' : ch
    const { f, err } = parse(`mg Zm9v ${tok}`)
    if (!known.has(ch)) {
      t.equal(err, FlagError.Invalid, `${ch} is an invalid flag`)
      continue
    }
    t.equal(err, FlagError.None, `${ch} parses`)
    t.equal(f.upper, upperBit(c), `${ch}: upper mask`)
    t.equal(f.lower, lowerBit(c), `${ch}: lower mask`)
    t.equal(f.count, 1)
  }
})

t.test('all known flags together are each recorded once, in request order', async (t) => {
  const { f, err, line } = parse('mg Zm9v b c f h k l q s t u v C1 D2 F3 I J4 L/x MI N5 Oop P/p R6 T7')
  t.equal(err, FlagError.None)
  t.equal(f.count, 23)
  t.equal(f.upper, U.C | U.D | U.F | U.I | U.J | U.L | U.M | U.N | U.O | U.P | U.R | U.T)
  t.equal(f.lower, Lo.b | Lo.c | Lo.f | Lo.h | Lo.k | Lo.l | Lo.q | Lo.s | Lo.t | Lo.u | Lo.v)
  t.equal(line.subarray(f.starts[18], f.ends[18]).toString(), 'N5')
  t.equal(f.compareCas, 1); t.equal(f.delta, 2n); t.equal(f.clientFlags, 3); t.equal(f.initial, 4n)
  t.equal(f.mode, 'I'.charCodeAt(0)); t.equal(f.vivifyTtl, 5); t.equal(f.recacheTtl, 6); t.equal(f.ttl, 7)
  t.ok(f.keyBinary); t.equal(key(f), 'foo')
  t.equal(parse('mg foo b').err, FlagError.DecodingKey, 'three base64 digits are not a multiple of 4')
})

t.test('errors: repeats and unknown letters stop at once, value errors keep going and the last message wins', async (t) => {
  const cases: Array<[string, FlagError]> = [
    ['mg k v v', FlagError.Duplicate],
    ['mg k T1 T2', FlagError.Duplicate],
    ['mg k z', FlagError.Invalid],
    ['mg k 1', FlagError.Invalid],
    ['mg k \xff', FlagError.Duplicate], // memcached counts bytes >= 127 as repeats
    ['mg k Nx', FlagError.BadToken],
    ['mg k N', FlagError.BadToken],
    ['mg k Nx Mxx', FlagError.MTokenLength],
    ['mg k Mxx Nx', FlagError.BadToken],
    ['mg k Nx z', FlagError.Invalid],
    ['mg k Fx', FlagError.Default],
    ['mg k Mxx Fx', FlagError.MTokenLength],
    ['mg k F-1', FlagError.Default],
    ['mg k C-1', FlagError.BadToken],
    ['mg k Jx', FlagError.InitialValue],
    ['mg k D-1', FlagError.DeltaValue],
    ['mg k M', FlagError.MTokenLength],
    ['mg a== b', FlagError.DecodingKey],
    ['mg k Z', FlagError.Invalid],
    ['mg k x', FlagError.Invalid],
    ['mg k E5', FlagError.Invalid],
    ['mg k S5', FlagError.Invalid],
  ]
  for (const [text, want] of cases) t.equal(parse(text).err, want, JSON.stringify(text))
})

t.test('numbers follow C strtol rules', async (t) => {
  t.equal(parse('mg k T-1').f.ttl, NEGATIVE_EXPTIME, 'negative TTL becomes already-expired')
  t.equal(parse('mg k T+5').f.ttl, 5)
  t.equal(parse('mg k T4294967297').f.ttl, 1, 'int32 narrowing')
  t.equal(parse('mg k T9223372036854775808').err, FlagError.BadToken, 'beyond long')
  t.equal(parse('mg k F4294967297').f.clientFlags, 1)
  t.equal(parse('mg k F18446744073709551615').f.clientFlags, 4294967295)
  t.equal(parse('mg k F-0').f.clientFlags, 0)
  t.equal(parse('mg k D18446744073709551615').f.delta, 18446744073709551615n)
  t.equal(parse('mg k D18446744073709551616').err, FlagError.DeltaValue)
  t.equal(parse('mg k D-18446744073709551615').f.delta, 1n, 'strtoull negates modulo 2^64')
  t.equal(parse('mg k T5\tjunk').f.ttl, 5, 'a tab ends the number like a space')
  t.equal(parse('mg k T5x').err, FlagError.BadToken)
})

t.test('b decodes the key into scratch and leaves the line untouched', async (t) => {
  const { f, err, line } = parse('mg AAEC/w== b k')
  t.equal(err, FlagError.None)
  t.same([...f.key.subarray(f.keyStart, f.keyEnd)], [0, 1, 2, 255])
  t.equal(line.toString('latin1'), 'mg AAEC/w== b k')
  t.equal(key(parse('mg Zm9v b').f), 'foo')
  t.equal(key(parse('mg foo v').f), 'foo', 'without b the key is the line token')
})

t.test('reset() between requests forgets the previous one', async (t) => {
  const f = new MetaFlags()
  const l1 = Buffer.from('mg k T5 v')
  preparseMetaFlags(l1, 3, 4, [0, 3, 5, 8], [2, 4, 7, 9], 2, 4, f)
  t.equal(f.ttl, 5)
  const l2 = Buffer.from('mg k s')
  preparseMetaFlags(l2, 3, 4, [0, 3, 5], [2, 4, 6], 2, 3, f)
  t.equal(f.upper, 0); t.equal(f.lower, Lo.s); t.equal(f.ttl, 0); t.equal(f.count, 1)
})
