/**
 * libmemcached's protocol checker against memring: every ascii check must pass.
 * (The binary checks, `-b`, belong to the binary protocol tests.)
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { startServer } from '../../testing/servers.js'

const BIN = '/usr/bin/memccapable'

t.test('memccapable -a passes every ascii check', { skip: existsSync(BIN) ? false : 'memccapable not installed (libmemcached-tools)' }, async (t) => {
  const s = await startServer(t)
  const r = await new Promise<{ code: number | null, out: string }>((resolve) => {
    // spawnSync would block the event loop that serves memccapable: run it async.
    import('node:child_process').then(({ spawn }) => {
      const p = spawn(BIN, ['-a', '-h', '127.0.0.1', '-p', String(s.port)])
      let out = ''
      p.stdout.on('data', (d) => { out += String(d) })
      p.stderr.on('data', (d) => { out += String(d) })
      p.on('exit', (code) => resolve({ code, out }))
    }).catch(() => resolve({ code: -1, out: '' }))
  })
  void spawnSync
  const passed = r.out.split('\n').filter((l) => /\[pass\]/.test(l)).length
  const failed = r.out.split('\n').filter((l) => /\[fail\]|\[FAIL\]/.test(l))
  t.same(failed, [], 'no failed checks')
  t.ok(passed >= 20, `${passed} ascii checks passed`)
  t.match(r.out, /All tests passed/)
  t.equal(r.code, 0)
})
