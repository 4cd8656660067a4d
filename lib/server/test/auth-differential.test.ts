/**
 * SASL (-S) and ASCII auth (-Y) against real memcached 1.6.18: the same scripts go to a
 * fresh memcached and a fresh memring configured alike, and the bytes must be identical.
 * memcached's SASL users live in a Cyrus sasldb (Debian builds it without its own password
 * file); memring's in a user:password file. Same users, same answers.
 */
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { haveMemcached } from '../../testing/memcached.js'
import { startServer } from '../../testing/servers.js'
import { Opcode as O } from '../../../protocol/binary/opcodes.js'
import { encodeRequest, storeExtras } from '../../../protocol/binary/request-encoder.js'
import { exchange, hasCommand, startMemcached, transcript } from './binary-harness.js'

const users = [{ user: 'alice', password: 'secret' }, { user: 'bob', password: 'pw2' }]
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-auth-diff-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
const pwdb = path.join(dir, 'pwdb')
fs.writeFileSync(pwdb, users.map((u) => `${u.user}:${u.password}\n`).join(''))
const authfile = path.join(dir, 'authfile')
fs.writeFileSync(authfile, 'alice:secret\nbob:pw:x\n')

const r = encodeRequest
const auth = (mech: string, data: string, opaque: number, op: number = O.SaslAuth): Buffer =>
  r({ opcode: op, key: mech, value: Buffer.from(data, 'latin1'), opaque })
const noop = (opaque: number): Buffer => r({ opcode: O.Noop, opaque })
const get = (key: string, opaque: number): Buffer => r({ opcode: O.Get, key, opaque })

const saslScripts: Array<[string, Buffer]> = [
  ['list mechanisms, version without login, anything else refused and closed',
    Buffer.concat([r({ opcode: O.SaslListMechs, opaque: 1 }), r({ opcode: O.Version, opaque: 2 }), noop(3), noop(4)])],
  ['an unauthenticated GET is refused with AUTH_ERROR and the connection closes',
    Buffer.concat([get('a', 1), noop(2)])],
  ['PLAIN login, then commands work',
    Buffer.concat([auth('PLAIN', '\0alice\0secret', 1), noop(2),
      r({ opcode: O.Set, key: 'k', extras: storeExtras(3, 0), value: 'v', opaque: 3 }), get('k', 4)])],
  ['wrong password: AUTH_ERROR, connection stays, next command refused and closed',
    Buffer.concat([auth('PLAIN', '\0alice\0wrong', 1), noop(2)])],
  ['authzid equal to the user is accepted, a different one refused, another user works',
    Buffer.concat([auth('PLAIN', 'alice\0alice\0secret', 1), auth('PLAIN', 'bob\0alice\0secret', 2), auth('PLAIN', '\0bob\0pw2', 3), noop(4)])],
  ['empty AUTH answers AUTH_CONTINUE, STEP completes; mechanism name is case-insensitive',
    Buffer.concat([auth('plain', '', 1), auth('PLAIN', '\0alice\0secret', 2, O.SaslStep), noop(3)])],
  ['failed STEP after CONTINUE can be retried',
    Buffer.concat([auth('PLAIN', '', 1), auth('PLAIN', '', 2, O.SaslStep), auth('PLAIN', '\0alice\0bad', 3, O.SaslStep),
      auth('X', '\0alice\0secret', 4, O.SaslStep), noop(5)])],
  ['STEP without AUTH, unknown mechanism, too-long mechanism',
    Buffer.concat([auth('PLAIN', '\0alice\0secret', 1, O.SaslStep), auth('LOGIN', '', 2), auth('P'.repeat(33), 'xx', 3), noop(4)])],
  ['malformed PLAIN data is refused',
    Buffer.concat([auth('PLAIN', '\0alice', 1), auth('PLAIN', 'alice', 2), auth('PLAIN', '\0alice\0secret\0', 3),
      auth('PLAIN', '\0\0secret', 4), auth('PLAIN', '\0alice\0', 5), auth('PLAIN', '\0alice\0sec\0ret', 6)])],
  ['a failed re-login drops the earlier login',
    Buffer.concat([auth('PLAIN', '\0alice\0secret', 1), auth('PLAIN', '\0alice\0wrong', 2), noop(3)])],
  ['LIST_MECHS after login drops the login (memcached re-initialises SASL)',
    Buffer.concat([auth('PLAIN', '\0alice\0secret', 1), r({ opcode: O.SaslListMechs, opaque: 2 }), noop(3)])],
  ['a STEP after a completed login fails and drops it',
    Buffer.concat([auth('PLAIN', '\0alice\0secret', 1), auth('PLAIN', '\0alice\0secret', 2, O.SaslStep), noop(3)])],
  ['SASL_AUTH with extras or without a mechanism is EINVAL and closes',
    Buffer.concat([r({ opcode: O.SaslAuth, key: 'PLAIN', extras: Buffer.alloc(4), value: 'x', opaque: 1 }), noop(2)])],
  ['keylen beyond bodylen is UNKNOWN_COMMAND even before login',
    Buffer.concat([r({ opcode: O.Get, key: 'kk', bodylen: 1, opaque: 1 })])],
  ['a text command on a SASL server: closed once 24 bytes are in',
    Buffer.from('get aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n')],
]

t.test('SASL (-S) is byte-identical to memcached 1.6.18', {
  skip: !haveMemcached() ? 'memcached not installed' : !hasCommand('saslpasswd2') ? 'saslpasswd2 not installed (Debian sasl2-bin)' : false,
}, async (t) => {
  for (const [name, bytes] of saslScripts) {
    await t.test(name, async (t) => {
      const mcPort = await startMemcached(t, [], users)
      const mr = await startServer(t, { sasl: true, saslPwdb: pwdb })
      const [a, b] = await Promise.all([exchange(mcPort, bytes), exchange(mr.port, bytes)])
      if (!a.bytes.equals(b.bytes)) t.same(transcript(b.bytes), transcript(a.bytes))
      t.ok(a.bytes.length > 0 || name.startsWith('a text command'), 'memcached answered something')
      t.ok(a.bytes.equals(b.bytes), 'memring bytes equal memcached bytes')
    })
  }
})

const asciiScripts: Array<[string, string | Buffer]> = [
  ['commands before login are refused; only the last reply of a read is sent', 'get a\r\nversion\r\n'],
  ['login, then the text protocol', 'set x 0 0 12\r\nalice secret\r\nversion\r\nset a 0 0 1\r\n1\r\nget a\r\n'],
  ['wrong password', 'set x 0 0 11\r\nalice wrong\r\n'],
  ['a password with a colon, extra tokens ignored', 'set x 0 0 12\r\nbob pw:x zzz\r\nversion\r\n'],
  ['bad termination and bad token format', 'set x 0 0 11\r\nalice wrongXY\r\n'],
  ['one token', 'set x 0 0 5\r\nalice\r\n'],
  ['four tokens, bad size, negative size, tab separator', 'set x 0 0\r\n'],
  ['bare LF and double spaces', 'set  x 0 0 13\nalice  secret\r\nversion\n'],
  ['a binary packet is just text here', encodeRequest({ opcode: O.Noop })],
  ['no newline within 2048 bytes closes', 'x'.repeat(3000)],
  ['noreply on the login set is ignored', 'set x 0 0 12 noreply\r\nalice secret\r\nversion\r\n'],
  ['upper-case SET is not a login', 'SET x 0 0 12\r\nalice secret\r\n'],
]

t.test('ASCII auth (-Y) is byte-identical to memcached 1.6.18', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  for (const [name, script] of asciiScripts) {
    await t.test(name, async (t) => {
      const bytes = typeof script === 'string' ? Buffer.from(script, 'latin1') : script
      const mcPort = await startMemcached(t, ['-Y', authfile])
      const mr = await startServer(t, { authFile: authfile })
      const [a, b] = await Promise.all([exchange(mcPort, bytes), exchange(mr.port, bytes)])
      t.equal(b.bytes.toString('latin1'), a.bytes.toString('latin1'), 'memring bytes equal memcached bytes')
    })
  }
})

const PY = '/usr/bin/python3'
const PY_SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../lib/server/test/auth-pymemcache.py')
const havePymemcache = fs.existsSync(PY) && spawnSync(PY, ['-c', 'import pymemcache'], { stdio: 'ignore' }).status === 0

function pymemcache (port: number, user: string, pass: string): Promise<Array<[string, unknown]>> {
  return new Promise((resolve, reject) => {
    const p = spawn(PY, [PY_SCRIPT, '127.0.0.1', String(port), user, pass])
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => { out += String(d) })
    p.stderr.on('data', (d) => { err += String(d) })
    p.on('exit', (code) => code === 0 ? resolve(JSON.parse(out) as Array<[string, unknown]>) : reject(new Error(`python exited ${code}: ${err}`)))
  })
}

t.test('a real text client (pymemcache) logs in with ASCII auth as with memcached', {
  skip: !haveMemcached() ? 'memcached not installed' : !havePymemcache ? 'python3-pymemcache not installed' : false,
}, async (t) => {
  const mcPort = await startMemcached(t, ['-Y', authfile])
  const mr = await startServer(t, { authFile: authfile })
  for (const [user, pass] of [['alice', 'secret'], ['alice', 'wrong']]) {
    const [a, b] = await Promise.all([pymemcache(mcPort, user, pass), pymemcache(mr.port, user, pass)])
    t.same(b, a, `${user}/${pass}: every step as memcached`)
    const m = new Map(b)
    if (pass === 'secret') {
      t.equal(m.get('login'), true)
      t.equal(m.get('get'), 'v')
      t.equal(m.get('incr'), 42)
    } else {
      t.match(String(m.get('login')), /authentication failure/)
      // After a failed login every set is another login attempt (one token: bad format).
      t.match(String(m.get('set')), /bad authentication token format/)
    }
    t.match(String(m.get('get before login')), /unauthenticated/)
  }
})
