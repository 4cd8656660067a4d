/**
 * The checked-in Grafana dashboard (lib/metrics/grafana/memring.json) asks only for metrics
 * that exist: every metric name in its PromQL (panel targets and template queries) must be
 * one that a live memring cluster host, its replica or a memring-proxy exports, read from
 * their real /metrics after traffic (histograms and per-replica series appear only once
 * something was timed or attached). With Debian's Prometheus installed, each expression is
 * also run through Prometheus' query API, so a PromQL syntax error fails here, not in Grafana.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { decodeLeaderRecord, leaderPath } from '../../cluster/layout.js'
import { ZkSession } from '../../cluster/zk.js'
import { ChildServer, PROXY_BIN, startMemringProcess } from '../../testing/memring-process.js'
import { prometheusAvailable, startPrometheus } from '../../testing/prometheus.js'
import { exchange } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'
import { freePort, startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'

const DASHBOARD = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../lib/metrics/grafana/memring.json')

interface Target { expr?: string }
interface Panel { type: string, title?: string, targets?: Target[], panels?: Panel[] }
interface Dashboard { panels: Panel[], templating: { list: Array<{ type: string, query?: string }> } }

/** Every PromQL expression of the dashboard: panel targets and query variables. */
function expressions (d: Dashboard): string[] {
  const out: string[] = []
  const walk = (ps: Panel[]): void => {
    for (const p of ps) {
      for (const tg of p.targets ?? []) if (typeof tg.expr === 'string') out.push(tg.expr)
      walk(p.panels ?? [])
    }
  }
  walk(d.panels)
  for (const v of d.templating.list) if (v.type === 'query' && typeof v.query === 'string') out.push(v.query)
  return out
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan'])

/**
 * The metric names an expression selects: identifiers outside strings, label matchers
 * `{...}`, ranges `[...]` and label lists `by (...)`, that are not a function call (a name
 * followed by `(`), a keyword, or a Grafana variable.
 */
function metricNames (expr: string): string[] {
  let s = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""')
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ')
  s = s.replace(/\b\d+(\.\d+)?[a-z]*\b/g, ' ') // numbers and durations (5m)
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
  // label_values(metric, label): the second argument is a label
  s = s.replace(/label_values\s*\(([^,)]*),[^)]*\)/g, 'label_values($1)')
  const names: string[] = []
  const re = /\$?[A-Za-z_:][A-Za-z0-9_:]*/g
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const id = m[0]
    if (id.startsWith('$') || KEYWORDS.has(id.toLowerCase())) continue
    if (/^\s*\(/.test(s.slice(m.index + id.length))) continue // a function
    names.push(id)
  }
  return names
}

/** The sample names of a Prometheus text exposition (histograms as _bucket/_sum/_count). */
function sampleNames (text: string): Set<string> {
  const out = new Set<string>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    out.add(/^[A-Za-z_:][A-Za-z0-9_:]*/.exec(line)![0])
  }
  return out
}

async function scrape (port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  return await res.text()
}

t.test('metricNames reads PromQL as the dashboard writes it', async (t) => {
  t.same(metricNames('histogram_quantile(0.99, sum by (le, command) (rate(a_bucket{job=~"$job",x="y z"}[$__rate_interval])))'), ['a_bucket'])
  t.same(metricNames('b_total{c="d"} / on (instance) e_bytes offset 5m'), ['b_total', 'e_bytes'])
  t.same(metricNames('label_values(f_info{job=~"$job"}, instance)'), ['f_info'])
})

t.test('every metric the Grafana dashboard queries is exported', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard
  const exprs = expressions(dash)
  const wanted = new Set(exprs.flatMap(metricNames))
  t.ok(exprs.length >= 20, `the dashboard has its expressions (${exprs.length})`)
  for (const prefix of ['memcached_', 'memring_replication_', 'memring_proxy_', 'memring_zk_']) {
    t.ok([...wanted].some((n) => n.startsWith(prefix)), `it queries ${prefix}* metrics`)
  }

  // A real cluster: two hosts of one shard (a master and its replica) and a proxy over them.
  const zk = await startZooKeeper(t)
  const cluster = ['--zk', zk.connectString, '--cluster', 'dash', '--shard', 's1', '--zk-session-timeout', '4000']
  const hostMetrics = [await freePort(), await freePort()]
  const hosts: ChildServer[] = []
  for (const m of hostMetrics) hosts.push(await startMemringProcess(t, [...cluster, '--metrics-port', String(m), '--metrics-listen', '127.0.0.1']))
  const obs = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 })
  t.teardown(() => obs.close())
  await obs.start()
  const leader = await waitFor(async () => {
    const got = await obs.getData(leaderPath('dash', 's1'))
    return got === null ? null : decodeLeaderRecord(got.data)
  }, { timeoutMs: 30_000, what: 'a master' })
  const master = hosts.find((h) => h.address === leader.node)!
  const proxyPort = await freePort()
  const proxyMetrics = await freePort()
  const proxy = new ChildServer(PROXY_BIN, proxyPort, ['-p', String(proxyPort), '-l', '127.0.0.1', '--zk', zk.connectString, '--cluster', 'dash', '--metrics-port', String(proxyMetrics), '--metrics-listen', '127.0.0.1'])
  t.teardown(() => proxy.kill())
  await proxy.start()

  // Traffic: every command class timed on the master (1 in 16 sampled), 40 proxied gets
  // (the backend histogram samples 1 in 16), and the replica attached (per-replica lag rows).
  await exchange(master.port, 'set k 0 0 1\r\nv\r\n' + 'get k\r\nincr n 1\r\ndelete x\r\ntouch k 0\r\nmn\r\nversion\r\n'.repeat(20))
  await waitFor(async () => (await exchange(proxyPort, 'get k\r\n')).toString().startsWith('VALUE'), { timeoutMs: 30_000, what: 'the proxy routing to the master' })
  await exchange(proxyPort, 'get k\r\n'.repeat(40))
  const exported = new Set<string>()
  await waitFor(async () => {
    for (const port of [...hostMetrics, proxyMetrics]) for (const n of sampleNames(await scrape(port))) exported.add(n)
    return [...wanted].every((n) => exported.has(n))
  }, { timeoutMs: 30_000, intervalMs: 250, what: 'every dashboard metric exported' }).catch(() => {})
  for (const n of [...wanted].sort()) t.ok(exported.has(n), `${n} is exported`)

  if (!prometheusAvailable()) { t.comment('prometheus not installed: PromQL syntax not checked'); return }
  const prom = await startPrometheus(t, { memring: `127.0.0.1:${hostMetrics[0]!}`, proxy: `127.0.0.1:${proxyMetrics}` })
  // Grafana's variables as Grafana would fill them for "All".
  const fill = (e: string): string => e.replaceAll('$__rate_interval', '1m').replaceAll('$job', '.*').replaceAll('$instance', '.*')
  for (const e of exprs) {
    if (e.startsWith('label_values(')) continue // a Grafana function, not PromQL
    await t.resolves(prom.query(fill(e)), `valid PromQL: ${e.slice(0, 90)}`)
  }
})
