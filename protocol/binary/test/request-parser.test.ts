import t, { type Test } from 'tap'
import {
  BinaryRequestParser, FrameError, Next, Problem, type BinaryRequest,
} from '../request-parser.js'
import { Opcode, carriesValue } from '../opcodes.js'
import { counterExtras, encodeRequest, expiryExtras, storeExtras } from '../request-encoder.js'
import { feedings } from './splits.js'
import { testSeeds } from '../../../lib/testing/seeds.js'

// Fixed seed (lib/testing/seeds.ts): FC_SEED=<n> replays.
const SEED = testSeeds('FC_SEED', [20261205])[0]!

interface Event {
  opcode: number, op: number, quiet: boolean, problem: number, opaque: number, cas: number,
  key: string, extras: string, value?: string, valueLength: number,
}

/**
 * Records what the parser reports. Values are read in onValue and keys are read there too
 * for value-carrying requests, so a parser that kept a view into an old chunk would
 * see the garbage the feeder writes over every chunk after push().
 */
function parse (chunks: Buffer[], stream = false): Array<Event | string> {
  const events: Array<Event | string> = []
  let parts: string[] = []
  let expectAt = 0
  const snapshot = (req: BinaryRequest): Event => ({
    opcode: req.opcode,
    op: req.op,
    quiet: req.quiet,
    problem: req.problem,
    opaque: req.opaque,
    cas: req.cas,
    key: req.buf.toString('latin1', req.keyStart, req.keyEnd),
    extras: req.buf.toString('hex', req.extStart, req.keyStart),
    valueLength: req.valueLength,
  })
  const parser = new BinaryRequestParser({
    onRequest (req) {
      if (req.problem === Problem.BadLengths || req.problem === Problem.Invalid) {
        events.push(snapshot(req))
        return Next.Stop
      }
      if (req.problem === Problem.UnknownCommand) {
        events.push(snapshot(req))
        return Next.Swallow
      }
      if (carriesValue(req.op)) {
        if (!stream) return Next.Value
        parts = []
        expectAt = 0
        return Next.Stream
      }
      events.push(snapshot(req))
      return Next.Continue
    },
    onValue (req, value, s, e) {
      events.push({ ...snapshot(req), value: value.toString('latin1', s, e) })
    },
    onValuePart (_req, buf, s, e, at) {
      if (at !== expectAt || e <= s) events.push(`bad part at ${at}, expected ${expectAt}, ${e - s} bytes`)
      expectAt = at + (e - s)
      parts.push(buf.toString('latin1', s, e))
    },
    onValueEnd (req) {
      events.push({ ...snapshot(req), value: parts.join('') })
    },
    onFrameError (kind) { events.push(`frame error ${kind}`) },
  })
  for (const c of chunks) {
    parser.push(c)
    c.fill(0xee) // no view into a pushed chunk may survive push()
  }
  return events
}

function check (t: Test, name: string, input: Buffer, expected: Array<Partial<Event> | string>): void {
  t.test(name, async (t) => {
    let n = 0
    for (const f of [...feedings(input), ...[...feedings(input)].map((x) => ({ ...x, name: `${x.name}, streamed`, stream: true }))]) {
      const got = parse(f.chunks.map((c) => Buffer.from(c)), 'stream' in f)
      const ok = got.length === expected.length && expected.every((e, i) =>
        typeof e === 'string' ? got[i] === e : Object.entries(e).every(([k, v]) => (got[i] as unknown as Record<string, unknown>)[k] === v))
      if (!ok) {
        t.same(got, expected, f.name)
        return
      }
      n++
    }
    t.pass(`same requests in all ${n} feedings`)
  })
}




const ev = (opcode: number, fields: Partial<Event> = {}): Partial<Event> => ({ opcode, ...fields })

check(t, 'gets of every flavour fold quiet into the normal opcode',
  Buffer.concat([
    encodeRequest({ opcode: Opcode.Get, key: 'alpha', opaque: 1 }),
    encodeRequest({ opcode: Opcode.GetQ, key: 'beta', opaque: 2 }),
    encodeRequest({ opcode: Opcode.GetK, key: 'gamma', opaque: 0xffffffff }),
    encodeRequest({ opcode: Opcode.GetKQ, key: 'd', opaque: 4 }),
  ]), [
    ev(Opcode.Get, { op: Opcode.Get, quiet: false, key: 'alpha', opaque: 1, problem: Problem.None }),
    ev(Opcode.GetQ, { op: Opcode.Get, quiet: true, key: 'beta', opaque: 2 }),
    ev(Opcode.GetK, { op: Opcode.GetK, quiet: false, key: 'gamma', opaque: 0xffffffff }),
    ev(Opcode.GetKQ, { op: Opcode.GetK, quiet: true, key: 'd', opaque: 4 }),
  ])

const bigValue = Buffer.alloc(100 * 1024, 'v').toString('latin1')
check(t, 'storage commands deliver extras, key and a binary-safe value, small or spanning chunks',
  Buffer.concat([
    encodeRequest({ opcode: Opcode.Set, key: 'k1', extras: storeExtras(0xdeadbeef, 3600), value: 'hello\r\n\x80\x00', cas: 2 ** 40 + 7 }),
    encodeRequest({ opcode: Opcode.SetQ, key: 'k2', extras: storeExtras(0, 0), value: '' }),
    encodeRequest({ opcode: Opcode.Append, key: 'k3', value: 'tail' }),
    encodeRequest({ opcode: Opcode.PrependQ, key: 'k4', value: 'head' }),
  ]), [
    ev(Opcode.Set, { op: Opcode.Set, key: 'k1', extras: 'deadbeef00000e10', value: 'hello\r\n\x80\x00', cas: 2 ** 40 + 7 }),
    ev(Opcode.SetQ, { op: Opcode.Set, quiet: true, key: 'k2', value: '' }),
    ev(Opcode.Append, { key: 'k3', value: 'tail', extras: '' }),
    ev(Opcode.PrependQ, { op: Opcode.Prepend, quiet: true, key: 'k4', value: 'head' }),
  ])

t.test('a 100 KiB value split at every 997th byte and byte by byte arrives whole', async (t) => {
  const input = Buffer.concat([
    encodeRequest({ opcode: Opcode.Add, key: 'big', extras: storeExtras(1, 0), value: bigValue }),
    encodeRequest({ opcode: Opcode.Noop, opaque: 9 }),
  ])
  for (const [step, stream] of [[1, false], [997, false], [16384, false], [1, true], [997, true], [16384, true]] as const) {
    const chunks: Buffer[] = []
    for (let i = 0; i < input.length; i += step) chunks.push(Buffer.from(input.subarray(i, i + step)))
    const got = parse(chunks, stream) as Event[]
    t.equal(got.length, 2, `step ${step}${stream ? ', streamed' : ''}`)
    t.equal(got[0].key, 'big')
    t.equal(got[0].value, bigValue)
    t.equal(got[1].opaque, 9)
  }
})

check(t, 'counters, touch, flush, admin commands frame with their extras',
  Buffer.concat([
    encodeRequest({ opcode: Opcode.Increment, key: 'n', extras: counterExtras(5n, 10n, 0xffffffff) }),
    encodeRequest({ opcode: Opcode.DecrementQ, key: 'n', extras: counterExtras(1n, 0n, 0) }),
    encodeRequest({ opcode: Opcode.Touch, key: 't', extras: expiryExtras(100) }),
    encodeRequest({ opcode: Opcode.GatKQ, key: 't', extras: expiryExtras(0) }),
    encodeRequest({ opcode: Opcode.Flush, extras: expiryExtras(30) }),
    encodeRequest({ opcode: Opcode.FlushQ }),
    encodeRequest({ opcode: Opcode.Version }),
    encodeRequest({ opcode: Opcode.Stat, key: 'items' }),
    encodeRequest({ opcode: Opcode.Delete, key: 'gone', cas: 12 }),
    encodeRequest({ opcode: Opcode.QuitQ }),
  ]), [
    ev(Opcode.Increment, { key: 'n', extras: '0000000000000005000000000000000affffffff' }),
    ev(Opcode.DecrementQ, { op: Opcode.Decrement, quiet: true }),
    ev(Opcode.Touch, { extras: '00000064' }),
    ev(Opcode.GatKQ, { op: Opcode.GatK, quiet: true }),
    ev(Opcode.Flush, { extras: '0000001e' }),
    ev(Opcode.FlushQ, { op: Opcode.Flush, quiet: true }),
    ev(Opcode.Version),
    ev(Opcode.Stat, { key: 'items' }),
    ev(Opcode.Delete, { key: 'gone', cas: 12 }),
    ev(Opcode.QuitQ, { op: Opcode.Quit, quiet: true }),
  ])

check(t, 'STAT with bodylen beyond its key leaves those bytes to be parsed as the next packet (memcached framing)',
  Buffer.concat([
    encodeRequest({ opcode: Opcode.Stat, key: 'x', bodylen: 1 + 24 }),
    encodeRequest({ opcode: Opcode.Noop, opaque: 5 }),
  ]), [
    ev(Opcode.Stat, { key: 'x' }),
    ev(Opcode.Noop, { opaque: 5 }),
  ])

check(t, 'an unknown opcode swallows bodylen bytes counted from the end of its key',
  Buffer.concat([
    encodeRequest({ opcode: 0x50, key: 'abcd', value: 'xyz', opaque: 1 }),
    Buffer.from('JUNK'),
    encodeRequest({ opcode: Opcode.Noop, opaque: 7 }),
    encodeRequest({ opcode: Opcode.Verbosity, extras: expiryExtras(1), opaque: 8 }),
  ]), [
    ev(0x50, { problem: Problem.UnknownCommand, valueLength: 7, opaque: 1 }),
    ev(Opcode.Noop, { opaque: 7 }),
    ev(Opcode.Verbosity, { problem: Problem.UnknownCommand, valueLength: 4, opaque: 8 }),
  ])

check(t, 'keylen + extlen beyond bodylen is BadLengths and parsing stops',
  Buffer.concat([
    encodeRequest({ opcode: Opcode.Get, key: 'kk', bodylen: 1 }),
    encodeRequest({ opcode: Opcode.Noop }),
  ]), [ev(Opcode.Get, { problem: Problem.BadLengths })])

check(t, 'a 251-byte key is Invalid even for an unknown opcode',
  encodeRequest({ opcode: 0x50, key: 'k'.repeat(251) }),
  [ev(0x50, { problem: Problem.Invalid })])

for (const [name, spec] of [
  ['GET with extras', { opcode: Opcode.Get, key: 'k', extras: Buffer.alloc(4) }],
  ['GET without a key', { opcode: Opcode.Get }],
  ['SET with 4 bytes of extras', { opcode: Opcode.Set, key: 'k', extras: Buffer.alloc(4), value: 'v' }],
  ['SET without a key', { opcode: Opcode.Set, extras: Buffer.alloc(8), value: 'v' }],
  ['DELETE with a value', { opcode: Opcode.Delete, key: 'k', value: 'v' }],
  ['INCREMENT with 8 bytes of extras', { opcode: Opcode.Increment, key: 'k', extras: Buffer.alloc(8) }],
  ['NOOP with a body', { opcode: Opcode.Noop, value: 'x' }],
  ['FLUSH with 2 bytes of extras', { opcode: Opcode.Flush, extras: Buffer.alloc(2) }],
  ['APPEND with extras', { opcode: Opcode.Append, key: 'k', extras: Buffer.alloc(4), value: 'x' }],
  ['TOUCH without extras', { opcode: Opcode.Touch, key: 'k' }],
  ['SASL_AUTH without a mechanism', { opcode: Opcode.SaslAuth, value: 'x' }],
  ['STAT with extras', { opcode: Opcode.Stat, extras: Buffer.alloc(4) }],
] as const) {
  check(t, `${name} is Invalid`, encodeRequest(spec), [ev(spec.opcode, { problem: Problem.Invalid })])
}

check(t, 'a bad magic byte after a good packet loses framing',
  Buffer.concat([
    encodeRequest({ opcode: Opcode.Noop, opaque: 1 }),
    encodeRequest({ opcode: Opcode.Noop, magic: 0x81 }),
    encodeRequest({ opcode: Opcode.Noop, opaque: 3 }),
  ]), [ev(Opcode.Noop, { opaque: 1 }), `frame error ${FrameError.BadMagic}`])

check(t, 'a frame larger than memcached\'s 16 KiB read buffer loses framing at its header',
  encodeRequest({ opcode: Opcode.Get, key: 'k'.repeat(300), keylen: 20000, bodylen: 20000 }),
  [`frame error ${FrameError.FrameTooLarge}`])

t.test('a handler that asks to swallow a huge value never makes the parser buffer it', async (t) => {
  let values = 0
  let requests = 0
  const parser = new BinaryRequestParser({
    onRequest (req) { requests++; return req.valueLength > 1000 ? Next.Swallow : Next.Value },
    onValue () { values++ },
    onFrameError () { t.fail('framing') },
  })
  parser.push(encodeRequest({ opcode: Opcode.Set, key: 'k', extras: storeExtras(0, 0), bodylen: 9 + 2 ** 31 }))
  const chunk = Buffer.alloc(1 << 20)
  for (let i = 0; i < 2048; i++) parser.push(chunk)
  t.equal(values, 0)
  parser.push(encodeRequest({ opcode: Opcode.Noop }))
  t.equal(requests, 2, 'the packet after the swallowed value is parsed')
  t.equal(values, 1, 'NOOP delivered as an empty value')
})

t.test(`property: random valid request streams cut at random points parse back to what was encoded (seed ${SEED})`, async (t) => {
  const fc = await import('fast-check')
  const valueOps = [Opcode.Set, Opcode.SetQ, Opcode.Add, Opcode.Replace, Opcode.Append, Opcode.PrependQ]
  const keyOps = [Opcode.Get, Opcode.GetQ, Opcode.GetK, Opcode.GetKQ, Opcode.Delete, Opcode.DeleteQ]
  const bytes = (min: number, max: number): ReturnType<typeof fc.uint8Array> => fc.uint8Array({ minLength: min, maxLength: max })
  const request = fc.oneof(
    fc.record({ opcode: fc.constantFrom(...valueOps), key: bytes(1, 250), value: bytes(0, 3000), opaque: fc.nat(), cas: fc.nat() }),
    fc.record({ opcode: fc.constantFrom(...keyOps), key: bytes(1, 250), opaque: fc.nat(), cas: fc.nat() }),
    fc.record({ opcode: fc.constantFrom(Opcode.Noop, Opcode.Version, Opcode.FlushQ), opaque: fc.nat() }),
  )
  let runs = 0
  fc.assert(fc.property(fc.array(request, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 8 }), (reqs, cuts) => {
    runs++
    const encoded = reqs.map((r) => {
      const isStore = r.opcode === Opcode.Set || r.opcode === Opcode.SetQ || r.opcode === Opcode.Add || r.opcode === Opcode.Replace
      return encodeRequest({ ...r, extras: isStore ? storeExtras(7, 0) : undefined })
    })
    const input = Buffer.concat(encoded)
    const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b)
    const chunks: Buffer[] = []
    let prev = 0
    for (const p of [...points, input.length]) { if (p > prev) chunks.push(Buffer.from(input.subarray(prev, p))); prev = p }
    const got = parse(chunks) as Event[]
    if (got.length !== reqs.length) return false
    return reqs.every((r, i) => {
      const g = got[i]
      const key = 'key' in r ? Buffer.from(r.key).toString('latin1') : ''
      const value = 'value' in r ? Buffer.from(r.value).toString('latin1') : undefined
      return g.opcode === r.opcode && g.opaque === r.opaque && g.key === key && g.value === value &&
        g.cas === ('cas' in r ? r.cas : 0) && g.problem === Problem.None
    })
  }), { numRuns: 2000, seed: SEED })
  t.ok(runs >= 2000, `${runs} random streams parsed back exactly`)
})
