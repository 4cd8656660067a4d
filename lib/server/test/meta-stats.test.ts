/**
 * Meta commands move the same `stats` counters as in memcached 1.6.18: mg counts as get (or
 * touch with T on a hit), ms as set and cas, md as delete, ma as incr/decr, and only me
 * counts as cmd_meta. One mixed script, then `stats`, on a fresh real memcached and a fresh
 * memring; the counters are written out as memcached reported them.
 */
import t from 'tap'
import { haveMemcached, runScenario, startMemcached, type Target } from './meta-harness.js'
import { startMemring } from './meta-target.js'

const SCRIPT =
  'ms a 1\r\n1\r\nms b 1 C5\r\n2\r\nms a 1 C1\r\n3\r\nms a 1 C99 I\r\n3\r\n' +
  'mg a v\r\nmg zz v\r\nmg a T30\r\nmg zz T30\r\nmg n N30\r\n' +
  'md a C1\r\nmd zz\r\nmd n\r\nmd n I\r\n' +
  'ma c\r\nma c N0\r\nma c MD\r\nma c C99\r\nms s 1\r\nx\r\nma s\r\n' +
  'me s\r\nme zz\r\nmn\r\nms a 1 MA\r\nz\r\nms q 1 ME\r\nz\r\nms q 1 ME\r\nz\r\n'

// As memcached 1.6.18 reports them after SCRIPT (the harness's sync probe after the
// script is one more get miss).
const WANT: Record<string, string> = {
  cmd_get: '5', get_hits: '2', get_misses: '3', cmd_set: '8', cmd_touch: '1', touch_hits: '1', touch_misses: '0',
  delete_hits: '1', delete_misses: '3', incr_hits: '0', incr_misses: '1', decr_hits: '1', decr_misses: '0',
  cas_hits: '1', cas_misses: '1', cas_badval: '1', cmd_meta: '2', curr_items: '4', total_items: '7',
}

const kinds = [
  { name: 'memcached', start: startMemcached, skip: (await haveMemcached()) ? false : 'memcached is not installed' },
  { name: 'memring', start: startMemring, skip: false },
]

for (const kind of kinds) {
  t.test(`${kind.name}: meta commands count in stats as memcached counts them`, { skip: kind.skip }, async (t) => {
    const target: Target = await kind.start()
    t.teardown(async () => { await target.close() })
    const r = await runScenario(target, { name: 'stats', steps: [{ send: SCRIPT, want: '' }, { send: 'stats\r\n', want: '' }] })
    const stats = new Map(r[1].got.split('\r\n').filter((l) => l.startsWith('STAT ')).map((l) => {
      const [, k, v] = l.split(' ')
      return [k, v] as [string, string]
    }))
    for (const [k, v] of Object.entries(WANT)) t.equal(stats.get(k), v, k)
  })
}
