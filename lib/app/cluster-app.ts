// lib/app/cluster-app.ts
/**
 * Joins a running cache host to its cluster: a Registry (lib/cluster) whose load
 * figures come from the server's stats. The server never learns about it; it keeps
 * serving whatever ZooKeeper does.
 */
import type { Logger } from '../log.js'
import { Registry } from '../cluster/index.js'
import type { MemringServer } from '../server/server.js'
import { advertiseFor, type ClusterConfig } from './cluster-options.js'

export async function joinCluster (cfg: ClusterConfig, server: MemringServer, log: Logger): Promise<Registry> {
  const registry = new Registry({
    zk: cfg.zk,
    cluster: cfg.cluster,
    shard: cfg.shard,
    dc: cfg.dc,
    role: cfg.role,
    advertise: advertiseFor(cfg, server.ctx.settings.listen, server.port),
    sessionTimeoutMs: cfg.sessionTimeoutMs,
    load: () => {
      const s = server.ctx.stats
      return {
        curr_connections: s.curr_connections,
        cmd_get: s.cmd_get,
        cmd_set: s.cmd_set,
        get_hits: s.get_hits,
        curr_items: server.store.counters.curr_items ?? 0,
        limit_maxbytes: server.ctx.settings.memoryLimitMb * 1024 * 1024,
      }
    },
    log,
  })
  await registry.start()
  return registry
}
