/**
 * Composition root of one cache host: settings -> store + server (+ protocol plug-ins).
 * Cluster membership and replication plug in here too (lib/cluster), never into the server.
 */
import type { Logger } from '../log.js'
import { silentLogger } from '../log.js'
import { createServer } from '../server/server.js'
import type { MemringServer, ServerOptions } from '../server/server.js'
import type { ServerSettings } from '../server/settings.js'
import type { Registry } from '../cluster/index.js'
import type { Replication } from '../replication/replication.js'
import { joinCluster, type ClusterMembership } from './cluster-app.js'
import { advertiseFor, type ClusterConfig } from './cluster-options.js'
import { hostname } from 'node:os'
import { attachReplication, type ReplicationConfig } from './replication-app.js'
import { writePortFile } from './port-file.js'
import { startServerMetrics, type MetricsConfig } from './metrics-app.js'
/** memcached's -v human lines (bin/ wires only lib/app). */
export { verboseLine } from '../server/verbose.js'
import type { MetricsEndpoint } from '../metrics/endpoint.js'

export interface ServerApp {
  server: MemringServer
  /** Cluster membership (--zk), or null for a standalone host. */
  registry: Registry | null
  /** This node's replication (log, streams it serves, the master it follows). */
  replication: Replication
  /** The /metrics endpoint (--metrics-port), or null. */
  metrics: MetricsEndpoint | null
  /** graceful: SIGUSR1 or `shutdown graceful` (with -e the items are saved). */
  close (deadlineMs?: number, graceful?: boolean): Promise<void>
}

export interface ServerAppOptions {
  settings: ServerSettings
  log?: Logger
  /** Extra server options (protocol plug-ins, shutdown hook). */
  server?: Omit<ServerOptions, 'settings'>
  /** --zk ...: register in ZooKeeper once listening (lib/app/cluster-options.ts). */
  cluster?: ClusterConfig | null
  /** --replica-of, --repl-backlog-size. */
  replication?: ReplicationConfig
  /** --metrics-port, --metrics-listen: serve /metrics (lib/metrics). */
  metrics?: MetricsConfig | null
}

export async function startServerApp (o: ServerAppOptions): Promise<ServerApp> {
  const log = o.log ?? silentLogger()
  const server = createServer({
    ...o.server,
    settings: o.settings,
    onInternalError: (err, connId) => log.error({ err, connId }, 'internal error on connection'),
  })
  const cluster = o.cluster ?? null
  const node = (): string => {
    if (cluster !== null) { const a = advertiseFor(cluster, o.settings.listen, server.port || o.settings.port); return `${a.host}:${a.port}` }
    const specific = o.settings.listen.find((l) => l !== '0.0.0.0' && l !== '::' && /^[A-Za-z0-9.-]+$/.test(l))
    return `${specific ?? hostname()}:${server.port}`
  }
  const replication = attachReplication(server, o.replication ?? { replicaOf: null, backlogBytes: 64 * 1024 * 1024, timeoutMs: 5000 }, node, log)
  // A cluster host refuses writes from its first connection on, until its shard's election
  // makes it master (cluster-app.ts); a standalone host takes writes at once.
  if (cluster !== null) replication.standBy()
  // In a cluster, a host with a fixed port joins before it listens: a process restarted at
  // the address of one that just died must not answer reads (as an empty cache) while
  // ZooKeeper still lists the dead one, whose session has not expired yet; until its own
  // registration (which waits for that), proxies see the port closed and read elsewhere.
  // With -p 0 the port is only known once listening.
  const joinFirst = cluster !== null && o.settings.port !== 0
  let membership: ClusterMembership | null = null
  const join = async (): Promise<void> => {
    try {
      membership = await joinCluster(cluster!, server, log, replication, server.port || o.settings.port)
    } catch (err) {
      replication.close()
      await server.close(0)
      throw err
    }
  }
  if (joinFirst) await join()
  try {
    await server.start()
  } catch (err) {
    await (membership as ClusterMembership | null)?.close()
    replication.close()
    throw err
  }
  if (o.settings.unixSocket === '') writePortFile(process.env.MEMCACHED_PORT_FILENAME, server.addresses(), o.settings.listen.length === 0)
  const addrs = server.addresses().map((a) => `${a.address}:${a.port}`)
  log.info({ addresses: addrs, memoryLimitMb: o.settings.memoryLimitMb, maxConns: o.settings.maxConns }, 'memring listening')
  const replicaOf = o.replication?.replicaOf ?? null
  if (replicaOf !== null) replication.follow(replicaOf.host, replicaOf.port)
  if (cluster !== null && !joinFirst) await join()
  let metrics: MetricsEndpoint | null = null
  if (o.metrics != null) {
    try {
      metrics = await startServerMetrics(o.metrics, server, () => (membership as ClusterMembership | null)?.registry ?? null, log)
    } catch (err) {
      await (membership as ClusterMembership | null)?.close()
      replication.close()
      await server.close(0)
      throw err
    }
  }
  return {
    server,
    registry: (membership as ClusterMembership | null)?.registry ?? null,
    replication,
    metrics,
    async close (deadlineMs = 1000, graceful = false) {
      await metrics?.close()
      // Leave the cluster first so proxies stop routing here before we stop serving.
      await (membership as ClusterMembership | null)?.close()
      replication.close()
      await server.close(deadlineMs, graceful)
      log.info('memring stopped')
    },
  }
}
