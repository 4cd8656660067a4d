/**
 * --metrics-port / --metrics-listen: the /metrics endpoint of a cache host or a proxy
 * (lib/metrics). Off unless a port is given.
 */
import type { Logger } from '../log.js'
import type { MemringServer } from '../server/server.js'
import type { MemringProxy } from '../proxy/index.js'
import type { Registry as ClusterRegistry } from '../cluster/index.js'
import { serverRegistry } from '../metrics/server-metrics.js'
import { proxyRegistry } from '../metrics/proxy-metrics.js'
import { startMetricsEndpoint, type MetricsEndpoint } from '../metrics/endpoint.js'
import { ConfigError } from './config-error.js'

export interface MetricsConfig {
  /** TCP port of /metrics (0: any free port). */
  port: number
  /** Address to bind; default all interfaces, as Prometheus exporters do. */
  listen?: string
}

export interface RawMetricsOptions { metricsPort?: string, metricsListen?: string }

/** The flags, checked: null when --metrics-port is absent. */
export function metricsOptions (raw: RawMetricsOptions): MetricsConfig | null {
  if (raw.metricsPort === undefined) {
    if (raw.metricsListen !== undefined) throw new ConfigError('--metrics-listen needs --metrics-port')
    return null
  }
  const port = Number(raw.metricsPort)
  if (!/^\d+$/.test(raw.metricsPort) || port > 65535) throw new ConfigError(`--metrics-port must be a port number 0..65535, got '${raw.metricsPort}'`)
  return raw.metricsListen === undefined ? { port } : { port, listen: raw.metricsListen }
}

export async function startServerMetrics (cfg: MetricsConfig, server: MemringServer, cluster: () => ClusterRegistry | null, log: Logger): Promise<MetricsEndpoint> {
  const ep = await startMetricsEndpoint(serverRegistry(server.ctx, { cluster }), cfg.port, cfg.listen)
  log.info({ metricsPort: ep.port }, 'metrics listening')
  return ep
}

export async function startProxyMetrics (cfg: MetricsConfig, proxy: MemringProxy, log: Logger): Promise<MetricsEndpoint> {
  const ep = await startMetricsEndpoint(proxyRegistry(proxy), cfg.port, cfg.listen)
  log.info({ metricsPort: ep.port }, 'metrics listening')
  return ep
}
