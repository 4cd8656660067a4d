// lib/app/cluster-app.ts
/**
 * Joins a running cache host to its cluster: a Registry (lib/cluster) whose load and
 * replication figures come from the server, and, for replication, a TopologyWatcher
 * that tells this host which master of its shard to follow. The server never learns
 * about either; it keeps serving whatever ZooKeeper does.
 *
 * Role at start-up (no election yet: see lib/replication/README.md):
 *   --role replica   follow the shard's master (the live master with the highest epoch),
 *                    switching when it changes
 *   --role master    take writes, unless the shard already has a live master (then follow
 *                    it) or a live host holding data (then wait as a replica: an empty
 *                    node never takes over a shard whose data lives elsewhere)
 */
import type { Logger } from '../log.js'
import { Registry, Role, TopologyWatcher, type HostEntry, type Topology } from '../cluster/index.js'
import type { Replication } from '../replication/replication.js'
import type { MemringServer } from '../server/server.js'
import { advertiseFor, type ClusterConfig } from './cluster-options.js'

export interface ClusterMembership {
  registry: Registry
  watcher: TopologyWatcher | null
  close (): Promise<void>
}

export async function joinCluster (cfg: ClusterConfig, server: MemringServer, log: Logger, repl: Replication | null = null): Promise<ClusterMembership> {
  const advertise = advertiseFor(cfg, server.ctx.settings.listen, server.port)
  const self = `${advertise.host}:${advertise.port}`
  let role = cfg.role
  let watcher: TopologyWatcher | null = null
  if (repl !== null && role !== Role.Follower) {
    watcher = new TopologyWatcher({ zk: cfg.zk, cluster: cfg.cluster, sessionTimeoutMs: cfg.sessionTimeoutMs, log })
    const topo = await watcher.start()
    if (role === Role.Master) {
      const peers = (topo.shards.get(cfg.shard)?.hosts ?? []).filter((h) => h.address !== self)
      const master = peers.find((h) => h.role === Role.Master)
      const holder = peers.find((h) => (h.repl?.seqno ?? 0) > 0)
      if (master !== undefined || holder !== undefined) {
        log.warn({ shard: cfg.shard, master: master?.address, dataOn: holder?.address },
          'the shard already has a live master or data elsewhere: joining as a replica, not taking over empty')
        role = Role.Replica
      }
    }
    if (role === Role.Replica) {
      const follow = (t: Topology): void => {
        const m = masterOf(t, cfg.shard, self)
        // No live master: keep trying the last one (it may be restarting); serve reads.
        if (m !== null) repl.follow(m.host, m.port)
        else if (repl.role !== 'replica') repl.standBy()
      }
      follow(topo)
      watcher.on('update', (t: Topology) => follow(t))
    } else {
      repl.activate()
      await watcher.close()
      watcher = null
    }
  }
  const registry = new Registry({
    zk: cfg.zk,
    cluster: cfg.cluster,
    shard: cfg.shard,
    dc: cfg.dc,
    role,
    advertise,
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
    ...(repl !== null ? { repl: () => { const { role: _r, ...rest } = repl.summary(); return rest } } : {}),
    log,
  })
  if (repl !== null) {
    const before = repl.onChange
    repl.onChange = () => { before(); registry.refresh() }
  }
  try {
    await registry.start()
  } catch (err) {
    await watcher?.close()
    throw err
  }
  return {
    registry,
    watcher,
    async close () {
      await watcher?.close()
      await registry.close()
    },
  }
}

/** The live master of a shard other than ourselves (highest epoch, then node id). */
function masterOf (t: Topology, shard: string, self: string): HostEntry | null {
  const s = t.shards.get(shard)
  if (s === undefined) return null
  const masters = s.masters.filter((h) => h.address !== self)
  if (masters.length === 0) return null
  return masters.reduce((a, b) => (b.epoch > a.epoch ? b : a))
}
