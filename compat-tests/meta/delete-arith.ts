// md (meta delete) and ma (meta arithmetic) (protocol.txt "Meta Delete",
// "Meta Arithmetic").

import { num } from '../harness/raw.js'
import { suite, test } from '../harness/suite.js'

export default suite('meta/md-ma', 'meta', [
  test('md: HD, NF, k and O, C compare', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms md:a 1\r\nx\r\n', 'HD\r\n')
    await c.req('md md:a k O77\r\n', 'HD kmd:a O77\r\n')
    await c.req('md md:a\r\n', 'NF\r\n')
    await c.req('md md:a O5 k\r\n', 'NF O5 kmd:a\r\n')
    await c.req('ms md:c 1\r\nx\r\n', 'HD\r\n')
    const g = await c.req('mg md:c c\r\n', 'HD c', num('cas'), '\r\n')
    await c.req(`md md:c C${BigInt(g.cas) + 1n}\r\n`, 'EX\r\n')
    await c.req(`md md:c C${g.cas}\r\n`, 'HD\r\n')
    await c.req('get md:c\r\n', 'END\r\n')
  }),
  test('md q hides HD, not NF', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms md:q 1\r\nx\r\n', 'HD\r\n')
    await c.req('md md:q q\r\nmd md:q q\r\nmd md:none q O9\r\nmn\r\n', 'NF\r\nNF O9\r\nMN\r\n')
  }),
  test('md I marks stale; the value is kept and the next mg wins the recache', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms md:i 3 T60\r\nold\r\n', 'HD\r\n')
    const g = await c.req('mg md:i c\r\n', 'HD c', num('cas'), '\r\n')
    await c.req('md md:i I T30\r\n', 'HD\r\n')
    const s = await c.req('mg md:i v c t\r\n', 'VA 3 c', num('cas'), ' t', num('t', 28, 30), ' X W\r\nold\r\n')
    if (BigInt(s.cas) <= BigInt(g.cas)) throw new Error(`invalidation must bump CAS (${g.cas} -> ${s.cas})`)
    await c.req('mg md:i v\r\n', 'VA 3 Z X\r\nold\r\n')
  }),
  test('md with a bad flag', async (ctx) => {
    const c = await ctx.conn()
    await c.req('md md:a !\r\n', 'CLIENT_ERROR invalid or duplicate flag\r\n')
    await c.req('md\r\n', 'ERROR\r\n')
  }),
  test('ma: increment by default, D delta, MD decrement, v t c returns', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms ma:a 1\r\n5\r\n', 'HD\r\n')
    await c.req('ma ma:a\r\n', 'HD\r\n')
    await c.req('ma ma:a v\r\n', 'VA 1\r\n7\r\n')
    await c.req('ma ma:a D10 v\r\n', 'VA 2\r\n17\r\n')
    await c.req('ma ma:a MD D7 v\r\n', 'VA 2\r\n10\r\n')
    await c.req('ma ma:a MI v\r\n', 'VA 2\r\n11\r\n')
    await c.req('ma ma:a M- D100 v\r\n', 'VA 1\r\n0\r\n')
    await c.req('ma ma:a M+ v\r\n', 'VA 1\r\n1\r\n')
    await c.req('ma ma:a t c v\r\n', 'VA 1 t-1 c', num(), '\r\n2\r\n')
    // the stored value kept its 2-byte length, space padded, as with classic decr
    await c.req('get ma:a\r\n', 'VALUE ma:a 0 2\r\n2 \r\nEND\r\n')
  }),
  test('ma: NF on miss, N autovivify with J initial value', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ma ma:none\r\n', 'NF\r\n')
    await c.req('ma ma:none v\r\n', 'NF\r\n')
    await c.req('ma ma:viv N0 J13 v\r\n', 'VA 2\r\n13\r\n')
    await c.req('ma ma:viv N0 J13 v\r\n', 'VA 2\r\n14\r\n')
    await c.req('ma ma:viv2 N100 v t\r\n', 'VA 1 t100\r\n0\r\n')
  }),
  test('ma: wrap at 2^64 and T updates TTL', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms ma:w 20\r\n18446744073709551615\r\n', 'HD\r\n')
    await c.req('ma ma:w v\r\n', 'VA 1\r\n0\r\n')
    await c.req('ma ma:w T100 t v\r\n', 'VA 1 t100\r\n1\r\n')
  }),
  test('ma: q hides HD and NF... and memcached 1.6.18 also hides VA', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms ma:q 1\r\n5\r\n', 'HD\r\n')
    await c.req('ma ma:q q\r\nma ma:q v q\r\nma ma:none q\r\nmn\r\n', 'NF\r\nMN\r\n')
    await c.req('ma ma:q v\r\n', 'VA 1\r\n8\r\n')
  }),
  test('ma: C compares the CAS unique, c returns the new one', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms ma:c 1\r\n1\r\n', 'HD\r\n')
    const g = await c.req('mg ma:c c\r\n', 'HD c', num('cas'), '\r\n')
    await c.req(`ma ma:c C${BigInt(g.cas) + 1n} v\r\n`, 'EX\r\n')
    const r = await c.req(`ma ma:c C${g.cas} v c\r\n`, 'VA 1 c', num('cas'), '\r\n2\r\n')
    await c.req('mg ma:c c v\r\n', `VA 1 c${r.cas}\r\n2\r\n`)
    await c.req(`ma ma:c C${g.cas}\r\n`, 'EX\r\n')
  }),
  test('ma errors', async (ctx) => {
    const c = await ctx.conn()
    await c.req('ms ma:t 3\r\nabc\r\n', 'HD\r\n')
    await c.req('ma ma:t\r\n', 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n')
    await c.req('ma ma:t MX\r\n', 'CLIENT_ERROR invalid mode for ma M token\r\n')
    await c.req('ma ma:t Dabc\r\n', 'CLIENT_ERROR invalid or duplicate flag\r\n')
    await c.req('ma\r\n', 'ERROR\r\n')
  }),
])
