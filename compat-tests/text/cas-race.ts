// CAS across two connections (protocol.txt "cas"): the first writer wins, the
// second sees EXISTS; a delete in between gives NOT_FOUND.

import { eq } from '../harness/check.js'
import { num } from '../harness/raw.js'
import { suite, test } from '../harness/suite.js'

export default suite('text/cas-race', 'text', [
  test('two clients read the same unique; the first cas wins', async (ctx) => {
    const a = await ctx.conn()
    const b = await ctx.conn()
    await a.req('set cr:k 0 0 1\r\n0\r\n', 'STORED\r\n')
    const ga = await a.req('gets cr:k\r\n', 'VALUE cr:k 0 1 ', num('cas'), '\r\n0\r\nEND\r\n')
    const gb = await b.req('gets cr:k\r\n', 'VALUE cr:k 0 1 ', num('cas'), '\r\n0\r\nEND\r\n')
    eq(ga.cas, gb.cas, 'both see one unique')
    await a.req(`cas cr:k 0 0 1 ${ga.cas}\r\nA\r\n`, 'STORED\r\n')
    await b.req(`cas cr:k 0 0 1 ${gb.cas}\r\nB\r\n`, 'EXISTS\r\n')
    await b.req('get cr:k\r\n', 'VALUE cr:k 0 1\r\nA\r\nEND\r\n')
  }),
  test('a plain set by another client invalidates the unique', async (ctx) => {
    const a = await ctx.conn()
    const b = await ctx.conn()
    await a.req('set cr:s 0 0 1\r\n0\r\n', 'STORED\r\n')
    const g = await a.req('gets cr:s\r\n', 'VALUE cr:s 0 1 ', num('cas'), '\r\n0\r\nEND\r\n')
    await b.req('set cr:s 0 0 1\r\n1\r\n', 'STORED\r\n')
    await a.req(`cas cr:s 0 0 1 ${g.cas}\r\nA\r\n`, 'EXISTS\r\n')
  }),
  test('delete by another client: NOT_FOUND', async (ctx) => {
    const a = await ctx.conn()
    const b = await ctx.conn()
    await a.req('set cr:d 0 0 1\r\n0\r\n', 'STORED\r\n')
    const g = await a.req('gets cr:d\r\n', 'VALUE cr:d 0 1 ', num('cas'), '\r\n0\r\nEND\r\n')
    await b.req('delete cr:d\r\n', 'DELETED\r\n')
    await a.req(`cas cr:d 0 0 1 ${g.cas}\r\nA\r\n`, 'NOT_FOUND\r\n')
  }),
  test('touch and incr by another client', async (ctx) => {
    const a = await ctx.conn()
    const b = await ctx.conn()
    await a.req('set cr:t 0 0 1\r\n5\r\n', 'STORED\r\n')
    const g = await a.req('gets cr:t\r\n', 'VALUE cr:t 0 1 ', num('cas'), '\r\n5\r\nEND\r\n')
    await b.req('touch cr:t 100\r\n', 'TOUCHED\r\n')
    const g2 = await a.req('gets cr:t\r\n', 'VALUE cr:t 0 1 ', num('cas'), '\r\n5\r\nEND\r\n')
    eq(g2.cas, g.cas, 'touch keeps the unique')
    await b.req('incr cr:t 1\r\n', '6\r\n')
    await a.req(`cas cr:t 0 0 1 ${g.cas}\r\nA\r\n`, 'EXISTS\r\n')
  }),
  test('100 concurrent cas increments from 4 clients lose no update', async (ctx) => {
    const conns = await Promise.all([0, 1, 2, 3].map(() => ctx.conn()))
    await conns[0].req('set cr:ctr 0 0 1\r\n0\r\n', 'STORED\r\n')
    let won = 0
    await Promise.all(conns.map(async (c) => {
      for (let done = 0; done < 25;) {
        const g = await c.req('gets cr:ctr\r\n', 'VALUE cr:ctr 0 ', num('len'), ' ', num('cas'), '\r\n')
        const v = Number((await c.read(Number(g.len))).toString())
        await c.expect('\r\nEND\r\n')
        const nv = String(v + 1)
        c.send(`cas cr:ctr 0 0 ${nv.length} ${g.cas}\r\n${nv}\r\n`)
        const r = (await c.readUntil('\r\n')).toString()
        if (r === 'STORED\r\n') { done++; won++ } else eq(r, 'EXISTS\r\n', 'cas reply')
      }
    }))
    eq(won, 100, 'successful cas count')
    await conns[0].req('get cr:ctr\r\n', 'VALUE cr:ctr 0 3\r\n100\r\nEND\r\n')
  }, 20000),
])
