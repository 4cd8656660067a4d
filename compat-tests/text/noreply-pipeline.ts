// noreply on every command that takes it, pipelined requests, large multigets.

import { eq } from '../harness/check.js'
import { suite, test } from '../harness/suite.js'

export default suite('text/noreply-pipelining', 'text', [
  test('storage commands with noreply send nothing', async (ctx) => {
    const c = await ctx.conn()
    c.send('set nr:a 0 0 1 noreply\r\nx\r\n')
    c.send('add nr:a 0 0 1 noreply\r\nx\r\n') // not stored, still silent
    c.send('replace nr:none 0 0 1 noreply\r\nx\r\n')
    c.send('append nr:a 0 0 1 noreply\r\ny\r\n')
    c.send('prepend nr:a 0 0 1 noreply\r\nw\r\n')
    await c.req('get nr:a\r\n', 'VALUE nr:a 0 3\r\nwxy\r\nEND\r\n')
  }),
  test('incr, decr, touch, cas, delete with noreply send nothing', async (ctx) => {
    const c = await ctx.conn()
    c.send('set nr:n 0 0 1 noreply\r\n5\r\n')
    c.send('incr nr:n 1 noreply\r\ndecr nr:n 2 noreply\r\nincr nr:none 1 noreply\r\n')
    c.send('incr nr:n abc noreply\r\n')
    c.send('touch nr:n 100 noreply\r\ntouch nr:none 100 noreply\r\n')
    c.send('cas nr:n 0 0 1 1 noreply\r\nx\r\ncas nr:none 0 0 1 1 noreply\r\nx\r\n')
    await c.req('get nr:n\r\n', 'VALUE nr:n 0 1\r\n4\r\nEND\r\n')
    c.send('delete nr:n noreply\r\ndelete nr:n noreply\r\ndelete nr:n 0 noreply\r\n')
    await c.req('get nr:n\r\n', 'END\r\n')
  }),
  test('flush_all, verbosity, cache_memlimit with noreply send nothing', async (ctx) => {
    const c = await ctx.conn()
    c.send('verbosity 1 noreply\r\nflush_all 0 noreply\r\nflush_all noreply\r\ncache_memlimit 64 noreply\r\n')
    await c.req('version\r\n', 'VERSION ')
    await c.readUntil('\r\n')
    c.expectIdle()
  }),
  test('noreply suppresses a bad data chunk error; the rest of the line is a new command', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set nr:b 0 0 1 noreply\r\nxx\r\nget nr:b\r\n', 'ERROR\r\nEND\r\n')
  }),
  test('noreply is only the exact lower-case word', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set nr:c 0 0 1 NOREPLY\r\nx\r\n', 'STORED\r\n')
    await c.req('set nr:c 0 0 1 whatever\r\nx\r\n', 'STORED\r\n')
  }),
  test('get takes no noreply: it is just another key', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set noreply 0 0 2\r\nnr\r\n', 'STORED\r\n')
    await c.req('get nr:none noreply\r\n', 'VALUE noreply 0 2\r\nnr\r\nEND\r\n')
  }),
  test('100 pipelined commands in one write are answered in order', async (ctx) => {
    const c = await ctx.conn()
    let req = ''
    let exp = ''
    for (let i = 0; i < 50; i++) {
      req += `set pl:${i} ${i} 0 ${String(i).length}\r\n${i}\r\n`
      exp += 'STORED\r\n'
      req += `get pl:${i} pl:none\r\n`
      exp += `VALUE pl:${i} ${i} ${String(i).length}\r\n${i}\r\nEND\r\n`
    }
    await c.req(req, exp)
  }),
  test('commands after quit in the same pipeline are not run', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set pl:q1 0 0 1\r\nx\r\nquit\r\nset pl:q2 0 0 1\r\ny\r\n', 'STORED\r\n')
    await c.expectClosed()
    const d = await ctx.conn()
    await d.req('get pl:q1 pl:q2\r\n', 'VALUE pl:q1 0 1\r\nx\r\nEND\r\n')
  }),
  test('a client that half-closes after its requests still gets every reply', async (ctx) => {
    const c = await ctx.conn()
    c.sock.end('set pl:hc 0 0 2\r\nhi\r\nget pl:hc\r\n')
    await c.expect('STORED\r\nVALUE pl:hc 0 2\r\nhi\r\nEND\r\n')
    await c.expectClosed()
  }),
  test('a pipeline cut into 1-byte writes', async (ctx) => {
    const c = await ctx.conn()
    const req = 'set pl:x 1 0 3\r\nabc\r\nget pl:x\r\ndelete pl:x\r\nget pl:x\r\n'
    for (const ch of req) {
      c.send(ch)
      await new Promise((r) => setImmediate(r))
    }
    await c.expect('STORED\r\nVALUE pl:x 1 3\r\nabc\r\nEND\r\nDELETED\r\nEND\r\n')
  }),
  test('multiget of 1000 keys (a line far over 2048 bytes)', async (ctx) => {
    const c = await ctx.conn()
    let set = ''
    for (let i = 0; i < 1000; i += 2) set += `set mg:key:${i} 0 0 ${String(i).length} noreply\r\n${i}\r\n`
    c.send(set)
    const keys: string[] = []
    let exp = ''
    for (let i = 0; i < 1000; i++) {
      keys.push(`mg:key:${i}`)
      if (i % 2 === 0) exp += `VALUE mg:key:${i} 0 ${String(i).length}\r\n${i}\r\n`
    }
    const line = `get ${keys.join(' ')}\r\n`
    eq(line.length > 10000, true, 'line length')
    await c.req(line, exp + 'END\r\n')
  }),
  test('multiget of 100 values of 10 KiB', async (ctx) => {
    const c = await ctx.conn()
    const v = 'v'.repeat(10240)
    for (let i = 0; i < 100; i++) c.send(`set mgb:${i} ${i} 0 10240 noreply\r\n${v}\r\n`)
    let exp = ''
    const keys: string[] = []
    for (let i = 0; i < 100; i++) { keys.push(`mgb:${i}`); exp += `VALUE mgb:${i} ${i} 10240\r\n${v}\r\n` }
    await c.req(`get ${keys.join(' ')}\r\n`, exp + 'END\r\n')
  }),
])
