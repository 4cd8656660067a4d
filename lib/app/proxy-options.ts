// lib/app/proxy-options.ts
/**
 * memring-proxy's command line -> ProxyOptions, pure and unit-tested:
 *   -p PORT [-l ADDR] (--zk HOSTS --cluster NAME [--dc NAME] | --servers HOST:PORT,...)
 *   [--conns-per-host N] [--timeout MS] [--tko-threshold N] [--zk-session-timeout MS] [-c N]
 *   [--read-from any|master]
 */
import { ClusterError, checkName, parseConnectString } from '../cluster/index.js'
import type { ProxyOptions } from '../proxy/index.js'
import { ConfigError } from './config.js'

export interface RawProxyOptions {
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
  verbose?: number
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
export type CliProxyOptions = Omit<ProxyOptions, 'log' | 'topology'> & { topology: Exclude<ProxyOptions['topology'], { kind: 'given' }> }

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
        const m = /^([A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(item)
        const port = m?.[2] === undefined ? 11211 : Number(m[2])
        if (m === null || port < 1 || port > 65535) throw new ConfigError(`--servers: '${item}' is not HOST[:PORT]`)
        return { host: m[1]!, port }
      })
      if (servers.length === 0) throw new ConfigError('--servers: no server given')
      topology = { kind: 'static', servers }
    }
  } catch (err) {
    if (err instanceof ClusterError) throw new ConfigError(err.message)
    throw err
  }
  const readFrom = o.readFrom === undefined ? 'any' : o.readFrom.trim()
  if (readFrom !== 'any' && readFrom !== 'master') throw new ConfigError(`--read-from: '${o.readFrom}' is not 'any' or 'master'`)
  return {
    port: o.port === undefined ? 11211 : int('-p', o.port, 0, 65535),
    listen: o.listen ?? '127.0.0.1',
    ...(o.unixSocket !== undefined ? { unixSocket: o.unixSocket } : {}),
    ...(o.unixMask !== undefined ? { unixMask: octal(o.unixMask) } : {}),
    topology,
    maxConns: o.connLimit === undefined ? 4096 : int('-c', o.connLimit, 1, 1 << 20),
    readFrom,
    backend: {
      connsPerHost: o.connsPerHost === undefined ? 1 : int('--conns-per-host', o.connsPerHost, 1, 64),
      timeoutMs: o.timeout === undefined ? 1000 : int('--timeout', o.timeout, 10, 600_000),
      tkoThreshold: o.tkoThreshold === undefined ? 3 : int('--tko-threshold', o.tkoThreshold, 1, 1000),
    },
  }
}
