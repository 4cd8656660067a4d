/**
 * `stats detail on|off|dump` and `-D <delimiter>` against real memcached 1.6.18: which
 * commands count (classic get/gets/gat/gats, storage, delete; binary get/touch/gat,
 * storage, delete; not meta, incr/decr or text touch), the line format, the order of the
 * dump (memcached's 256 murmur3 buckets, newest first), `stats reset`, and the binary
 * "detailed" stat. Replies are compared byte for byte.
 *
 * Seeded (DIFF_SEED, lib/testing/seeds.ts): the key mix of each run is the seed's.
 */
import t from 'tap'
import { haveMemcached, startMemcached } from '../../testing/memcached.js'
import { startServer } from '../../testing/servers.js'
import { rng as prng, testSeeds } from '../../testing/seeds.js'
import { serverSettings } from '../../app/config.js'
import { encodeRequest, counterExtras, expiryExtras, storeExtras } from '../../../protocol/binary/request-encoder.js'
import { Opcode } from '../../../protocol/binary/opcodes.js'
import { both, exchange, packets } from './binary-harness.js'

const SEEDS = testSeeds('DIFF_SEED', [20261205, 4242])
const skip = haveMemcached() ? false : 'memcached not installed'
const b = (s: string): Buffer => Buffer.from(s, 'latin1')


/** Keys over many prefixes (so buckets collide and chains form), some without a delimiter. */
function keys (seed: number, delim: string): string[] {
  const r = prng(seed)
  const out: string[] = []
  for (let i = 0; i < 120; i++) {
    const p = Math.floor(r() * 400)
    switch (Math.floor(r() * 8)) {
      case 0: out.push(`nodelim${p}`); break
      case 1: out.push(`${delim}${p}`); break // the empty prefix
      case 2: out.push(`p${p}${delim}a${delim}b`); break // only the first delimiter counts
      default: out.push(`p${p}${delim}${i}`)
    }
  }
  return out
}

function textScript (seed: number, ks: string[]): string {
  const r = prng(seed + 1)
  let s = ''
  for (const k of ks) {
    switch (Math.floor(r() * 12)) {
      case 0: case 1: s += `set ${k} 0 0 1\r\nx\r\n`; break
      case 2: s += `add ${k} 0 0 1\r\nx\r\n`; break
      case 3: s += `get ${k} ${ks[Math.floor(r() * ks.length)]}\r\n`; break
      case 4: s += `gets ${k}\r\n`; break
      case 5: s += `gat 0 ${k}\r\n`; break
      case 6: s += `delete ${k}\r\n`; break
      case 7: s += `incr ${k} 1\r\ntouch ${k} 0\r\n`; break // not counted
      case 8: s += `mg ${k} v\r\nms ${k} 1\r\ny\r\nmd ${k} q\r\n`; break // meta: not counted
      case 9: s += `set ${k} 0 0 zz\r\n`; break // bad line: not counted
      case 10: s += `cas ${k} 0 0 1 1\r\nz\r\nappend ${k} 0 0 1\r\nw\r\n`; break
      default: s += `set ${k} 0 0 2000000 noreply\r\n${'v'.repeat(2000000)}\r\n` // too large: still a set
    }
  }
  return s
}

for (const SEED of SEEDS) {
  t.test(`stats detail over text: same counts, same dump order as memcached (seed ${SEED})`, { skip }, async (t) => {
    const mc = await startMemcached(t)
    const mr = await startServer(t)
    const ks = keys(SEED, ':')
    let [want, got] = await both(mc.port, mr.port, 'stats detail dump\r\nstats detail on\r\n' + textScript(SEED, ks) + 'stats detail dump\r\n')
    t.equal(got, want, 'replies and the dump after collecting')
    t.match(want, /PREFIX p\d+ get \d+ hit \d+ set \d+ del \d+\r\n/, 'memcached really counted (the comparison is not of two empty dumps)')
    t.match(want, /PREFIX  get/, 'the empty prefix is a prefix')
    t.notMatch(want, /PREFIX nodelim/, 'keys without the delimiter are not counted')
    ;[want, got] = await both(mc.port, mr.port, 'stats detail off\r\n' + textScript(SEED + 7, ks) + 'stats detail dump\r\nstats settings\r\n')
    const rows = (x: string): string => x.split('\r\n').filter((l) => !l.startsWith('STAT ') || /^STAT (detail_enabled|stat_key_prefix) /.test(l)).join('\r\n')
    t.equal(rows(got), rows(want), 'off: nothing more is counted; the dump stays; settings say so')
    ;[want, got] = await both(mc.port, mr.port, 'stats reset\r\nstats detail dump\r\n')
    t.equal(got, want, 'stats reset clears the prefixes')
    t.equal(got, 'RESET\r\nEND\r\n')
  })
}

t.test('stats detail over binary: GET/GETK/GETQ/TOUCH/GAT count as gets, storage as sets, DELETE; the "detailed" stat', { skip }, async (t) => {
  const mc = await startMemcached(t)
  const mr = await startServer(t)
  const ks = keys(99, ':')
  const r = prng(5)
  const parts: Buffer[] = [encodeRequest({ opcode: Opcode.Stat, key: b('detail on'), opaque: 1 })]
  let opaque = 2
  for (const k of ks) {
    const key = b(k)
    switch (Math.floor(r() * 9)) {
      case 0: case 1: parts.push(encodeRequest({ opcode: Opcode.Set, key, value: b('1'), extras: storeExtras(0, 0), opaque })); break
      case 2: parts.push(encodeRequest({ opcode: Opcode.Add, key, value: b('1'), extras: storeExtras(0, 0), opaque })); break
      case 3: parts.push(encodeRequest({ opcode: Opcode.Append, key, value: b('2'), opaque })); break
      case 4: parts.push(encodeRequest({ opcode: Opcode.Get, key, opaque }), encodeRequest({ opcode: Opcode.GetKQ, key, opaque })); break
      case 5: parts.push(encodeRequest({ opcode: Opcode.Touch, key, extras: expiryExtras(0), opaque }), encodeRequest({ opcode: Opcode.Gat, key, extras: expiryExtras(0), opaque })); break
      case 6: parts.push(encodeRequest({ opcode: Opcode.Delete, key, opaque })); break
      case 7: parts.push(encodeRequest({ opcode: Opcode.Increment, key, extras: counterExtras(1n, 0n, 0), opaque })); break
      default: parts.push(encodeRequest({ opcode: Opcode.Get, key: b(k.replace(':', '\0')), opaque })) // a NUL before the delimiter
    }
    opaque++
  }
  parts.push(encodeRequest({ opcode: Opcode.Stat, key: b('detail dump'), opaque: 9999 }), encodeRequest({ opcode: Opcode.Noop, opaque: 10000 }))
  const script = Buffer.concat(parts)
  const [x, y] = await Promise.all([exchange(mc.port, script), exchange(mr.port, script)])
  const view = (bytes: Buffer): string[] => packets(bytes).list.map((p) => `${p.opcode}/${p.status}/${p.opaque}/${p.key.toString('latin1')}/${p.value.toString('latin1')}`)
  t.same(view(y.bytes), view(x.bytes), 'same packets, the dump included')
  const dump = packets(x.bytes).list.find((p) => p.opaque === 9999 && p.key.toString() === 'detailed')
  t.match(dump?.value.toString('latin1') ?? '', /^PREFIX p\d+ get \d+ hit \d+ set \d+ del \d+\r\n[^]*END\r\n$/, 'memcached dumped real counts')
})

t.test('-D # (via the command-line parser): the delimiter, detail on from the start, stats settings', { skip }, async (t) => {
  const mc = await startMemcached(t, ['-D', '#'])
  const settings = serverSettings({ prefixDelimiter: '#' })
  t.equal(settings.detailEnabled, true, '-D turns detail on, as in memcached')
  const mr = await startServer(t, { ...settings, port: 0, listen: ['127.0.0.1'] })
  const ks = keys(3, '#').concat(keys(4, ':'))
  const [want, got] = await both(mc.port, mr.port, 'stats settings\r\n' + textScript(3, ks) + 'stats detail dump\r\n')
  const rows = (x: string): string => x.split('\r\n').filter((l) => !l.startsWith('STAT ') || /^STAT (detail_enabled|stat_key_prefix) /.test(l)).join('\r\n')
  t.equal(rows(got), rows(want), 'same settings rows, replies and dump')
  t.match(want, /STAT stat_key_prefix #\r\nSTAT detail_enabled yes/, 'memcached shows # and yes')
  t.match(want, /PREFIX p\d+ get/, 'prefixes split at #')
  t.notMatch(want, /PREFIX p\d+:/, 'a : is an ordinary byte')
  t.throws(() => serverSettings({ prefixDelimiter: '' }), /No delimiter specified/, 'an empty -D fails as in memcached')
})
