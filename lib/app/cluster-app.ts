// lib/app/cluster-app.ts
/**
 * Joins a running cache host to its cluster: a Registry (lib/cluster) whose load and
 * replication figures come from the server, and the shard's ShardElection, which says
 * whether this host is the master (and holds the lease) or which master to follow. The
 * server never learns about either: it sees only `ctx.readOnly`, which here becomes
 *   master holding the lease   null (writes taken)
 *   master without the lease   SERVER_ERROR not master: ... (fenced; see lib/cluster/election.ts)
 *   replica                    SERVER_ERROR read-only replica (master HOST:PORT)
 *
 * Roles (--role) and DCs (--dc): lib/cluster/dc-roles.ts. In the shard's home DC, auto
 * (default; `master` is the same) runs for master and replica follows, never elected; in
 * any other DC every host is a follower: it streams the shard's writes (the DC's head from
 * the master across the WAN, the others chained from the head), serves reads there, and is
 * never elected until `memringctl promote` makes its DC the home.
 */
import type { Logger } from '../log.js'
import { DiscoveryList, Registry, Role, ShardElection, TopologyWatcher } from '../cluster/index.js'
import { chooseUpstream, inHomeDc } from '../cluster/dc-roles.js'
import type { Replication } from '../replication/replication.js'
import type { MemringServer } from '../server/server.js'
import type { ReadOnly } from '../server/context.js'
import { advertiseFor, type ClusterConfig } from './cluster-options.js'

export interface ClusterMembership {
  registry: Registry
  election: ShardElection | null
  /** The cluster's hosts: a follower picks its DC's head from them; `config get cluster` lists their masters. */
  watcher: TopologyWatcher
  close (): Promise<void>
}

export async function joinCluster (cfg: ClusterConfig, server: MemringServer, log: Logger, repl: Replication | null = null, port = server.port): Promise<ClusterMembership> {
  const advertise = advertiseFor(cfg, server.ctx.settings.listen, port)
  const self = `${advertise.host}:${advertise.port}`
  let election: ShardElection | null = null
  const dc = cfg.dc ?? ''
  const role = (): Role => {
    if (repl === null) return Role.Master
    if (election !== null && election.leading && repl.role === 'master') return Role.Master
    return inHomeDc(cfg.role, dc, election?.homeDc ?? null) ? Role.Replica : Role.Follower
  }
  const registry = new Registry({
    zk: cfg.zk,
    cluster: cfg.cluster,
    shard: cfg.shard,
    dc: cfg.dc,
    role,
    epoch: () => repl?.epoch ?? 0,
    candidate: () => election?.candidate ?? false,
    claimHomeDc: cfg.role !== Role.Follower,
    advertise,
    // -Z: the advertised port (-p, the first listener) is a TLS one (README "TLS").
    tls: server.ctx.settings.tls.enabled,
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
  // The cluster's hosts on the registry's session: ElastiCache-style discovery
  // (`config get cluster`), and below, where a follower streams from.
  const watcher = new TopologyWatcher({ zk: registry.session, cluster: cfg.cluster, log })
  server.ctx.clusterConfig = new DiscoveryList(watcher)
  registry.on('registered', () => { void watcher.start().catch(() => {}) })
  if (repl !== null) {
    const e = new ShardElection({
      session: registry.session,
      cluster: cfg.cluster,
      shard: cfg.shard,
      nodeId: self,
      instance: registry.instance,
      role: cfg.role,
      dc,
      publish: () => registry.refresh(),
      handOver: (target) => caughtUp(repl, target, Math.max(2000, cfg.sessionTimeoutMs)),
      log,
    })
    election = e
    e.on('lead', (epoch: number) => { repl.lead(epoch); void registry.refresh() })
    // Where this host streams from: the master, or (in another DC) its DC's head.
    const w = watcher
    let upstream = ''
    const follow = (): void => {
      if (e.leading || e.master === '') return
      const members = w.current.shards.get(cfg.shard)?.hosts ?? []
      const next = chooseUpstream({ nodeId: self, dc }, e.master, members, e.homeDc)
      if (next === upstream && repl.role === 'replica' && repl.link.target !== null) { repl.knowEpoch(e.epoch); return }
      if (next !== upstream) log.info({ upstream: next, master: e.master, dc }, next === e.master ? 'streaming from the shard master' : 'chaining from this DC\'s head')
      upstream = next
      const i = next.lastIndexOf(':')
      repl.follow(next.slice(0, i), Number(next.slice(i + 1)), e.epoch)
      void registry.refresh()
    }
    e.on('follow', follow)
    e.on('lead', () => { upstream = '' })
    w.on('change', follow)
    e.on('home', () => { void registry.refresh() })
    e.on('fenced', () => { void registry.refresh() })
    // The master is gone: stop applying its stream before publishing our position, so the
    // positions the election ranks stay put (a master that does not know yet that it was
    // deposed must not feed one replica past the winner).
    e.on('vacant', () => { if (e.candidate) { upstream = ''; repl.unfollow() } })
    // A replica told us of a newer epoch: another master exists; stop taking writes now
    // (the election learns the rest from ZooKeeper).
    repl.onNewerEpoch = (epoch) => { log.warn({ epoch }, 'a replica has seen a newer epoch: this master is deposed') }
    fenceWrites(server, repl, e, cfg.shard)
    registry.on('registered', () => { e.start() })
    const before = repl.onChange
    repl.onChange = () => { before(); void registry.refresh() }
  }
  try {
    await registry.start()
    if (election !== null) await firstDecision(election, Math.min(5000, cfg.sessionTimeoutMs))
  } catch (err) {
    election?.close()
    server.ctx.clusterConfig = null
    await watcher.close()
    await registry.close()
    throw err
  }
  return {
    registry,
    election,
    watcher,
    async close () {
      election?.close()
      server.ctx.clusterConfig = null
      await watcher.close()
      await registry.close()
    },
  }
}

/**
 * The refusal the server sees: a master answers writes only while the election says it
 * holds the lease (checked per write: a paused or cut-off master refuses the very first
 * write after its lease ran out); a replica keeps the refusal replication-app set.
 */
function fenceWrites (server: MemringServer, repl: Replication, election: ShardElection, shard: string): void {
  const ctx = server.ctx
  let replicaRefusal: ReadOnly | null = ctx.readOnly
  const cache = new Map<string, ReadOnly>()
  const refusal = (text: string): ReadOnly => {
    let r = cache.get(text)
    if (r === undefined) {
      if (cache.size > 16) cache.clear()
      r = { line: Buffer.from(`SERVER_ERROR ${text}\r\n`, 'latin1'), body: Buffer.from(text, 'latin1') }
      cache.set(text, r)
    }
    return r
  }
  Object.defineProperty(ctx, 'readOnly', {
    configurable: true,
    enumerable: true,
    get: (): ReadOnly | null => {
      if (repl.role !== 'master') return replicaRefusal
      if (election.writable()) return null
      if (election.handingOver) return refusal(`not master: shard ${shard} is switching master`)
      return refusal(`not master: no master lease for shard ${shard} (epoch ${repl.epoch})`)
    },
    set: (v: ReadOnly | null) => { replicaRefusal = v },
  })
}

/** Resolves once the election has led or found a master to follow (or after `ms`). */
function firstDecision (e: ShardElection, ms: number): Promise<void> {
  if (e.leading || e.master !== '') return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => { clearTimeout(timer); e.off('lead', done); e.off('follow', done); resolve() }
    const timer = setTimeout(done, ms)
    e.once('lead', done)
    e.once('follow', done)
  })
}

/** Planned hand-over: true once `target` has acked every record this master wrote. */
async function caughtUp (repl: Replication, target: string, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    const r = repl.source.replicas().find((v) => v.node === target)
    if (r !== undefined && r.state === 'online' && r.ackedSeqno >= repl.log.seqno) return true
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return false
}
