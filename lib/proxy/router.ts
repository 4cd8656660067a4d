// lib/proxy/router.ts
/**
 * Router: key -> shard -> host, over the current Topology.
 *
 *   key -> shard   ketama (lib/ring, MD5, 160 points per weight unit) over the
 *                  shard ids. With a static --servers list every server is a shard
 *                  labelled like libmemcached labels it (host, or host:port when the
 *                  port is not 11211), so the proxy places keys exactly as a
 *                  libmemcached ketama client over the same list would.
 *   shard -> host  a ShardRoute per shard:
 *                  writer   the shard's primary (its master), unless FENCED: its epoch
 *                           is older than the highest epoch this router has seen for
 *                           the shard (a deposed master whose node record has not left
 *                           ZooKeeper yet). A fenced shard has no writer until a master
 *                           with epoch >= seen appears.
 *                  readers  the copies reads may go to (ShardEntry.copies: the primary,
 *                           then replicas holding a complete copy). `--read-from master`:
 *                           the writer only. Copies at the seen epoch come first; older
 *                           ones are a last resort (see pick()).
 *
 * Epochs seen per shard only grow: the highest HostEntry.epoch of any host of the
 * shard (a master publishes its own, a replica the epoch of the master it follows).
 * A static --servers topology is epoch 0 everywhere: nothing is ever fenced.
 *
 * update() swaps every route at once; the ring is rebuilt only when the shard list
 * or a weight changed (a failover moves no key: keys hash over shard ids). Requests
 * in flight keep the ShardRoute they started with (its hosts may be closed by then:
 * they fail fast and the request moves on).
 */
import { KetamaRing, ketamaLabel } from '../ring/index.js'
import { Topology, type HostEntry, type ShardEntry } from '../cluster/index.js'
import type { BackendHost, BackendPool } from './backend.js'

/** Where reads go: any copy (default), or the master only (read-your-writes). */
export type ReadFrom = 'any' | 'master'

/** Copies beyond this many are not read from (a request's tried set is one 31-bit mask). */
const MAX_COPIES = 31

/** One shard's hosts, as requests use them. Built by Router.update(), then only read. */
export class ShardRoute {
  readonly id: string
  /** Where writes go; null: no live master, or only a fenced one. */
  readonly writer: BackendHost | null
  /** True when the shard's primary exists but is fenced (older epoch than seen). */
  readonly fenced: boolean
  /** The copies reads may go to: `fresh` copies at the seen epoch first, then older ones. */
  readonly readers: readonly BackendHost[]
  readonly fresh: number
  /** Rotates the starting point of pick(), so equal loads take turns. */
  #turn = 0

  constructor (id: string, writer: BackendHost | null, fenced: boolean, readers: BackendHost[], fresh: number) {
    this.id = id
    this.writer = writer
    this.fenced = fenced
    this.readers = readers
    this.fresh = fresh
  }

  /**
   * The copy a read should try next, as an index into `readers`, skipping the copies
   * whose bit is set in `tried`; -1 when every copy was tried.
   *
   * Least outstanding requests (the requests this proxy has in flight to the host, all
   * clients and protocols), taken over ALL candidates, not power of two choices: the
   * figure is exact and local (no other balancer's stale view to herd on), and a shard
   * has a handful of copies, so scanning them all costs less than two random draws.
   * Ties (an idle proxy: every count 0) go to the next copy in turn, so light traffic
   * is spread round-robin. Order of preference: up and fresh, up and older epoch,
   * marked down (TKO; fails fast) fresh, then down and older.
   */
  pick (tried: number): number {
    const n = this.readers.length
    if (n === 0) return -1
    const start = this.#turn++ % n
    if (this.#turn > 0x3fffffff) this.#turn = 0
    let best = -1
    let bestClass = 4
    let bestLoad = 0
    for (let k = 0; k < n; k++) {
      const i = start + k < n ? start + k : start + k - n
      if ((tried & (1 << i)) !== 0) continue
      const h = this.readers[i]!
      const cls = (h.down ? 2 : 0) + (i < this.fresh ? 0 : 1)
      if (cls > bestClass) continue
      const load = h.pending
      if (cls < bestClass || load < bestLoad) { best = i; bestClass = cls; bestLoad = load }
    }
    return best
  }
}

const NO_ROUTE = new ShardRoute('', null, false, [], 0)

export class Router {
  readonly pool: BackendPool
  readonly readFrom: ReadFrom
  #topology: Topology = Topology.empty
  #ring: KetamaRing | null = null
  #ringKey = ''
  #shards: ShardEntry[] = []
  #routes: ShardRoute[] = []
  #staticLabels: boolean
  /** Highest epoch seen per shard id; never lowered. */
  #seen = new Map<string, number>()
  /** Times the ring was rebuilt (shard list or weights changed). */
  ringBuilds = 0

  constructor (pool: BackendPool, opts: { staticLabels?: boolean, readFrom?: ReadFrom } = {}) {
    this.pool = pool
    this.#staticLabels = opts.staticLabels ?? false
    this.readFrom = opts.readFrom ?? 'any'
  }

  get topology (): Topology { return this.#topology }
  get shardCount (): number { return this.#shards.length }
  /** Shards whose only live master is fenced right now. */
  get fencedShards (): number { let n = 0; for (const r of this.#routes) if (r.fenced) n++; return n }

  update (topo: Topology): void {
    const shards = topo.shardIds.map((id) => topo.shards.get(id)!)
    const ringKey = shards.map((s) => `${s.id}*${s.weight}`).join(',')
    if (ringKey !== this.#ringKey) {
      this.#ring = shardRing(shards, this.#staticLabels)
      this.#ringKey = ringKey
      this.ringBuilds++
    }
    const keep = new Set<string>()
    const host = (h: HostEntry): BackendHost => { keep.add(h.address); return this.pool.get(h.host, h.port) }
    this.#routes = shards.map((s) => {
      let seen = this.#seen.get(s.id) ?? 0
      for (const h of s.hosts) if (h.epoch > seen) seen = h.epoch
      if (s.epoch > seen) seen = s.epoch
      this.#seen.set(s.id, seen)
      const p = s.primary
      const fenced = p !== null && p.epoch < seen
      const writer = p === null || fenced ? null : host(p)
      if (this.readFrom === 'master') return new ShardRoute(s.id, writer, fenced, writer === null ? [] : [writer], writer === null ? 0 : 1)
      const copies = s.copies.slice(0, MAX_COPIES)
      const readers: BackendHost[] = []
      for (const h of copies) if (h.epoch >= seen) readers.push(host(h))
      const fresh = readers.length
      for (const h of copies) if (h.epoch < seen) readers.push(host(h))
      return new ShardRoute(s.id, writer, fenced, readers, fresh)
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
  /** Shard i's route (an empty one for i < 0: no shards). */
  route (i: number): ShardRoute { return i < 0 ? NO_ROUTE : this.#routes[i] ?? NO_ROUTE }
  /** The host writes go to for shard i (null: no live master, or only a fenced one). */
  host (i: number): BackendHost | null { return i < 0 ? null : this.#routes[i]?.writer ?? null }
  /** Highest epoch seen for a shard id (0: none). */
  seenEpoch (id: string): number { return this.#seen.get(id) ?? 0 }
  /** Every distinct writer of the topology (fan-out targets: flush_all, stats, admin). */
  allHosts (): BackendHost[] {
    const seen = new Map<string, BackendHost>()
    for (const r of this.#routes) if (r.writer !== null) seen.set(r.writer.address, r.writer)
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
