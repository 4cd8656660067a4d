/**
 * The metrics of the Prometheus community's memcached_exporter, with its names, types and
 * labels, computed from memring's own `stats`, `stats settings`, `stats items` and
 * `stats slabs` rows exactly as that exporter computes them from memcached's (so its
 * dashboards and alerts read memring unchanged). The mapping is a table: README.md shows it.
 * Not exported, as memring has no source for them: extstore_* and the proxy_* group
 * (memcached's built-in proxy), which the exporter also leaves out for a plain memcached.
 */
import type { Registry } from 'prom-client'
import { statsRows } from '../server/stats-report.js'
import type { ServerContext } from '../server/context.js'
import { defineMetric, perScrape, type MetricKind } from './define.js'

type Rows = Map<string, string>

/** [metric, kind, stat row of `stats`, help]: one sample, no labels. */
export const GENERAL: ReadonlyArray<[string, MetricKind, string, string]> = [
  ['memcached_uptime_seconds', 'counter', 'uptime', 'Number of seconds since the server started.'],
  ['memcached_time_seconds', 'gauge', 'time', 'current UNIX time according to the server.'],
  ['memcached_current_bytes', 'gauge', 'bytes', 'Current number of bytes used to store items.'],
  ['memcached_limit_bytes', 'gauge', 'limit_maxbytes', 'Number of bytes this server is allowed to use for storage.'],
  ['memcached_current_items', 'gauge', 'curr_items', 'Current number of items stored by this instance.'],
  ['memcached_items_total', 'counter', 'total_items', 'Total number of items stored during the life of this instance.'],
  ['memcached_read_bytes_total', 'counter', 'bytes_read', 'Total number of bytes read by this server from network.'],
  ['memcached_written_bytes_total', 'counter', 'bytes_written', 'Total number of bytes sent by this server to network.'],
  ['memcached_current_connections', 'gauge', 'curr_connections', 'Current number of open connections.'],
  ['memcached_connections_total', 'counter', 'total_connections', 'Total number of connections opened since the server started running.'],
  ['memcached_connections_rejected_total', 'counter', 'rejected_connections', 'Total number of connections rejected due to the -c limit.'],
  ['memcached_connections_yielded_total', 'counter', 'conn_yields', 'Total number of connections yielded running due to hitting the -R limit.'],
  ['memcached_connections_listener_disabled_total', 'counter', 'listen_disabled_num', 'Number of times the connection limit disabled the listener.'],
  ['memcached_items_evicted_total', 'counter', 'evictions', 'Total number of valid items removed from cache to free memory for new items.'],
  ['memcached_items_reclaimed_total', 'counter', 'reclaimed', 'Total number of times an entry was stored using memory from an expired entry.'],
  ['memcached_item_too_large_total', 'counter', 'store_too_large', 'The number of times an item exceeded the max-item-size when being stored.'],
  ['memcached_item_no_memory_total', 'counter', 'store_no_memory', 'The number of times an item could not be stored due to no more memory.'],
  ['memcached_lru_crawler_starts_total', 'counter', 'lru_crawler_starts', 'Times an LRU crawler was started.'],
  ['memcached_direct_reclaims_total', 'counter', 'direct_reclaims', 'Times worker threads had to directly reclaim or evict items.'],
  ['memcached_lru_crawler_items_checked_total', 'counter', 'crawler_items_checked', 'Total items examined by LRU Crawler.'],
  ['memcached_lru_crawler_reclaimed_total', 'counter', 'crawler_reclaimed', 'Total items freed by LRU Crawler.'],
  ['memcached_lru_crawler_moves_to_cold_total', 'counter', 'moves_to_cold', 'Total number of items moved from HOT/WARM to COLD LRU\'s.'],
  ['memcached_lru_crawler_moves_to_warm_total', 'counter', 'moves_to_warm', 'Total number of items moved from COLD to WARM LRU.'],
  ['memcached_lru_crawler_moves_within_lru_total', 'counter', 'moves_within_lru', 'Total number of items reshuffled within HOT or WARM LRU\'s.'],
  ['memcached_accepting_connections', 'gauge', 'accepting_conns', 'The server is currently accepting new connections.'],
]

/** `stats settings` rows, emitted (as the exporter does) only while lru_crawler is yes. */
export const LRU_SETTINGS: ReadonlyArray<[string, string, string]> = [
  ['memcached_lru_crawler_enabled', 'lru_crawler', 'Whether the LRU crawler is enabled.'],
  ['memcached_lru_crawler_sleep', 'lru_crawler_sleep', 'Microseconds to sleep between LRU crawls.'],
  ['memcached_lru_crawler_to_crawl', 'lru_crawler_tocrawl', 'Max items to crawl per slab per run.'],
  ['memcached_lru_crawler_maintainer_thread', 'lru_maintainer_thread', 'Split LRU mode and background threads.'],
  ['memcached_lru_crawler_hot_percent', 'hot_lru_pct', 'Percent of slab memory reserved for HOT LRU.'],
  ['memcached_lru_crawler_warm_percent', 'warm_lru_pct', 'Percent of slab memory reserved for WARM LRU.'],
  ['memcached_lru_crawler_hot_max_factor', 'hot_max_factor', 'Set idle age of HOT LRU to COLD age * this'],
  ['memcached_lru_crawler_warm_max_factor', 'warm_max_factor', 'Set idle age of WARM LRU to COLD age * this'],
]

/** `stats items` rows (items:<slab>:<row>) -> [metric, kind, help], label slab. */
export const ITEMS: ReadonlyArray<[string, string, MetricKind, string]> = [
  ['number', 'memcached_slab_current_items', 'gauge', 'Number of items currently stored in this slab class.'],
  ['age', 'memcached_slab_items_age_seconds', 'gauge', 'Number of seconds the oldest item has been in the slab class.'],
  ['crawler_reclaimed', 'memcached_slab_items_crawler_reclaimed_total', 'counter', 'Number of items freed by the LRU Crawler.'],
  ['evicted', 'memcached_slab_items_evicted_total', 'counter', 'Total number of times an item had to be evicted from the LRU before it expired.'],
  ['evicted_nonzero', 'memcached_slab_items_evicted_nonzero_total', 'counter', 'Total number of times an item which had an explicit expire time set had to be evicted from the LRU before it expired.'],
  ['evicted_time', 'memcached_slab_items_evicted_time_seconds', 'counter', 'Seconds since the last access for the most recent item evicted from this class.'],
  ['evicted_unfetched', 'memcached_slab_items_evicted_unfetched_total', 'counter', 'Total number of items evicted and never fetched.'],
  ['expired_unfetched', 'memcached_slab_items_expired_unfetched_total', 'counter', 'Total number of valid items evicted from the LRU which were never touched after being set.'],
  ['outofmemory', 'memcached_slab_items_outofmemory_total', 'counter', 'Total number of items for this slab class that have triggered an out of memory error.'],
  ['reclaimed', 'memcached_slab_items_reclaimed_total', 'counter', 'Total number of items reclaimed.'],
  ['tailrepairs', 'memcached_slab_items_tailrepairs_total', 'counter', 'Total number of times the entries for a particular ID need repairing.'],
  ['mem_requested', 'memcached_slab_mem_requested_bytes', 'counter', 'Number of bytes of memory actual items take up within a slab.'],
  ['moves_to_cold', 'memcached_slab_items_moves_to_cold', 'counter', 'Number of items moved from HOT or WARM into COLD.'],
  ['moves_to_warm', 'memcached_slab_items_moves_to_warm', 'counter', 'Number of items moves from COLD into WARM.'],
  ['moves_within_lru', 'memcached_slab_items_moves_within_lru', 'counter', 'Number of times active items were bumped within HOT or WARM.'],
  ['number_hot', 'memcached_slab_hot_items', 'gauge', 'Number of items presently stored in the HOT LRU.'],
  ['number_warm', 'memcached_slab_warm_items', 'gauge', 'Number of items presently stored in the WARM LRU.'],
  ['number_cold', 'memcached_slab_cold_items', 'gauge', 'Number of items presently stored in the COLD LRU.'],
  ['number_temp', 'memcached_slab_temporary_items', 'gauge', 'Number of items presently stored in the TEMPORARY LRU.'],
  ['age_hot', 'memcached_slab_hot_age_seconds', 'gauge', 'Age of the oldest item in HOT LRU.'],
  ['age_warm', 'memcached_slab_warm_age_seconds', 'gauge', 'Age of the oldest item in WARM LRU.'],
]

/** `stats slabs` rows (<slab>:<row>) -> [metric, help], gauges, label slab. */
export const SLABS: ReadonlyArray<[string, string, string]> = [
  ['chunk_size', 'memcached_slab_chunk_size_bytes', 'Number of bytes allocated to each chunk within this slab class.'],
  ['chunks_per_page', 'memcached_slab_chunks_per_page', 'Number of chunks within a single page for this slab class.'],
  ['total_pages', 'memcached_slab_current_pages', 'Number of pages allocated to this slab class.'],
  ['total_chunks', 'memcached_slab_current_chunks', 'Number of chunks allocated to this slab class.'],
  ['used_chunks', 'memcached_slab_chunks_used', 'Number of chunks allocated to an item.'],
  ['free_chunks', 'memcached_slab_chunks_free', 'Number of chunks not yet allocated items.'],
  ['free_chunks_end', 'memcached_slab_chunks_free_end', 'Number of free chunks at the end of the last allocated page.'],
]

const OPS = ['get', 'delete', 'incr', 'decr', 'cas', 'touch']

interface Snapshot { general: Rows, settings: Rows, items: Map<string, Rows>, slabs: Map<string, Rows>, totalMalloced: number }

/** Rows named `<a>:<b>:<c>` or `<b>:<c>` grouped by the slab id. */
function bySlab (rows: Array<[string, string]>, prefix: string): Map<string, Rows> {
  const out = new Map<string, Rows>()
  for (const [k, v] of rows) {
    if (!k.startsWith(prefix)) continue
    const rest = k.slice(prefix.length)
    const c = rest.indexOf(':')
    if (c < 0) continue
    const slab = rest.slice(0, c)
    let m = out.get(slab)
    if (m === undefined) out.set(slab, m = new Map())
    m.set(rest.slice(c + 1), v)
  }
  return out
}

/** "seconds.micros" (rusage rows) or a plain number. */
function num (v: string | undefined): number {
  return v === undefined ? NaN : Number(v)
}

export function registerMemcachedExporterMetrics (reg: Registry, ctx: ServerContext): void {
  const snap = perScrape((): Snapshot => {
    const slabRows = statsRows(ctx, 'slabs')
    return {
      general: new Map(statsRows(ctx, 'general')),
      settings: new Map(statsRows(ctx, 'settings')),
      items: bySlab(statsRows(ctx, 'items'), 'items:'),
      slabs: bySlab(slabRows, ''),
      totalMalloced: num(slabRows.find(([k]) => k === 'total_malloced')?.[1]),
    }
  })
  defineMetric(reg, 'gauge', 'memcached_up', 'Could the memcached server be reached.', [], (emit) => { snap(); emit(1) })
  defineMetric(reg, 'gauge', 'memcached_version', 'The version of this memcached server.', ['version'], (emit) => emit(1, snap().general.get('version') ?? ''))
  defineMetric(reg, 'counter', 'memcached_process_user_cpu_seconds_total', 'Accumulated user time for this process.', [], (emit) => emit(num(snap().general.get('rusage_user'))))
  defineMetric(reg, 'counter', 'memcached_process_system_cpu_seconds_total', 'Accumulated system time for this process.', [], (emit) => emit(num(snap().general.get('rusage_system'))))
  for (const [name, kind, stat, help] of GENERAL) defineMetric(reg, kind, name, help, [], (emit) => emit(num(snap().general.get(stat))))
  // memcached prints total_malloced in `stats slabs`; the exporter looks for it in `stats`.
  defineMetric(reg, 'gauge', 'memcached_malloced_bytes', 'Number of bytes of memory allocated to slab pages.', [], (emit) => emit(snap().totalMalloced))
  defineMetric(reg, 'counter', 'memcached_commands_total', 'Total number of all requests broken down by command (get, set, etc.) and status.', ['command', 'status'], (emit) => {
    const g = snap().general
    for (const op of OPS) {
      emit(num(g.get(`${op}_hits`)), op, 'hit')
      emit(num(g.get(`${op}_misses`)), op, 'miss')
    }
    emit(num(g.get('cas_badval')), 'cas', 'badval')
    emit(num(g.get('cmd_flush')), 'flush', 'hit')
    // cmd_set counts cas commands too; the exporter takes them out.
    emit(num(g.get('cmd_set')) - num(g.get('cas_misses')) - num(g.get('cas_hits')) - num(g.get('cas_badval')), 'set', 'hit')
  })
  defineMetric(reg, 'gauge', 'memcached_max_connections', 'Maximum number of clients allowed.', [], (emit) => emit(num(snap().settings.get('maxconns'))))
  for (const [name, row, help] of LRU_SETTINGS) {
    defineMetric(reg, 'gauge', name, help, [], (emit) => {
      const s = snap().settings
      if (s.get('lru_crawler') !== 'yes') return
      const v = s.get(row)
      emit(v === 'yes' ? 1 : v === 'no' ? 0 : num(v))
    })
  }
  for (const [row, name, kind, help] of ITEMS) {
    defineMetric(reg, kind, name, help, ['slab'], (emit) => {
      for (const [slab, rows] of snap().items) if (rows.has(row)) emit(num(rows.get(row)), slab)
    })
  }
  defineMetric(reg, 'counter', 'memcached_slab_lru_hits_total', 'Number of get_hits to the LRU.', ['slab', 'lru'], (emit) => {
    for (const [slab, rows] of snap().items) {
      for (const lru of ['hot', 'warm', 'cold', 'temp']) if (rows.has(`hits_to_${lru}`)) emit(num(rows.get(`hits_to_${lru}`)), slab, lru === 'temp' ? 'temporary' : lru)
    }
  })
  for (const [row, name, help] of SLABS) {
    defineMetric(reg, 'gauge', name, help, ['slab'], (emit) => { for (const [slab, rows] of snap().slabs) emit(num(rows.get(row)), slab) })
  }
  defineMetric(reg, 'counter', 'memcached_slab_commands_total', 'Total number of all requests broken down by command (get, set, etc.) and status per slab.', ['slab', 'command', 'status'], (emit) => {
    for (const [slab, r] of snap().slabs) {
      for (const op of OPS) emit(num(r.get(`${op}_hits`)), slab, op, 'hit')
      emit(num(r.get('cas_badval')), slab, 'cas', 'badval')
      emit(num(r.get('cmd_set')) - num(r.get('cas_hits')) - num(r.get('cas_badval')), slab, 'set', 'hit')
    }
  })
}
