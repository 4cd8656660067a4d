/**
 * memring's own metrics of a cache host, read at scrape time: replication (the rows of
 * `stats replication`), the ZooKeeper session and registration, plus the sampled request
 * histograms (request-timer.ts) and Node's runtime metrics (event-loop lag, GC pauses).
 */
import { collectDefaultMetrics, Registry } from 'prom-client'
import type { ServerContext } from '../server/context.js'
import { defineMetric, perScrape } from './define.js'
import { registerMemcachedExporterMetrics } from './memcached-exporter.js'
import { sampledRequestTimer } from './request-timer.js'

/** Where the cluster state comes from (lib/cluster's Registry satisfies it); null standalone. */
export interface ClusterView {
  readonly state: string
  readonly session: { readonly state: string }
}

export const ZK_STATES = ['idle', 'connecting', 'connected', 'suspect', 'disconnected', 'closed']
export const REGISTRY_STATES = ['starting', 'registered', 'unregistered', 'closed']
export const REPLICATION_ROLES = ['master', 'replica']

/** `stats replication` numeric rows -> [metric, kind, help]. */
const REPLICATION: ReadonlyArray<[string, string, 'counter' | 'gauge', string]> = [
  ['epoch', 'memring_replication_epoch', 'gauge', 'Epoch of the history this node is on (bumped by every election).'],
  ['seqno', 'memring_replication_seqno', 'gauge', 'Sequence number of the last record in this node\'s log.'],
  ['replicas', 'memring_replication_replicas', 'gauge', 'Replicas streaming from this node.'],
  ['lag_ms', 'memring_replication_lag_milliseconds', 'gauge', 'A replica: how far behind its master it is, in ms (0 on a master).'],
  ['lag_seqno', 'memring_replication_lag_seqno', 'gauge', 'A replica: records behind its master (0 on a master).'],
  ['backlog_bytes', 'memring_replication_backlog_bytes', 'gauge', 'Bytes held in the replication backlog.'],
  ['backlog_capacity', 'memring_replication_backlog_capacity_bytes', 'gauge', 'The backlog\'s size (--repl-backlog-size, once allocated).'],
  ['backlog_seconds', 'memring_replication_backlog_seconds', 'gauge', 'Seconds of writes the backlog holds at the current write rate (-1: no writes).'],
  ['full_syncs', 'memring_replication_full_syncs_total', 'counter', 'Full resyncs (served by a master, made by a replica).'],
  ['partial_syncs', 'memring_replication_partial_syncs_total', 'counter', 'Partial resyncs from the backlog (served or made).'],
  ['sync_in_progress', 'memring_replication_sync_in_progress', 'gauge', '1 while a replica is loading a full resync.'],
  ['backlog_lost', 'memring_replication_backlog_lost_total', 'counter', 'Replicas that fell off the backlog and needed a full resync.'],
]

export interface ServerMetricsOptions {
  /** Time one request in this many (default 16). */
  sampleEvery?: number
  /** The cluster membership, read on each scrape (null or absent: standalone). */
  cluster?: () => ClusterView | null
}

/** A registry with every metric of a cache host; installs the request timer on ctx. */
export function serverRegistry (ctx: ServerContext, o: ServerMetricsOptions = {}): Registry {
  const reg = new Registry()
  registerMemcachedExporterMetrics(reg, ctx)
  const repl = perScrape(() => new Map(ctx.statsGroups.get('replication')?.() ?? []))
  defineMetric(reg, 'gauge', 'memring_replication_role', 'This node\'s replication role (1 on the current one).', ['role'], (emit) => {
    const role = repl().get('role')
    if (role === undefined) return
    for (const r of REPLICATION_ROLES) emit(r === role ? 1 : 0, r)
    if (!REPLICATION_ROLES.includes(String(role))) emit(1, String(role))
  })
  for (const [row, name, kind, help] of REPLICATION) {
    defineMetric(reg, kind, name, help, [], (emit) => { const v = repl().get(row); if (v !== undefined) emit(Number(v)) })
  }
  defineMetric(reg, 'gauge', 'memring_replication_replica_lag_seqno', 'A master: records each replica has still to acknowledge.', ['replica'], (emit) => {
    for (const [k, v] of repl()) if (/^replica\d+$/.test(k)) { const f = fields(String(v)); emit(Number(f.get('lag_seqno')), f.get('node') ?? k) }
  })
  defineMetric(reg, 'gauge', 'memring_replication_replica_lag_milliseconds', 'A master: how far behind each replica is, in ms.', ['replica'], (emit) => {
    for (const [k, v] of repl()) if (/^replica\d+$/.test(k)) { const f = fields(String(v)); emit(Number(f.get('lag_ms')), f.get('node') ?? k) }
  })
  const cluster = o.cluster ?? (() => null)
  defineMetric(reg, 'gauge', 'memring_zk_session_state', 'ZooKeeper session state (1 on the current one; none standalone).', ['state'], (emit) => {
    const c = cluster()
    if (c === null) return
    for (const s of ZK_STATES) emit(c.session.state === s ? 1 : 0, s)
  })
  defineMetric(reg, 'gauge', 'memring_cluster_registered', '1 while this host\'s node record is confirmed in ZooKeeper (absent standalone).', [], (emit) => {
    const c = cluster()
    if (c !== null) emit(c.state === 'registered' && c.session.state === 'connected' ? 1 : 0)
  })
  ctx.requestTimer = sampledRequestTimer(reg, o.sampleEvery ?? 16)
  collectDefaultMetrics({ register: reg, prefix: 'memring_' })
  return reg
}

/** "a=1,b=2" -> Map. */
function fields (s: string): Map<string, string> {
  const m = new Map<string, string>()
  for (const part of s.split(',')) { const i = part.indexOf('='); if (i > 0) m.set(part.slice(0, i), part.slice(i + 1)) }
  return m
}
