// lib/app/cluster-options.ts
/**
 * `memring --zk ... --cluster NAME --shard ID [--dc NAME] [--advertise HOST:PORT]
 * [--role auto|replica|follower] [--zk-session-timeout MS]` -> ClusterConfig, pure.
 * Kept apart from config.ts (memcached's flags) so the cluster flags stay one block.
 * null when --zk is absent: a plain memcached replacement pays nothing.
 */
import { hostname } from 'node:os'
import { ClusterError, checkName, parseConnectString, Role, type ConfiguredRole } from '../cluster/index.js'
import { ConfigError } from './config.js'

export interface RawClusterOptions {
  zk?: string
  cluster?: string
  shard?: string
  dc?: string
  advertise?: string
  role?: string
  zkSessionTimeout?: string
}

export interface ClusterConfig {
  zk: string
  cluster: string
  shard: string
  dc: string
  /** auto (default): run for master; replica: never elected; follower: other DCs. */
  role: ConfiguredRole
  /** null: derive from the bound address once listening (see advertiseFor). */
  advertise: { host: string, port: number | null } | null
  sessionTimeoutMs: number
}

export function clusterOptions (o: RawClusterOptions): ClusterConfig | null {
  const given = ['cluster', 'shard', 'dc', 'advertise', 'role', 'zkSessionTimeout'].filter((k) => o[k as keyof RawClusterOptions] !== undefined)
  if (o.zk === undefined) {
    if (given.length > 0) throw new ConfigError(`--${kebab(given[0]!)} needs --zk HOST:PORT[,HOST:PORT...]`)
    return null
  }
  try {
    const zk = parseConnectString(o.zk).normalized
    if (o.cluster === undefined) throw new ConfigError('--zk needs --cluster NAME')
    if (o.shard === undefined) throw new ConfigError('--zk needs --shard ID')
    // `master` is accepted as `auto`: masters are elected now (lib/cluster/election.ts).
    const given = o.role ?? 'auto'
    if (given !== 'auto' && !(Object.values(Role) as string[]).includes(given)) throw new ConfigError(`--role: '${given}' is not one of auto, replica, follower`)
    const role: ConfiguredRole = given === Role.Master ? 'auto' : given as ConfiguredRole
    let advertise: ClusterConfig['advertise'] = null
    if (o.advertise !== undefined) {
      const m = /^([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(o.advertise.trim())
      const port = m?.[2] === undefined ? null : Number(m[2])
      if (m === null || (port !== null && (port < 1 || port > 65535))) {
        throw new ConfigError(`--advertise: '${o.advertise}' is not HOST[:PORT]`)
      }
      advertise = { host: m[1]!, port }
    }
    let sessionTimeoutMs = 10_000
    if (o.zkSessionTimeout !== undefined) {
      sessionTimeoutMs = Number(o.zkSessionTimeout)
      if (!Number.isInteger(sessionTimeoutMs) || sessionTimeoutMs < 500 || sessionTimeoutMs > 600_000) {
        throw new ConfigError(`--zk-session-timeout: '${o.zkSessionTimeout}' is not a number of milliseconds in [500, 600000]`)
      }
    }
    return {
      zk,
      cluster: checkName('--cluster', o.cluster),
      shard: checkName('--shard', o.shard),
      dc: o.dc === undefined ? '' : checkName('--dc', o.dc),
      role,
      advertise,
      sessionTimeoutMs,
    }
  } catch (err) {
    if (err instanceof ClusterError) throw new ConfigError(err.message)
    throw err
  }
}

/**
 * The address registered for this host: --advertise, else the first specific
 * --listen address, else this machine's hostname; the port defaults to the bound one.
 */
export function advertiseFor (cfg: ClusterConfig, listen: readonly string[], boundPort: number): { host: string, port: number } {
  if (cfg.advertise !== null) return { host: cfg.advertise.host, port: cfg.advertise.port ?? boundPort }
  const specific = listen.find((l) => l !== '0.0.0.0' && l !== '::' && /^[A-Za-z0-9.-]+$/.test(l))
  return { host: specific ?? hostname(), port: boundPort }
}

function kebab (s: string): string { return s.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase()) }
