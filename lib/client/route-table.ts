/**
 * RouteTable: one immutable routing snapshot, key -> slot -> hosts. A slot is a shard:
 * where its writes go (`writer`) and which hosts may serve its reads (`copies`).
 *
 *   from a ServerSource  every server is a slot with one copy; the ring is whichever
 *                        lib/ring router `hash` names (libmemcached / twemproxy / jump).
 *   from a ShardSource   slots are shards; the ring is the `hash` method (default
 *                        ketama: MD5, 160 points per weight unit) over the shard ids with
 *                        their weights, built by lib/ring's createShardRouter exactly as
 *                        memring-proxy builds it (lib/proxy/router.ts shardRing), so a
 *                        key goes to the same shard through either. The ring is reused
 *                        while the shard ids, weights and method stay: a failover moves no key.
 *
 * The client swaps the whole table on each snapshot; a call routes on the table it
 * started with.
 */
import { createRouter, createShardRouter, placementKey, type Router, type RouterOptions } from '../ring/index.js'
import type { EpochFence } from './epoch-fence.js'
import type { Host } from './host.js'
import { serverId, type ServerAddress } from './discovery/server-source.js'
import type { ShardInfo } from './discovery/shard-source.js'

export interface Slot {
  /** Shard id (a shard source), or "host:port" (a server list). */
  readonly id: string
  /** The epoch of the writer (0 for a server list). */
  readonly epoch: number
  /** Where writes go; null when there is none to write to (`noWriter` says why). */
  readonly writer: Host | null
  readonly noWriter: string
  /** Hosts that may serve reads, the writer first. */
  readonly copies: readonly Host[]
}

export class RouteTable {
  static readonly empty = new RouteTable(null, [], '')

  /** `ringKey` names what the ring was built from (to reuse it when unchanged). */
  constructor (readonly ring: Router | null, readonly slots: readonly Slot[], readonly ringKey: string) {}

  /** The slot of key bytes; null when there are no slots. */
  slotOf (k: Uint8Array): Slot | null {
    if (this.ring === null) return null
    return this.slots[this.ring.serverOfBytes(k, 0, k.length)]
  }
}

/** A server list: one slot per server, placed by the `hash` method. */
export function tableOfServers (list: readonly ServerAddress[], opts: RouterOptions, hostOf: (s: ServerAddress) => Host): RouteTable {
  if (list.length === 0) return RouteTable.empty
  const slots = list.map((s) => {
    const h = hostOf(s)
    return Object.freeze({ id: h.id, epoch: 0, writer: h, noWriter: '', copies: Object.freeze([h]) })
  })
  return new RouteTable(createRouter(list, opts), Object.freeze(slots), '')
}

/** A shard list: one slot per shard, the ring as memring-proxy's. */
export function tableOfShards (shards: readonly ShardInfo[], prev: RouteTable, fence: EpochFence, hostOf: (s: ServerAddress) => Host,
  placement: RouterOptions = {}): RouteTable {
  if (shards.length === 0) return RouteTable.empty
  const ringKey = placementKey(shards, placement)
  const ring = ringKey === prev.ringKey && prev.ring !== null
    ? prev.ring
    : createShardRouter(shards, placement)
  const slots = shards.map((s): Slot => {
    if (s.primary !== null && !fence.admit(s.id, s.epoch)) {
      // A deposed master: neither writes nor reads; the replicas still serve.
      const stale = serverId(s.primary)
      const copies = s.copies.filter((c) => serverId(c) !== stale).map(hostOf)
      return Object.freeze({
        id: s.id,
        epoch: s.epoch,
        writer: null,
        noWriter: `shard ${s.id}: master ${stale} has epoch ${s.epoch}, older than epoch ${fence.highest(s.id)} seen before (deposed); no write goes to it`,
        copies: Object.freeze(copies),
      })
    }
    const copies = s.copies.map(hostOf)
    const writer = s.primary === null ? null : hostOf(s.primary)
    return Object.freeze({
      id: s.id,
      epoch: s.epoch,
      writer,
      noWriter: writer === null ? `shard ${s.id} has no live master` : '',
      copies: Object.freeze(copies),
    })
  })
  return new RouteTable(ring, Object.freeze(slots), ringKey)
}
