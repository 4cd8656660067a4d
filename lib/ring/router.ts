/**
 * One entry point from a hashing method name to a Router, shared by the client, the
 * proxy and `memringctl route --hash ketama|ketama-twemproxy|jump`, so they agree.
 */
import { KetamaRing, libmemcachedKetama, libmemcachedKetamaUnweighted, twemproxyKetama, type Router, type TwemproxyServer } from './ketama-ring.js'
import { ketamaLabel, PointRounding } from './ketama.js'
import { JumpRouter } from './jump.js'
import type { KeyHash } from './key-hash.js'

export const HashMethod = {
  /** libmemcached's libketama-compatible ketama (MD5 keys). */
  Ketama: 'ketama',
  /** twemproxy's ketama (server names, key hash, hash tags). */
  KetamaTwemproxy: 'ketama-twemproxy',
  /** libmemcached's unweighted ketama (pylibmc {"ketama": True}); keyHash default one_at_a_time. */
  KetamaUnweighted: 'ketama-unweighted',
  /** jump hash over the list order (index = shard). */
  Jump: 'jump',
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
    default:
      throw new RangeError(`unknown hash method ${String(method)}; one of ${Object.values(HashMethod).join(', ')}`)
  }
}
