// lib/proxy/router.ts
/**
 * Router: key -> shard -> host, over the current Topology.
 *
 *   key -> shard   the placement method (`--hash`, lib/ring/router.ts; default
 *                  ketama: MD5, 160 points per weight unit) over the shard ids, built
 *                  by lib/ring's createShardRouter as the Node client builds it. With
 *                  a static --servers list every server is a shard labelled as the
 *                  client library of that method labels it (ketama: host, or
 *                  host:port when the port is not 11211; ketama-twemproxy: its name
 *                  when it has one), via createRouter, so the proxy places keys
 *                  exactly as a libmemcached / twemproxy over the same list.
 *   shard -> host  a ShardRoute per shard:
 *                  writer   the shard's primary (its master), unless FENCED: its epoch
 *                           is older than the highest epoch this router has seen for
 *                           the shard (a deposed master whose node record has not left
 *                           ZooKeeper yet). A fenced shard has no writer until a master
 *                           with epoch >= seen appears.
 *                  readers  the copies reads may go to (ShardEntry.copies: the primary,
 *                           then replicas holding a complete copy; with `--dc D` also the
 *                           followers of D holding one). `--read-from master`: the writer
 *                           only. With `--dc D`, copies in D come first, wherever the
 *                           master is: a read crosses the WAN only when D has no live
 *                           copy. Then copies at the seen epoch before older ones; each
 *                           reader's class is in `rank` (see pick()).
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
import { boundedOwner, createRouter, createShardRouter, KetamaRing, ketamaLabel, placementFromSetting, placementKey, type PlacementSource, type Router as Ring, type RouterOptions } from '../ring/index.js'
import { Topology, isReadableFollower, type HostEntry, type ShardEntry } from '../cluster/index.js'
import type { BackendHost, BackendPool } from './backend.js'

/** Where reads go: any copy (default), or the master only (read-your-writes). */
export type ReadFrom = 'any' | 'master'

/**
 * --bounded-load: a shard with fewer requests in flight than this is never over its bound.
 * With few requests in flight the bound ceil(c * (m + 1) / n) is 1 or 2, and keys would
 * leave any shard holding one request (a miss each, for a cache); see
 * lib/ring/bench/bounded-zipf.bench.ts for what it costs and saves.
 */
export const BOUNDED_MIN_LOAD = 8

/** Copies beyond this many are not read from (a request's tried set is one 31-bit mask). */
const MAX_COPIES = 31

/** One shard's hosts, as requests use them. Built by Router.update(), then only read. */
export class ShardRoute {
  readonly id: string
  /** Where writes go; null: no live master, or only a fenced one. */
  readonly writer: BackendHost | null
  /** True when the shard's primary exists but is fenced (older epoch than seen). */
  readonly fenced: boolean
  /** The copies reads may go to, best class first (see `rank`). */
  readonly readers: readonly BackendHost[]
  /** Per reader: 2 when it is in another DC than --dc, + 1 when its epoch is older than seen. */
  readonly rank: Uint8Array
  /** The first `best` readers are of rank 0 (this DC, seen epoch): a hot key goes round them. */
  readonly best: number
  readonly counts: ReadCounts
  /** Rotates the starting point of pick(), so equal loads take turns. */
  #turn = 0

  constructor (id: string, writer: BackendHost | null, fenced: boolean, readers: BackendHost[], rank: Uint8Array, counts: ReadCounts) {
    this.id = id
    this.writer = writer
    this.fenced = fenced
    this.readers = readers
    this.rank = rank
    this.counts = counts
    let best = 0
    while (best < rank.length && rank[best] === 0) best++
    this.best = best
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
   * is spread round-robin. Order of preference: up, then by `rank` (this DC before
   * others, fresh epoch before older), then marked down (TKO; fails fast) in that order.
   */
  pick (tried: number): number {
    const n = this.readers.length
    if (n === 0) return -1
    const start = this.#turn++ % n
    if (this.#turn > 0x3fffffff) this.#turn = 0
    let best = -1
    let bestClass = 8
    let bestLoad = 0
    for (let k = 0; k < n; k++) {
      const i = start + k < n ? start + k : start + k - n
      if ((tried & (1 << i)) !== 0) continue
      const h = this.readers[i]!
      const cls = (h.down ? 4 : 0) + this.rank[i]!
      if (cls > bestClass) continue
      const load = h.pending
      if (cls < bestClass || load < bestLoad) { best = i; bestClass = cls; bestLoad = load }
    }
    if (best >= 0) {
      if (this.rank[best]! < 2) this.counts.local++
      else this.counts.remote++
    }
    return best
  }

  /**
   * The copy for a read of a HOT key (hot-keys.ts), as an index into `readers`: the key's
   * own rotation `turn` over every up copy of the best class (this proxy's DC, the seen
   * epoch: `rank` 0, the readers' first `best`), so each copy takes an equal share of that
   * key whatever pick() would prefer (its shared tie-break turn can line one key up with
   * one copy, e.g. a client alternating a hot and a cold key on a two-copy shard). No up
   * copy of that class: pick(0). Retries after a failure use pick() as any read.
   */
  spread (turn: number): number {
    const n = this.best
    for (let k = 0; k < n; k++) {
      const i = (turn + k) % n
      if (!this.readers[i]!.down) return i
    }
    return this.pick(0)
  }
}

/** Read attempts by where they went (`stats proxy`: proxy_local_reads, proxy_remote_reads). */
export interface ReadCounts { local: number, remote: number }

const NO_ROUTE = new ShardRoute('', null, false, [], new Uint8Array(0), { local: 0, remote: 0 })

export class Router {
  readonly pool: BackendPool
  readonly readFrom: ReadFrom
  /** --dc: this proxy's DC (null: none given; followers are never read). */
  readonly dc: string | null
  readonly readCounts: ReadCounts = { local: 0, remote: 0 }
  #topology: Topology = Topology.empty
  #ring: Ring | null = null
  #ringKey = ''
  #shards: ShardEntry[] = []
  #routes: ShardRoute[] = []
  /** A static --servers list (config order = ring order; null in a cluster). */
  readonly statics: readonly StaticServer[] | null
  /** The placement method from the flags (--hash, --key-hash, --hash-tag). */
  readonly ownPlacement: RouterOptions
  #placement: RouterOptions
  #placementSource: PlacementSource = 'options'
  /** Highest epoch seen per shard id; never lowered. */
  #seen = new Map<string, number>()
  /** Times the ring was rebuilt (shard list or weights changed). */
  ringBuilds = 0
  /** --bounded-load c (0: off): see shardIndexOf(). */
  readonly boundedLoad: number
  /** Keys placed off their ketama owner because it was over its bound. */
  boundedMoves = 0
  /** Per shard: its weight on the ring (0 without points), and scratch for loads. */
  #weights = new Float64Array(0)
  #totalWeight = 0
  #loads = new Float64Array(0)
  /** Called after the ring was rebuilt, with the ring and shards it replaced (warm-up.ts). */
  onRingChange: ((prev: Ring | null, prevShards: readonly ShardEntry[], shards: readonly ShardEntry[]) => void) | null = null

  /**
   * `statics`: the proxy serves this static list (Topology.fromServers of it): shards keep
   * the list's order (jump's index, ketama's tie order) and are labelled as clients label
   * them. `placement`: the --hash method (default ketama).
   */
  constructor (pool: BackendPool, opts: { statics?: readonly StaticServer[], readFrom?: ReadFrom, placement?: RouterOptions, boundedLoad?: number, dc?: string | null } = {}) {
    this.pool = pool
    this.dc = opts.dc ?? null
    this.boundedLoad = opts.boundedLoad ?? 0
    if (this.boundedLoad !== 0 && !(this.boundedLoad > 1 && Number.isFinite(this.boundedLoad))) throw new RangeError(`bounded load factor must be > 1, got ${this.boundedLoad}`)
    if (this.boundedLoad !== 0 && (opts.placement?.method === 'jump' || opts.placement?.method === 'ch3')) throw new RangeError('bounded loads walk a ketama continuum; jump and ch3 have none')
    this.statics = opts.statics === undefined ? null : [...opts.statics]
    this.ownPlacement = opts.placement ?? {}
    this.#placement = this.ownPlacement
    this.readFrom = opts.readFrom ?? 'any'
  }

  get topology (): Topology { return this.#topology }
  /**
   * The placement in force: a cluster's /config setting (ZooKeeper `hash`, `keyHash`,
   * `hashTag`) when it names a method, so every proxy and client of the cluster agrees;
   * else the flags. A static list always uses the flags.
   */
  get placement (): RouterOptions { return this.#placement }
  /** `options` (flags), `cluster` (/config), or `cluster-invalid` (a /config we could not use: flags in force). */
  get placementSource (): PlacementSource { return this.#placementSource }
  /** The ring keys are placed by now (null: no shards). */
  get ring (): Ring | null { return this.#ring }
  get shardCount (): number { return this.#shards.length }
  /** Shards whose only live master is fenced right now. */
  get fencedShards (): number { let n = 0; for (const r of this.#routes) if (r.fenced) n++; return n }

  update (topo: Topology): void {
    const shards = orderedShards(topo, this.statics)
    if (this.statics === null) {
      const { placement, source } = placementFromSetting(topo.config, this.ownPlacement)
      this.#placement = this.boundedLoad !== 0 && (placement.method === 'jump' || placement.method === 'ch3') ? this.ownPlacement : placement
      this.#placementSource = this.#placement === placement ? source : 'cluster-invalid'
    }
    const ringKey = placementKey(shards, this.placement)
    const prevRing = this.#ring
    const prevShards = this.#shards
    if (ringKey !== this.#ringKey) {
      this.#ring = ringOf(shards, this.statics, this.placement)
      const r = this.#ring
      this.#weights = new Float64Array(shards.length)
      this.#loads = new Float64Array(shards.length)
      this.#totalWeight = 0
      if (r instanceof KetamaRing) {
        for (let i = 0; i < shards.length; i++) {
          this.#weights[i] = r.continuum.pointCounts[i] === 0 ? 0 : Math.max(1, Math.round(shards[i]!.weight))
          this.#totalWeight += this.#weights[i]!
        }
      }
      this.#ringKey = ringKey
      this.ringBuilds++
    }
    const keep = new Set<string>()
    const host = (h: HostEntry): BackendHost => { keep.add(h.address); return this.pool.get(h.host, h.port, h.tls) }
    this.#routes = shards.map((s) => {
      let seen = this.#seen.get(s.id) ?? 0
      for (const h of s.hosts) if (h.epoch > seen) seen = h.epoch
      if (s.epoch > seen) seen = s.epoch
      this.#seen.set(s.id, seen)
      const p = s.primary
      const fenced = p !== null && p.epoch < seen
      const writer = p === null || fenced ? null : host(p)
      if (this.readFrom === 'master') return new ShardRoute(s.id, writer, fenced, writer === null ? [] : [writer], new Uint8Array(writer === null ? 0 : 1), this.readCounts)
      const dc = this.dc
      const all = dc === null ? s.copies : [...s.copies, ...s.followers.filter(isReadableFollower)]
      const cls = (h: HostEntry): number => (dc !== null && h.dc !== dc ? 2 : 0) + (h.epoch < seen ? 1 : 0)
      // stable: within a class, the topology's order (primary first, then by node id)
      const copies = all.map((h, i) => ({ h, c: cls(h), i })).sort((a, b) => a.c - b.c || a.i - b.i).slice(0, MAX_COPIES)
      return new ShardRoute(s.id, writer, fenced, copies.map((x) => host(x.h)), Uint8Array.from(copies.map((x) => x.c)), this.readCounts)
    })
    this.#shards = shards
    this.#topology = topo
    this.pool.retain(keep)
    if (prevRing !== this.#ring) this.onRingChange?.(prevRing, prevShards, shards)
  }

  /** Shard index of key bytes buf[s, e); -1 when there are no shards. */
  shardIndexOf (buf: Uint8Array, s: number, e: number): number {
    const ring = this.#ring
    if (ring === null) return -1
    if (this.boundedLoad === 0 || !(ring instanceof KetamaRing) || ring.size === 1) return ring.serverOfBytes(buf, s, e)
    return this.#bounded(ring, ring.hashOfBytes(buf, s, e))
  }

  /**
   * --bounded-load c: the key goes to the first shard clockwise from its ketama point whose
   * load is under ceil(c * (total + 1) * w / W). Load = the requests this proxy has in
   * flight to the shard's copies (BackendHost.pending, summed): exact, local, free to read,
   * and it rises exactly when a server falls behind (a hot key, a slow or dying host), while
   * a decayed request rate would also move keys off a server that keeps up, costing misses
   * for nothing. With every shard under its bound (an idle or evenly loaded proxy) this is
   * plain ketama, and so is any shard with fewer than BOUNDED_MIN_LOAD in flight. Allocates
   * nothing; costs one pass over the shards' copies per keyed request (opt-in).
   */
  #bounded (ring: KetamaRing, hash: number): number {
    const loads = this.#loads
    let total = 0
    for (let i = 0; i < this.#routes.length; i++) {
      const r = this.#routes[i]!
      let l = 0
      for (let j = 0; j < r.readers.length; j++) l += r.readers[j]!.pending
      if (r.writer !== null && r.readers[0] !== r.writer) l += r.writer.pending
      loads[i] = l
      total += l
    }
    const home = ring.continuum.serverFor(hash)
    const at = boundedOwner(ring.continuum, hash, this.boundedLoad, loads, this.#weights, total, this.#totalWeight, BOUNDED_MIN_LOAD)
    if (at !== home) this.boundedMoves++
    return at
  }

  shard (i: number): ShardEntry { return this.#shards[i]! }
  /**
   * The router's index of a shard id (-1: none). A static list keeps its own order, so this
   * is not Topology.shardIds' index there.
   */
  shardIndexById (id: string): number { return this.#shards.findIndex((s) => s.id === id) }
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

/** A server of a static --servers list (or of a twemproxy pool). */
export interface StaticServer {
  readonly host: string
  readonly port: number
  /** Default 1. */
  readonly weight?: number
  /** A twemproxy server name: hashed instead of the address by ketama-twemproxy. */
  readonly name?: string
}

/** The shard id Topology.fromServers gives a static server. */
export function staticShardId (s: StaticServer): string {
  return `${s.host}:${s.port}`
}

/**
 * The label a static server's ketama points are hashed from: its twemproxy name
 * (ketama-twemproxy), else as libmemcached labels it (host, or host:port when the port
 * is not 11211). In a cluster the label is the shard id.
 */
export function staticLabel (s: StaticServer, placement: RouterOptions = {}): string {
  if (placement.method === 'ketama-twemproxy' && s.name !== undefined) return s.name
  return ketamaLabel(s.host, s.port)
}

/** A cluster's ring: the shard ids, in Topology.shardIds order (lib/client builds the same). */
export function shardRing (shards: readonly ShardEntry[], placement: RouterOptions = {}): Ring | null {
  return shards.length === 0 ? null : createShardRouter(shards, placement)
}

/** A static list's ring: placed as a client of `placement` over the same list would. */
export function staticRing (servers: readonly StaticServer[], placement: RouterOptions = {}): Ring | null {
  return servers.length === 0 ? null : createRouter(servers, placement)
}

/** The shards keys hash over, in ring order: a static list's order, else Topology.shardIds. */
export function orderedShards (topo: Topology, statics: readonly StaticServer[] | null): ShardEntry[] {
  return statics === null
    ? topo.shardIds.map((id) => topo.shards.get(id)!)
    : statics.map((s) => topo.shards.get(staticShardId(s))).filter((s) => s !== undefined)
}

/** The ring over orderedShards(): what Router and `memringctl route` both place keys by. */
export function ringOf (shards: readonly ShardEntry[], statics: readonly StaticServer[] | null, placement: RouterOptions): Ring | null {
  return statics === null || shards.length !== statics.length ? shardRing(shards, placement) : staticRing(statics, placement)
}
