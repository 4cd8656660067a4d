// lib/cluster/zk.ts
/**
 * ZkSession: the only module that touches node-zookeeper-client. It owns one
 * client at a time and replaces it when the session is gone, so callers see a
 * session that "comes back" as a NEW session ('session' event) after which they
 * re-create their ephemerals and re-arm their watches.
 *
 * The library has no read timeout: on a frozen link it stays "connected" while the
 * server expires the session and deletes our ephemerals (../shared RECIPES). So
 * this module runs its own liveness watchdog:
 *   - after session/3 without a reply it sends a cheap request (exists '/');
 *   - no reply for 2/3 session -> 'suspect': callers stop acting on anything
 *     ZooKeeper told them about ownership (our ephemeral may be gone already);
 *   - no reply (or no connection) for a full session -> the client is closed
 *     and a new one built: the old session is dead on the server side anyway.
 * Every request also carries its own timeout, so no promise waits forever.
 */
import { EventEmitter } from 'node:events'
import { createRequire } from 'node:module'
import { pino, type Logger } from 'pino'
import { ClusterError, ClusterErrorCode } from './errors.js'
import './zk-frame-guard.js'

// ---- the library's shape, as far as we use it (it ships no types) ----------
interface LibStat { version: number, ephemeralOwner: Buffer, numChildren: number, mtime: Buffer, mzxid: Buffer, pzxid: Buffer }
interface LibEvent { type: number, path: string }
interface LibError { code: number, name: string, message: string }
type Cb<T> = (err: LibError | null, v: T) => void
type Watcher = (ev: LibEvent) => void
interface LibClient {
  connect (): void
  close (): void
  on (ev: string, fn: (...a: unknown[]) => void): void
  removeAllListeners (): void
  getSessionId (): Buffer
  getSessionPassword (): Buffer
  getSessionTimeout (): number
  create (path: string, data: Buffer | null, mode: number, cb: Cb<string>): void
  exists (path: string, watcher: Watcher | undefined, cb: Cb<LibStat | null>): void
  getData (path: string, watcher: Watcher | undefined, cb: (err: LibError | null, data: Buffer | null, stat: LibStat) => void): void
  setData (path: string, data: Buffer | null, version: number, cb: Cb<LibStat>): void
  getChildren (path: string, watcher: Watcher | undefined, cb: (err: LibError | null, children: string[], stat: LibStat) => void): void
  remove (path: string, version: number, cb: (err: LibError | null) => void): void
  connectionManager?: { socket?: { destroy (): void } }
  transaction (): LibTransaction
}
interface LibTransaction {
  ops: Array<{ version?: number }>
  create (path: string, data: Buffer | null, mode: number): LibTransaction
  check (path: string, version: number): LibTransaction
  setData (path: string, data: Buffer, version: number): LibTransaction
  remove (path: string, version: number): LibTransaction
  commit (cb: (err: LibError | null, results: unknown) => void): void
}
interface Lib {
  createClient (connect: string, opts: { sessionTimeout: number, spinDelay: number, retries: number, sessionId?: Buffer, sessionPassword?: Buffer }): LibClient
}
const lib = createRequire(import.meta.url)('node-zookeeper-client') as Lib

const CREATE_MODE = { persistent: 0, ephemeral: 1, persistentSequential: 2, ephemeralSequential: 3 } as const
export type CreateMode = keyof typeof CREATE_MODE
const EVENT_TYPE: Record<number, ZkEventType> = { 1: 'created', 2: 'deleted', 3: 'dataChanged', 4: 'childrenChanged' }
export type ZkEventType = 'created' | 'deleted' | 'dataChanged' | 'childrenChanged'
export interface ZkEvent { type: ZkEventType, path: string }
/** One operation of an atomic multi (`ZkSession.multi`); version -1 = any. */
export type ZkOp =
  | { op: 'create', path: string, data: Buffer | null, mode?: CreateMode }
  | { op: 'check', path: string, version: number }
  | { op: 'setData', path: string, data: Buffer, version: number }
  | { op: 'remove', path: string, version: number }
export type ZkWatcher = (ev: ZkEvent) => void
export interface ZkStat {
  version: number
  /** Session id (hex) owning an ephemeral node; '0000000000000000' for persistent ones. */
  ephemeralOwner: string
  numChildren: number
  /** ZooKeeper's transaction id of the last change of the node's data, and of its child list. */
  mzxid: bigint
  pzxid: bigint
}
const RETRIABLE = new Set(['CONNECTION_LOSS', 'OPERATION_TIMEOUT', 'SESSION_EXPIRED'])

// ---- connect string -----------------------------------------------------------
export interface ZkServerAddress { host: string, port: number }
/**
 * Validate a `--zk` value: HOST:PORT[,HOST:PORT...] with an optional /chroot.
 * Throws ClusterError BadConnectString with a message naming the bad part.
 */
export function parseConnectString (value: string): { servers: ZkServerAddress[], chroot: string | null, normalized: string } {
  const s = value.trim()
  if (s === '') throw new ClusterError(ClusterErrorCode.BadConnectString, '--zk is empty; expected HOST:PORT[,HOST:PORT...]')
  const slash = s.indexOf('/')
  const hostsPart = slash === -1 ? s : s.slice(0, slash)
  const chroot = slash === -1 || slash === s.length - 1 ? null : s.slice(slash)
  if (chroot !== null && !/^(\/[A-Za-z0-9._-]+)+$/.test(chroot)) {
    throw new ClusterError(ClusterErrorCode.BadConnectString, `--zk chroot "${chroot}" is not a ZooKeeper path`)
  }
  const servers: ZkServerAddress[] = []
  for (const item of hostsPart.split(',')) {
    const m = /^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$/.exec(item)
    const port = m === null ? NaN : Number(m[2])
    if (m === null || port < 1 || port > 65535) {
      throw new ClusterError(ClusterErrorCode.BadConnectString,
        `--zk "${value}": "${item}" is not HOST:PORT (expected HOST:PORT[,HOST:PORT...], e.g. 127.0.0.1:2181)`)
    }
    servers.push({ host: m[1]!, port })
  }
  const normalized = servers.map((a) => `${a.host}:${a.port}`).join(',') + (chroot ?? '')
  return { servers, chroot, normalized }
}

// ---- session ---------------------------------------------------------------------
export interface ZkSessionOptions {
  /** HOST:PORT[,HOST:PORT...] (validated by parseConnectString). */
  connect: string
  /** Requested session timeout; the server clamps it to 2..20 ticks. Default 10 s. */
  sessionTimeoutMs?: number
  /** start() gives up after this long without a session. Default: the session timeout. */
  connectTimeoutMs?: number
  /** Per-request deadline. Default: 2/3 of the session timeout. */
  requestTimeoutMs?: number
  log?: Logger
}

export type ZkSessionState = 'idle' | 'connecting' | 'connected' | 'suspect' | 'disconnected' | 'closed'

/**
 * Events:
 *   'session' (sessionId)   a NEW session is up (first connect, after expiry or a rebuild):
 *                           ephemerals and watches of earlier sessions are gone.
 *   'connected' (sessionId) the same session is back after a disconnect (watches kept).
 *   'disconnected'          the link dropped; the library reconnects by itself.
 *   'suspect'               connected, but no reply for 2/3 session (frozen link?).
 *   'expired'               the server said the session is gone; a new one follows.
 *   'closed'                close() finished.
 */
export class ZkSession extends EventEmitter {
  readonly connectString: string
  readonly sessionTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly connectTimeoutMs: number
  #log: Logger
  #client: LibClient | null = null
  #state: ZkSessionState = 'idle'
  #sessionId = ''
  /** Last time the current client proved alive (a reply, or a new connection). */
  #lastAliveAt = 0
  #watchdog: NodeJS.Timeout | null = null
  #probeInFlight = false
  /** Counters for stats and tests. */
  readonly counters = { sessions: 0, rebuilds: 0, expiries: 0, disconnects: 0, suspects: 0, timeouts: 0 }

  constructor (opts: ZkSessionOptions) {
    super()
    this.connectString = parseConnectString(opts.connect).normalized
    this.sessionTimeoutMs = opts.sessionTimeoutMs ?? 10_000
    this.requestTimeoutMs = opts.requestTimeoutMs ?? Math.floor(this.sessionTimeoutMs * 2 / 3)
    this.connectTimeoutMs = opts.connectTimeoutMs ?? this.sessionTimeoutMs
    this.#log = (opts.log ?? pino({ level: 'silent' })).child({ mod: 'zk' })
  }

  get state (): ZkSessionState { return this.#state }
  /** Hex id of the current session ('' before the first one). */
  get sessionId (): string { return this.#sessionId }
  /** Id and password of the current session (diagnostics, and expireSession in tests). */
  get credentials (): { id: Buffer, password: Buffer } | null {
    if (this.#client === null || this.#sessionId === '') return null
    return { id: this.#client.getSessionId(), password: this.#client.getSessionPassword() }
  }

  /** Connected and heard from within 2/3 session: safe to act on what ZooKeeper says. */
  get healthy (): boolean { return this.#state === 'connected' }

  /** Connect; resolves with the first session, rejects (Unreachable) after connectTimeoutMs. */
  start (): Promise<string> {
    if (this.#state !== 'idle') return Promise.reject(new Error('ZkSession.start() called twice'))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.off('session', ok)
        this.#stop()
        void this.#drop(false)
        reject(new ClusterError(ClusterErrorCode.Unreachable,
          `no ZooKeeper server answered at ${this.connectString} within ${this.connectTimeoutMs} ms`, { retriable: true }))
      }, this.connectTimeoutMs)
      const ok = (id: string): void => { clearTimeout(timer); this.#startWatchdog(); resolve(id) }
      this.once('session', ok)
      this.#build()
    })
  }

  #build (): void {
    const client = lib.createClient(this.connectString, {
      sessionTimeout: this.sessionTimeoutMs, spinDelay: Math.min(1000, Math.max(50, this.sessionTimeoutMs / 10)), retries: 0,
    })
    this.#client = client
    this.#sessionId = ''
    this.#state = 'connecting'
    this.#lastAliveAt = Date.now()
    client.on('connected', () => {
      if (this.#client !== client) return
      this.#lastAliveAt = Date.now()
      const id = client.getSessionId().toString('hex')
      const fresh = id !== this.#sessionId
      this.#sessionId = id
      this.#state = 'connected'
      if (fresh) {
        this.counters.sessions++
        this.#log.info({ event: 'joined', sessionId: id, timeoutMs: client.getSessionTimeout() }, 'zk session established')
        this.emit('session', id)
      } else {
        this.#log.info({ sessionId: id }, 'zk reconnected')
        this.emit('connected', id)
      }
    })
    client.on('disconnected', () => {
      if (this.#client !== client || this.#state === 'closed') return
      this.counters.disconnects++
      this.#state = 'disconnected'
      this.#log.warn({ sessionId: this.#sessionId }, 'zk disconnected')
      this.emit('disconnected')
    })
    client.on('expired', () => {
      if (this.#client !== client || this.#state === 'closed') return
      this.counters.expiries++
      this.#log.warn({ event: 'session_expired', cause: 'expired', sessionId: this.#sessionId }, 'zk session expired')
      this.emit('expired')
      this.#rebuild('expired')
    })
    client.connect()
  }

  /** Drop the current client (its session is dead or unreachable) and start a new one. */
  #rebuild (why: string): void {
    this.counters.rebuilds++
    this.#log.warn({ why, sessionId: this.#sessionId }, 'zk client rebuilt')
    this.#drop(false)
    this.#build()
  }

  /** Forget the current client. graceful: send closeSession first (ephemerals go at once). */
  #drop (graceful: boolean): Promise<void> {
    const client = this.#client
    this.#client = null
    this.#probeInFlight = false
    if (client === null) return Promise.resolve()
    client.removeAllListeners()
    client.on('error', () => {})
    try { client.close() } catch {}
    // close() queues closeSession behind whatever is stuck; a frozen socket would
    // stay open forever, so destroy it (at once, or after a short grace).
    const destroy = (): void => { try { client.connectionManager?.socket?.destroy() } catch {} }
    if (!graceful) { destroy(); return Promise.resolve() }
    // Graceful: the server answers closeSession by closing the link; wait for that
    // (bounded), so the ephemerals are gone when close() resolves.
    return new Promise((resolve) => {
      const timer = setTimeout(() => { destroy(); resolve() }, Math.min(1000, this.requestTimeoutMs))
      const sock = client.connectionManager?.socket as { once?: (ev: string, fn: () => void) => void, destroyed?: boolean } | undefined
      if (sock?.once === undefined || sock.destroyed === true) { clearTimeout(timer); destroy(); resolve(); return }
      sock.once('close', () => { clearTimeout(timer); resolve() })
    })
  }

  #startWatchdog (): void {
    // Check often (the suspect and dead thresholds are only 1/3 session apart);
    // probe only when nothing was heard for 1/3 session.
    const every = Math.max(20, Math.floor(this.sessionTimeoutMs / 12))
    this.#watchdog = setInterval(() => this.#tick(), every)
    this.#watchdog.unref()
  }

  #tick (): void {
    const client = this.#client
    if (client === null) return
    const silentMs = Date.now() - this.#lastAliveAt
    if (silentMs >= this.sessionTimeoutMs) {
      // Connected but mute, or unable to connect, for a whole session: the server
      // has expired (or will expire) this session. Start over with a new one.
      const why = this.#state === 'disconnected' || this.#state === 'connecting' ? 'no connection for a session' : 'no reply for a session'
      // Once a session was held, giving it up is its end as far as this host can tell
      // (ZooKeeper has expired it, or will): the same event as the server's expiry.
      if (this.#sessionId !== '') this.#log.warn({ event: 'session_expired', cause: why, sessionId: this.#sessionId }, 'zk session given up')
      this.#rebuild(why)
      return
    }
    if (this.#state === 'connected' && silentMs >= this.sessionTimeoutMs * 2 / 3) {
      this.counters.suspects++
      this.#state = 'suspect'
      this.#log.warn({ sessionId: this.#sessionId, silentMs }, 'zk link suspect: no reply')
      this.emit('suspect')
    }
    if ((this.#state === 'connected' || this.#state === 'suspect') && !this.#probeInFlight && silentMs >= this.sessionTimeoutMs / 3) {
      this.#probeInFlight = true
      client.exists('/', undefined, (err) => {
        if (this.#client !== client) return
        this.#probeInFlight = false
        if (err === null || err.name !== 'CONNECTION_LOSS') this.#alive(client)
      })
    }
  }

  /** A reply arrived on `client`: the link works. */
  #alive (client: LibClient): void {
    if (this.#client !== client) return
    this.#lastAliveAt = Date.now()
    if (this.#state === 'suspect') {
      this.#state = 'connected'
      this.#log.info({ sessionId: this.#sessionId }, 'zk link healthy again')
      this.emit('connected', this.#sessionId)
    }
  }

  async close (): Promise<void> {
    if (this.#state === 'closed') return
    this.#stop()
    await this.#drop(true)
    this.emit('closed')
  }

  #stop (): void {
    this.#state = 'closed'
    if (this.#watchdog !== null) clearInterval(this.#watchdog)
    this.#watchdog = null
  }

  // ---- requests ---------------------------------------------------------------------
  #call<T> (what: string, path: string, run: (c: LibClient, done: (err: LibError | null, v: T) => void) => void): Promise<T> {
    const client = this.#client
    if (client === null || this.#state === 'closed') {
      return Promise.reject(new ClusterError(ClusterErrorCode.Closed, `zk ${what} ${path}: session closed`, { retriable: false }))
    }
    return new Promise((resolve, reject) => {
      let settled = false
      const timer = setTimeout(() => {
        settled = true
        this.counters.timeouts++
        reject(new ClusterError(ClusterErrorCode.Timeout, `zk ${what} ${path}: no reply within ${this.requestTimeoutMs} ms`, { retriable: true }))
      }, this.requestTimeoutMs)
      run(client, (err, v) => {
        if (err === null || err.name !== 'CONNECTION_LOSS') this.#alive(client)
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (err !== null) {
          reject(new ClusterError(ClusterErrorCode.ZooKeeper, `zk ${what} ${path}: ${err.name}`,
            { cause: err, zkCode: err.name, retriable: RETRIABLE.has(err.name) }))
        } else resolve(v)
      })
    })
  }

  create (path: string, data: Buffer | null, mode: CreateMode = 'persistent'): Promise<string> {
    return this.#call('create', path, (c, done) => c.create(path, data, CREATE_MODE[mode], done))
  }

  /** Create every missing persistent node on the way to `path` (NODE_EXISTS is fine). */
  async ensurePath (path: string): Promise<void> {
    let at = ''
    for (const part of path.split('/').filter((p) => p !== '')) {
      at += '/' + part
      try { await this.create(at, null, 'persistent') } catch (err) {
        if (!(err instanceof ClusterError) || err.zkCode !== 'NODE_EXISTS') throw err
      }
    }
  }

  exists (path: string, watcher?: ZkWatcher): Promise<ZkStat | null> {
    return this.#call('exists', path, (c, done) => c.exists(path, wrap(watcher),
      (err, stat) => done(err, stat === null || stat === undefined ? null : toStat(stat))))
  }

  /** Data and stat, or null when the node does not exist. */
  getData (path: string, watcher?: ZkWatcher): Promise<{ data: Buffer, stat: ZkStat } | null> {
    return this.#call('getData', path, (c, done) => c.getData(path, wrap(watcher), (err, data, stat) => {
      if (err !== null && err.name === 'NO_NODE') done(null, null)
      else done(err, err !== null ? null : { data: data ?? Buffer.alloc(0), stat: toStat(stat) })
    }))
  }

  setData (path: string, data: Buffer, version = -1): Promise<ZkStat> {
    return this.#call('setData', path, (c, done) => c.setData(path, data, version, (err, stat) => done(err, err === null ? toStat(stat) : null as unknown as ZkStat)))
  }

  /** Child names, or null when the node does not exist. */
  getChildren (path: string, watcher?: ZkWatcher): Promise<string[] | null> {
    return this.#call('getChildren', path, (c, done) => c.getChildren(path, wrap(watcher), (err, children) => {
      if (err !== null && err.name === 'NO_NODE') done(null, null)
      else done(err, err !== null ? null : children)
    }))
  }

  /**
   * All of `ops` or none (ZooKeeper multi). Rejects with the first failing op's code
   * (NODE_EXISTS, BAD_VERSION, NO_NODE...) in ClusterError.zkCode.
   */
  multi (ops: readonly ZkOp[]): Promise<void> {
    const what = ops.map((o) => `${o.op} ${o.path}`).join(', ')
    return this.#call('multi', what, (c, done) => {
      const tx = c.transaction()
      for (const o of ops) {
        if (o.op === 'create') tx.create(o.path, o.data, CREATE_MODE[o.mode ?? 'persistent'])
        else if (o.op === 'check') tx.check(o.path, o.version)
        else if (o.op === 'setData') tx.setData(o.path, o.data, o.version)
        else tx.remove(o.path, o.version)
        // The library's Transaction turns version 0 into -1 ("any": `version || -1`),
        // which would make a condition on a freshly created node always pass.
        if (o.op !== 'create') tx.ops[tx.ops.length - 1]!.version = o.version
      }
      tx.commit((err) => done(err, undefined))
    })
  }

  /** Remove one node; false when it did not exist. */
  remove (path: string, version = -1): Promise<boolean> {
    return this.#call('remove', path, (c, done) => c.remove(path, version, (err) => {
      if (err !== null && err.name === 'NO_NODE') done(null, false)
      else done(err, true)
    }))
  }

  /** Remove a whole subtree, deepest first (the library's removeRecursive fails past 2 levels). */
  async removeTree (path: string): Promise<void> {
    const children = await this.getChildren(path)
    if (children === null) return
    for (const c of children) await this.removeTree(path === '/' ? `/${c}` : `${path}/${c}`)
    if (path !== '/') await this.remove(path)
  }
}

function wrap (watcher: ZkWatcher | undefined): Watcher | undefined {
  if (watcher === undefined) return undefined
  return (ev: LibEvent) => {
    const type = EVENT_TYPE[ev.type]
    if (type !== undefined) watcher({ type, path: ev.path })
  }
}

function zxid (b: Buffer | undefined): bigint {
  return Buffer.isBuffer(b) && b.length === 8 ? b.readBigUInt64BE(0) : 0n
}

function toStat (s: LibStat): ZkStat {
  return { version: s.version, ephemeralOwner: s.ephemeralOwner.toString('hex'), numChildren: s.numChildren, mzxid: zxid(s.mzxid), pzxid: zxid(s.pzxid) }
}

/**
 * Make the server end a session from outside, as an operator or a partition would:
 * join the session from a second client and close it there; repeat until joining
 * answers "expired" (the owner may win the session back in between). The owner
 * learns on its next contact that the session is gone. For failure tests.
 */
export async function expireSession (connect: string, creds: { id: Buffer, password: Buffer }, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await joinAndClose(connect, creds, deadline - Date.now()) === 'expired') return
  }
  throw new Error('expireSession: the session is still alive')
}

function joinAndClose (connect: string, creds: { id: Buffer, password: Buffer }, timeoutMs: number): Promise<'expired' | 'closed'> {
  return new Promise((resolve, reject) => {
    const c = lib.createClient(connect, { sessionTimeout: 30_000, spinDelay: 50, retries: 0, sessionId: creds.id, sessionPassword: creds.password })
    const timer = setTimeout(() => { c.removeAllListeners(); try { c.close() } catch {}; reject(new Error('expireSession: could not join the session')) }, timeoutMs)
    c.on('connected', () => {
      // The server drops the link once it has closed the session (or handed it back).
      c.on('disconnected', () => { clearTimeout(timer); resolve('closed') })
      c.close()
    })
    c.on('expired', () => { clearTimeout(timer); c.removeAllListeners(); c.close(); resolve('expired') })
    c.connect()
  })
}
