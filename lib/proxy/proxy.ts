// lib/proxy/proxy.ts
/**
 * createProxy(): a listener whose connections are lib/server Connections with the
 * proxy's routing sessions plugged in, a Router over the current topology (a static
 * --servers list, or a TopologyWatcher on ZooKeeper), and the shared backend pool.
 *
 * ZooKeeper is only the source of the topology: when it is away the watcher keeps
 * its last snapshot and the proxy keeps routing on it; TKO marks (backend.ts) handle
 * hosts that die in the meantime.
 */
import net from 'node:net'
import os from 'node:os'
import { encodeClusterConfig } from '../../protocol/text/cluster-config.js'
import { DcWrites, type DcWritesMode } from './dc-writes.js'
import { pino, type Logger } from 'pino'
import { Connection } from '../server/connection.js'
import type { ConnControl, ServerContext } from '../server/context.js'
import { ServerStats } from '../server/stats.js'
import { listenUnix } from '../server/unix-listen.js'
import { TlsTerminator, type TlsSettings } from '../server/tls.js'
import { hostname } from 'node:os'
import { Presence, Topology, TopologyWatcher, encodeRecord, proxiesPath } from '../cluster/index.js'
import { BackendPool, type BackendOptions } from './backend.js'
import { Router, type ReadFrom, type StaticServer } from './router.js'
import type { RouterOptions } from '../ring/index.js'
import { newProxyCounters, type ProxyCore } from './core.js'
import { ProxyTextSession } from './text-session.js'
import { ProxyBinarySession } from './binary-session.js'
import { buildRouteTree, describeRoute, type RouteSpec } from './route-tree.js'
import { WarmUp, type WarmUpOptions } from './warm-up.js'
import { HotReads, type HotReadsOptions } from './hot-reads.js'
import { AsciiAuthSession, authChecks } from '../server/auth-setup.js'
import { KeyRing, ValueCipher } from '../crypto/index.js'

export type TopologySource =
  /** A fixed list; each server is a shard, placed as a client of `placement` over the list would. */
  | { kind: 'static', servers: readonly StaticServer[] }
  | { kind: 'zk', zk: string, cluster: string, dc?: string, sessionTimeoutMs?: number, connectTimeoutMs?: number }
  /**
   * A Topology the embedder builds (its own discovery, or a test's Topology.build()) and
   * replaces with `proxy.router.update(next)`. Keys hash over shard ids, as with ZooKeeper.
   */
  | { kind: 'given', topology: Topology }

export interface ProxyOptions {
  port: number
  /** Address to listen on. Default 127.0.0.1. */
  listen?: string
  /** -s: listen on this unix socket instead of TCP; -a: its permission bits (0700). */
  unixSocket?: string
  unixMask?: number
  topology: TopologySource
  backend?: BackendOptions
  /** Where reads go: `any` copy of the shard (default) or its `master` only (read-your-writes). */
  readFrom?: ReadFrom
  /** --dc-writes / --dc-invalidate-hold (dc-writes.ts); default master. */
  dcWrites?: { mode: DcWritesMode, holdMs?: number }
  /**
   * key -> shard: the hashing method (lib/ring/router.ts; default ketama, libmemcached's).
   * Static lists are labelled as that method's client labels servers; a cluster hashes
   * shard ids (as lib/client does).
   */
  placement?: RouterOptions
  /** --bounded-load c (> 1; 0 or absent: off): bounded loads over the ketama continuum (router.ts). */
  boundedLoad?: number
  /**
   * Several pools behind one route tree (route-tree.ts; an mcrouter AllSyncRoute or
   * FailoverRoute): keyed requests follow the tree. `topology` must then be the static list
   * of every server of the tree (routeServers()), for the fan-outs.
   */
  routeTree?: RouteSpec
  /** --warmup-window / --warmup-hit-ratio: read-through of moved keys after a ring change (warm-up.ts). */
  warmUp?: WarmUpOptions
  /**
   * --hot-key-threshold (reads/s per key at this proxy; absent: off) and --hot-key-cache:
   * hot keys' reads go round every copy of their shard, and may be served from a tiny
   * cache (hot-keys.ts, hot-cache.ts).
   */
  hotKeys?: HotReadsOptions
  /**
   * Client authentication, memring's own flags and modules (lib/server/AUTH.md): `sasl`
   * (-S, binary only, users from `saslPwdb` or $MEMCACHED_SASL_PWDB) or `authFile` (-Y,
   * text only); -Y wins when both are given. Absent: clients need no login.
   */
  auth?: { sasl: boolean, saslPwdb: string, authFile: string }
  /**
   * --encrypt-values KEYFILE: values are sealed with AES-256-GCM (lib/crypto) before they
   * reach a backend and opened on the way back (value-crypt.ts); the key ring file's format
   * is in lib/crypto/README.md. Absent: values pass as they are.
   */
  encryptValues?: string
  /** listen(2) backlog (twemproxy `backlog:`); default Node's 511. */
  backlog?: number
  maxConns?: number
  /** Requests one client may have in flight before we stop reading it. Default 1024. */
  maxPendingPerConn?: number
  version?: string
  /** -Z and -o ssl_*: TLS for clients (lib/server/tls.ts); absent or not enabled: plaintext. */
  tls?: TlsSettings
  log?: Logger
}

export interface MemringProxy {
  readonly port: number
  readonly router: Router
  readonly core: ProxyCore
  /** The ZooKeeper watcher (null for a static list). */
  readonly watcher: TopologyWatcher | null
  /** Re-reads the -Y authfile (SIGHUP); throws AuthFileError and keeps the old users. */
  reloadAuth (): void
  start (): Promise<void>
  close (): Promise<void>
}

/**
 * `config get cluster` on the proxy lists the proxy itself, at version 1 (the list never
 * changes): the address it listens on, or this machine's hostname for a wildcard listen.
 */
function selfDiscovery (listen: string, addr: string | net.AddressInfo | null | undefined): Buffer | null {
  if (addr == null || typeof addr === 'string') return null
  const wildcard = listen === '0.0.0.0' || listen === '::' || listen === ''
  const hostname = wildcard ? os.hostname() : listen
  return encodeClusterConfig(1, [{ hostname, ip: net.isIP(hostname) !== 0 ? hostname : '', port: addr.port }])
}

export function createProxy (opts: ProxyOptions): MemringProxy {
  const log = (opts.log ?? pino({ level: 'silent' })).child({ mod: 'proxy' })
  const pool = new BackendPool(opts.backend)
  const router = new Router(pool, { statics: opts.topology.kind === 'static' ? opts.topology.servers : undefined, readFrom: opts.readFrom, placement: opts.placement, boundedLoad: opts.boundedLoad, dc: opts.topology.kind === 'zk' ? opts.topology.dc ?? null : null })
  const counters = newProxyCounters()
  const warmUp = new WarmUp(router, counters, opts.warmUp)
  router.onRingChange = (prev, prevShards, shards) => {
    warmUp.ringChanged(prev, prevShards, shards)
    if (warmUp.active) log.info({ windowMs: warmUp.windowMs, shards: shards.length }, 'ring changed: warm-up window open')
  }
  const conns = new Set<Connection>()
  const stats = new ServerStats()
  let watcher: TopologyWatcher | null = null
  let presence: Presence | null = null
  let listener: net.Server | null = null
  let discovery: Buffer | null = null
  const hot = opts.hotKeys === undefined ? null : new HotReads(opts.hotKeys)
  // Certificates are read now: a bad file fails before anything listens (memcached's messages).
  const terminator = opts.tls?.enabled === true ? new TlsTerminator(opts.tls) : null
  // Throws AuthFileError (unreadable or malformed file) before anything listens.
  const auth = authChecks(opts.auth ?? { sasl: false, saslPwdb: '', authFile: '' })
  // Throws KeyRingError (unreadable or malformed key ring) before anything listens.
  const cipher = opts.encryptValues === undefined ? null : new ValueCipher(KeyRing.load(opts.encryptValues))
  const core: ProxyCore = {
    tls: terminator,
    router,
    tree: null,
    routeName: opts.routeTree === undefined ? '-' : describeRoute(opts.routeTree),
    counters,
    warmUp,
    hot,
    dcWrites: new DcWrites(opts.dcWrites?.mode ?? 'master', opts.dcWrites?.holdMs),
    sasl: auth.sasl,
    cipher,
    version: opts.version ?? '1.6.18',
    clusterConfig: () => discovery ??= selfDiscovery(opts.listen ?? '127.0.0.1', listener?.address()),
    startedAtMs: Date.now(),
    maxPendingPerConn: opts.maxPendingPerConn ?? 1024,
    topologyStale: () => watcher?.stale ?? false,
    currConnections: () => conns.size,
    totalConnections: () => stats.total_connections,
  }
  pool.onHealth = (h, up) => {
    if (up) log.info({ event: 'backend_up', backend: h.address }, 'backend back up')
    else log.warn({ event: 'backend_down', backend: h.address }, 'backend marked down')
  }

  // Connection needs only the connection-level parts of a ServerContext (stats,
  // bookkeeping, the internal-error hook); the proxy has no store, and its sessions
  // never look for one.
  const ctx = {
    stats,
    settings: null,
    store: null,
    meta: null,
    startedAtSec: Math.floor(Date.now() / 1000),
    connections: conns,
    requestShutdown: () => {},
    connectionClosed: (c: { id: number }) => { conns.delete(c as Connection) },
    onInternalError: (err: unknown, connId: number) => log.error({ err, connId }, 'internal error on connection'),
  } as unknown as ServerContext
  const binary = (conn: ConnControl): ProxyBinarySession => new ProxyBinarySession(conn, core)
  // As memring (auth-setup.ts): -Y makes every connection text behind the auth gate;
  // -S makes every connection binary (a text client is closed by the binary parser).
  const file = auth.authFile
  const counted = (ok: boolean): void => {
    counters.proxy_auth_cmds++
    if (!ok) counters.proxy_auth_errors++
  }
  const text = file !== null
    ? (conn: ConnControl) => new AsciiAuthSession(conn, new ProxyTextSession(conn, core), file, counted)
    : auth.sasl !== null ? binary : (conn: ConnControl) => new ProxyTextSession(conn, core)
  const binaryFactory = file !== null ? null : binary

  const onConnection = (socket: net.Socket): void => {
    stats.total_connections++
    if (conns.size >= (opts.maxConns ?? 4096)) {
      socket.on('error', () => socket.destroy())
      socket.end('ERROR Too many open connections\r\n')
      return
    }
    conns.add(new Connection(socket, ctx, binaryFactory, text))
  }

  const proxy: MemringProxy = {
    router,
    core,
    get watcher () { return watcher },
    reloadAuth () { auth.authFile?.reload() },
    get port () {
      const a = listener?.address()
      return a !== null && typeof a === 'object' ? a.port : 0
    },
    async start () {
      const src = opts.topology
      if (src.kind === 'static') {
        router.update(Topology.fromServers(src.servers))
      } else if (src.kind === 'given') {
        router.update(src.topology)
      } else {
        watcher = new TopologyWatcher({
          zk: src.zk, cluster: src.cluster, sessionTimeoutMs: src.sessionTimeoutMs, connectTimeoutMs: src.connectTimeoutMs, log: opts.log,
        })
        watcher.on('update', (next: Topology) => router.update(next))
        watcher.on('change', () => { counters.proxy_topology_changes++ })
        router.update(await watcher.start())
      }
      // After the router's update, which keeps exactly the topology's hosts in the pool.
      if (opts.routeTree !== undefined) core.tree = buildRouteTree(opts.routeTree, pool, counters)
      // allowHalfOpen: a client that half-closes still gets the replies in progress
      // (Connection ends the socket itself, see ProtocolSession.endInput).
      const l = terminator !== null && (opts.unixSocket ?? '') === ''
        ? terminator.listener({ noDelay: true, allowHalfOpen: true }, opts.maxConns ?? 4096, onConnection)
        : net.createServer({ noDelay: true, allowHalfOpen: true }, onConnection)
      if (opts.unixSocket !== undefined && opts.unixSocket !== '') {
        await listenUnix(l, opts.unixSocket, opts.unixMask ?? 0o700) // -s: the socket only
      } else {
        await new Promise<void>((resolve, reject) => {
          l.once('error', reject)
          l.listen({ port: opts.port, host: opts.listen ?? '127.0.0.1', backlog: opts.backlog }, () => { l.off('error', reject); resolve() })
        })
      }
      listener = l
      if (src.kind === 'zk' && watcher !== null) {
        // memringctl status lists the proxies of a cluster and their backends' health
        const host = opts.listen === undefined || opts.listen === '0.0.0.0' || opts.listen === '::' ? hostname() : opts.listen
        const id = opts.unixSocket !== undefined && opts.unixSocket !== '' ? `${hostname()}:unix-${process.pid}` : `${host}:${proxy.port}`
        const startedAt = Date.now()
        presence = new Presence(watcher.session, proxiesPath(src.cluster), id, () => encodeRecord({
          address: id,
          dc: src.dc ?? '',
          pid: process.pid,
          startedAt,
          updatedAt: Date.now(),
          backends: [...pool.hosts.values()].map((h) => ({ address: h.address, down: h.down, pending: h.pending })),
        }))
        presence.start()
      }
      hot?.start()
      log.info({ port: proxy.port, shards: router.shardCount }, 'memring-proxy listening')
    },
    async close () {
      hot?.stop()
      if (listener !== null) await new Promise<void>((resolve) => listener!.close(() => resolve()))
      for (const c of conns) c.kill()
      warmUp.end('closed')
      await presence?.close()
      await watcher?.close()
      pool.close()
    },
  }
  return proxy
}
