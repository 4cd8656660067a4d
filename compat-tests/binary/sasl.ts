// SASL PLAIN over the binary protocol (-S). memcached reads its users from a Cyrus
// sasldb (set up by the harness), memring from a user:password file.

import { ANY, Op, St, binReq, expectBin, u32 } from '../harness/bin.js'
import { suite, test } from '../harness/suite.js'

export default suite('binary/sasl', 'binary', [
  test('list mechanisms, authenticate, then commands work', async (ctx) => {
    const s = await ctx.spawn({ sasl: [{ user: 'alice', password: 'secret' }] })
    const c = await ctx.conn(s)
    c.send(binReq({ op: Op.SASL_LIST_MECHS }))
    await expectBin(c, { op: Op.SASL_LIST_MECHS, value: 'PLAIN' })
    c.send(binReq({ op: Op.SASL_AUTH, key: 'PLAIN', value: '\0alice\0secret', opaque: 7 }))
    await expectBin(c, { op: Op.SASL_AUTH, opaque: 7, value: 'Authenticated' })
    c.send(binReq({ op: Op.SET, key: 'sa:k', extras: u32(0, 0), value: 'v' }))
    await expectBin(c, { op: Op.SET, cas: 'nonzero' })
    c.send(binReq({ op: Op.GET, key: 'sa:k' }))
    await expectBin(c, { op: Op.GET, cas: 'nonzero', extras: u32(0), value: 'v' })
  }),
  test('wrong password: Auth failure.', async (ctx) => {
    const s = await ctx.spawn({ sasl: [{ user: 'alice', password: 'secret' }] })
    const c = await ctx.conn(s)
    c.send(binReq({ op: Op.SASL_AUTH, key: 'PLAIN', value: '\0alice\0wrong' }))
    await expectBin(c, { op: Op.SASL_AUTH, status: St.AUTH_ERROR, value: 'Auth failure.' })
    const d = await ctx.conn(s)
    d.send(binReq({ op: Op.SASL_AUTH, key: 'PLAIN', value: '\0mallory\0secret' }))
    await expectBin(d, { op: Op.SASL_AUTH, status: St.AUTH_ERROR, value: 'Auth failure.' })
  }),
  test('commands before authenticating: auth error and close', async (ctx) => {
    const s = await ctx.spawn({ sasl: [{ user: 'alice', password: 'secret' }] })
    const c = await ctx.conn(s)
    c.send(binReq({ op: Op.GET, key: 'sa:k' }))
    await expectBin(c, { op: Op.GET, status: St.AUTH_ERROR, value: 'Auth failure.' })
    await c.expectClosed()
  }),
  test('before authenticating: VERSION and SASL opcodes work, NOOP is refused and closes', async (ctx) => {
    const s = await ctx.spawn({ sasl: [{ user: 'alice', password: 'secret' }] })
    const c = await ctx.conn(s)
    c.send(binReq({ op: Op.VERSION, opaque: 1 }))
    await expectBin(c, { op: Op.VERSION, opaque: 1, value: ANY })
    c.send(binReq({ op: Op.SASL_LIST_MECHS }))
    await expectBin(c, { op: Op.SASL_LIST_MECHS, value: 'PLAIN' })
    c.send(binReq({ op: Op.NOOP, opaque: 2 }))
    await expectBin(c, { op: Op.NOOP, opaque: 2, status: St.AUTH_ERROR, value: 'Auth failure.' })
    await c.expectClosed()
  }),
  test('bad exchanges: step without a start, unknown mechanism, malformed PLAIN', async (ctx) => {
    const s = await ctx.spawn({ sasl: [{ user: 'alice', password: 'secret' }] })
    const cases: Array<[number, string, string]> = [
      [Op.SASL_STEP, 'PLAIN', '\0alice\0secret'],
      [Op.SASL_AUTH, 'CRAM-MD5', ''],
      [Op.SASL_AUTH, 'PLAIN', 'garbage'],
    ]
    for (const [op, mech, data] of cases) {
      const c = await ctx.conn(s)
      c.send(binReq({ op, key: mech, value: data }))
      await expectBin(c, { op, status: St.AUTH_ERROR, value: 'Auth failure.' })
    }
  }),
  test('the text protocol is refused while SASL is on', async (ctx) => {
    const s = await ctx.spawn({ sasl: [{ user: 'alice', password: 'secret' }] })
    const c = await ctx.conn(s)
    // every connection is binary: a text line is read as a header with a bad magic
    c.send('get some:key:long:enough:for:a:header\r\n')
    await c.expectClosed()
  }),
])
