/**
 * The routing client (the design's Cache Client): a server list from a ServerSource,
 * a ring from lib/ring, one pipelined Connection per server, and a promise API. Promises
 * exist only here, at the edge; below, commands settle through callbacks.
 *
 * Routing (route-table.ts): key -> slot (a shard, or a server of a flat list) -> hosts.
 * Writes, and reads that write (gat, touch, mg with N/R/T), go to the slot's writer
 * (the shard's primary) and are never retried on another host. Reads go to one of the
 * slot's copies (read-choice.ts: least outstanding requests); when that copy fails at
 * the connection level the same call tries the next copy, so a caller sees no error
 * while any copy answers.
 *
 * Health (host.ts): a server that fails `failureThreshold` times in a row is marked
 * down and probed. Keys are NOT moved to another shard while a host is down: a miss
 * storm elsewhere and stale reads after it returns are worse than failing fast.
 * Topology changes come from the ServerSource or ShardSource instead.
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls'
import { checkRouterOptions, placementFromSetting, type HashMethod, type KeyHash, type RouterOptions } from '../ring/index.js'
import {
  checkKey, encodeRetrieval, encodeStorage, encodeStorageHeader, encodeDelete, encodeArith, encodeTouch,
  encodeFlushAll, encodeVersion, encodeStats, encodeMeta, checkMetaFlag, CRLF, type StorageCommand, type MetaCommandName,
} from '../../protocol/text/request-encoder.js'
import {
  RetrievalCommand, StoreCommand, YesNoCommand, ArithCommand, OkCommand, VersionCommand, StatsCommand, MetaCommand,
  type Command, type Callback, type Item, type StoreStatus, type MetaReply,
} from './command.js'
import { Connection, type ConnectionOptions } from './connection.js'
import { ValueCipher, type KeyRing } from '../crypto/index.js'
import { ClientError, ClientErrorCode, isHostFailure } from './errors.js'
import { StaticServers } from './discovery/static-servers.js'
import { serverId, type ServerAddress, type ServerSource } from './discovery/server-source.js'
import { isShardSource, type ShardInfo, type ShardSource } from './discovery/shard-source.js'
import { EpochFence } from './epoch-fence.js'
import { Host } from './host.js'
import { pickCopy } from './read-choice.js'
import { RouteTable, tableOfServers, tableOfShards, type Slot } from './route-table.js'

export interface ClientOptions extends Omit<ConnectionOptions, 'host' | 'port' | 'tls'> {
  /**
   * "host:port[:weight],...", a list, a ServerSource, or a ShardSource (a memring
   * cluster in ZooKeeper: ZooKeeperShards). The client does not close a source it was given.
   */
  readonly servers: string | readonly ServerAddress[] | ServerSource | ShardSource
  /**
   * key -> server (a list) or shard (a ShardSource), through lib/ring/router.ts as
   * memring-proxy --hash: ketama: libmemcached's libketama-compatible placement (default);
   * ketama-twemproxy: twemproxy's (names, `keyHash`, `hashTag`); ketama-unweighted:
   * libmemcached's MEMCACHED_BEHAVIOR_KETAMA alone; jump: jump hash over list order. With a
   * ShardSource, give the method the cluster's proxies use (shard ids are hashed).
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
  /**
   * Where reads go: 'any' copy of the shard (default; least outstanding requests, retried
   * on another copy when one fails) or only the 'master' (the shard's primary).
   */
  readonly readFrom?: ReadFrom
  /**
   * TLS (node:tls options: ca, cert, key, ...). `all`: every server; otherwise only servers
   * whose address says `tls` (ZooKeeper records of memring hosts with -Z), which get these
   * options, or Node's defaults when absent.
   */
  readonly tls?: { readonly all?: boolean, readonly options?: TlsConnectionOptions }
  /**
   * Seal values with AES-256-GCM under this key ring (lib/crypto/README.md: file format,
   * rotation, what is and is not encrypted). Values are sealed on set/add/replace/cas and
   * opened on get/gets/gat/gats; one that does not open is a miss (null), counted in
   * `counters.decryptFailures`. incr/decr, append/prepend, ms, ma and mg with `v` throw
   * MEMRING_ERR_CLIENT_NOT_WITH_ENCRYPTION. The same ring in memring-proxy --encrypt-values
   * reads and writes the same values.
   */
  readonly encryption?: KeyRing
}

export type ReadFrom = 'master' | 'any'

/** Where a key routes (Client.route). */
export interface RouteInfo {
  /** Shard id, or "host:port" for a server list. */
  readonly shard: string
  readonly epoch: number
  /** "host:port" writes go to, or null (no live master, or a deposed one). */
  readonly primary: string | null
  /** "host:port" of the copies reads may go to, the primary first. */
  readonly copies: readonly string[]
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

export class Client {
  /** Reads that failed on one copy and were sent to another within the same call. */
  readonly counters = { readRetries: 0, decryptFailures: 0 }
  private readonly cipher: ValueCipher | null
  private readonly source: ServerSource | ShardSource
  private readonly ownsSource: boolean
  private readonly unsubscribe: () => void
  private readonly opts: ClientOptions
  private readonly placement: RouterOptions
  private readonly failureThreshold: number
  private readonly probeIntervalMs: number
  private readonly readFrom: ReadFrom
  private readonly fence = new EpochFence()
  /** Every host some slot uses, by "host:port"; connections live as long as they stay here. */
  private hosts = new Map<string, Host>()
  private table = RouteTable.empty
  private closed = false

  constructor (opts: ClientOptions) {
    this.opts = opts
    this.placement = { method: opts.hash, keyHash: opts.keyHash, hashTag: opts.hashTag }
    this.failureThreshold = opts.failureThreshold ?? 3
    this.probeIntervalMs = opts.probeIntervalMs ?? 1000
    this.readFrom = opts.readFrom ?? 'any'
    this.cipher = opts.encryption === undefined ? null : new ValueCipher(opts.encryption)
    if (this.readFrom !== 'any' && this.readFrom !== 'master') throw new RangeError(`readFrom must be 'any' or 'master', got ${String(this.readFrom)}`)
    const s = opts.servers
    this.ownsSource = typeof s === 'string' || Array.isArray(s)
    if (isShardSource(s)) {
      checkRouterOptions(this.placement)
      this.source = s
      this.applyShards(s.current())
      this.unsubscribe = s.subscribe((shards) => this.applyShards(shards))
    } else {
      const src = typeof s === 'string' || Array.isArray(s) ? new StaticServers(s as string | readonly ServerAddress[]) : s as ServerSource
      this.source = src
      this.applyServers(src.current())
      this.unsubscribe = src.subscribe((list) => this.applyServers(list))
    }
  }

  /** "host:port" of the server a key's writes go to. */
  serverFor (key: string): string {
    return this.writerOf(this.slotFor(this.key(key))).id
  }

  /** Where a key routes: its shard, the shard's primary and its copies. */
  route (key: string): RouteInfo {
    const s = this.slotFor(this.key(key))
    return { shard: s.id, epoch: s.epoch, primary: s.writer?.id ?? null, copies: s.copies.map((h) => h.id) }
  }

  /** Every server in use, with its health and queue depth. */
  servers (): Array<{ server: string, down: boolean, pending: number }> {
    return [...this.hosts.values()].map((h) => ({ server: h.id, down: h.down, pending: h.pending }))
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
    const groups = new Map<Slot, { keys: Buffer[], at: number[] }>()
    for (let i = 0; i < keys.length; i++) {
      const k = this.key(keys[i])
      const s = this.slotFor(k)
      let g = groups.get(s)
      if (g === undefined) groups.set(s, g = { keys: [], at: [] })
      g.keys.push(k)
      g.at.push(i)
    }
    // gat and gats reset the expiry: writes, for the primary only.
    const write = cmd === 'gat' || cmd === 'gats'
    await Promise.all([...groups].map(async ([s, g]) => {
      const make = (cb: Callback<Array<Item | null>>): Command<Array<Item | null>> => new RetrievalCommand(encodeRetrieval(cmd, g.keys, exptime), g.keys, cb)
      const items = write ? await this.run(this.writerOf(s), make) : await this.read(s, make)
      for (let j = 0; j < items.length; j++) out[g.at[j]] = this.opened(g.keys[j], items[j])
    }))
    return out
  }

  /** With `encryption`: the item with its value opened, or null (counted) when it does not open. */
  private opened (key: Buffer, item: Item | null): Item | null {
    const c = this.cipher
    if (c === null || item === null) return item
    const value = c.open(key, 0, key.length, item.flags, item.value, 0, item.value.length)
    if (value === null) { this.counters.decryptFailures++; return null }
    return { value, flags: item.flags, cas: item.cas }
  }

  private refuseSealed (what: string): void {
    if (this.cipher !== null) throw new ClientError(ClientErrorCode.NotWithEncryption, `${what} cannot work on encrypted values`)
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
    if (cmd === 'append' || cmd === 'prepend') this.refuseSealed(cmd)
    const k = this.key(key)
    const flags = opts.flags ?? 0
    let v = typeof value === 'string' ? Buffer.from(value) : value
    if (this.cipher !== null) {
      this.checkInt('flags', flags, 0, 0xffffffff)
      v = this.cipher.seal(k, 0, k.length, flags, v, 0, v.length)
    }
    const exptime = opts.exptime ?? 0
    this.checkInt('flags', flags, 0, 0xffffffff)
    this.checkInt('exptime', exptime, -0x80000000, 0x7fffffff)
    const h = this.writerOf(this.slotFor(k))
    const req = v.length < COPY_LIMIT
      ? encodeStorage(cmd, k, flags, exptime, v, cas)
      : [encodeStorageHeader(cmd, k, flags, exptime, v.length, cas), v, CRLF]
    return await this.run<StoreStatus>(h, (cb) => new StoreCommand(req, cb))
  }

  // --- other keyed commands ---

  /** true when deleted, false when there was nothing to delete. */
  async delete (key: string): Promise<boolean> {
    const k = this.key(key)
    return await this.run<boolean>(this.writerFor(k), (cb) => new YesNoCommand(encodeDelete(k), 'DELETED', 'NOT_FOUND', cb))
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
    this.refuseSealed(cmd)
    const k = this.key(key)
    return await this.run<bigint | null>(this.writerFor(k), (cb) => new ArithCommand(encodeArith(cmd, k, d), cb))
  }

  /** Sets a new exptime; false when the key does not exist. */
  async touch (key: string, exptime: number): Promise<boolean> {
    this.checkInt('exptime', exptime, -0x80000000, 0x7fffffff)
    const k = this.key(key)
    return await this.run<boolean>(this.writerFor(k), (cb) => new YesNoCommand(encodeTouch(k, exptime), 'TOUCHED', 'NOT_FOUND', cb))
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
    if (cmd === 'ms' || cmd === 'ma' || (cmd === 'mg' && flags.some((f) => f.startsWith('v')))) this.refuseSealed(cmd === 'mg' ? 'mg v' : cmd)
    const k = this.key(key)
    const v = value === null ? null : typeof value === 'string' ? Buffer.from(value) : value
    const make = (cb: Callback<MetaReply>): Command<MetaReply> => new MetaCommand(encodeMeta(cmd, k, flags, v), cb)
    const slot = this.slotFor(k)
    return cmd === 'mg' && !flags.some(writesOnGet) ? await this.read(slot, make) : await this.run(this.writerOf(slot), make)
  }

  // --- every server ---

  /** flush_all on every writer, i.e. every primary (rejects if any fails); replicas follow their master. */
  async flushAll (delaySec = 0): Promise<void> {
    const writers = new Set<Host>()
    for (const s of this.table.slots) if (s.writer !== null) writers.add(s.writer)
    if (writers.size === 0) throw this.noServers()
    await Promise.all([...writers].map(async (h) => await this.run<void>(h, (cb) => new OkCommand(encodeFlushAll(delaySec), cb))))
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
    for (const h of this.hosts.values()) h.retire()
    this.hosts = new Map()
    this.table = RouteTable.empty
    if (this.ownsSource) await this.source.close()
  }

  // --- internals ---

  /** A new server list: one slot per server; keeps the connections of servers that stay. */
  private applyServers (list: readonly ServerAddress[]): void {
    if (this.closed) return
    this.swap((hostOf) => tableOfServers(list, this.placement, hostOf))
  }

  /** A new shard list: writes follow the primaries (unless fenced), reads the copies. */
  private applyShards (shards: readonly ShardInfo[]): void {
    if (this.closed) return
    const src = this.source as ShardSource
    const { placement } = placementFromSetting(src.setting?.() ?? {}, this.placement)
    this.swap((hostOf) => tableOfShards(shards, this.table, this.fence, hostOf, placement))
  }

  /** Builds the next table; hosts it no longer uses are retired (their waiting requests fail with CLOSED). */
  private swap (build: (hostOf: (s: ServerAddress) => Host) => RouteTable): void {
    const old = this.hosts
    const next = new Map<string, Host>()
    const hostOf = (s: ServerAddress): Host => {
      const id = serverId(s)
      let h = next.get(id)
      if (h === undefined) {
        const tls = this.opts.tls?.all === true || s.tls === true ? this.opts.tls?.options ?? {} : undefined
        h = old.get(id) ?? new Host(id, new Connection({ ...this.opts, host: s.host, port: s.port, tls }))
        next.set(id, h)
      }
      return h
    }
    const table = build(hostOf)
    this.hosts = next
    this.table = table
    for (const [id, h] of old) if (!next.has(id)) h.retire('closed: the server left the topology')
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

  private slotFor (k: Buffer): Slot {
    const s = this.table.slotOf(k)
    if (s === null) throw this.noServers()
    return s
  }

  private writerFor (k: Buffer): Host {
    return this.writerOf(this.slotFor(k))
  }

  /** The slot's writer, or NO_PRIMARY (never sent, so retriable). Writes never go elsewhere. */
  private writerOf (s: Slot): Host {
    if (s.writer === null) throw new ClientError(ClientErrorCode.NoPrimary, s.noWriter, { retriable: true })
    return s.writer
  }

  private hostsOrThrow (): Host[] {
    if (this.hosts.size === 0) throw this.noServers()
    return [...this.hosts.values()]
  }

  private noServers (): ClientError {
    return this.closed
      ? new ClientError(ClientErrorCode.Closed, 'client is closed')
      : new ClientError(ClientErrorCode.NoServers, 'no servers to route to', { retriable: true })
  }

  /**
   * A read on one of the slot's copies. A copy that fails at the connection level (or
   * is marked down, or was retired by a topology change) is skipped and the next one
   * tried, so the call fails only when every copy did: reads are idempotent, so sending
   * one again cannot apply anything twice. Error replies are answers and are not retried.
   */
  private async read<T> (s: Slot, make: (cb: Callback<T>) => Command<T>): Promise<T> {
    if (this.readFrom === 'master') return await this.run(this.writerOf(s), make)
    if (s.copies.length === 0) {
      throw new ClientError(ClientErrorCode.NoCopy, `shard ${s.id} has no live copy to read from`, { retriable: true })
    }
    const first = pickCopy(s.copies, null)!
    try {
      return await this.run(first, make)
    } catch (err) {
      if (s.copies.length === 1 || this.closed || !tryAnotherCopy(err)) throw err
    }
    // The slow path: a set of the copies tried is only made once one has failed.
    const tried = new Set<Host>([first])
    for (;;) {
      const h = pickCopy(s.copies, tried)!
      this.counters.readRetries++
      try {
        return await this.run(h, make)
      } catch (err) {
        tried.add(h)
        if (tried.size === s.copies.length || this.closed || !tryAnotherCopy(err)) throw err
      }
    }
  }

  private async run<T> (h: Host, make: (cb: Callback<T>) => Command<T>): Promise<T> {
    if (h.down) {
      throw new ClientError(ClientErrorCode.HostDown, `${h.id} is marked down after ${h.failures} consecutive failures`, { retriable: true, server: h.id })
    }
    return await new Promise<T>((resolve, reject) => {
      h.conn.send(make((err, result) => {
        if (err === null) {
          h.succeeded()
          resolve(result as T)
        } else {
          if (isHostFailure(err) && !this.closed) h.failed(this.failureThreshold, this.probeIntervalMs)
          reject(err)
        }
      }))
    })
  }
}

/** mg flags that make a get a write (replicas refuse them): N vivify, R recache win token, T touch. */
function writesOnGet (flag: string): boolean {
  const c = flag.charCodeAt(0)
  return c === 0x4e || c === 0x52 || c === 0x54
}

/** Failures that say nothing about the key, only about the copy: another copy may answer. */
function tryAnotherCopy (err: unknown): boolean {
  if (!(err instanceof ClientError)) return false
  return isHostFailure(err) || err.code === ClientErrorCode.HostDown || err.code === ClientErrorCode.Closed ||
    err.code === ClientErrorCode.QueueFull
}
