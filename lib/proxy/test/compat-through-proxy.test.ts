// The black-box compat suite (compat-tests/, real clients included) run through
// memring-proxy in front of three memring processes. Everything must pass except the
// documented fan-out differences of `stats` (lib/proxy/README.md).
import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { ChildServer, PROXY_BIN, startMemringProcess } from '../../testing/memring-process.js'
import { freePort } from '../../testing/zookeeper.js'

const RUNNER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../compat-tests/run.js')
const DOCUMENTED = new Set([
  'text/stats: stats: format and the usual fields', // limit_maxbytes is the cluster's sum
  'text/stats: stats sizes, stats conns, unknown group', // stats conns lists the proxy's backend connections
  'binary/commands: stat: general, a group, an unknown group', // maxbytes summed, as text
])

interface Summary { passed: number, failed: number, failures: { suite: string, test: string, message: string }[] }

t.test('compat suite through memring-proxy', { skip: existsSync(RUNNER) ? false : 'compat-tests not built' }, async (t) => {
  const hosts = [await startMemringProcess(t, ['-m', '64']), await startMemringProcess(t, ['-m', '64']), await startMemringProcess(t, ['-m', '64'])]
  const port = await freePort()
  const proxy = new ChildServer(PROXY_BIN, port, ['-p', String(port), '--servers', hosts.map((h) => h.address).join(',')])
  t.teardown(() => proxy.kill())
  await proxy.start()
  const dir = mkdtempSync(path.join(tmpdir(), 'memring-compat-proxy-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const json = path.join(dir, 'summary.json')
  const code = await new Promise<number | null>((resolve) => {
    const p = spawn(process.execPath, [RUNNER, '--target', `127.0.0.1:${port}`, '--json', json, '--deadline', '100'], { stdio: 'ignore' })
    p.on('exit', (c) => resolve(c))
  })
  const s = JSON.parse(readFileSync(json, 'utf8')) as Summary
  t.comment(`compat through the proxy: ${s.passed} passed, ${s.failed} failed (runner exit ${code})`)
  const unexpected = s.failures.filter((f) => !DOCUMENTED.has(`${f.suite}: ${f.test}`))
  t.same(unexpected.map((f) => `${f.suite}: ${f.test}: ${f.message}`), [], 'only documented differences fail')
  t.ok(s.passed >= 150, `${s.passed} passed`)
})
