/**
 * Configuration of -S / --sasl-pwdb / -Y / -B: memcached's conflict rules and messages,
 * start-up failures for bad password files (in-process and through the built binary), and
 * what `stats settings` and the auth counters report.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError, serverSettings } from '../../app/config.js'
import { protocolPlugins } from '../auth-setup.js'
import { AuthFileError } from '../auth-file.js'
import { defaultSettings } from '../settings.js'
import { startServer } from '../../testing/servers.js'
import { exchange } from './binary-harness.js'

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/memring.js')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-auth-config-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
const file = (name: string, text: string): string => { const p = path.join(dir, name); fs.writeFileSync(p, text); return p }
const good = file('good', 'alice:secret\n')
const bad = file('bad', 'alice:secret\nnocolon\n')

t.test('memcached\'s conflict rules for -S, -Y, -B and -U', async (t) => {
  t.throws(() => serverSettings({ enableSasl: true, protocol: 'ascii' }), new ConfigError('ERROR: You cannot allow the ASCII protocol while using SASL.'))
  t.throws(() => serverSettings({ enableSasl: true, udpPort: '11211' }), new ConfigError('ERROR: Cannot enable UDP while using binary SASL authentication.'))
  t.throws(() => serverSettings({ authFile: good, protocol: 'binary' }), new ConfigError('ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens.'))
  t.throws(() => serverSettings({ authFile: good, udpPort: '1' }), new ConfigError('Cannot use UDP with ascii authentication enabled (-U 0 to disable)'))
  const s = serverSettings({ enableSasl: true, saslPwdb: good, protocol: 'binary' })
  t.same([s.sasl, s.saslPwdb, s.protocol, s.authFile], [true, good, 'binary', ''])
  t.equal(serverSettings({ authFile: good }).authFile, good)
})

t.test('bad password files stop the start, with memcached\'s wording', async (t) => {
  const base = defaultSettings()
  t.throws(() => protocolPlugins({ ...base, authFile: bad }), AuthFileError)
  t.throws(() => protocolPlugins({ ...base, authFile: path.join(dir, 'missing') }), { code: 'MEMRING_ERR_AUTH_FILE_OPEN' })
  t.throws(() => protocolPlugins({ ...base, sasl: true }, {}), { code: 'MEMRING_ERR_AUTH_FILE_OPEN' }, '-S needs a password file')
  t.throws(() => protocolPlugins({ ...base, sasl: true, saslPwdb: path.join(dir, 'missing') }, {}), { code: 'MEMRING_ERR_AUTH_FILE_OPEN' })
  const p = protocolPlugins({ ...base, sasl: true }, { MEMCACHED_SASL_PWDB: good })
  t.ok(p.binary !== null && p.text === p.binary, 'MEMCACHED_SASL_PWDB is used; every connection speaks binary')
  const y = protocolPlugins({ ...base, sasl: true, authFile: good }, {})
  t.ok(y.binary === null && y.text !== null, 'with -S and -Y, -Y decides (text behind the gate), as in memcached')
})

t.test('the built binary refuses a malformed -Y file and exits 1', { skip: fs.existsSync(BIN) ? false : 'not built' }, async (t) => {
  const r = spawnSync(process.execPath, [BIN, '-l', '127.0.0.1', '-p', '0', '-Y', bad], { encoding: 'utf8', timeout: 10000 })
  t.equal(r.status, 1)
  t.match(r.stderr, `Authfile [${bad}] has a malformed entry. Should be 'user:password'`)
  const h = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8', timeout: 10000 })
  t.match(h.stdout, '-S, --enable-sasl')
  t.match(h.stdout, '--sasl-pwdb <file>')
  t.match(h.stdout, '-Y, --auth-file <file>')
})

t.test('stats settings and the auth counters', async (t) => {
  const y = await startServer(t, { authFile: good })
  await exchange(y.port, Buffer.from('set x 0 0 11\r\nalice wrong\r\n'))
  const ok = await exchange(y.port, Buffer.from('set x 0 0 12\r\nalice secret\r\nstats settings\r\nstats\r\n'))
  const text = ok.bytes.toString('latin1')
  t.match(text, /^STORED\r\n/)
  t.match(text, 'STAT binding_protocol ascii\r\n')
  t.match(text, 'STAT auth_enabled_sasl no\r\n')
  t.match(text, `STAT auth_enabled_ascii ${good}\r\n`)
  t.match(text, 'STAT auth_cmds 2\r\n')
  t.match(text, 'STAT auth_errors 1\r\n')
  const s = await startServer(t, { sasl: true, saslPwdb: good })
  t.equal(s.ctx.settings.sasl, true)
  const plain = await startServer(t)
  const st = await exchange(plain.port, Buffer.from('stats settings\r\n'))
  t.match(st.bytes.toString('latin1'), 'STAT binding_protocol auto-negotiate\r\nSTAT auth_enabled_sasl no\r\nSTAT auth_enabled_ascii no\r\n')
})

t.test('SIGHUP reloads the -Y authfile; a malformed file keeps the old users (memcached)', { skip: fs.existsSync(BIN) ? false : 'not built' }, async (t) => {
  const { spawn } = await import('node:child_process')
  const { freePort } = await import('../../testing/memcached.js')
  const { waitFor } = await import('../../testing/wait-for.js')
  const f = file('hup', 'alice:secret\n')
  const port = await freePort()
  const child = spawn(process.execPath, [BIN, '-l', '127.0.0.1', '-p', String(port), '-Y', f], { stdio: ['ignore', 'pipe', 'pipe'] })
  let log = ''
  child.stdout.on('data', (d) => { log += String(d) })
  child.stderr.on('data', (d) => { log += String(d) })
  t.teardown(() => { child.kill('SIGKILL') })
  const login = async (user: string, pass: string): Promise<string> => {
    const body = `${user} ${pass}`
    const r = await exchange(port, Buffer.from(`set x 0 0 ${body.length}\r\n${body}\r\n`))
    return r.bytes.toString('latin1')
  }
  await waitFor(async () => (await login('alice', 'secret').catch(() => '')) === 'STORED\r\n', { what: 'memring to serve' })
  t.equal(await login('carol', 'new'), 'CLIENT_ERROR authentication failure\r\n')
  fs.writeFileSync(f, 'carol:new\n')
  child.kill('SIGHUP')
  await waitFor(async () => (await login('carol', 'new')) === 'STORED\r\n', { what: 'the reloaded user to log in' })
  t.equal(await login('alice', 'secret'), 'CLIENT_ERROR authentication failure\r\n', 'the old user is gone')
  fs.writeFileSync(f, 'nocolon\n')
  child.kill('SIGHUP')
  await waitFor(() => log.includes('authfile reload failed'), { what: 'the failed reload to be logged' })
  const probe = await login('carol', 'new')
  t.equal(probe, 'STORED\r\n', 'a malformed file on reload keeps the users loaded before')
  t.equal(child.exitCode, null, 'still running')
})
