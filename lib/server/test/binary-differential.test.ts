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
import { exchange, startMemcached, transcript } from './binary-harness.js'
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
