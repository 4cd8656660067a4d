// Expiration times (protocol.txt "Expiration times"): 0 = never; up to 30 days =
// seconds from now; above = absolute Unix time; negative = already expired.
// Short real TTLs, polled with deadlines: the server clock ticks once a second, so
// "1 s" ends somewhere in (0, 2] s.

import { num } from '../harness/raw.js'
import { ok } from '../harness/check.js'
import { suite, test } from '../harness/suite.js'
import type { Ctx } from '../harness/suite.js'
import type { RawConn } from '../harness/raw.js'

async function gone (ctx: Ctx, c: RawConn, key: string, timeoutMs: number): Promise<number> {
  return ctx.waitFor(`${key} to expire`, async () => {
    c.send(`get ${key}\r\n`)
    const r = await c.readUntil('END\r\n')
    return r.length === 5
  }, timeoutMs, 100)
}

export default suite('text/ttl', 'text', [
  test('negative exptime: stored but never visible', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set tt:neg 0 -1 1\r\nx\r\n', 'STORED\r\n')
    await c.req('get tt:neg\r\n', 'END\r\n')
    await c.req('add tt:neg 0 0 1\r\ny\r\n', 'STORED\r\n')
  }),
  test('exptime over 30 days is absolute: in the past means expired', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set tt:abs 0 2592001 1\r\nx\r\n', 'STORED\r\n')
    await c.req('get tt:abs\r\n', 'END\r\n')
    const past = Math.floor(Date.now() / 1000) - 100
    await c.req(`set tt:abs 0 ${past} 1\r\nx\r\n`, 'STORED\r\n')
    await c.req('get tt:abs\r\n', 'END\r\n')
  }),
  test('30 days exactly is relative; absolute in the future is kept', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set tt:30d 0 2592000 1\r\nx\r\n', 'STORED\r\n')
    await c.req('get tt:30d\r\n', 'VALUE tt:30d 0 1\r\nx\r\nEND\r\n')
    const future = Math.floor(Date.now() / 1000) + 3600
    await c.req(`set tt:fut 0 ${future} 1\r\nx\r\n`, 'STORED\r\n')
    await c.req('get tt:fut\r\n', 'VALUE tt:fut 0 1\r\nx\r\nEND\r\n')
    await c.req('mg tt:fut t\r\n', 'HD t', num('ttl', 3590, 3601), '\r\n')
  }),
  test('TTL 2 s: present at once, then gone (not before ~1 s)', async (ctx) => {
    const c = await ctx.conn()
    const t0 = Date.now()
    await c.req('set tt:two 0 2 1\r\nx\r\n', 'STORED\r\n')
    await c.req('get tt:two\r\n', 'VALUE tt:two 0 1\r\nx\r\nEND\r\n')
    // Deadline: TTL 2 + 1 s of clock granularity, with margin for a loaded machine.
    await gone(ctx, c, 'tt:two', 6000)
    const took = Date.now() - t0
    ctx.note(`expired after ${took} ms`)
    ok(took >= 900, `TTL 2 expired too early (${took} ms)`)
  }),
  test('touch extends and gat shortens a TTL', async (ctx) => {
    const c = await ctx.conn()
    // TTL 2, not 1 (a TTL of 1 can end at the next clock tick, before the touch arrives);
    // tt:ctl, set with it and never touched, shows when tt:tx would have expired.
    await c.req('set tt:tx 0 2 1\r\nx\r\nset tt:ctl 0 2 1\r\nz\r\nset tt:gs 0 100 1\r\ny\r\n', 'STORED\r\nSTORED\r\nSTORED\r\n')
    await c.req('touch tt:tx 100\r\n', 'TOUCHED\r\n')
    await c.req('gat 1 tt:gs\r\n', 'VALUE tt:gs 0 1\r\ny\r\nEND\r\n')
    await gone(ctx, c, 'tt:gs', 6000)
    await gone(ctx, c, 'tt:ctl', 6000)
    await c.req('get tt:tx\r\n', 'VALUE tt:tx 0 1\r\nx\r\nEND\r\n')
  }),
  test('flush_all with a delay empties the cache later', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set tt:fl 0 0 1\r\nx\r\n', 'STORED\r\n')
    await c.req('flush_all 2\r\n', 'OK\r\n')
    await c.req('get tt:fl\r\n', 'VALUE tt:fl 0 1\r\nx\r\nEND\r\n')
    await gone(ctx, c, 'tt:fl', 6000)
    await c.req('flush_all 0\r\n', 'OK\r\n')
  }),
  test('an item set after flush_all is kept', async (ctx) => {
    const c = await ctx.conn()
    await c.req('flush_all\r\n', 'OK\r\n')
    await c.req('set tt:after 0 0 1\r\nx\r\n', 'STORED\r\n')
    await c.req('get tt:after\r\n', 'VALUE tt:after 0 1\r\nx\r\nEND\r\n')
  }),
])
