/**
 * libmemcached's protocol checker against memring with the binary protocol on (the
 * default): `memccapable -b` must pass every binary check, and a plain run (ascii and
 * binary) every check.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { startServer } from '../../testing/servers.js'

const BIN = '/usr/bin/memccapable'

function run (args: string[]): Promise<{ code: number | null, out: string }> {
  // Async: a blocking spawn would stall the event loop that serves memccapable.
  return new Promise((resolve) => {
    const p = spawn(BIN, args)
    let out = ''
    p.stdout.on('data', (d) => { out += String(d) })
    p.stderr.on('data', (d) => { out += String(d) })
    p.on('exit', (code) => resolve({ code, out }))
  })
}

const lines = (out: string, re: RegExp): string[] => out.split('\n').filter((l) => re.test(l))

t.test('memccapable -b passes every binary check', { skip: existsSync(BIN) ? false : 'memccapable not installed (libmemcached-tools)' }, async (t) => {
  const s = await startServer(t)
  const r = await run(['-b', '-h', '127.0.0.1', '-p', String(s.port)])
  t.same(lines(r.out, /\[(fail|FAIL)\]/), [], 'no failed checks')
  const passed = lines(r.out, /^binary .*\[pass\]/).length
  t.equal(passed, 27, 'all 27 binary checks pass')
  t.match(r.out, /All tests passed/)
  t.equal(r.code, 0)
})

t.test('memccapable (ascii and binary) passes every check', { skip: existsSync(BIN) ? false : 'memccapable not installed (libmemcached-tools)' }, async (t) => {
  const s = await startServer(t)
  const r = await run(['-h', '127.0.0.1', '-p', String(s.port)])
  t.same(lines(r.out, /\[(fail|FAIL)\]/), [], 'no failed checks')
  t.equal(lines(r.out, /\[pass\]/).length, 54, 'all 54 checks pass')
  t.equal(r.code, 0)
})
