// lib/app/twemproxy-config.ts
/**
 * A twemproxy (nutcracker) YAML config -> memring-proxy options, one per pool, so
 * `memring-proxy --twemproxy-config nutcracker.yml [--pool NAME]` serves the pools with
 * twemproxy's exact placement (ketama-twemproxy: the pool's hash, hash tag, weights and
 * server names; checked against the real nutcracker in test/twemproxy-config.test.ts).
 *
 * Pure: text in, options or a ConfigError out. The YAML is read with the `yaml` package
 * (nutcracker uses libyaml, a full YAML 1.1 parser: quoted values, flow sequences and
 * comments all occur in real configs, so a hand-written subset would be a trap).
 *
 * Every key of twemproxy 0.5's pool directives (nc_conf.c) is either honoured, or refused
 * with a ConfigError that names it and the pool: never ignored. Unknown keys are refused
 * too, as nutcracker refuses them.
 */
import { parseDocument } from 'yaml'
import { KeyHash } from '../ring/index.js'
import type { StaticServer } from '../proxy/index.js'
import { ConfigError } from './config-error.js'

/** One pool, as memring-proxy serves it. */
export interface TwemproxyPool {
  readonly name: string
  readonly listenHost: string
  readonly listenPort: number
  readonly servers: readonly StaticServer[]
  /** twemproxy `hash:` (default fnv1a_64). */
  readonly keyHash: KeyHash
  /** twemproxy `hash_tag:`, or undefined. */
  readonly hashTag?: string
  /** `timeout:` in ms (twemproxy's default is none: memring-proxy's --timeout then applies). */
  readonly timeoutMs?: number
  readonly backlog?: number
  /** `client_connections:` (0 = unlimited in twemproxy). */
  readonly clientConnections?: number
  readonly serverConnections?: number
  /** `server_failure_limit:` -> consecutive failures that mark a server down (TKO). */
  readonly serverFailureLimit?: number
  /** `server_retry_timeout:` -> the longest wait between probes of a down server. */
  readonly serverRetryTimeoutMs?: number
}

/** twemproxy's hashes that lib/ring does not implement (refused by name). */
const UNSUPPORTED_HASHES = ['crc16', 'crc32', 'hsieh', 'jenkins']
const KNOWN_HASHES = new Set<string>(Object.values(KeyHash))

/** Directives nutcracker knows, with what memring-proxy does about each. */
const DIRECTIVES = new Set([
  'listen', 'hash', 'hash_tag', 'distribution', 'timeout', 'backlog', 'client_connections', 'redis', 'redis_auth',
  'redis_db', 'preconnect', 'auto_eject_hosts', 'server_connections', 'server_retry_timeout', 'server_failure_limit',
  'servers', 'tcpkeepalive',
])

function fail (pool: string, key: string, why: string): never {
  throw new ConfigError(`twemproxy config: pool '${pool}': ${key}: ${why}`)
}

function intOf (pool: string, key: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' && /^-?\d+$/.test(v.trim()) ? Number(v) : NaN
  if (!Number.isInteger(n) || n < min || n > max) fail(pool, key, `'${String(v)}' is not an integer in [${min}, ${max}]`)
  return n
}

function boolOf (pool: string, key: string, v: unknown): boolean {
  if (v === 'true' || v === 'false') return v === 'true'
  return fail(pool, key, `'${String(v)}' is not true or false`)
}

/** "host:port:weight [name]", as nutcracker's conf_add_server reads it. */
function serverOf (pool: string, v: unknown, i: number): StaticServer {
  if (typeof v !== 'string') fail(pool, `servers[${i}]`, `'${String(v)}' is not "host:port:weight [name]"`)
  const m = /^\s*(\S+?):(\d{1,5}):(\d+)(?:\s+(\S+))?\s*$/.exec(v)
  if (m === null) {
    if (v.trim().startsWith('/')) fail(pool, `servers[${i}]`, `'${v}': unix-socket servers are not supported by memring-proxy`)
    fail(pool, `servers[${i}]`, `'${v}' is not "host:port:weight [name]"`)
  }
  const port = Number(m[2])
  if (port < 1 || port > 65535) fail(pool, `servers[${i}]`, `'${v}': port out of range`)
  const weight = Number(m[3])
  if (!Number.isSafeInteger(weight) || weight < 1) fail(pool, `servers[${i}]`, `'${v}': weight must be an integer >= 1`)
  return m[4] === undefined ? { host: m[1]!, port, weight } : { host: m[1]!, port, weight, name: m[4] }
}

function poolOf (name: string, o: Record<string, unknown>): TwemproxyPool {
  for (const k of Object.keys(o)) if (!DIRECTIVES.has(k)) fail(name, k, 'unknown directive (nutcracker refuses it too)')
  const flag = (k: string): boolean => o[k] !== undefined && boolOf(name, k, o[k])
  if (flag('redis')) fail(name, 'redis', 'true is not supported: memring-proxy speaks memcached only')
  for (const k of ['redis_auth', 'redis_db']) if (o[k] !== undefined) fail(name, k, 'not supported: memring-proxy speaks memcached only')
  if (flag('auto_eject_hosts')) {
    fail(name, 'auto_eject_hosts', 'true is not supported: memring-proxy never moves keys off a failed server ' +
      '(it marks it down and answers its keys at once with a miss or SERVER_ERROR, and probes it back); set it to false')
  }
  if (flag('preconnect')) fail(name, 'preconnect', 'true is not supported: memring-proxy connects to a server on first use; set it to false')
  if (flag('tcpkeepalive')) fail(name, 'tcpkeepalive', 'true is not supported: memring-proxy does not set SO_KEEPALIVE on server connections; set it to false')

  const dist = o.distribution === undefined ? 'ketama' : String(o.distribution)
  if (dist !== 'ketama') {
    fail(name, 'distribution', dist === 'modula' || dist === 'random'
      ? `'${dist}' is not supported: memring-proxy reproduces twemproxy's ketama only`
      : `unknown distribution '${dist}' (twemproxy knows ketama, modula, random)`)
  }
  const hash = o.hash === undefined ? 'fnv1a_64' : String(o.hash)
  if (!KNOWN_HASHES.has(hash)) {
    fail(name, 'hash', UNSUPPORTED_HASHES.includes(hash)
      ? `'${hash}' is not supported by memring-proxy (supported: ${[...KNOWN_HASHES].join(', ')})`
      : `unknown hash '${hash}'`)
  }
  let hashTag: string | undefined
  if (o.hash_tag !== undefined) {
    hashTag = String(o.hash_tag)
    if (hashTag.length !== 2) fail(name, 'hash_tag', `'${hashTag}' must be exactly two characters, e.g. "{}"`)
  }

  if (typeof o.listen !== 'string') fail(name, 'listen', 'missing: "host:port" is required')
  const listen = o.listen.trim()
  if (listen.startsWith('/')) fail(name, 'listen', `'${listen}': unix sockets are not supported by memring-proxy; listen on host:port`)
  const lm = /^(\S+):(\d{1,5})$/.exec(listen)
  if (lm === null || Number(lm[2]) > 65535) fail(name, 'listen', `'${listen}' is not host:port`)
  const lhost = lm[1]!.startsWith('[') && lm[1]!.endsWith(']') ? lm[1]!.slice(1, -1) : lm[1]!

  if (!Array.isArray(o.servers) || o.servers.length === 0) fail(name, 'servers', 'missing or empty: a pool needs at least one server')
  const servers = o.servers.map((s, i) => serverOf(name, s, i))
  const seen = new Set<string>()
  for (const s of servers) {
    const id = `${s.host}:${s.port}`
    if (seen.has(id)) fail(name, 'servers', `'${id}' is listed twice (memring-proxy needs each address once)`)
    seen.add(id)
  }
  const names = servers.filter((s) => s.name !== undefined)
  if (new Set(names.map((s) => s.name)).size !== names.length) fail(name, 'servers', 'server names must be unique')

  return {
    name,
    listenHost: lhost,
    listenPort: Number(lm[2]),
    servers,
    keyHash: hash as KeyHash,
    hashTag,
    timeoutMs: o.timeout === undefined ? undefined : intOf(name, 'timeout', o.timeout, 10, 600_000),
    backlog: o.backlog === undefined ? undefined : intOf(name, 'backlog', o.backlog, 1, 65535),
    clientConnections: o.client_connections === undefined ? undefined : intOf(name, 'client_connections', o.client_connections, 0, 1 << 20),
    serverConnections: o.server_connections === undefined ? undefined : intOf(name, 'server_connections', o.server_connections, 1, 64),
    serverFailureLimit: o.server_failure_limit === undefined ? undefined : intOf(name, 'server_failure_limit', o.server_failure_limit, 1, 1000),
    serverRetryTimeoutMs: o.server_retry_timeout === undefined ? undefined : intOf(name, 'server_retry_timeout', o.server_retry_timeout, 10, 3_600_000),
  }
}

/** Every pool of a nutcracker YAML file, in file order. Throws ConfigError naming what is wrong. */
export function parseTwemproxyConfig (text: string): TwemproxyPool[] {
  // failsafe: every scalar is a string, as libyaml hands them to nutcracker, which then
  // reads numbers and true/false itself (so `yes`, `0x10` or `1_000` mean what they mean there)
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: true })
  if (doc.errors.length > 0) throw new ConfigError(`twemproxy config: not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`)
  const root: unknown = doc.toJS()
  if (root === null || typeof root !== 'object' || Array.isArray(root)) throw new ConfigError('twemproxy config: expected a mapping of pool names to pools')
  const pools: TwemproxyPool[] = []
  for (const [name, body] of Object.entries(root as Record<string, unknown>)) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ConfigError(`twemproxy config: pool '${name}' is not a mapping`)
    pools.push(poolOf(name, body as Record<string, unknown>))
  }
  if (pools.length === 0) throw new ConfigError('twemproxy config: no pool in the file')
  const listens = new Set<string>()
  for (const p of pools) {
    const l = `${p.listenHost}:${p.listenPort}`
    if (listens.has(l)) throw new ConfigError(`twemproxy config: pool '${p.name}': listen: ${l} is used by another pool`)
    listens.add(l)
  }
  return pools
}

/** The pools to serve: `--pool NAME` (one), or all of them. */
export function selectPools (pools: readonly TwemproxyPool[], name: string | undefined): TwemproxyPool[] {
  if (name === undefined) return [...pools]
  const p = pools.find((x) => x.name === name)
  if (p === undefined) throw new ConfigError(`--pool: no pool '${name}' in the twemproxy config (pools: ${pools.map((x) => x.name).join(', ')})`)
  return [p]
}
