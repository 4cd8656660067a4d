/**
 * Consistent hashing with bounded loads: Vahab Mirrokni, Mikkel Thorup, Morteza
 * Zadimoghaddam, "Consistent Hashing with Bounded Loads" (SODA 2018, arXiv:1608.01350).
 *
 * For placing LOAD (connections, hot keys, sessions), not for finding where data
 * lives: the answer depends on what is already placed. Each server i has capacity
 * ceil(c * (m + 1) * w_i / W) where m is the load placed so far; a new unit goes to
 * the first server clockwise from its hash on the ketama continuum that is under
 * capacity. So no server ever carries more than c times its fair share (rounded up),
 * and with c close to 1 + 1/k each change moves O(k^2) expected units (the paper).
 */
import type { KetamaContinuum } from './ketama.js'

export const DEFAULT_BALANCE_FACTOR = 1.25

export class BoundedLoads {
  readonly c: number
  private readonly ring: KetamaContinuum
  /** Load units placed on each server. */
  readonly loads: Float64Array
  private readonly weights: Float64Array
  private readonly totalWeight: number
  private total = 0

  /**
   * `weights[i]` is server i's weight (default all 1); c > 1 is the balance factor.
   */
  constructor (ring: KetamaContinuum, c: number = DEFAULT_BALANCE_FACTOR, weights?: ArrayLike<number>) {
    if (!(c > 1) || !Number.isFinite(c)) throw new RangeError(`balance factor c must be > 1, got ${c}`)
    this.c = c
    this.ring = ring
    const n = ring.serverCount
    this.loads = new Float64Array(n)
    this.weights = new Float64Array(n)
    let w = 0
    for (let i = 0; i < n; i++) {
      const wi = weights === undefined ? 1 : weights[i]
      // A server without points can never be chosen; it must not hold capacity either.
      this.weights[i] = ring.pointCounts[i] === 0 ? 0 : wi
      w += this.weights[i]
    }
    this.totalWeight = w
  }

  /** Units placed in total. */
  get placed (): number {
    return this.total
  }

  /** Capacity of server i if one more unit were placed now. */
  capacity (i: number): number {
    return Math.ceil(this.c * (this.total + 1) * this.weights[i] / this.totalWeight)
  }

  /** Places one unit with this 32-bit hash; returns the server that takes it. */
  place (hash: number): number {
    const { points, owners } = this.ring
    const start = this.ring.pointIndex(hash)
    const npoints = points.length
    for (let k = 0; k < npoints; k++) {
      let i = start + k
      if (i >= npoints) i -= npoints
      const s = owners[i]
      if (this.loads[s] < this.capacity(s)) {
        this.loads[s]++
        this.total++
        return s
      }
    }
    // Unreachable while the capacities sum to more than the load (c > 1).
    throw new Error('bounded loads: no server under capacity')
  }

  /** Takes back one unit from server i (a connection closed, a hot key cooled). */
  release (i: number): void {
    if (!(this.loads[i] > 0)) throw new RangeError(`server ${i} has no load to release`)
    this.loads[i]--
    this.total--
  }
}

/**
 * Bounded loads over loads measured elsewhere (memring-proxy: the requests it has in
 * flight to each shard): the owner of `hash` is the first server clockwise from it whose
 * load is under max(minLoad, ceil(c * (total + 1) * w_i / W)), counting the request being
 * placed. When every server is under its bound (an idle or evenly loaded system) the answer
 * is the plain ketama owner, so placement only moves while a server is over c times its
 * share. `minLoad`: with few requests in flight the paper's bound is 1 or 2, and any server
 * holding one request would shed keys (for a cache, a miss each); below minLoad nothing
 * moves. Allocates nothing. `weights[i]` must be 0 for a server without points.
 */
export function boundedOwner (ring: KetamaContinuum, hash: number, c: number, loads: ArrayLike<number>,
  weights: ArrayLike<number>, totalLoad: number, totalWeight: number, minLoad = 0): number {
  const { points, owners } = ring
  const start = ring.pointIndex(hash)
  const npoints = points.length
  const scale = c * (totalLoad + 1) / totalWeight
  for (let k = 0; k < npoints; k++) {
    let i = start + k
    if (i >= npoints) i -= npoints
    const s = owners[i]
    if (loads[s] < minLoad || loads[s] < Math.ceil(scale * weights[s])) return s
  }
  return owners[start]
}
