// memring-proxy forwards meta lines unchanged, so memcached 1.6.27's E(token) and md x
// reach hosts started with -o meta_e, and hosts without it refuse them as 1.6.18 does.
// Two real memring servers behind a real proxy; each check also reads the owning host
// directly, so a proxy that rewrote or dropped the flags would fail here.
import t, { type Test } from 'tap'
import { createProxy } from '../proxy.js'
import { startServer } from '../../testing/servers.js'
import { rawClient } from '../../testing/raw-client.js'
import type { MemringServer } from '../../server/server.js'
import type { Teardown } from '../../testing/zookeeper.js'

async function proxyPort (t: Teardown, servers: MemringServer[]): Promise<number> {
  const p = createProxy({ port: 0, topology: { kind: 'static', servers: servers.map((s) => ({ host: '127.0.0.1', port: s.port })) } })
  await p.start()
  t.teardown(() => p.close())
  return p.port
}

/** The server holding `key` (asked directly, without the proxy). */
async function owner (t: Test, servers: MemringServer[], key: string): Promise<MemringServer> {
  for (const s of servers) {
    const c = await rawClient(t, s.port)
    c.write(`mg ${key} c\r\n`)
    const line = (await c.lines(1))[0]
    c.end()
    if (line.startsWith('HD')) return s
  }
  throw new Error(`${key} is on no server`)
}

t.test('E and x through the proxy to -o meta_e hosts', async (t) => {
  const servers = [await startServer(t, { metaE: true }), await startServer(t, { metaE: true })]
  const c = await rawClient(t, await proxyPort(t, servers))
  const keys = Array.from({ length: 8 }, (_, i) => `ek:${i}`)
  for (const [i, k] of keys.entries()) c.write(`ms ${k} 2 E${1000 + i} c\r\nab\r\n`)
  t.same(await c.lines(keys.length), keys.map((_, i) => `HD c${1000 + i}`), 'ms E: the CAS comes back')
  for (const [i, k] of keys.entries()) {
    const host = await rawClient(t, (await owner(t, servers, k)).port)
    host.write(`mg ${k} c v\r\n`)
    t.same(await host.lines(2), [`VA 2 c${1000 + i}`, 'ab'], `${k} on its host has CAS ${1000 + i}`)
    host.end()
  }
  c.write('md ek:0 x F7 E5 q\r\nmn\r\nmg ek:0 f c v\r\n')
  t.same(await c.lines(3), ['MN', 'VA 0 f7 c5', ''], 'md x through the proxy: an empty item with F and E')
  c.write('ma cnt N0 J7 E77 c v\r\n')
  t.same(await c.lines(2), ['VA 1 c77', '7'], 'ma vivify with E')
})

t.test('hosts without -o meta_e refuse E and x through the proxy as memcached 1.6.18 does', async (t) => {
  const servers = [await startServer(t), await startServer(t)]
  const c = await rawClient(t, await proxyPort(t, servers))
  c.write('ms k 1 E5\r\na\r\nmd k x\r\nma k E5\r\nmg k E5\r\nms k 1 c\r\nb\r\n')
  const lines = await c.lines(5)
  t.same(lines.slice(0, 4), [
    'CLIENT_ERROR invalid flag', 'CLIENT_ERROR invalid or duplicate flag',
    'CLIENT_ERROR invalid or duplicate flag', 'CLIENT_ERROR invalid flag',
  ])
  t.match(lines[4], /^HD c\d+$/, 'the stream stays in sync after the refused ms data block')
})
