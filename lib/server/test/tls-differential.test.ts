/**
 * Server TLS (-Z, -o ssl_*, -l notls:, refresh_certs) against real memcached 1.6.18 started
 * with the same flags: real certificates from the openssl CLI, real clients (pymemcache with
 * an ssl context, openssl s_client), the same answers, the same handshake failures, the same
 * stats rows and start-up errors.
 */
import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { MEMCACHED_BIN, freePort, haveMemcached, waitForPort } from '../../testing/memcached.js'
import { ChildServer, MEMRING_BIN } from '../../testing/memring-process.js'
import { haveOpenssl, makeCerts, type TestCerts } from '../../testing/certs.js'
import { plainExchange, sClient } from '../../testing/tls-clients.js'
import type { Teardown } from '../../testing/zookeeper.js'

const PY = '/usr/bin/python3'
const PY_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../lib/server/test/tls-pymemcache.py')
const havePymemcache = fs.existsSync(PY) && spawnSync(PY, ['-c', 'import pymemcache'], { stdio: 'ignore' }).status === 0

const skip = !haveMemcached() ? 'memcached not installed' : !haveOpenssl() ? 'openssl not installed' : false
if (skip !== false) t.plan(0, skip)

interface Ports { tls: number, plain: number }

/** memcached and memring, each with a TLS listener and a notls: one, started with `args`. */
async function startEach (t: Teardown, args: string[]): Promise<[Ports, Ports]> {
  const notls = args.includes('-Z') ? 'notls:' : '' // memcached refuses notls: without -Z
  const mc = { tls: await freePort(), plain: await freePort() }
  const mr = { tls: await freePort(), plain: await freePort() }
  const listen = (p: Ports): string[] => ['-p', String(p.tls), '-l', `127.0.0.1:${p.tls},${notls}127.0.0.1:${p.plain}`, '-U', '0']
  const proc: ChildProcess = spawn(MEMCACHED_BIN, ['-u', 'root', ...listen(mc), ...args], { stdio: 'ignore' })
  t.teardown(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    proc.kill('SIGKILL')
    await new Promise((resolve) => proc.once('exit', resolve))
  })
  // The child is waited for on its notls: port: a bare connect to the TLS one is not a client.
  const child = new ChildServer(MEMRING_BIN, mr.plain, [...listen(mr), '-m', '32', ...args])
  t.teardown(() => child.kill())
  await Promise.all([waitForPort(mc.plain, 5000), child.start()])
  return [mc, mr]
}

const tlsArgs = (c: TestCerts, more = ''): string[] =>
  ['-Z', '-o', `ssl_chain_cert=${c.serverCert},ssl_key=${c.serverKey},ssl_ca_cert=${c.ca}${more}`]

async function stat (p: Ports, group: string, name: string): Promise<string | undefined> {
  const { out } = await plainExchange(p.plain, `stats${group}\r\nquit\r\n`)
  return new RegExp(`^STAT ${name} (.*)\r$`, 'm').exec(out)?.[1]
}

async function sslRows (p: Ports, group: string): Promise<string[]> {
  const { out } = await plainExchange(p.plain, `stats${group}\r\nquit\r\n`)
  return out.split('\r\n').filter((l) => /^STAT (ssl_|time_since_server_cert)/.test(l))
}

const certs = makeCerts(t)
const script = 'version\r\nset a 0 0 5\r\nhello\r\nget a\r\nquit\r\n'
const withClientCert = ['-CAfile', certs.ca, '-cert', certs.clientCert, '-key', certs.clientKey]

t.test('stats settings ssl_* rows and stats rows as memcached shows them', async (t) => {
  const [mc, mr] = await startEach(t, tlsArgs(certs, ',ssl_verify_mode=2,ssl_min_version=3,ssl_ciphers=HIGH'))
  const [a, b] = await Promise.all([sslRows(mc, ' settings'), sslRows(mr, ' settings')])
  t.equal(a.length, 11, 'memcached shows 11 ssl_ rows')
  t.same(b, a, 'the same rows, values and order')
  const [sa, sb] = await Promise.all([sslRows(mc, ''), sslRows(mr, '')])
  t.same(sb.map((l) => l.split(' ')[1]), sa.map((l) => l.split(' ')[1]), 'stats: the same TLS rows')
  t.equal(await stat(mr, '', 'ssl_handshake_errors'), '0')
  // memcached counts from its clock's zero, 62 s before its start (see stats-report.ts).
  const since = Number(await stat(mr, '', 'time_since_server_cert_refresh'))
  t.ok(since >= 62 && since < 62 + 60, `time_since_server_cert_refresh starts at 62 (${since})`)
})

t.test('without -Z: the ssl_ settings rows say off, stats has no TLS rows, refresh_certs says so', async (t) => {
  const [mc, mr] = await startEach(t, [])
  t.same(await sslRows(mr, ' settings'), await sslRows(mc, ' settings'))
  t.same(await sslRows(mr, ''), [])
  t.same(await sslRows(mc, ''), [])
  const cmd = 'refresh_certs\r\nrefresh_certs noreply\r\nquit\r\n'
  const [a, b] = await Promise.all([plainExchange(mc.plain, cmd), plainExchange(mr.plain, cmd)])
  t.equal(b.out, a.out)
  t.equal(a.out, 'Error TLS not enabled\r\nError TLS not enabled\r\n')
})

t.test('pymemcache with an ssl context, under ssl_verify_mode=2', { skip: havePymemcache ? false : 'python3-pymemcache not installed' }, async (t) => {
  const [mc, mr] = await startEach(t, tlsArgs(certs, ',ssl_verify_mode=2'))
  const run = async (port: number): Promise<Array<[string, unknown]>> => await new Promise((resolve, reject) => {
    const p = spawn(PY, [PY_SCRIPT, '127.0.0.1', String(port), certs.ca, certs.clientCert, certs.clientKey, certs.wrongCa])
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => { out += String(d) })
    p.stderr.on('data', (d) => { err += String(d) })
    p.on('exit', (code) => code === 0 ? resolve(JSON.parse(out) as Array<[string, unknown]>) : reject(new Error(`python exited ${code}: ${err}`)))
  })
  const [a, b] = await Promise.all([run(mc.tls), run(mr.tls)])
  t.same(b, a, 'every step as with memcached')
  const m = new Map(b)
  t.equal(m.get('set'), true)
  t.equal(m.get('get'), 3000)
  t.equal(m.get('incr'), 42)
  t.match(String(m.get('server cert from another CA')), /^error: SSL/, 'the client refuses a server certificate from another CA')
  t.match(String(m.get('no client certificate')), /^error/, 'the server refuses a client without a certificate')
})

t.test('openssl s_client: commands, handshake failures, handshake error counts (mode 2)', async (t) => {
  const [mc, mr] = await startEach(t, tlsArgs(certs, ',ssl_verify_mode=2'))
  const both = async (input: string, args: string[]): Promise<[string, string]> => {
    const [a, b] = await Promise.all([sClient(mc.tls, input, args), sClient(mr.tls, input, args)])
    return [a.out, b.out]
  }
  let [a, b] = await both(script, withClientCert)
  t.equal(a, 'VERSION 1.6.18\r\nSTORED\r\nVALUE a 0 5\r\nhello\r\nEND\r\n', 'memcached answers')
  t.equal(b, a, 'memring answers the same')
  ;[a, b] = await both(script, ['-CAfile', certs.wrongCa, '-cert', certs.clientCert, '-key', certs.clientKey])
  t.equal(a, ''); t.equal(b, '', 'a client that distrusts the server certificate gets nothing')
  ;[a, b] = await both(script, ['-CAfile', certs.ca, '-cert', certs.wrongCert, '-key', certs.wrongKey])
  t.equal(a, ''); t.equal(b, '', 'a client certificate from another CA is refused')
  ;[a, b] = await both(script, ['-CAfile', certs.ca])
  t.equal(a, ''); t.equal(b, '', 'no client certificate (TLS 1.3) is refused')
  ;[a, b] = await both(script, ['-CAfile', certs.ca, '-tls1_2'])
  t.equal(a, ''); t.equal(b, '', 'no client certificate (TLS 1.2) is refused')
  // memcached counts these failures or not from run to run; memring counts only the missing
  // certificate (an OpenSSL failure on the client's bytes), once per attempt.
  t.equal(await stat(mr, '', 'ssl_handshake_errors'), '2', 'memring: the two missing certificates count')
  const [pa, pb] = await Promise.all([plainExchange(mc.tls, 'version\r\n'), plainExchange(mr.tls, 'version\r\n')])
  t.same(pb, pa, 'plaintext on the TLS port: no reply, closed')
  t.same(pa, { out: '', closed: true })
  // (memcached counts this one too, when its read of the bytes loses no race: not pinned.)
  t.equal(await stat(mr, '', 'ssl_handshake_errors'), '3', 'memring: plaintext counts one handshake error')
  const [va, vb] = await Promise.all([plainExchange(mc.plain, script), plainExchange(mr.plain, script)])
  t.equal(vb.out, va.out, 'the notls: listener speaks plaintext beside it')
  t.match(va.out, /^VERSION 1\.6\.18\r\nSTORED\r\n/)
})

t.test('ssl_verify_mode=1: a certificate is optional, a bad one is refused', async (t) => {
  const [mc, mr] = await startEach(t, tlsArgs(certs, ',ssl_verify_mode=1'))
  for (const [name, args, ok] of [
    ['no client certificate', ['-CAfile', certs.ca], true],
    ['a good client certificate', withClientCert, true],
    ['a client certificate from another CA', ['-CAfile', certs.ca, '-cert', certs.wrongCert, '-key', certs.wrongKey], false],
  ] as Array<[string, string[], boolean]>) {
    const [a, b] = await Promise.all([sClient(mc.tls, script, args), sClient(mr.tls, script, args)])
    t.equal(b.out, a.out, `${name}: as memcached`)
    t.equal(a.out.startsWith('VERSION'), ok, `${name}: ${ok ? 'served' : 'refused'}`)
  }
})

t.test('refresh_certs: new files are served to new connections; a broken file keeps the old ones', async (t) => {
  const live = { cert: path.join(certs.dir, 'live.crt'), key: path.join(certs.dir, 'live.key') }
  fs.copyFileSync(certs.serverCert, live.cert)
  fs.copyFileSync(certs.serverKey, live.key)
  const [mc, mr] = await startEach(t, ['-Z', '-o', `ssl_chain_cert=${live.cert},ssl_key=${live.key}`])
  const served = async (p: Ports, ca: string): Promise<boolean> => (await sClient(p.tls, 'version\r\nquit\r\n', ['-CAfile', ca])).out.startsWith('VERSION')
  for (const p of [mc, mr]) t.ok(await served(p, certs.ca), 'the first certificate is served')
  fs.copyFileSync(certs.wrongCert, live.cert)
  fs.copyFileSync(certs.wrongKey, live.key)
  for (const p of [mc, mr]) t.ok(await served(p, certs.ca), 'until refresh_certs, still the first')
  const [ra, rb] = await Promise.all([plainExchange(mc.plain, 'refresh_certs\r\nquit\r\n'), plainExchange(mr.plain, 'refresh_certs\r\nquit\r\n')])
  t.equal(ra.out, 'OK\r\n'); t.equal(rb.out, ra.out, 'OK, as memcached')
  for (const [p, name] of [[mc, 'memcached'], [mr, 'memring']] as Array<[Ports, string]>) {
    t.notOk(await served(p, certs.ca), `${name}: the old CA no longer verifies it`)
    t.ok(await served(p, certs.wrongCa), `${name}: the new certificate is served`)
    t.ok(Number(await stat(p, '', 'time_since_server_cert_refresh')) < 5, `${name}: time_since_server_cert_refresh restarted`)
  }
  fs.rmSync(live.cert)
  const [ea, eb] = await Promise.all([plainExchange(mc.plain, 'refresh_certs noreply\r\nquit\r\n'), plainExchange(mr.plain, 'refresh_certs noreply\r\nquit\r\n')])
  t.equal(ea.out, `Error loading the certificate chain: ${live.cert} : error:80000002:system library::No such file or directory\r\n`)
  t.equal(eb.out, ea.out, 'a missing file: memcached\'s error line, even with noreply')
  for (const p of [mc, mr]) t.ok(await served(p, certs.wrongCa), 'the certificate in use stays')
})

t.test('start-up errors: memcached\'s messages (memring exits 2 where memcached exits 64 or 1)', async (t) => {
  const run = (bin: string[], args: string[]): { code: number | null, last: string } => {
    const r = spawnSync(bin[0], [...bin.slice(1), '-p', '1', '-U', '0', ...args], { encoding: 'utf8', timeout: 20000 })
    const lines = r.stderr.trim().split('\n')
    return { code: r.status, last: lines[lines.length - 1] }
  }
  const c = certs
  const cases: Array<[string, string[]]> = [
    ['-Z without a certificate', ['-Z']],
    ['a missing chain file', ['-Z', '-o', `ssl_chain_cert=${c.dir}/nope.crt,ssl_key=${c.serverKey}`]],
    ['no key', ['-Z', '-o', `ssl_chain_cert=${c.serverCert}`]],
    ['a key that does not match', ['-Z', '-o', `ssl_chain_cert=${c.serverCert},ssl_key=${c.clientKey}`]],
    ['a bad key format', ['-Z', '-o', `ssl_chain_cert=${c.serverCert},ssl_key=${c.serverKey},ssl_keyformat=7`]],
    ['a missing CA file', ['-Z', '-o', `ssl_chain_cert=${c.serverCert},ssl_key=${c.serverKey},ssl_ca_cert=${c.dir}/nope`]],
    ['unknown ciphers', ['-Z', '-o', `ssl_chain_cert=${c.serverCert},ssl_key=${c.serverKey},ssl_ciphers=BOGUS`]],
    ['verify mode out of range', ['-o', 'ssl_verify_mode=4']],
    ['min version not a number', ['-o', 'ssl_min_version=tlsv1.3']],
    ['keyformat not a number', ['-o', 'ssl_keyformat=x']],
    ['ssl_chain_cert without a value', ['-o', 'ssl_chain_cert']],
  ]
  for (const [name, args] of cases) {
    const [a, b] = [run([MEMCACHED_BIN, '-u', 'root'], args), run([process.execPath, MEMRING_BIN], args)]
    t.equal(b.last, a.last, `${name}: ${a.last}`)
    t.ok(a.code === 64 || a.code === 1, `${name}: memcached exits ${a.code}`)
    t.equal(b.code, 2, `${name}: memring exits 2`)
  }
})
