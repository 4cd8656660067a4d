/**
 * The meta differential suite: every scenario in meta-scenarios.ts is played against a real
 * memcached 1.6.18 and against memring, each on a fresh server, and both must answer exactly
 * the recorded bytes. Scenarios without clock-dependent replies are also played with every
 * step written one byte at a time, so the line and data-block framing is exercised at every
 * boundary.
 */

import t, { type Test } from 'tap'
import { haveMemcached, runScenario, startMemcached, type Scenario, type Target } from './meta-harness.js'
import { scenarios } from './meta-scenarios.js'
import { memringReady, startMemring } from './meta-target.js'

const BYTE_MODE_MAX = 4096 // byte-by-byte only for scenarios that send at most this much

interface TargetKind { name: string, start: () => Promise<Target>, skip?: string | false }

const kinds: TargetKind[] = [
  { name: 'memcached', start: async () => await startMemcached(), skip: (await haveMemcached()) ? false : 'memcached is not installed' },
  { name: 'memring', start: startMemring, skip: memringReady() ? false : 'the server core has not landed yet' },
]

async function play (t: Test, kind: TargetKind, sc: Scenario, split: 'whole' | 'bytes'): Promise<void> {
  const attempts = sc.clock === true ? 3 : 1
  for (let a = 1; ; a++) {
    const target = await kind.start()
    let res
    try {
      res = await runScenario(target, sc, split)
    } finally {
      await target.close()
    }
    const ok = res.every((r) => r.got === r.want)
    if (ok || a >= attempts) {
      res.forEach((r, i) => t.equal(r.got, r.want, `step ${i + 1}: ${JSON.stringify(sc.steps.filter((s) => s.sync !== false)[i].send.slice(0, 80))}`))
      return
    }
    t.comment(`${sc.name}: clock-dependent reply differed on attempt ${a}, retrying`)
  }
}

for (const kind of kinds) {
  t.test(`meta scenarios against ${kind.name}`, { skip: kind.skip ?? false }, async (t) => {
    for (const sc of scenarios) {
      await t.test(sc.name, async (t) => { await play(t, kind, sc, 'whole') })
    }
  })
  t.test(`meta scenarios against ${kind.name}, one byte per write`, { skip: kind.skip ?? false }, async (t) => {
    for (const sc of scenarios) {
      const size = sc.steps.reduce((n, s) => n + s.send.length, 0)
      if (sc.clock === true || size > BYTE_MODE_MAX) continue
      await t.test(sc.name, async (t) => { await play(t, kind, sc, 'bytes') })
    }
  })
}
