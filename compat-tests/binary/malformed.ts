// Malformed and unsupported binary requests: what memcached 1.6.18 answers, and
// when it closes the connection. Other connections must not notice.

import { Op, St, binReq, expectBin, u32 } from '../harness/bin.js'
import { suite, test } from '../harness/suite.js'

export default suite('binary/errors', 'binary', [
  test('unknown opcode: Unknown command, body skipped, connection stays', async (ctx) => {
    const c = await ctx.conn()
    c.send(Buffer.concat([binReq({ op: 0x55, opaque: 3 }), binReq({ op: 0x66, value: 'abcd' }), binReq({ op: Op.NOOP, opaque: 4 })]))
    await expectBin(c, { op: 0x55, opaque: 3, status: St.UNKNOWN_COMMAND, value: 'Unknown command' })
    await expectBin(c, { op: 0x66, status: St.UNKNOWN_COMMAND, value: 'Unknown command' })
    await expectBin(c, { op: Op.NOOP, opaque: 4 })
  }),
  test('SASL opcodes without -S: Unknown command', async (ctx) => {
    const c = await ctx.conn()
    c.send(binReq({ op: Op.SASL_LIST_MECHS }))
    await expectBin(c, { op: Op.SASL_LIST_MECHS, status: St.UNKNOWN_COMMAND, value: 'Unknown command' })
    c.send(binReq({ op: Op.SASL_AUTH, key: 'PLAIN', value: '\0a\0b' }))
    await expectBin(c, { op: Op.SASL_AUTH, status: St.UNKNOWN_COMMAND, value: 'Unknown command' })
    c.send(binReq({ op: Op.NOOP }))
    await expectBin(c, { op: Op.NOOP })
  }),
  test('value over the item size: Too large., data skipped', async (ctx) => {
    const c = await ctx.conn()
    c.send(Buffer.concat([binReq({ op: Op.SET, key: 'be:big', extras: u32(0, 0), value: Buffer.alloc(1048577) }), binReq({ op: Op.NOOP })]))
    await expectBin(c, { op: Op.SET, status: St.E2BIG, value: 'Too large.' })
    await expectBin(c, { op: Op.NOOP })
  }),
  test('key over 250 bytes: Invalid arguments and close', async (ctx) => {
    const c = await ctx.conn()
    c.send(binReq({ op: Op.GET, key: 'k'.repeat(251) }))
    await expectBin(c, { op: Op.GET, status: St.EINVAL, value: 'Invalid arguments' })
    await c.expectClosed()
  }),
  test('wrong extras or key for the opcode: Invalid arguments and close', async (ctx) => {
    const cases = [
      binReq({ op: Op.SET, key: 'x' }), // no extras
      binReq({ op: Op.GET, key: 'x', extras: u32(1) }),
      binReq({ op: Op.GET }), // no key
      binReq({ op: Op.INCREMENT, key: 'x', extras: u32(1) }),
      binReq({ op: Op.DELETE, key: 'x', extras: u32(1) }),
      binReq({ op: Op.DELETE, key: 'x', value: 'v' }),
      binReq({ op: Op.NOOP, key: 'x' }),
      binReq({ op: Op.VERSION, value: 'x' }),
      binReq({ op: Op.TOUCH, key: 'x' }),
      binReq({ op: Op.FLUSH, extras: Buffer.alloc(2) }),
    ]
    for (const req of cases) {
      const c = await ctx.conn()
      c.send(req)
      await expectBin(c, { op: req[1], status: St.EINVAL, value: 'Invalid arguments' })
      await c.expectClosed()
    }
  }),
  test('key and extras longer than the body: Unknown command and close', async (ctx) => {
    const c = await ctx.conn()
    c.send(binReq({ op: Op.GET, key: 'abc', bodyLen: 2 }))
    await expectBin(c, { op: Op.GET, status: St.UNKNOWN_COMMAND, value: 'Unknown command' })
    await c.expectClosed()
  }),
  test('bad magic on a binary connection closes it', async (ctx) => {
    const c = await ctx.conn()
    c.send(binReq({ op: Op.NOOP, opaque: 1 }))
    await expectBin(c, { op: Op.NOOP, opaque: 1 })
    c.send(binReq({ op: Op.NOOP, magic: 0x81 }))
    await c.expectClosed()
  }),
  test('datatype and vbucket fields are ignored', async (ctx) => {
    const c = await ctx.conn()
    c.send(binReq({ op: Op.NOOP, datatype: 1, vbucket: 5, opaque: 2 }))
    await expectBin(c, { op: Op.NOOP, opaque: 2 })
  }),
  test('a broken connection does not disturb another', async (ctx) => {
    const good = await ctx.conn()
    good.send(binReq({ op: Op.SET, key: 'be:ok', extras: u32(0, 0), value: 'fine' }))
    await expectBin(good, { op: Op.SET, cas: 'nonzero' })
    const bad = await ctx.conn()
    bad.send(Buffer.concat([binReq({ op: Op.SET, key: 'be:ok', extras: u32(0, 0), value: 'x', bodyLen: 3 }), Buffer.alloc(100, 0xff)]))
    await bad.read(24).catch(() => null)
    good.send(binReq({ op: Op.GET, key: 'be:ok' }))
    await expectBin(good, { op: Op.GET, cas: 'nonzero', extras: u32(0), value: 'fine' })
  }),
])
