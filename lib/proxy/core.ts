// lib/proxy/core.ts
/** What every frontend connection of one proxy shares: the router, the route tree and the counters. */
import type { TlsTerminator } from '../server/tls.js'
import type { Router } from './router.js'
import type { RouteNode } from './route-tree.js'
import type { WarmUp } from './warm-up.js'
import type { HotReads } from './hot-reads.js'
import type { DcWrites } from './dc-writes.js'
import type { PasswordCheck } from '../server/auth-sasl.js'
import type { ValueCipher } from '../crypto/index.js'

export interface ProxyCounters {
  proxy_requests: number
  proxy_get_keys: number
  proxy_split_gets: number
  /** Requests answered for a shard with no live master (miss or SERVER_ERROR). */
  proxy_no_host: number
  /** Requests whose backend failed (down, timeout, lost connection). */
  proxy_failed_requests: number
  proxy_topology_changes: number
  /** Reads whose first copy was not the shard's writer (a replica, or any copy of a shard with no writer). */
  proxy_replica_reads: number
  /** Reads sent again to another copy after the copy they were on failed. */
  proxy_read_retries: number
  /** Writes refused because the shard's only live master has an older epoch than one seen (fenced). */
  proxy_fenced_writes: number
  /** Requests a FailoverRoute sent on to its next child after a failover error (route-tree.ts). */
  proxy_route_failovers: number
  /** Client logins checked by this proxy (-S SASL or -Y ASCII auth), and the failed ones. */
  proxy_auth_cmds: number
  proxy_auth_errors: number
  /** --encrypt-values: values that did not open (altered, unknown key id, not sealed) and were answered as misses. */
  proxy_decrypt_failures: number
  /** --encrypt-values: requests refused because they cannot work on sealed values (incr/decr/append/prepend, ms, ma, mg v). */
  proxy_encrypt_refused: number
}

export function newProxyCounters (): ProxyCounters {
  return { proxy_requests: 0, proxy_get_keys: 0, proxy_split_gets: 0, proxy_no_host: 0, proxy_failed_requests: 0, proxy_topology_changes: 0,
    proxy_replica_reads: 0, proxy_read_retries: 0, proxy_fenced_writes: 0, proxy_route_failovers: 0,
    proxy_auth_cmds: 0, proxy_auth_errors: 0, proxy_decrypt_failures: 0, proxy_encrypt_refused: 0 }
}

export interface ProxyCore {
  readonly router: Router
  /**
   * Keyed requests go through this tree when the proxy serves several pools (an mcrouter
   * AllSyncRoute / FailoverRoute); null: through `router` (one placement). `router` still
   * lists every server for flush_all, stats and admin fan-outs.
   */
  tree: RouteNode | null
  /** The tree in mcrouter's words (`stats proxy` route), `-` without one. */
  routeName: string
  readonly counters: ProxyCounters
  /** The warm-up window after ring changes (inert with --warmup-window 0). */
  readonly warmUp: WarmUp
  /** Hot-key detection and cache (`--hot-key-threshold`, `--hot-key-cache`); null when off. */
  readonly hot: HotReads | null
  /** --dc-writes: local copies dropped before a write (dc-writes.ts); inert in master mode. */
  readonly dcWrites: DcWrites
  /** -S: binary clients must log in with SASL PLAIN checked by this (auth-sasl.ts); null: off. */
  readonly sasl: PasswordCheck | null
  /** --encrypt-values: seals values on the way to a backend, opens them on the way back; null: off. */
  readonly cipher: ValueCipher | null
  /** Answered to `version`. */
  readonly version: string
  /** -Z: the client listener's certificates (`refresh_certs`); null without TLS. */
  readonly tls: TlsTerminator | null
  /**
   * The reply to `config get cluster` (ElastiCache auto discovery): this proxy alone, so a
   * discovering client sends every key here and the proxy places it on memring's ring;
   * null (ERROR) on a unix socket or before listening. See lib/proxy/README.md.
   */
  clusterConfig (): Buffer | null
  readonly startedAtMs: number
  /** Requests a client may have in flight before we stop reading it. */
  readonly maxPendingPerConn: number
  /** Topology source state, for `stats proxy`. */
  topologyStale (): boolean
  currConnections (): number
  totalConnections (): number
}
