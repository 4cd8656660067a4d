/**
 * ZooKeeperShards: the shards of a memring cluster as ZooKeeper shows them, for a
 * Client that routes without the memring-proxy sidecar. A thin adapter over lib/cluster's
 * TopologyWatcher (which re-arms watches, debounces bursts, and keeps the last snapshot
 * while ZooKeeper is away): each Topology becomes a list of ShardInfo in
 * `Topology.shardIds` order, the order memring-proxy builds its ring in.
 *
 * The one edge from lib/client into lib/cluster (through its index.ts); nothing else
 * in lib/client knows ZooKeeper exists (lib/test/architecture.test.ts).
 */
import type { Logger } from '../../log.js'
import { TopologyWatcher, type HostEntry, type Topology, type ZkSession } from '../../cluster/index.js'
import type { ServerAddress } from './server-source.js'
import type { ShardInfo, ShardListener, ShardSource } from './shard-source.js'

export interface ZooKeeperShardsOptions {
  /** HOST:PORT[,...] of the ensemble (a session of our own), or a session to share. */
  readonly zk: string | ZkSession
  /** The cluster name (`memring --cluster`). */
  readonly cluster: string
  /** Default 10,000 ms (ZooKeeper clamps it to 2..20 ticks). */
  readonly sessionTimeoutMs?: number
  readonly connectTimeoutMs?: number
  /** Quiet time that ends a burst of changes (TopologyWatcher default 50 ms). */
  readonly debounceMs?: number
  readonly log?: Logger
}

export class ZooKeeperShards implements ShardSource {
  readonly kind = 'shards' as const
  readonly watcher: TopologyWatcher
  #shards: readonly ShardInfo[] = Object.freeze([])
  #listeners = new Set<ShardListener>()

  constructor (opts: ZooKeeperShardsOptions) {
    this.watcher = new TopologyWatcher({
      zk: opts.zk,
      cluster: opts.cluster,
      sessionTimeoutMs: opts.sessionTimeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs,
      debounceMs: opts.debounceMs,
      log: opts.log,
    })
    // 'change' fires only when routing would change (Topology.fingerprint covers roles,
    // epochs, weights and which replicas hold a complete copy); load refreshes do not.
    this.watcher.on('change', (next: Topology) => {
      this.#shards = shardsOf(next)
      for (const l of this.#listeners) l(this.#shards)
    })
  }

  /** Connects and resolves once the first snapshot is in (its shards are current()). */
  static async start (opts: ZooKeeperShardsOptions): Promise<ZooKeeperShards> {
    const s = new ZooKeeperShards(opts)
    try {
      await s.start()
    } catch (err) {
      await s.close()
      throw err
    }
    return s
  }

  async start (): Promise<void> {
    const first = await this.watcher.start()
    this.#shards = shardsOf(first)
  }

  current (): readonly ShardInfo[] { return this.#shards }
  /** The cluster's /config placement setting ({} when none). */
  setting (): { readonly hash?: string, readonly keyHash?: string, readonly hashTag?: string } { return this.watcher.current.config }
  get stale (): boolean { return this.watcher.stale }
  /** The full snapshot behind current() (roles, DCs, load figures). */
  get topology (): Topology { return this.watcher.current }

  subscribe (listener: ShardListener): () => void {
    this.#listeners.add(listener)
    return () => { this.#listeners.delete(listener) }
  }

  async close (): Promise<void> {
    this.#listeners.clear()
    await this.watcher.close()
  }
}

/** Topology -> ShardInfo[], in shardIds order (what the proxy's ring is built over). */
export function shardsOf (t: Topology): readonly ShardInfo[] {
  return Object.freeze(t.shardIds.map((id) => {
    const s = t.shards.get(id)!
    return Object.freeze({
      id,
      weight: s.weight,
      epoch: s.epoch,
      primary: s.primary === null ? null : address(s.primary),
      copies: Object.freeze(s.copies.map(address)),
    })
  }))
}

function address (h: HostEntry): ServerAddress {
  return Object.freeze(h.tls ? { host: h.host, port: h.port, tls: true } : { host: h.host, port: h.port })
}
