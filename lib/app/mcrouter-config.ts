// lib/app/mcrouter-config.ts
/**
 * An mcrouter JSON config -> the static server list and placement memring-proxy serves it
 * with (`memring-proxy --mcrouter-config FILE -p PORT`). Pure: text in, a plan or a
 * ConfigError naming what cannot be honoured out.
 *
 * Served: one `route` that is a PoolRoute ("PoolRoute|NAME", or {"type": "PoolRoute",
 * "pool": NAME or {"name", "servers"}, "hash": "Ch3" or {"hash_func": "Ch3"}}) over a pool of
 * "host:port" (or "host:port:ascii") servers, placed by `ch3` (mcrouter's furc hash, its
 * default) in the pool's order. Refused, each with a message: AllSyncRoute and FailoverRoute
 * (memring-proxy sends a write to one server and reads fail over between the copies of one
 * shard, which a static list of independent servers does not have), every other route type,
 * `routes` with aliases, other hash functions (WeightedCh3, Crc32, ConstShard, Rendezvous...),
 * PoolRoute options (shadows, rates, ...), non-ascii protocols, and keys mcrouter would hash
 * without their routing prefix ("/region/cluster/" keys are hashed whole here).
 */
import { ConfigError } from './config-error.js'
import type { StaticServer } from '../proxy/index.js'

export interface McrouterPlan {
  readonly pool: string
  readonly servers: readonly StaticServer[]
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
  AllSyncRoute: 'replicated writes to several pools are not supported: memring-proxy writes each key to one server (replication belongs to memring hosts in a cluster)',
  AllAsyncRoute: 'writes to several pools are not supported',
  AllInitialRoute: 'writes to several pools are not supported',
  AllMajorityRoute: 'writes to several pools are not supported',
  AllFastestRoute: 'requests to several pools are not supported',
  FailoverRoute: 'failover between pools is not supported: memring-proxy fails reads over between the copies of one shard, which a list of independent servers does not have',
  PrefixSelectorRoute: 'routing by key prefix is not supported',
  OperationSelectorRoute: 'routing by operation is not supported',
  WarmUpRoute: 'warm-up routing is not supported',
  MissFailoverRoute: 'miss failover is not supported',
  HashRoute: 'use a PoolRoute',
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
  for (const k of Object.keys(o)) {
    if (k === 'routes') fail('routes', 'routes with aliases (one route per routing prefix) are not supported; give one "route"')
    if (k !== 'pools' && k !== 'route') fail(k, 'not supported (only "pools" and "route")')
  }
  const pools = (o.pools ?? {}) as Record<string, unknown>
  if (typeof pools !== 'object' || Array.isArray(pools)) fail('pools', 'is not an object')
  let route = o.route
  if (route === undefined) fail('route', 'missing')
  let poolRef: unknown
  let hash: unknown
  if (typeof route === 'string') {
    const m = /^([A-Za-z]+)\|(.+)$/.exec(route)
    if (m === null) fail('route', `'${route}' is not "PoolRoute|NAME"`)
    route = { type: m[1], pool: m[2] }
  }
  if (route === null || typeof route !== 'object' || Array.isArray(route)) fail('route', 'is not a string or an object')
  const r = route as Record<string, unknown>
  const type = String(r.type)
  if (type !== 'PoolRoute') {
    fail(`route type ${type}`, ROUTE_REFUSALS[type] ?? 'not supported (memring-proxy reads a single PoolRoute)')
  }
  for (const k of Object.keys(r)) {
    if (k !== 'type' && k !== 'pool' && k !== 'hash') fail(`PoolRoute option '${k}'`, 'not supported')
  }
  poolRef = r.pool
  hash = r.hash
  const hashFunc = hash === undefined ? 'Ch3' : typeof hash === 'string' ? hash : (hash as Record<string, unknown> | null)?.hash_func
  if (hash !== undefined && typeof hash === 'object' && hash !== null) {
    for (const k of Object.keys(hash)) if (k !== 'hash_func') fail(`hash option '${k}'`, 'not supported (salt, weights... change placement)')
  }
  if (hashFunc !== 'Ch3') fail(`hash_func ${String(hashFunc)}`, 'not supported: memring-proxy reproduces Ch3 only')
  let name: string
  let servers: StaticServer[]
  if (typeof poolRef === 'string') {
    name = poolRef
    if (!Object.prototype.hasOwnProperty.call(pools, name)) fail(`PoolRoute|${name}`, `no pool '${name}' in "pools"`)
    servers = poolServers(name, pools[name])
  } else if (poolRef !== null && typeof poolRef === 'object' && !Array.isArray(poolRef)) {
    name = String((poolRef as Record<string, unknown>).name ?? 'inline')
    servers = poolServers(name, poolRef)
  } else {
    fail('PoolRoute', '"pool" must name a pool or be {"name", "servers"}')
  }
  return { pool: name, servers }
}
