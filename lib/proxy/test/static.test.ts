// memring-proxy over a static list of three real memring servers: routing, multi-get
// split and merge in key order, noreply, meta (quiet too), fan-out of flush_all and
// stats, local version/mn, and placement identical to libmemcached ketama.
import t from 'tap'
import { createProxy, type MemringProxy } from '../proxy.js'
import { startServer } from '../../testing/servers.js'
import { rawClient } from '../../testing/raw-client.js'
import { libmemcachedKetama } from '../../ring/index.js'
import type { MemringServer } from '../../server/server.js'
import type { Teardown } from '../../testing/zookeeper.js'

async function proxyOver (t: Teardown, servers: MemringServer[]): Promise<MemringProxy> {
  const p = createProxy({ port: 0, topology: { kind: 'static', servers: servers.map((s) => ({ host: '127.0.0.1', port: s.port })) } })
  await p.start()
  t.teardown(() => p.close())
  return p
}

t.test('three servers behind the proxy', async (t) => {
  const servers = [await startServer(t), await startServer(t), await startServer(t)]
  const proxy = await proxyOver(t, servers)
  const c = await rawClient(t, proxy.port)
  const keys = Array.from({ length: 40 }, (_, i) => `key:${i}`)

  t.test('keys land where libmemcached ketama puts them, and read back through the proxy', async (t) => {
    for (const k of keys) c.write(`set ${k} ${k.length} 0 ${k.length + 2}\r\nv=${k}\r\n`)
    t.same(await c.lines(keys.length), keys.map(() => 'STORED'))
    const ring = libmemcachedKetama(servers.map((s) => ({ host: '127.0.0.1', port: s.port })))
    let placed = 0
    for (const k of keys) {
      const owner = servers[ring.serverOf(k)]!
      const own = await rawClient(t, owner.port)
      own.write(`get ${k}\r\n`)
      if ((await own.until('END\r\n')).includes(`v=${k}`)) placed++
      own.end()
    }
    t.equal(placed, keys.length, 'every key is on its ketama server')
    const perServer = servers.map((s) => s.store.counters.curr_items)
    t.ok(perServer.every((n) => n > 0), `spread over all three: ${perServer.join('/')}`)
  })

  t.test('a multi-get over every shard answers in key order, misses skipped, duplicates kept', async (t) => {
    const ask = ['key:3', 'nope', ...keys.slice(10, 30), 'key:3']
    c.write(`get ${ask.join(' ')}\r\n`)
    const reply = await c.until('END\r\n')
    const got = [...reply.matchAll(/VALUE (\S+) /g)].map((m) => m[1])
    t.same(got, ask.filter((k) => k !== 'nope'))
    t.match(reply, /VALUE key:12 6 8\r\nv=key:12\r\n/)
    c.write(`gets key:1 key:2\r\n`)
    t.match(await c.until('END\r\n'), /^VALUE key:1 5 7 \d+\r\nv=key:1\r\nVALUE key:2 5 7 \d+\r\nv=key:2\r\nEND\r\n$/)
  })

  t.test('noreply writes send nothing back; later replies stay in order', async (t) => {
    c.write('set nr 0 0 1 noreply\r\nx\r\ndelete key:0 noreply\r\nincr nope 1 noreply\r\nget nr key:0\r\nversion\r\n')
    t.same(await c.lines(4), ['VALUE nr 0 1', 'x', 'END', 'VERSION 1.6.18'])
  })

  t.test('storage, counters, touch, cas through the proxy', async (t) => {
    c.write('add a1 0 0 1\r\n1\r\nadd a1 0 0 1\r\n2\r\nincr a1 41\r\ndecr a1 2\r\ntouch a1 100\r\nappend a1 0 0 1\r\nx\r\ndelete a1\r\ndelete a1\r\n')
    t.same(await c.lines(8), ['STORED', 'NOT_STORED', '42', '40', 'TOUCHED', 'STORED', 'DELETED', 'NOT_FOUND'])
    c.write('set c1 0 0 1\r\n1\r\ngets c1\r\n')
    const cas = /VALUE c1 0 1 (\d+)/.exec(await c.until('END\r\n'))![1]
    c.write(`cas c1 0 0 1 ${cas}\r\n2\r\ncas c1 0 0 1 ${cas}\r\n3\r\n`)
    t.same(await c.lines(2), ['STORED', 'EXISTS'])
  })

  t.test('bad lines answer like memcached without reaching a backend', async (t) => {
    c.write(`set ${'k'.repeat(251)} 0 0 1\r\nget\r\nbogus\r\nset x 0 0 z\r\n`)
    t.same(await c.lines(4), ['CLIENT_ERROR bad command line format', 'ERROR', 'ERROR', 'CLIENT_ERROR bad command line format'])
    c.write('shutdown\r\n')
    t.same(await c.lines(1), ['ERROR: shutdown not enabled'])
  })

  t.test('meta commands route by key; quiet ones stay quiet; mn is answered in order', async (t) => {
    c.write('ms mk 2 T0\r\nhi\r\nmg mk v\r\nmg missing v q\r\nmg mk s v q\r\nmn\r\nmd mk q\r\nmg mk v\r\n')
    t.same(await c.lines(7), ['HD', 'VA 2', 'hi', 'VA 2 s2', 'hi', 'MN', 'EN'])
    // base64 keys route by the decoded bytes: the same item as its plain name.
    c.write(`ms ${Buffer.from('b64key').toString('base64')} 1 b\r\nz\r\nmg b64key v\r\n`)
    t.same(await c.lines(3), ['HD', 'VA 1', 'z'])
  })

  t.test('flush_all and stats fan out; stats proxy is local', async (t) => {
    c.write('stats\r\n')
    const stats = await c.until('END\r\n')
    const items = Number(/STAT curr_items (\d+)/.exec(stats)![1])
    t.equal(items, servers.reduce((n, s) => n + s.store.counters.curr_items, 0), 'curr_items summed over hosts')
    t.match(stats, new RegExp(`STAT pid ${process.pid}\r\n`), 'pid is the proxy\'s')
    c.write('flush_all\r\nget key:1\r\n')
    t.same(await c.lines(2), ['OK', 'END'])
    c.write('stats proxy\r\n')
    const ps = await c.until('END\r\n')
    t.match(ps, /STAT proxy_split_gets [1-9]/)
    t.match(ps, /STAT backends 3\r\n/)
    t.match(ps, /STAT backends_down 0\r\n/)
  })

  t.test('a deep pipeline of mixed requests from several clients stays ordered per client', async (t) => {
    const clients = await Promise.all([1, 2, 3].map(() => rawClient(t, proxy.port)))
    const expect: string[][] = []
    clients.forEach((cl, ci) => {
      let req = ''
      const exp: string[] = []
      for (let i = 0; i < 200; i++) {
        const k = `p${ci}:${i}`
        req += `set ${k} 0 0 ${String(i).length}\r\n${i}\r\nget ${k} p${ci}:${i - 1}\r\n`
        exp.push('STORED', `VALUE ${k} 0 ${String(i).length}`, String(i))
        if (i > 0) exp.push(`VALUE p${ci}:${i - 1} 0 ${String(i - 1).length}`, String(i - 1))
        exp.push('END')
      }
      cl.write(req)
      expect.push(exp)
    })
    const got = await Promise.all(clients.map((cl, i) => cl.lines(expect[i]!.length)))
    t.same(got, expect)
  })
})

t.test('a client that half-closes after its requests still gets every reply', async (t) => {
  const servers = [await startServer(t), await startServer(t)]
  const proxy = await proxyOver(t, servers)
  const { exchange } = await import('../../testing/raw-client.js')
  const reply = await exchange(proxy.port, 'set hc 0 0 2\r\nhi\r\nget hc\r\nget a b c d e f\r\nversion\r\n')
  t.equal(reply.toString(), 'STORED\r\nVALUE hc 0 2\r\nhi\r\nEND\r\nEND\r\nVERSION 1.6.18\r\n')
})
