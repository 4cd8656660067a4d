// delete, touch, gat, gats (protocol.txt "Deletion", "Touch", "Get And Touch").

import { num } from '../harness/raw.js'
import { suite, test } from '../harness/suite.js'

export default suite('text/delete-touch-gat', 'text', [
  test('delete: DELETED, NOT_FOUND, the legacy 0 argument, bad arguments', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set dl:a 0 0 1\r\nx\r\n', 'STORED\r\n')
    await c.req('delete dl:a\r\n', 'DELETED\r\n')
    await c.req('delete dl:a\r\n', 'NOT_FOUND\r\n')
    await c.req('get dl:a\r\n', 'END\r\n')
    await c.req('set dl:a 0 0 1\r\nx\r\n', 'STORED\r\n')
    await c.req('delete dl:a 0\r\n', 'DELETED\r\n')
    await c.req('delete dl:a 1\r\n', 'CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n')
    await c.req('delete\r\n', 'ERROR\r\n')
    await c.req('delete a b c d\r\n', 'ERROR\r\n')
  }),
  test('touch: TOUCHED, NOT_FOUND, bad exptime', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set tc:a 0 0 1\r\nx\r\n', 'STORED\r\n')
    await c.req('touch tc:a 100\r\n', 'TOUCHED\r\n')
    await c.req('touch tc:none 100\r\n', 'NOT_FOUND\r\n')
    await c.req('touch tc:a\r\n', 'ERROR\r\n')
    await c.req('touch tc:a abc\r\n', 'CLIENT_ERROR invalid exptime argument\r\n')
    await c.req('get tc:a\r\n', 'VALUE tc:a 0 1\r\nx\r\nEND\r\n')
  }),
  test('touch with a negative exptime expires the item', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set tc:n 0 0 1\r\nx\r\n', 'STORED\r\n')
    await c.req('touch tc:n -1\r\n', 'TOUCHED\r\n')
    await c.req('get tc:n\r\n', 'END\r\n')
  }),
  test('gat and gats return the value and set the TTL', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set gt:a 3 0 2\r\nhi\r\nset gt:b 4 0 1\r\nb\r\n', 'STORED\r\nSTORED\r\n')
    await c.req('gat 100 gt:a\r\n', 'VALUE gt:a 3 2\r\nhi\r\nEND\r\n')
    await c.req('gats 100 gt:a gt:none gt:b\r\n', 'VALUE gt:a 3 2 ', num(), '\r\nhi\r\nVALUE gt:b 4 1 ', num(), '\r\nb\r\nEND\r\n')
    await c.req('gat 100 gt:none\r\n', 'END\r\n')
    await c.req('gat -1 gt:b\r\n', 'VALUE gt:b 4 1\r\nb\r\nEND\r\n')
    await c.req('get gt:b\r\n', 'END\r\n')
  }),
  test('gat argument errors', async (ctx) => {
    const c = await ctx.conn()
    await c.req('gat gt:a\r\n', 'CLIENT_ERROR invalid exptime argument\r\n')
    await c.req('gat abc gt:a\r\n', 'CLIENT_ERROR invalid exptime argument\r\n')
    await c.req('gat\r\n', 'ERROR\r\n')
    await c.req('gats\r\n', 'ERROR\r\n')
  }),
  test('gats does not change the CAS unique', async (ctx) => {
    const c = await ctx.conn()
    await c.req('set gt:c 0 0 1\r\nx\r\n', 'STORED\r\n')
    const a = await c.req('gets gt:c\r\n', 'VALUE gt:c 0 1 ', num('cas'), '\r\nx\r\nEND\r\n')
    await c.req('gats 50 gt:c\r\n', `VALUE gt:c 0 1 ${a.cas}\r\nx\r\nEND\r\n`)
    await c.req('touch gt:c 60\r\n', 'TOUCHED\r\n')
    await c.req(`cas gt:c 0 0 1 ${a.cas}\r\ny\r\n`, 'STORED\r\n')
  }),
])
