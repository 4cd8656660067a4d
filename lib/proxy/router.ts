// lib/proxy/router.ts
/**
 * Router: key -> shard -> host, over the current Topology.
 *
 *   key -> shard   ketama (lib/ring, MD5, 160 points per weight unit) over the
 *                  shard ids. With a static --servers list every server is a shard
 *                  labelled like libmemcached labels it (host, or host:port when the
 *                  port is not 11211), so the proxy places keys exactly as a
 *                  libmemcached ketama client over the same list would.
 *   shard -> host  the shard's primary (its master). Replicas and followers are not
 *                  read from yet: replication is not built, so they hold no data.
 *
 * update() swaps everything at once; the ring is rebuilt only when the shard list
 * or a weight changed (a host failover moves no key).
 */
import { KetamaRing, ketamaLabel } from '../ring/index.js'
import { Topology, type ShardEntry } from '../cluster/index.js'
import type { BackendHost, BackendPool } from './backend.js'

export class Router {
  readonly pool: BackendPool
  #topology: Topology = Topology.empty
  #ring: KetamaRing | null = null
  #ringKey = ''
  #shards: ShardEntry[] = []
  #hosts: (BackendHost | null)[] = []
  #staticLabels: boolean
  /** Times the ring was rebuilt (shard list or weights changed). */
  ringBuilds = 0

  constructor (pool: BackendPool, opts: { staticLabels?: boolean } = {}) {
    this.pool = pool
    this.#staticLabels = opts.staticLabels ?? false
  }

  get topology (): Topology { return this.#topology }
  get shardCount (): number { return this.#shards.length }

  update (topo: Topology): void {
    const shards = topo.shardIds.map((id) => topo.shards.get(id)!)
    const ringKey = shards.map((s) => `${s.id}*${s.weight}`).join(',')
    if (ringKey !== this.#ringKey) {
      this.#ring = shardRing(shards, this.#staticLabels)
      this.#ringKey = ringKey
      this.ringBuilds++
    }
    const keep = new Set<string>()
    this.#hosts = shards.map((s) => {
      if (s.primary === null) return null
      keep.add(s.primary.address)
      return this.pool.get(s.primary.host, s.primary.port)
    })
    this.#shards = shards
    this.#topology = topo
    this.pool.retain(keep)
  }

  /** Shard index of key bytes buf[s, e); -1 when there are no shards. */
  shardIndexOf (buf: Uint8Array, s: number, e: number): number {
    const ring = this.#ring
    return ring === null ? -1 : ring.serverOfBytes(buf, s, e)
  }

  shard (i: number): ShardEntry { return this.#shards[i]! }
  /** The host writes and reads go to for shard i (null: no live master). */
  host (i: number): BackendHost | null { return i < 0 ? null : this.#hosts[i] ?? null }
  /** Every distinct host of the topology (fan-out targets), primaries first. */
  allHosts (): BackendHost[] {
    const seen = new Map<string, BackendHost>()
    for (const h of this.#hosts) if (h !== null) seen.set(h.address, h)
    return [...seen.values()]
  }
}

/** The label a shard's ketama points are hashed from (see the header). */
export function shardLabel (s: ShardEntry, staticLabels: boolean): string {
  if (!staticLabels || s.primary === null) return s.id
  return ketamaLabel(s.primary.host, s.primary.port)
}

/** The ring keys hash over: one entry per shard, in Topology.shardIds order. */
export function shardRing (shards: readonly ShardEntry[], staticLabels: boolean): KetamaRing | null {
  if (shards.length === 0) return null
  return new KetamaRing(shards.map((s) => ({ label: shardLabel(s, staticLabels), weight: Math.max(1, Math.round(s.weight)) })))
}
