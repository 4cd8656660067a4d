/**
 * The ketama continuum: each server owns points on a 32-bit circle, a key belongs to
 * the server owning the first point at or after the key's hash (wrapping to the first
 * point). Points are computed exactly as libmemcached (distribution
 * MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED, i.e. MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED,
 * "libketama compatible") and twemproxy (distribution: ketama) compute them; the two
 * agree point for point. See README.md for the full recipe and what differs around it.
 *
 * Layout (built once, immutable): two parallel typed arrays sorted by point value.
 *
 *   points  [ p0 <= p1 <= p2 <= ... <= p(N-1) ]   Uint32Array, N = sum of points per server
 *   owners  [ s0    s1    s2    ...    s(N-1) ]   Uint32Array, server index of each point
 *
 *   prefix  [ first i with points[i] >>> 16 >= p, for p = 0 .. 65536 ]   Uint32Array
 *
 *   lookup(h): i = first index with points[i] >= h, i = 0 if none; owners[i].
 *   The binary search runs only inside prefix[h >>> 16] .. prefix[(h >>> 16) + 1],
 *   which holds well under one point on average: one table read instead of ~14 probes.
 */
import { md5, md5Word } from './md5.js'
import type { HashFn } from './key-hash.js'

/** libmemcached MEMCACHED_POINTS_PER_SERVER_KETAMA, twemproxy KETAMA_POINTS_PER_SERVER. */
export const KETAMA_POINTS_PER_SERVER = 160
/** libmemcached MEMCACHED_POINTS_PER_SERVER: points per server in unweighted ketama. */
export const LIBMEMCACHED_UNWEIGHTED_POINTS = 100
/** Points come in groups of four: the four 32-bit words of one MD5 digest. */
const POINTS_PER_HASH = 4
/** libmemcached MEMCACHED_DEFAULT_PORT: the port both omit from a server's label. */
export const MEMCACHED_DEFAULT_PORT = 11211
/**
 * twemproxy formats "label-i" into an 86-byte buffer (KETAMA_MAX_HOSTLEN) and hashes
 * the untruncated length, so longer labels are undefined behaviour there; we refuse them.
 */
export const TWEMPROXY_MAX_LABEL = 86 - 1 - '-159'.length

export interface KetamaServer {
  /** The string hashed for this server's points (see ketamaLabel). */
  readonly label: string
  /** Positive integer. Points are proportional to weight / total weight. */
  readonly weight: number
}

/**
 * The label libmemcached and twemproxy hash for a server given as host and port:
 * the host alone when the port is 11211, otherwise "host:port". twemproxy uses the
 * server's name instead when the config line has one ("host:port:weight name").
 */
export function ketamaLabel (host: string, port: number): string {
  return port === MEMCACHED_DEFAULT_PORT ? host : `${host}:${port}`
}

/**
 * Points for one server, as both libraries compute them in C `float` arithmetic:
 * floor(weight/total * 160/4 * nservers + 1e-10) * 4, every step rounded to float.
 * Equal weights give exactly 160; a server whose share rounds to zero gets none.
 */
export function ketamaPointCount (weight: number, totalWeight: number, nservers: number): number {
  const f = Math.fround
  const pct = f(f(weight) / f(totalWeight))
  const v = f(f(f(pct * KETAMA_POINTS_PER_SERVER) / POINTS_PER_HASH) * f(nservers))
  return Math.floor(f(v + 1e-10)) * POINTS_PER_HASH
}

/**
 * How a server's share of the 160 points is rounded.
 *  - c-float: as libmemcached and twemproxy (placement-compatible). Quirk: float
 *    rounding gives every server 156 points, not 160, at some server counts
 *    (25, 47, 50, 55, 61, 71, 94, 100, ...), so growing to or from such a count
 *    also moves keys between the old servers.
 *  - exact: the same formula in exact integer arithmetic; equal weights always give
 *    160. For memring-only clusters, where compatibility with the C clients is moot.
 */
export const PointRounding = { CFloat: 'c-float', Exact: 'exact' } as const
export type PointRounding = (typeof PointRounding)[keyof typeof PointRounding]

/** floor(weight/total * 160/4 * nservers) * 4 without rounding error. */
export function exactPointCount (weight: number, totalWeight: number, nservers: number): number {
  const groups = BigInt(weight) * BigInt(KETAMA_POINTS_PER_SERVER / POINTS_PER_HASH) * BigInt(nservers) / BigInt(totalWeight)
  return Number(groups) * POINTS_PER_HASH
}

const enc = new TextEncoder()

export class KetamaContinuum {
  /** Sorted point values. */
  readonly points: Uint32Array
  /** owners[i] is the server index owning points[i]. */
  readonly owners: Uint32Array
  readonly serverCount: number
  /** Points each server got. */
  readonly pointCounts: Uint32Array
  private readonly prefix: Uint32Array

  private constructor (points: Uint32Array, owners: Uint32Array, pointCounts: Uint32Array) {
    this.points = points
    this.owners = owners
    this.serverCount = pointCounts.length
    this.pointCounts = pointCounts
    const prefix = new Uint32Array(0x10001)
    let i = 0
    for (let p = 0; p <= 0x10000; p++) {
      while (i < points.length && points[i] >>> 16 < p) i++
      prefix[p] = i
    }
    this.prefix = prefix
  }

  /** Builds the continuum; server i of the result is servers[i]. Throws on bad input. */
  static build (servers: readonly KetamaServer[], rounding: PointRounding = PointRounding.CFloat): KetamaContinuum {
    const n = servers.length
    if (n === 0) throw new RangeError('ketama needs at least one server')
    if (n > 0xfffff) throw new RangeError('ketama supports at most 2^20 servers')
    let total = 0
    for (const s of servers) {
      if (!Number.isInteger(s.weight) || s.weight < 1 || s.weight > 0xffffffff) {
        throw new RangeError(`server ${s.label}: weight must be an integer >= 1, got ${s.weight}`)
      }
      total += s.weight
    }
    const counts = new Uint32Array(n)
    let npoints = 0
    for (let i = 0; i < n; i++) {
      counts[i] = rounding === PointRounding.Exact
        ? exactPointCount(servers[i].weight, total, n)
        : ketamaPointCount(servers[i].weight, total, n)
      npoints += counts[i]
    }
    // value * 2^20 + server index < 2^52: one numeric sort orders by value, then by
    // server index, which is libmemcached's tie rule (continuum_item_cmp) and what
    // twemproxy's stable glibc qsort yields from its server-ordered input.
    const packed = new Float64Array(npoints)
    let k = 0
    for (let i = 0; i < n; i++) {
      const groups = counts[i] / POINTS_PER_HASH
      for (let g = 0; g < groups; g++) {
        const label = enc.encode(`${servers[i].label}-${g}`)
        md5(label, 0, label.length)
        for (let w = 0; w < POINTS_PER_HASH; w++) packed[k++] = md5Word(w) * 0x100000 + i
      }
    }
    packed.sort()
    const points = new Uint32Array(npoints)
    const owners = new Uint32Array(npoints)
    for (let j = 0; j < npoints; j++) {
      const v = packed[j]
      const owner = v % 0x100000
      owners[j] = owner
      points[j] = (v - owner) / 0x100000
    }
    return new KetamaContinuum(points, owners, counts)
  }

  /**
   * libmemcached's UNWEIGHTED ketama (MEMCACHED_BEHAVIOR_KETAMA without _WEIGHTED, e.g.
   * pylibmc {"ketama": True}): 100 points per server, each point the configured hash of
   * "<label>-<i>" (not MD5 words), weights ignored. MEMCACHED_POINTS_PER_SERVER.
   */
  static buildUnweighted (labels: readonly string[], hash: HashFn): KetamaContinuum {
    const n = labels.length
    if (n === 0) throw new RangeError('ketama needs at least one server')
    if (n > 0xfffff) throw new RangeError('ketama supports at most 2^20 servers')
    const per = LIBMEMCACHED_UNWEIGHTED_POINTS
    const packed = new Float64Array(n * per)
    let k = 0
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < per; j++) {
        const b = enc.encode(`${labels[i]}-${j}`)
        packed[k++] = hash(b, 0, b.length) * 0x100000 + i
      }
    }
    packed.sort()
    const points = new Uint32Array(packed.length)
    const owners = new Uint32Array(packed.length)
    for (let j = 0; j < packed.length; j++) {
      const owner = packed[j] % 0x100000
      owners[j] = owner
      points[j] = (packed[j] - owner) / 0x100000
    }
    return new KetamaContinuum(points, owners, new Uint32Array(n).fill(per))
  }

  /** Index into points of the first point >= hash, wrapping to 0 past the last point. */
  pointIndex (hash: number): number {
    const p = this.points
    const top = hash >>> 16
    let lo = this.prefix[top]
    let hi = this.prefix[top + 1]
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (p[mid] < hash) lo = mid + 1
      else hi = mid
    }
    return lo === p.length ? 0 : lo
  }

  /** Server index owning the unsigned 32-bit hash. */
  serverFor (hash: number): number {
    return this.owners[this.pointIndex(hash)]
  }

  /** Fraction of the 2^32 hash space each server owns (what an even key spread gives it). */
  shares (): Float64Array {
    const out = new Float64Array(this.serverCount)
    const p = this.points
    const last = p.length - 1
    for (let i = 0; i <= last; i++) {
      const prev = i === 0 ? p[last] - 0x100000000 : p[i - 1]
      out[this.owners[i]] += (p[i] - prev) / 0x100000000
    }
    return out
  }
}
