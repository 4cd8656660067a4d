/**
 * A real Prometheus (Debian's package) scrapes a real memring process and a real
 * memring-proxy in front of it, both started by their binaries with --metrics-port; the
 * test queries Prometheus' HTTP API and checks that the scrapes parse (target health up)
 * and that the values follow the traffic the test makes: get hits and misses move
 * memcached_commands_total{command="get"} by exactly the number sent, a set moves
 * {command="set"}, the proxy counts its requests per backend, and the sampled request
 * histogram has observations.
 */
import t from 'tap'
import { ChildServer, PROXY_BIN, startMemringProcess } from '../../testing/memring-process.js'
import { freePort } from '../../testing/zookeeper.js'
import { exchange } from '../../testing/raw-client.js'
import { prometheusAvailable, startPrometheus, type PrometheusServer } from '../../testing/prometheus.js'
import { waitFor } from '../../testing/wait-for.js'

/** The value of a single-sample query once it equals `want` (waits for the next scrapes). */
async function settlesAt (prom: PrometheusServer, expr: string, want: number): Promise<number> {
  let last = NaN
  try {
    await waitFor(async () => {
      const r = await prom.query(expr)
      last = r.length === 1 ? r[0]!.value : NaN
      return last === want
    }, { timeoutMs: 20_000, intervalMs: 200, what: expr })
  } catch { /* reported by the caller's assertion */ }
  return last
}

t.test('Prometheus scrapes memring and memring-proxy; values follow traffic', { skip: prometheusAvailable() ? false : 'prometheus not installed (scripts/setup.sh)' }, async (t) => {
  const serverMetrics = await freePort()
  const server = await startMemringProcess(t, ['--metrics-port', String(serverMetrics), '--metrics-listen', '127.0.0.1'])
  const proxyPort = await freePort()
  const proxyMetrics = await freePort()
  const proxy = new ChildServer(PROXY_BIN, proxyPort, ['-p', String(proxyPort), '--servers', server.address, '--metrics-port', String(proxyMetrics), '--metrics-listen', '127.0.0.1'])
  t.teardown(() => proxy.kill())
  await proxy.start()

  const prom = await startPrometheus(t, { memring: `127.0.0.1:${serverMetrics}`, proxy: `127.0.0.1:${proxyMetrics}` })
  // Both targets scraped and parsed (a target whose exposition does not parse is down).
  await waitFor(async () => {
    const ts = await prom.targets()
    return ts.length === 2 && ts.every((x) => x.health === 'up')
  }, { timeoutMs: 20_000, intervalMs: 200, what: 'both targets up' })
  t.same((await prom.query('up')).map((s) => [s.labels.job, s.value]).sort(), [['memring', 1], ['proxy', 1]], 'up == 1 for both jobs')

  const hit = 'memcached_commands_total{job="memring",command="get",status="hit"}'
  const miss = 'memcached_commands_total{job="memring",command="get",status="miss"}'
  const set = 'memcached_commands_total{job="memring",command="set",status="hit"}'
  t.equal(await settlesAt(prom, hit, 0), 0, 'no get hits before traffic')

  // Directly to memring: 1 set, 3 hits, 2 misses.
  const reply = await exchange(server.port, 'set k 0 0 1\r\nv\r\nget k\r\nget k\r\nget k\r\nget nope\r\nget nope2\r\n')
  t.equal(reply.toString(), 'STORED\r\n' + 'VALUE k 0 1\r\nv\r\nEND\r\n'.repeat(3) + 'END\r\nEND\r\n')
  t.equal(await settlesAt(prom, hit, 3), 3, 'three get hits counted')
  t.equal(await settlesAt(prom, miss, 2), 2, 'two get misses counted')
  t.equal(await settlesAt(prom, set, 1), 1, 'one set counted')
  t.equal(await settlesAt(prom, 'memcached_current_items{job="memring"}', 1), 1, 'one item stored')

  // Through the proxy: two more hits reach memring, and the proxy counts them per backend.
  const viaProxy = await exchange(proxyPort, 'get k\r\nget k\r\n')
  t.equal(viaProxy.toString(), 'VALUE k 0 1\r\nv\r\nEND\r\n'.repeat(2))
  t.equal(await settlesAt(prom, hit, 5), 5, 'hits through the proxy counted by memring')
  t.equal(await settlesAt(prom, `memring_proxy_backend_requests_total{job="proxy",backend="${server.address}"}`, 2), 2, 'the proxy counts the backend requests')
  t.equal(await settlesAt(prom, `memring_proxy_backend_down{job="proxy",backend="${server.address}"}`, 0), 0, 'backend not marked down')

  // The request histogram times one request in 16: 32 more gets make 41 requests in all,
  // so the get class has at least two timed requests (the 16th and 32nd are gets).
  const many = await exchange(server.port, 'get k\r\n'.repeat(32))
  t.equal(many.toString(), 'VALUE k 0 1\r\nv\r\nEND\r\n'.repeat(32))
  t.equal(await settlesAt(prom, hit, 37), 37, 'all 37 hits counted')
  const timed = (await prom.query('memring_request_duration_seconds_count{job="memring",command="get"}'))[0]?.value ?? 0
  t.ok(timed >= 2 && timed <= 3, `sampled get requests timed: ${timed}`)
  const classes = (await prom.query('memring_request_duration_seconds_count{job="memring"}')).map((s) => s.labels.command).sort()
  t.same(classes, ['admin', 'arith', 'delete', 'get', 'meta', 'set', 'touch'], 'every command class exported')
  t.ok((await prom.query('memring_nodejs_eventloop_lag_seconds{job="memring"}')).length === 1, 'event-loop lag exported')
})
