/**
 * Key -> server over a ketama continuum: a key hash (optionally over a hash tag) and
 * a binary search. Two presets name the two deployments we are placement-identical to:
 *
 *   libmemcachedKetama  libmemcached MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED (php-memcached
 *                       OPT_LIBKETAMA_COMPATIBLE, pylibmc "ketama_weighted"): MD5 key hash,
 *                       labels host / host:port, no hash tags.
 *   twemproxyKetama     twemproxy `distribution: ketama`: key hash as its `hash:` setting
 *                       (default fnv1a_64), labels are server names when given, optional
 *                       `hash_tag:`.
 */
import { KetamaContinuum, ketamaLabel, TWEMPROXY_MAX_LABEL, PointRounding, type KetamaServer } from './ketama.js'
import { keyHashFn, KeyHash, type HashFn } from './key-hash.js'
import { encodeKey, scratchBytes, hashTagRange, parseHashTag, type HashTag } from './key-bytes.js'

/** What every router offers: key -> index of a server in the list it was built from. */
export interface Router {
  readonly size: number
  /** Server index for key bytes buf[s, e). */
  serverOfBytes (buf: Uint8Array, s: number, e: number): number
  /** Server index for a key (strings are hashed as UTF-8). */
  serverOf (key: string | Uint8Array): number
}

export interface KetamaRingOptions {
  /** Key hash (default md5). */
  readonly hash?: KeyHash
  /** Two delimiter characters, e.g. "{}": only the tagged part of a key is hashed. */
  readonly hashTag?: string
  /** Default c-float (placement-compatible with libmemcached and twemproxy). */
  readonly pointRounding?: PointRounding
}

const range = new Int32Array(2)
const utf8 = new TextEncoder()

export class KetamaRing implements Router {
  readonly continuum: KetamaContinuum
  readonly size: number
  private readonly hashFn: HashFn
  private readonly tag: HashTag | null

  /** Over `servers`, or over a continuum built elsewhere (e.g. buildUnweighted). */
  constructor (servers: readonly KetamaServer[] | KetamaContinuum, opts: KetamaRingOptions = {}) {
    this.continuum = servers instanceof KetamaContinuum ? servers : KetamaContinuum.build(servers, opts.pointRounding ?? PointRounding.CFloat)
    this.size = this.continuum.serverCount
    this.hashFn = keyHashFn(opts.hash ?? KeyHash.md5)
    this.tag = opts.hashTag === undefined || opts.hashTag === '' ? null : parseHashTag(opts.hashTag)
  }

  /** The 32-bit hash a key is placed by (after hash-tag extraction). */
  hashOfBytes (buf: Uint8Array, s: number, e: number): number {
    if (this.tag !== null) {
      hashTagRange(this.tag, buf, s, e, range)
      s = range[0]
      e = range[1]
    }
    return this.hashFn(buf, s, e)
  }

  serverOfBytes (buf: Uint8Array, s: number, e: number): number {
    // Both libraries skip hashing when there is one server (hash 0): same answer.
    if (this.size === 1) return 0
    return this.continuum.serverFor(this.hashOfBytes(buf, s, e))
  }

  serverOf (key: string | Uint8Array): number {
    if (typeof key !== 'string') return this.serverOfBytes(key, 0, key.length)
    const n = encodeKey(key)
    return this.serverOfBytes(scratchBytes(), 0, n)
  }
}

export interface HostPort {
  readonly host: string
  readonly port: number
  /** Default 1. */
  readonly weight?: number
}

/** libmemcached's libketama-compatible placement over host:port[:weight] servers. */
export function libmemcachedKetama (servers: readonly HostPort[]): KetamaRing {
  return new KetamaRing(servers.map((s) => ({ label: ketamaLabel(s.host, s.port), weight: s.weight ?? 1 })))
}

/**
 * libmemcached's unweighted ketama (MEMCACHED_BEHAVIOR_KETAMA alone, as pylibmc's
 * {"ketama": True}): 100 points per server from `hash` (MEMCACHED_BEHAVIOR_HASH; the
 * library default is one_at_a_time), and the same hash for keys. All weights must be 1:
 * libmemcached switches to weighted points when a weight > 1 is added after the
 * distribution is set, and not when it is added before, so weights are ambiguous here.
 * `pointHash`: libmemcached hashes the points with the hash in force when the continuum
 * was last rebuilt (adding servers, setting the distribution), while keys always use the
 * current one; an application that sets the hash AFTER the servers and the ketama
 * behaviour gets points by one_at_a_time and keys by its hash.
 */
export function libmemcachedKetamaUnweighted (servers: readonly HostPort[], hash: KeyHash = KeyHash.one_at_a_time,
  pointHash: KeyHash = hash): KetamaRing {
  if (servers.some((s) => (s.weight ?? 1) !== 1)) throw new RangeError('unweighted libmemcached ketama ignores weights; use libmemcachedKetama for weights')
  const fn = keyHashFn(pointHash)
  return new KetamaRing(KetamaContinuum.buildUnweighted(servers.map((s) => ketamaLabel(s.host, s.port)), fn), { hash })
}

export interface TwemproxyServer extends HostPort {
  /** The optional name after the address in a twemproxy `servers:` line. */
  readonly name?: string
}

export interface TwemproxyOptions {
  /** twemproxy `hash:` (its default is fnv1a_64). */
  readonly hash?: KeyHash
  /** twemproxy `hash_tag:`. */
  readonly hashTag?: string
}

/** twemproxy's `distribution: ketama` placement. */
export function twemproxyKetama (servers: readonly TwemproxyServer[], opts: TwemproxyOptions = {}): KetamaRing {
  const list = servers.map((s) => {
    const label = s.name ?? ketamaLabel(s.host, s.port)
    if (utf8.encode(label).length > TWEMPROXY_MAX_LABEL) {
      throw new RangeError(`twemproxy hashes at most ${TWEMPROXY_MAX_LABEL} bytes of a server label: ${label}`)
    }
    return { label, weight: s.weight ?? 1 }
  })
  return new KetamaRing(list, { hash: opts.hash ?? KeyHash.fnv1a_64, hashTag: opts.hashTag })
}
