/**
 * Start a REAL memring server in-process on a free port, torn down with the test.
 * The teardown also asserts that no internal error (a bug caught at the connection
 * boundary) happened while the test ran.
 */
import type { Test } from 'tap'
import { createServer } from '../server/server.js'
import type { MemringServer, ServerOptions } from '../server/server.js'
import type { ServerSettings } from '../server/settings.js'

export async function startServer (t: Test, settings: Partial<ServerSettings> = {}, opts: Omit<ServerOptions, 'settings'> = {}): Promise<MemringServer> {
  const server = createServer({ ...opts, settings: { port: 0, listen: ['127.0.0.1'], ...settings } })
  await server.start()
  t.teardown(async () => {
    const errors = server.ctx.stats.internal_errors
    await server.close(200)
    if (errors !== 0) t.fail(`memring reported ${errors} internal error(s)`)
  })
  return server
}
