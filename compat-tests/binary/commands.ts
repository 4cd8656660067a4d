// Binary protocol, one opcode family per test, every header field checked
// (memcached's protocol_binary.h; the error bodies are memcached 1.6.18's).

import { eq } from '../harness/check.js'
import { ANY, Op, St, arithExtras, binReq, expectBin, readBin, u32, u64 } from '../harness/bin.js'
import { suite, test } from '../harness/suite.js'
import { diverges, hostsBehind } from '../divergences.js'

const NOT_FOUND = 'Not found'
const EXISTS = 'Data exists for key.'

export default suite('binary/commands', 'binary', [
  test('get: miss, hit, getk; opaque echoed', async (ctx) => {
    const c = await ctx.conn()
    await c.send(binReq({ op: Op.GET, key: 'bc:none', opaque: 0xdeadbeef }))
    await expectBin(c, { op: Op.GET, status: St.KEY_ENOENT, opaque: 0xdeadbeef, value: NOT_FOUND })
    c.send(binReq({ op: Op.SET, key: 'bc:a', extras: u32(5, 0), value: 'hello', opaque: 1 }))
    const s = await expectBin(c, { op: Op.SET, opaque: 1, cas: 'nonzero' })
    c.send(binReq({ op: Op.GET, key: 'bc:a', opaque: 2 }))
    await expectBin(c, { op: Op.GET, opaque: 2, cas: s.cas, extras: u32(5), value: 'hello' })
    c.send(binReq({ op: Op.GETK, key: 'bc:a', opaque: 3 }))
    await expectBin(c, { op: Op.GETK, opaque: 3, cas: s.cas, extras: u32(5), key: 'bc:a', value: 'hello' })
    c.send(binReq({ op: Op.GETK, key: 'bc:none' }))
    await expectBin(c, { op: Op.GETK, status: St.KEY_ENOENT, key: 'bc:none' })
  }),
  test('set, add, replace and CAS in the header', async (ctx) => {
    const c = await ctx.conn()
    c.send(binReq({ op: Op.ADD, key: 'bc:s', extras: u32(1, 0), value: 'a' }))
    const a = await expectBin(c, { op: Op.ADD, cas: 'nonzero' })
    c.send(binReq({ op: Op.ADD, key: 'bc:s', extras: u32(1, 0), value: 'b' }))
    await expectBin(c, { op: Op.ADD, status: St.KEY_EEXISTS, value: EXISTS })
    c.send(binReq({ op: Op.REPLACE, key: 'bc:none', extras: u32(1, 0), value: 'b' }))
    await expectBin(c, { op: Op.REPLACE, status: St.KEY_ENOENT, value: NOT_FOUND })
    c.send(binReq({ op: Op.SET, key: 'bc:s', extras: u32(2, 0), value: 'c', cas: a.cas + 1000n }))
    await expectBin(c, { op: Op.SET, status: St.KEY_EEXISTS, value: EXISTS })
    c.send(binReq({ op: Op.SET, key: 'bc:none', extras: u32(2, 0), value: 'c', cas: 5n }))
    await expectBin(c, { op: Op.SET, status: St.KEY_ENOENT, value: NOT_FOUND })
    c.send(binReq({ op: Op.REPLACE, key: 'bc:s', extras: u32(3, 0), value: 'd', cas: a.cas }))
    const r = await expectBin(c, { op: Op.REPLACE, cas: 'nonzero' })
    eq(r.cas !== a.cas, true, 'replace gives a new CAS')
    c.send(binReq({ op: Op.GET, key: 'bc:s' }))
    await expectBin(c, { op: Op.GET, cas: r.cas, extras: u32(3), value: 'd' })
  }),
  test('binary and text share items', async (ctx) => {
    const c = await ctx.conn()
    c.send(binReq({ op: Op.SET, key: 'bc:t', extras: u32(0xffffffff, 0), value: 'x\r\ny\0' }))
    await expectBin(c, { op: Op.SET, cas: 'nonzero' })
    const t = await ctx.conn()
    await t.req('get bc:t\r\n', 'VALUE bc:t 4294967295 5\r\nx\r\ny\0\r\nEND\r\n')
  }),
  test('delete, with and without CAS', async (ctx) => {
    const c = await ctx.conn()
    c.send(binReq({ op: Op.SET, key: 'bc:d', extras: u32(0, 0), value: 'x' }))
    const s = await expectBin(c, { op: Op.SET, cas: 'nonzero' })
    c.send(binReq({ op: Op.DELETE, key: 'bc:d', cas: s.cas + 1n }))
    await expectBin(c, { op: Op.DELETE, status: St.KEY_EEXISTS, value: EXISTS })
    c.send(binReq({ op: Op.DELETE, key: 'bc:d', cas: s.cas }))
    await expectBin(c, { op: Op.DELETE })
    c.send(binReq({ op: Op.DELETE, key: 'bc:d' }))
    await expectBin(c, { op: Op.DELETE, status: St.KEY_ENOENT, value: NOT_FOUND })
  }),
  test('append and prepend', async (ctx) => {
    const c = await ctx.conn()
    c.send(binReq({ op: Op.APPEND, key: 'bc:ap', value: 'x' }))
    await expectBin(c, { op: Op.APPEND, status: St.NOT_STORED, value: 'Not stored.' })
    c.send(binReq({ op: Op.SET, key: 'bc:ap', extras: u32(9, 0), value: 'mm' }))
    await expectBin(c, { op: Op.SET, cas: 'nonzero' })
    c.send(binReq({ op: Op.APPEND, key: 'bc:ap', value: 'zz' }))
    await expectBin(c, { op: Op.APPEND, cas: 'nonzero' })
    c.send(binReq({ op: Op.PREPEND, key: 'bc:ap', value: 'aa' }))
    await expectBin(c, { op: Op.PREPEND, cas: 'nonzero' })
    c.send(binReq({ op: Op.GET, key: 'bc:ap' }))
    await expectBin(c, { op: Op.GET, cas: ANY, extras: u32(9), value: 'aammzz' })
  }),
  test('increment and decrement: initial value, 0xffffffff, wrap, floor, non-numeric', async (ctx) => {
    const c = await ctx.conn()
    c.send(binReq({ op: Op.INCREMENT, key: 'bc:n', extras: arithExtras(1n, 10n, 0xffffffff) }))
    await expectBin(c, { op: Op.INCREMENT, status: St.KEY_ENOENT, value: NOT_FOUND })
    c.send(binReq({ op: Op.INCREMENT, key: 'bc:n', extras: arithExtras(1n, 10n, 0) }))
    await expectBin(c, { op: Op.INCREMENT, cas: 'nonzero', value: u64(10n) })
    c.send(binReq({ op: Op.INCREMENT, key: 'bc:n', extras: arithExtras(5n, 10n, 0) }))
    await expectBin(c, { op: Op.INCREMENT, cas: 'nonzero', value: u64(15n) })
    c.send(binReq({ op: Op.DECREMENT, key: 'bc:n', extras: arithExtras(100n, 0n, 0) }))
    await expectBin(c, { op: Op.DECREMENT, cas: 'nonzero', value: u64(0n) })
    c.send(binReq({ op: Op.INCREMENT, key: 'bc:n', extras: arithExtras(0xffffffffffffffffn, 0n, 0) }))
    await expectBin(c, { op: Op.INCREMENT, cas: 'nonzero', value: u64(0xffffffffffffffffn) })
    c.send(binReq({ op: Op.INCREMENT, key: 'bc:n', extras: arithExtras(2n, 0n, 0) }))
    await expectBin(c, { op: Op.INCREMENT, cas: 'nonzero', value: u64(1n) })
    const t = await ctx.conn()
    await t.req('get bc:n\r\n', 'VALUE bc:n 0 20\r\n1                   \r\nEND\r\n')
    await t.req('set bc:txt 0 0 3\r\nabc\r\n', 'STORED\r\n')
    c.send(binReq({ op: Op.INCREMENT, key: 'bc:txt', extras: arithExtras(1n, 0n, 0) }))
    await expectBin(c, { op: Op.INCREMENT, status: St.DELTA_BADVAL, value: 'Non-numeric server-side value for incr or decr' })
    c.send(binReq({ op: Op.DECREMENT, key: 'bc:new', extras: arithExtras(1n, 0xffffffffffffffffn, 0) }))
    await expectBin(c, { op: Op.DECREMENT, cas: 'nonzero', value: u64(0xffffffffffffffffn) })
  }),
  test('touch, gat, gatk', async (ctx) => {
    const c = await ctx.conn()
    c.send(binReq({ op: Op.SET, key: 'bc:tg', extras: u32(7, 0), value: 'val' }))
    const s = await expectBin(c, { op: Op.SET, cas: 'nonzero' })
    c.send(binReq({ op: Op.TOUCH, key: 'bc:tg', extras: u32(100) }))
    await expectBin(c, { op: Op.TOUCH, cas: s.cas, extras: u32(7) })
    c.send(binReq({ op: Op.TOUCH, key: 'bc:none', extras: u32(100) }))
    await expectBin(c, { op: Op.TOUCH, status: St.KEY_ENOENT, value: NOT_FOUND })
    c.send(binReq({ op: Op.GAT, key: 'bc:tg', extras: u32(100) }))
    await expectBin(c, { op: Op.GAT, cas: s.cas, extras: u32(7), value: 'val' })
    c.send(binReq({ op: Op.GATK, key: 'bc:tg', extras: u32(100) }))
    await expectBin(c, { op: Op.GATK, cas: s.cas, extras: u32(7), key: 'bc:tg', value: 'val' })
    c.send(binReq({ op: Op.GAT, key: 'bc:none', extras: u32(100) }))
    await expectBin(c, { op: Op.GAT, status: St.KEY_ENOENT, value: NOT_FOUND })
    // the expiration is unsigned here: 2592001 (> 30 days) is an absolute time in 1970
    c.send(binReq({ op: Op.TOUCH, key: 'bc:tg', extras: u32(2592001) }))
    await expectBin(c, { op: Op.TOUCH, cas: s.cas, extras: u32(7) })
    c.send(binReq({ op: Op.GET, key: 'bc:tg' }))
    await expectBin(c, { op: Op.GET, status: St.KEY_ENOENT, value: NOT_FOUND })
  }),
  test('noop, version, flush', async (ctx) => {
    const c = await ctx.conn()
    c.send(binReq({ op: Op.NOOP, opaque: 42 }))
    await expectBin(c, { op: Op.NOOP, opaque: 42 })
    c.send(binReq({ op: Op.VERSION }))
    const v = await expectBin(c, { op: Op.VERSION, value: ANY })
    eq(/^\d+\.\d+\.\d+/.test(v.value.toString()), true, `version "${v.value}" looks like x.y.z`)
    c.send(binReq({ op: Op.SET, key: 'bc:f', extras: u32(0, 0), value: 'x' }))
    await expectBin(c, { op: Op.SET, cas: 'nonzero' })
    c.send(binReq({ op: Op.FLUSH }))
    await expectBin(c, { op: Op.FLUSH })
    c.send(binReq({ op: Op.GET, key: 'bc:f' }))
    await expectBin(c, { op: Op.GET, status: St.KEY_ENOENT, value: NOT_FOUND })
    c.send(binReq({ op: Op.FLUSH, extras: u32(0) }))
    await expectBin(c, { op: Op.FLUSH })
  }),
  test('stat: general, a group, an unknown group', async (ctx) => {
    const c = await ctx.conn()
    c.send(binReq({ op: Op.STAT, opaque: 9 }))
    const names = new Set<string>()
    for (;;) {
      const r = await readBin(c)
      eq(r.op, Op.STAT, 'opcode')
      eq(r.status, 0, 'status')
      eq(r.opaque, 9, 'opaque')
      if (r.key.length === 0) { eq(r.value.length, 0, 'terminating packet body'); break }
      names.add(r.key.toString())
    }
    for (const k of ['pid', 'uptime', 'version', 'curr_items', 'cmd_get', 'get_hits', 'bytes', 'limit_maxbytes']) eq(names.has(k), true, `stat ${k}`)
    c.send(binReq({ op: Op.STAT, key: 'settings' }))
    const first = await expectBin(c, { op: Op.STAT, key: 'maxbytes', value: ANY })
    eq(first.value.toString(), String((diverges('P1', ctx.target) ? hostsBehind(ctx.target) : 1) * 64 * 1024 * 1024), 'maxbytes (P1: summed over the proxy\'s hosts)')
    for (;;) { const r = await readBin(c); if (r.key.length === 0) break }
    c.send(binReq({ op: Op.STAT, key: 'bogus' }))
    await expectBin(c, { op: Op.STAT, status: St.KEY_ENOENT, value: NOT_FOUND })
  }),
  test('quit answers and closes; quitq closes silently', async (ctx) => {
    const c = await ctx.conn()
    c.send(binReq({ op: Op.QUIT, opaque: 5 }))
    await expectBin(c, { op: Op.QUIT, opaque: 5 })
    await c.expectClosed()
    const d = await ctx.conn()
    d.send(binReq({ op: Op.QUITQ }))
    await d.expectClosed()
  }),
  test('values of 1,000,000 bytes and 0 bytes', async (ctx) => {
    const c = await ctx.conn()
    const v = Buffer.alloc(1000000)
    for (let i = 0; i < v.length; i++) v[i] = i & 0xff
    c.send(binReq({ op: Op.SET, key: 'bc:big', extras: u32(1, 0), value: v }))
    await expectBin(c, { op: Op.SET, cas: 'nonzero' })
    c.send(binReq({ op: Op.GET, key: 'bc:big' }))
    await expectBin(c, { op: Op.GET, cas: ANY, extras: u32(1), value: v })
    c.send(binReq({ op: Op.SET, key: 'bc:zero', extras: u32(0, 0) }))
    await expectBin(c, { op: Op.SET, cas: 'nonzero' })
    c.send(binReq({ op: Op.GET, key: 'bc:zero' }))
    await expectBin(c, { op: Op.GET, cas: ANY, extras: u32(0) })
  }),
])
