// Quiet opcodes: silent on success (GETQ/GETKQ silent on miss), errors still
// answered, NOOP answers and so marks the end of a pipeline.

import { Op, St, arithExtras, binReq, expectBin, u32 } from '../harness/bin.js'
import { suite, test } from '../harness/suite.js'

export default suite('binary/quiet', 'binary', [
  test('a quiet pipeline: only hits and errors come back, in order, then the NOOP', async (ctx) => {
    const c = await ctx.conn()
    c.send(Buffer.concat([
      binReq({ op: Op.GETQ, key: 'bq:none', opaque: 1 }),
      binReq({ op: Op.GETKQ, key: 'bq:none', opaque: 2 }),
      binReq({ op: Op.SETQ, key: 'bq:a', extras: u32(1, 0), value: 'v', opaque: 3 }),
      binReq({ op: Op.GETQ, key: 'bq:a', opaque: 4 }),
      binReq({ op: Op.GETKQ, key: 'bq:a', opaque: 5 }),
      binReq({ op: Op.ADDQ, key: 'bq:a', extras: u32(1, 0), value: 'v', opaque: 6 }),
      binReq({ op: Op.REPLACEQ, key: 'bq:a', extras: u32(2, 0), value: 'w', opaque: 7 }),
      binReq({ op: Op.DELETEQ, key: 'bq:none', opaque: 8 }),
      binReq({ op: Op.INCREMENTQ, key: 'bq:a', extras: arithExtras(1n, 0n, 0), opaque: 9 }),
      binReq({ op: Op.APPENDQ, key: 'bq:none', value: 'x', opaque: 10 }),
      binReq({ op: Op.PREPENDQ, key: 'bq:a', value: 'p', opaque: 11 }),
      binReq({ op: Op.APPENDQ, key: 'bq:a', value: 's', opaque: 12 }),
      binReq({ op: Op.INCREMENTQ, key: 'bq:ctr', extras: arithExtras(1n, 5n, 0), opaque: 13 }),
      binReq({ op: Op.DECREMENTQ, key: 'bq:ctr', extras: arithExtras(1n, 5n, 0), opaque: 14 }),
      binReq({ op: Op.GETQ, key: 'bq:ctr', opaque: 15 }),
      binReq({ op: Op.DELETEQ, key: 'bq:ctr', opaque: 16 }),
      binReq({ op: Op.GETKQ, key: 'bq:a', opaque: 17 }),
      binReq({ op: Op.NOOP, opaque: 18 }),
    ]))
    await expectBin(c, { op: Op.GETQ, opaque: 4, cas: 'nonzero', extras: u32(1), value: 'v' })
    await expectBin(c, { op: Op.GETKQ, opaque: 5, cas: 'nonzero', extras: u32(1), key: 'bq:a', value: 'v' })
    await expectBin(c, { op: Op.ADDQ, opaque: 6, status: St.KEY_EEXISTS, value: 'Data exists for key.' })
    await expectBin(c, { op: Op.DELETEQ, opaque: 8, status: St.KEY_ENOENT, value: 'Not found' })
    await expectBin(c, { op: Op.INCREMENTQ, opaque: 9, status: St.DELTA_BADVAL, value: 'Non-numeric server-side value for incr or decr' })
    await expectBin(c, { op: Op.APPENDQ, opaque: 10, status: St.NOT_STORED, value: 'Not stored.' })
    await expectBin(c, { op: Op.GETQ, opaque: 15, cas: 'nonzero', extras: u32(0), value: '4' })
    await expectBin(c, { op: Op.GETKQ, opaque: 17, cas: 'nonzero', extras: u32(2), key: 'bq:a', value: 'pws' })
    await expectBin(c, { op: Op.NOOP, opaque: 18 })
    c.expectIdle()
  }),
  test('gatq and gatkq', async (ctx) => {
    const c = await ctx.conn()
    c.send(Buffer.concat([
      binReq({ op: Op.SET, key: 'bq:g', extras: u32(3, 0), value: 'g', opaque: 1 }),
      binReq({ op: Op.GATQ, key: 'bq:none', extras: u32(100), opaque: 2 }),
      binReq({ op: Op.GATKQ, key: 'bq:none', extras: u32(100), opaque: 3 }),
      binReq({ op: Op.GATQ, key: 'bq:g', extras: u32(100), opaque: 4 }),
      binReq({ op: Op.GATKQ, key: 'bq:g', extras: u32(100), opaque: 5 }),
      binReq({ op: Op.NOOP, opaque: 6 }),
    ]))
    const s = await expectBin(c, { op: Op.SET, opaque: 1, cas: 'nonzero' })
    await expectBin(c, { op: Op.GATQ, opaque: 4, cas: s.cas, extras: u32(3), value: 'g' })
    await expectBin(c, { op: Op.GATKQ, opaque: 5, cas: s.cas, extras: u32(3), key: 'bq:g', value: 'g' })
    await expectBin(c, { op: Op.NOOP, opaque: 6 })
  }),
  test('flushq is silent', async (ctx) => {
    const c = await ctx.conn()
    c.send(Buffer.concat([
      binReq({ op: Op.SETQ, key: 'bq:f', extras: u32(0, 0), value: 'x' }),
      binReq({ op: Op.FLUSHQ }),
      binReq({ op: Op.GETQ, key: 'bq:f' }),
      binReq({ op: Op.NOOP, opaque: 1 }),
    ]))
    await expectBin(c, { op: Op.NOOP, opaque: 1 })
  }),
  test('100 quiet sets then one get per key, answered in order', async (ctx) => {
    const c = await ctx.conn()
    const reqs: Buffer[] = []
    for (let i = 0; i < 100; i++) reqs.push(binReq({ op: Op.SETQ, key: `bq:m${i}`, extras: u32(i, 0), value: String(i) }))
    for (let i = 0; i < 100; i++) reqs.push(binReq({ op: Op.GETKQ, key: `bq:m${i}`, opaque: i }))
    reqs.push(binReq({ op: Op.NOOP, opaque: 1000 }))
    c.send(Buffer.concat(reqs))
    for (let i = 0; i < 100; i++) await expectBin(c, { op: Op.GETKQ, opaque: i, cas: 'nonzero', extras: u32(i), key: `bq:m${i}`, value: String(i) })
    await expectBin(c, { op: Op.NOOP, opaque: 1000 })
  }),
])
