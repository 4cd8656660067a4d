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
import { joinCluster } from './cluster-app.js'
import type { ClusterConfig } from './cluster-options.js'

export interface ServerApp {
  server: MemringServer
  /** Cluster membership (--zk), or null for a standalone host. */
  registry: Registry | null
  close (deadlineMs?: number): Promise<void>
}

export interface ServerAppOptions {
  settings: ServerSettings
  log?: Logger
  /** Extra server options (protocol plug-ins, shutdown hook). */
  server?: Omit<ServerOptions, 'settings'>
  /** --zk ...: register in ZooKeeper once listening (lib/app/cluster-options.ts). */
  cluster?: ClusterConfig | null
}

export async function startServerApp (o: ServerAppOptions): Promise<ServerApp> {
  const log = o.log ?? silentLogger()
  const server = createServer({
    ...o.server,
    settings: o.settings,
    onInternalError: (err, connId) => log.error({ err, connId }, 'internal error on connection'),
  })
  await server.start()
  const addrs = server.addresses().map((a) => `${a.address}:${a.port}`)
  log.info({ addresses: addrs, memoryLimitMb: o.settings.memoryLimitMb, maxConns: o.settings.maxConns }, 'memring listening')
  let registry: Registry | null = null
  if (o.cluster !== undefined && o.cluster !== null) {
    try {
      registry = await joinCluster(o.cluster, server, log)
    } catch (err) {
      await server.close(0)
      throw err
    }
  }
  return {
    server,
    registry,
    async close (deadlineMs = 1000) {
      // Leave the cluster first so proxies stop routing here before we stop serving.
      await registry?.close()
      await server.close(deadlineMs)
      log.info('memring stopped')
    },
  }
}
