// lib/app/proxy-app.ts
/** Composition root of memring-proxy: options -> a listening proxy (lib/proxy). */
import type { Logger } from '../log.js'
import { silentLogger } from '../log.js'
import { createProxy, type MemringProxy, type ProxyOptions } from '../proxy/index.js'

export interface ProxyApp {
  proxy: MemringProxy
  close (): Promise<void>
}

export async function startProxyApp (opts: Omit<ProxyOptions, 'log'>, log: Logger = silentLogger()): Promise<ProxyApp> {
  const proxy = createProxy({ ...opts, log })
  await proxy.start()
  return {
    proxy,
    async close () {
      await proxy.close()
      log.info('memring-proxy stopped')
    },
  }
}
