// lib/app/mcrouter-config.ts
/**
 * An mcrouter JSON config -> what memring-proxy serves it with (`memring-proxy
 * --mcrouter-config FILE -p PORT`). Pure: text in, a plan or a ConfigError naming what
 * cannot be honoured out.
 *
 * Served:
 *   PoolRoute       "PoolRoute|NAME", or {"type": "PoolRoute", "pool": NAME or {"name",
 *                   "servers"}, "hash": "Ch3" or {"hash_func": "Ch3"}}: the pool's "host:port"
 *                   (or "host:port:ascii") servers placed by `ch3` (mcrouter's furc hash, its
 *                   default) in the pool's order. A config whose route is one PoolRoute is
 *                   served as a plain static list (plan.tree null).
 *   AllSyncRoute    {"type": "AllSyncRoute", "children": [...]}: every request to every child,
 *                   the worst reply back (lib/proxy/route-tree.ts).
 *   FailoverRoute   {"type": "FailoverRoute", "children": [...]}: the first child, the next one
 *                   after an error (not after a miss), for reads and writes alike.
 *   "routes"        with ONE entry ({"aliases": [...], "route": ...}): its route (every alias
 *                   names the same route, so whichever one mcrouter's -R picked, keys go there).
 * Refused, each by name: every other route type (a message per type says why), "Pool|NAME"
 * child lists, "routes" with several entries (the routing prefix picks one: not supported),
 * hash functions other than Ch3 (WeightedCh3, Crc32, ConstShard, Rendezvous...), hash and
 * PoolRoute options (salt, shadows, rates...), FailoverRoute options (failover_errors, ...),
 * non-ascii server protocols. Keys are hashed whole: mcrouter would hash a
 * "/region/cluster/key" without its routing prefix, so such keys place differently.
 */
import { ConfigError } from './config-error.js'
import type { RouteSpec, StaticServer } from '../proxy/index.js'
import { describeRoute, routeServers } from '../proxy/index.js'

export interface McrouterPlan {
  /** The pool (one PoolRoute), or the route in mcrouter's words (a tree). */
  readonly pool: string
  /** Every server, each once, in first-seen order. */
  readonly servers: readonly StaticServer[]
  /** Several pools: the route tree keyed requests follow; null for one PoolRoute. */
  readonly tree: RouteSpec | null
}

function fail (what: string, why: string): never {
  throw new ConfigError(`mcrouter config: ${what}: ${why}`)
}

/** mcrouter accepts // and /* *\/ comments in its JSON: drop them (outside strings). */
export function stripJsonComments (text: string): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const c = text[i]!
    if (c === '"') {
      let j = i + 1
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1
      out += text.slice(i, j + 1)
      i = j + 1
    } else if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      i = end === -1 ? text.length : end + 2
    } else {
      out += c
      i++
    }
  }
  return out
}

function serverOf (pool: string, v: unknown, i: number): StaticServer {
  if (typeof v !== 'string') fail(`pool '${pool}' servers[${i}]`, `'${String(v)}' is not "host:port"`)
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})(?::([a-z]+))?$/.exec(v.trim())
  if (m === null) fail(`pool '${pool}' servers[${i}]`, `'${v}' is not "host:port"`)
  if (m[3] !== undefined && m[3] !== 'ascii') fail(`pool '${pool}' servers[${i}]`, `'${v}': protocol '${m[3]}' is not supported (memring-proxy speaks ascii to servers)`)
  const port = Number(m[2])
  if (port < 1 || port > 65535) fail(`pool '${pool}' servers[${i}]`, `'${v}': port out of range`)
  return { host: m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!, port }
}

function poolServers (name: string, body: unknown): StaticServer[] {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) fail(`pool '${name}'`, 'is not an object')
  const o = body as Record<string, unknown>
  for (const k of Object.keys(o)) if (k !== 'servers' && k !== 'name') fail(`pool '${name}'`, `'${k}' is not supported (only "servers")`)
  if (!Array.isArray(o.servers) || o.servers.length === 0) fail(`pool '${name}'`, '"servers" is missing or empty')
  const list = o.servers.map((s, i) => serverOf(name, s, i))
  if (new Set(list.map((s) => `${s.host}:${s.port}`)).size !== list.length) fail(`pool '${name}'`, 'a server is listed twice')
  return list
}

const ROUTE_REFUSALS: Record<string, string> = {
  AllAsyncRoute: 'writes that do not wait for their replies are not supported (AllSyncRoute is)',
  AllInitialRoute: 'not supported (AllSyncRoute is)',
  AllMajorityRoute: 'majority replies are not supported (AllSyncRoute is)',
  AllFastestRoute: 'requests to several pools are not supported (AllSyncRoute and FailoverRoute are)',
  PrefixSelectorRoute: 'routing by key prefix is not supported',
  OperationSelectorRoute: 'routing by operation is not supported',
  WarmUpRoute: 'warm-up routing is not supported',
  MissFailoverRoute: 'failover on a miss is not supported (FailoverRoute, failover on errors, is)',
  FailoverWithExptimeRoute: 'not supported (FailoverRoute is)',
  HashRoute: 'use a PoolRoute',
  Pool: 'a child list of a pool\'s servers ("Pool|NAME") is not supported; use "PoolRoute|NAME"',
}

/** Route options we honour, per type (anything else is refused by name). */
const ROUTE_KEYS: Record<string, readonly string[]> = {
  PoolRoute: ['type', 'pool', 'hash'],
  AllSyncRoute: ['type', 'children'],
  FailoverRoute: ['type', 'children'],
}

/** One route of the config (a string "Type|arg" or an object) -> a RouteSpec. */
function parseRoute (route: unknown, pools: Record<string, unknown>, where: string): RouteSpec {
  if (typeof route === 'string') {
    const m = /^([A-Za-z]+)\|(.+)$/.exec(route)
    if (m === null) fail(where, `'${route}' is not "PoolRoute|NAME"`)
    if (m[1] !== 'PoolRoute') fail(`route type ${m[1]!}`, ROUTE_REFUSALS[m[1]!] ?? 'not supported')
    route = { type: 'PoolRoute', pool: m[2] }
  }
  if (route === null || typeof route !== 'object' || Array.isArray(route)) fail(where, 'is not a string or an object')
  const r = route as Record<string, unknown>
  const type = String(r.type)
  const keys = ROUTE_KEYS[type]
  if (keys === undefined) fail(`route type ${type}`, ROUTE_REFUSALS[type] ?? 'not supported (memring-proxy reads PoolRoute, AllSyncRoute and FailoverRoute)')
  for (const k of Object.keys(r)) if (!keys.includes(k)) fail(`${type} option '${k}'`, 'not supported')
  if (type === 'PoolRoute') return poolRoute(r, pools)
  if (!Array.isArray(r.children) || r.children.length === 0) fail(`${type} "children"`, 'must be a non-empty list of routes')
  const children = r.children.map((c, i) => parseRoute(c, pools, `${type} children[${i}]`))
  // mcrouter serves a one-child AllSync/Failover as that child.
  if (children.length === 1) return children[0]!
  return { type: type === 'AllSyncRoute' ? 'all-sync' : 'failover', children }
}

function poolRoute (r: Record<string, unknown>, pools: Record<string, unknown>): RouteSpec {
  const hash = r.hash
  const hashFunc = hash === undefined ? 'Ch3' : typeof hash === 'string' ? hash : (hash as Record<string, unknown> | null)?.hash_func
  if (hash !== undefined && typeof hash === 'object' && hash !== null) {
    for (const k of Object.keys(hash)) if (k !== 'hash_func') fail(`hash option '${k}'`, 'not supported (salt, weights... change placement)')
  }
  if (hashFunc !== 'Ch3') fail(`hash_func ${String(hashFunc)}`, 'not supported: memring-proxy reproduces Ch3 only')
  const poolRef = r.pool
  if (typeof poolRef === 'string') {
    if (!Object.prototype.hasOwnProperty.call(pools, poolRef)) fail(`PoolRoute|${poolRef}`, `no pool '${poolRef}' in "pools"`)
    return { type: 'pool', name: poolRef, servers: poolServers(poolRef, pools[poolRef]) }
  }
  if (poolRef !== null && typeof poolRef === 'object' && !Array.isArray(poolRef)) {
    const name = String((poolRef as Record<string, unknown>).name ?? 'inline')
    return { type: 'pool', name, servers: poolServers(name, poolRef) }
  }
  fail('PoolRoute', '"pool" must name a pool or be {"name", "servers"}')
}

/** The plan for an mcrouter config, or a ConfigError naming the first thing that cannot be honoured. */
export function parseMcrouterConfig (text: string): McrouterPlan {
  let root: unknown
  try {
    root = JSON.parse(stripJsonComments(text))
  } catch (err) {
    throw new ConfigError(`mcrouter config: not valid JSON: ${(err as Error).message}`)
  }
  if (root === null || typeof root !== 'object' || Array.isArray(root)) throw new ConfigError('mcrouter config: expected a JSON object with "pools" and "route"')
  const o = root as Record<string, unknown>
  for (const k of Object.keys(o)) if (k !== 'pools' && k !== 'route' && k !== 'routes') fail(k, 'not supported (only "pools", "route" and "routes")')
  const pools = (o.pools ?? {}) as Record<string, unknown>
  if (typeof pools !== 'object' || Array.isArray(pools)) fail('pools', 'is not an object')
  let route = o.route
  if (o.routes !== undefined) {
    if (route !== undefined) fail('routes', 'give "route" or "routes", not both')
    if (!Array.isArray(o.routes) || o.routes.length === 0) fail('routes', 'must be a non-empty list of {"aliases", "route"}')
    if (o.routes.length > 1) fail('routes', `${o.routes.length} entries: choosing one by routing prefix (mcrouter's -R and /region/cluster/ keys) is not supported; give one entry, or one "route"`)
    const entry = o.routes[0] as Record<string, unknown> | null
    if (entry === null || typeof entry !== 'object') fail('routes[0]', 'is not an object')
    for (const k of Object.keys(entry)) if (k !== 'aliases' && k !== 'route') fail(`routes[0] option '${k}'`, 'not supported')
    route = entry.route
  }
  if (route === undefined) fail('route', 'missing')
  const spec = parseRoute(route, pools, 'route')
  if (spec.type === 'pool') return { pool: spec.name, servers: spec.servers, tree: null }
  return { pool: describeRoute(spec), servers: routeServers(spec), tree: spec }
}
