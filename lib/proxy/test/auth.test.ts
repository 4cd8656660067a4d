// Authentication through memring-proxy (issue 17 part 4): the proxy checks its clients
// itself (-S binary SASL PLAIN, -Y ASCII auth, lib/server's modules) and logs in to its
// backends with its own credentials (--backend-username/--backend-password). Real
// backends that require auth, real clients: memjs and dalli (SASL), pymemcache (-Y).
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { createProxy, type MemringProxy, type ProxyOptions } from '../proxy.js'
import { startServer } from '../../testing/servers.js'
import { rawClient } from '../../testing/raw-client.js'
import type { MemringServer } from '../../server/server.js'
import type { Teardown } from '../../testing/zookeeper.js'
import { startRelay } from '../../testing/tcp-relay.js'
import { waitFor } from '../../testing/wait-for.js'

const require = createRequire(import.meta.url)
const HERE = path.dirname(fileURLToPath(import.meta.url))
// dist/lib/proxy/test -> the sources' scripts
const PY_SCRIPT = path.resolve(HERE, '../../../../lib/server/test/auth-pymemcache.py')
const RB_SCRIPT = path.resolve(HERE, '../../../../compat-tests/clients/dalli_scenario.rb')
const PY = '/usr/bin/python3'
const havePymemcache = fs.existsSync(PY) && spawnSync(PY, ['-c', 'import pymemcache'], { stdio: 'ignore' }).status === 0
const haveDalli = spawnSync('ruby', ['-e', 'require "dalli"'], { stdio: 'ignore' }).status === 0

function file (t: Teardown, name: string, text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-auth-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const p = path.join(dir, name)
  fs.writeFileSync(p, text)
  return p
}

async function proxyOver (t: Teardown, servers: MemringServer[], extra: Partial<ProxyOptions>): Promise<MemringProxy> {
  const p = createProxy({ port: 0, topology: { kind: 'static', servers: servers.map((s) => ({ host: '127.0.0.1', port: s.port })) }, ...extra })
  await p.start()
  t.teardown(() => p.close())
  return p
}

function run (cmd: string, args: string[]): Promise<{ code: number | null, out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args)
    let out = ''
    p.stdout.on('data', (d) => { out += String(d) })
    p.stderr.on('data', (d) => { out += String(d) })
    p.on('exit', (code) => resolve({ code, out }))
  })
}

/** A memjs client logging in as user:pass (SASL PLAIN); closed at teardown. */
function memjs (t: Teardown, port: number, user: string, pass: string): { get: (k: string) => Promise<unknown>, set: (k: string, v: string) => Promise<unknown>, close: () => void } {
  const m = require('memjs')
  const c = m.Client.create(`${user}:${pass}@127.0.0.1:${port}`, { retries: 0, timeout: 5, logger: { log () {} } })
  t.teardown(() => c.close())
  return c
}

t.test('-S through the proxy, to backends that require SASL', async (t) => {
  const backendUsers = file(t, 'backend-pwdb', 'proxy:b4ckend\n')
  const clientUsers = file(t, 'client-pwdb', 'alice:wonderland\n')
  const servers = [await startServer(t, { sasl: true, saslPwdb: backendUsers }), await startServer(t, { sasl: true, saslPwdb: backendUsers })]
  const proxy = await proxyOver(t, servers, {
    auth: { sasl: true, saslPwdb: clientUsers, authFile: '' },
    backend: { auth: { username: 'proxy', password: 'b4ckend' } },
  })

  t.test('memjs with the right password reads and writes through the proxy', async (t) => {
    const c = memjs(t, proxy.port, 'alice', 'wonderland')
    for (let i = 0; i < 10; i++) t.ok(await c.set(`mj:${i}`, `v${i}`), `set mj:${i}`)
    const got = await c.get('mj:7') as { value: Buffer | null }
    t.equal(got.value?.toString(), 'v7')
    const logins = servers.reduce((n, s) => n + s.ctx.stats.auth_cmds, 0)
    t.ok(logins >= 1, `the proxy logged in to its backends (${logins} logins)`)
    t.equal(servers.reduce((n, s) => n + s.ctx.stats.auth_errors, 0), 0, 'no backend refused the proxy')
    t.ok(servers.every((s) => s.store.counters.curr_items > 0), 'both backends hold keys')
  })

  t.test('memjs with a wrong password is refused', async (t) => {
    const before = proxy.core.counters.proxy_auth_errors
    const c = memjs(t, proxy.port, 'alice', 'nope')
    await t.rejects(c.get('mj:1'), 'the get fails')
    t.ok(proxy.core.counters.proxy_auth_errors > before, 'proxy_auth_errors counts it')
  })

  t.test('an unauthenticated binary get answers AUTH_ERROR and the connection closes', async (t) => {
    const c = await rawClient(t, proxy.port)
    const get = Buffer.alloc(24 + 5)
    get[0] = 0x80; get[1] = 0x00; get.writeUInt16BE(5, 2); get.writeUInt32BE(5, 8); get.write('mj:1', 24)
    c.write(get)
    const reply = await c.bytes(24 + 13)
    t.equal(reply.readUInt16BE(6), 0x20, 'status 0x0020 AUTH_ERROR')
    t.equal(reply.subarray(24).toString(), 'Auth failure.')
    t.ok(await c.closedByPeer(), 'closed by the proxy')
  })

  t.test('a text client is closed (-S is binary only, as memring -S)', async (t) => {
    const c = await rawClient(t, proxy.port)
    c.write('get mj:1\r\n'.padEnd(30, ' '))
    t.ok(await c.closedByPeer(), 'closed by the proxy')
  })

  t.test('dalli (Ruby, binary SASL) runs its scenario through the proxy; a wrong password fails', { skip: haveDalli ? false : 'ruby-dalli not installed' }, async (t) => {
    const ok = await run('ruby', [RB_SCRIPT, '127.0.0.1', String(proxy.port), 'alice', 'wonderland'])
    t.equal(ok.code, 0, ok.out.trim())
    const bad = await run('ruby', [RB_SCRIPT, '127.0.0.1', String(proxy.port), 'alice', 'wrong'])
    t.not(bad.code, 0, `refused: ${bad.out.trim().split('\n')[0]}`)
  })
})

t.test('-Y through the proxy, to backends that require ASCII auth', async (t) => {
  const backendFile = file(t, 'backend-auth', 'proxy:b4ckend\n')
  const clientFile = file(t, 'client-auth', 'bob:builder\n')
  const servers = [await startServer(t, { authFile: backendFile }), await startServer(t, { authFile: backendFile })]
  const proxy = await proxyOver(t, servers, {
    auth: { sasl: false, saslPwdb: '', authFile: clientFile },
    backend: { auth: { username: 'proxy', password: 'b4ckend' } },
  })

  t.test('the gate replies as memring -Y does', async (t) => {
    const c = await rawClient(t, proxy.port)
    c.write('get k\r\n')
    t.same(await c.lines(1), ['CLIENT_ERROR unauthenticated'])
    c.write('set a 0 0 9\r\nbob wrong\r\n')
    t.same(await c.lines(1), ['CLIENT_ERROR authentication failure'])
    c.write('set a 0 0 11\r\nbob builder\r\n')
    t.same(await c.lines(1), ['STORED'])
    c.write('set k 0 0 2\r\nhi\r\nget k\r\n')
    t.same(await c.lines(4), ['STORED', 'VALUE k 0 2', 'hi', 'END'])
    t.equal(proxy.core.counters.proxy_auth_cmds, 2)
    t.equal(proxy.core.counters.proxy_auth_errors, 1)
    t.ok(servers.reduce((n, s) => n + s.ctx.stats.auth_cmds, 0) >= 1, 'the proxy logged in to a backend')
  })

  t.test('pymemcache logs in through the proxy; a wrong password is refused', { skip: havePymemcache ? false : 'python3-pymemcache not installed' }, async (t) => {
    // The reference: the same script against a memring -Y host (itself tested byte for byte against memcached -Y).
    const direct = await startServer(t, { authFile: clientFile })
    const py = async (port: number, pass: string): Promise<unknown> => JSON.parse((await run(PY, [PY_SCRIPT, '127.0.0.1', String(port), 'bob', pass])).out)
    const good = await py(proxy.port, 'builder') as Array<[string, unknown]>
    t.same(good, await py(direct.port, 'builder'), 'same results as a memring -Y host')
    t.same(good[1], ['login', true], 'logged in')
    t.same(good[3], ['get', 'v'], 'and read back what it wrote')
    const bad = await py(proxy.port, 'wrong') as Array<[string, unknown]>
    t.same(bad, await py(direct.port, 'wrong'), 'a wrong password: same results as a memring -Y host')
    t.match(bad[1], ['login', /authentication failure/], 'login refused')
  })
})

t.test('backend credentials', async (t) => {
  t.test('a backend that refuses the proxy\'s login never sees an unauthenticated request', async (t) => {
    const backendFile = file(t, 'backend-auth', 'proxy:b4ckend\n')
    const server = await startServer(t, { authFile: backendFile })
    const proxy = await proxyOver(t, [server], { backend: { auth: { username: 'proxy', password: 'wrong' }, tkoThreshold: 100 } })
    const c = await rawClient(t, proxy.port)
    c.write('set k 0 0 2\r\nhi\r\n')
    t.match((await c.lines(1))[0], /^SERVER_ERROR /, 'the write fails with a SERVER_ERROR')
    t.ok(server.ctx.stats.auth_errors >= 1, 'the backend counted the refused login')
    t.equal(server.store.counters.curr_items, 0, 'nothing stored')
  })

  t.test('a backend without auth stores nothing for the login line', async (t) => {
    const server = await startServer(t)
    const proxy = await proxyOver(t, [server], { backend: { auth: { username: 'proxy', password: 'b4ckend' } } })
    const c = await rawClient(t, proxy.port)
    c.write('set k 0 0 2\r\nhi\r\nget memring-proxy-auth k\r\n')
    t.same(await c.lines(4), ['STORED', 'VALUE k 0 2', 'hi', 'END'])
    t.equal(server.store.counters.curr_items, 1, 'only k: the credentials were not stored')
  })
})

t.test('a host marked down comes back through a probe that logs in', async (t) => {
  for (const kind of ['-Y', '-S'] as const) {
    await t.test(`${kind} host`, async (t) => {
      const users = file(t, 'backend-users', 'proxy:b4ckend\n')
      const server = await startServer(t, kind === '-Y' ? { authFile: users } : { sasl: true, saslPwdb: users })
      const relay = await startRelay(t, server.port)
      const proxy = createProxy({
        port: 0,
        topology: { kind: 'static', servers: [{ host: '127.0.0.1', port: relay.port }] },
        backend: { auth: { username: 'proxy', password: 'b4ckend' }, tkoThreshold: 1, timeoutMs: 300, probeMs: 20, probeMaxMs: 50 },
      })
      await proxy.start()
      t.teardown(() => proxy.close())
      const pool = proxy.router.pool
      // -Y hosts serve the proxy's text clients, -S hosts its binary clients.
      const m = kind === '-S' ? require('memjs').Client.create(`127.0.0.1:${proxy.port}`, { retries: 0, timeout: 2, logger: { log () {} } }) : null
      if (m !== null) t.teardown(() => m.close())
      const c = kind === '-Y' ? await rawClient(t, proxy.port) : null
      const set = async (): Promise<boolean> => {
        if (m !== null) return await m.set('k', 'v').then(() => true, () => false)
        c!.write('set k 0 0 1\r\nv\r\n')
        return (await c!.lines(1))[0] === 'STORED'
      }
      t.ok(await set(), 'a write through the proxy')
      relay.blockNew(true)
      relay.cut()
      await waitFor(async () => !(await set()) && pool.counters.backend_tko_marks > 0, { what: 'the host marked down' })
      relay.blockNew(false)
      await waitFor(() => pool.counters.backend_tko_recoveries > 0, { what: 'a probe brings it back', timeoutMs: 10000 })
      t.pass('recovered by a probe')
      await waitFor(async () => await set(), { what: 'writes work again' })
      t.pass('writes work again')
      t.equal(server.ctx.stats.auth_errors, 0, 'no login was refused')
    })
  }
})
