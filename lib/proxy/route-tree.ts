// lib/proxy/route-tree.ts
/**
 * A route tree over several pools, for configs that name more than one (mcrouter's
 * AllSyncRoute and FailoverRoute over PoolRoutes; lib/app/mcrouter-config.ts reads them).
 * Protocol-neutral: a node routes a Leg (one client request, text or binary: route-legs.ts)
 * by its key and reports one LegResult.
 *
 *   pool      a placement (ch3, or WeightedCh3) over the pool's servers: the key's server
 *             gets the request. Every write and read of the key goes to that one server.
 *   all-sync  every child gets the request at once; the reply is the WORST of the
 *             children's (highest severity, route-legs.ts), as mcrouter's AllSyncRoute
 *             (lib/routes/AllSyncRoute.h: forEach over the children, keep the reply that
 *             is worseThan() the one kept). For every operation, gets included: a get
 *             hits only if every child hits (a miss, 4, is worse than a hit, 1). Equal
 *             severities: mcrouter keeps the first to ARRIVE; we keep the first child in
 *             config order (deterministic; the two differ only in which of two equally
 *             good replies, e.g. two hits with different values, the client sees).
 *   failover  the first child gets the request; if its reply is a failover error (a
 *             connect error, timeout, TKO, or SERVER_ERROR from the server: mcrouter's
 *             isFailoverErrorResult), the next child gets it, and so on; the last child's
 *             reply is returned whatever it is. A miss, NOT_STORED, CLIENT_ERROR or ERROR
 *             is returned as it is (no failover on a miss: that is MissFailoverRoute, which
 *             we refuse). Writes fail over too, exactly as reads (mcrouter's FailoverRoute
 *             does not tell operations apart).
 *
 * Nothing is retried within a pool: a pool is a placement over independent servers, so the
 * key has one home there (mcrouter's PoolRoute behaves the same).
 */
import { Ch3Router, type Router as Ring } from '../ring/index.js'
import type { BackendHost, BackendPool } from './backend.js'
import type { StaticServer } from './router.js'
import type { ProxyCounters } from './core.js'
import { NO_HOST, type Leg, type LegDone, type LegResult } from './route-legs.js'

/** A route tree as configured: plain data (lib/app builds it from a config file). */
export type RouteSpec =
  | { readonly type: 'pool', readonly name: string, readonly servers: readonly StaticServer[] }
  | { readonly type: 'all-sync', readonly children: readonly RouteSpec[] }
  | { readonly type: 'failover', readonly children: readonly RouteSpec[] }

export interface RouteNode {
  /** Routes `leg` by the key buf[ks, ke); `done` hears exactly one result, with `tag`. */
  route (buf: Uint8Array, ks: number, ke: number, leg: Leg, done: LegDone, tag: number): void
}

class PoolNode implements RouteNode {
  constructor (readonly ring: Ring, readonly hosts: readonly BackendHost[]) {}
  route (buf: Uint8Array, ks: number, ke: number, leg: Leg, done: LegDone, tag: number): void {
    const host = this.hosts[this.ring.serverOfBytes(buf, ks, ke)]
    if (host === undefined) done.onResult(NO_HOST, tag)
    else leg.send(host, done, tag)
  }
}

class AllSyncNode implements RouteNode {
  constructor (readonly children: readonly RouteNode[]) {}
  route (buf: Uint8Array, ks: number, ke: number, leg: Leg, done: LegDone, tag: number): void {
    const worst = new Worst(this.children.length, done, tag)
    for (let i = 0; i < this.children.length; i++) this.children[i]!.route(buf, ks, ke, leg, worst, i)
  }
}

/** Collects one result per child; passes on the worst (ties: the lowest child index). */
class Worst implements LegDone {
  #best: LegResult | null = null
  #bestAt = 0
  #left: number
  constructor (n: number, readonly done: LegDone, readonly tag: number) { this.#left = n }
  onResult (r: LegResult, child: number): void {
    const b = this.#best
    if (b === null || r.severity > b.severity || (r.severity === b.severity && child < this.#bestAt)) {
      this.#best = r
      this.#bestAt = child
    }
    if (--this.#left === 0) this.done.onResult(this.#best!, this.tag)
  }
}

class FailoverNode implements RouteNode {
  constructor (readonly children: readonly RouteNode[], readonly counters: ProxyCounters) {}
  route (buf: Uint8Array, ks: number, ke: number, leg: Leg, done: LegDone, tag: number): void {
    // The key is copied: the next child is asked after this call has returned.
    new FailoverWalk(this, Buffer.from(buf.subarray(ks, ke)), leg, done, tag).next(0)
  }
}

class FailoverWalk implements LegDone {
  constructor (readonly node: FailoverNode, readonly key: Buffer, readonly leg: Leg, readonly done: LegDone, readonly tag: number) {}
  next (i: number): void { this.node.children[i]!.route(this.key, 0, this.key.length, this.leg, this, i) }
  onResult (r: LegResult, child: number): void {
    if (!r.failover || child === this.node.children.length - 1) { this.done.onResult(r, this.tag); return }
    this.node.counters.proxy_route_failovers++
    this.next(child + 1)
  }
}

/** A RouteSpec -> nodes over `pool`'s hosts (the proxy's one BackendPool keeps them alive). */
export function buildRouteTree (spec: RouteSpec, pool: BackendPool, counters: ProxyCounters): RouteNode {
  switch (spec.type) {
    case 'pool': {
      const hosts = spec.servers.map((s) => pool.get(s.host, s.port))
      return new PoolNode(new Ch3Router(hosts.length), hosts)
    }
    case 'all-sync': return new AllSyncNode(spec.children.map((c) => buildRouteTree(c, pool, counters)))
    case 'failover': return new FailoverNode(spec.children.map((c) => buildRouteTree(c, pool, counters)), counters)
  }
}

/** Every server of a tree, each once, in first-seen order (the proxy's fan-out list). */
export function routeServers (spec: RouteSpec): StaticServer[] {
  const seen = new Map<string, StaticServer>()
  const walk = (s: RouteSpec): void => {
    if (s.type === 'pool') { for (const x of s.servers) if (!seen.has(`${x.host}:${x.port}`)) seen.set(`${x.host}:${x.port}`, x) } else s.children.forEach(walk)
  }
  walk(spec)
  return [...seen.values()]
}

/** The tree in mcrouter's words, for `stats proxy` (`route`). */
export function describeRoute (spec: RouteSpec): string {
  switch (spec.type) {
    case 'pool': return `PoolRoute|${spec.name}`
    case 'all-sync': return `AllSyncRoute(${spec.children.map(describeRoute).join(',')})`
    case 'failover': return `FailoverRoute(${spec.children.map(describeRoute).join(',')})`
  }
}
