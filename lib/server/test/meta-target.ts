/**
 * Starts memring for the meta tests: a real server in-process on a loopback port 0, with
 * the default MetaDispatcher. close() fails the run if the server counted an internal error
 * (a bug caught at the connection boundary) while it served.
 */
import { createServer } from '../server.js'
import type { ServerSettings } from '../settings.js'
import type { Target } from './meta-harness.js'

export function memringReady (): boolean {
  return true
}

export async function startMemring (settings: Partial<ServerSettings> = {}): Promise<Target> {
  const server = createServer({ settings: { port: 0, listen: ['127.0.0.1'], ...settings } })
  await server.start()
  return {
    port: server.port,
    close: async () => {
      const errors = server.ctx.stats.internal_errors
      await server.close(200)
      if (errors !== 0) throw new Error(`memring reported ${errors} internal error(s)`)
    },
  }
}
