import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { AsciiAuthGate, AuthReply } from '../auth-ascii.js'
import { AsciiAuthFile, AuthFileError, SaslPasswordFile } from '../auth-file.js'
import { SaslConversation, SaslResult } from '../auth-sasl.js'

const b = (s: string): Buffer => Buffer.from(s, 'latin1')
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-auth-'))
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
const file = (name: string, text: string): string => {
  const p = path.join(dir, name)
  fs.writeFileSync(p, text)
  return p
}

t.test('the -Y authfile: user:password lines, colon allowed in the password, CR dropped', async (t) => {
  const f = new AsciiAuthFile(file('a1', 'alice:secret\r\nbob:pw:x\ncarol:c'))
  t.equal(f.size, 3)
  t.ok(f.check(b('alice'), b('secret')))
  t.ok(f.check(b('bob'), b('pw:x')))
  t.notOk(f.check(b('bob'), b('pw')))
  t.ok(f.check(b('carol'), b('c')))
  t.notOk(f.check(b('alice'), b('secret\r')))
})

t.test('a line without a colon (or a blank line) makes the authfile malformed, as memcached refuses to start', async (t) => {
  t.throws(() => new AsciiAuthFile(file('a2', 'alice:secret\n\nbob:x\n')), AuthFileError)
  t.throws(() => new AsciiAuthFile(file('a3', 'nocolon\n')), { code: 'MEMRING_ERR_AUTH_FILE_MALFORMED' })
  t.throws(() => new AsciiAuthFile(path.join(dir, 'missing')), { code: 'MEMRING_ERR_AUTH_FILE_OPEN' })
  t.equal(new AsciiAuthFile(file('a4', '')).size, 0, 'an empty file is valid and lets nobody in')
})

t.test('the SASL password file: first matching user decides, extra :fields ignored, re-read per check', async (t) => {
  const p = file('pw', 'alice:secret\nbob:pw2:extra\nalice:other\n')
  const f = new SaslPasswordFile(p)
  t.ok(f.check(b('alice'), b('secret')))
  t.notOk(f.check(b('alice'), b('other')), 'only the first alice line counts')
  t.ok(f.check(b('bob'), b('pw2')))
  t.notOk(f.check(b('bo'), b('pw2')))
  fs.writeFileSync(p, 'alice:changed\n')
  t.ok(f.check(b('alice'), b('changed')), 'an edit applies without restart')
  fs.rmSync(p)
  t.notOk(f.check(b('alice'), b('changed')), 'a missing file refuses everyone')
})

t.test('SASL PLAIN conversation follows memcached + Cyrus', async (t) => {
  const check = (u: Uint8Array, p: Uint8Array): boolean => b('alice').equals(u) && b('secret').equals(p)
  const c = new SaslConversation(check)
  const auth = (mech: string, data: string): SaslResult => { const m = b(mech); const d = b(data); return c.auth(m, 0, m.length, d, 0, d.length) }
  const step = (data: string): SaslResult => { const d = b(data); return c.step(d, 0, d.length) }
  t.equal(auth('PLAIN', '\0alice\0secret'), SaslResult.Ok)
  t.ok(c.authenticated)
  t.equal(step('\0alice\0secret'), SaslResult.Fail, 'a step after a completed exchange fails')
  t.notOk(c.authenticated, 'and drops authentication')
  t.equal(auth('plain', 'alice\0alice\0secret'), SaslResult.Ok, 'mechanism case-insensitive; authzid = authcid')
  c.listMechs()
  t.notOk(c.authenticated, 'LIST_MECHS re-initialises')
  t.equal(auth('PLAIN', 'bob\0alice\0secret'), SaslResult.Fail, 'authzid other than authcid')
  for (const bad of ['\0alice\0wrong', '\0alice', 'alice', '\0alice\0secret\0', '\0\0secret', '\0alice\0']) {
    t.equal(auth('PLAIN', bad), SaslResult.Fail, JSON.stringify(bad))
  }
  t.equal(step('\0alice\0secret'), SaslResult.Fail, 'a step without a started exchange fails')
  t.equal(auth('LOGIN', ''), SaslResult.Fail)
  t.equal(auth('PLAIN', ''), SaslResult.Continue)
  t.equal(step(''), SaslResult.Fail)
  t.equal(step('\0alice\0bad'), SaslResult.Fail)
  t.equal(step('\0alice\0secret'), SaslResult.Ok, 'a failed step does not end the exchange')
  t.ok(c.authenticated)
})

t.test('ASCII auth gate: replies, collapse to the last reply per chunk, rest handed on', async (t) => {
  const attempts: boolean[] = []
  const mk = (): AsciiAuthGate => new AsciiAuthGate((u, p) => b('alice').equals(u) && b('secret').equals(p), (ok) => attempts.push(ok))
  let g = mk()
  let r = g.push(b('get a\r\n'))
  t.same([r.reply, r.close, r.rest], [AuthReply.unauthenticated, false, null])
  r = g.push(b('set x 0 0 11\r\nalice wrong\r\n'))
  t.equal(r.reply, AuthReply.failure)
  r = g.push(b('set x 0 0 11\r\nalice wrong\r\nversion\r\n'))
  t.equal(r.reply, AuthReply.unauthenticated, 'only the last reply of a chunk survives (memcached)')
  r = g.push(b('set x 0 0 5\r\nalice\r\n'))
  t.equal(r.reply, AuthReply.badFormat)
  r = g.push(b('set x 0 0 11\r\nalice wrongXY\r\n'))
  t.equal(r.reply, AuthReply.unauthenticated, 'bad termination, then the leftover CRLF line')
  r = g.push(b('set x 0 0 12\r\nali'))
  t.same([r.reply, g.authenticated], [null, false])
  r = g.push(b('ce secret\r\nget a\r\n'))
  t.equal(r.reply, AuthReply.stored)
  t.ok(g.authenticated)
  t.equal(r.rest?.toString(), 'get a\r\n')
  t.same(attempts, [false, false, true])

  g = mk()
  r = g.push(b('set  x 0 0 13\r\nalice  secret\r\n'))
  t.equal(r.reply, AuthReply.stored, 'runs of spaces separate tokens')
  g = mk()
  r = g.push(b('set x 0 0 12\nalice secret\r\n'))
  t.equal(r.reply, AuthReply.stored, 'a bare LF ends the command line')
  g = mk()
  t.equal(g.push(b('set\tx 0 0 12\r\nalice secret\r\n')).reply, AuthReply.unauthenticated, 'a tab is not a separator')
  g = mk()
  t.equal(g.push(b('set x 0 0 -1\r\n')).reply, AuthReply.unauthenticated)
  g = mk()
  t.ok(g.push(Buffer.alloc(2049, 'x')).close, 'no newline within 2048 bytes closes')
  g = mk()
  t.notOk(g.push(b('set x 0 0 20000\r\n')).close)
  t.ok(g.push(Buffer.alloc(16384, 'a')).close, 'a data block that cannot fit 16 KiB closes once the buffer fills')
})
