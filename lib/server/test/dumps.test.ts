/**
 * `stats cachedump` and `lru_crawler metadump` against real memcached 1.6.18 (the dumps
 * that cache warmers and memcached-tool use), and the metadump's background walk: other
 * connections are served while a large dump runs.
 *
 * cachedump is compared byte for byte on a flat LRU (`-o no_lru_maintainer`: every item
 * in COLD in both servers; with the segmented LRU memcached's maintainer thread decides
 * when items reach COLD, a clock). metadump lines are compared as a set (memcached walks
 * its lists, memring its pages: README, documented differences), with `la=` and `exp=`
 * read from each server's own clock checked against the test's clock instead.
 */
import t from 'tap'
import { haveMemcached, startMemcached } from '../../testing/memcached.js'
import { rawClient } from '../../testing/raw-client.js'
import { startServer } from '../../testing/servers.js'
import { rng as prng, testSeeds } from '../../testing/seeds.js'
import { serverSettings } from '../../app/config.js'
import { encodeRequest, storeExtras } from '../../../protocol/binary/request-encoder.js'
import { Opcode } from '../../../protocol/binary/opcodes.js'
import { both, exchange } from './binary-harness.js'

const SEEDS = testSeeds('DIFF_SEED', [20261205, 31])
const skip = haveMemcached() ? false : 'memcached not installed'
const b = (s: string): Buffer => Buffer.from(s, 'latin1')


/** Items over several classes; TTLs relative (1000 s), absolute (far future) or none. */
function fill (seed: number, n: number): string {
  const r = prng(seed)
  let s = ''
  for (let i = 0; i < n; i++) {
    const len = [1, 10, 100, 300, 1000, 5000][Math.floor(r() * 6)]
    const ttl = [0, 0, 1000, 2000000000][Math.floor(r() * 4)]
    const key = r() < 0.1 ? `k%${i} x`.replace(' ', '_') : `key:${i}`
    s += `set ${key} ${Math.floor(r() * 3)} ${ttl} ${len}\r\n${'v'.repeat(len)}\r\n`
    if (r() < 0.3) s += `get ${key}\r\n`
    if (r() < 0.05) s += `delete key:${Math.floor(r() * i)}\r\n`
  }
  return s
}

for (const SEED of SEEDS) {
  t.test(`stats cachedump: byte-identical to memcached on a flat LRU (seed ${SEED})`, { skip }, async (t) => {
    const mc = await startMemcached(t, ['-o', 'no_lru_maintainer'])
    const mr = await startServer(t, { ...serverSettings({ extended: ['no_lru_maintainer'] }), port: 0, listen: ['127.0.0.1'] })
    // Absolute or no exptime only: a relative one prints as start time + TTL on each clock.
    const script = fill(SEED, 200).replace(/ 1000 (\d+)\r\n/g, ' 0 $1\r\n')
    await both(mc.port, mr.port, script)
    // A binary-protocol key with a NUL prints up to the NUL (C string).
    const bin = encodeRequest({ opcode: Opcode.Set, key: b('nul\0key'), value: b('z'), extras: storeExtras(0, 0) })
    await Promise.all([exchange(mc.port, bin), exchange(mr.port, bin)])
    let all = ''
    for (let c = 0; c <= 12; c++) all += `stats cachedump ${c} 0\r\nstats cachedump ${c} 3\r\n`
    const [want, got] = await both(mc.port, mr.port, all + 'stats cachedump 63 1\r\nstats cachedump 64 1\r\nstats cachedump 1\r\nstats cachedump 1 -x\r\n')
    t.equal(got, want, 'every class, all and limited, and the errors')
    t.match(want, /ITEM key:\d+ \[\d+ b; 0 s\]\r\n/, 'memcached listed items (not two empty dumps)')
    t.match(want, /ITEM key:\d+ \[\d+ b; 2000000000 s\]\r\n/, 'absolute exptimes')
    t.match(want, /ITEM nul \[1 b; 0 s\]\r\n/, 'a key cut at its NUL')
    // After flush_all both still list the (now dead) items until they are reclaimed.
    const [w2, g2] = await both(mc.port, mr.port, 'flush_all\r\nstats cachedump 1 5\r\n')
    t.equal(g2, w2, 'after flush_all')
  })

  t.test(`lru_crawler metadump all|hash|<classes>: the same lines as memcached (seed ${SEED})`, { skip }, async (t) => {
    const mc = await startMemcached(t)
    const mr = await startServer(t)
    const t0 = Math.floor(Date.now() / 1000)
    await both(mc.port, mr.port, fill(SEED, 300))
    const t1 = Math.ceil(Date.now() / 1000)
    const clockless = (dump: string): string[] => {
      const lines = dump.split('\n')
      t.equal(lines.pop(), '', 'ends with a newline')
      t.equal(lines.pop(), 'END\r', 'then END')
      return lines.map((l) => {
        const m = /^key=\S+ exp=(-1|\d+) la=(\d+) cas=\d+ fetch=(yes|no) cls=\d+ size=\d+$/.exec(l)
        if (m === null) { t.fail(`bad line ${JSON.stringify(l)}`); return l }
        const la = Number(m[2])
        if (la < t0 - 1 || la > t1 + 1) t.fail(`la=${la} outside [${t0}, ${t1}]`)
        const exp = Number(m[1])
        const kind = exp === -1 ? '-1' : exp === 2000000000 ? 'abs' : exp >= t0 + 999 && exp <= t1 + 1001 ? 'rel' : `bad:${exp}`
        return l.replace(/ exp=\S+ la=\d+/, ` exp=${kind} la=N`)
      }).sort()
    }
    for (const arg of ['all', 'hash', '1', '1,3,5', '2,9']) {
      const [want, got] = await both(mc.port, mr.port, `lru_crawler metadump ${arg}\r\n`)
      t.same(clockless(got), clockless(want), `metadump ${arg}`)
      if (arg === 'all') t.ok(want.split('\n').length > 200, 'memcached dumped the items')
    }
    const [want, got] = await both(mc.port, mr.port, 'lru_crawler metadump 0\r\nlru_crawler metadump 64\r\nlru_crawler metadump a\r\nlru_crawler metadump\r\nversion\r\nlru_crawler metadump all\r\n')
    t.equal(got.replace(/VERSION \S+/, 'VERSION'), want.replace(/VERSION \S+/, 'VERSION'), 'bad classes, missing argument, and a dump after unsent replies')
  })
}

t.test('metadump of 60,000 items walks in the background: another connection is served meanwhile; every key once', async (t) => {
  const mr = await startServer(t, { memoryLimitMb: 64 })
  const N = 60_000
  const loader = await rawClient(t, mr.port)
  let s = ''
  for (let i = 0; i < N; i++) s += `ms key:${i} 20 q\r\n${'x'.repeat(20)}\r\n`
  loader.write(s + 'mn\r\n')
  t.equal(await loader.until('MN\r\n', 60_000), 'MN\r\n', 'loaded')

  const seen: string[] = []
  const dumper = await rawClient(t, mr.port)
  const other = await rawClient(t, mr.port)
  // Pipelined after the dump: answered once it has ended, not mixed into it.
  dumper.write('lru_crawler metadump all\r\nmn\r\n')
  const dumped = dumper.until('END\r\n', 60_000).then((d) => { seen.push('dump end'); return d })
  const served = (async () => {
    for (let i = 0; i < 1; i++) {
      other.write('mn\r\n')
      await other.until('MN\r\n', 60_000)
    }
    seen.push('other served')
  })()
  const dump = await dumped
  await served
  t.equal(seen[0], 'other served', 'a round trip on another connection finished before the dump did (one page per turn)')
  const keys = dump.split('\n').filter((l) => l.startsWith('key=')).map((l) => l.slice(4, l.indexOf(' ')))
  t.equal(keys.length, N, 'one line per item')
  t.equal(new Set(keys).size, N, 'no key twice')
  t.equal(await dumper.until('\r\n', 10_000), 'MN\r\n', 'the command pipelined after it is answered after END')
})
