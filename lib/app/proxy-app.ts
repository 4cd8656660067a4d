// lib/app/proxy-app.ts
/** Composition root of memring-proxy: options -> a listening proxy (lib/proxy). */
import type { Logger } from '../log.js'
import { silentLogger } from '../log.js'
import { createProxy, type MemringProxy, type ProxyOptions } from '../proxy/index.js'
import { startProxyMetrics, type MetricsConfig } from './metrics-app.js'
import type { MetricsEndpoint } from '../metrics/endpoint.js'

export interface ProxyApp {
  proxy: MemringProxy
  /** The /metrics endpoint (--metrics-port), or null. */
  metrics: MetricsEndpoint | null
  close (): Promise<void>
}

export async function startProxyApp (opts: Omit<ProxyOptions, 'log'>, log: Logger = silentLogger(), metricsConfig: MetricsConfig | null = null): Promise<ProxyApp> {
  const proxy = createProxy({ ...opts, log })
  await proxy.start()
  let metrics: MetricsEndpoint | null = null
  if (metricsConfig !== null) {
    try { metrics = await startProxyMetrics(metricsConfig, proxy, log) } catch (err) { await proxy.close(); throw err }
  }
  return {
    proxy,
    metrics,
    async close () {
      await metrics?.close()
      await proxy.close()
      log.info('memring-proxy stopped')
    },
  }
}
