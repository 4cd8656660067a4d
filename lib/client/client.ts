/**
 * The routing client (the design's Cache Client): a server list from a ServerSource,
 * a ring from lib/ring, one pipelined Connection per server, and a promise API. Promises
 * exist only here, at the edge; below, commands settle through callbacks.
 *
 * Health: a server that fails `failureThreshold` times in a row (connect failures,
 * resets, timeouts, garbage; not SERVER_ERROR replies) is marked down. Requests for it
 * then fail at once with HOST_DOWN (retriable) instead of each waiting for a timeout,
 * and a `version` probe every probeIntervalMs brings it back when it answers. Keys are
 * NOT moved to another server while it is down: a cache miss storm elsewhere and stale
 * reads after it returns are worse than failing fast (the caller can treat HOST_DOWN as
 * a miss). Topology changes come from the ServerSource instead.
 */
import { createRouter, type HashMethod, type KeyHash, type Router } from '../ring/index.js'
import {
  checkKey, encodeRetrieval, encodeStorage, encodeStorageHeader, encodeDelete, encodeArith, encodeTouch,
  encodeFlushAll, encodeVersion, encodeStats, encodeMeta, checkMetaFlag, CRLF, type StorageCommand, type MetaCommandName,
} from '../../protocol/text/request-encoder.js'
import {
  RetrievalCommand, StoreCommand, YesNoCommand, ArithCommand, OkCommand, VersionCommand, StatsCommand, MetaCommand,
  type Command, type Callback, type Item, type StoreStatus, type MetaReply,
} from './command.js'
import { Connection, type ConnectionOptions } from './connection.js'
import { ClientError, ClientErrorCode, isHostFailure } from './errors.js'
import { StaticServers } from './discovery/static-servers.js'
import { serverId, type ServerAddress, type ServerSource } from './discovery/server-source.js'

export interface ClientOptions extends Omit<ConnectionOptions, 'host' | 'port'> {
  /** "host:port[:weight],...", a list, or a ServerSource (e.g. ZooKeeper). */
  readonly servers: string | readonly ServerAddress[] | ServerSource
  /**
   * ketama: libmemcached's libketama-compatible placement (default);
   * ketama-twemproxy: twemproxy's (names, `keyHash`, `hashTag`); jump: jump hash over list order.
   */
  readonly hash?: HashMethod
  /** Key hash for ketama-twemproxy (default fnv1a_64, twemproxy's default). */
  readonly keyHash?: KeyHash
  /** e.g. "{}": only the tagged part of a key is hashed (ketama variants). */
  readonly hashTag?: string
  /** Consecutive failures that mark a server down; default 3. */
  readonly failureThreshold?: number
  /** Probe period for a down server; default 1000 ms. */
  readonly probeIntervalMs?: number
}

export interface StoreOptions {
  /** Opaque 32-bit client flags stored with the value; default 0. */
  readonly flags?: number
  /** memcached exptime: 0 never, <= 30 days relative seconds, else Unix time; default 0. */
  readonly exptime?: number
}

export type { Item, StoreStatus, MetaReply }
export type Value = Buffer | string

/** Values at least this large are written without copying them into the request buffer. */
const COPY_LIMIT = 64 * 1024

class Host {
  failures = 0
  down = false
  probe: NodeJS.Timeout | null = null
  constructor (readonly id: string, readonly conn: Connection) {}
}

export class Client {
  private readonly source: ServerSource
  private readonly ownsSource: boolean
  private readonly unsubscribe: () => void
  private readonly opts: ClientOptions
  private readonly failureThreshold: number
  private readonly probeIntervalMs: number
  private hosts: Host[] = []
  private router: Router | null = null
  private closed = false

  constructor (opts: ClientOptions) {
    this.opts = opts
    this.failureThreshold = opts.failureThreshold ?? 3
    this.probeIntervalMs = opts.probeIntervalMs ?? 1000
    const s = opts.servers
    this.ownsSource = typeof s === 'string' || Array.isArray(s)
    this.source = typeof s === 'string' || Array.isArray(s) ? new StaticServers(s as string | readonly ServerAddress[]) : s as ServerSource
    this.apply(this.source.current())
    this.unsubscribe = this.source.subscribe((list) => this.apply(list))
  }

  /** "host:port" of the server a key routes to. */
  serverFor (key: string): string {
    return this.hostFor(this.key(key)).id
  }

  /** The servers in ring order, with their health. */
  servers (): Array<{ server: string, down: boolean, pending: number }> {
    return this.hosts.map((h) => ({ server: h.id, down: h.down, pending: h.conn.pending }))
  }

  // --- retrieval ---

  async get (key: string): Promise<Buffer | null> {
    return (await this.getItem(key))?.value ?? null
  }

  /** The value with its flags (and CAS unique when `withCas`). */
  async getItem (key: string, withCas = false): Promise<Item | null> {
    return (await this.retrieve(withCas ? 'gets' : 'get', [key], 0))[0]
  }

  async gets (key: string): Promise<Item | null> {
    return await this.getItem(key, true)
  }

  /** One get per server holding some of the keys, all in parallel; results in key order. */
  async getMulti (keys: readonly string[], withCas = false): Promise<Array<Item | null>> {
    return await this.retrieve(withCas ? 'gets' : 'get', keys, 0)
  }

  /** Get and touch: the value, with its expiry reset to `exptime`. */
  async gat (key: string, exptime: number, withCas = false): Promise<Item | null> {
    return (await this.retrieve(withCas ? 'gats' : 'gat', [key], exptime))[0]
  }

  private async retrieve (cmd: 'get' | 'gets' | 'gat' | 'gats', keys: readonly string[], exptime: number): Promise<Array<Item | null>> {
    const out = new Array<Item | null>(keys.length).fill(null)
    if (keys.length === 0) return out
    this.checkInt('exptime', exptime, -0x80000000, 0x7fffffff)
    const groups = new Map<Host, { keys: Buffer[], at: number[] }>()
    for (let i = 0; i < keys.length; i++) {
      const k = this.key(keys[i])
      const h = this.hostFor(k)
      let g = groups.get(h)
      if (g === undefined) groups.set(h, g = { keys: [], at: [] })
      g.keys.push(k)
      g.at.push(i)
    }
    await Promise.all([...groups].map(async ([h, g]) => {
      const items = await this.run<Array<Item | null>>(h, (cb) => new RetrievalCommand(encodeRetrieval(cmd, g.keys, exptime), g.keys, cb))
      for (let j = 0; j < items.length; j++) out[g.at[j]] = items[j]
    }))
    return out
  }

  // --- storage ---

  /** true when STORED. */
  async set (key: string, value: Value, opts: StoreOptions = {}): Promise<boolean> {
    return await this.store('set', key, value, opts, null) === 'STORED'
  }

  /** true when STORED; false when the key already exists. */
  async add (key: string, value: Value, opts: StoreOptions = {}): Promise<boolean> {
    return await this.store('add', key, value, opts, null) === 'STORED'
  }

  /** true when STORED; false when the key does not exist. */
  async replace (key: string, value: Value, opts: StoreOptions = {}): Promise<boolean> {
    return await this.store('replace', key, value, opts, null) === 'STORED'
  }

  /** Appends bytes to an existing value; false when the key does not exist. */
  async append (key: string, value: Value): Promise<boolean> {
    return await this.store('append', key, value, {}, null) === 'STORED'
  }

  async prepend (key: string, value: Value): Promise<boolean> {
    return await this.store('prepend', key, value, {}, null) === 'STORED'
  }

  /** Stores only if the item's CAS unique is still `cas`: STORED, EXISTS (changed) or NOT_FOUND. */
  async cas (key: string, value: Value, cas: bigint, opts: StoreOptions = {}): Promise<StoreStatus> {
    if (cas < 0n || cas >= 1n << 64n) throw new ClientError(ClientErrorCode.BadArgument, 'cas must be an unsigned 64-bit integer')
    return await this.store('cas', key, value, opts, cas)
  }

  private async store (cmd: StorageCommand, key: string, value: Value, opts: StoreOptions, cas: bigint | null): Promise<StoreStatus> {
    const k = this.key(key)
    const v = typeof value === 'string' ? Buffer.from(value) : value
    const flags = opts.flags ?? 0
    const exptime = opts.exptime ?? 0
    this.checkInt('flags', flags, 0, 0xffffffff)
    this.checkInt('exptime', exptime, -0x80000000, 0x7fffffff)
    const h = this.hostFor(k)
    const req = v.length < COPY_LIMIT
      ? encodeStorage(cmd, k, flags, exptime, v, cas)
      : [encodeStorageHeader(cmd, k, flags, exptime, v.length, cas), v, CRLF]
    return await this.run<StoreStatus>(h, (cb) => new StoreCommand(req, cb))
  }

  // --- other keyed commands ---

  /** true when deleted, false when there was nothing to delete. */
  async delete (key: string): Promise<boolean> {
    const k = this.key(key)
    return await this.run<boolean>(this.hostFor(k), (cb) => new YesNoCommand(encodeDelete(k), 'DELETED', 'NOT_FOUND', cb))
  }

  /** The new value (64-bit unsigned, wrapping as memcached does), or null when the key does not exist. */
  async incr (key: string, delta: bigint | number = 1n): Promise<bigint | null> {
    return await this.arith('incr', key, delta)
  }

  /** The new value (memcached stops at 0), or null when the key does not exist. */
  async decr (key: string, delta: bigint | number = 1n): Promise<bigint | null> {
    return await this.arith('decr', key, delta)
  }

  private async arith (cmd: 'incr' | 'decr', key: string, delta: bigint | number): Promise<bigint | null> {
    const d = typeof delta === 'bigint' ? delta : Number.isSafeInteger(delta) ? BigInt(delta) : -1n
    if (d < 0n || d >= 1n << 64n) throw new ClientError(ClientErrorCode.BadArgument, `${cmd} delta must be an unsigned 64-bit integer`)
    const k = this.key(key)
    return await this.run<bigint | null>(this.hostFor(k), (cb) => new ArithCommand(encodeArith(cmd, k, d), cb))
  }

  /** Sets a new exptime; false when the key does not exist. */
  async touch (key: string, exptime: number): Promise<boolean> {
    this.checkInt('exptime', exptime, -0x80000000, 0x7fffffff)
    const k = this.key(key)
    return await this.run<boolean>(this.hostFor(k), (cb) => new YesNoCommand(encodeTouch(k, exptime), 'TOUCHED', 'NOT_FOUND', cb))
  }

  // --- meta protocol ---

  /**
   * A meta command routed by its key: mg, ms (with `value`), md or ma, flags as tokens
   * (e.g. ['v', 'f', 't'] or ['T60', 'F5']). The q flag is refused (see checkMetaFlag).
   */
  async meta (cmd: Exclude<MetaCommandName, 'mn'>, key: string, flags: readonly string[] = [], value: Value | null = null): Promise<MetaReply> {
    for (const f of flags) {
      const why = checkMetaFlag(f)
      if (why !== null) throw new ClientError(ClientErrorCode.BadArgument, why)
    }
    if (cmd !== 'ms' && value !== null) throw new ClientError(ClientErrorCode.BadArgument, `${cmd} takes no value`)
    const k = this.key(key)
    const v = value === null ? null : typeof value === 'string' ? Buffer.from(value) : value
    return await this.run<MetaReply>(this.hostFor(k), (cb) => new MetaCommand(encodeMeta(cmd, k, flags, v), cb))
  }

  // --- every server ---

  /** flush_all on every server (rejects if any fails). */
  async flushAll (delaySec = 0): Promise<void> {
    await Promise.all(this.hostsOrThrow().map(async (h) => await this.run<void>(h, (cb) => new OkCommand(encodeFlushAll(delaySec), cb))))
  }

  /** version of every server, by "host:port". */
  async version (): Promise<Map<string, string>> {
    const hosts = this.hostsOrThrow()
    const v = await Promise.all(hosts.map(async (h) => await this.run<string>(h, (cb) => new VersionCommand(encodeVersion(), cb))))
    return new Map(hosts.map((h, i) => [h.id, v[i]]))
  }

  /** `stats [args]` of every server, by "host:port". */
  async stats (args = ''): Promise<Map<string, Map<string, string>>> {
    const hosts = this.hostsOrThrow()
    const req = encodeStats(args)
    const v = await Promise.all(hosts.map(async (h) => await this.run<Map<string, string>>(h, (cb) => new StatsCommand(req, cb))))
    return new Map(hosts.map((h, i) => [h.id, v[i]]))
  }

  /** Closes every connection; pending requests fail with CLOSED. */
  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.unsubscribe()
    for (const h of this.hosts) this.retire(h)
    this.hosts = []
    this.router = null
    if (this.ownsSource) await this.source.close()
  }

  // --- internals ---

  /** Builds the router for a new list; keeps connections to servers that stay. */
  private apply (list: readonly ServerAddress[]): void {
    if (this.closed) return
    const old = new Map(this.hosts.map((h) => [h.id, h]))
    const hosts = list.map((s) => {
      const id = serverId(s)
      const h = old.get(id)
      if (h !== undefined) { old.delete(id); return h }
      return new Host(id, new Connection({ ...this.opts, host: s.host, port: s.port }))
    })
    for (const h of old.values()) this.retire(h)
    this.hosts = hosts
    this.router = list.length === 0 ? null : this.buildRouter(list)
  }

  private buildRouter (list: readonly ServerAddress[]): Router {
    return createRouter(list, { method: this.opts.hash, keyHash: this.opts.keyHash, hashTag: this.opts.hashTag })
  }

  private retire (h: Host): void {
    if (h.probe !== null) clearInterval(h.probe)
    h.probe = null
    h.conn.close()
  }

  private key (key: string): Buffer {
    const k = Buffer.from(key)
    const why = checkKey(k)
    if (why !== null) throw new ClientError(ClientErrorCode.BadKey, `${why}: ${JSON.stringify(key.slice(0, 60))}`)
    return k
  }

  private checkInt (what: string, v: number, min: number, max: number): void {
    if (!Number.isInteger(v) || v < min || v > max) throw new ClientError(ClientErrorCode.BadArgument, `${what} must be an integer in [${min}, ${max}], got ${v}`)
  }

  private hostFor (k: Buffer): Host {
    if (this.router === null) throw this.noServers()
    return this.hosts[this.router.serverOfBytes(k, 0, k.length)]
  }

  private hostsOrThrow (): Host[] {
    if (this.hosts.length === 0) throw this.noServers()
    return this.hosts
  }

  private noServers (): ClientError {
    return this.closed
      ? new ClientError(ClientErrorCode.Closed, 'client is closed')
      : new ClientError(ClientErrorCode.NoServers, 'no servers to route to', { retriable: true })
  }

  private async run<T> (h: Host, make: (cb: Callback<T>) => Command<T>): Promise<T> {
    if (h.down) {
      throw new ClientError(ClientErrorCode.HostDown, `${h.id} is marked down after ${h.failures} consecutive failures`, { retriable: true, server: h.id })
    }
    return await new Promise<T>((resolve, reject) => {
      h.conn.send(make((err, result) => {
        if (err === null) {
          h.failures = 0
          resolve(result as T)
        } else {
          if (isHostFailure(err)) this.failed(h)
          reject(err)
        }
      }))
    })
  }

  private failed (h: Host): void {
    h.failures++
    if (h.down || h.failures < this.failureThreshold || this.closed) return
    h.down = true
    h.probe = setInterval(() => {
      h.conn.send(new VersionCommand(encodeVersion(), (err) => {
        if (err !== null || !h.down) return
        h.down = false
        h.failures = 0
        if (h.probe !== null) clearInterval(h.probe)
        h.probe = null
      }))
    }, this.probeIntervalMs)
    h.probe.unref()
  }
}
