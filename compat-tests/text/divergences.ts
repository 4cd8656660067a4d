// The tests that pin compat-tests/README.md's "Documented divergences" D1-D2 (and, since D3-D4 were fixed, the same checks on every target): each one
// asserts memcached 1.6.18's behaviour on the memcached target and memring's documented
// behaviour where diverges() says so. An external HOST:PORT may be either, so they skip there.
// The proxy divergences (P entries) are pinned in the suites of the fields they touch.

import dgram from 'node:dgram'
import { eq, ok } from '../harness/check.js'
import { line } from '../harness/raw.js'
import { suite, test } from '../harness/suite.js'
import { diverges } from '../divergences.js'

/** A UDP port on loopback that was free a moment ago. */
function freeUdpPort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4')
    s.once('error', reject)
    s.bind(0, '127.0.0.1', () => {
      const port = s.address().port
      s.close(() => resolve(port))
    })
  })
}

/** Sends one memcached UDP request (8-byte frame header, then the command); the reply datagram or null after waitMs. */
function udpRequest (port: number, cmd: string, waitMs: number): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4')
    const frame = Buffer.alloc(8)
    frame.writeUInt16BE(0x1234, 0) // request id, echoed back
    frame.writeUInt16BE(0, 2) // sequence number
    frame.writeUInt16BE(1, 4) // datagrams in this request
    const done = (v: Buffer | null): void => { clearTimeout(timer); s.close(); resolve(v) }
    const timer = setTimeout(() => done(null), waitMs)
    s.on('message', (m) => done(m))
    s.on('error', () => done(null))
    s.send(Buffer.concat([frame, Buffer.from(cmd, 'latin1')]), port, '127.0.0.1')
  })
}

import type { Ctx } from '../harness/suite.js'

function knownServer (ctx: Ctx): void {
  if (ctx.target.kind === 'external') ctx.skip('pins a memcached/memring difference; an external server could be either')
}

export default suite('text/documented-divergences', 'text', [
  test('D1 -U PORT: accepted, TCP served, UDP only on memcached', async (ctx) => {
    if (ctx.target.kind === 'proxy') ctx.skip('-U configures a host\'s listener; memring-proxy takes no -U (covered on the memring target)')
    const udp = await freeUdpPort()
    const s = await ctx.spawn({ flags: ['-U', String(udp)] })
    const c = await ctx.conn(s)
    await c.req('version\r\n', 'VERSION ', line(), '\r\n')
    await c.req('set udp 0 0 2\r\nok\r\n', 'STORED\r\n')
    if (diverges('D1', ctx.target)) {
      // Absence of a reply can only be observed by waiting; 1 s is 100x memcached's answer time here.
      const r = await udpRequest(udp, 'get udp\r\n', 1000)
      eq(r === null ? 'no reply' : `reply ${JSON.stringify(r.toString('latin1'))}`, 'no reply', 'UDP get to the -U port')
      await c.req('get udp\r\n', 'VALUE udp 0 2\r\nok\r\nEND\r\n')
    } else {
      let r: Buffer | null = null
      await ctx.waitFor('a UDP reply', async () => (r = await udpRequest(udp, 'get udp\r\n', 300)) !== null, 5000, 0)
      const reply = r as unknown as Buffer
      eq(reply.readUInt16BE(0), 0x1234, 'request id echoed')
      eq(reply.readUInt16BE(4), 1, 'one datagram')
      eq(reply.subarray(8).toString('latin1'), 'VALUE udp 0 2\r\nok\r\nEND\r\n', 'UDP reply body')
    }
  }),
  test('D2 a get line over 8 MiB without a newline', async (ctx) => {
    knownServer(ctx)
    const c = await ctx.conn()
    c.send('get ').send(Buffer.alloc(8 * 1024 * 1024 + 65536, 0x61))
    if (diverges('D2', ctx.target)) {
      await c.expectClosed(5000)
    } else {
      // memcached keeps reading a get line of any length; the key is then too long.
      c.send('\r\nversion\r\n')
      await c.expectWithin(10000, 'CLIENT_ERROR bad command line format\r\nVERSION ', line(), '\r\n')
    }
  }, 20000),
  // Formerly D3 (memring answered just END): now the same on every target.
  test('stats cachedump 1 1 lists the item once it is in the cold LRU', async (ctx) => {
    knownServer(ctx)
    const c = await ctx.conn()
    await c.req('set cd:k 0 0 1\r\nx\r\n', 'STORED\r\n')
    // New items enter the hot LRU; the dump reads the cold one, where the LRU
    // maintainer moves an idle item within about a second.
    await ctx.waitFor('the item in the cold LRU', async () => {
      c.send('stats cachedump 1 1\r\n')
      const r = (await c.readUntil('END\r\n')).toString('latin1')
      if (r === 'END\r\n') return false
      eq(r, 'ITEM cd:k [1 b; 0 s]\r\nEND\r\n', 'cachedump reply')
      return true
    }, 5000, 100)
  }),
  // Formerly D4 (memring answered ERROR metadump not allowed): now only the proxy does (P4).
  test('P4 lru_crawler metadump all', async (ctx) => {
    knownServer(ctx)
    const c = await ctx.conn()
    await c.req('set mdk 0 0 1\r\nx\r\n', 'STORED\r\n')
    if (diverges('P4', ctx.target)) {
      await c.req('lru_crawler metadump all\r\n', 'ERROR metadump not allowed\r\n')
      return
    }
    c.send('lru_crawler metadump all\r\n')
    const r = (await c.readUntil('END\r\n', 5000)).toString('latin1')
    // One line per item, URL-encoded key, ended by a bare \n; only END has \r\n.
    ok(/(^|\n)key=mdk exp=-1 la=\d+ cas=\d+ fetch=no cls=1 size=\d+\n/.test(r), `metadump lists mdk: ${JSON.stringify(r.slice(0, 300))}`)
    await c.req('mn\r\n', 'MN\r\n')
  }),
])
