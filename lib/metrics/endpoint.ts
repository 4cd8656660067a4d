/**
 * The HTTP endpoint Prometheus scrapes: GET /metrics answers the registry in the text
 * exposition format; anything else is 404. Its own listener, apart from the cache port,
 * so a scrape never shares a socket or a parser with memcached clients.
 */
import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'

export interface MetricsEndpoint {
  readonly port: number
  close (): Promise<void>
}

export async function startMetricsEndpoint (reg: Registry, port: number, host: string | undefined): Promise<MetricsEndpoint> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n')
      return
    }
    reg.metrics().then((body) => {
      res.writeHead(200, { 'content-type': reg.contentType }).end(body)
    }, (err: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(err)}\n`)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen({ port, host }, () => { server.off('error', reject); resolve() })
  })
  const a = server.address()
  return {
    port: a !== null && typeof a === 'object' ? a.port : 0,
    close: async () => await new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    }),
  }
}
