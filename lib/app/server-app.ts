/**
 * Composition root of one cache host: settings -> store + server (+ protocol plug-ins).
 * Cluster membership and replication plug in here too (lib/cluster), never into the server.
 */
import type { Logger } from '../log.js'
import { silentLogger } from '../log.js'
import { createServer } from '../server/server.js'
import type { MemringServer, ServerOptions } from '../server/server.js'
import type { ServerSettings } from '../server/settings.js'

export interface ServerApp {
  server: MemringServer
  close (deadlineMs?: number): Promise<void>
}

export interface ServerAppOptions {
  settings: ServerSettings
  log?: Logger
  /** Extra server options (protocol plug-ins, shutdown hook). */
  server?: Omit<ServerOptions, 'settings'>
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
  return {
    server,
    async close (deadlineMs = 1000) {
      await server.close(deadlineMs)
      log.info('memring stopped')
    },
  }
}
