// The benchmark's ceiling-store target answers from what was stored, byte for byte: if it
// answered misses or wrong values, memaslap would count them as hits and memring/ceiling-store
// would compare memring with a server doing less than it seems to. Text (a value split over
// two writes, a multiget with a miss) and binary (SET, GETK, a quiet miss, a loud miss).
import net from 'node:net'
import t from 'tap'
import { RawClient } from '../../../lib/testing/raw-client.js'
import { startServer } from '../servers.js'

t.test('ceiling-store serves what was stored', async (t) => {
  const server = await startServer({ kind: 'ceiling-store', cpu: null, memoryMb: 64, threads: 1 })
  t.teardown(async () => { await server.stop(false) })
  const connect = (): RawClient => {
    const c = new RawClient(net.connect(server.port, '127.0.0.1'))
    t.teardown(() => c.socket.destroy())
    return c
  }

  const text = connect()
  text.write('set foo 5 0 3\r\nbar\r\n')
  t.equal(await text.until('\r\n'), 'STORED\r\n')
  text.write('set big 7 0 10\r\n01234')
  await new Promise((resolve) => setTimeout(resolve, 50))
  text.write('56789\r\nget big nope foo\r\n')
  t.equal(await text.until('END\r\n'), 'STORED\r\nVALUE big 7 10\r\n0123456789\r\nVALUE foo 5 3\r\nbar\r\nEND\r\n')

  const bin = connect()
  const packet = (op: number, key: string, extras: Buffer, value: string): Buffer => {
    const h = Buffer.alloc(24)
    h[0] = 0x80
    h[1] = op
    h.writeUInt16BE(key.length, 2)
    h[4] = extras.length
    h.writeUInt32BE(extras.length + key.length + value.length, 8)
    h.writeUInt32BE(0xabcd, 12)
    return Buffer.concat([h, extras, Buffer.from(key), Buffer.from(value)])
  }
  const setExtras = Buffer.alloc(8)
  setExtras.writeUInt32BE(9, 0)
  const none = Buffer.alloc(0)
  bin.write(Buffer.concat([packet(0x01, 'bk', setExtras, 'vv'), packet(0x0c, 'bk', none, ''), packet(0x09, 'zz', none, ''), packet(0x00, 'zz', none, '')]))
  const set = await bin.bytes(24)
  t.same([set[0], set[1], set.readUInt16BE(6), set.readUInt32BE(12)], [0x81, 0x01, 0, 0xabcd], 'SET: success, opaque echoed')
  const getk = await bin.bytes(24 + 8)
  t.same([getk[1], getk.readUInt16BE(2), getk[4], getk.readUInt16BE(6), getk.readUInt32BE(8)], [0x0c, 2, 4, 0, 8], 'GETK: key, extras and body lengths')
  t.equal(getk.readUInt32BE(24), 9, 'GETK: the stored flags')
  t.equal(getk.subarray(28).toString(), 'bkvv', 'GETK: key then value')
  const miss = await bin.bytes(24)
  t.same([miss[1], miss.readUInt16BE(6)], [0x00, 1], 'the quiet miss says nothing; the GET miss is KEY_ENOENT')
})
