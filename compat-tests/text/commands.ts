// Command-line parsing: unknown commands, wrong argument counts, case, whitespace,
// bare \n line endings (accepted on command lines, not as data terminators).

import { suite, test } from '../harness/suite.js'

export default suite('text/command-lines', 'text', [
  test('unknown and malformed commands: ERROR', async (ctx) => {
    const c = await ctx.conn()
    await c.req('bogus\r\n', 'ERROR\r\n')
    await c.req('GET a\r\n', 'ERROR\r\n')
    await c.req('get\r\n', 'ERROR\r\n')
    await c.req('\r\n', 'ERROR\r\n')
    await c.req('set cl:a 0 0\r\n', 'ERROR\r\n')
    await c.req('set\r\n', 'ERROR\r\n')
    await c.req('cas cl:a 0 0 1\r\n', 'ERROR\r\n')
    await c.req('touch\r\n', 'ERROR\r\n')
    await c.req('incr cl:a\r\n', 'ERROR\r\n')
  }),
  test('bad numbers in storage commands: CLIENT_ERROR, the data line becomes a command', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set cl:a x 0 1\r\nx\r\n', 'CLIENT_ERROR bad command line format\r\nERROR\r\n')
    await c.req('cas cl:a 0 0 1 x\r\nq\r\n', 'CLIENT_ERROR bad command line format\r\nERROR\r\n')
    await c.req('get cl:a\r\n', 'END\r\n')
  }),
  test('extra spaces between tokens and around the line are ignored', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set  cl:sp  0  0  1 \r\nx\r\n', 'STORED\r\n')
    await c.req(' get cl:sp\r\n', 'VALUE cl:sp 0 1\r\nx\r\nEND\r\n')
    await c.req('get  cl:sp   cl:sp \r\n', 'VALUE cl:sp 0 1\r\nx\r\nVALUE cl:sp 0 1\r\nx\r\nEND\r\n')
  }),
  test('bare \\n ends command lines', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set cl:lf 0 0 1\nx\r\nget cl:lf\n', 'STORED\r\nVALUE cl:lf 0 1\r\nx\r\nEND\r\n')
    await c.req('\n', 'ERROR\r\n')
    await c.req('version\n', 'VERSION ')
    await c.readUntil('\r\n')
  }),
  test('bare \\n does not end a data block', async (ctx) => {
    const c = await ctx.conn()
    // 1 + 2 bytes "x\ng" are the block; "et cl:lf2\n" is then a command
    await c.req('set cl:lf2 0 0 1\nx\nget cl:lf2\n', 'CLIENT_ERROR bad data chunk\r\nERROR\r\n')
    await c.req('get cl:lf2\r\n', 'END\r\n')
  }),
  test('version, verbosity', async (ctx) => {
    const c = await ctx.conn()
    await c.req('version\r\n', 'VERSION ')
    await c.readUntil('\r\n')
    await c.req('verbosity 1\r\n', 'OK\r\n')
    await c.req('verbosity 0\r\n', 'OK\r\n')
    await c.req('verbosity\r\n', 'ERROR\r\n')
    await c.req('verbosity x\r\n', 'CLIENT_ERROR bad command line format\r\n')
    await c.req('verbosity 1 2 3\r\n', 'ERROR\r\n')
  }),
  test('quit closes the connection', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set cl:q 0 0 1\r\nx\r\n', 'STORED\r\n')
    c.send('quit\r\nget cl:q\r\n')
    await c.expectClosed()
  }),
  test('shutdown without -A is refused', async (ctx) => {
    const c = await ctx.conn()
    await c.req('shutdown\r\n', 'ERROR: shutdown not enabled\r\n')
    await c.req('version\r\n', 'VERSION ')
  }),
  test('cache_memlimit', async (ctx) => {
    const c = await ctx.conn()
    await c.req('cache_memlimit 100\r\n', 'OK\r\n')
    await c.req('cache_memlimit 0\r\n', 'MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m\r\n')
    await c.req('cache_memlimit\r\n', 'ERROR\r\n')
    await c.req('cache_memlimit abc\r\n', 'ERROR\r\n')
    await c.req('cache_memlimit 64\r\n', 'OK\r\n')
  }),
  test('flush_all: OK, delay, bad argument', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set cl:f 0 0 1\r\nx\r\n', 'STORED\r\n')
    await c.req('flush_all\r\n', 'OK\r\n')
    await c.req('get cl:f\r\n', 'END\r\n')
    await c.req('flush_all 0\r\n', 'OK\r\n')
    await c.req('flush_all x\r\n', 'CLIENT_ERROR invalid exptime argument\r\n')
    await c.req('set cl:f 0 0 1\r\nx\r\n', 'STORED\r\n')
    await c.req('flush_all 100\r\n', 'OK\r\n')
    await c.req('get cl:f\r\n', 'VALUE cl:f 0 1\r\nx\r\nEND\r\n')
    await c.req('flush_all 0\r\n', 'OK\r\n')
    await c.req('get cl:f\r\n', 'END\r\n')
  }),
])
