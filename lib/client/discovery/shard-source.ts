/**
 * A source of SHARDS rather than servers: what a memring cluster looks like to a router.
 * Keys hash over shard ids (never over hosts), so a failover or a new replica moves no
 * key; each shard says where writes go (its primary) and which hosts may serve reads
 * (its copies). Implementation: ZooKeeperShards (./zookeeper-shards.ts), over lib/cluster's
 * TopologyWatcher. A flat ServerSource is the special case "every server is a shard with
 * one copy" (client.ts handles both).
 *
 * Contract for implementations (as ServerSource's):
 *  - current() is an immutable snapshot; a change is a NEW array, never a mutation.
 *  - subscribe() calls the listener with each new snapshot after it is taken, not with
 *    the current one; bursts are debounced by the source.
 *  - Shards stay in the list while they have no live host (their keys must not move).
 *  - close() stops calls to listeners.
 */
import type { ServerAddress } from './server-source.js'

export interface ShardInfo {
  /** The shard id: the label its ketama points are hashed from. */
  readonly id: string
  /** Ketama weight (rounded, at least 1, when the ring is built). */
  readonly weight: number
  /** The primary's epoch (0 when none is live); a record with a lower one is stale. */
  readonly epoch: number
  /** Where writes go; null when the shard has no live master. */
  readonly primary: ServerAddress | null
  /** Hosts that may serve reads: the primary first, then replicas holding a complete copy. */
  readonly copies: readonly ServerAddress[]
}

export type ShardListener = (shards: readonly ShardInfo[]) => void

export interface ShardSource {
  /** Tells a ShardSource from a ServerSource. */
  readonly kind: 'shards'
  current (): readonly ShardInfo[]
  subscribe (listener: ShardListener): () => void
  /** True while the source cannot confirm its snapshot (e.g. ZooKeeper away): routing goes on with it. */
  readonly stale: boolean
  /**
   * The cluster's placement setting, if it has one (ZooKeeper /config: `hash`, `keyHash`,
   * `hashTag`): it overrides the client's `hash` options, as it does memring-proxy's flags.
   * Read at every snapshot; a change of it alone is a new snapshot.
   */
  setting? (): { readonly hash?: string, readonly keyHash?: string, readonly hashTag?: string }
  close (): Promise<void>
}

export function isShardSource (s: unknown): s is ShardSource {
  return typeof s === 'object' && s !== null && (s as { kind?: unknown }).kind === 'shards'
}
