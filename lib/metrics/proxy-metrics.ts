/**
 * memring-proxy's metrics, read at scrape time from the counters the proxy keeps for
 * `stats proxy` (lib/proxy/core.ts, backend.ts, router.ts), plus a sampled round-trip
 * histogram per backend (BackendHost.onLatency: one reply in 16, ms clock).
 */
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client'
import type { MemringProxy } from '../proxy/index.js'
import type { BackendCounters, BackendHost } from '../proxy/backend.js'
import { defineMetric } from './define.js'

/** Routing decisions: reason label -> the proxy counter that counts them. */
export const ROUTING_REASONS: ReadonlyArray<[string, string]> = [
  ['replica_read', 'proxy_replica_reads'],
  ['read_retry', 'proxy_read_retries'],
  ['no_host', 'proxy_no_host'],
  ['fenced_write', 'proxy_fenced_writes'],
]

export const BACKEND_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]

export function proxyRegistry (proxy: MemringProxy): Registry {
  const reg = new Registry()
  const core = proxy.core
  const router = proxy.router
  // Every counter of `stats proxy` (new ones included) as memring_<name>_total.
  for (const name of Object.keys(core.counters)) {
    defineMetric(reg, 'counter', `memring_${name}_total`, `stats proxy ${name}.`, [], (emit) => emit((core.counters as unknown as Record<string, number>)[name] ?? 0))
  }
  defineMetric(reg, 'counter', 'memring_proxy_routing_decisions_total', 'Requests routed other than to the shard\'s writer, by reason.', ['reason'], (emit) => {
    const c = core.counters as unknown as Record<string, number>
    for (const [reason, counter] of ROUTING_REASONS) if (typeof c[counter] === 'number') emit(c[counter], reason)
    emit(router.boundedMoves, 'bounded_load')
  })
  defineMetric(reg, 'gauge', 'memring_proxy_current_connections', 'Client connections open now.', [], (emit) => emit(core.currConnections()))
  defineMetric(reg, 'counter', 'memring_proxy_connections_total', 'Client connections accepted.', [], (emit) => emit(core.totalConnections()))
  defineMetric(reg, 'gauge', 'memring_proxy_topology_version', 'Version of the topology the proxy routes with.', [], (emit) => emit(router.topology.version))
  defineMetric(reg, 'gauge', 'memring_proxy_topology_stale', '1 while the ZooKeeper topology source is stale.', [], (emit) => emit(core.topologyStale() ? 1 : 0))
  defineMetric(reg, 'gauge', 'memring_proxy_shards', 'Shards in the topology.', [], (emit) => emit(router.shardCount))
  const hosts = (): Iterable<BackendHost> => router.pool.hosts.values()
  const perBackend: ReadonlyArray<[string, keyof BackendCounters, string]> = [
    ['memring_proxy_backend_requests_total', 'backend_requests', 'Requests sent to this backend.'],
    ['memring_proxy_backend_failures_total', 'backend_failures', 'Connection failures (timeout, lost, protocol error) of this backend.'],
    ['memring_proxy_backend_timeouts_total', 'backend_timeouts', 'Request timeouts of this backend.'],
    ['memring_proxy_backend_tko_marks_total', 'backend_tko_marks', 'Times this backend was marked down (TKO).'],
  ]
  for (const [metric, counter, help] of perBackend) {
    defineMetric(reg, 'counter', metric, help, ['backend'], (emit) => { for (const h of hosts()) emit(h.counters[counter], h.address) })
  }
  defineMetric(reg, 'gauge', 'memring_proxy_backend_down', '1 while the backend is marked down (TKO: requests fail fast until a probe succeeds).', ['backend'], (emit) => {
    for (const h of hosts()) emit(h.down ? 1 : 0, h.address)
  })
  defineMetric(reg, 'gauge', 'memring_proxy_backend_pending', 'Requests in flight to the backend.', ['backend'], (emit) => { for (const h of hosts()) emit(h.pending, h.address) })
  const latency = new Histogram({
    name: 'memring_proxy_backend_duration_seconds',
    help: 'Backend round trip of one reply in 16, by backend (millisecond clock).',
    labelNames: ['backend'],
    buckets: BACKEND_BUCKETS,
    registers: [reg],
  })
  router.pool.onLatency = (h, ms) => latency.observe({ backend: h.address }, ms / 1000)
  collectDefaultMetrics({ register: reg, prefix: 'memring_' })
  return reg
}
