// Stale-while-revalidate and stampede control across two connections: one client
// wins the right to recompute (W), others are told it is taken (Z) and served the
// stale value (X) meanwhile.

import { num } from '../harness/raw.js'
import { suite, test } from '../harness/suite.js'

export default suite('meta/stale-while-revalidate', 'meta', [
  test('invalidate, one winner, the other gets the stale value, recache clears it', async (ctx) => {
    const a = await ctx.conn()
    const b = await ctx.conn()
    await a.req('ms sw:k 2 T60\r\nv1\r\n', 'HD\r\n')
    await a.req('md sw:k I T30\r\n', 'HD\r\n')
    await a.req('mg sw:k v c\r\n', 'VA 2 c', num('cas'), ' X W\r\nv1\r\n')
    await b.req('mg sw:k v\r\n', 'VA 2 Z X\r\nv1\r\n')
    await a.req('ms sw:k 2 T60\r\nv2\r\n', 'HD\r\n')
    await b.req('mg sw:k v\r\n', 'VA 2\r\nv2\r\n')
    await a.req('mg sw:k v\r\n', 'VA 2\r\nv2\r\n')
  }),
  test('a stale write with I and an old CAS is kept but stays stale', async (ctx) => {
    const a = await ctx.conn()
    const b = await ctx.conn()
    await a.req('ms sw:c 2 T60\r\nv1\r\n', 'HD\r\n')
    const g = await a.req('mg sw:c c\r\n', 'HD c', num('cas'), '\r\n')
    await b.req('md sw:c I T30\r\n', 'HD\r\n')
    await a.req(`ms sw:c 2 C${g.cas}\r\nv2\r\n`, 'EX\r\n')
    await a.req(`ms sw:c 2 I C${g.cas} T60\r\nv2\r\n`, 'HD\r\n')
    await b.req('mg sw:c v\r\n', 'VA 2 X W\r\nv2\r\n')
  }),
  test('vivify on miss: one client gets W and an empty value, the other Z', async (ctx) => {
    const a = await ctx.conn()
    const b = await ctx.conn()
    await a.req('mg sw:v N30 v\r\n', 'VA 0 W\r\n\r\n')
    await b.req('mg sw:v N30 v\r\n', 'VA 0 Z\r\n\r\n')
    await b.req('mg sw:v v\r\n', 'VA 0 Z\r\n\r\n')
    await a.req('ms sw:v 3 T60\r\nnew\r\n', 'HD\r\n')
    await b.req('mg sw:v N30 v\r\n', 'VA 3\r\nnew\r\n')
  }),
  test('early recache with R: one winner across connections', async (ctx) => {
    const a = await ctx.conn()
    const b = await ctx.conn()
    await a.req('ms sw:r 1 T10\r\nx\r\n', 'HD\r\n')
    await a.req('mg sw:r R30 v t\r\n', 'VA 1 t', num('t', 8, 10), ' W\r\nx\r\n')
    await b.req('mg sw:r R30 v\r\n', 'VA 1 Z\r\nx\r\n')
    await a.req('ms sw:r 1 T100\r\ny\r\n', 'HD\r\n')
    await b.req('mg sw:r R30 v\r\n', 'VA 1\r\ny\r\n')
  }),
])
