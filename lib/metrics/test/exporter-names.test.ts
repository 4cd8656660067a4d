/**
 * memring's /metrics against memcached_exporter's documented metric set (names and types,
 * as its source declares them: prometheus/memcached_exporter pkg/exporter/exporter.go,
 * listed here by hand). Every metric the exporter derives from a `stats` row memring
 * reports must be there with the same type and labels; the only ones left out are the
 * extstore_* and proxy_* groups (memcached's external storage and built-in proxy, which
 * memring does not have; the exporter also omits them for a plain memcached).
 * Also: memring's own metrics and Node's runtime histograms are there.
 */
import t from 'tap'
import { startServer } from '../../testing/servers.js'
import { serverRegistry } from '../server-metrics.js'
import { exchange } from '../../testing/raw-client.js'

/** memcached_exporter's metrics: name -> [type, labels]. */
const EXPORTER: Record<string, [string, string[]]> = {
  memcached_up: ['gauge', []],
  memcached_uptime_seconds: ['counter', []],
  memcached_time_seconds: ['gauge', []],
  memcached_version: ['gauge', ['version']],
  memcached_process_user_cpu_seconds_total: ['counter', []],
  memcached_process_system_cpu_seconds_total: ['counter', []],
  memcached_read_bytes_total: ['counter', []],
  memcached_written_bytes_total: ['counter', []],
  memcached_current_connections: ['gauge', []],
  memcached_max_connections: ['gauge', []],
  memcached_connections_total: ['counter', []],
  memcached_connections_rejected_total: ['counter', []],
  memcached_connections_yielded_total: ['counter', []],
  memcached_connections_listener_disabled_total: ['counter', []],
  memcached_current_bytes: ['gauge', []],
  memcached_limit_bytes: ['gauge', []],
  memcached_commands_total: ['counter', ['command', 'status']],
  memcached_current_items: ['gauge', []],
  memcached_items_total: ['counter', []],
  memcached_items_evicted_total: ['counter', []],
  memcached_items_reclaimed_total: ['counter', []],
  memcached_item_too_large_total: ['counter', []],
  memcached_item_no_memory_total: ['counter', []],
  memcached_lru_crawler_enabled: ['gauge', []],
  memcached_lru_crawler_sleep: ['gauge', []],
  memcached_lru_crawler_to_crawl: ['gauge', []],
  memcached_lru_crawler_maintainer_thread: ['gauge', []],
  memcached_lru_crawler_hot_percent: ['gauge', []],
  memcached_lru_crawler_warm_percent: ['gauge', []],
  memcached_lru_crawler_hot_max_factor: ['gauge', []],
  memcached_lru_crawler_warm_max_factor: ['gauge', []],
  memcached_lru_crawler_starts_total: ['counter', []],
  memcached_lru_crawler_reclaimed_total: ['counter', []],
  memcached_lru_crawler_items_checked_total: ['counter', []],
  memcached_lru_crawler_moves_to_cold_total: ['counter', []],
  memcached_lru_crawler_moves_to_warm_total: ['counter', []],
  memcached_lru_crawler_moves_within_lru_total: ['counter', []],
  memcached_direct_reclaims_total: ['counter', []],
  memcached_malloced_bytes: ['gauge', []],
  memcached_accepting_connections: ['gauge', []],
  memcached_slab_current_items: ['gauge', ['slab']],
  memcached_slab_items_age_seconds: ['gauge', ['slab']],
  memcached_slab_items_crawler_reclaimed_total: ['counter', ['slab']],
  memcached_slab_items_evicted_total: ['counter', ['slab']],
  memcached_slab_items_evicted_nonzero_total: ['counter', ['slab']],
  memcached_slab_items_evicted_time_seconds: ['counter', ['slab']],
  memcached_slab_items_evicted_unfetched_total: ['counter', ['slab']],
  memcached_slab_items_expired_unfetched_total: ['counter', ['slab']],
  memcached_slab_items_outofmemory_total: ['counter', ['slab']],
  memcached_slab_items_reclaimed_total: ['counter', ['slab']],
  memcached_slab_items_tailrepairs_total: ['counter', ['slab']],
  memcached_slab_items_moves_to_cold: ['counter', ['slab']],
  memcached_slab_items_moves_to_warm: ['counter', ['slab']],
  memcached_slab_items_moves_within_lru: ['counter', ['slab']],
  memcached_slab_hot_items: ['gauge', ['slab']],
  memcached_slab_warm_items: ['gauge', ['slab']],
  memcached_slab_cold_items: ['gauge', ['slab']],
  memcached_slab_temporary_items: ['gauge', ['slab']],
  memcached_slab_hot_age_seconds: ['gauge', ['slab']],
  memcached_slab_warm_age_seconds: ['gauge', ['slab']],
  memcached_slab_lru_hits_total: ['counter', ['slab', 'lru']],
  memcached_slab_chunk_size_bytes: ['gauge', ['slab']],
  memcached_slab_chunks_per_page: ['gauge', ['slab']],
  memcached_slab_current_pages: ['gauge', ['slab']],
  memcached_slab_current_chunks: ['gauge', ['slab']],
  memcached_slab_chunks_used: ['gauge', ['slab']],
  memcached_slab_chunks_free: ['gauge', ['slab']],
  memcached_slab_chunks_free_end: ['gauge', ['slab']],
  memcached_slab_mem_requested_bytes: ['counter', ['slab']],
  memcached_slab_commands_total: ['counter', ['slab', 'command', 'status']],
}

/** name -> [type, label names seen on its samples]. */
function parseExposition (text: string): Map<string, [string, Set<string>]> {
  const out = new Map<string, [string, Set<string>]>()
  for (const line of text.split('\n')) {
    const m = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (m !== null) { out.set(m[1]!, [m[2]!, new Set()]); continue }
    const s = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? /.exec(line)
    if (s === null) continue
    const entry = out.get(s[1]!) ?? out.get(s[1]!.replace(/_(bucket|sum|count)$/, ''))
    if (entry === undefined || s[2] === undefined) continue
    for (const kv of s[2].split(/,(?=[a-zA-Z_]+=)/)) entry[1].add(kv.slice(0, kv.indexOf('=')))
  }
  return out
}

t.test('the memcached_* metrics are memcached_exporter\'s, with its types and labels', async (t) => {
  const server = await startServer(t)
  // Items in one class, so per-slab metrics have samples to carry their labels.
  await exchange(server.port, 'set a 0 0 1\r\nx\r\nget a\r\n')
  const reg = serverRegistry(server.ctx)
  const got = parseExposition(await reg.metrics())
  const missing: string[] = []
  for (const [name, [type, labels]] of Object.entries(EXPORTER)) {
    const g = got.get(name)
    if (g === undefined) { missing.push(name); continue }
    t.equal(g[0], type, `${name} is a ${type}`)
    // number_temp exists only with the TEMP LRU on (as in memcached): no sample, no labels.
    if (name !== 'memcached_slab_temporary_items') t.same([...g[1]].sort(), [...labels].sort(), `${name} labels`)
  }
  t.same(missing, [], 'every memcached_exporter metric is exported')
  const extra = [...got.keys()].filter((n) => n.startsWith('memcached_') && !(n in EXPORTER))
  t.same(extra, [], 'no memcached_* metric the exporter does not have')
  for (const own of ['memring_replication_role', 'memring_replication_epoch', 'memring_replication_lag_seqno', 'memring_replication_lag_milliseconds',
    'memring_replication_full_syncs_total', 'memring_replication_partial_syncs_total', 'memring_replication_backlog_seconds',
    'memring_zk_session_state', 'memring_request_duration_seconds', 'memring_nodejs_eventloop_lag_seconds', 'memring_nodejs_gc_duration_seconds']) {
    t.ok(got.has(own), `${own} exported`)
  }
  t.equal(got.get('memring_nodejs_gc_duration_seconds')?.[0], 'histogram', 'GC pauses are a histogram')
})
