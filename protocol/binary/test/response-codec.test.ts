import t from 'tap'
import {
  writeCounter, writeError, writeItemHeader, writeKeyMiss, writeResponseHeader, writeStat, writeStatEnd,
  errorLength, ITEM_HEADER_LEN,
} from '../response-encoder.js'
import { BinaryResponseParser, type BinaryResponse } from '../response-parser.js'
import { Status } from '../status.js'
import { feedings } from './splits.js'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

t.test('an error reply is header + memcached\'s text, CAS 0 (bytes as memcached 1.6.18 sent them)', async (t) => {
  const b = Buffer.alloc(errorLength(Status.KEY_ENOENT))
  t.equal(writeError(b, 0, 0x04, Status.KEY_ENOENT, 4), b.length)
  t.same(b, Buffer.concat([hex('81040000 00000001 00000009 00000004 00000000 00000000'), Buffer.from('Not found')]))
})

t.test('a GETK hit carries flags, key and value with the item CAS', async (t) => {
  const b = Buffer.alloc(ITEM_HEADER_LEN + 1 + 5)
  let off = writeItemHeader(b, 0, 0x0d, 3, 1, 5, 1, 5)
  off += b.write('a', off, 'latin1')
  off += b.write('hello', off, 'latin1')
  t.equal(off, b.length)
  t.same(b, Buffer.concat([
    hex('810d0001 04000000 0000000a 00000003 00000000 00000001 00000005'), Buffer.from('ahello'),
  ]))
})

t.test('a GETK miss carries the key and no text', async (t) => {
  const b = Buffer.alloc(24 + 5)
  writeKeyMiss(b, 0, 0x0c, 3, Buffer.from('nokey'), 0, 5)
  t.same(b, Buffer.concat([hex('810c0005 00000001 00000005 00000003 00000000 00000000'), Buffer.from('nokey')]))
})

t.test('counters, stats and plain headers', async (t) => {
  const b = Buffer.alloc(32)
  writeCounter(b, 0, 0x05, 0, 2, 10n)
  t.same(b, hex('81050000 00000000 00000008 00000000 00000000 00000002 00000000 0000000a'))
  writeCounter(b, 0, 0x05, 0, 2 ** 52, (1n << 64n) - 1n)
  t.same(b.subarray(16), hex('00100000 00000000 ffffffff ffffffff'))
  const s = Buffer.alloc(24 + 3 + 2)
  writeStat(s, 0, 9, 'pid', '42')
  t.same(s, Buffer.concat([hex('81100003 00000000 00000005 00000009 00000000 00000000'), Buffer.from('pid42')]))
  const e = Buffer.alloc(24)
  writeStatEnd(e, 0, 9)
  t.same(e, hex('81100000 00000000 00000000 00000009 00000000 00000000'))
  writeResponseHeader(e, 0, 0x01, 0, 0, 0, 0, 1, 7)
  t.same(e, hex('81010000 00000000 00000000 00000001 00000000 00000007'))
})

t.test('the client response parser frames whole, byte by byte and at every split', async (t) => {
  const one = Buffer.alloc(ITEM_HEADER_LEN + 3)
  writeItemHeader(one, 0, 0x00, 1, 5, 7, 0, 3)
  one.write('abc', ITEM_HEADER_LEN, 'latin1')
  const two = Buffer.alloc(errorLength(Status.E2BIG))
  writeError(two, 0, 0x01, Status.E2BIG, 2)
  const input = Buffer.concat([one, two])
  for (const f of feedings(input)) {
    const got: BinaryResponse[] = []
    const p = new BinaryResponseParser((r) => got.push(r))
    for (const c of f.chunks) p.push(c)
    if (got.length !== 2 || got[0].value.toString() !== 'abc' || got[0].extras.readUInt32BE(0) !== 7 ||
      got[0].cas !== 5 || got[1].status !== Status.E2BIG || got[1].value.toString() !== 'Too large.' ||
      p.buffered !== 0) {
      t.fail(f.name)
      return
    }
  }
  t.pass('all feedings agree')
})
