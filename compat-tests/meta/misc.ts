// mn, me, base64 keys, opaque tokens, quiet pipelines ended by mn, and how meta
// and classic commands mix on one connection.

import { num } from '../harness/raw.js'
import { suite, test } from '../harness/suite.js'

export default suite('meta/mn-me-base64', 'meta', [
  test('mn answers MN, ignoring extra tokens', async (ctx) => {
    const c = await ctx.conn()
    await c.req('mn\r\n', 'MN\r\n')
    await c.req('mn extra\r\n', 'MN\r\n')
  }),
  test('me describes an item; EN on miss', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms me:a 5\r\nhello\r\n', 'HD\r\n')
    await c.req('me me:a\r\n', 'ME me:a exp=-1 la=', num(), ' cas=', num(), ' fetch=no cls=', num(), ' size=', num(), '\r\n')
    await c.req('mg me:a v\r\n', 'VA 5\r\nhello\r\n')
    await c.req('me me:a\r\n', 'ME me:a exp=-1 la=', num(), ' cas=', num(), ' fetch=yes cls=', num(), ' size=', num(), '\r\n')
    await c.req('ms me:t 1 T100\r\nx\r\n', 'HD\r\n')
    // memcached 1.6.18 prints exp with the sign inverted for items with a TTL
    await c.req('me me:t\r\n', 'ME me:t exp=-', num('exp', 98, 100), ' la=', num(), ' cas=', num(), ' fetch=no cls=', num(), ' size=', num(), '\r\n')
    await c.req('me me:none\r\n', 'EN\r\n')
  }),
  test('base64 keys: b decodes; binary keys are returned encoded with b', async (ctx) => {
    const c = await ctx.conn()
    // "AAEC/w==" is the 4 bytes 00 01 02 ff
    await c.req('ms AAEC/w== 2 b\r\nhi\r\n', 'HD\r\n')
    await c.req('mg AAEC/w== b v k\r\n', 'VA 2 kAAEC/w== b\r\nhi\r\n')
    await c.req('md AAEC/w== b q\r\nmn\r\n', 'MN\r\n')
    await c.req('mg AAEC/w== b v\r\n', 'EN\r\n')
  }),
  test('a text key read through its base64 form comes back as text', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set cn 0 0 1\r\n8\r\n', 'STORED\r\n')
    // "Y24=" is base64 of "cn"
    await c.req('mg Y24= b v k\r\n', 'VA 1 kcn\r\n8\r\n')
    await c.req('ma Y24= b v\r\n', 'VA 1\r\n9\r\n')
  }),
  test('b with a key that is not base64', async (ctx) => {
    const c = await ctx.conn()
    await c.req('mg k1 b v\r\n', 'CLIENT_ERROR error decoding key\r\n')
  }),
  test('opaque tokens are echoed on every reply kind', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms op:a 1 O1\r\nx\r\n', 'HD O1\r\n')
    await c.req('mg op:a O2 v\r\n', 'VA 1 O2\r\nx\r\n')
    await c.req('mg op:none O3 v\r\n', 'EN O3\r\n')
    await c.req('md op:a O4\r\n', 'HD O4\r\n')
    await c.req('ma op:a O5\r\n', 'NF O5\r\n')
    // the longest opaque token: 32 bytes including the O
    await c.req('mg op:a Oabcdefghijklmnopqrstuvwxyz01234\r\n', 'EN Oabcdefghijklmnopqrstuvwxyz01234\r\n')
    await c.req('mg op:a Oabcdefghijklmnopqrstuvwxyz012345\r\n', 'CLIENT_ERROR opaque token too long\r\n')
  }),
  test('a quiet pipeline ended by mn returns only what matters, in order', async (ctx) => {
    const c = await ctx.conn()
    let req = ''
    for (let i = 0; i < 10; i++) req += `ms qp:${i} 1 q O${i}\r\n${i}\r\n`
    for (let i = 0; i < 12; i++) req += `mg qp:${i} v q k O${i}\r\n`
    req += 'mn\r\n'
    let exp = ''
    for (let i = 0; i < 10; i++) exp += `VA 1 kqp:${i} O${i}\r\n${i}\r\n`
    await c.req(req, exp + 'MN\r\n')
  }),
  test('meta and classic commands interleave on one connection', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set mx:a 1 0 1\r\na\r\nmg mx:a v f\r\nget mx:a\r\nmd mx:a\r\nget mx:a\r\nmn\r\n',
      'STORED\r\nVA 1 f1\r\na\r\nVALUE mx:a 1 1\r\na\r\nEND\r\nHD\r\nEND\r\nMN\r\n')
  }),
])
