// Behaviour that depends on memcached's command-line flags: -M (no eviction),
// -c (connection limit), -A (shutdown), -F (no flush_all), -C (no CAS), -Y (ASCII auth).
// Each test starts a server of its own with those flags.

import fs from 'node:fs'
import path from 'node:path'
import { eq, ok } from '../harness/check.js'
import { RawConn } from '../harness/raw.js'
import { suite, test, type Ctx } from '../harness/suite.js'
import { diverges, hostsBehind } from '../divergences.js'

/** Flags that configure the process clients connect to: memring-proxy does not take them. */
function frontendFlag (ctx: Ctx, flag: string): void {
  if (ctx.target.kind === 'proxy') ctx.skip(`${flag} configures the process clients connect to; memring-proxy has its own options and does not pass it on`)
}

export default suite('text/server-flags', 'text', [
  test('-M: out of memory is an error, not an eviction', async (ctx) => {
    const s = await ctx.spawn({ flags: ['-m', '2', '-M'] })
    const c = await ctx.conn(s)
    const v = Buffer.alloc(100000, 0x61)
    let stored = 0
    let oom = 0
    for (let i = 0; i < 80 && oom === 0; i++) {
      c.send(`set oom:${i} 0 0 ${v.length}\r\n`).send(v).send('\r\n')
      const r = (await c.readUntil('\r\n')).toString()
      if (r === 'STORED\r\n') stored++
      else { eq(r, 'SERVER_ERROR out of memory storing object\r\n', 'reply once memory is full'); oom++ }
    }
    ok(oom === 1 && stored >= 1, `memory filled up after ${stored} items`)
    await c.req('get oom:0\r\n', 'VALUE oom:0 0 100000\r\n', v, '\r\nEND\r\n')
    c.send('stats\r\n')
    const st = (await c.readUntil('END\r\n')).toString()
    ok(st.includes('\r\nSTAT evictions 0\r\n'), 'no evictions')
  }, 15000),
  test('-m 8: writing 4x the memory evicts old items, counts them, never errors', async (ctx) => {
    const s = await ctx.spawn({ flags: ['-m', '8'] })
    const c = await ctx.conn(s)
    const v = Buffer.alloc(50000, 0x61)
    for (let i = 0; i < 640; i++) {
      c.send(`set ev:${i} 0 0 ${v.length}\r\n`).send(v).send('\r\n')
      await c.expect('STORED\r\n')
    }
    await c.req('get ev:0\r\n', 'END\r\n')
    await c.req('get ev:639\r\n', 'VALUE ev:639 0 50000\r\n', v, '\r\nEND\r\n')
    c.send('stats\r\n')
    const st = (await c.readUntil('END\r\n')).toString()
    const ev = Number(/\r\nSTAT evictions (\d+)\r\n/.exec(st)?.[1])
    const items = Number(/\r\nSTAT curr_items (\d+)\r\n/.exec(st)?.[1])
    ctx.note(`${items} items kept, ${ev} evicted`)
    // P3: -m is per host, so behind the proxy N hosts keep about N times the items.
    const n = diverges('P3', ctx.target) ? hostsBehind(ctx.target) : 1
    ok(ev > Math.min(300, 640 - n * 200) && items > n * 50 && items < n * 200 && ev + items === 640, `evictions ${ev} + curr_items ${items} = 640, most evicted (${n} host${n > 1 ? 's' : ''})`)
  }, 20000),
  test('-m 8: an item read regularly survives the evictions (LRU)', async (ctx) => {
    const s = await ctx.spawn({ flags: ['-m', '8'] })
    const c = await ctx.conn(s)
    const v = Buffer.alloc(50000, 0x62)
    const set = async (k: string): Promise<void> => {
      c.send(`set ${k} 0 0 ${v.length}\r\n`).send(v).send('\r\n')
      await c.expect('STORED\r\n')
    }
    await set('lru:keep')
    await set('lru:drop')
    for (let i = 0; i < 600; i++) {
      await set(`lru:f${i}`)
      if (i % 10 === 0) await c.req('get lru:keep\r\n', 'VALUE lru:keep 0 50000\r\n', v, '\r\nEND\r\n')
    }
    await c.req('get lru:drop\r\n', 'END\r\n')
    await c.req('get lru:keep\r\n', 'VALUE lru:keep 0 50000\r\n', v, '\r\nEND\r\n')
  }, 20000),
  test('-o no_modern: items up to a page are not chunked, so 101 near-1 MiB items in 64 MB evict exactly 37', async (ctx) => {
    // memcached's t/lru.t: no_modern sets slab_chunk_max to the page size (1 MiB), so each
    // item takes one 1 MiB chunk of the largest class and 64 pages hold 64 of them.
    if (ctx.target.kind === 'proxy') ctx.skip('counts the evictions and pages of one server; the proxy splits the keys over two')
    const s = await ctx.spawn({ flags: ['-o', 'no_modern'] })
    const c = await ctx.conn(s)
    c.send('stats settings\r\n')
    ok((await c.readUntil('END\r\n')).toString().includes('\r\nSTAT slab_chunk_max 1048576\r\n'), 'slab_chunk_max is the page size')
    const v = Buffer.alloc(1024 * 1024 - 250, 0x78)
    for (let i = 0; i < 101; i++) {
      c.send(`set nm:${i} 0 0 ${v.length}\r\n`).send(v).send('\r\n')
      await c.expect('STORED\r\n')
    }
    c.send('stats\r\n')
    const st = (await c.readUntil('END\r\n')).toString()
    ok(st.includes('\r\nSTAT evictions 37\r\n') && st.includes('\r\nSTAT curr_items 64\r\n'), `37 evictions, 64 items: ${st.split('\r\n').filter((l) => /evictions |curr_items/.test(l)).join(', ')}`)
    c.send('stats slabs\r\n')
    const sl = (await c.readUntil('END\r\n')).toString()
    ok(sl.includes('\r\nSTAT active_slabs 1\r\n') && sl.includes(':chunk_size 1048576\r\n'), 'one class, 1 MiB chunks')
    await c.req('get nm:0\r\n', 'END\r\n')
    await c.req('get nm:100\r\n', 'VALUE nm:100 0 1048326\r\n', v, '\r\nEND\r\n')
  }, 30000),
  test('-o temporary_ttl=61: a short-TTL item goes to the TEMP LRU and survives the evictions long-TTL items cause', async (ctx) => {
    // memcached's t/lru-maintainer.t: the canary (TTL 30 <= 61) is never evicted, unfetched,
    // while 100 items of its size with TTL 3600 push the class through its memory.
    if (ctx.target.kind === 'proxy') ctx.skip('counts one server\'s LRU lists; the proxy splits the keys over two')
    const s = await ctx.spawn({ flags: ['-m', '2', '-o', 'lru_maintainer,lru_crawler,temporary_ttl=61'] })
    const c = await ctx.conn(s)
    const v = Buffer.alloc(66560, 0x42)
    c.send(`set canary 0 30 ${v.length}\r\n`).send(v).send('\r\n')
    await c.expect('STORED\r\n')
    for (let i = 0; i < 100; i++) {
      c.send(`set key${i} 0 3600 ${v.length}\r\n`).send(v).send('\r\n')
      await c.expect('STORED\r\n')
    }
    c.send('stats items\r\n')
    const st = (await c.readUntil('END\r\n')).toString()
    const row = (name: string): number => Number(new RegExp(`STAT items:\\d+:${name} (\\d+)`).exec(st)?.[1] ?? -1)
    ok(row('number_temp') === 1, `one item in the TEMP LRU (number_temp ${row('number_temp')})`)
    ok(row('evicted') > 0, `the long-TTL items evicted each other (evicted ${row('evicted')})`)
    await c.req('get canary\r\n', 'VALUE canary 0 66560\r\n', v, '\r\nEND\r\n')
  }, 30000),
  test('-o idle_timeout=2: an idle connection is closed, a busy one is not', async (ctx) => {
    frontendFlag(ctx, '-o idle_timeout')
    const s = await ctx.spawn({ flags: ['-o', 'idle_timeout=2'] })
    const idle = await ctx.conn(s)
    const busy = await ctx.conn(s)
    const t0 = Date.now()
    const closed = idle.expectClosed(8000)
    while (Date.now() - t0 < 3500) {
      await busy.req('version\r\n', 'VERSION ')
      await busy.readUntil('\r\n')
      await new Promise((r) => setTimeout(r, 250))
    }
    await closed
    const took = Date.now() - t0
    ctx.note(`idle connection closed after ${took} ms`)
    ok(took >= 1500, `closed after ${took} ms, not before the timeout`)
    await busy.req('mn\r\n', 'MN\r\n')
  }, 15000),
  test('-c: connections over the limit get an error and are closed', async (ctx) => {
    frontendFlag(ctx, '-c (the proxy has --conn-limit)')
    const s = await ctx.spawn({ flags: ['-c', '30'] })
    const conns: RawConn[] = []
    let refused = 0
    for (let i = 0; i < 45; i++) {
      const c = await ctx.conn(s)
      conns.push(c)
      c.send('version\r\n')
      const r = (await c.readUntil('\r\n')).toString()
      if (r.startsWith('VERSION ')) continue
      eq(r, 'ERROR Too many open connections\r\n', 'reply over the limit')
      await c.expectClosed()
      refused++
    }
    const accepted = 45 - refused
    ctx.note(`${accepted} of 45 accepted with -c 30`)
    ok(refused > 0 && accepted <= 30 && accepted >= 5, `accepted ${accepted} with -c 30`)
    for (const c of conns) c.close()
    const again = await ctx.conn(s)
    await ctx.waitFor('a free slot after closing', async () => {
      const c = await ctx.conn(s)
      c.send('version\r\n')
      return (await c.readUntil('\r\n')).toString().startsWith('VERSION ')
    }, 3000, 100)
    again.close()
  }, 15000),
  test('-A: shutdown stops the server', async (ctx) => {
    frontendFlag(ctx, '-A (shutdown)')
    const s = await ctx.spawn({ flags: ['-A'] })
    const c = await ctx.conn(s)
    await c.req('version\r\n', 'VERSION ')
    await c.readUntil('\r\n')
    c.send('shutdown\r\n')
    await c.expectClosed()
    await ctx.waitFor('the server to exit', () => s.exitCode() !== null, 5000)
  }),
  test('-F: flush_all is refused', async (ctx) => {
    const s = await ctx.spawn({ flags: ['-F'] })
    const c = await ctx.conn(s)
    await c.req('set fx 0 0 1\r\nx\r\n', 'STORED\r\n')
    await c.req('flush_all\r\n', 'CLIENT_ERROR flush_all not allowed\r\n')
    await c.req('get fx\r\n', 'VALUE fx 0 1\r\nx\r\nEND\r\n')
  }),
  test('-C: no CAS uniques', async (ctx) => {
    const s = await ctx.spawn({ flags: ['-C'] })
    const c = await ctx.conn(s)
    await c.req('set cx 0 0 1\r\nx\r\n', 'STORED\r\n')
    await c.req('gets cx\r\n', 'VALUE cx 0 1 0\r\nx\r\nEND\r\n')
    await c.req('cas cx 0 0 1 0\r\ny\r\n', 'EXISTS\r\n')
    await c.req('stats settings\r\n', 'STAT ')
    ok((await c.readUntil('END\r\n')).toString().includes('\r\nSTAT cas_enabled no\r\n'), 'cas_enabled no')
  }),
  test('-Y: ASCII authentication with an auth file', async (ctx) => {
    frontendFlag(ctx, '-Y (ASCII authentication)')
    const dir = ctx.tmpDir()
    const file = path.join(dir, 'auth')
    fs.writeFileSync(file, 'alice:secret\nbob:pw2\n')
    const s = await ctx.spawn({ flags: ['-Y', file] })
    const c = await ctx.conn(s)
    await c.req('get a\r\n', 'CLIENT_ERROR unauthenticated\r\n')
    await c.req('version\r\n', 'CLIENT_ERROR unauthenticated\r\n')
    await c.req('set auth 0 0 11\r\nalice wrong\r\n', 'CLIENT_ERROR authentication failure\r\n')
    await c.req('set auth 0 0 5\r\nalice\r\n', 'CLIENT_ERROR bad authentication token format\r\n')
    await c.req('set auth 0 0 12\r\nalice secret\r\n', 'STORED\r\n')
    await c.req('get auth\r\n', 'END\r\n')
    await c.req('set k 0 0 1\r\nv\r\n', 'STORED\r\n')
    await c.req('get k\r\n', 'VALUE k 0 1\r\nv\r\nEND\r\n')
    const d = await ctx.conn(s)
    await d.req('set anything 5 0 7\r\nbob pw2\r\n', 'STORED\r\n')
    await d.req('mn\r\n', 'MN\r\n')
    await d.req('get k\r\n', 'VALUE k 0 1\r\nv\r\nEND\r\n')
  }),
])
