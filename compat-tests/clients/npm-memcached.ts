// npm memcached (text protocol) driving a scenario.

import { createRequire } from 'node:module'
import { deepEq, eq, ok } from '../harness/check.js'
import { suite, test, type Ctx } from '../harness/suite.js'

const require = createRequire(import.meta.url)

/* eslint-disable @typescript-eslint/no-explicit-any */
type Mc = any

/** Promise form of a callback method of the client. */
function call<T = any> (c: Mc, method: string, ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    c[method](...args, (err: Error | null, res: T) => err ? reject(err) : resolve(res))
  })
}

async function withClient (ctx: Ctx, fn: (c: Mc) => Promise<void>): Promise<void> {
  const Memcached = require('memcached')
  const c = new Memcached(`${ctx.server.host}:${ctx.server.port}`, { retries: 0, timeout: 5000, idle: 1000, poolSize: 2 })
  try { await fn(c) } finally { c.end() }
}

export default suite('client/memcached (npm, text)', 'client', [
  test('set get getMulti add replace delete append prepend', (ctx) => withClient(ctx, async (c) => {
    await call(c, 'flush')
    eq(await call(c, 'set', 'nm:a', 'hello', 0), true, 'set')
    eq(await call(c, 'get', 'nm:a'), 'hello', 'get')
    eq(await call(c, 'get', 'nm:none'), undefined, 'get miss')
    eq(await call(c, 'set', 'nm:b', 'bee', 0), true, 'set b')
    deepEq(await call(c, 'getMulti', ['nm:a', 'nm:none', 'nm:b']), { 'nm:a': 'hello', 'nm:b': 'bee' }, 'getMulti')
    eq(await call(c, 'add', 'nm:c', 'x', 0), true, 'add new')
    let err: Error | null = null
    try { await call(c, 'add', 'nm:c', 'y', 0) } catch (e) { err = e as Error }
    ok(err && /not stored/i.test(err.message), `add existing fails (${err?.message})`)
    eq(await call(c, 'replace', 'nm:c', 'z', 0), true, 'replace')
    eq(await call(c, 'append', 'nm:c', '++'), true, 'append')
    eq(await call(c, 'prepend', 'nm:c', '--'), true, 'prepend')
    eq(await call(c, 'get', 'nm:c'), '--z++', 'after append/prepend')
    eq(await call(c, 'del', 'nm:c'), true, 'del')
    eq(await call(c, 'del', 'nm:c'), false, 'del miss')
  })),
  test('incr, decr, gets and cas', (ctx) => withClient(ctx, async (c) => {
    eq(await call(c, 'set', 'nm:n', '10', 0), true, 'set counter')
    eq(await call(c, 'incr', 'nm:n', 5), 15, 'incr')
    eq(await call(c, 'decr', 'nm:n', 20), 0, 'decr')
    eq(await call(c, 'incr', 'nm:none', 1), false, 'incr miss')
    eq(await call(c, 'set', 'nm:cas', 'v1', 0), true, 'set')
    const g = await call(c, 'gets', 'nm:cas')
    eq(g['nm:cas'], 'v1', 'gets value')
    ok(/^\d+$/.test(String(g.cas)), 'gets returns a cas')
    eq(await call(c, 'cas', 'nm:cas', 'v2', g.cas, 0), true, 'cas ok')
    eq(await call(c, 'cas', 'nm:cas', 'v3', g.cas, 0), false, 'cas stale')
    eq(await call(c, 'get', 'nm:cas'), 'v2', 'after cas')
    eq(await call(c, 'touch', 'nm:cas', 100), true, 'touch')
  })),
  test('binary-safe and ~1 MB values', (ctx) => withClient(ctx, async (c) => {
    const bin = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('\r\nEND\r\n\0')])
    eq(await call(c, 'set', 'nm:bin', bin, 0), true, 'set buffer')
    const got = await call(c, 'get', 'nm:bin')
    ok(Buffer.isBuffer(got) && got.equals(bin), 'binary value round-trips')
    const big = 'q'.repeat(1000000)
    eq(await call(c, 'set', 'nm:big', big, 0), true, 'set ~1MB')
    eq(await call(c, 'get', 'nm:big'), big, '~1MB value round-trips')
  })),
  test('stats, version, expiry', (ctx) => withClient(ctx, async (c) => {
    const st = await call<any[]>(c, 'stats')
    ok(Array.isArray(st) && st.length === 1 && st[0].pid, 'stats')
    const v = await call<any[]>(c, 'version')
    ok(v[0] && /^\d+\.\d+/.test(v[0].version), 'version')
    // TTL 3, not 1: the server clock moves in whole seconds, so a TTL of 1 can expire a few
    // milliseconds after the set; 3 leaves at least 2 s for the presence check.
    eq(await call(c, 'set', 'nm:ttl', 'x', 3), true, 'set ttl 3')
    eq(await call(c, 'get', 'nm:ttl'), 'x', 'present')
    await ctx.waitFor('nm:ttl to expire', async () => (await call(c, 'get', 'nm:ttl')) === undefined, 8000, 100)
  })),
])
