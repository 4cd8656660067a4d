// lib/app/proxy-options.ts
/**
 * memring-proxy's command line -> ProxyOptions, pure and unit-tested:
 *   -p PORT [-l ADDR] (--zk HOSTS --cluster NAME [--dc NAME] | --servers HOST:PORT,...)
 *   [--conns-per-host N] [--timeout MS] [--tko-threshold N] [--zk-session-timeout MS] [-c N]
 *   [--read-from any|master] [--hash METHOD] [--key-hash HASH] [--hash-tag XY]
 *   [--warmup-window MS] [--warmup-hit-ratio R]
 *   [--hot-key-threshold N] [--hot-key-cache [--hot-key-cache-ttl MS] [--hot-key-cache-max-bytes N]]
 *   [-S [--sasl-pwdb FILE] | -Y FILE] [--backend-username U --backend-password P]
 *   [--encrypt-values KEYFILE]
 * or --twemproxy-config FILE [--pool NAME] instead of --zk/--servers (twemproxy-config.ts).
 */
import { ClusterError, checkName, parseConnectString } from '../cluster/index.js'
import { DEFAULT_HOLD_MS } from '../proxy/dc-writes.js'
import { MAX_HOLD_MS } from './dc-invalidate-command.js'
import { WARMUP_HIT_RATIO, WARMUP_WINDOW_MS, type ProxyOptions } from '../proxy/index.js'
import { ConfigError } from './config.js'
import { checkRouterOptions, HashMethod, HASH_METHODS, KEY_HASHES, type KeyHash, type RouterOptions } from '../ring/index.js'
import { parseTwemproxyConfig, selectPools } from './twemproxy-config.js'
import { parseMcrouterConfig } from './mcrouter-config.js'
import { backendTls, frontendTls, type RawTlsOptions } from './tls-options.js'

export interface RawProxyOptions extends RawTlsOptions {
  port?: string
  listen?: string
  unixSocket?: string
  unixMask?: string
  zk?: string
  cluster?: string
  dc?: string
  servers?: string
  connsPerHost?: string
  timeout?: string
  tkoThreshold?: string
  zkSessionTimeout?: string
  connLimit?: string
  readFrom?: string
  dcWrites?: string
  dcInvalidateHold?: string
  hash?: string
  keyHash?: string
  hashTag?: string
  boundedLoad?: string
  warmupWindow?: string
  warmupHitRatio?: string
  hotKeyThreshold?: string
  hotKeyCache?: boolean
  hotKeyCacheTtl?: string
  hotKeyCacheMaxBytes?: string
  twemproxyConfig?: string
  mcrouterConfig?: string
  pool?: string
  verbose?: number
  enableSasl?: boolean
  saslPwdb?: string
  authFile?: string
  backendUsername?: string
  backendPassword?: string
  encryptValues?: string
}

function int (flag: string, v: string, min: number, max: number): number {
  const n = Number(v.trim())
  if (!/^\d+$/.test(v.trim()) || n < min || n > max) throw new ConfigError(`${flag}: '${v}' is not an integer in [${min}, ${max}]`)
  return n
}

/** memring -a / memcached -a: an octal permission mask. */
function octal (v: string): number {
  if (!/^[0-7]+$/.test(v.trim())) throw new ConfigError(`-a: '${v}' is not an octal mask`)
  return parseInt(v.trim(), 8) & 0o777
}

/** What a command line can describe: a static list or ZooKeeper (never a given Topology). */
export type CliProxyOptions = Omit<ProxyOptions, 'log' | 'topology'> & {
  topology: Exclude<ProxyOptions['topology'], { kind: 'given' }>
  /** The twemproxy pool this proxy serves (--twemproxy-config). */
  pool?: string
}

export function proxyOptions (o: RawProxyOptions): CliProxyOptions {
  const hasZk = o.zk !== undefined
  const hasServers = o.servers !== undefined
  if (hasZk === hasServers) throw new ConfigError('give either --zk HOSTS --cluster NAME or --servers HOST:PORT,... (exactly one)')
  let topology: CliProxyOptions['topology']
  try {
    if (hasZk) {
      if (o.cluster === undefined) throw new ConfigError('--zk needs --cluster NAME')
      topology = {
        kind: 'zk',
        zk: parseConnectString(o.zk!).normalized,
        cluster: checkName('--cluster', o.cluster),
        dc: o.dc === undefined ? undefined : checkName('--dc', o.dc),
        sessionTimeoutMs: o.zkSessionTimeout === undefined ? 10_000 : int('--zk-session-timeout', o.zkSessionTimeout, 500, 600_000),
      }
    } else {
      if (o.cluster !== undefined || o.dc !== undefined) throw new ConfigError('--cluster and --dc go with --zk, not --servers')
      const servers = o.servers!.split(',').map((x) => x.trim()).filter((x) => x !== '').map((item) => {
        const m = /^([A-Za-z0-9.-]+)(?::(\d{1,5})(?::(\d{1,9}))?)?$/.exec(item)
        const port = m?.[2] === undefined ? 11211 : Number(m[2])
        const weight = m?.[3] === undefined ? 1 : Number(m[3])
        if (m === null || port < 1 || port > 65535 || weight < 1) throw new ConfigError(`--servers: '${item}' is not HOST[:PORT[:WEIGHT]] (weight an integer >= 1)`)
        return { host: m[1]!, port, weight }
      })
      const ids = new Set(servers.map((s) => `${s.host}:${s.port}`))
      if (ids.size !== servers.length) throw new ConfigError('--servers: a server is listed twice')
      if (servers.length === 0) throw new ConfigError('--servers: no server given')
      topology = { kind: 'static', servers }
    }
  } catch (err) {
    if (err instanceof ClusterError) throw new ConfigError(err.message)
    throw err
  }
  const placement = placementOptions(o)
  let boundedLoad = 0
  if (o.boundedLoad !== undefined && o.boundedLoad.trim() !== 'off') {
    boundedLoad = Number(o.boundedLoad.trim())
    if (!/^\d+(\.\d+)?$/.test(o.boundedLoad.trim()) || !(boundedLoad > 1) || boundedLoad > 100) throw new ConfigError(`--bounded-load: '${o.boundedLoad}' is not a number in (1, 100] (or off)`)
    if (placement.method === HashMethod.Jump || placement.method === HashMethod.Ch3) throw new ConfigError(`--bounded-load: bounded loads walk a ketama continuum; --hash ${placement.method} has none`)
  }
  const hitRatio = o.warmupHitRatio === undefined ? WARMUP_HIT_RATIO : Number(o.warmupHitRatio.trim())
  if (o.warmupHitRatio !== undefined && (!/^\d+(\.\d+)?$/.test(o.warmupHitRatio.trim()) || hitRatio > 1)) throw new ConfigError(`--warmup-hit-ratio: '${o.warmupHitRatio}' is not a number in [0, 1]`)
  const warmUp = {
    windowMs: o.warmupWindow === undefined ? WARMUP_WINDOW_MS : int('--warmup-window', o.warmupWindow, 0, 86_400_000),
    hitRatio,
  }
  const hotKeys = hotKeyOptions(o)
  const readFrom = o.readFrom === undefined ? 'any' : o.readFrom.trim()
  if (readFrom !== 'any' && readFrom !== 'master') throw new ConfigError(`--read-from: '${o.readFrom}' is not 'any' or 'master'`)
  const dcWrites = o.dcWrites === undefined ? 'master' : o.dcWrites.trim()
  if (dcWrites !== 'master' && dcWrites !== 'local-invalidate') throw new ConfigError(`--dc-writes: '${o.dcWrites}' is not 'master' or 'local-invalidate'`)
  if (dcWrites === 'local-invalidate' && o.dc === undefined) throw new ConfigError('--dc-writes local-invalidate needs --dc (the copies it invalidates are this DC\'s)')
  if (o.dcInvalidateHold !== undefined && dcWrites !== 'local-invalidate') throw new ConfigError('--dc-invalidate-hold goes with --dc-writes local-invalidate')
  const dcInvalidateHoldMs = o.dcInvalidateHold === undefined ? DEFAULT_HOLD_MS : int('--dc-invalidate-hold', o.dcInvalidateHold, 1, MAX_HOLD_MS)
  return {
    ...authOptions(o),
    port: o.port === undefined ? 11211 : int('-p', o.port, 0, 65535),
    listen: o.listen ?? '127.0.0.1',
    ...(o.unixSocket !== undefined ? { unixSocket: o.unixSocket } : {}),
    ...(o.unixMask !== undefined ? { unixMask: octal(o.unixMask) } : {}),
    topology,
    maxConns: o.connLimit === undefined ? 4096 : int('-c', o.connLimit, 1, 1 << 20),
    readFrom,
    dcWrites: { mode: dcWrites, holdMs: dcInvalidateHoldMs },
    placement,
    boundedLoad,
    warmUp,
    ...(hotKeys === undefined ? {} : { hotKeys }),
    tls: frontendTls(o),
    backend: {
      tls: backendTls(o),
      connsPerHost: o.connsPerHost === undefined ? 1 : int('--conns-per-host', o.connsPerHost, 1, 64),
      timeoutMs: o.timeout === undefined ? 1000 : int('--timeout', o.timeout, 10, 600_000),
      tkoThreshold: o.tkoThreshold === undefined ? 3 : int('--tko-threshold', o.tkoThreshold, 1, 1000),
      auth: backendCredentials(o),
    },
  }
}

/** -S / --sasl-pwdb / -Y for the proxy's clients (memring's flags; the files are read at start). */
function authOptions (o: RawProxyOptions): Pick<CliProxyOptions, 'auth' | 'encryptValues'> {
  if (o.saslPwdb !== undefined && o.enableSasl !== true) throw new ConfigError('--sasl-pwdb goes with -S/--enable-sasl')
  const out: Pick<CliProxyOptions, 'auth' | 'encryptValues'> = {}
  if (o.enableSasl === true || o.authFile !== undefined) {
    out.auth = { sasl: o.enableSasl === true, saslPwdb: o.saslPwdb ?? '', authFile: o.authFile ?? '' }
  }
  if (o.encryptValues !== undefined) {
    if (o.encryptValues.trim() === '') throw new ConfigError('--encrypt-values needs a key ring file')
    out.encryptValues = o.encryptValues
  }
  return out
}

/**
 * --backend-username / --backend-password: both or neither. ASCII auth sends
 * `<user> <password>` as two space-separated tokens, so neither may hold a space,
 * a NUL or a line break.
 */
function backendCredentials (o: RawProxyOptions): { username: string, password: string } | null {
  const u = o.backendUsername
  const p = o.backendPassword
  if (u === undefined && p === undefined) return null
  if (u === undefined || p === undefined || u === '' || p === '') throw new ConfigError('--backend-username and --backend-password go together (both non-empty)')
  for (const [flag, v] of [['--backend-username', u], ['--backend-password', p]] as const) {
    if (/[\s\0]/.test(v)) throw new ConfigError(`${flag}: no spaces, NULs or line breaks (ASCII auth splits on spaces)`)
  }
  return { username: u, password: p }
}

/** Default --hot-key-threshold, reads per second of one key at one proxy (README: why). */
export const HOT_KEY_THRESHOLD = 1000
/** Default --hot-key-cache-ttl (ms): the longest a write through another proxy goes unseen. */
export const HOT_KEY_CACHE_TTL_MS = 100
/** Default --hot-key-cache-max-bytes. */
export const HOT_KEY_CACHE_MAX_BYTES = 1 << 20

/** --hot-key-threshold N (0: off), --hot-key-cache, --hot-key-cache-ttl MS, --hot-key-cache-max-bytes N. */
function hotKeyOptions (o: RawProxyOptions): CliProxyOptions['hotKeys'] {
  const threshold = o.hotKeyThreshold === undefined ? HOT_KEY_THRESHOLD : int('--hot-key-threshold', o.hotKeyThreshold, 0, 100_000_000)
  const cache = o.hotKeyCache === true
  if (!cache && (o.hotKeyCacheTtl !== undefined || o.hotKeyCacheMaxBytes !== undefined)) throw new ConfigError('--hot-key-cache-ttl and --hot-key-cache-max-bytes go with --hot-key-cache')
  if (threshold === 0) {
    if (cache) throw new ConfigError('--hot-key-cache needs hot-key detection: --hot-key-threshold must be > 0')
    return undefined
  }
  if (!cache) return { threshold }
  return {
    threshold,
    cache: {
      ttlMs: o.hotKeyCacheTtl === undefined ? HOT_KEY_CACHE_TTL_MS : int('--hot-key-cache-ttl', o.hotKeyCacheTtl, 1, 60_000),
      maxBytes: o.hotKeyCacheMaxBytes === undefined ? HOT_KEY_CACHE_MAX_BYTES : int('--hot-key-cache-max-bytes', o.hotKeyCacheMaxBytes, 1024, 1 << 30),
    },
  }
}

/**
 * --hash, --key-hash, --hash-tag -> lib/ring RouterOptions (shared by memring-proxy and
 * memringctl route, so both place keys alike).
 */
export function placementOptions (o: { hash?: string, keyHash?: string, hashTag?: string }): RouterOptions {
  const method = (o.hash ?? HashMethod.Ketama).trim() as HashMethod
  if (!HASH_METHODS.includes(method)) throw new ConfigError(`--hash: '${o.hash}' is not one of ${HASH_METHODS.join(', ')}`)
  const keyHash = o.keyHash === undefined ? undefined : o.keyHash.trim() as KeyHash
  if (keyHash !== undefined && !KEY_HASHES.includes(keyHash)) throw new ConfigError(`--key-hash: '${o.keyHash}' is not one of ${KEY_HASHES.join(', ')}`)
  const opts: RouterOptions = { method, keyHash, hashTag: o.hashTag === '' ? undefined : o.hashTag }
  try {
    return checkRouterOptions(opts)
  } catch (err) {
    if (err instanceof RangeError) throw new ConfigError(`${o.hashTag !== undefined && /tag/.test(err.message) ? '--hash-tag' : '--key-hash'}: ${err.message}`)
    throw err
  }
}

/**
 * Every proxy the command line asks for: one, or with --twemproxy-config one per pool
 * served (all the file's pools, or --pool NAME). `readText` reads the config file.
 * -p/-l given with a twemproxy config override the pool's `listen:` (one pool only);
 * placement flags and --servers/--zk cannot be combined with it (the file decides).
 */
export function proxyConfigs (o: RawProxyOptions, readText: (path: string) => string): CliProxyOptions[] {
  if (o.mcrouterConfig !== undefined) return [mcrouterOptions(o, readText)]
  if (o.twemproxyConfig === undefined) {
    if (o.pool !== undefined) throw new ConfigError('--pool goes with --twemproxy-config')
    return [proxyOptions(o)]
  }
  for (const [flag, v] of [['--zk', o.zk], ['--servers', o.servers], ['--cluster', o.cluster], ['--dc', o.dc], ['--hash', o.hash], ['--key-hash', o.keyHash], ['--hash-tag', o.hashTag]] as const) {
    if (v !== undefined) throw new ConfigError(`${flag} cannot be combined with --twemproxy-config (the pool in the file says where keys go)`)
  }
  let text: string
  try {
    text = readText(o.twemproxyConfig)
  } catch (err) {
    throw new ConfigError(`--twemproxy-config: cannot read ${o.twemproxyConfig}: ${(err as Error).message}`)
  }
  const pools = selectPools(parseTwemproxyConfig(text), o.pool)
  if (pools.length > 1 && (o.port !== undefined || o.listen !== undefined)) {
    throw new ConfigError(`-p/-l override one pool's listen address; the file has ${pools.length} pools: add --pool NAME`)
  }
  return pools.map((p) => {
    const base = proxyOptions({
      ...o,
      twemproxyConfig: undefined,
      pool: undefined,
      servers: p.servers.map((s) => `${s.host}:${s.port}:${s.weight ?? 1}`).join(','),
      port: o.port ?? String(p.listenPort),
      listen: o.listen ?? p.listenHost,
      hash: HashMethod.KetamaTwemproxy,
      keyHash: p.keyHash,
      hashTag: p.hashTag,
      timeout: p.timeoutMs === undefined ? o.timeout : String(p.timeoutMs),
      tkoThreshold: p.serverFailureLimit === undefined ? o.tkoThreshold : String(p.serverFailureLimit),
      connsPerHost: p.serverConnections === undefined ? o.connsPerHost : String(p.serverConnections),
      connLimit: p.clientConnections === undefined ? o.connLimit : String(p.clientConnections === 0 ? 1 << 20 : p.clientConnections),
    })
    return {
      ...base,
      pool: p.name,
      // the names are kept (--servers has no syntax for them)
      topology: { kind: 'static', servers: p.servers },
      backlog: p.backlog,
      backend: {
        ...base.backend,
        ...(p.serverRetryTimeoutMs === undefined ? {} : { probeMs: Math.min(100, p.serverRetryTimeoutMs), probeMaxMs: p.serverRetryTimeoutMs }),
      },
    }
  })
}

/**
 * --mcrouter-config FILE: one PoolRoute with Ch3 hashing, served as a static list placed by
 * ch3, or AllSyncRoute / FailoverRoute over PoolRoutes, served as a route tree
 * (mcrouter-config.ts says what is refused). mcrouter takes its port on its command
 * line, so -p is required here.
 */
function mcrouterOptions (o: RawProxyOptions, readText: (path: string) => string): CliProxyOptions {
  for (const [flag, v] of [['--twemproxy-config', o.twemproxyConfig], ['--pool', o.pool], ['--zk', o.zk], ['--servers', o.servers], ['--cluster', o.cluster], ['--dc', o.dc], ['--hash', o.hash], ['--key-hash', o.keyHash], ['--hash-tag', o.hashTag]] as const) {
    if (v !== undefined) throw new ConfigError(`${flag} cannot be combined with --mcrouter-config (the route in the file says where keys go)`)
  }
  if (o.port === undefined) throw new ConfigError('--mcrouter-config needs -p PORT (mcrouter takes its port on the command line, not in the file)')
  let text: string
  try {
    text = readText(o.mcrouterConfig!)
  } catch (err) {
    throw new ConfigError(`--mcrouter-config: cannot read ${o.mcrouterConfig}: ${(err as Error).message}`)
  }
  const plan = parseMcrouterConfig(text)
  const base = proxyOptions({ ...o, mcrouterConfig: undefined, servers: plan.servers.map((s) => `${s.host}:${s.port}`).join(','), hash: HashMethod.Ch3 })
  // A tree: keyed requests follow it; the list of every server is for the fan-outs.
  return { ...base, pool: plan.pool, topology: { kind: 'static', servers: plan.servers }, ...(plan.tree === null ? {} : { routeTree: plan.tree }) }
}
