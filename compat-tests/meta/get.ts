// mg (meta get) and its return flags, as memcached 1.6.18 implements them
// (protocol.txt "Meta Get"). Return flags come back in the order they were asked.

import { eq } from '../harness/check.js'
import { num } from '../harness/raw.js'
import { suite, test } from '../harness/suite.js'

export default suite('meta/mg', 'meta', [
  test('hit without flags: HD; with v: VA; miss: EN', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms mg:a 2\r\nhi\r\n', 'HD\r\n')
    await c.req('mg mg:a\r\n', 'HD\r\n')
    await c.req('mg mg:a v\r\n', 'VA 2\r\nhi\r\n')
    await c.req('mg mg:none\r\n', 'EN\r\n')
    await c.req('mg mg:none v\r\n', 'EN\r\n')
  }),
  test('return flags s f t c k O in request order', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set mg:f 77 0 3\r\nabc\r\n', 'STORED\r\n')
    const g = await c.req('gets mg:f\r\n', 'VALUE mg:f 77 3 ', num('cas'), '\r\nabc\r\nEND\r\n')
    await c.req('mg mg:f s v f t c k Oxyz\r\n', `VA 3 s3 f77 t-1 c${g.cas} kmg:f Oxyz\r\nabc\r\n`)
    await c.req('mg mg:f Oxyz k c t f v s\r\n', `VA 3 Oxyz kmg:f c${g.cas} t-1 f77 s3\r\nabc\r\n`)
    await c.req('mg mg:f k\r\n', 'HD kmg:f\r\n')
  }),
  test('t shows the remaining TTL, T changes it', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms mg:t 1 T100\r\nx\r\n', 'HD\r\n')
    await c.req('mg mg:t t\r\n', 'HD t', num('t', 98, 100), '\r\n')
    await c.req('mg mg:t T500 t\r\n', 'HD t500\r\n')
    await c.req('mg mg:t t v\r\n', 'VA 1 t', num('t', 498, 500), '\r\nx\r\n')
    await c.req('mg mg:t T0 t\r\n', 'HD t-1\r\n')
  }),
  test('h (hit before) and l (seconds since last access)', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms mg:h 1\r\nx\r\n', 'HD\r\n')
    await c.req('mg mg:h h l\r\n', 'HD h0 l', num('l', 0, 2), '\r\n')
    await c.req('mg mg:h h\r\n', 'HD h1\r\n')
  }),
  test('u does not count as an access for h', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms mg:u 1\r\nx\r\n', 'HD\r\n')
    await c.req('mg mg:u u v\r\n', 'VA 1\r\nx\r\n')
    await c.req('mg mg:u h\r\n', 'HD h0\r\n')
  }),
  test('mg and classic commands share items, flags and CAS', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms mg:sh 5 F9 T0\r\nhello\r\n', 'HD\r\n')
    const g = await c.req('gets mg:sh\r\n', 'VALUE mg:sh 9 5 ', num('cas'), '\r\nhello\r\nEND\r\n')
    const m = await c.req('mg mg:sh c f\r\n', 'HD c', num('cas'), ' f9\r\n')
    eq(m.cas, g.cas, 'same CAS through gets and mg')
    await c.req('incr mg:sh 1\r\n', 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n')
    await c.req('delete mg:sh\r\n', 'DELETED\r\n')
    await c.req('mg mg:sh v\r\n', 'EN\r\n')
  }),
  test('q hides EN only; hits are still answered', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms mg:q 1\r\nx\r\n', 'HD\r\n')
    await c.req('mg mg:none v q\r\nmg mg:q v q k\r\nmg mg:q q\r\nmn\r\n', 'VA 1 kmg:q\r\nx\r\nHD\r\nMN\r\n')
  }),
  test('N vivifies on miss: the first caller wins, later ones see Z', async (ctx) => {
    const c = await ctx.conn()
    await c.req('mg mg:viv N30 v c t\r\n', 'VA 0 c', num(), ' t30 W\r\n\r\n')
    await c.req('mg mg:viv N30 v t\r\n', 'VA 0 t', num('t', 28, 30), ' Z\r\n\r\n')
    await c.req('ms mg:viv 4 T30\r\nreal\r\n', 'HD\r\n')
    await c.req('mg mg:viv N30 v\r\n', 'VA 4\r\nreal\r\n')
  }),
  test('R wins a recache when the TTL is below the token', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms mg:r 1 T100\r\nx\r\n', 'HD\r\n')
    await c.req('mg mg:r R30 v\r\n', 'VA 1\r\nx\r\n')
    await c.req('mg mg:r R200 v\r\n', 'VA 1 W\r\nx\r\n')
    await c.req('mg mg:r R200 v\r\n', 'VA 1 Z\r\nx\r\n')
    await c.req('mg mg:r T5 t\r\n', 'HD t5 Z\r\n')
    await c.req('ms mg:r 1 T100\r\ny\r\n', 'HD\r\n')
    await c.req('mg mg:r R30 v\r\n', 'VA 1\r\ny\r\n')
  }),
  test('errors: no key, unknown flag, key too long, opaque too long', async (ctx) => {
    const c = await ctx.conn()
    await c.req('mg\r\n', 'ERROR\r\n')
    await c.req('mg mg:a zz\r\n', 'CLIENT_ERROR invalid flag\r\n')
    await c.req('mg mg:a !\r\n', 'CLIENT_ERROR invalid flag\r\n')
    await c.req(`mg ${'k'.repeat(251)} v\r\n`, 'CLIENT_ERROR bad command line format\r\n')
    await c.req('mg mg:a O123456789012345678901234567890123\r\n', 'CLIENT_ERROR opaque token too long\r\n')
    await c.req('mx mg:a\r\n', 'ERROR\r\n')
  }),
])
