/**
 * Every metric family a running memring and memring-proxy expose (their `# TYPE` lines,
 * read from /metrics of the real binaries) is named in lib/metrics/README.md, so a metric
 * added to the code without its documentation fails here.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { ChildServer, PROXY_BIN, startMemringProcess } from '../../testing/memring-process.js'
import { freePort } from '../../testing/zookeeper.js'

const README = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../lib/metrics/README.md')

async function families (port: number): Promise<string[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  return text.split('\n').filter((l) => l.startsWith('# TYPE ')).map((l) => l.split(' ')[2]!)
}

t.test('every exported metric family is documented in lib/metrics/README.md', async (t) => {
  const serverMetrics = await freePort()
  const server = await startMemringProcess(t, ['--metrics-port', String(serverMetrics), '--metrics-listen', '127.0.0.1'])
  const proxyPort = await freePort()
  const proxyMetrics = await freePort()
  const proxy = new ChildServer(PROXY_BIN, proxyPort, ['-p', String(proxyPort), '-l', '127.0.0.1', '--servers', server.address, '--metrics-port', String(proxyMetrics), '--metrics-listen', '127.0.0.1'])
  t.teardown(() => proxy.kill())
  await proxy.start()
  const names = [...new Set([...await families(serverMetrics), ...await families(proxyMetrics)])].sort()
  t.ok(names.includes('memcached_commands_total') && names.includes('memring_proxy_backend_down'), `both scraped (${names.length} families)`)
  const doc = readFileSync(README, 'utf8')
  const missing = names.filter((n) => !doc.includes(`\`${n}\``))
  t.same(missing, [], 'every family is named (in backquotes) in the README')
})
