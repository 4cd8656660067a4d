/**
 * Settings the server reads at run time (from memcached's command line; see
 * lib/app/config.ts for parsing and README for every flag). Mutable fields are changed by
 * commands (verbosity, cache_memlimit, slabs automove, lru_crawler).
 */
import { defaultTlsSettings, type TlsSettings } from './tls.js'

export interface ServerSettings {
  port: number // -p (0 = any free port)
  udpPort: number // -U (accepted; UDP is not served, see README)
  listen: string[] // -l
  memoryLimitMb: number // -m
  maxConns: number // -c
  threads: number // -t (accepted; Node serves from one thread)
  itemSizeMax: number // -I in bytes
  growthFactor: number // -f
  minChunkBytes: number // -n
  useCas: boolean // !-C
  evictions: boolean // !-M
  shutdownCommand: boolean // -A
  flushEnabled: boolean // !-F
  verbosity: number // -v count
  idleTimeoutSec: number // -o idle_timeout
  hashPowerInit: number // -o hashpower (0 = default 16)
  memoryFile: string // -e: restartable cache file ('' = off; lib/store/memory-file.ts)
  watchEnabled: boolean // !-W (--disable-watch)
  lruCrawler: boolean // -o lru_crawler / no_lru_crawler
  lruCrawlerSleepUs: number // -o lru_crawler_sleep
  slabReassign: boolean // -o slab_reassign
  slabAutomove: number // -o slab_automove (0, 1, 2)
  slabAutomoveRatio: number // -o slab_automove_ratio: automove 1's age ratio (lib/store/automove.ts)
  slabAutomoveRatioNegNan: boolean // "-nan" given (printed as memcached does)
  slabAutomoveWindow: number // -o slab_automove_window: automove 1's window, in one-second samples
  slabChunkMax: number // -o slab_chunk_max (bytes): larger items are chained
  lruCrawlerTocrawl: number // -o lru_crawler_tocrawl: shown only (the crawler has its own budget)
  tailRepairTime: number // -o tail_repair_time: shown only (memring has no item refcounts to repair)
  lruMaintainer: boolean // -o lru_maintainer / no_lru_maintainer (stats lru_maintainer_thread; lru mode|temp_ttl need it)
  watcherLogbufSize: number // -o watcher_logbuf_size (bytes): each watcher's buffer cap (watchers.ts)
  workerLogbufSize: number // -o worker_logbuf_size (bytes): shown only (memring has no per-thread log buffer)
  tcpBacklog: number // -b
  connOutputLimit: number // --conn-output-limit (bytes): unsent replies past which a connection stops parsing until drained
  maxReqsPerEvent: number // -R
  protocol: 'auto' | 'ascii' | 'binary' // -B
  sasl: boolean // -S (binary SASL PLAIN; see auth-setup.ts)
  saslPwdb: string // --sasl-pwdb ('' = $MEMCACHED_SASL_PWDB)
  authFile: string // -Y (ASCII auth; '' = off)
  unixSocket: string // -s: listen on this unix socket only ('' = TCP)
  unixMask: number // -a: the socket file's permission bits (memcached's default 0700)
  prefixDelimiter: string // -D: one character, the `stats detail` prefix delimiter
  detailEnabled: boolean // `stats detail on` at start (memcached -D turns it on)
  // `lru mode|tune|temp_ttl` (memcached settings of the same names; see text-lru.ts), also
  // set at start-up by -o lru_maintainer, no_lru_maintainer, hot_lru_pct, warm_lru_pct,
  // hot_max_factor, warm_max_factor and temporary_ttl (lib/app/config.ts)
  lruSegmented: boolean // lru mode segmented|flat (applied to the store's LRU)
  hotLruPct: number // lru tune: uint32, applied to the store's HOT share
  warmLruPct: number // lru tune: uint32, applied to the store's WARM share
  hotMaxFactor: number // lru tune: shown only (the store has no age-based HOT limit)
  warmMaxFactor: number // lru tune: shown only (the store has no age-based WARM limit)
  maxFactorNegNan: [boolean, boolean] // "-nan" given for hot/warm_max_factor (printed as memcached does)
  tempLru: boolean // -o temporary_ttl, lru temp_ttl >= 0: short-TTL items go to the TEMP LRU (store setTempLru)
  temporaryTtl: number // lru temp_ttl
  metaE: boolean // -o meta_e: meta E(token) and md x, as memcached 1.6.27 (off: 1.6.18's invalid flags)
  tls: TlsSettings // -Z and -o ssl_* (tls.ts)
  version: string
}

/** --conn-output-limit's default: unsent reply bytes per connection before it is not read. */
export const CONN_OUTPUT_LIMIT = 64 * 1024

/** The store's TEMP LRU setting (SlabStore.setTempLru): temporary_ttl while it is on, else -1. */
export function tempLruTtl (s: ServerSettings): number { return s.tempLru ? s.temporaryTtl : -1 }

export function defaultSettings (): ServerSettings {
  return {
    port: 11211,
    udpPort: 0,
    listen: [],
    memoryLimitMb: 64,
    maxConns: 1024,
    threads: 4,
    itemSizeMax: 1024 * 1024,
    growthFactor: 1.25,
    minChunkBytes: 48,
    useCas: true,
    evictions: true,
    shutdownCommand: false,
    flushEnabled: true,
    verbosity: 0,
    idleTimeoutSec: 0,
    hashPowerInit: 0,
    memoryFile: '',
    watchEnabled: true,
    lruCrawler: true,
    lruCrawlerSleepUs: 100,
    slabReassign: true,
    slabAutomove: 1,
    slabAutomoveRatio: 0.8,
    slabAutomoveRatioNegNan: false,
    slabAutomoveWindow: 30,
    slabChunkMax: 512 * 1024,
    lruCrawlerTocrawl: 0,
    tailRepairTime: 0,
    lruMaintainer: true,
    watcherLogbufSize: 256 * 1024,
    workerLogbufSize: 64 * 1024,
    tcpBacklog: 1024,
    maxReqsPerEvent: 20,
    connOutputLimit: CONN_OUTPUT_LIMIT,
    protocol: 'auto',
    sasl: false,
    saslPwdb: '',
    authFile: '',
    unixSocket: '',
    unixMask: 0o700,
    prefixDelimiter: ':',
    detailEnabled: false,
    lruSegmented: true,
    hotLruPct: 20,
    warmLruPct: 40,
    hotMaxFactor: 0.2,
    warmMaxFactor: 2.0,
    maxFactorNegNan: [false, false],
    tempLru: false,
    temporaryTtl: 61,
    metaE: false,
    tls: defaultTlsSettings(),
    version: '1.6.18',
  }
}
