// lib/proxy/core.ts
/** What every frontend connection of one proxy shares: the router and the counters. */
import type { Router } from './router.js'

export interface ProxyCounters {
  proxy_requests: number
  proxy_get_keys: number
  proxy_split_gets: number
  /** Requests answered for a shard with no live master (miss or SERVER_ERROR). */
  proxy_no_host: number
  /** Requests whose backend failed (down, timeout, lost connection). */
  proxy_failed_requests: number
  proxy_topology_changes: number
}

export function newProxyCounters (): ProxyCounters {
  return { proxy_requests: 0, proxy_get_keys: 0, proxy_split_gets: 0, proxy_no_host: 0, proxy_failed_requests: 0, proxy_topology_changes: 0 }
}

export interface ProxyCore {
  readonly router: Router
  readonly counters: ProxyCounters
  /** Answered to `version`. */
  readonly version: string
  readonly startedAtMs: number
  /** Requests a client may have in flight before we stop reading it. */
  readonly maxPendingPerConn: number
  /** Topology source state, for `stats proxy`. */
  topologyStale (): boolean
  currConnections (): number
  totalConnections (): number
}
