/**
 * createServer(): listeners -> Connections, the shared ServerContext, and the background
 * work (crawler steps, slab automove, idle sweep), all on timers that never block the loop
 * for long. start() resolves once every listener is bound; close() stops accepting,
 * finishes queued replies and closes connections within a deadline.
 */
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { SlabStore } from '../store/slab-store.js'
import type { Clock } from '../store/clock.js'
import { protocolPlugins } from './auth-setup.js'
import { Connection, takeConnectionId } from './connection.js'
import type { SessionFactory } from './connection.js'
import type { MetaHandler, ServerContext } from './context.js'
import { MetaDispatcher } from './meta-dispatcher.js'
import { Watchers } from './watchers.js'
import { defaultSettings, tempLruTtl } from './settings.js'
import type { ServerSettings } from './settings.js'
import { ServerStats } from './stats.js'
import { PrefixStats } from './prefix-stats.js'
import { listenUnix } from './unix-listen.js'
import { listenSpec, TlsTerminator } from './tls.js'
import { adoptWithOnread } from './onread-socket.js'
import { loadMemoryFile, readMemoryMeta, saveMemoryFile, type MemoryFileSettings } from '../store/memory-file.js'
import { listenerKind, verboseLine } from './verbose.js'

export interface ServerOptions {
  settings?: Partial<ServerSettings>
  clock?: Clock
  /** Plug-ins for other protocols. meta defaults to the MetaDispatcher; null turns meta off. */
  meta?: MetaHandler | null
  binary?: SessionFactory | null
  /** Replaces the text session (ASCII auth wraps it). */
  text?: SessionFactory | null
  onInternalError?: (err: unknown, connId: number) => void
  /** Called when a client sends `shutdown` (with -A). Defaults to closing this server. */
  onShutdownRequest?: (graceful: boolean) => void
  /** memcached's plain stderr lines (the -e restart messages). Default: process.stderr. */
  warn?: (line: string) => void
}

export interface MemringServer {
  readonly ctx: ServerContext
  readonly store: SlabStore
  /** Bound addresses (after start()). */
  addresses (): AddressInfo[]
  /** First bound port. */
  readonly port: number
  start (): Promise<void>
  /** graceful (SIGUSR1, `shutdown graceful`): with -e, the items are saved first. */
  close (deadlineMs?: number, graceful?: boolean): Promise<void>
  /** Re-reads the -Y authfile (memcached does on SIGHUP); on error the old users stay. */
  reloadAuth (): void
}

/** Buckets plus items the crawler looks at per 100 ms tick (a 2^20 table: a pass every ~10 s). */
const CRAWL_BUDGET = 10000
/** Pause after a crawler pass that found nothing to reclaim. */
const CRAWL_REST_MS = 5000

export function createServer (opts: ServerOptions = {}): MemringServer {
  const settings: ServerSettings = { ...defaultSettings(), ...opts.settings }
  const warn = opts.warn ?? ((line: string) => { process.stderr.write(`${line}\n`) })
  const imageSettings: MemoryFileSettings = {
    maxbytes: settings.memoryLimitMb * 1024 * 1024,
    itemSizeMax: settings.itemSizeMax,
    chunkSize: settings.minChunkBytes,
    growthFactor: settings.growthFactor,
    useCas: settings.useCas,
  }
  // -e: the saved image's hash table size is restored with it (memcached: assoc_init after the metadata).
  const image = settings.memoryFile !== '' ? readMemoryMeta(settings.memoryFile, imageSettings, warn) : null
  const hashPower = Math.max(settings.hashPowerInit > 0 ? settings.hashPowerInit : 16, image?.hashPower ?? 0)
  const store = new SlabStore({
    memoryLimitBytes: settings.memoryLimitMb * 1024 * 1024,
    growthFactor: settings.growthFactor,
    minChunkBytes: settings.minChunkBytes,
    itemSizeMax: settings.itemSizeMax,
    evictions: settings.evictions,
    useCas: settings.useCas,
    hashPower,
    slabReassign: settings.slabReassign,
    slabChunkMax: settings.slabChunkMax,
    slabAutomoveWindow: settings.slabAutomoveWindow,
    slabAutomoveRatio: settings.slabAutomoveRatio,
    clock: opts.clock,
  })
  // -o lru_maintainer/no_lru_maintainer, hot_lru_pct, warm_lru_pct (later: `lru mode|tune`).
  store.setLruPolicy(settings.lruSegmented, settings.hotLruPct, settings.warmLruPct)
  store.setTempLru(tempLruTtl(settings))
  if (image !== null) loadMemoryFile(store, settings.memoryFile, image)
  // Protocol sessions: a caller may plug its own; otherwise -B, -S and -Y decide (auth-setup.ts).
  const plugins = protocolPlugins(settings)
  const binarySessions = opts.binary !== undefined ? opts.binary : plugins.binary
  const textSessions = opts.text !== undefined ? opts.text : plugins.text
  const stats = new ServerStats()
  // -Z: the certificates are read now, so a bad file fails before anything listens.
  const terminator = settings.tls.enabled ? new TlsTerminator(settings.tls) : null
  const conns = new Set<Connection>()
  /** Sockets handed to an Upgrade: they keep the listener open, so close() ends them too. */
  const detached = new Set<net.Socket>()
  const listeners: net.Server[] = []
  const timers: NodeJS.Timeout[] = []
  let closing: Promise<void> | null = null

  const ctx: ServerContext = {
    store,
    stats,
    settings,
    startedAtSec: Math.floor(Date.now() / 1000),
    // Meta commands are part of the text protocol: on unless a caller plugs in its own.
    meta: opts.meta === undefined ? new MetaDispatcher() : opts.meta,
    watchers: new Watchers(store, settings.watcherLogbufSize),
    prefixStats: new PrefixStats(settings.prefixDelimiter.charCodeAt(0), settings.detailEnabled),
    requestShutdown: (graceful) => {
      if (opts.onShutdownRequest !== undefined) opts.onShutdownRequest(graceful)
      else void server.close(graceful ? 5000 : 0, graceful)
    },
    connections: conns,
    upgrades: [],
    localCommands: [],
    readOnly: null,
    writeGate: null,
    statsGroups: new Map(),
    socketDetached: (s) => {
      detached.add(s)
      s.once('close', () => detached.delete(s))
    },
    connectionClosed: (c) => {
      if (conns.delete(c as Connection)) stats.curr_connections--
    },
    onInternalError: opts.onInternalError,
    tls: terminator,
  }

  /** Past -c (or closing): memcached (maxconns_fast) tells the client and hangs up. */
  const refused = (socket: net.Socket): boolean => {
    stats.total_connections++
    if (conns.size < settings.maxConns && closing === null) return false
    stats.rejected_connections++
    socket.on('error', () => socket.destroy())
    socket.resume() // a plaintext one was accepted paused (pauseOnConnect): read on to see the client's FIN
    socket.end('ERROR Too many open connections\r\n')
    return true
  }

  const onConnection = (socket: net.Socket): void => {
    if (refused(socket)) return
    // Read below the stream layer (onread-socket.ts): the listener paused the socket.
    let c: Connection | null = null
    const s = adoptWithOnread(socket, (chunk) => (c as Connection).onInput(chunk))
    if (s === null) return
    c = new Connection(s, ctx, binarySessions, textSessions, true)
    admitted(c)
  }

  /** A TLS socket after its handshake: decrypted input comes as 'data' events (sharedInput off). */
  const onTlsConnection = (socket: net.Socket): void => {
    if (refused(socket)) return
    admitted(new Connection(socket, ctx, binarySessions, textSessions, false))
  }

  const admitted = (c: Connection): void => {
    conns.add(c)
    stats.curr_connections++
    if (stats.curr_connections > stats.connection_structures) stats.connection_structures = stats.curr_connections
  }

  /** A background tick that throws counts an internal error (as a connection's does) instead of ending the process. */
  const guarded = (fn: () => void) => () => {
    try { fn() } catch (err) {
      stats.internal_errors++
      if (opts.onInternalError !== undefined) opts.onInternalError(err, 0)
      else process.stderr.write(`memring: internal error in a background task: ${(err as Error).stack ?? String(err)}\n`)
    }
  }
  const background = (): void => {
    // Crawler: a bounded slice of the hash table per tick (memcached's LRU crawler).
    let cursor = 0
    // A pass that reclaimed nothing is followed by a pause (memcached schedules its crawler
    // by how much each pass found); lazy expiry still catches anything read meanwhile.
    let restUntil = 0
    let reclaimedAtStart = 0
    const crawl = setInterval(guarded(() => {
      // The LRU maintainer's tail pass (memcached: lru_maintainer_juggle): expired items at
      // the LRU tails are freed within ~100 ms, so their memory is reused first.
      if (settings.lruMaintainer) store.reclaimTails()
      // memcached's maintainer thread schedules the crawler: -o no_lru_maintainer stops both.
      if (!settings.lruCrawler || !settings.lruMaintainer) return
      if (cursor === 0) {
        const now = Date.now()
        if (now < restUntil) return
        store.counters.crawler_starts++
        reclaimedAtStart = store.counters.crawler_reclaimed
      }
      cursor = store.crawl(cursor, CRAWL_BUDGET)
      if (cursor === 0 && store.counters.crawler_reclaimed === reclaimedAtStart) restUntil = Date.now() + CRAWL_REST_MS
    }), 100)
    // Slab automove, once a second, from the LRU maintainer as memcached runs it: mode 1 is
    // memcached's windowed age-ratio decision (lib/store/automove.ts); mode 2 (aggressive)
    // gives the class that evicted most in the last second a page from the class whose
    // oldest item is oldest.
    const evictedBefore = new Float64Array(store.slabs.largest + 1)
    const automove = setInterval(guarded(() => {
      // memcached runs automove from its LRU maintainer thread (-o no_lru_maintainer stops it).
      if (settings.slabAutomove === 0 || !settings.slabReassign || !settings.lruMaintainer) return
      store.automover.ratio = settings.slabAutomoveRatio
      store.automover.setWindow(settings.slabAutomoveWindow)
      if (settings.slabAutomove === 1) { store.automoveTick(); return }
      let needy = 0
      let most = 0
      for (let c = 1; c <= store.slabs.largest; c++) {
        const d = store.cls.evicted[c] - evictedBefore[c]
        evictedBefore[c] = store.cls.evicted[c]
        if (d > most) { most = d; needy = c }
      }
      if (needy !== 0) store.movePageTo(needy, true)
    }), 1000)
    // Idle connections (-o idle_timeout).
    const idle = setInterval(guarded(() => {
      const t = settings.idleTimeoutSec
      if (t <= 0) return
      const now = Math.floor(Date.now() / 1000)
      for (const c of conns) {
        if (now - c.lastCmdSec > t) { stats.idle_kicks++; c.kill('idle_timeout') }
      }
    }), 1000)
    for (const t of [crawl, automove, idle]) { t.unref(); timers.push(t) }
  }

  const server: MemringServer = {
    ctx,
    store,
    get port () {
      const a = listeners[0]?.address()
      return a !== null && typeof a === 'object' ? a.port : 0
    },
    addresses () {
      const out: AddressInfo[] = []
      for (const l of listeners) { const a = l.address(); if (a !== null && typeof a === 'object') out.push(a) }
      return out
    },
    async start () {
      // memcached -vv: its slab classes, then a line per listener (verbose.ts).
      const verbose = settings.verbosity > 1
      if (verbose) {
        const sl = store.slabs
        for (let c = 1; c <= sl.largest; c++) {
          verboseLine(`slab class ${String(c).padStart(3)}: chunk size ${String(sl.chunkSize[c]).padStart(9)} perslab ${String(sl.perPage[c]).padStart(7)}`)
        }
      }
      const listened = ctx.listeners ?? (ctx.listeners = [])
      const listening = (l: net.Server): void => {
        const id = takeConnectionId()
        const a = l.address()
        const addr = typeof a === 'string' ? `unix:${a}` : a === null ? '?' : a.family === 'IPv6' ? `tcp6:[${a.address}]:${a.port}` : `tcp:${a.address}:${a.port}`
        listened.push({ id, addr, since: Math.floor(Date.now() / 1000) })
        if (verbose) verboseLine(`<${id} server listening (${listenerKind(settings.protocol)})`)
      }
      if (settings.unixSocket !== '') {
        // memcached -s: the unix socket only (no TCP); a stale socket file is replaced,
        // anything else at the path is an error; the file gets the -a permission bits.
        const l = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, onConnection)
        l.maxConnections = Infinity
        await listenUnix(l, settings.unixSocket, settings.unixMask, settings.tcpBacklog)
        listeners.push(l)
        listening(l)
        settings.port = 0
        background()
        return
      }
      const hosts = settings.listen.length > 0 ? settings.listen : [undefined]
      let port = settings.port
      for (const given of hosts) {
        // memcached -l notls:ADDR:PORT: a plaintext listener beside the TLS ones (with -Z).
        const { spec, tls } = given === undefined ? { spec: undefined, tls: true } : listenSpec(given)
        let host = spec
        let p = port
        if (spec !== undefined) {
          const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(spec)
          if (m !== null && spec.includes(':') && !spec.startsWith('[') && spec.split(':').length > 2) {
            host = spec // bare IPv6
          } else if (m !== null) {
            host = m[1]
            if (m[2] !== undefined) p = Number(m[2])
          }
        }
        // allowHalfOpen: a client's FIN must not end our side before the requests it sent
        // are answered; Connection decides when to end (see its 'end' handler).
        // A TLS socket reads through its own stream (no onread adoption): onTlsConnection.
        const l = terminator !== null && tls
          ? terminator.listener({ noDelay: true, allowHalfOpen: true }, settings.maxConns, onTlsConnection)
          : net.createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: true }, onConnection)
        if (!(terminator !== null && tls)) l.maxConnections = Infinity
        await new Promise<void>((resolve, reject) => {
          l.once('error', reject)
          l.listen({ port: p, host, backlog: settings.tcpBacklog }, () => { l.off('error', reject); resolve() })
        })
        listeners.push(l)
        listening(l)
        // With -p 0, later addresses reuse the port the first listener was given.
        if (port === 0) { const a = l.address() as AddressInfo; port = a.port }
      }
      settings.port = port
      background()
    },
    reloadAuth () { plugins.authFile?.reload() },
    async close (deadlineMs = 1000, graceful = false) {
      if (closing !== null) return await closing
      closing = (async () => {
        for (const t of timers) clearInterval(t)
        const stopped = Promise.all(listeners.map(async (l) => await new Promise<void>((resolve) => l.close(() => resolve()))))
        for (const c of conns) c.end()
        const deadline = Date.now() + deadlineMs
        while ((conns.size > 0 || detached.size > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
        for (const c of conns) c.kill()
        for (const s of detached) s.destroy()
        await stopped
        if (graceful && settings.memoryFile !== '') saveMemoryFile(store, settings.memoryFile, imageSettings)
        store.close()
      })()
      return await closing
    },
  }
  return server
}
