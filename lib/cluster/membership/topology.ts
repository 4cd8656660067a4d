// lib/cluster/membership/topology.ts
/**
 * Topology: an immutable snapshot of the cluster, shards -> hosts by role and DC.
 * Built in one go from host records and shard records, frozen, and swapped whole
 * by its owner (never edited), so a request that picked a route from a snapshot
 * sees one consistent view. Keys hash over `shardIds`, never over hosts: a shard
 * with no live host stays in the list and keeps its keys.
 *
 * Pure code: no ZooKeeper, no sockets. The watcher (./watcher.ts) and the static
 * `--servers` list (fromServers) both produce Topology objects.
 */
import type { ClusterConfig, HostRecord, LoadFigures, ReplRecord, Role, ShardRecord } from '../layout.js'

export interface HostEntry {
  readonly nodeId: string
  readonly host: string
  readonly port: number
  /** "host:port" */
  readonly address: string
  readonly dc: string
  readonly shard: string
  readonly role: Role
  readonly epoch: number
  readonly load: LoadFigures
  /** Replication position and health, when the host publishes it. */
  readonly repl: ReplRecord | null
  /** The host requires TLS on its advertised port (HostRecord.tls). */
  readonly tls: boolean
}

export interface ShardEntry {
  readonly id: string
  readonly homeDc: string | null
  readonly weight: number
  /** The master writes go to: highest epoch, then lowest node id. Null: none live. */
  readonly primary: HostEntry | null
  /** The primary's epoch (0 when none is live): routes to an older epoch are stale. */
  readonly epoch: number
  /**
   * The copies that may serve reads: the primary first, then the shard's replicas that
   * hold a complete copy (published replication state, not mid full sync), by node id.
   * Followers (other DCs) are not included. Empty when no copy is live.
   */
  readonly copies: readonly HostEntry[]
  readonly masters: readonly HostEntry[]
  readonly replicas: readonly HostEntry[]
  readonly followers: readonly HostEntry[]
  /** All live hosts of the shard, sorted by node id. */
  readonly hosts: readonly HostEntry[]
  /** Live hosts of the shard per DC ('' = no DC given). */
  readonly byDc: ReadonlyMap<string, readonly HostEntry[]>
}

export class Topology {
  /** Monotonic per owner; 0 for an empty or hand-built snapshot. */
  readonly version: number
  /** Shard ids in a stable order (numeric-aware sort): what keys hash over. */
  readonly shardIds: readonly string[]
  readonly shards: ReadonlyMap<string, ShardEntry>
  readonly hosts: ReadonlyMap<string, HostEntry>
  /** Everything routing depends on, as one string: equal fingerprints route the same. */
  readonly fingerprint: string
  readonly builtAt: number

  /** The cluster's /config settings ({} when none, and for a static list). */
  readonly config: Readonly<ClusterConfig>

  private constructor (version: number, shards: Map<string, ShardEntry>, hosts: Map<string, HostEntry>, fingerprint: string, config: ClusterConfig) {
    this.version = version
    this.config = Object.freeze({ ...config })
    this.shards = shards
    this.hosts = hosts
    this.shardIds = Object.freeze([...shards.keys()])
    this.fingerprint = fingerprint
    this.builtAt = Date.now()
    Object.freeze(this)
  }

  static readonly empty = Topology.build([], [], 0)

  /**
   * Build a snapshot. `shards` are the persistent shard records (id -> record);
   * a host whose shard has no record still creates its shard (weight 1).
   */
  static build (shards: Iterable<readonly [string, ShardRecord]>, hosts: Iterable<readonly [string, HostRecord]>, version: number, config: ClusterConfig = {}): Topology {
    const shardRecs = new Map<string, ShardRecord>(shards)
    const byShard = new Map<string, HostEntry[]>()
    const hostMap = new Map<string, HostEntry>()
    for (const [nodeId, r] of [...hosts].sort((a, b) => cmp(a[0], b[0]))) {
      const h: HostEntry = Object.freeze({
        nodeId, host: r.host, port: r.port, address: `${r.host}:${r.port}`, dc: r.dc,
        shard: r.shard, role: r.role, epoch: r.epoch, load: Object.freeze({ ...r.load }), repl: r.repl === undefined ? null : Object.freeze({ ...r.repl }), tls: r.tls === true,
      })
      hostMap.set(nodeId, h)
      let list = byShard.get(r.shard)
      if (list === undefined) byShard.set(r.shard, list = [])
      list.push(h)
      if (!shardRecs.has(r.shard)) shardRecs.set(r.shard, { homeDc: null, weight: 1 })
    }
    const ids = [...shardRecs.keys()].sort(cmp)
    const shardMap = new Map<string, ShardEntry>()
    const fp: string[] = []
    for (const id of ids) {
      const rec = shardRecs.get(id)!
      const all = byShard.get(id) ?? []
      const masters = all.filter((h) => h.role === 'master')
      const primary = masters.length === 0
        ? null
        : masters.reduce((best, h) => h.epoch > best.epoch ? h : best)
      const copies = all.filter((h) => h !== primary && isReadableReplica(h))
      if (primary !== null) copies.unshift(primary)
      const byDc = new Map<string, HostEntry[]>()
      for (const h of all) {
        let l = byDc.get(h.dc)
        if (l === undefined) byDc.set(h.dc, l = [])
        l.push(h)
      }
      for (const l of byDc.values()) Object.freeze(l)
      shardMap.set(id, Object.freeze({
        id, homeDc: rec.homeDc, weight: rec.weight, primary, epoch: primary?.epoch ?? 0,
        copies: Object.freeze(copies),
        masters: Object.freeze(masters),
        replicas: Object.freeze(all.filter((h) => h.role === 'replica')),
        followers: Object.freeze(all.filter((h) => h.role === 'follower')),
        hosts: Object.freeze(all),
        byDc,
      }))
      fp.push(`${id}*${rec.weight}@${rec.homeDc ?? ''}=${primary?.address ?? '-'}[${all.map((h) => `${h.address}/${h.role}/${h.dc}/${h.epoch}${h.tls ? '/tls' : ''}${isReadableReplica(h) || isReadableFollower(h) ? '/r' : ''}`).join(',')}]`)
    }
    // the placement settings route too: a change is a new fingerprint
    fp.push(`config=${config.hash ?? ''}/${config.keyHash ?? ''}/${config.hashTag ?? ''}`)
    return new Topology(version, shardMap, hostMap, fp.join(';'), config)
  }

  /**
   * A static topology from a `--servers HOST:PORT,...` list: each server is its own
   * shard, named by its address (weights 1).
   */
  static fromServers (servers: readonly { host: string, port: number, weight?: number }[]): Topology {
    const hosts: [string, HostRecord][] = servers.map((s) => {
      const id = `${s.host}:${s.port}`
      return [id, {
        host: s.host, port: s.port, dc: '', shard: id, role: 'master', epoch: 0,
        instance: '', pid: 0, startedAt: 0, updatedAt: 0, load: {},
      }]
    })
    return Topology.build(hosts.map(([id], i) => [id, { homeDc: null, weight: servers[i]!.weight ?? 1 }] as const), hosts, 0)
  }

  /** Host ids present here and not in `prev`, and the reverse. */
  diff (prev: Topology): { added: string[], removed: string[] } {
    const added = [...this.hosts.keys()].filter((id) => !prev.hosts.has(id))
    const removed = [...prev.hosts.keys()].filter((id) => !this.hosts.has(id))
    return { added, removed }
  }
}

/** A follower (another DC) that holds a complete copy of its shard: reads in its DC may go there. */
export function isReadableFollower (h: HostEntry): boolean {
  return h.role === 'follower' && h.repl !== null && !h.repl.syncInProgress
}

/** A replica that holds a complete copy of its shard (it may serve reads). */
export function isReadableReplica (h: HostEntry): boolean {
  return h.role === 'replica' && h.repl !== null && !h.repl.syncInProgress
}

/** Numeric-aware order so shards "2" < "10" and "s2" < "s10". */
function cmp (a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true })
}
