// npm memjs (binary protocol) driving a scenario. memjs has no CAS and no multiget,
// and decodes counters of 2^32 and more wrongly, so counters stay small here.

import { createRequire } from 'node:module'
import { deepEq, eq, ok } from '../harness/check.js'
import { suite, test, type Ctx } from '../harness/suite.js'

const require = createRequire(import.meta.url)

/* eslint-disable @typescript-eslint/no-explicit-any */
type MemjsClient = any

function client (ctx: Ctx, port?: number, auth?: string): MemjsClient {
  const memjs = require('memjs')
  return memjs.Client.create(`${auth ? auth + '@' : ''}${ctx.server.host}:${port ?? ctx.server.port}`, {
    retries: 0, timeout: 5, conntimeout: 5, keepAlive: false, logger: { log: () => {} },
  })
}

async function withClient (ctx: Ctx, fn: (c: MemjsClient) => Promise<void>, port?: number, auth?: string): Promise<void> {
  const c = client(ctx, port, auth)
  try { await fn(c) } finally { c.close() }
}

const str = (b: Buffer | null): string | null => b === null ? null : b.toString()

export default suite('client/memjs (npm, binary)', 'client', [
  test('set get add replace delete append prepend', (ctx) => withClient(ctx, async (c) => {
    await c.flush()
    eq(await c.set('mj:a', 'hello', { expires: 0 }), true, 'set')
    eq(str((await c.get('mj:a')).value), 'hello', 'get')
    eq((await c.get('mj:none')).value, null, 'get miss')
    eq(await c.add('mj:a', 'x', { expires: 0 }), false, 'add existing')
    eq(await c.add('mj:b', 'bee', { expires: 0 }), true, 'add new')
    eq(await c.replace('mj:none', 'x', { expires: 0 }), false, 'replace missing')
    eq(await c.replace('mj:b', 'B', { expires: 0 }), true, 'replace')
    eq(await c.append('mj:b', '++'), true, 'append')
    eq(await c.prepend('mj:b', '--'), true, 'prepend')
    // memjs 1.3.2 sends opcode 0x0e (APPEND) for prepend; memcached appends
    eq(str((await c.get('mj:b')).value), 'B++--', 'after append/"prepend"')
    eq(await c.delete('mj:b'), true, 'delete')
    eq(await c.delete('mj:b'), false, 'delete miss')
  })),
  test('increment and decrement with initial values', (ctx) => withClient(ctx, async (c) => {
    deepEq(await c.increment('mj:n', 1, { initial: 10 }), { success: true, value: 10 }, 'incr creates')
    deepEq(await c.increment('mj:n', 5, {}), { success: true, value: 15 }, 'incr')
    deepEq(await c.decrement('mj:n', 100, {}), { success: true, value: 0 }, 'decr floors at 0')
    eq(str((await c.get('mj:n')).value), '0 ', 'stored text keeps its length')
  })),
  test('touch, flags, binary-safe and ~1 MB values', (ctx) => withClient(ctx, async (c) => {
    eq(await c.set('mj:t', 'v', { expires: 0 }), true, 'set')
    eq(await c.touch('mj:t', 100), true, 'touch')
    eq(await c.touch('mj:none', 100), false, 'touch miss')
    const bin = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('\r\nEND\r\n\0')])
    eq(await c.set('mj:bin', bin, { expires: 0 }), true, 'set binary')
    ok((await c.get('mj:bin')).value.equals(bin), 'binary value round-trips')
    const big = Buffer.alloc(1000000, 0x42)
    eq(await c.set('mj:big', big, { expires: 0 }), true, 'set ~1MB')
    ok((await c.get('mj:big')).value.equals(big), '~1MB value round-trips')
    let err: Error | null = null
    try { await c.set('mj:toobig', Buffer.alloc(1048577), { expires: 0 }) } catch (e) { err = e as Error }
    ok(err && /Too large|Value too large/i.test(err.message), `too large is refused (${err?.message})`)
  })),
  test('stats, expiry', (ctx) => withClient(ctx, async (c) => {
    const st = await new Promise<Record<string, string>>((resolve, reject) => {
      c.stats((err: Error | null, _server: string, stats: Record<string, string>) => err ? reject(err) : resolve(stats))
    })
    ok(st.pid && /^\d+$/.test(st.curr_items) && /^\d+\.\d+/.test(st.version), 'stats has pid, curr_items, version')
    // TTL 3, not 1: the server clock moves in whole seconds, so a TTL of 1 can expire a few
    // milliseconds after the set; 3 leaves at least 2 s for the presence check.
    eq(await c.set('mj:ttl', 'x', { expires: 3 }), true, 'set ttl 3')
    eq(str((await c.get('mj:ttl')).value), 'x', 'present')
    await ctx.waitFor('mj:ttl to expire', async () => (await c.get('mj:ttl')).value === null, 8000, 100)
  })),
  test('SASL PLAIN login (-S)', async (ctx) => {
    const s = await ctx.spawn({ sasl: [{ user: 'alice', password: 'secret' }] })
    await withClient(ctx, async (c) => {
      eq(await c.set('mj:sasl', 'ok', { expires: 0 }), true, 'set after login')
      eq(str((await c.get('mj:sasl')).value), 'ok', 'get after login')
    }, s.port, 'alice:secret')
    await withClient(ctx, async (c) => {
      let err: Error | null = null
      try { await c.get('mj:sasl') } catch (e) { err = e as Error }
      ok(err, 'a wrong password fails')
    }, s.port, 'alice:wrong')
  }),
])
