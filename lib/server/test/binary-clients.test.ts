/**
 * Real binary-protocol clients against memring, each scenario also run against real
 * memcached 1.6.18 so every result is compared with the oracle, plus literal checks:
 *  - Debian ruby-dalli 3.0 (binary by default): set/get/get_multi/add/replace/append/
 *    prepend/delete/incr/decr/touch/gat/cas/flush, values near 1 MiB, a 50-key multi-get;
 *  - npm memjs 1.3.2: the same verbs it offers (no CAS, no multi-get), values near 1 MiB;
 *  - SASL PLAIN logins with both clients (-S), wrong password and no login refused.
 */
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { haveMemcached } from '../../testing/memcached.js'
import { startServer } from '../../testing/servers.js'
import { hasCommand, startMemcached } from './binary-harness.js'

const require = createRequire(import.meta.url)
const here = path.dirname(fileURLToPath(import.meta.url))
/** The ruby scenario lives beside the TypeScript source (tsc does not copy it to dist/). */
const DALLI_RB = path.resolve(here, '../../../../lib/server/test/binary-dalli.rb')
const haveDalli = hasCommand('ruby') && fs.existsSync(DALLI_RB) &&
  spawnSync('ruby', ['-e', 'require "dalli"'], { stdio: 'ignore' }).status === 0

const users = [{ user: 'alice', password: 'secret' }]
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-bin-clients-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
const pwdb = path.join(dir, 'pwdb')
fs.writeFileSync(pwdb, 'alice:secret\n')

function dalli (port: number, ...auth: string[]): Promise<{ code: number | null, out: string }> {
  return new Promise((resolve) => {
    const p = spawn('ruby', [DALLI_RB, '127.0.0.1', String(port), ...auth])
    let out = ''
    p.stdout.on('data', (d) => { out += String(d) })
    p.stderr.on('data', (d) => { out += String(d) })
    p.on('exit', (code) => resolve({ code, out }))
  })
}

type Steps = Array<[string, unknown]>
const parse = (out: string): Steps => JSON.parse(out.trim().split('\n').pop() as string) as Steps

t.test('ruby-dalli scenario gives memcached\'s results', { skip: !haveMemcached() ? 'memcached not installed' : !haveDalli ? 'ruby-dalli not installed' : false }, async (t) => {
  const mcPort = await startMemcached(t)
  const mr = await startServer(t)
  const [a, b] = await Promise.all([dalli(mcPort), dalli(mr.port)])
  t.equal(a.code, 0, a.out)
  t.equal(b.code, 0, b.out)
  const want = parse(a.out)
  const got = parse(b.out)
  t.same(got, want, 'every step as memcached')
  const m = new Map(got)
  t.equal(m.get('get'), 'hello')
  t.same(m.get('get_multi'), [['rb:a', 'hello']])
  t.equal(m.get('get appended'), '--B++')
  t.equal(m.get('incr creates'), 10)
  t.equal(m.get('decr floors'), 0)
  t.equal(m.get('incr big'), 1)
  t.equal(m.get('get after cas'), 'hello!')
  t.equal(m.get('get near 1 MiB'), true)
  t.equal(m.get('multi-get of 50'), 50)
  t.equal(m.get('flush clears'), null)
  t.equal(b.out.trim().split('\n').length, 1, 'dalli logged no errors')
})

t.test('ruby-dalli logs in with SASL PLAIN (-S); a wrong password gets nothing', {
  skip: !haveMemcached() ? 'memcached not installed' : !haveDalli ? 'ruby-dalli not installed' : !hasCommand('saslpasswd2') ? 'sasl2-bin not installed' : false,
}, async (t) => {
  const mcPort = await startMemcached(t, [], users)
  const mr = await startServer(t, { sasl: true, saslPwdb: pwdb })
  const [a, b] = await Promise.all([dalli(mcPort, 'alice', 'secret'), dalli(mr.port, 'alice', 'secret')])
  t.same(parse(b.out), parse(a.out), 'logged-in scenario as memcached')
  t.equal(new Map(parse(b.out)).get('get'), 'hello')
  const [c, d] = await Promise.all([dalli(mcPort, 'alice', 'wrong'), dalli(mr.port, 'alice', 'wrong')])
  t.same(parse(d.out), parse(c.out), 'wrong password: same failures as memcached')
  t.match(String(new Map(parse(d.out)).get('get')), /^error: /, 'reads fail without a login')
  const [e, f] = await Promise.all([dalli(mcPort), dalli(mr.port)])
  t.same(parse(f.out), parse(e.out), 'no credentials: same failures as memcached')
})

/* eslint-disable @typescript-eslint/no-explicit-any */
function memjs (port: number, auth = ''): any {
  return require('memjs').Client.create(`${auth}127.0.0.1:${port}`, {
    retries: 0, timeout: 5, conntimeout: 5, keepAlive: false, logger: { log: () => {} },
  })
}

async function memjsScenario (port: number): Promise<Steps> {
  const c = memjs(port)
  const out: Steps = []
  const step = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
    try { out.push([name, await fn()]) } catch (err) { out.push([name, `error: ${(err as Error).message}`]) }
  }
  const str = (r: { value: Buffer | null }): string | null => r.value === null ? null : r.value.toString('latin1')
  try {
    await step('flush', async () => Object.values(await c.flush()))
    await step('set', async () => await c.set('mj:a', 'hello', { expires: 0 }))
    await step('get', async () => str(await c.get('mj:a')))
    await step('get miss', async () => str(await c.get('mj:none')))
    await step('add existing', async () => await c.add('mj:a', 'x', { expires: 0 }))
    await step('add new', async () => await c.add('mj:b', 'bee', { expires: 0 }))
    await step('replace missing', async () => await c.replace('mj:none', 'x', { expires: 0 }))
    await step('replace', async () => await c.replace('mj:b', 'B', { expires: 0 }))
    await step('append', async () => await c.append('mj:b', '++'))
    await step('prepend (memjs sends APPEND)', async () => await c.prepend('mj:b', '--'))
    await step('get appended', async () => str(await c.get('mj:b')))
    await step('append missing', async () => await c.append('mj:none', 'x'))
    await step('delete', async () => await c.delete('mj:b'))
    await step('delete miss', async () => await c.delete('mj:b'))
    await step('incr creates', async () => await c.increment('mj:n', 1, { initial: 10 }))
    await step('incr', async () => await c.increment('mj:n', 5, {}))
    await step('decr floors', async () => await c.decrement('mj:n', 100, {}))
    await step('get counter', async () => str(await c.get('mj:n')))
    await step('incr non-numeric', async () => await c.increment('mj:a', 1, {}))
    await step('touch', async () => await c.touch('mj:a', 100))
    await step('touch miss', async () => await c.touch('mj:none', 100))
    const big = Buffer.alloc(1024 * 1024 - 100, 0x42)
    await step('set near 1 MiB', async () => await c.set('mj:big', big, { expires: 0 }))
    await step('get near 1 MiB', async () => (await c.get('mj:big')).value.equals(big))
    await step('set over 1 MiB', async () => await c.set('mj:big2', Buffer.alloc(1024 * 1024 + 1), { expires: 0 }))
    const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    await step('binary-safe value', async () => { await c.set('mj:bin', bin, { expires: 0 }); return (await c.get('mj:bin')).value.equals(bin) })
    await step('version', async () => typeof Object.values(await c.version())[0])
    await step('flush clears', async () => { await c.flush(); return str(await c.get('mj:a')) })
  } finally {
    c.close()
  }
  return out
}

t.test('memjs scenario gives memcached\'s results', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  const mcPort = await startMemcached(t)
  const mr = await startServer(t)
  const want = await memjsScenario(mcPort)
  const got = await memjsScenario(mr.port)
  t.same(got, want, 'every step as memcached')
  const m = new Map(got)
  t.equal(m.get('get'), 'hello')
  t.equal(m.get('get appended'), 'B++--')
  t.same(m.get('incr creates'), { success: true, value: 10 })
  t.same(m.get('decr floors'), { success: true, value: 0 })
  t.equal(m.get('get near 1 MiB'), true)
  t.match(String(m.get('set over 1 MiB')), /^error: .*too large/i)
  t.equal(m.get('flush clears'), null)
})

t.test('memjs logs in with SASL PLAIN; a wrong password is refused', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  const mr = await startServer(t, { sasl: true, saslPwdb: pwdb })
  const good = memjs(mr.port, 'alice:secret@')
  try {
    t.equal(await good.set('k', 'v', { expires: 0 }), true, 'set after login')
    t.equal((await good.get('k')).value.toString(), 'v', 'get after login')
  } finally { good.close() }
  const bad = memjs(mr.port, 'alice:nope@')
  try {
    const err = await bad.get('k').then(() => null, (e: unknown) => e)
    t.match(String(err instanceof Error ? err.message : err), /authentication failed/, 'wrong password: the client reports the refusal')
  } finally { bad.close() }
  const anon = memjs(mr.port)
  try {
    const err = await anon.get('k').then(() => null, (e: unknown) => e)
    t.ok(err !== null, `no login: refused (${String(err)})`)
  } finally { anon.close() }
  t.equal(mr.ctx.stats.auth_cmds, 2)
  t.equal(mr.ctx.stats.auth_errors, 1)
})
