/**
 * One entry point from a hashing method name to a Router, shared by the client, the
 * proxy and `memringctl route --hash ketama|ketama-twemproxy|jump`, so they agree.
 */
import { KetamaRing, libmemcachedKetama, libmemcachedKetamaUnweighted, twemproxyKetama, type Router, type TwemproxyServer } from './ketama-ring.js'
import { ketamaLabel, MEMCACHED_DEFAULT_PORT, PointRounding } from './ketama.js'
import { JumpRouter } from './jump.js'
import { Ch3Router } from './furc.js'
import { KeyHash } from './key-hash.js'

export const HashMethod = {
  /** libmemcached's libketama-compatible ketama (MD5 keys). */
  Ketama: 'ketama',
  /** twemproxy's ketama (server names, key hash, hash tags). */
  KetamaTwemproxy: 'ketama-twemproxy',
  /** libmemcached's unweighted ketama (pylibmc {"ketama": True}); keyHash default one_at_a_time. */
  KetamaUnweighted: 'ketama-unweighted',
  /** jump hash over the list order (index = shard). */
  Jump: 'jump',
  /** mcrouter's Ch3 (furc hash) over the list order; weights must be 1. */
  Ch3: 'ch3',
} as const
export type HashMethod = (typeof HashMethod)[keyof typeof HashMethod]

export interface RouterOptions {
  readonly method?: HashMethod
  /** ketama-twemproxy (default fnv1a_64) and ketama-unweighted (default one_at_a_time). */
  readonly keyHash?: KeyHash
  /** ketama variants: e.g. "{}". */
  readonly hashTag?: string
  /** ketama variants: c-float (compatible, default) or exact. */
  readonly pointRounding?: PointRounding
}

/** A router over `servers` (server i of the answer is servers[i]). Throws on a bad method or list. */
export function createRouter (servers: readonly TwemproxyServer[], opts: RouterOptions = {}): Router {
  const method = opts.method ?? HashMethod.Ketama
  switch (method) {
    case HashMethod.Ketama:
      if (opts.hashTag === undefined && opts.pointRounding === undefined) return libmemcachedKetama(servers)
      return new KetamaRing(servers.map((s) => ({ label: ketamaLabel(s.host, s.port), weight: s.weight ?? 1 })),
        { hash: 'md5', hashTag: opts.hashTag, pointRounding: opts.pointRounding })
    case HashMethod.KetamaTwemproxy:
      if (opts.pointRounding === PointRounding.Exact) throw new RangeError('ketama-twemproxy is c-float by definition')
      return twemproxyKetama(servers, { hash: opts.keyHash, hashTag: opts.hashTag })
    case HashMethod.KetamaUnweighted:
      if (opts.hashTag !== undefined || opts.pointRounding !== undefined) throw new RangeError('ketama-unweighted takes no hash tag or point rounding')
      return libmemcachedKetamaUnweighted(servers, opts.keyHash)
    case HashMethod.Jump:
      return new JumpRouter(servers.length)
    case HashMethod.Ch3:
      if (servers.some((x) => (x.weight ?? 1) !== 1)) throw new RangeError('ch3 takes no weights (mcrouter\'s WeightedCh3 is not implemented)')
      return new Ch3Router(servers.length)
    default:
      throw new RangeError(`unknown hash method ${String(method)}; one of ${Object.values(HashMethod).join(', ')}`)
  }
}

/** Method names, for help texts and error messages. */
export const HASH_METHODS: readonly HashMethod[] = Object.values(HashMethod)
/** Key hashes the ketama-twemproxy and ketama-unweighted methods accept. */
export const KEY_HASHES: readonly KeyHash[] = Object.values(KeyHash)

/** One placement choice, checked: throws RangeError naming the bad part. */
export function checkRouterOptions (opts: RouterOptions): RouterOptions {
  const method = opts.method ?? HashMethod.Ketama
  if (!HASH_METHODS.includes(method)) throw new RangeError(`unknown hash method '${String(method)}'; one of ${HASH_METHODS.join(', ')}`)
  if (opts.keyHash !== undefined) {
    if (!KEY_HASHES.includes(opts.keyHash)) throw new RangeError(`unknown key hash '${String(opts.keyHash)}'; one of ${KEY_HASHES.join(', ')}`)
    if (method !== HashMethod.KetamaTwemproxy && method !== HashMethod.KetamaUnweighted) {
      throw new RangeError(`a key hash applies to ketama-twemproxy and ketama-unweighted; ${method} hashes keys with ${method === HashMethod.Ch3 ? 'MurmurHash64A' : 'MD5'}`)
    }
  }
  if (opts.hashTag !== undefined && opts.hashTag !== '') {
    if ([...opts.hashTag].length !== 2) throw new RangeError(`hash tag '${opts.hashTag}' must be two characters, e.g. "{}"`)
    if (method === HashMethod.Jump || method === HashMethod.KetamaUnweighted || method === HashMethod.Ch3) throw new RangeError(`${method} takes no hash tag`)
  }
  return opts
}

/** A shard of a cluster, as placement sees it: an id and a weight. */
export interface ShardPlace {
  readonly id: string
  readonly weight: number
}

/**
 * A router over the shards of a cluster (server i of the answer is shards[i]), the ONE
 * function memring-proxy and the Node client both build their cluster ring with, so they
 * agree. Every method hashes the shard id where a server list would hash its host:port
 * (ketama points from "<id>-<g>"; ketama-twemproxy uses the id as the server name; jump
 * takes the list order). Weights are rounded to integers >= 1.
 */
export function createShardRouter (shards: readonly ShardPlace[], opts: RouterOptions = {}): Router {
  return createRouter(shards.map((s) => ({ host: s.id, port: MEMCACHED_DEFAULT_PORT, name: s.id, weight: Math.max(1, Math.round(s.weight)) })), opts)
}

/** What a ring was built from, to reuse it while nothing that places keys changed. */
export function placementKey (shards: readonly ShardPlace[], opts: RouterOptions): string {
  return `${opts.method ?? HashMethod.Ketama}/${opts.keyHash ?? ''}/${opts.hashTag ?? ''}/${opts.pointRounding ?? ''}|` +
    shards.map((s) => `${s.id}*${Math.max(1, Math.round(s.weight))}`).join(',')
}

/** Where a placement came from: the process's own options, or the cluster's setting. */
export type PlacementSource = 'options' | 'cluster' | 'cluster-invalid'

/**
 * The placement a cluster setting (`hash`, `keyHash`, `hashTag` as strings, e.g. from
 * ZooKeeper's /config) asks for, or `fallback` (the process's own options) when the
 * setting names no method or an invalid one ('cluster-invalid': the caller reports it).
 * The proxy and the client both call this, so they follow the same setting alike.
 */
export function placementFromSetting (setting: { readonly hash?: string, readonly keyHash?: string, readonly hashTag?: string },
  fallback: RouterOptions): { placement: RouterOptions, source: PlacementSource } {
  if (setting.hash === undefined) return { placement: fallback, source: 'options' }
  try {
    const p = checkRouterOptions({ method: setting.hash as HashMethod, keyHash: setting.keyHash as KeyHash | undefined, hashTag: setting.hashTag === '' ? undefined : setting.hashTag })
    return { placement: p, source: 'cluster' }
  } catch {
    return { placement: fallback, source: 'cluster-invalid' }
  }
}
