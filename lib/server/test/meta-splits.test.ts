/**
 * Meta request framing under every cut: one pipelined stream of meta commands (lines, data
 * blocks holding CRLF, bare LF endings, extra spaces, quiet misses) is written whole, one
 * byte per write, and cut into two writes at every position. Each time the reply bytes must
 * be exactly those real memcached 1.6.18 sends (recorded below). The stream cleans up after
 * itself, so after a first priming run every run on the same server answers the same bytes.
 */

import t from 'tap'
import { haveMemcached, runScenario, startMemcached, type Target } from './meta-harness.js'
import { memringReady, startMemring } from './meta-target.js'

const STREAM =
  'md s1 q\r\nmd s2 q\r\nmd s3 q\r\n' +
  'ms s1 5 T0 F3 k Oa\r\nhello\r\n' +
  'ms s2 4 q\r\nab\r\n\r\n' +
  'mg s1 k v f s Ob\r\nmg s2 v q\r\nmg s9 v q k\r\n' +
  'ma s3 N0 J41 v\r\nma s3 v MI\nmd s3 q\r\nma s3 q\r\n' +
  'ms s1 2 MA\r\n!!\r\nmg s1 v\r\nmg  s2   s \nmn\r\n'

const STEADY =
  'NF\r\n' +
  'HD ks1 Oa\r\n' +
  'VA 5 ks1 f3 s5 Ob\r\nhello\r\nVA 4\r\nab\r\n\r\n' +
  'VA 2\r\n41\r\nVA 2\r\n42\r\nNF\r\n' +
  'HD\r\nVA 7\r\nhello!!\r\nHD s4\r\nMN\r\n'
const FIRST = 'NF\r\nNF\r\n' + STEADY

const kinds = [
  { name: 'memcached', start: startMemcached, skip: (await haveMemcached()) ? false : 'memcached is not installed' },
  { name: 'memring', start: startMemring, skip: memringReady() ? false : 'the server core has not landed yet' },
]

for (const kind of kinds) {
  t.test(`${kind.name}: the meta stream answers the same bytes whole, byte by byte, and cut anywhere`, { skip: kind.skip }, async (t) => {
    const target: Target = await kind.start()
    t.teardown(async () => { await target.close() })
    const run = async (split: 'whole' | 'bytes' | number): Promise<string> =>
      (await runScenario(target, { name: 'stream', steps: [{ send: STREAM, want: '' }] }, split))[0].got
    t.equal(await run('whole'), FIRST, 'first run, on an empty server')
    t.equal(await run('whole'), STEADY, 'whole')
    t.equal(await run('bytes'), STEADY, 'one byte per write')
    const bad: number[] = []
    for (let cut = 1; cut < STREAM.length; cut++) {
      if (await run(cut) !== STEADY) bad.push(cut)
    }
    t.same(bad, [], `every one of the ${STREAM.length - 1} two-write cuts answers the same bytes`)
  })
}
