/**
 * `lru mode|tune|temp_ttl` against memcached 1.6.18: after every command, `stats
 * settings` is asked and its LRU rows compared, so both the reply and the setting it left
 * must match byte for byte. memcached is the oracle; nothing expected is written here
 * except the few replies the brief measured, pinned so a silent oracle cannot pass.
 */
import t from 'tap'
import { exchange } from '../../testing/raw-client.js'
import { haveMemcached, startMemcached } from '../../testing/memcached.js'
import { startServer } from '../../testing/servers.js'
import { rawClient } from '../../testing/raw-client.js'

const LRU_ROWS = /^STAT (lru_segmented|hot_lru_pct|warm_lru_pct|hot_max_factor|warm_max_factor|temp_lru|temporary_ttl) /

const commands = [
  'lru mode segmented', 'lru mode flat', 'lru mode bogus', 'lru mode', 'lru mode segmented extra',
  'lru tune 10 25 0.1 2.0', 'lru tune 10 25', 'lru tune 10 25 0.125 2.005', 'lru tune 10 25 1e-310 1',
  'lru tune 10 25 1e-400 1', 'lru tune 10 25 1e400 1', 'lru tune 10 25 inf nan', 'lru tune 10 25 -nan InFiNiTy',
  'lru tune 10 25 0x1p-2 0X1.8', 'lru tune 10 25 0x 1', 'lru tune 10 25 1. .5', 'lru tune 10 25 1e 1',
  'lru tune 10 25 nan(abc) 1', 'lru tune 10 25 nan( 1', 'lru tune 4294967295 1 1 1', 'lru tune 70 11 1 1',
  'lru tune 10 25 0 1', 'lru tune 10 25 -1 1', 'lru tune -1 25 1 1', 'lru tune x 25 1 1',
  'lru tune 10 25 1 1 noreply', 'lru tune 10 25 1 noreply', 'lru tune 10 25 1 1 extra',
  'lru tune 1 2 12345678901234567890123.456 1', 'lru tune 10 25 +1.5 1', 'lru tune 10 25  1 1',
  'lru tune 10 25 0.005 0.015', 'lru tune 10 25 1e22 2.675', 'lru tune 80 0 1 1', 'lru tune 0 0 0.2 2',
  'lru temp_ttl 30', 'lru temp_ttl', 'lru temp_ttl -5', 'lru temp_ttl 0', 'lru temp_ttl 2147483648',
  'lru temp_ttl 4294967295', 'lru temp_ttl x', 'lru temp_ttl 61', 'lru temp_ttl -1 noreply',
  'lru mode flat noreply', 'lru noreply', 'lru', 'lru bogus 1', 'lru tune', 'LRU mode flat',
]

/** Replies with every `stats settings` block cut down to its LRU rows. */
function lruView (bytes: Buffer): string {
  return bytes.toString('latin1').split('\r\n').filter((l) => !l.startsWith('STAT ') || LRU_ROWS.test(l)).join('\r\n')
}

const script = commands.map((c) => `${c}\r\nstats settings\r\n`).join('')

t.test('lru commands and the settings they leave, as memcached 1.6.18', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  const mc = await startMemcached(t)
  const mr = await startServer(t)
  const [a, b] = await Promise.all([exchange(mc.port, script), exchange(mr.port, script)])
  const want = lruView(a)
  t.match(want, /^OK\r\n/, 'memcached answered the first lru command')
  t.equal(lruView(b), want, 'memring replies and LRU settings equal memcached\'s')
})

t.test('the replies the brief measured on 1.6.18', async (t) => {
  const mr = await startServer(t)
  const c = await rawClient(t, mr.port)
  c.write('lru mode segmented\r\nlru mode flat\r\nlru mode bogus\r\nlru tune 10 25 0.1 2.0\r\nlru tune 10 25\r\nlru temp_ttl 30\r\nlru temp_ttl\r\nlru\r\nlru bogus 1\r\n')
  t.same(await c.lines(9), ['OK', 'OK', 'ERROR', 'OK', 'ERROR', 'OK', 'ERROR', 'ERROR', 'ERROR'])
})

t.test('lru mode and lru tune reach the store', async (t) => {
  const mr = await startServer(t)
  const c = await rawClient(t, mr.port)
  const sets = (p: string): string => Array.from({ length: 100 }, (_, i) => `set ${p}${i} 0 0 1 noreply\r\nx\r\n`).join('')
  const counts = async (): Promise<Record<string, number>> => {
    c.write('stats items\r\n')
    const lines = (await c.until('END\r\n')).split('\r\n')
    const o: Record<string, number> = {}
    for (const l of lines) {
      const m = /^STAT items:1:(number_hot|number_warm|number_cold) (\d+)$/.exec(l)
      if (m !== null) o[m[1]] = Number(m[2])
    }
    return o
  }
  c.write(sets('a'))
  const seg = await counts()
  t.ok(seg.number_hot > 0 && seg.number_hot <= 21, `segmented: HOT holds about 20% (${seg.number_hot})`)
  c.write('lru tune 50 20 0.2 2\r\n')
  t.same(await c.lines(1), ['OK'])
  c.write(sets('b'))
  const tuned = await counts()
  t.ok(tuned.number_hot > 80, `hot_lru_pct 50: HOT grows to about half (${tuned.number_hot} of 200)`)
  c.write('lru mode flat\r\n')
  t.same(await c.lines(1), ['OK'])
  c.write(sets('c'))
  const flat = await counts()
  t.equal(flat.number_cold, 300 - flat.number_hot - flat.number_warm, 'flat: all items counted')
  t.ok(flat.number_cold > tuned.number_cold + 100, `flat: new items enter COLD and HOT drains (${JSON.stringify(flat)})`)
  t.ok(flat.number_hot < tuned.number_hot, 'flat: HOT drains into COLD')
})
