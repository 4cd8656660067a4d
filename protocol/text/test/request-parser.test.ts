import t from 'tap'
import { NO_DATA, TextRequestParser } from '../request-parser.js'
import type { TextLine, TextRequestHandler } from '../request-parser.js'
import { Op } from '../../request.js'
import { splits } from '../../../lib/testing/splits.js'

/** Records what the parser hands out, copying every view (they die after the call). */
class Recorder implements TextRequestHandler {
  events: string[] = []
  fatal: string | null = null
  swallowLens = new Set<string>()
  onLine (line: TextLine): number {
    const toks: string[] = []
    for (let i = 0; i < line.ntokens; i++) toks.push(line.buf.toString('latin1', line.tokS[i], line.tokE[i]))
    this.events.push(`line op=${line.op} [${toks.join('|')}]${line.rest >= 0 ? ` rest=${line.buf.toString('latin1', line.rest, line.end)}` : ''}`)
    // storage commands: data length from the 5th token (set k f e n)
    if (line.op === Op.Set || line.op === Op.MetaSet) {
      const n = Number(toks[line.op === Op.Set ? 4 : 2])
      if (this.swallowLens.has(toks[1])) line.swallow = true
      return n + 2
    }
    return NO_DATA
  }

  /** The line as the handler sees it when its data block arrives (meta ms re-reads it). */
  linesAtData: string[] = []
  onData (line: TextLine, buf: Buffer, s: number, e: number): void {
    this.events.push(`data ${JSON.stringify(buf.toString('latin1', s, e))}`)
    const toks: string[] = []
    for (let i = 0; i < line.ntokens; i++) toks.push(line.buf.toString('latin1', line.tokS[i], line.tokE[i]))
    this.linesAtData.push(`${line.buf.toString('latin1', line.start, line.end)} [${toks.join('|')}]`)
  }

  onFatal (reason: string): void { this.fatal = reason }
}

function run (input: Buffer, chunks: Buffer[], swallow: string[] = []): Recorder {
  const r = new Recorder()
  for (const k of swallow) r.swallowLens.add(k)
  const p = new TextRequestParser(r)
  for (const c of chunks) p.push(Buffer.from(c)) // fresh copies, as sockets give
  void input
  return r
}

const fixtures: Array<{ name: string, input: string, expect: string[], swallow?: string[] }> = [
  {
    name: 'get with CRLF and with a bare LF',
    input: 'get a\r\nget b c\n',
    expect: [`line op=${Op.Get} [get|a]`, `line op=${Op.Get} [get|b|c]`],
  },
  {
    name: 'set with a value containing CRLF and NUL',
    input: 'set k 0 0 6\r\na\r\n\0bc\r\nget k\r\n',
    expect: [`line op=${Op.Set} [set|k|0|0|6]`, 'data "a\\r\\n\\u0000bc\\r\\n"', `line op=${Op.Get} [get|k]`],
  },
  {
    name: 'multiple spaces separate tokens; only one CR before LF is dropped',
    input: 'get  a   b\r\r\n',
    expect: [`line op=${Op.Get} [get|a|b\r]`],
  },
  {
    name: 'a lone CR line is kept as one token (memcached drops CR only from longer lines)',
    input: '\r\nversion\r\n',
    expect: [`line op=${Op.Unknown} [\r]`, `line op=${Op.Version} [version]`],
  },
  {
    name: 'more than 23 tokens leave the rest unsplit',
    input: 'get ' + Array.from({ length: 25 }, (_, i) => `k${i}`).join(' ') + '\r\n',
    expect: [`line op=${Op.Get} [get|${Array.from({ length: 22 }, (_, i) => `k${i}`).join('|')}] rest=k22 k23 k24`],
  },
  {
    name: 'swallowed data block is not delivered and the stream stays in sync',
    input: 'set big 0 0 5\r\nhello\r\nset ok 0 0 2\r\nhi\r\n',
    swallow: ['big'],
    expect: [`line op=${Op.Set} [set|big|0|0|5]`, `line op=${Op.Set} [set|ok|0|0|2]`, 'data "hi\\r\\n"'],
  },
  {
    name: 'meta set reads its data block',
    input: 'ms key 3 T0\r\nabc\r\nmn\r\n',
    expect: [`line op=${Op.MetaSet} [ms|key|3|T0]`, 'data "abc\\r\\n"', `line op=${Op.MetaNoop} [mn]`],
  },
  {
    name: 'a NUL ends the line (memcached tokenizes a C string); NULs in data blocks do not',
    input: 'set k 0 0 3\0junk 9\r\na\0b\r\nget a\0 b\r\n\0get c\r\nmn\0x\r\nget d\r\n',
    expect: [`line op=${Op.Set} [set|k|0|0|3]`, 'data "a\\u0000b\\r\\n"', `line op=${Op.Get} [get|a]`, `line op=${Op.Unknown} []`,
      `line op=${Op.MetaNoop} [mn]`, `line op=${Op.Get} [get|d]`],
  },
  {
    name: 'a NUL in the unsplit rest of a long multiget ends it',
    input: 'get ' + Array.from({ length: 25 }, (_, i) => `k${i}`).join(' ') + '\0 k99\r\nget x\0\r\n',
    expect: [`line op=${Op.Get} [get|${Array.from({ length: 22 }, (_, i) => `k${i}`).join('|')}] rest=k22 k23 k24`, `line op=${Op.Get} [get|x]`],
  },
  // The NUL search looks 2 KiB ahead at a time (NUL_WINDOW): NULs past the first window,
  // a line longer than it, and value blocks across it, which must come out unchanged.
  (() => {
    const keys = Array.from({ length: 70 }, (_, i) => `key:${String(i).padStart(28, '0')}`)
    return {
      name: 'a NUL in the 71st pipelined get, past the first search window',
      input: keys.map((k) => `get ${k}\r\n`).join('') + 'get a\0b\r\nget z\r\n',
      expect: [...keys.map((k) => `line op=${Op.Get} [get|${k}]`), `line op=${Op.Get} [get|a]`, `line op=${Op.Get} [get|z]`],
    }
  })(),
  (() => {
    const value = 'v'.repeat(2100) + '\0' + 'w'.repeat(399)
    return {
      name: 'a 2500-byte value with a NUL past the window, then clean and NUL lines',
      input: `set a 0 0 2500\r\n${value}\r\nget b\r\nget c\0d\r\nget e\r\n`,
      expect: [`line op=${Op.Set} [set|a|0|0|2500]`, `data ${JSON.stringify(value + '\r\n')}`,
        `line op=${Op.Get} [get|b]`, `line op=${Op.Get} [get|c]`, `line op=${Op.Get} [get|e]`],
    }
  })(),
  (() => {
    const keys = Array.from({ length: 25 }, (_, i) => String(i).padStart(100, 'k'))
    return {
      name: 'a get line longer than the window with a NUL near its end',
      input: `get ${keys.join(' ')}\0 tail\r\nget z\r\n`,
      expect: [`line op=${Op.Get} [get|${keys.slice(0, 22).join('|')}] rest=${keys.slice(22).join(' ')}`, `line op=${Op.Get} [get|z]`],
    }
  })(),
]

for (const f of fixtures) {
  t.test(f.name, async (t) => {
    const input = Buffer.from(f.input, 'latin1')
    for (const { name, chunks } of splits(input)) {
      const r = run(input, chunks, f.swallow)
      t.same(r.events, f.expect, name)
      t.equal(r.fatal, null, `${name}: no fatal`)
    }
  })
}

/** As run(), but every chunk is a view of one buffer that is overwritten after each push
 *  (a socket reading with `onread` into a shared buffer), and the parser is paused after
 *  every second line and resumed after the push. */
function runReused (chunks: Buffer[], swallow: string[] = []): Recorder {
  const r = new Recorder()
  for (const k of swallow) r.swallowLens.add(k)
  const shared = Buffer.alloc(Math.max(1, ...chunks.map((c) => c.length)))
  let parser: TextRequestParser | null = null
  let lines = 0
  const onLine = r.onLine.bind(r)
  r.onLine = (line) => { if (++lines % 2 === 0) parser?.pause(); return onLine(line) }
  const p = new TextRequestParser(r)
  parser = p
  for (const c of chunks) {
    c.copy(shared)
    p.push(shared.subarray(0, c.length))
    shared.fill(0x21) // the next read lands here
    while (p.isPaused) p.resume()
  }
  return r
}

t.test('input in a reused read buffer: every fixture, every split, with pauses', async (t) => {
  for (const f of fixtures) {
    const input = Buffer.from(f.input, 'latin1')
    const whole = run(input, [input], f.swallow)
    for (const { name, chunks } of splits(input)) {
      const r = runReused(chunks, f.swallow)
      t.same(r.events, f.expect, `${f.name}: ${name}`)
      t.same(r.linesAtData, whole.linesAtData, `${f.name}: ${name}: each data block's line intact`)
      t.equal(r.fatal, null, `${f.name}: ${name}: no fatal`)
    }
  }
})

t.test('an unterminated non-get line over 2048 bytes is fatal', async (t) => {
  const r = new Recorder()
  const p = new TextRequestParser(r)
  p.push(Buffer.from('set ' + 'x'.repeat(3000)))
  t.equal(r.fatal, 'line too long')
  p.push(Buffer.from('\r\nget a\r\n'))
  t.same(r.events, [], 'nothing parsed after the fatal error')
})

t.test('a long unterminated get line is buffered until its LF', async (t) => {
  const r = new Recorder()
  const p = new TextRequestParser(r)
  const keys = Array.from({ length: 400 }, (_, i) => `key${i}`).join(' ')
  const line = Buffer.from(`get ${keys}\r\n`)
  p.push(line.subarray(0, 3000))
  t.equal(r.fatal, null)
  p.push(line.subarray(3000))
  t.equal(r.events.length, 1)
  t.match(r.events[0], /^line op=1 \[get\|key0\|/)
})

t.test('pause keeps the rest of the input until resume', async (t) => {
  const events: string[] = []
  let parser: TextRequestParser | null = null
  const p = new TextRequestParser({
    onLine (line) {
      events.push(line.buf.toString('latin1', line.start, line.end))
      if (events.length === 1) parser?.pause()
      return NO_DATA
    },
    onData () {},
    onFatal () {},
  })
  parser = p
  p.push(Buffer.from('get a\r\nget b\r\nget c\r\n'))
  t.same(events, ['get a'])
  t.ok(p.isPaused)
  p.resume()
  t.same(events, ['get a', 'get b', 'get c'])
})

t.test('a data block inside one chunk is a view of it; a block split over chunks is assembled in a buffer of its own', async (t) => {
  // The ownership contract: whole blocks are zero-copy views (valid only during onData),
  // split blocks are copied once into a fresh buffer that aliases neither chunk.
  const seen: Array<{ buf: Buffer, s: number, e: number }> = []
  const p = new TextRequestParser({
    onLine (line) { return line.op === Op.Set ? 5 : NO_DATA },
    onData (_l, buf, s, e) { seen.push({ buf, s, e }) },
    onFatal () {},
  })
  // Small Buffers share Node's allocation pool, so aliasing means overlapping byte ranges
  // of the same ArrayBuffer, not merely the same ArrayBuffer.
  const overlaps = (x: Buffer, y: Buffer): boolean => x.buffer === y.buffer &&
    x.byteOffset < y.byteOffset + y.length && y.byteOffset < x.byteOffset + x.length
  const whole = Buffer.from('set k 0 0 3\r\nabc\r\n')
  p.push(whole)
  t.ok(overlaps(seen[0].buf.subarray(seen[0].s, seen[0].e), whole), 'whole block: a view of the pushed chunk')
  t.equal(seen[0].buf.toString('latin1', seen[0].s, seen[0].e), 'abc\r\n')
  const a = Buffer.from('set k 0 0 3\r\nab')
  const b = Buffer.from('c\r\n')
  p.push(a)
  p.push(b)
  const block = seen[1].buf.subarray(seen[1].s, seen[1].e)
  t.notOk(overlaps(block, a), 'split block does not alias the first chunk')
  t.notOk(overlaps(block, b), 'nor the second')
  a.fill(0x58)
  b.fill(0x58)
  t.equal(seen[1].buf.toString('latin1', seen[1].s, seen[1].e), 'abc\r\n', 'overwriting both chunks leaves the assembled block intact')
})

/** Asks for streamed blocks (line.stream) and rebuilds each value from its pieces. */
class StreamRecorder extends Recorder {
  private value: Buffer | null = null
  override onLine (line: TextLine): number {
    const n = super.onLine(line)
    if (n !== NO_DATA) { line.stream = true; this.value = Buffer.alloc(n - 2, '?') }
    return n
  }

  onDataPart (_line: TextLine, buf: Buffer, s: number, e: number, at: number): void {
    buf.copy(this.value as Buffer, at, s, e)
  }

  /** A block whole in one chunk: recorded in the same form as a streamed one. */
  override onData (line: TextLine, buf: Buffer, s: number, e: number): void {
    this.onDataPart(line, buf, s, e - 2, 0)
    this.onDataEnd(line, buf[e - 2] === 13 && buf[e - 1] === 10)
  }

  onDataEnd (_line: TextLine, crlf: boolean): void {
    this.events.push(`data ${JSON.stringify((this.value as Buffer).toString('latin1') + (crlf ? '\r\n' : ''))}`)
    if (!crlf) this.events.push('bad crlf')
  }
}

t.test('a streamed block comes as pieces written in place, split anywhere; a whole one as onData', async (t) => {
  const value = 'ab\r\ncd\0ef'
  const cases: Array<{ input: string, expect: string[] }> = [
    {
      input: `set k 0 0 ${value.length}\r\n${value}\r\nget z\r\n`,
      expect: [`line op=${Op.Set} [set|k|0|0|${value.length}]`, `data ${JSON.stringify(value + '\r\n')}`, `line op=${Op.Get} [get|z]`],
    },
    {
      input: 'set k 0 0 3\r\nabcXYget z\r\n',
      expect: [`line op=${Op.Set} [set|k|0|0|3]`, 'data "abc"', 'bad crlf', `line op=${Op.Get} [get|z]`],
    },
    {
      input: 'set k 0 0 3\r\nabc\rYget z\r\n',
      expect: [`line op=${Op.Set} [set|k|0|0|3]`, 'data "abc"', 'bad crlf', `line op=${Op.Get} [get|z]`],
    },
    {
      input: 'set k 0 0 0\r\n\r\nget z\r\n',
      expect: [`line op=${Op.Set} [set|k|0|0|0]`, 'data "\\r\\n"', `line op=${Op.Get} [get|z]`],
    },
  ]
  for (const c of cases) {
    const input = Buffer.from(c.input, 'latin1')
    for (const { name, chunks } of splits(input)) {
      const r = new StreamRecorder()
      const p = new TextRequestParser(r)
      for (const ch of chunks) p.push(Buffer.from(ch))
      t.same(r.events, c.expect, `${JSON.stringify(c.input)} ${name}`)
    }
  }
})

t.test('a streamed block is never assembled in a buffer of its own', async (t) => {
  const r = new StreamRecorder()
  const p = new TextRequestParser(r)
  p.push(Buffer.from('set k 0 0 100000\r\n' + 'x'.repeat(1000)))
  for (let i = 0; i < 99; i++) {
    p.push(Buffer.alloc(1000, 'x'))
    t.equal(p.buffered, 0, 'nothing buffered in the parser')
  }
  p.push(Buffer.from('\r\n'))
  t.same(r.events.slice(1), [`data ${JSON.stringify('x'.repeat(100000) + '\r\n')}`])
})
