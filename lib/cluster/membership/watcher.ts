// lib/cluster/membership/watcher.ts
/**
 * TopologyWatcher: follows /memring/<cluster>/{nodes,shards} in ZooKeeper and
 * keeps `current`, an immutable Topology, swapped whole.
 *
 *   - Watches are one-shot: every watch that fires is re-armed by the read it
 *     triggers, and the result of THAT read is used (never an older list).
 *   - Bursts are debounced: changes within `debounceMs` of each other make one
 *     snapshot, and a steady stream still makes one every `maxDelayMs`.
 *   - 'change' is emitted only when routing would change (Topology.fingerprint);
 *     load refreshes swap the snapshot quietly ('update').
 *   - ZooKeeper away (disconnected, suspect link, expired): `current` stays as it
 *     was (last known good) and `stale` is true. A new session re-reads
 *     everything and re-arms every watch; the same session coming back re-lists.
 */
import { EventEmitter } from 'node:events'
import { pino, type Logger } from 'pino'
import { configPath, decodeClusterConfig, decodeHostRecord, decodeShardRecord, nodesPath, shardsPath, type ClusterConfig, type HostRecord, type ShardRecord } from '../layout.js'
import { ZkSession, type ZkEvent } from '../zk.js'
import { Topology } from './topology.js'

export interface TopologyWatcherOptions {
  /** HOST:PORT[,...] (the watcher owns its session), or a session shared with its owner. */
  zk: string | ZkSession
  cluster: string
  /** Quiet time that ends a burst. Default 50 ms. */
  debounceMs?: number
  /** Longest a change waits for a snapshot during a steady stream. Default 500 ms. */
  maxDelayMs?: number
  sessionTimeoutMs?: number
  connectTimeoutMs?: number
  log?: Logger
}

/** Events: 'change' (next, prev), 'update' (next, prev), 'stale', 'fresh'. */
export class TopologyWatcher extends EventEmitter {
  readonly session: ZkSession
  readonly counters = { snapshots: 0, changes: 0, reads: 0, readFailures: 0, fullReads: 0 }
  #ownSession: boolean
  #nodesDir: string
  #shardsDir: string
  #configPath: string
  #config: ClusterConfig = {}
  #debounceMs: number
  #maxDelayMs: number
  #log: Logger
  #current: Topology = Topology.empty
  #hosts = new Map<string, HostRecord>()
  #shards = new Map<string, ShardRecord>()
  /** Paths with a data watch armed in this session. */
  #armed = new Set<string>()
  #gen = 0
  #closed = false
  #stale = true
  #timer: NodeJS.Timeout | null = null
  #firstPendingAt = 0
  #retry: NodeJS.Timeout | null = null

  constructor (opts: TopologyWatcherOptions) {
    super()
    this.#nodesDir = nodesPath(opts.cluster)
    this.#shardsDir = shardsPath(opts.cluster)
    this.#configPath = configPath(opts.cluster)
    this.#debounceMs = opts.debounceMs ?? 50
    this.#maxDelayMs = opts.maxDelayMs ?? 500
    this.#log = (opts.log ?? pino({ level: 'silent' })).child({ mod: 'topology', cluster: opts.cluster })
    this.#ownSession = typeof opts.zk === 'string'
    this.session = typeof opts.zk === 'string'
      ? new ZkSession({ connect: opts.zk, sessionTimeoutMs: opts.sessionTimeoutMs, connectTimeoutMs: opts.connectTimeoutMs, log: opts.log })
      : opts.zk
    this.session.on('session', this.#onSession)
    this.session.on('connected', this.#onResume)
    this.session.on('disconnected', this.#onAway)
    this.session.on('suspect', this.#onAway)
    this.session.on('expired', this.#onAway)
  }

  /** The last snapshot built (kept while ZooKeeper is away). */
  get current (): Topology { return this.#current }
  /** True while ZooKeeper is away and `current` may be out of date. */
  get stale (): boolean { return this.#stale }

  /** Connect (if the session is ours), read everything, resolve with the first snapshot. */
  async start (): Promise<Topology> {
    const first = new Promise<Topology>((resolve) => this.once('update', (t: Topology) => resolve(t)))
    if (this.#ownSession) await this.session.start()
    else if (this.session.sessionId !== '') this.#onSession()
    return await first
  }

  #onSession = (): void => {
    this.#gen++
    this.#armed.clear()
    void this.#readAll(this.#gen, true)
  }

  #onResume = (): void => { void this.#readAll(this.#gen, false) }

  #onAway = (): void => {
    if (this.#stale || this.#closed) return
    this.#stale = true
    this.#log.warn('zookeeper away; routing on the last snapshot')
    this.emit('stale')
  }

  /** Read both lists and every record not already watched; `full` re-reads all records. */
  async #readAll (gen: number, full: boolean): Promise<void> {
    try {
      this.counters.fullReads++
      await Promise.all([this.#listNodes(gen, full), this.#listShards(gen, full), full || !this.#armed.has(this.#configPath) ? this.#readConfig(gen) : null])
      if (gen !== this.#gen || this.#closed) return
      if (this.#stale) {
        this.#stale = false
        this.emit('fresh')
      }
      // The first snapshot of a session goes out at once; it ends a period of waiting.
      this.#build()
    } catch (err) {
      this.#failed(gen, err)
    }
  }

  async #listNodes (gen: number, full: boolean): Promise<void> {
    const dir = this.#nodesDir
    this.counters.reads++
    const names = await this.session.getChildren(dir, (ev) => this.#onNodesEvent(gen, ev))
    if (gen !== this.#gen) return
    if (names === null) {
      // Cluster not created yet: learn when it is.
      await this.session.exists(dir, (ev) => this.#onNodesEvent(gen, ev))
      this.#hosts.clear()
      return
    }
    const present = new Set(names)
    for (const id of [...this.#hosts.keys()]) if (!present.has(id)) this.#hosts.delete(id)
    await Promise.all(names.map((id) => full || !this.#armed.has(`${dir}/${id}`) ? this.#readNode(gen, id) : null))
  }

  async #readNode (gen: number, id: string): Promise<void> {
    const path = `${this.#nodesDir}/${id}`
    this.#armed.add(path)
    this.counters.reads++
    const got = await this.session.getData(path, (ev) => this.#onNodeEvent(gen, id, ev))
    if (gen !== this.#gen) return
    if (got === null) { this.#armed.delete(path); this.#hosts.delete(id); return }
    const rec = decodeHostRecord(got.data)
    if (rec === null) {
      this.#log.warn({ path }, 'ignoring a node whose data is not a host record')
      this.#hosts.delete(id)
    } else this.#hosts.set(id, rec)
  }

  async #listShards (gen: number, full: boolean): Promise<void> {
    const dir = this.#shardsDir
    this.counters.reads++
    const names = await this.session.getChildren(dir, (ev) => this.#onShardsEvent(gen, ev))
    if (gen !== this.#gen) return
    if (names === null) {
      await this.session.exists(dir, (ev) => this.#onShardsEvent(gen, ev))
      this.#shards.clear()
      return
    }
    const present = new Set(names)
    for (const id of [...this.#shards.keys()]) if (!present.has(id)) this.#shards.delete(id)
    await Promise.all(names.map((id) => full || !this.#armed.has(`${dir}/${id}`) ? this.#readShard(gen, id) : null))
  }

  async #readShard (gen: number, id: string): Promise<void> {
    const path = `${this.#shardsDir}/${id}`
    this.#armed.add(path)
    this.counters.reads++
    const got = await this.session.getData(path, (ev) => this.#onShardEvent(gen, id, ev))
    if (gen !== this.#gen) return
    if (got === null) { this.#armed.delete(path); this.#shards.delete(id); return }
    this.#shards.set(id, decodeShardRecord(got.data))
  }

  /** /config (cluster settings); absent: {} and an exists watch, to learn when it is written. */
  async #readConfig (gen: number): Promise<void> {
    const path = this.#configPath
    this.#armed.add(path)
    this.counters.reads++
    const got = await this.session.getData(path, (ev) => this.#onConfigEvent(gen, ev))
    if (gen !== this.#gen) return
    if (got === null) {
      this.#config = {}
      const st = await this.session.exists(path, (ev) => this.#onConfigEvent(gen, ev))
      if (st !== null && gen === this.#gen) await this.#readConfig(gen)
      return
    }
    this.#config = decodeClusterConfig(got.data)
  }

  #onConfigEvent (gen: number, _ev: ZkEvent): void {
    if (gen !== this.#gen || this.#closed) return
    this.#readConfig(gen).then(() => this.#schedule(gen), (err) => this.#failed(gen, err))
  }

  // ---- watch callbacks: re-arm by reading again, then debounce a snapshot ----------
  #onNodesEvent (gen: number, _ev: ZkEvent): void {
    if (gen !== this.#gen || this.#closed) return
    this.#listNodes(gen, false).then(() => this.#schedule(gen), (err) => this.#failed(gen, err))
  }

  #onNodeEvent (gen: number, id: string, ev: ZkEvent): void {
    if (gen !== this.#gen || this.#closed) return
    const path = `${this.#nodesDir}/${id}`
    this.#armed.delete(path)
    if (ev.type === 'deleted') {
      // The children watch re-lists too; dropping the host now saves a round trip.
      this.#hosts.delete(id)
      this.#schedule(gen)
      return
    }
    this.#readNode(gen, id).then(() => this.#schedule(gen), (err) => this.#failed(gen, err))
  }

  #onShardsEvent (gen: number, _ev: ZkEvent): void {
    if (gen !== this.#gen || this.#closed) return
    this.#listShards(gen, false).then(() => this.#schedule(gen), (err) => this.#failed(gen, err))
  }

  #onShardEvent (gen: number, id: string, ev: ZkEvent): void {
    if (gen !== this.#gen || this.#closed) return
    this.#armed.delete(`${this.#shardsDir}/${id}`)
    if (ev.type === 'deleted') { this.#shards.delete(id); this.#schedule(gen); return }
    this.#readShard(gen, id).then(() => this.#schedule(gen), (err) => this.#failed(gen, err))
  }

  #failed (gen: number, err: unknown): void {
    if (gen !== this.#gen || this.#closed) return
    this.counters.readFailures++
    this.#log.warn({ err }, 'topology read failed; will re-read')
    // A healthy session retries soon; otherwise 'connected'/'session' re-reads.
    if (this.#retry !== null) return
    this.#retry = setTimeout(() => {
      this.#retry = null
      if (gen === this.#gen && !this.#closed && this.session.healthy) void this.#readAll(gen, false)
    }, Math.max(50, Math.floor(this.session.sessionTimeoutMs / 10)))
    this.#retry.unref()
  }

  #schedule (gen: number): void {
    if (gen !== this.#gen || this.#closed) return
    const now = Date.now()
    if (this.#firstPendingAt === 0) this.#firstPendingAt = now
    if (this.#timer !== null) clearTimeout(this.#timer)
    const wait = Math.max(0, Math.min(this.#debounceMs, this.#firstPendingAt + this.#maxDelayMs - now))
    this.#timer = setTimeout(() => this.#build(), wait)
  }

  #build (): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    this.#firstPendingAt = 0
    if (this.#closed) return
    const prev = this.#current
    const next = Topology.build(this.#shards, this.#hosts, prev.version + 1, this.#config)
    this.#current = next
    this.counters.snapshots++
    if (next.fingerprint !== prev.fingerprint) {
      this.counters.changes++
      const d = next.diff(prev)
      this.#log.info({ version: next.version, shards: next.shardIds.length, hosts: next.hosts.size, added: d.added, removed: d.removed }, 'topology changed')
      this.emit('change', next, prev)
    }
    this.emit('update', next, prev)
  }

  async close (): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    this.#gen++
    if (this.#timer !== null) clearTimeout(this.#timer)
    if (this.#retry !== null) clearTimeout(this.#retry)
    this.session.off('session', this.#onSession)
    this.session.off('connected', this.#onResume)
    this.session.off('disconnected', this.#onAway)
    this.session.off('suspect', this.#onAway)
    this.session.off('expired', this.#onAway)
    if (this.#ownSession) await this.session.close()
  }
}
