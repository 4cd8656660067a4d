/**
 * libmemcached's protocol checker against memring: every ascii check must pass.
 * (The binary checks, `-b`, belong to the binary protocol tests.)
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { startServer } from '../../testing/servers.js'

const BIN = '/usr/bin/memccapable'

t.test('memccapable -a passes every ascii check', { skip: existsSync(BIN) ? false : 'memccapable not installed (libmemcached-tools)' }, async (t) => {
  const s = await startServer(t)
  // Asynchronous spawn: a synchronous one would block the event loop that serves memccapable.
  const r = await new Promise<{ code: number | null, out: string }>((resolve) => {
    const p = spawn(BIN, ['-a', '-h', '127.0.0.1', '-p', String(s.port)])
    let out = ''
    p.stdout.on('data', (d) => { out += String(d) })
    p.stderr.on('data', (d) => { out += String(d) })
    p.on('exit', (code) => resolve({ code, out }))
  })
  const passed = r.out.split('\n').filter((l) => /\[pass\]/.test(l)).length
  const failed = r.out.split('\n').filter((l) => /\[fail\]|\[FAIL\]/.test(l))
  t.same(failed, [], 'no failed checks')
  t.ok(passed >= 20, `${passed} ascii checks passed`)
  t.match(r.out, /All tests passed/)
  t.equal(r.code, 0)
})
