// ms (meta set): flags, modes E A P R S, CAS compare, invalidation, quiet mode
// (protocol.txt "Meta Set").

import { num } from '../harness/raw.js'
import { suite, test } from '../harness/suite.js'

export default suite('meta/ms', 'meta', [
  test('set with F T and return flags k O c', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms ms:a 3 F7 T100\r\nabc\r\n', 'HD\r\n')
    await c.req('mg ms:a v f t\r\n', 'VA 3 f7 t', num('t', 98, 100), '\r\nabc\r\n')
    await c.req('get ms:a\r\n', 'VALUE ms:a 7 3\r\nabc\r\nEND\r\n')
    await c.req('ms ms:a 2 k O1 c\r\nab\r\n', 'HD kms:a O1 c', num(), '\r\n')
    await c.req('ms ms:a 2 T-1\r\nab\r\n', 'HD\r\n')
    await c.req('mg ms:a\r\n', 'EN\r\n')
  }),
  test('binary-safe value and empty value', async (ctx) => {
    const c = await ctx.conn()
    const v = Buffer.from([0, 13, 10, 255, 0])
    c.send('ms ms:bin 5\r\n').send(v).send('\r\n')
    await c.expect('HD\r\n')
    await c.req('mg ms:bin v\r\n', 'VA 5\r\n', v, '\r\n')
    await c.req('ms ms:empty 0\r\n\r\n', 'HD\r\n')
    await c.req('mg ms:empty v s\r\n', 'VA 0 s0\r\n\r\n')
  }),
  test('modes: E add, A append, P prepend, R replace, S set', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms ms:m 1 ME\r\nx\r\n', 'HD\r\n')
    await c.req('ms ms:m 1 ME\r\nq\r\n', 'NS\r\n')
    await c.req('ms ms:m 1 MA\r\ny\r\n', 'HD\r\n')
    await c.req('ms ms:m 1 MP\r\nw\r\n', 'HD\r\n')
    await c.req('mg ms:m v\r\n', 'VA 3\r\nwxy\r\n')
    await c.req('ms ms:m 1 MR\r\nr\r\n', 'HD\r\n')
    await c.req('ms ms:none 1 MR\r\nr\r\n', 'NS\r\n')
    await c.req('ms ms:none 1 MA\r\nr\r\n', 'NS\r\n')
    await c.req('ms ms:none 1 MP\r\nr\r\n', 'NS\r\n')
    await c.req('ms ms:m 1 MS\r\ns\r\n', 'HD\r\n')
    await c.req('mg ms:m v\r\n', 'VA 1\r\ns\r\n')
    await c.req('ms ms:m 1 Ms\r\nt\r\n', 'CLIENT_ERROR invalid mode for ms M token\r\n')
    await c.req('ms ms:m 1 MX\r\nq\r\n', 'CLIENT_ERROR invalid mode for ms M token\r\n')
    await c.req('mg ms:m v\r\n', 'VA 1\r\ns\r\n')
  }),
  test('append with N vivifies a missing item', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms ms:viv 1 MA\r\nq\r\n', 'NS\r\n')
    await c.req('ms ms:viv 1 MA N0\r\nq\r\n', 'NS\r\n')
    await c.req('mg ms:viv v\r\n', 'EN\r\n')
  }),
  test('C compares the CAS unique', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms ms:c 1\r\nx\r\n', 'HD\r\n')
    const g = await c.req('mg ms:c c\r\n', 'HD c', num('cas'), '\r\n')
    await c.req(`ms ms:c 1 C${BigInt(g.cas) + 100n}\r\ny\r\n`, 'EX\r\n')
    await c.req(`ms ms:c 1 C${g.cas} c\r\nz\r\n`, 'HD c', num(), '\r\n')
    await c.req(`ms ms:c 1 C${g.cas}\r\nw\r\n`, 'EX\r\n')
    await c.req('ms ms:nope 1 C1\r\nw\r\n', 'NF\r\n')
    await c.req('mg ms:c v\r\n', 'VA 1\r\nz\r\n')
  }),
  test('q hides HD but not NS, EX or NF', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms ms:q 1 q\r\nx\r\nms ms:q 1 ME q\r\nx\r\nms ms:q 1 C1 q\r\nx\r\nms ms:qn 1 C1 q\r\nx\r\nmn\r\n', 'NS\r\nEX\r\nNF\r\nMN\r\n')
  }),
  test('errors: missing or bad length, bad flag (data is swallowed), too long, bad base64', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms ms:e\r\n', 'CLIENT_ERROR bad command line format\r\n')
    await c.req('ms ms:e abc\r\n', 'CLIENT_ERROR bad command line format\r\n')
    await c.req('ms ms:e 1 !\r\nx\r\n', 'CLIENT_ERROR invalid flag\r\n')
    await c.req('ms ms:e 1 b\r\nx\r\n', 'CLIENT_ERROR error decoding key\r\n')
    await c.req('ms ms:e 3\r\nabcd\r\n', 'CLIENT_ERROR bad data chunk\r\n', 'ERROR\r\n')
    await c.req('mg ms:e v\r\n', 'EN\r\n')
    c.send('ms ms:big 2000000 T0\r\n').send(Buffer.alloc(2000000, 0x61)).send('\r\n')
    await c.expectWithin(5000, 'SERVER_ERROR object too large for cache\r\n')
    await c.req('mn\r\n', 'MN\r\n')
  }),
  test('I invalidates: a lower CAS is accepted and the item is stale', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms ms:i 1 T30\r\na\r\n', 'HD\r\n')
    const g = await c.req('mg ms:i c\r\n', 'HD c', num('cas'), '\r\n')
    await c.req('md ms:i I T30\r\n', 'HD\r\n')
    await c.req(`ms ms:i 1 I C${g.cas} T30\r\nb\r\n`, 'HD\r\n')
    await c.req('mg ms:i v\r\n', 'VA 1 X W\r\nb\r\n')
  }),
])
