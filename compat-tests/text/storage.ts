// Classic storage commands: set add replace append prepend cas, and get/gets, with
// the expected replies written out byte for byte (memcached 1.6 doc/protocol.txt,
// "Storage commands" and "Retrieval command").

import { eq } from '../harness/check.js'
import { num } from '../harness/raw.js'
import { suite, test } from '../harness/suite.js'

export default suite('text/storage', 'text', [
  test('set then get and gets', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set st:a 0 0 5\r\nhello\r\n', 'STORED\r\n')
    await c.req('get st:a\r\n', 'VALUE st:a 0 5\r\nhello\r\nEND\r\n')
    await c.req('gets st:a\r\n', 'VALUE st:a 0 5 ', num(), '\r\nhello\r\nEND\r\n')
    await c.req('get st:missing\r\n', 'END\r\n')
    await c.req('gets st:missing\r\n', 'END\r\n')
  }),
  test('set overwrites value and flags', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set st:o 1 0 3\r\none\r\n', 'STORED\r\n')
    await c.req('set st:o 2 0 5\r\nthree\r\n', 'STORED\r\n')
    await c.req('get st:o\r\n', 'VALUE st:o 2 5\r\nthree\r\nEND\r\n')
  }),
  test('flags: 2^32-1 and other 32-bit values; negative flags refused', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set st:f 4294967295 0 1\r\nx\r\n', 'STORED\r\n')
    await c.req('get st:f\r\n', 'VALUE st:f 4294967295 1\r\nx\r\nEND\r\n')
    await c.req('set st:f 123 0 1\r\nx\r\n', 'STORED\r\n')
    await c.req('get st:f\r\n', 'VALUE st:f 123 1\r\nx\r\nEND\r\n')
    await c.req('set st:f -1 0 1\r\n', 'CLIENT_ERROR bad command line format\r\n')
    await c.req('x\r\n', 'ERROR\r\n')
    await c.req('get st:f\r\n', 'VALUE st:f 123 1\r\nx\r\nEND\r\n')
  }),
  test('empty value', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set st:e 7 0 0\r\n\r\n', 'STORED\r\n')
    await c.req('get st:e\r\n', 'VALUE st:e 7 0\r\n\r\nEND\r\n')
  }),
  test('binary-safe values: \\r\\n, \\0, 0xff inside', async (ctx) => {
    const c = await ctx.conn()
    const v = Buffer.from([0x00, 0x0d, 0x0a, 0x45, 0x4e, 0x44, 0x0d, 0x0a, 0xff, 0x80, 0x00])
    c.send('set st:bin 0 0 11\r\n').send(v).send('\r\n')
    await c.expect('STORED\r\n')
    await c.req('get st:bin\r\n', 'VALUE st:bin 0 11\r\n', v, '\r\nEND\r\n')
    await c.req('set st:crlf 0 0 4\r\n\r\n\r\n\r\n', 'STORED\r\n')
    await c.req('get st:crlf\r\n', 'VALUE st:crlf 0 4\r\n\r\n\r\n\r\nEND\r\n')
  }),
  test('multi-key get keeps request order and skips misses', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set st:m1 1 0 1\r\na\r\nset st:m2 2 0 2\r\nbb\r\n', 'STORED\r\nSTORED\r\n')
    await c.req('get st:m2 st:nope st:m1 st:m2\r\n', 'VALUE st:m2 2 2\r\nbb\r\nVALUE st:m1 1 1\r\na\r\nVALUE st:m2 2 2\r\nbb\r\nEND\r\n')
    await c.req('gets st:m1 st:m2\r\n', 'VALUE st:m1 1 1 ', num(), '\r\na\r\nVALUE st:m2 2 2 ', num(), '\r\nbb\r\nEND\r\n')
  }),
  test('add only when missing', async (ctx) => {
    const c = await ctx.conn()
    await c.req('add st:add 0 0 1\r\n1\r\n', 'STORED\r\n')
    await c.req('add st:add 0 0 1\r\n2\r\n', 'NOT_STORED\r\n')
    await c.req('get st:add\r\n', 'VALUE st:add 0 1\r\n1\r\nEND\r\n')
  }),
  test('replace only when present', async (ctx) => {
    const c = await ctx.conn()
    await c.req('replace st:rep 0 0 1\r\n1\r\n', 'NOT_STORED\r\n')
    await c.req('get st:rep\r\n', 'END\r\n')
    await c.req('set st:rep 0 0 1\r\n1\r\n', 'STORED\r\n')
    await c.req('replace st:rep 5 0 3\r\nnew\r\n', 'STORED\r\n')
    await c.req('get st:rep\r\n', 'VALUE st:rep 5 3\r\nnew\r\nEND\r\n')
  }),
  test('append and prepend keep the flags, fail on a missing key', async (ctx) => {
    const c = await ctx.conn()
    await c.req('append st:ap 0 0 1\r\nx\r\n', 'NOT_STORED\r\n')
    await c.req('prepend st:ap 0 0 1\r\nx\r\n', 'NOT_STORED\r\n')
    await c.req('set st:ap 5 0 2\r\nmm\r\n', 'STORED\r\n')
    await c.req('append st:ap 9 0 2\r\nzz\r\n', 'STORED\r\n')
    await c.req('prepend st:ap 9 0 2\r\naa\r\n', 'STORED\r\n')
    await c.req('get st:ap\r\n', 'VALUE st:ap 5 6\r\naammzz\r\nEND\r\n')
    await c.req('append st:ap 0 0 0\r\n\r\n', 'STORED\r\n')
    await c.req('get st:ap\r\n', 'VALUE st:ap 5 6\r\naammzz\r\nEND\r\n')
  }),
  test('append changes the CAS unique', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set st:apc 0 0 1\r\na\r\n', 'STORED\r\n')
    const a = await c.req('gets st:apc\r\n', 'VALUE st:apc 0 1 ', num('cas'), '\r\na\r\nEND\r\n')
    await c.req('append st:apc 0 0 1\r\nb\r\n', 'STORED\r\n')
    const b = await c.req('gets st:apc\r\n', 'VALUE st:apc 0 2 ', num('cas'), '\r\nab\r\nEND\r\n')
    eq(a.cas === b.cas, false, 'CAS unique changed by append')
    await c.req(`cas st:apc 0 0 1 ${a.cas}\r\nz\r\n`, 'EXISTS\r\n')
  }),
  test('cas: stored, exists, not found', async (ctx) => {
    const c = await ctx.conn()
    await c.req('cas st:cas 0 0 1 1\r\nx\r\n', 'NOT_FOUND\r\n')
    await c.req('set st:cas 3 0 1\r\nx\r\n', 'STORED\r\n')
    const { cas } = await c.req('gets st:cas\r\n', 'VALUE st:cas 3 1 ', num('cas'), '\r\nx\r\nEND\r\n')
    await c.req(`cas st:cas 4 0 1 ${BigInt(cas) + 1000n}\r\ny\r\n`, 'EXISTS\r\n')
    await c.req(`cas st:cas 4 0 1 ${cas}\r\ny\r\n`, 'STORED\r\n')
    await c.req(`cas st:cas 4 0 1 ${cas}\r\nz\r\n`, 'EXISTS\r\n')
    await c.req('get st:cas\r\n', 'VALUE st:cas 4 1\r\ny\r\nEND\r\n')
  }),
  test('every write gives a new CAS unique', async (ctx) => {
    const c = await ctx.conn()
    const seen = new Set<string>()
    for (let i = 0; i < 5; i++) {
      await c.req(`set st:uniq 0 0 1\r\n${i}\r\n`, 'STORED\r\n')
      const { cas } = await c.req('gets st:uniq\r\n', 'VALUE st:uniq 0 1 ', num('cas'), `\r\n${i}\r\nEND\r\n`)
      eq(seen.has(cas), false, `CAS ${cas} reused`)
      seen.add(cas)
    }
  }),
  test('keys are bytes between spaces: tab and UTF-8 inside a key', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set st:t\tb 0 0 1\r\nx\r\n', 'STORED\r\n')
    await c.req('get st:t\tb st:t\r\n', 'VALUE st:t\tb 0 1\r\nx\r\nEND\r\n')
    const k = Buffer.from('st:été', 'utf8')
    c.send('set ').send(k).send(' 0 0 1\r\ny\r\n')
    await c.expect('STORED\r\n')
    c.send('get ').send(k).send('\r\n')
    await c.expect('VALUE ', k, ' 0 1\r\ny\r\nEND\r\n')
  }),
  test('a value arriving in 3-byte pieces', async (ctx) => {
    const c = await ctx.conn()
    const msg = 'set st:slow 0 0 20\r\n0123456789\r\n012345\r\n\r\nget st:slow\r\n'
    for (let i = 0; i < msg.length; i += 3) {
      c.send(msg.slice(i, i + 3))
      await new Promise((r) => setTimeout(r, 2))
    }
    await c.expect('STORED\r\nVALUE st:slow 0 20\r\n0123456789\r\n012345\r\n\r\nEND\r\n')
  }),
  test('a value longer than announced: bad data chunk, then the rest is read as commands', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set st:bd 0 0 3\r\nabcd\r\n', 'CLIENT_ERROR bad data chunk\r\n', 'ERROR\r\n')
    await c.req('get st:bd\r\n', 'END\r\n')
    // "ok\r" fills the 1 + 2 bytes; the lone "\n" left over is an empty command line
    await c.req('set st:bd 0 0 1\r\nok\r\n', 'CLIENT_ERROR bad data chunk\r\n', 'ERROR\r\n')
    await c.req('get st:bd\r\n', 'END\r\n')
  }),
  test('a value without its \\r\\n terminator', async (ctx) => {
    const c = await ctx.conn()
    // exactly n + 2 bytes are taken as the data block, the rest is the next command
    await c.req('set st:nt 0 0 2\r\nabXYget st:nt\r\n', 'CLIENT_ERROR bad data chunk\r\n', 'END\r\n')
  }),
])
