/**
 * Differential binary-protocol tests: every script of binary-scripts.ts goes to a fresh
 * real memcached 1.6.18 and a fresh memring (fresh servers keep CAS numbering aligned),
 * in one write followed by a half-close; the bytes that come back must be identical.
 * memcached is the oracle: no expected bytes are written here.
 */
import t from 'tap'
import { haveMemcached } from '../../testing/memcached.js'
import { startServer } from '../../testing/servers.js'
import { binarySessionFactory } from '../binary-session.js'
import { exchange, packets, startMemcached, transcript } from './binary-harness.js'
import { Opcode } from '../../../protocol/binary/opcodes.js'
import { encodeRequest } from '../../../protocol/binary/request-encoder.js'
import { scripts } from './binary-scripts.js'

t.test('binary protocol is byte-identical to memcached 1.6.18', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  for (const s of scripts) {
    await t.test(s.name, async (t) => {
      const mcPort = await startMemcached(t)
      const mr = await startServer(t, {}, { binary: binarySessionFactory() })
      const [a, b] = await Promise.all([exchange(mcPort, s.bytes), exchange(mr.port, s.bytes)])
      if (!a.bytes.equals(b.bytes)) {
        t.same(transcript(b.bytes), transcript(a.bytes), 'memring packets equal memcached packets')
      }
      t.ok(a.bytes.equals(b.bytes), `memring bytes equal memcached bytes (${a.bytes.length} bytes)`)
    })
  }
})

t.test('-B binary and -B ascii fix the protocol as in memcached', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  const noopThenGet = Buffer.concat([
    encodeRequest({ opcode: Opcode.Noop, opaque: 1 }), encodeRequest({ opcode: Opcode.Get, key: 'k', opaque: 2 }),
  ])
  const cases: Array<[string, 'binary' | 'ascii', Buffer]> = [
    ['-B binary: binary works', 'binary', noopThenGet],
    ['-B binary: a text client is closed at its first 24 bytes', 'binary', Buffer.from('get aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\nversion\r\n')],
    ['-B ascii: a binary packet is text (ERROR)', 'ascii', Buffer.concat([noopThenGet, Buffer.from('\r\nversion\r\n')])],
    ['-B ascii: text works', 'ascii', Buffer.from('set a 0 0 1\r\n1\r\nget a\r\n')],
  ]
  for (const [name, proto, bytes] of cases) {
    await t.test(name, async (t) => {
      const mcPort = await startMemcached(t, ['-B', proto])
      const mr = await startServer(t, { protocol: proto })
      const [a, b] = await Promise.all([exchange(mcPort, bytes), exchange(mr.port, bytes)])
      t.equal(b.bytes.toString('latin1'), a.bytes.toString('latin1'), 'memring bytes equal memcached bytes')
    })
  }
})

t.test('binary STAT groups list the same statistics, in the same order, as the text protocol', async (t) => {
  const mr = await startServer(t)
  for (const group of ['', 'settings', 'items', 'slabs', 'sizes']) {
    const setup = encodeRequest({ opcode: Opcode.Set, key: 'a', extras: Buffer.alloc(8), value: 'v' })
    const bin = await exchange(mr.port, Buffer.concat([setup, encodeRequest({ opcode: Opcode.Stat, key: group, opaque: 3 })]))
    const { list } = packets(bin.bytes)
    const binKeys = list.slice(1, -1).map((r) => r.key.toString('latin1'))
    t.ok(list.slice(1).every((r) => r.opcode === Opcode.Stat && r.opaque === 3 && r.status === 0), `${group || 'general'}: STAT packets echo the opaque`)
    t.equal(list[list.length - 1].bodylen, 0, 'an empty packet ends the listing')
    const text = await exchange(mr.port, Buffer.from(`stats${group === '' ? '' : ' ' + group}\r\n`))
    const textKeys = text.bytes.toString('latin1').split('\r\n').filter((l) => l.startsWith('STAT ')).map((l) => l.split(' ')[1])
    t.same(binKeys, textKeys, `${group || 'general'}: same names and order as text stats`)
    t.ok(binKeys.length > 0, `${group || 'general'}: ${binKeys.length} statistics`)
  }
})

t.test('-m 8 -M: quiet sets past the memory limit answer ENOMEM with memcached\'s text, values swallowed', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  const parts: Buffer[] = []
  for (let i = 0; i < 120; i++) {
    parts.push(encodeRequest({ opcode: Opcode.SetQ, key: `k${i}`, extras: Buffer.alloc(8), value: Buffer.alloc(100000, 'x'), opaque: i }))
  }
  parts.push(encodeRequest({ opcode: Opcode.Get, key: 'k0', opaque: 500 }), encodeRequest({ opcode: Opcode.Noop, opaque: 501 }))
  const script = Buffer.concat(parts)
  const mcPort = await startMemcached(t, ['-m', '8', '-M'])
  const mr = await startServer(t, { memoryLimitMb: 8, evictions: false })
  const [a, b] = await Promise.all([exchange(mcPort, script), exchange(mr.port, script)])
  const enomem = packets(b.bytes).list.filter((r) => r.status === 0x82)
  t.ok(enomem.length > 0 && enomem.every((r) => r.value.toString() === 'Out of memory allocating item'), `${enomem.length} ENOMEM replies with memcached's text`)
  if (!a.bytes.equals(b.bytes)) t.same(transcript(b.bytes), transcript(a.bytes))
  t.ok(a.bytes.equals(b.bytes), 'memring bytes equal memcached bytes')
})

t.test('server flags seen through the binary protocol: -F (flush refused), -C (no CAS)', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  const set = (key: string, opaque: number, cas = 0): Buffer => encodeRequest({ opcode: Opcode.Set, key, extras: Buffer.alloc(8), value: 'v', opaque, cas })
  const cases: Array<[string, string[], Partial<import('../settings.js').ServerSettings>, Buffer]> = [
    ['-F: FLUSH and FLUSHQ answer AUTH_ERROR', ['-F'], { flushEnabled: false }, Buffer.concat([
      set('a', 1), encodeRequest({ opcode: Opcode.Flush, opaque: 2 }), encodeRequest({ opcode: Opcode.FlushQ, opaque: 3 }),
      encodeRequest({ opcode: Opcode.Get, key: 'a', opaque: 4 })])],
    ['-C: CAS is 0 everywhere; storage ignores a header CAS, delete and incr never match it', ['-C'], { useCas: false }, Buffer.concat([
      set('a', 1), encodeRequest({ opcode: Opcode.GetK, key: 'a', opaque: 2 }), set('a', 3, 1),
      encodeRequest({ opcode: Opcode.Append, key: 'a', value: 'w', opaque: 4, cas: 9 }),
      encodeRequest({ opcode: Opcode.Increment, key: 'n', extras: Buffer.from('0000000000000001000000000000000700000000', 'hex'), opaque: 5 }),
      encodeRequest({ opcode: Opcode.Increment, key: 'n', extras: Buffer.from('0000000000000001000000000000000700000000', 'hex'), opaque: 6, cas: 3 }),
      encodeRequest({ opcode: Opcode.Delete, key: 'a', opaque: 7, cas: 3 }),
      encodeRequest({ opcode: Opcode.GetK, key: 'a', opaque: 8 }),
      encodeRequest({ opcode: Opcode.Noop, opaque: 9 })])],
  ]
  for (const [name, flags, settings, bytes] of cases) {
    await t.test(name, async (t) => {
      const mcPort = await startMemcached(t, flags)
      const mr = await startServer(t, settings)
      const [a, b] = await Promise.all([exchange(mcPort, bytes), exchange(mr.port, bytes)])
      if (!a.bytes.equals(b.bytes)) t.same(transcript(b.bytes), transcript(a.bytes))
      t.ok(a.bytes.equals(b.bytes), 'memring bytes equal memcached bytes')
    })
  }
})
