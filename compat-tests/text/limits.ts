// Limits: 250-byte keys, item size (-I), over-long lines, malformed lengths.

import { ok } from '../harness/check.js'
import { num } from '../harness/raw.js'
import { suite, test } from '../harness/suite.js'

const K250 = 'k'.repeat(250)
const K251 = 'k'.repeat(251)

export default suite('text/limits', 'text', [
  test('a 250-byte key works', async (ctx) => {
    const c = await ctx.conn()
    await c.req(`set ${K250} 0 0 1\r\nx\r\n`, 'STORED\r\n')
    await c.req(`get ${K250}\r\n`, `VALUE ${K250} 0 1\r\nx\r\nEND\r\n`)
    await c.req(`delete ${K250}\r\n`, 'DELETED\r\n')
  }),
  test('a 251-byte key is refused by every command', async (ctx) => {
    const c = await ctx.conn()
    // the data block is not swallowed: "x" becomes a command of its own
    await c.req(`set ${K251} 0 0 1\r\nx\r\n`, 'CLIENT_ERROR bad command line format\r\nERROR\r\n')
    await c.req(`get ${K251}\r\n`, 'CLIENT_ERROR bad command line format\r\n')
    await c.req(`get a ${K251} b\r\n`, 'CLIENT_ERROR bad command line format\r\n')
    await c.req(`delete ${K251}\r\n`, 'CLIENT_ERROR bad command line format\r\n')
    await c.req(`incr ${K251} 1\r\n`, 'CLIENT_ERROR bad command line format\r\n')
    await c.req(`touch ${K251} 1\r\n`, 'CLIENT_ERROR bad command line format\r\n')
  }),
  test('an over-long key in a multiget: only the error, hits before it are dropped', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set lm:a 0 0 1\r\na\r\n', 'STORED\r\n')
    await c.req(`get lm:a ${K251} lm:a\r\n`, 'CLIENT_ERROR bad command line format\r\n')
    await c.req('get lm:a\r\n', 'VALUE lm:a 0 1\r\na\r\nEND\r\n')
  }),
  test('value of 1,000,000 bytes fits the default 1 MiB item size', async (ctx) => {
    const c = await ctx.conn()
    const v = Buffer.alloc(1000000, 0x5a)
    c.send('set lm:big 0 0 1000000\r\n').send(v).send('\r\n')
    await c.expect('STORED\r\n')
    await c.req('get lm:big\r\n', 'VALUE lm:big 0 1000000\r\n', v, '\r\nEND\r\n')
  }),
  test('value over 1 MiB: SERVER_ERROR object too large, data swallowed, old value gone', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set lm:huge 0 0 1\r\nx\r\n', 'STORED\r\n')
    c.send('set lm:huge 0 0 1048577\r\n').send(Buffer.alloc(1048577, 0x41)).send('\r\n')
    await c.expectWithin(5000, 'SERVER_ERROR object too large for cache\r\n')
    await c.req('get lm:huge\r\n', 'END\r\n')
  }),
  test('negative and non-numeric lengths', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set lm:n 0 0 -1\r\n', 'CLIENT_ERROR bad command line format\r\n')
    await c.req('set lm:n 0 0 abc\r\n', 'CLIENT_ERROR bad command line format\r\n')
    await c.req('set lm:n 0 abc 1\r\n', 'CLIENT_ERROR bad command line format\r\n')
    await c.req('set lm:n abc 0 1\r\n', 'CLIENT_ERROR bad command line format\r\n')
    await c.req('cas lm:n 0 0 1 abc\r\n', 'CLIENT_ERROR bad command line format\r\n')
    await c.req('get lm:n\r\n', 'END\r\n')
  }),
  test('-I 2m raises the item size limit', async (ctx) => {
    const s = await ctx.spawn({ flags: ['-I', '2m'] })
    const c = await ctx.conn(s)
    const v = Buffer.alloc(2000000, 0x61)
    c.send('set lm:2m 0 0 2000000\r\n').send(v).send('\r\n')
    await c.expectWithin(5000, 'STORED\r\n')
    await c.req('get lm:2m\r\n', 'VALUE lm:2m 0 2000000\r\n', v, '\r\nEND\r\n')
    c.send('set lm:3m 0 0 2200000\r\n').send(Buffer.alloc(2200000, 0x62)).send('\r\n')
    await c.expectWithin(5000, 'SERVER_ERROR object too large for cache\r\n')
    await c.req('stats settings\r\n', /* STAT pid ... */ 'STAT ')
    const st = (await c.readUntil('END\r\n')).toString('latin1')
    const max = 2097152 // through the proxy too: stats settings is the first host's (P1)
    ok(st.includes(`\r\nSTAT item_size_max ${max}\r\n`), `stats settings shows STAT item_size_max ${max}`)
  }, 20000),
  test('-I 512k lowers it', async (ctx) => {
    const s = await ctx.spawn({ flags: ['-I', '512k'] })
    const c = await ctx.conn(s)
    c.send('set lm:a 0 0 400000\r\n').send(Buffer.alloc(400000, 0x61)).send('\r\n')
    await c.expect('STORED\r\n')
    c.send('set lm:b 0 0 600000\r\n').send(Buffer.alloc(600000, 0x61)).send('\r\n')
    await c.expect('SERVER_ERROR object too large for cache\r\n')
    await c.req('gets lm:a lm:b\r\n', 'VALUE lm:a 0 400000 ', num(), '\r\n')
    await c.read(400002)
    await c.expect('END\r\n')
  }),
  test('a 4 KiB command line with its newline is an unknown command', async (ctx) => {
    const c = await ctx.conn()
    await c.req('x'.repeat(4096) + '\r\n', 'ERROR\r\n')
    await c.req('get lm:none\r\n', 'END\r\n')
  }),
  test('over 2048 bytes without a newline (not a get): the connection is closed', async (ctx) => {
    const c = await ctx.conn()
    c.send('set ' + 'x'.repeat(5000))
    await c.expectClosed()
    const d = await ctx.conn()
    await d.req('version\r\n', 'VERSION ')
  }),
  test('a get line over 2048 bytes arriving in pieces is fine', async (ctx) => {
    const c = await ctx.conn()
    const keys = Array.from({ length: 400 }, (_, i) => `lm:piece:${i}`).join(' ')
    c.send('get ' + keys.slice(0, 3000))
    await new Promise((r) => setTimeout(r, 50))
    await c.req(keys.slice(3000) + '\r\n', 'END\r\n')
  }),
])
