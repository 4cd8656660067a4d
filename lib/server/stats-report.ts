/**
 * `stats`, `stats settings|items|slabs|sizes|conns` in memcached 1.6.18's field names and
 * order, so exporters and dashboards built for memcached read memring unchanged. Runs on
 * an operator command, not per request, so plain string building is fine here.
 */
import { minVersionName, verifyModeBits } from './tls.js'
import { formatFixed } from '../../protocol/float.js'
import type { ServerContext } from './context.js'
import type { Output } from './output.js'
import { SlabStore } from '../store/slab-store.js'

const CHUNK_FIELDS = (s: ServerContext, c: number): Array<[string, number | string]> => {
  const st = s.store
  const slabs = st.slabs
  const pages = slabs.pagesOf[c]
  const total = pages * slabs.perPage[c]
  return [
    ['chunk_size', slabs.chunkSize[c]],
    ['chunks_per_page', slabs.perPage[c]],
    ['total_pages', pages],
    ['total_chunks', total],
    ['used_chunks', slabs.usedChunks[c]],
    ['free_chunks', total - slabs.usedChunks[c]],
    ['free_chunks_end', 0],
    ['get_hits', st.cls.getHits[c]],
    ['cmd_set', st.cls.cmdSet[c]],
    ['delete_hits', st.cls.deleteHits[c]],
    ['incr_hits', st.cls.incrHits[c]],
    ['decr_hits', st.cls.decrHits[c]],
    ['cas_hits', st.cls.casHits[c]],
    ['cas_badval', st.cls.casBadval[c]],
    ['touch_hits', st.cls.touchHits[c]],
  ]
}

/** Where the STAT lines go: a connection's Output, or a collector (statsRows, /metrics). */
export type StatsSink = Pick<Output, 'ascii'>

/** One `stats [group]` reply as (name, value) pairs, in memcached's order, without END. */
export function statsRows (ctx: ServerContext, group: string): Array<[string, string]> {
  const rows: Array<[string, string]> = []
  writeStats({ ascii: (s: string) => { if (s.startsWith('STAT ')) { const sp = s.indexOf(' ', 5); rows.push([s.slice(5, sp), s.slice(sp + 1, s.length - 2)]) } } }, ctx, group)
  return rows
}

function line (out: StatsSink, k: string, v: number | string): void {
  out.ascii(`STAT ${k} ${v}\r\n`)
}

function fixed6 (sec: number): string { return sec.toFixed(6) }

export function writeStats (out: StatsSink, ctx: ServerContext, group: string): void {
  switch (group) {
    case 'general': general(out, ctx); break
    case 'settings': settings(out, ctx); break
    case 'items': items(out, ctx); break
    case 'slabs': slabs(out, ctx); break
    case 'sizes': line(out, 'sizes_status', 'disabled'); break
    case 'conns': conns(out, ctx); break
    case 'cachedump': break
    default: {
      const rows = ctx.statsGroups.get(group)
      if (rows !== undefined) for (const [k, v] of rows()) line(out, k, v)
    }
  }
  out.ascii('END\r\n')
}

function general (out: StatsSink, ctx: ServerContext): void {
  const st = ctx.stats
  const store = ctx.store
  const c = store.counters
  const now = Math.floor(Date.now() / 1000)
  const maint = ctx.settings.lruMaintainer
  const ru = process.resourceUsage()
  const rows: Array<[string, number | string]> = [
    ['pid', process.pid],
    ['uptime', now - ctx.startedAtSec],
    ['time', now],
    ['version', ctx.settings.version],
    ['libevent', `node-${process.versions.node}`],
    ['pointer_size', 64],
    ['rusage_user', fixed6(ru.userCPUTime / 1e6)],
    ['rusage_system', fixed6(ru.systemCPUTime / 1e6)],
    ['max_connections', ctx.settings.maxConns],
    ['curr_connections', st.curr_connections],
    ['total_connections', st.total_connections],
    ['rejected_connections', st.rejected_connections],
    ['connection_structures', st.connection_structures],
    ['response_obj_oom', 0],
    ['response_obj_count', 0],
    ['response_obj_bytes', 0],
    ['read_buf_count', 0],
    ['read_buf_bytes', 0],
    ['read_buf_bytes_free', 0],
    ['read_buf_oom', 0],
    ['reserved_fds', 20],
    ['cmd_get', st.cmd_get],
    ['cmd_set', st.cmd_set],
    ['cmd_flush', st.cmd_flush],
    ['cmd_touch', st.cmd_touch],
    ['cmd_meta', st.cmd_meta],
    ['get_hits', st.get_hits],
    ['get_misses', st.get_misses],
    ['get_expired', c.get_expired],
    ['get_flushed', c.get_flushed],
    ['delete_misses', st.delete_misses],
    ['delete_hits', st.delete_hits],
    ['incr_misses', st.incr_misses],
    ['incr_hits', st.incr_hits],
    ['decr_misses', st.decr_misses],
    ['decr_hits', st.decr_hits],
    ['cas_misses', st.cas_misses],
    ['cas_hits', st.cas_hits],
    ['cas_badval', st.cas_badval],
    ['touch_hits', st.touch_hits],
    ['touch_misses', st.touch_misses],
    ['store_too_large', st.store_too_large],
    ['store_no_memory', st.store_no_memory],
    ['auth_cmds', st.auth_cmds],
    ['auth_errors', st.auth_errors],
    // memcached shows idle_kicks here, and only with -o idle_timeout.
    ...(ctx.settings.idleTimeoutSec > 0 ? [['idle_kicks', st.idle_kicks] as [string, number]] : []),
    ['bytes_read', st.bytes_read],
    ['bytes_written', st.bytes_written],
    ['limit_maxbytes', store.slabs.memoryLimitBytes],
    ['accepting_conns', 1],
    ['listen_disabled_num', st.listen_disabled_num],
    ['time_in_listen_disabled_us', 0],
    ['threads', ctx.settings.threads],
    ['conn_yields', st.conn_yields],
    ['hash_power_level', store.index.hashPower],
    ['hash_bytes', store.index.bytes],
    ['hash_is_expanding', store.index.expanding ? 1 : 0],
    ['slab_reassign_rescues', c.slab_reassign_rescues],
    ['slab_reassign_chunk_rescues', 0],
    ['slab_reassign_evictions_nomem', c.slab_reassign_evictions_nomem],
    ['slab_reassign_inline_reclaim', 0],
    ['slab_reassign_busy_items', 0],
    ['slab_reassign_busy_deletes', 0],
    ['slab_reassign_running', 0],
    ['slabs_moved', c.slabs_moved],
    // memcached prints the crawler rows only with the crawler on (-o no_lru_crawler).
    ...(ctx.settings.lruCrawler ? [['lru_crawler_running', 0], ['lru_crawler_starts', c.crawler_starts ?? 0]] as Array<[string, number]> : []),
    // memcached prints this row only while its LRU maintainer runs (-o no_lru_maintainer).
    ...(ctx.settings.lruMaintainer ? [['lru_maintainer_juggles', 0] as [string, number]] : []),
    ['malloc_fails', 0],
    ['log_worker_dropped', 0],
    ['log_worker_written', ctx.watchers.writtenTotal],
    ['log_watcher_skipped', ctx.watchers.skippedTotal],
    ['log_watcher_sent', ctx.watchers.sentTotal],
    ['log_watchers', ctx.watchers.count],
    ...tlsRows(ctx, now),
    ['unexpected_napi_ids', 0],
    ['round_robin_fallback', 0],
    ['bytes', c.bytes],
    ['curr_items', c.curr_items],
    ['total_items', c.total_items],
    ['slab_global_page_pool', store.slabs.sparePages],
    ['expired_unfetched', c.expired_unfetched],
    ['evicted_unfetched', c.evicted_unfetched],
    // memcached prints evicted_active and the LRU move rows only while its maintainer runs.
    ...(maint ? [['evicted_active', c.evicted_active]] as Array<[string, number]> : []),
    ['evictions', c.evictions],
    ['reclaimed', c.reclaimed],
    ['crawler_reclaimed', c.crawler_reclaimed],
    ['crawler_items_checked', c.crawler_items_checked],
    ['lrutail_reflocked', 0],
    ...(maint
      ? [['moves_to_cold', sum(store.lru.movesToCold)], ['moves_to_warm', sum(store.lru.movesToWarm)],
          ['moves_within_lru', sum(store.lru.movesWithin)], ['direct_reclaims', c.direct_reclaims], ['lru_bumps_dropped', 0]] as Array<[string, number]>
      : []),
  ]
  // memring only: shown once non-zero, so a default `stats` has memcached's rows exactly.
  if (st.internal_errors > 0) rows.push(['internal_errors', st.internal_errors])
  for (const [k, v] of rows) line(out, k, v)
}

/**
 * memcached prints these with -Z only. Until the first refresh_certs it counts from its own
 * clock's zero, which it puts 62 s before its start (ITEM_UPDATE_INTERVAL + 2).
 */
function tlsRows (ctx: ServerContext, now: number): Array<[string, number]> {
  const t = ctx.tls
  if (t == null) return []
  const since = t.lastRefreshSec === 0 ? now - ctx.startedAtSec + 62 : now - t.lastRefreshSec
  return [['ssl_handshake_errors', t.handshakeErrors], ['time_since_server_cert_refresh', since]]
}

function sum (a: Float64Array): number { let s = 0; for (const v of a) s += v; return s }

function settings (out: StatsSink, ctx: ServerContext): void {
  const s = ctx.settings
  const rows: Array<[string, number | string]> = [
    ['maxbytes', ctx.store.slabs.memoryLimitBytes],
    ['maxconns', s.maxConns],
    ['tcpport', s.port],
    ['udpport', s.udpPort],
    ['inter', s.listen.length > 0 ? s.listen.join(',') : 'NULL'],
    ['verbosity', s.verbosity],
    ['oldest', ctx.store.oldestLive],
    ['evictions', s.evictions ? 'on' : 'off'],
    ['domain_socket', s.unixSocket === '' ? 'NULL' : s.unixSocket],
    ['umask', s.unixMask.toString(8)],
    ['shutdown_command', s.shutdownCommand ? 'yes' : 'no'],
    ['growth_factor', s.growthFactor.toFixed(2)],
    ['chunk_size', s.minChunkBytes],
    ['num_threads', s.threads],
    ['num_threads_per_udp', s.threads],
    ['stat_key_prefix', String.fromCharCode(ctx.prefixStats.delimiter)],
    ['detail_enabled', ctx.prefixStats.enabled ? 'yes' : 'no'],
    ['reqs_per_event', s.maxReqsPerEvent],
    ['cas_enabled', s.useCas ? 'yes' : 'no'],
    ['tcp_backlog', s.tcpBacklog],
    ['binding_protocol', s.authFile !== '' ? 'ascii' : s.sasl ? 'binary' : s.protocol === 'auto' ? 'auto-negotiate' : s.protocol],
    ['auth_enabled_sasl', s.sasl ? 'yes' : 'no'],
    ['auth_enabled_ascii', s.authFile !== '' ? s.authFile : 'no'],
    ['item_size_max', s.itemSizeMax],
    ['maxconns_fast', 'yes'],
    ['hashpower_init', s.hashPowerInit],
    ['slab_reassign', s.slabReassign ? 'yes' : 'no'],
    ['slab_automove', s.slabAutomove],
    ['slab_automove_ratio', formatFixed(s.slabAutomoveRatio, 2, s.slabAutomoveRatioNegNan)],
    ['slab_automove_window', s.slabAutomoveWindow | 0],
    ['slab_chunk_max', ctx.store.slabs.chunkMax],
    ['lru_crawler', s.lruCrawler ? 'yes' : 'no'],
    ['lru_crawler_sleep', s.lruCrawlerSleepUs],
    ['lru_crawler_tocrawl', s.lruCrawlerTocrawl >>> 0],
    ['tail_repair_time', s.tailRepairTime | 0],
    ['flush_enabled', s.flushEnabled ? 'yes' : 'no'],
    ['dump_enabled', 'yes'],
    ['hash_algorithm', 'murmur3'],
    ['lru_maintainer_thread', s.lruMaintainer ? 'yes' : 'no'],
    ['lru_segmented', s.lruSegmented ? 'yes' : 'no'],
    // memcached prints these uint32 with %d, the factors with %.2f, temporary_ttl with %u.
    ['hot_lru_pct', s.hotLruPct | 0],
    ['warm_lru_pct', s.warmLruPct | 0],
    ['hot_max_factor', formatFixed(s.hotMaxFactor, 2, s.maxFactorNegNan[0])],
    ['warm_max_factor', formatFixed(s.warmMaxFactor, 2, s.maxFactorNegNan[1])],
    ['temp_lru', s.tempLru ? 'yes' : 'no'],
    ['temporary_ttl', s.temporaryTtl >>> 0],
    ['idle_timeout', s.idleTimeoutSec],
    ['watcher_logbuf_size', s.watcherLogbufSize >>> 0],
    ['worker_logbuf_size', s.workerLogbufSize >>> 0],
    ['read_buf_mem_limit', 0],
    ['track_sizes', 'no'],
    ['inline_ascii_response', 'no'],
    // memcached prints the -e path with %s: "(null)" when unset.
    ['memory_file', s.memoryFile === '' ? '(null)' : s.memoryFile],
  ]
  const t = s.tls
  rows.push(
    ['ssl_enabled', t.enabled ? 'yes' : 'no'],
    ['ssl_chain_cert', t.chainCert ?? '(null)'],
    ['ssl_key', t.key ?? '(null)'],
    ['ssl_verify_mode', verifyModeBits(t.verifyMode)],
    ['ssl_keyformat', t.keyFormat],
    ['ssl_ciphers', t.ciphers ?? 'NULL'],
    ['ssl_ca_cert', t.caCert ?? 'NULL'],
    ['ssl_wbuf_size', t.wbufSize],
    ['ssl_session_cache', t.sessionCache ? 'yes' : 'no'],
    ['ssl_kernel_tls', t.kernelTls ? 'yes' : 'no'],
    ['ssl_min_version', minVersionName(t.minVersion)],
  )
  // memring only, and only when on, so a default `stats settings` stays memcached 1.6.18's.
  if (s.metaE) rows.push(['meta_e', 'yes'])
  for (const [k, v] of rows) line(out, k, v)
}

function items (out: StatsSink, ctx: ServerContext): void {
  const st = ctx.store
  for (let c = 1; c <= st.slabs.largest; c++) {
    const hot = st.segmentCount(c, SlabStore.SEG_HOT)
    const warm = st.segmentCount(c, SlabStore.SEG_WARM)
    const cold = st.segmentCount(c, SlabStore.SEG_COLD)
    const temp = st.segmentCount(c, SlabStore.SEG_TEMP)
    const n = hot + warm + cold + temp
    // memcached item_stats: a class with no item in its LRU has no rows, even with pages (a
    // class holding only chained items' heads or tails, or whose items were all deleted).
    if (n === 0) continue
    const p = `items:${c}:`
    const rows: Array<[string, number]> = [
      ['number', n],
      ['number_hot', hot],
      ['number_warm', warm],
      ['number_cold', cold],
      ['age_hot', st.segmentTailAge(c, SlabStore.SEG_HOT)],
      ['age_warm', st.segmentTailAge(c, SlabStore.SEG_WARM)],
      ['age', st.segmentTailAge(c, SlabStore.SEG_COLD)],
      ['mem_requested', st.cls.memRequested[c]],
      ['evicted', st.cls.evicted[c]],
      ['evicted_nonzero', st.cls.evictedNonzero[c]],
      ['evicted_time', st.cls.evictedTime[c]],
      ['outofmemory', st.cls.outOfMemory[c]],
      ['tailrepairs', 0],
      ['reclaimed', st.cls.reclaimed[c]],
      ['expired_unfetched', st.cls.expiredUnfetched[c]],
      ['evicted_unfetched', st.cls.evictedUnfetched[c]],
      ['evicted_active', st.cls.evictedActive[c]],
      ['crawler_reclaimed', st.cls.crawlerReclaimed[c]],
      ['crawler_items_checked', 0],
      ['lrutail_reflocked', 0],
      ['moves_to_cold', st.lru.movesToCold[c]],
      ['moves_to_warm', st.lru.movesToWarm[c]],
      ['moves_within_lru', st.lru.movesWithin[c]],
      ['direct_reclaims', st.cls.directReclaims[c]],
      ['hits_to_hot', 0],
      ['hits_to_warm', 0],
      ['hits_to_cold', 0],
      ['hits_to_temp', 0],
    ]
    for (const [k, v] of rows) {
      if (ctx.settings.lruMaintainer || !MAINTAINER_ITEM_ROWS.has(k)) line(out, p + k, v)
      // memcached: number_temp follows number_cold while the TEMP LRU is on.
      if (k === 'number_cold' && ctx.settings.lruMaintainer && ctx.settings.tempLru) line(out, p + 'number_temp', temp)
    }
  }
}

/** `stats items` rows memcached 1.6.18 prints only while its LRU maintainer runs (items.c). */
const MAINTAINER_ITEM_ROWS = new Set(['number_hot', 'number_warm', 'number_cold', 'age_hot', 'age_warm',
  'evicted_active', 'moves_to_cold', 'moves_to_warm', 'moves_within_lru', 'direct_reclaims',
  'hits_to_hot', 'hits_to_warm', 'hits_to_cold', 'hits_to_temp'])

function slabs (out: StatsSink, ctx: ServerContext): void {
  const st = ctx.store
  let active = 0
  for (let c = 1; c <= st.slabs.largest; c++) {
    if (st.slabs.pagesOf[c] === 0) continue
    active++
    for (const [k, v] of CHUNK_FIELDS(ctx, c)) line(out, `${c}:${k}`, v)
  }
  line(out, 'active_slabs', active)
  line(out, 'total_malloced', st.totalMalloced)
}

function conns (out: StatsSink, ctx: ServerContext): void {
  const now = Math.floor(Date.now() / 1000)
  for (const l of ctx.listeners ?? []) {
    line(out, `${l.id}:addr`, l.addr)
    line(out, `${l.id}:state`, 'conn_listening')
    line(out, `${l.id}:secs_since_last_cmd`, now - l.since)
  }
  for (const c of ctx.connections) {
    line(out, `${c.id}:addr`, c.addr)
    line(out, `${c.id}:listen_addr`, c.listenAddr)
    line(out, `${c.id}:state`, c.state())
    line(out, `${c.id}:secs_since_last_cmd`, now - c.lastCmdSec)
    // memring only: reply bytes not yet taken by the kernel (bounded by --conn-output-limit).
    if (c.outBytes !== undefined) line(out, `${c.id}:out_bytes`, c.outBytes())
  }
}
