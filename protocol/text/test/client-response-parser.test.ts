/**
 * The client-side reply parser frames lines and VALUE/VA data blocks identically
 * whatever the chunking: whole, byte by byte, and cut at every position (STYLE §3.3),
 * plus a fast-check property over random reply streams cut at random points.
 */
import t from 'tap'
import { testSeeds } from '../../../lib/testing/seeds.js'
import fc from 'fast-check'
import { TextResponseParser, REPLY_LINE_MAX, type TextResponseHandler } from '../response-parser.js'
import { splits } from '../../../lib/testing/splits.js'

// Fixed seed (lib/testing/seeds.ts): FC_SEED=<n> replays.
const SEED = testSeeds('FC_SEED', [20261205])[0]!

class Recorder implements TextResponseHandler {
  events: string[] = []
  error: string | null = null
  onLine (buf: Buffer, s: number, e: number): void { this.events.push(`line ${buf.toString('latin1', s, e)}`) }
  onValue (line: Buffer, ls: number, le: number, data: Buffer, ds: number, de: number): void {
    this.events.push(`value ${line.toString('latin1', ls, le)} = ${JSON.stringify(data.toString('latin1', ds, de))}`)
  }

  onError (reason: string): void { this.error = reason }
}

function run (chunks: Buffer[]): Recorder {
  const r = new Recorder()
  const p = new TextResponseParser(r)
  for (const c of chunks) p.push(Buffer.from(c)) // fresh copies, as sockets give
  return r
}

const FIXTURE = Buffer.from(
  'STORED\r\n' +
  'VALUE a 0 5\r\nhello\r\n' +
  'VALUE b 42 4 99\r\n\r\n\r\n\r\n' + // a value that is itself CRLF CRLF
  'END\r\n' +
  'VALUE empty 0 0\r\n\r\nEND\r\n' +
  'STAT pid 1\r\nSTAT uptime 2\r\nEND\r\n' +
  'NOT_FOUND\n' + // bare LF, as memcached accepts
  'VA 3 f1 t-1\r\nxyz\r\n' +
  '12345\r\n' +
  'SERVER_ERROR out of memory storing object\r\n' +
  'VALUED\r\n', // not a VALUE line
  'latin1')

const EXPECTED = [
  'line STORED',
  'value VALUE a 0 5 = "hello"',
  'value VALUE b 42 4 99 = "\\r\\n\\r\\n"',
  'line END',
  'value VALUE empty 0 0 = ""',
  'line END',
  'line STAT pid 1', 'line STAT uptime 2', 'line END',
  'line NOT_FOUND',
  'value VA 3 f1 t-1 = "xyz"',
  'line 12345',
  'line SERVER_ERROR out of memory storing object',
  'line VALUED',
]

t.test('replies frame the same whole, byte by byte and split at every position', async (t) => {
  let bad = 0
  let ways = 0
  for (const { name, chunks } of splits(FIXTURE)) {
    const r = run(chunks)
    ways++
    if (r.error !== null || JSON.stringify(r.events) !== JSON.stringify(EXPECTED)) {
      if (bad++ === 0) t.same(r.events, EXPECTED, name)
    }
  }
  t.equal(bad, 0, `all ${ways} ways agree`)
})

t.test('framing errors stop the parser and say why', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['VALUE a 0 3\r\nabcd\r\n', /not followed by CRLF/],
    ['VALUE a 0\r\n', /bad VALUE line/],
    ['VALUE a 0 x1\r\n', /bad VALUE line/],
    ['VA -1\r\n', /bad VALUE line/],
    ['VALUE a 0 99999999999\r\n', /bad VALUE line/],
  ]
  for (const [input, re] of cases) {
    for (const { name, chunks } of [{ name: 'whole', chunks: [Buffer.from(input)] }, ...[...splits(Buffer.from(input))].slice(1, 2)]) {
      const r = run(chunks)
      t.match(r.error, re, `${JSON.stringify(input)} ${name}`)
    }
  }
  const long = run([Buffer.alloc(REPLY_LINE_MAX + 10, 0x41)])
  t.match(long.error, /longer than 8192/, 'an endless line is refused')
  const after = run([Buffer.from('VALUE a 0 1\r\nxy'), Buffer.from('STORED\r\n')])
  t.same(after.events, [], 'nothing is delivered after a framing error')
})

t.test('reset() drops a partial reply', async (t) => {
  const r = new Recorder()
  const p = new TextResponseParser(r)
  p.push(Buffer.from('VALUE a 0 10\r\nabc'))
  p.reset()
  p.push(Buffer.from('STORED\r\n'))
  t.same(r.events, ['line STORED'])
})

t.test(`property: random reply streams cut at random points parse to what was generated (seed ${SEED})`, async (t) => {
  const line = fc.stringMatching(/^[A-Z_]{1,12}( [a-z0-9]{1,10}){0,3}$/).filter((s) => !s.startsWith('VA'))
  const value = fc.record({
    key: fc.stringMatching(/^[!-~]{1,40}$/),
    flags: fc.nat(),
    data: fc.uint8Array({ maxLength: 300 }),
    cas: fc.option(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { nil: undefined }),
  })
  const item = fc.oneof(line.map((l) => ({ l })), value.map((v) => ({ v })))
  fc.assert(fc.property(fc.array(item, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 8 }), (items, cuts) => {
    const parts: Buffer[] = []
    const expected: string[] = []
    for (const it of items) {
      if ('l' in it) {
        parts.push(Buffer.from(it.l + '\r\n'))
        expected.push(`line ${it.l}`)
      } else {
        const { key, flags, data, cas } = it.v
        const head = `VALUE ${key} ${flags} ${data.length}${cas === undefined ? '' : ' ' + cas}`
        parts.push(Buffer.from(head + '\r\n'), Buffer.from(data), Buffer.from('\r\n'))
        expected.push(`value ${head} = ${JSON.stringify(Buffer.from(data).toString('latin1'))}`)
      }
    }
    const all = Buffer.concat(parts)
    const points = [...new Set(cuts.map((c) => all.length === 0 ? 0 : c % all.length))].sort((a, b) => a - b)
    const chunks: Buffer[] = []
    let prev = 0
    for (const p of points) { chunks.push(all.subarray(prev, p)); prev = p }
    chunks.push(all.subarray(prev))
    const r = run(chunks)
    return r.error === null && JSON.stringify(r.events) === JSON.stringify(expected)
  }), { numRuns: 2000, seed: SEED })
  t.pass('2000 random streams framed correctly')
})
