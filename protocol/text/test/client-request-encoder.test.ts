/**
 * The client-side request encoder writes exactly the bytes protocol.txt specifies.
 * Expected requests are written out literally here.
 */
import t from 'tap'
import {
  checkKey, checkMetaFlag, encodeMeta, encodeRetrieval, encodeStorage, encodeStorageHeader, encodeDelete, encodeArith,
  encodeTouch, encodeFlushAll, encodeVersion, encodeStats,
} from '../request-encoder.js'

const k = (s: string): Buffer => Buffer.from(s)

t.test('retrieval commands list their keys, gat/gats lead with the exptime', async (t) => {
  t.equal(encodeRetrieval('get', [k('a')]).toString(), 'get a\r\n')
  t.equal(encodeRetrieval('gets', [k('a'), k('bb'), k('ccc')]).toString(), 'gets a bb ccc\r\n')
  t.equal(encodeRetrieval('gat', [k('a'), k('b')], 300).toString(), 'gat 300 a b\r\n')
  t.equal(encodeRetrieval('gats', [k('a')], -1).toString(), 'gats -1 a\r\n')
})

t.test('storage commands carry flags, exptime, length, cas and the data block', async (t) => {
  t.equal(encodeStorage('set', k('key'), 5, 0, k('hello')).toString(), 'set key 5 0 5\r\nhello\r\n')
  t.equal(encodeStorage('add', k('key'), 0xffffffff, 100, k('')).toString(), 'add key 4294967295 100 0\r\n\r\n')
  t.equal(encodeStorage('cas', k('key'), 0, -1, k('v'), 18446744073709551615n).toString(), 'cas key 0 -1 1 18446744073709551615\r\nv\r\n')
  t.equal(encodeStorage('append', k('key'), 0, 0, k('x'), null, true).toString(), 'append key 0 0 1 noreply\r\nx\r\n')
  const bin = Buffer.from([0, 13, 10, 255])
  t.same(encodeStorage('prepend', k('b'), 1, 2, bin), Buffer.concat([k('prepend b 1 2 4\r\n'), bin, k('\r\n')]), 'values are binary-safe')
  t.equal(encodeStorageHeader('replace', k('big'), 0, 0, 1 << 20).toString(), 'replace big 0 0 1048576\r\n')
  const utf = encodeStorage('set', k('clé'), 0, 0, k('ü'))
  t.same(utf, Buffer.concat([k('set '), Buffer.from('clé'), k(' 0 0 2\r\n'), Buffer.from('ü'), k('\r\n')]), 'UTF-8 keys and values go as bytes')
})

t.test('other commands', async (t) => {
  t.equal(encodeDelete(k('a')).toString(), 'delete a\r\n')
  t.equal(encodeDelete(k('a'), true).toString(), 'delete a noreply\r\n')
  t.equal(encodeArith('incr', k('n'), 18446744073709551615n).toString(), 'incr n 18446744073709551615\r\n')
  t.equal(encodeArith('decr', k('n'), 1n, true).toString(), 'decr n 1 noreply\r\n')
  t.equal(encodeTouch(k('a'), 10).toString(), 'touch a 10\r\n')
  t.equal(encodeFlushAll().toString(), 'flush_all\r\n')
  t.equal(encodeFlushAll(30, true).toString(), 'flush_all 30 noreply\r\n')
  t.equal(encodeVersion().toString(), 'version\r\n')
  t.equal(encodeStats().toString(), 'stats\r\n')
  t.equal(encodeStats('slabs').toString(), 'stats slabs\r\n')
  t.throws(() => encodeStats('x\r\nflush_all'), /CR or LF/)
})

t.test('checkKey refuses what would break framing', async (t) => {
  t.equal(checkKey(k('ok:key')), null)
  t.equal(checkKey(k('x'.repeat(250))), null)
  t.equal(checkKey(Buffer.from('ключ')), null, 'bytes >= 0x80 are fine')
  t.match(checkKey(k('x'.repeat(251))), /251 bytes, more than 250/)
  t.match(checkKey(k('')), /empty/)
  t.match(checkKey(k('a b')), /0x20 at 1/)
  t.match(checkKey(k('a\r\n')), /0x0d at 1/)
  t.match(checkKey(Buffer.from([0x61, 0x7f])), /0x7f/)
})

t.test('meta commands: key, (ms: datalen), flags, data block; quiet and bad flags refused', async (t) => {
  t.equal(encodeMeta('mg', k('a'), ['v', 'f', 't']).toString(), 'mg a v f t\r\n')
  t.equal(encodeMeta('mg', k('a'), []).toString(), 'mg a\r\n')
  t.equal(encodeMeta('ms', k('a'), ['T60', 'F5'], k('hello')).toString(), 'ms a 5 T60 F5\r\nhello\r\n')
  t.equal(encodeMeta('ms', k('a'), []).toString(), 'ms a 0\r\n\r\n')
  t.equal(encodeMeta('md', k('a'), ['C99']).toString(), 'md a C99\r\n')
  t.equal(encodeMeta('ma', k('n'), ['MD', 'D5', 'v']).toString(), 'ma n MD D5 v\r\n')
  t.equal(encodeMeta('mn', null, []).toString(), 'mn\r\n')
  t.equal(checkMetaFlag('T60'), null)
  t.match(checkMetaFlag('q'), /quiet/)
  t.match(checkMetaFlag('5'), /start with a letter/)
  t.match(checkMetaFlag('Ta b'), /space/)
  t.match(checkMetaFlag(''), /empty/)
})
