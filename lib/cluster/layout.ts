// lib/cluster/layout.ts
/**
 * The ZooKeeper layout of ARCHITECTURE §5, in one place, and the JSON records
 * stored in it. Everything lives under /memring/<cluster>:
 *   /nodes/<nodeId>    EPHEMERAL   HostRecord (nodeId = advertised "host:port")
 *   /shards/<shard>    PERSISTENT  ShardRecord (a shard outlives its hosts: keys
 *                                  hash over shards, so a dead shard keeps its keys)
 *   /shards/<shard>/master   PERSISTENT  MasterRecord: the shard's epoch and who holds it;
 *                                        bumped only by an election's conditional multi
 *   /shards/<shard>/leader   EPHEMERAL   LeaderRecord: the master's lease, in its session; gone
 *                                        (session expired, host died) = the shard elects
 *   /shards/<shard>/switchover PERSISTENT SwitchoverRecord: a planned hand-over in progress
 *   /config            PERSISTENT  ClusterConfig: cluster settings every proxy and client
 *                                  follows (the placement method: hash, keyHash, hashTag)
 */
import { ClusterError, ClusterErrorCode } from './errors.js'

export const Role = { Master: 'master', Replica: 'replica', Follower: 'follower' } as const
export type Role = typeof Role[keyof typeof Role]
const ROLES: ReadonlySet<string> = new Set(Object.values(Role))

/** Load figures a host publishes; numbers only, names like memcached's stats. */
export type LoadFigures = Readonly<Record<string, number>>

/** A host's replication position and health (lib/replication), as published in its node. */
export interface ReplRecord {
  /** The master this host follows ('' on a master). */
  master: string
  historyId: string
  seqno: number
  lagMs: number
  lagSeqno: number
  /** A full sync is running: the copy is incomplete, route no reads here. */
  syncInProgress: boolean
  /** Streams this host serves. */
  replicas: number
}

/**
 * --role: `auto` hosts of a shard elect their master (a ZooKeeper election); `replica`
 * is never elected; `follower` is for other DCs. `master` is accepted as `auto`.
 */
export type ConfiguredRole = 'auto' | Role

/** /nodes/<nodeId> data. `instance` tells a leftover of our own earlier session from another process. */
export interface HostRecord {
  host: string
  port: number
  dc: string
  shard: string
  role: Role
  epoch: number
  instance: string
  pid: number
  startedAt: number
  updatedAt: number
  load: LoadFigures
  /** May be elected master of its shard (--role auto, home DC). Absent: false. */
  candidate?: boolean
  /** Absent on hosts that do not replicate (older versions). */
  repl?: ReplRecord
  /** The advertised port requires TLS (memring -Z): proxies and peers connect with TLS. Absent: false. */
  tls?: boolean
}

/** /shards/<shard>/master data: written only by the winner of an election. */
export interface MasterRecord {
  node: string
  epoch: number
  /** The winner's (epoch, seqno) position when it won: its switch point. */
  seqno: number
  at: number
}

/** /shards/<shard>/leader data (EPHEMERAL, the master's session). */
export interface LeaderRecord {
  node: string
  epoch: number
  instance: string
}

/** /shards/<shard>/switchover data: `memringctl failover` asks, the master hands over. */
export interface SwitchoverRecord {
  /** Requested target ('' = the best in-sync replica), then the one chosen by the master. */
  to: string
  /** The epoch being handed over (the master's when it accepts). */
  epoch: number
  /** 'requested' by memringctl; 'handed' once the master released the lease to `to`. */
  state: 'requested' | 'handed'
  at: number
  /** A promote: the shard's new home DC (`to` is then chosen among that DC's hosts). */
  dc?: string
}

/** /shards/<shard> data. */
export interface ShardRecord {
  homeDc: string | null
  weight: number
}

const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/

/** Cluster, shard and DC names become path segments: keep them plain. */
export function checkName (what: string, value: string): string {
  if (!NAME.test(value)) {
    throw new ClusterError(ClusterErrorCode.BadConfig,
      `${what} "${value}" must be 1-128 characters of A-Z a-z 0-9 . _ - (not starting with . or -)`)
  }
  return value
}

export function clusterRoot (cluster: string): string { return `/memring/${checkName('--cluster', cluster)}` }
export function nodesPath (cluster: string): string { return `${clusterRoot(cluster)}/nodes` }
export function shardsPath (cluster: string): string { return `${clusterRoot(cluster)}/shards` }
export function configPath (cluster: string): string { return `${clusterRoot(cluster)}/config` }
export function nodePath (cluster: string, nodeId: string): string { return `${nodesPath(cluster)}/${nodeId}` }
export function shardPath (cluster: string, shard: string): string { return `${shardsPath(cluster)}/${checkName('--shard', shard)}` }

/** A node id is the advertised address, so one address is one registration. */
export function masterPath (cluster: string, shard: string): string { return `${shardPath(cluster, shard)}/master` }
export function leaderPath (cluster: string, shard: string): string { return `${shardPath(cluster, shard)}/leader` }
export function switchoverPath (cluster: string, shard: string): string { return `${shardPath(cluster, shard)}/switchover` }

export function nodeIdOf (host: string, port: number): string { return `${host}:${port}` }

/** /memring/<cluster>/proxies: a memring-proxy's EPHEMERAL presence (`memringctl status`). */
export function proxiesPath (cluster: string): string { return `${clusterRoot(cluster)}/proxies` }

/** One backend as a proxy sees it. */
export interface ProxyBackendRecord { address: string, down: boolean, pending: number }

/** /proxies/<host:port> data, rewritten every few seconds by the proxy. */
export interface ProxyRecord {
  address: string
  dc: string
  pid: number
  startedAt: number
  updatedAt: number
  backends: ProxyBackendRecord[]
}

/** Parse /proxies/<id> data; null when not a record we understand. */
export function decodeProxyRecord (data: Buffer | null): ProxyRecord | null {
  const o = parseObject(data)
  if (o === null || typeof o.address !== 'string') return null
  const backends: ProxyBackendRecord[] = []
  if (Array.isArray(o.backends)) {
    for (const b of o.backends as unknown[]) {
      if (typeof b !== 'object' || b === null) continue
      const r = b as Record<string, unknown>
      if (typeof r.address === 'string') backends.push({ address: r.address, down: r.down === true, pending: count(r.pending) })
    }
  }
  return { address: o.address, dc: typeof o.dc === 'string' ? o.dc : '', pid: count(o.pid), startedAt: count(o.startedAt), updatedAt: count(o.updatedAt), backends }
}

export function encodeRecord (r: HostRecord | ShardRecord | MasterRecord | LeaderRecord | SwitchoverRecord | ProxyRecord): Buffer { return Buffer.from(JSON.stringify(r)) }

/** Parse /nodes/<id> data; null when it is not a host record we understand (skip, never crash). */
export function decodeHostRecord (data: Buffer): HostRecord | null {
  let v: unknown
  try { v = JSON.parse(data.toString('utf8')) } catch { return null }
  if (typeof v !== 'object' || v === null) return null
  const o = v as Record<string, unknown>
  if (typeof o.host !== 'string' || typeof o.port !== 'number' || !Number.isInteger(o.port) ||
      o.port < 1 || o.port > 65535 || typeof o.shard !== 'string' || !NAME.test(o.shard)) return null
  const load: Record<string, number> = {}
  if (typeof o.load === 'object' && o.load !== null) {
    for (const [k, n] of Object.entries(o.load)) if (typeof n === 'number' && Number.isFinite(n)) load[k] = n
  }
  return {
    host: o.host,
    port: o.port,
    dc: typeof o.dc === 'string' ? o.dc : '',
    shard: o.shard,
    role: typeof o.role === 'string' && ROLES.has(o.role) ? o.role as Role : Role.Master,
    epoch: typeof o.epoch === 'number' ? o.epoch : 0,
    instance: typeof o.instance === 'string' ? o.instance : '',
    pid: typeof o.pid === 'number' ? o.pid : 0,
    startedAt: typeof o.startedAt === 'number' ? o.startedAt : 0,
    updatedAt: typeof o.updatedAt === 'number' ? o.updatedAt : 0,
    load,
    ...(o.candidate === true ? { candidate: true } : {}),
    ...(decodeRepl(o.repl) ?? {}),
    ...(o.tls === true ? { tls: true } : {}),
  }
}

function decodeRepl (v: unknown): { repl: ReplRecord } | null {
  if (typeof v !== 'object' || v === null) return null
  const r = v as Record<string, unknown>
  const num = (x: unknown): number => typeof x === 'number' && Number.isFinite(x) ? x : 0
  return {
    repl: {
      master: typeof r.master === 'string' ? r.master : '',
      historyId: typeof r.historyId === 'string' ? r.historyId : '',
      seqno: num(r.seqno),
      lagMs: num(r.lagMs),
      lagSeqno: num(r.lagSeqno),
      syncInProgress: r.syncInProgress === true,
      replicas: num(r.replicas),
    },
  }
}

export function decodeShardRecord (data: Buffer | null): ShardRecord {
  const dflt: ShardRecord = { homeDc: null, weight: 1 }
  if (data === null || data.length === 0) return dflt
  try {
    const o = JSON.parse(data.toString('utf8')) as Record<string, unknown>
    return {
      homeDc: typeof o.homeDc === 'string' ? o.homeDc : null,
      weight: typeof o.weight === 'number' && o.weight > 0 && Number.isFinite(o.weight) ? o.weight : 1,
    }
  } catch { return dflt }
}

function parseObject (data: Buffer | null): Record<string, unknown> | null {
  if (data === null || data.length === 0) return null
  try {
    const v: unknown = JSON.parse(data.toString('utf8'))
    return typeof v === 'object' && v !== null ? v as Record<string, unknown> : null
  } catch { return null }
}

const count = (x: unknown): number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0 ? x : 0

export function decodeMasterRecord (data: Buffer | null): MasterRecord | null {
  const o = parseObject(data)
  if (o === null || typeof o.node !== 'string') return null
  return { node: o.node, epoch: count(o.epoch), seqno: count(o.seqno), at: count(o.at) }
}

export function decodeLeaderRecord (data: Buffer | null): LeaderRecord | null {
  const o = parseObject(data)
  if (o === null || typeof o.node !== 'string') return null
  return { node: o.node, epoch: count(o.epoch), instance: typeof o.instance === 'string' ? o.instance : '' }
}

export function decodeSwitchoverRecord (data: Buffer | null): SwitchoverRecord | null {
  const o = parseObject(data)
  if (o === null) return null
  return {
    to: typeof o.to === 'string' ? o.to : '',
    epoch: count(o.epoch),
    state: o.state === 'handed' ? 'handed' : 'requested',
    at: count(o.at),
    ...(typeof o.dc === 'string' && NAME.test(o.dc) ? { dc: o.dc } : {}),
  }
}

/**
 * /config: cluster settings. `hash` (with `keyHash`, `hashTag`) is the placement method
 * every memring-proxy and lib/client of the cluster uses (lib/ring/router.ts names); an
 * absent field leaves the proxy's or client's own option in force. Written by
 * `memringctl config set`. Strings only here: lib/ring validates the names.
 */
export interface ClusterConfig {
  hash?: string
  keyHash?: string
  hashTag?: string
}

export function encodeClusterConfig (c: ClusterConfig): Buffer { return Buffer.from(JSON.stringify(c)) }

/** Parse /config data; unknown or malformed fields are dropped (never crash on a bad record). */
export function decodeClusterConfig (data: Buffer | null): ClusterConfig {
  if (data === null || data.length === 0) return {}
  let v: unknown
  try { v = JSON.parse(data.toString('utf8')) } catch { return {} }
  if (typeof v !== 'object' || v === null) return {}
  const o = v as Record<string, unknown>
  const out: ClusterConfig = {}
  if (typeof o.hash === 'string') out.hash = o.hash
  if (typeof o.keyHash === 'string') out.keyHash = o.keyHash
  if (typeof o.hashTag === 'string') out.hashTag = o.hashTag
  return out
}
