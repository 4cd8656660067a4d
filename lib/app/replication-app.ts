// lib/app/replication-app.ts
/**
 * Wires lib/replication into a running server: the `repl` command hands a connection to
 * the replication source, `stats replication` shows its figures, and while the node is a
 * replica client writes are refused with the error naming its master. Also parses the
 * standalone flags (`--replica-of`, `--repl-backlog-size`), pure.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import { loadServerTls, type TlsSettings } from '../server/tls.js'
import type { Logger } from 'pino'
import { Replication } from '../replication/replication.js'
import type { MemringServer } from '../server/server.js'
import { ConfigError } from './config-error.js'
import { wanRoute } from '../wan-map.js'
import { dcInvalidateCommand } from './dc-invalidate-command.js'

export interface RawReplicationOptions {
  replicaOf?: string
  replBacklogSize?: string
  replTimeout?: string
  minReplicasToAck?: string
  minReplicasTimeout?: string
  replLagThreshold?: string
}

export interface ReplicationConfig {
  /** --replica-of HOST:PORT (standalone), or null. */
  replicaOf: { host: string, port: number } | null
  backlogBytes: number
  /** --repl-timeout ms: a silent link is dropped and re-established. */
  timeoutMs: number
  /** --min-replicas-to-ack N (0, the default: asynchronous replication). */
  minReplicasToAck?: number
  /** --min-replicas-timeout ms: how long a write's reply waits for its acks. */
  minReplicasTimeoutMs?: number
  /** --repl-lag-threshold ms: a replica's lag above it logs `lag_high` (README "Cluster events"). */
  lagThresholdMs?: number
}

/** A size in bytes with an optional k/m/g suffix (memcached's -I style). */
function size (flag: string, v: string): number {
  const m = /^(\d+)([kKmMgG]?)$/.exec(v.trim())
  if (m === null) throw new ConfigError(`${flag}: '${v}' is not a size (bytes, or with k/m/g suffix)`)
  const unit = m[2].toLowerCase()
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1)
}

export function replicationOptions (o: RawReplicationOptions): ReplicationConfig {
  let replicaOf: ReplicationConfig['replicaOf'] = null
  if (o.replicaOf !== undefined) {
    const m = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(o.replicaOf.trim())
    const port = m === null ? 0 : Number(m[2])
    if (m === null || port < 1 || port > 65535) throw new ConfigError(`--replica-of: '${o.replicaOf}' is not HOST:PORT`)
    replicaOf = { host: m[1], port }
  }
  let backlogBytes = 64 * 1024 * 1024
  if (o.replBacklogSize !== undefined) {
    backlogBytes = size('--repl-backlog-size', o.replBacklogSize)
    if (backlogBytes < 1024 * 1024 || backlogBytes > 64 * 1024 ** 3) {
      throw new ConfigError('--repl-backlog-size: must be between 1m and 64g')
    }
  }
  let timeoutMs = 5000
  if (o.replTimeout !== undefined) {
    timeoutMs = Number(o.replTimeout)
    if (!Number.isInteger(timeoutMs) || timeoutMs < 200 || timeoutMs > 600_000) {
      throw new ConfigError(`--repl-timeout: '${o.replTimeout}' is not a number of milliseconds in [200, 600000]`)
    }
  }
  let minReplicasToAck = 0
  if (o.minReplicasToAck !== undefined) {
    minReplicasToAck = Number(o.minReplicasToAck)
    if (!/^\d+$/.test(o.minReplicasToAck.trim()) || minReplicasToAck > 16) {
      throw new ConfigError(`--min-replicas-to-ack: '${o.minReplicasToAck}' is not a number of replicas in [0, 16]`)
    }
  }
  let minReplicasTimeoutMs = 1000
  if (o.minReplicasTimeout !== undefined) {
    minReplicasTimeoutMs = Number(o.minReplicasTimeout)
    if (!Number.isInteger(minReplicasTimeoutMs) || minReplicasTimeoutMs < 1 || minReplicasTimeoutMs > 600_000) {
      throw new ConfigError(`--min-replicas-timeout: '${o.minReplicasTimeout}' is not a number of milliseconds in [1, 600000]`)
    }
  }
  let lagThresholdMs = 5000
  if (o.replLagThreshold !== undefined) {
    lagThresholdMs = Number(o.replLagThreshold)
    if (!/^\d+$/.test(o.replLagThreshold.trim()) || lagThresholdMs < 1 || lagThresholdMs > 3_600_000) {
      throw new ConfigError(`--repl-lag-threshold: '${o.replLagThreshold}' is not a number of milliseconds in [1, 3600000]`)
    }
  }
  return { replicaOf, backlogBytes, timeoutMs, minReplicasToAck, minReplicasTimeoutMs, lagThresholdMs }
}

/**
 * -Z: a member dials the node it follows with its own certificate (ssl_chain_cert, ssl_key)
 * and trusts ssl_ca_cert; the files are read at each dial (refresh_certs swaps them), and
 * if they broke since the start the last good ones are used.
 */
function memberTls (s: TlsSettings, log: Logger): () => TlsConnectionOptions {
  let last: TlsConnectionOptions | null = null
  return () => {
    try {
      const o = loadServerTls(s)
      last = { cert: o.cert, key: o.key, ca: o.ca, ciphers: o.ciphers, minVersion: o.minVersion }
    } catch (err) {
      if (last === null) throw err // cannot happen: the server read the same files at start
      log.error({ err: (err as Error).message }, 'replication TLS: certificate files unreadable; using the previous ones')
    }
    return last
  }
}

/**
 * Installs replication on a server, before it listens, so a node that must not take writes
 * never does; `node` gives the address it is known by once listening.
 */
export function attachReplication (server: MemringServer, cfg: ReplicationConfig, node: () => string, log: Logger): Replication {
  const ctx = server.ctx
  const repl = new Replication({
    store: server.store, backlogBytes: cfg.backlogBytes, timeoutMs: cfg.timeoutMs, lagThresholdMs: cfg.lagThresholdMs, node, logger: log.child({ mod: 'replication' }), route: wanRoute,
    tls: ctx.settings.tls.enabled ? memberTls(ctx.settings.tls, log) : null,
  })
  ctx.upgrades.push({ word: 'repl', take: (socket, args) => repl.source.take(socket, args) })
  ctx.statsGroups.set('replication', () => repl.stats())
  ctx.localCommands.push(dcInvalidateCommand(repl))
  const minAcks = cfg.minReplicasToAck ?? 0
  repl.acks.configure(minAcks, cfg.minReplicasTimeoutMs ?? 1000)
  // --min-replicas-to-ack: a master answers writes once N replicas have them (the server's
  // write gate); the log records from the start, so every write it takes has a seqno.
  if (minAcks > 0) repl.activate()
  repl.onChange = () => {
    ctx.writeGate = repl.role === 'master' && minAcks > 0 ? repl.acks : null
    // A master that becomes a replica: writes still waiting get the timeout error.
    if (repl.role === 'replica') repl.acks.failAll()
    if (repl.role === 'replica') {
      const m = repl.masterAddress
      const text = `read-only replica (master ${m === '' ? 'unknown' : m})`
      ctx.readOnly = { line: Buffer.from(`SERVER_ERROR ${text}\r\n`, 'latin1'), body: Buffer.from(text, 'latin1') }
    } else {
      ctx.readOnly = null
    }
  }
  // A replica refuses writes from its first connection on; it dials its master once listening.
  if (cfg.replicaOf !== null) repl.standBy()
  else repl.onChange()
  return repl
}
