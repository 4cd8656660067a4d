/**
 * Meta commands on a server started without CAS (memcached -C, memring useCas false): every
 * CAS is 0, so c returns c0, any C token is a mismatch, and me's size has no 8-byte CAS.
 * Replies recorded from memcached 1.6.18 -C; both servers must send exactly these bytes.
 */
import t from 'tap'
import { haveMemcached, runScenario, startMemcached, type Scenario } from './meta-harness.js'
import { startMemring } from './meta-target.js'

const scenario: Scenario = {
  name: 'meta without CAS',
  steps: [
    { send: 'ms a 1 c\r\nx\r\n', want: 'HD c0\r\n' },
    { send: 'mg a c v\r\n', want: 'VA 1 c0\r\nx\r\n' },
    { send: 'ms a 1 C0\r\ny\r\n', want: 'EX\r\n' },
    { send: 'ms a 1 C1\r\ny\r\n', want: 'EX\r\n' },
    { send: 'md a I c\r\n', want: 'HD\r\n' },
    { send: 'mg a c v\r\n', want: 'VA 1 c0 X W\r\nx\r\n' },
    { send: 'ma n N0 J1 c v\r\n', want: 'VA 1 c0\r\n1\r\n' },
    { send: 'me a\r\n', want: 'ME a exp=-1 la=0 cas=0 fetch=yes cls=1 size=53\r\n' },
    { send: 'gets a\r\n', want: 'VALUE a 0 1 0\r\nx\r\nEND\r\n' },
  ],
}

const kinds = [
  { name: 'memcached -C', start: async () => await startMemcached(['-C']), skip: (await haveMemcached()) ? false : 'memcached is not installed' },
  { name: 'memring without CAS', start: async () => await startMemring({ useCas: false }), skip: false },
]

for (const kind of kinds) {
  t.test(`${kind.name}: CAS is 0 everywhere in meta replies`, { skip: kind.skip }, async (t) => {
    const target = await kind.start()
    t.teardown(async () => { await target.close() })
    const res = await runScenario(target, scenario)
    res.forEach((r, i) => t.equal(r.got, r.want, JSON.stringify(scenario.steps[i].send)))
  })
}
