// stats and its groups: line format, the field names clients read, and counters that
// move exactly as memcached's do for the commands sent.

import { eq, ok } from '../harness/check.js'
import type { RawConn } from '../harness/raw.js'
import { suite, test } from '../harness/suite.js'
import { diverges, hostsBehind } from '../divergences.js'

async function stats (c: RawConn, group = ''): Promise<Map<string, string>> {
  c.send(`stats${group ? ' ' + group : ''}\r\n`)
  const raw = (await c.readUntil('END\r\n')).toString('latin1')
  const m = new Map<string, string>()
  const lines = raw.split('\r\n')
  eq(lines.pop(), '', 'reply ends with \\r\\n')
  eq(lines.pop(), 'END', 'reply ends with END')
  for (const l of lines) {
    const parts = /^STAT (\S+) (.*)$/.exec(l)
    ok(parts, `"${l}" is a "STAT name value" line`)
    m.set(parts[1], parts[2])
  }
  return m
}

const GENERAL = ['pid', 'uptime', 'time', 'version', 'pointer_size', 'rusage_user', 'rusage_system',
  'max_connections', 'curr_connections', 'total_connections', 'rejected_connections', 'connection_structures',
  'cmd_get', 'cmd_set', 'cmd_flush', 'cmd_touch', 'get_hits', 'get_misses', 'get_expired', 'get_flushed',
  'delete_misses', 'delete_hits', 'incr_misses', 'incr_hits', 'decr_misses', 'decr_hits', 'cas_misses',
  'cas_hits', 'cas_badval', 'touch_hits', 'touch_misses', 'auth_cmds', 'auth_errors', 'bytes_read',
  'bytes_written', 'limit_maxbytes', 'accepting_conns', 'threads', 'bytes', 'curr_items', 'total_items',
  'evictions', 'reclaimed', 'expired_unfetched', 'evicted_unfetched']

export default suite('text/stats', 'text', [
  test('stats: format and the usual fields', async (ctx) => {
    const c = await ctx.conn()
    const s = await stats(c)
    for (const k of GENERAL) ok(s.has(k), `stats has ${k}`)
    ok(/^\d+$/.test(s.get('pid')!), 'pid is a number')
    const now = Date.now() / 1000
    ok(Math.abs(Number(s.get('time')) - now) < 5, `time ${s.get('time')} is the Unix time`)
    // P1: through the proxy the numbers are the sum over the hosts.
    const n = diverges('P1', ctx.target) ? hostsBehind(ctx.target) : 1
    if (ctx.target.kind === 'external') {
      // Started by someone else, with their flags: the figures must agree with its settings.
      const set = await stats(c, 'settings')
      eq(s.get('limit_maxbytes'), set.get('maxbytes'), 'limit_maxbytes is stats settings maxbytes')
      eq(s.get('max_connections'), set.get('maxconns'), 'max_connections is stats settings maxconns')
      return
    }
    eq(s.get('limit_maxbytes'), String(n * 64 * 1024 * 1024), `limit_maxbytes (default -m 64${n > 1 ? `, summed over ${n} hosts` : ''})`)
    eq(s.get('max_connections'), '1024', 'max_connections (default -c 1024, not summed)')
  }),
  test('counters move with the commands', async (ctx) => {
    const c = await ctx.conn()
    const a = await stats(c)
    await c.req('set sx:a 0 0 1\r\n1\r\nget sx:a sx:none\r\n', 'STORED\r\nVALUE sx:a 0 1\r\n1\r\nEND\r\n')
    await c.req('incr sx:a 1\r\nincr sx:none 1\r\ndecr sx:a 1\r\n', '2\r\nNOT_FOUND\r\n1\r\n')
    await c.req('touch sx:a 100\r\ntouch sx:none 1\r\n', 'TOUCHED\r\nNOT_FOUND\r\n')
    await c.req('cas sx:a 0 0 1 1\r\nx\r\ncas sx:none 0 0 1 1\r\nx\r\n', 'EXISTS\r\nNOT_FOUND\r\n')
    await c.req('delete sx:a\r\ndelete sx:a\r\n', 'DELETED\r\nNOT_FOUND\r\n')
    const b = await stats(c)
    const d = (k: string): number => Number(b.get(k)) - Number(a.get(k))
    const want: Record<string, number> = {
      cmd_get: 2, get_hits: 1, get_misses: 1, cmd_set: 3, incr_hits: 1, incr_misses: 1, decr_hits: 1,
      decr_misses: 0, touch_hits: 1, touch_misses: 1, cmd_touch: 2, cas_badval: 1, cas_misses: 1,
      cas_hits: 0, delete_hits: 1, delete_misses: 1, total_items: 1, // in-place incr/decr store no new item
    }
    for (const [k, v] of Object.entries(want)) eq(d(k), v, `change of ${k}`)
  }),
  test('curr_items and curr_connections', async (ctx) => {
    const s = await ctx.spawn({ fresh: true })
    const c = await ctx.conn(s)
    await c.req('set sx:1 0 0 1\r\n1\r\nset sx:2 0 0 1\r\n2\r\n', 'STORED\r\nSTORED\r\n')
    const d = await ctx.conn(s)
    await d.req('version\r\n', 'VERSION ')
    const st = await stats(c)
    eq(st.get('curr_items'), '2', 'curr_items')
    eq(st.get('curr_connections'), '2', 'curr_connections')
  }),
  test('stats reset', async (ctx) => {
    const c = await ctx.conn()
    await c.req('get sx:none\r\n', 'END\r\n')
    await c.req('stats reset\r\n', 'RESET\r\n')
    const s = await stats(c)
    eq(s.get('get_misses'), '0', 'get_misses after reset')
    eq(s.get('cmd_get'), '0', 'cmd_get after reset')
  }),
  test('stats settings', async (ctx) => {
    const srv = await ctx.spawn({ flags: ['-m', '32', '-c', '200', '-I', '2m'] })
    const c = await ctx.conn(srv)
    const s = await stats(c, 'settings')
    // P1: through the proxy `stats settings` is the first host's, except maxbytes, summed.
    const n = diverges('P1', ctx.target) ? hostsBehind(ctx.target) : 1
    eq(s.get('maxbytes'), String(n * 32 * 1024 * 1024), 'maxbytes')
    eq(s.get('maxconns'), '200', 'maxconns')
    if (n === 1) eq(s.get('tcpport'), String(srv.port), 'tcpport')
    else ok(/^\d+$/.test(s.get('tcpport') ?? '') && s.get('tcpport') !== String(srv.port), `tcpport ${s.get('tcpport')} is the first host's, not the proxy's`)
    eq(s.get('item_size_max'), String(2 * 1024 * 1024), 'item_size_max')
    eq(s.get('evictions'), 'on', 'evictions')
    eq(s.get('cas_enabled'), 'yes', 'cas_enabled')
    eq(s.get('growth_factor'), '1.25', 'growth_factor')
    eq(s.get('chunk_size'), '48', 'chunk_size')
  }),
  test('stats items and stats slabs', async (ctx) => {
    const srv = await ctx.spawn({ fresh: true })
    const c = await ctx.conn(srv)
    await c.req('set sx:i 0 0 5\r\nhello\r\n', 'STORED\r\n')
    const it = await stats(c, 'items')
    const numbers = [...it.entries()].filter(([k]) => /^items:\d+:number$/.test(k))
    eq(numbers.length, 1, 'one slab class holds items')
    eq(numbers[0][1], '1', 'its item count')
    for (const k of ['age', 'evicted', 'outofmemory', 'reclaimed']) {
      ok(it.has(numbers[0][0].replace(/number$/, k)), `stats items has ${k}`)
    }
    const sl = await stats(c, 'slabs')
    ok(sl.has('active_slabs') && sl.has('total_malloced'), 'stats slabs has active_slabs and total_malloced')
    const cls = numbers[0][0].split(':')[1]
    for (const k of ['chunk_size', 'chunks_per_page', 'total_pages', 'total_chunks', 'used_chunks', 'free_chunks', 'get_hits', 'cmd_set']) {
      ok(sl.has(`${cls}:${k}`), `stats slabs has ${cls}:${k}`)
    }
    eq(sl.get(`${cls}:used_chunks`), '1', 'used_chunks')
  }),
  test('stats sizes, stats conns, unknown group', async (ctx) => {
    const c = await ctx.conn()
    await c.req('stats sizes\r\n', 'STAT sizes_status disabled\r\nEND\r\n')
    const cn = await stats(c, 'conns')
    ok([...cn.keys()].some((k) => /^\d+:addr$/.test(k)), 'stats conns lists connections with addr')
    if (diverges('P2', ctx.target)) {
      // P2: the proxy forwards the group; the hosts list the proxy's backend connections.
      ok(![...cn.values()].includes(`tcp:127.0.0.1:${c.sock.localPort}`), 'stats conns through the proxy does not show the client\'s connection')
      ok([...cn.entries()].some(([k, v]) => /^\d+:listen_addr$/.test(k) && /^tcp:127\.0\.0\.1:\d+$/.test(v)), 'it shows a host\'s listen_addr')
    } else {
      ok([...cn.values()].includes(`tcp:127.0.0.1:${c.sock.localPort}`), 'stats conns shows this connection')
    }
    await c.req('stats bogus\r\n', 'ERROR\r\n')
  }),
])
