/**
 * Protocol-neutral operation codes (as const object, not enum) shared by the text, meta and
 * binary codecs and the dispatchers.
 */
export const Op = {
  Unknown: 0,
  Get: 1, Gets: 2, Gat: 3, Gats: 4, Bget: 5,
  Set: 10, Add: 11, Replace: 12, Append: 13, Prepend: 14, Cas: 15,
  Delete: 20, Incr: 21, Decr: 22, Touch: 23,
  MetaGet: 30, MetaSet: 31, MetaDelete: 32, MetaArithmetic: 33, MetaNoop: 34, MetaDebug: 35, MetaUnknown: 36,
  FlushAll: 40, Stats: 41, Version: 42, Verbosity: 43, Quit: 44, Shutdown: 45,
  CacheMemlimit: 46, Slabs: 47, LruCrawler: 48, Lru: 49, Watch: 50, Misbehave: 51,
  /** ElastiCache's `config get cluster` (auto discovery); not a memcached command. */
  Config: 52,
  /** memcached 1.6 with TLS: reload the -Z certificates. */
  RefreshCerts: 53,
} as const
export type Op = (typeof Op)[keyof typeof Op]
