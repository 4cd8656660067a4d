// lib/cluster/registry.ts
/**
 * Registry: keeps this host registered as /memring/<cluster>/nodes/<host:port>
 * (EPHEMERAL, a HostRecord) for as long as the process runs, and tells the truth
 * about it: `registered` is true only while the node is confirmed in the current
 * session AND the link is healthy (ZkSession's watchdog). It never blocks or
 * stops the cache server: ZooKeeper being away changes nothing for clients.
 *
 *   new session (first, after expiry, after a watchdog rebuild) -> register
 *   same session back after a disconnect                         -> check the node
 *   disconnected / suspect link / expired                        -> not registered
 *   node deleted behind our back (watch or refresh sees NO_NODE) -> register again
 *   NODE_EXISTS: ours (same session)         -> done
 *                our own earlier session     -> delete it, create ours
 *                another process, same addr  -> wait for it to expire (logged)
 * Load figures are written to the node every refreshMs.
 */
import { EventEmitter } from 'node:events'
import { randomBytes } from 'node:crypto'
import { pino, type Logger } from 'pino'
import { ClusterError, ClusterErrorCode } from './errors.js'
import {
  checkName, decodeHostRecord, decodeShardRecord, encodeRecord, nodeIdOf, nodePath, nodesPath, shardPath, shardsPath,
  Role, type HostRecord, type LoadFigures, type ReplRecord,
} from './layout.js'
import { ZkSession } from './zk.js'

export interface RegistryOptions {
  /** HOST:PORT[,...] of the ensemble. */
  zk: string
  cluster: string
  shard: string
  /** Address clients and proxies use to reach this host. */
  advertise: { host: string, port: number }
  dc?: string
  /** The role published; a function when it changes (an elected master). */
  role?: Role | (() => Role)
  epoch?: number | (() => number)
  /** The advertised port requires TLS (-Z): written into the record (HostRecord.tls). */
  tls?: boolean
  /** May be elected master (published for the shard's election); a function when it changes. */
  candidate?: boolean | (() => boolean)
  /**
   * Record `dc` as the shard's home DC when none is recorded yet (default true; a
   * `--role follower` host never claims: its DC is not the home until a promote).
   */
  claimHomeDc?: boolean
  sessionTimeoutMs?: number
  /** start() fails after this long without a session. Default: the session timeout. */
  connectTimeoutMs?: number
  /** How often load figures are written. Default 5 s. */
  refreshMs?: number
  load?: () => LoadFigures
  /** Replication figures for the node record (lib/replication). */
  repl?: () => ReplRecord
  log?: Logger
}

export type RegistryState = 'starting' | 'registered' | 'unregistered' | 'closed'

/**
 * Events: 'registered' (nodePath, sessionId), 'unregistered' (reason),
 * 'conflict' (owner record: another process advertises our address).
 */
export class Registry extends EventEmitter {
  readonly nodeId: string
  readonly path: string
  readonly session: ZkSession
  /** Distinguishes this process's registrations from any other's at the same address. */
  readonly instance = randomBytes(8).toString('hex')
  readonly counters = { registrations: 0, refreshes: 0, refreshFailures: 0, conflicts: 0 }
  #opts: RegistryOptions
  #log: Logger
  #state: RegistryState = 'starting'
  #startedAt = Date.now()
  /** Bumped on every new session or close: a registration loop of an old one stops. */
  #gen = 0
  #refresh: NodeJS.Timeout | null = null
  #retry: NodeJS.Timeout | null = null

  constructor (opts: RegistryOptions) {
    super()
    checkName('--cluster', opts.cluster)
    checkName('--shard', opts.shard)
    if (opts.dc !== undefined && opts.dc !== '') checkName('--dc', opts.dc)
    const { host, port } = opts.advertise
    if (!/^[A-Za-z0-9.-]+$/.test(host) || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ClusterError(ClusterErrorCode.BadConfig, `--advertise "${host}:${port}" is not HOST:PORT`)
    }
    this.#opts = opts
    this.nodeId = nodeIdOf(host, port)
    this.path = nodePath(opts.cluster, this.nodeId)
    this.#log = (opts.log ?? pino({ level: 'silent' })).child({ mod: 'registry', node: this.nodeId })
    this.session = new ZkSession({
      connect: opts.zk,
      sessionTimeoutMs: opts.sessionTimeoutMs,
      connectTimeoutMs: opts.connectTimeoutMs,
      log: opts.log,
    })
    this.session.on('session', () => this.#onSession())
    this.session.on('connected', () => this.#verify())
    this.session.on('disconnected', () => this.#lost('zk disconnected'))
    this.session.on('suspect', () => this.#lost('zk link suspect'))
    this.session.on('expired', () => this.#lost('zk session expired'))
  }

  get state (): RegistryState { return this.#state }
  /** True only while our node is confirmed in a healthy session. */
  get registered (): boolean { return this.#state === 'registered' && this.session.healthy }

  /**
   * Connect and register once. Rejects with a clear ClusterError when the ensemble
   * cannot be reached or the first registration fails; afterwards it never gives up.
   */
  async start (): Promise<void> {
    const first = new Promise<void>((resolve, reject) => {
      const ok = (): void => { this.off('failed', bad); resolve() }
      const bad = (err: unknown): void => { this.off('registered', ok); reject(err) }
      this.once('registered', ok)
      this.once('failed', bad)
    })
    first.catch(() => {})
    try {
      await this.session.start()
    } catch (err) {
      this.#state = 'closed'
      throw err
    }
    await first
    this.#refresh = setInterval(() => { void this.#writeLoad() }, this.#opts.refreshMs ?? 5000)
    this.#refresh.unref()
  }

  #record (): HostRecord {
    const a = this.#opts.advertise
    return {
      host: a.host,
      port: a.port,
      dc: this.#opts.dc ?? '',
      shard: this.#opts.shard,
      role: typeof this.#opts.role === 'function' ? this.#opts.role() : this.#opts.role ?? Role.Master,
      epoch: typeof this.#opts.epoch === 'function' ? this.#opts.epoch() : this.#opts.epoch ?? 0,
      ...((typeof this.#opts.candidate === 'function' ? this.#opts.candidate() : this.#opts.candidate) === true ? { candidate: true } : {}),
      instance: this.instance,
      pid: process.pid,
      startedAt: this.#startedAt,
      updatedAt: Date.now(),
      load: this.#opts.load?.() ?? {},
      ...(this.#opts.repl !== undefined ? { repl: this.#opts.repl() } : {}),
      ...(this.#opts.tls === true ? { tls: true } : {}),
    }
  }

  /** Writes the node record now (role or replication state changed); resolves once written (or not possible). */
  refresh (): Promise<void> { return this.#writeLoad() }

  #lost (reason: string): void {
    if (this.#state === 'closed') return
    if (this.#state === 'registered') {
      this.#state = 'unregistered'
      this.#log.warn({ reason }, 'registration not confirmed')
      this.emit('unregistered', reason)
    }
  }

  #onSession (): void {
    this.#lost('new zk session')
    void this.#register(++this.#gen)
  }

  /** Same session came back: our ephemeral should still be there; check it. */
  #verify (): void {
    const gen = this.#gen
    this.session.exists(this.path, () => this.#onNodeEvent(gen)).then((stat) => {
      if (gen !== this.#gen) return
      if (stat !== null && stat.ephemeralOwner === this.session.sessionId) this.#confirm()
      else {
        this.#lost('node vanished')
        void this.#register(++this.#gen)
      }
    }, () => { if (gen === this.#gen) this.#scheduleRetry(gen) })
  }

  #onNodeEvent (gen: number): void {
    // Deleted (or replaced) while our session lives: register again. Data changes
    // are our own refreshes and need nothing.
    if (gen !== this.#gen || this.#state === 'closed') return
    this.#verify()
  }

  #confirm (): void {
    if (this.#state === 'registered' || this.#state === 'closed') return
    this.#state = 'registered'
    this.counters.registrations++
    this.#log.info({ event: 'registered', path: this.path, sessionId: this.session.sessionId }, 'registered')
    this.emit('registered', this.path, this.session.sessionId)
  }

  async #register (gen: number): Promise<void> {
    const o = this.#opts
    try {
      await this.session.ensurePath(nodesPath(o.cluster))
      await this.session.ensurePath(shardsPath(o.cluster))
      const shard = shardPath(o.cluster, o.shard)
      const claim = o.claimHomeDc !== false && o.dc !== undefined && o.dc !== '' ? o.dc : null
      const existing = await this.session.getData(shard)
      if (existing === null) {
        try {
          await this.session.create(shard, encodeRecord({ homeDc: claim, weight: 1 }))
        } catch (err) { if (!(err instanceof ClusterError) || err.zkCode !== 'NODE_EXISTS') throw err }
      } else if (claim !== null) {
        const rec = decodeShardRecord(existing.data)
        if (rec.homeDc === null) {
          // first home-DC host of a shard a follower created: conditional, a racing claim wins
          await this.session.setData(shard, encodeRecord({ ...rec, homeDc: claim }), existing.stat.version).catch((err: unknown) => {
            if (!(err instanceof ClusterError) || err.zkCode !== 'BAD_VERSION') throw err
          })
        }
      }
      for (;;) {
        if (gen !== this.#gen) return
        try {
          await this.session.create(this.path, encodeRecord(this.#record()), 'ephemeral')
          break
        } catch (err) {
          if (!(err instanceof ClusterError) || err.zkCode !== 'NODE_EXISTS') throw err
        }
        const existing = await this.session.getData(this.path)
        if (existing === null) continue
        if (existing.stat.ephemeralOwner === this.session.sessionId) break
        const rec = decodeHostRecord(existing.data)
        if (rec !== null && rec.instance === this.instance) {
          // Our own node from a session we gave up on (watchdog rebuild) that the
          // server has not expired yet: replace it now rather than wait.
          this.#log.info({ oldSession: existing.stat.ephemeralOwner }, 'replacing own node of an earlier session')
          try { await this.session.remove(this.path, existing.stat.version) } catch (err) {
            if (!(err instanceof ClusterError) || (err.zkCode !== 'BAD_VERSION' && err.zkCode !== 'NO_NODE')) throw err
          }
          continue
        }
        this.counters.conflicts++
        this.#log.warn({ owner: existing.stat.ephemeralOwner, pid: rec?.pid }, 'another process is registered at our address; waiting for it to go')
        this.emit('conflict', rec)
        this.#scheduleRetry(gen, Math.max(100, Math.floor(this.session.sessionTimeoutMs / 4)))
        return
      }
      if (gen !== this.#gen) return
      // Arm a watch on our node: a deletion while the session lives re-registers.
      await this.session.exists(this.path, () => this.#onNodeEvent(gen))
      if (gen !== this.#gen) return
      this.#confirm()
    } catch (err) {
      if (gen !== this.#gen) return
      if (this.#state === 'starting' && err instanceof ClusterError && !err.retriable) {
        this.emit('failed', err)
        return
      }
      this.#log.warn({ err }, 'registration failed; retrying')
      this.#scheduleRetry(gen)
    }
  }

  #scheduleRetry (gen: number, ms = Math.max(50, Math.floor(this.session.sessionTimeoutMs / 10))): void {
    if (this.#retry !== null) clearTimeout(this.#retry)
    this.#retry = setTimeout(() => {
      this.#retry = null
      if (gen === this.#gen && this.#state !== 'closed' && this.session.healthy) void this.#register(gen)
    }, ms)
    this.#retry.unref()
  }

  /** Refresh the node's data with fresh load figures; NO_NODE means we lost it. */
  async #writeLoad (): Promise<void> {
    if (this.#state !== 'registered' || !this.session.healthy) return
    const gen = this.#gen
    try {
      await this.session.setData(this.path, encodeRecord(this.#record()))
      this.counters.refreshes++
    } catch (err) {
      this.counters.refreshFailures++
      if (gen === this.#gen && err instanceof ClusterError && err.zkCode === 'NO_NODE') {
        this.#lost('node vanished')
        void this.#register(++this.#gen)
      }
    }
  }

  /** Deregister (delete our node, close the session: proxies see us leave at once). */
  async close (): Promise<void> {
    if (this.#state === 'closed') return
    const wasRegistered = this.registered
    this.#state = 'closed'
    this.#gen++
    if (this.#refresh !== null) clearInterval(this.#refresh)
    if (this.#retry !== null) clearTimeout(this.#retry)
    if (wasRegistered) {
      try { await this.session.remove(this.path) } catch {}
    } else if (this.session.sessionId !== '') {
      // A create may have landed before we confirmed it (a stop right after start, or a
      // link the watchdog calls suspect): remove the node if this session owns it, so a
      // clean stop never leaves it to the session timeout. Never touch another owner's.
      try {
        const stat = await this.session.exists(this.path)
        if (stat !== null && stat.ephemeralOwner === this.session.sessionId) await this.session.remove(this.path)
      } catch {}
    }
    await this.session.close()
  }
}
