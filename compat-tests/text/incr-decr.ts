// incr/decr: 64-bit unsigned counters in decimal text (protocol.txt "Increment/Decrement").
// memcached updates the value in place when the new number is not longer than the
// old one, padding with spaces (so the length stays), and writes a new item otherwise.

import { eq } from '../harness/check.js'
import { num } from '../harness/raw.js'
import { suite, test } from '../harness/suite.js'

export default suite('text/incr-decr', 'text', [
  test('incr and decr return the new value', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set id:a 5 0 2\r\n10\r\n', 'STORED\r\n')
    await c.req('incr id:a 5\r\n', '15\r\n')
    await c.req('decr id:a 3\r\n', '12\r\n')
    await c.req('incr id:a 0\r\n', '12\r\n')
    await c.req('get id:a\r\n', 'VALUE id:a 5 2\r\n12\r\nEND\r\n')
  }),
  test('missing key: NOT_FOUND', async (ctx) => {
    const c = await ctx.conn()
    await c.req('incr id:none 1\r\n', 'NOT_FOUND\r\n')
    await c.req('decr id:none 1\r\n', 'NOT_FOUND\r\n')
  }),
  test('decr floors at 0', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set id:f 0 0 1\r\n5\r\n', 'STORED\r\n')
    await c.req('decr id:f 100\r\n', '0\r\n')
    await c.req('decr id:f 1\r\n', '0\r\n')
  }),
  test('incr wraps at 2^64', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set id:w 0 0 20\r\n18446744073709551615\r\n', 'STORED\r\n')
    await c.req('incr id:w 1\r\n', '0\r\n')
    await c.req('get id:w\r\n', 'VALUE id:w 0 20\r\n0                   \r\nEND\r\n')
    await c.req('set id:w 0 0 20\r\n18446744073709551610\r\n', 'STORED\r\n')
    await c.req('incr id:w 10\r\n', '4\r\n')
    await c.req('set id:w 0 0 1\r\n1\r\n', 'STORED\r\n')
    await c.req('incr id:w 18446744073709551615\r\n', '0\r\n')
  }),
  test('the largest delta and value', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set id:m 0 0 1\r\n0\r\n', 'STORED\r\n')
    await c.req('incr id:m 18446744073709551615\r\n', '18446744073709551615\r\n')
    await c.req('get id:m\r\n', 'VALUE id:m 0 20\r\n18446744073709551615\r\nEND\r\n')
    await c.req('decr id:m 18446744073709551615\r\n', '0\r\n')
  }),
  test('length shrinks: value keeps its length, padded with spaces', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set id:s 0 0 3\r\n100\r\n', 'STORED\r\n')
    await c.req('decr id:s 1\r\n', '99\r\n')
    await c.req('get id:s\r\n', 'VALUE id:s 0 3\r\n99 \r\nEND\r\n')
    await c.req('decr id:s 90\r\n', '9\r\n')
    await c.req('get id:s\r\n', 'VALUE id:s 0 3\r\n9  \r\nEND\r\n')
    await c.req('incr id:s 991\r\n', '1000\r\n')
    await c.req('get id:s\r\n', 'VALUE id:s 0 4\r\n1000\r\nEND\r\n')
  }),
  test('a padded value still counts', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set id:p 0 0 4\r\n12  \r\n', 'STORED\r\n')
    await c.req('incr id:p 1\r\n', '13\r\n')
    await c.req('get id:p\r\n', 'VALUE id:p 0 4\r\n13  \r\nEND\r\n')
  }),
  test('non-numeric value and bad deltas', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set id:n 0 0 3\r\nabc\r\n', 'STORED\r\n')
    await c.req('incr id:n 1\r\n', 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n')
    await c.req('decr id:n 1\r\n', 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n')
    await c.req('set id:n 0 0 2\r\n10\r\n', 'STORED\r\n')
    await c.req('incr id:n -1\r\n', 'CLIENT_ERROR invalid numeric delta argument\r\n')
    await c.req('incr id:n abc\r\n', 'CLIENT_ERROR invalid numeric delta argument\r\n')
    await c.req('incr id:n 18446744073709551616\r\n', 'CLIENT_ERROR invalid numeric delta argument\r\n')
    await c.req('incr id:n\r\n', 'ERROR\r\n')
    await c.req('incr\r\n', 'ERROR\r\n')
    await c.req('get id:n\r\n', 'VALUE id:n 0 2\r\n10\r\nEND\r\n')
  }),
  test('what counts as a number: leading zeros and spaces yes; sign, suffix, empty no', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set id:z 0 0 3\r\n007\r\n', 'STORED\r\n')
    await c.req('incr id:z 1\r\n', '8\r\n')
    await c.req('get id:z\r\n', 'VALUE id:z 0 3\r\n8  \r\nEND\r\n')
    await c.req('set id:z 0 0 2\r\n 5\r\n', 'STORED\r\n')
    await c.req('incr id:z 1\r\n', '6\r\n')
    await c.req('set id:z 0 0 22\r\n0000000000000000000001\r\n', 'STORED\r\n')
    await c.req('incr id:z 1\r\n', '2\r\n')
    await c.req('get id:z\r\n', 'VALUE id:z 0 22\r\n2                     \r\nEND\r\n')
    for (const v of ['-5', '5abc', '']) {
      await c.req(`set id:z 0 0 ${v.length}\r\n${v}\r\n`, 'STORED\r\n')
      await c.req('incr id:z 1\r\n', 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n')
    }
  }),
  test('deltas: leading zeros and + accepted; a fourth token is ignored, a fifth is an error', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set id:d 0 0 1\r\n1\r\n', 'STORED\r\n')
    await c.req('incr id:d 01\r\n', '2\r\n')
    await c.req('incr id:d +1\r\n', '3\r\n')
    await c.req('incr id:d 1 extra\r\n', '4\r\n')
    await c.req('decr id:d 1 noreply extra\r\n', 'ERROR\r\n')
    await c.req('get id:d\r\n', 'VALUE id:d 0 1\r\n4\r\nEND\r\n')
  }),
  test('growing past the stored length makes a new item with the flags kept', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set id:g 5 0 1\r\n9\r\nappend id:g 0 0 1\r\n9\r\n', 'STORED\r\nSTORED\r\n')
    await c.req('incr id:g 1\r\n', '100\r\n')
    await c.req('get id:g\r\n', 'VALUE id:g 5 3\r\n100\r\nEND\r\n')
  }),
  test('a number larger than 2^64-1 stored as text is not a counter', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set id:big 0 0 20\r\n18446744073709551616\r\n', 'STORED\r\n')
    await c.req('incr id:big 1\r\n', 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n')
  }),
  test('incr keeps flags and changes the CAS unique', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set id:c 42 0 1\r\n1\r\n', 'STORED\r\n')
    const a = await c.req('gets id:c\r\n', 'VALUE id:c 42 1 ', num('cas'), '\r\n1\r\nEND\r\n')
    await c.req('incr id:c 1\r\n', '2\r\n')
    const b = await c.req('gets id:c\r\n', 'VALUE id:c 42 1 ', num('cas'), '\r\n2\r\nEND\r\n')
    eq(a.cas === b.cas, false, 'CAS unique changed by incr')
  }),
])
