/**
 * Random meta scripts, played on a fresh real memcached 1.6.18 and a fresh memring: both
 * must answer every step with the same bytes. Scripts mix mg/ms/md/ma (valid and invalid
 * flags, base64 keys, quiet mode, CAS tokens, modes, vivify, stale marks) with classic
 * commands on a handful of keys, so items pass through many states. Seeded and bounded;
 * a failure prints the seed, the step and the steps before it. Flags whose replies depend on
 * the 1 s clock (t, l) are left to the recorded scenarios; recache is R60, never R30: items
 * live 30 s here, and "remaining TTL < 30" flips when each server's clock ticks its next
 * second, which the two servers do at different moments (a failed run showed `W` on one).
 *
 * Counters (incr/decr/ma) get keys of their own that never carry visible read, stale or
 * win state (no h, N, R, I, no ms b): memcached 1.6.18 replaces an item instead of updating it in
 * place when an asynchronous LRU bump still holds a reference, which drops those marks
 * depending on thread timing (a documented divergence; memring always updates in place).
 *
 *   META_FUZZ_SCRIPTS=500 META_FUZZ_SEED=9 npx tap dist/lib/server/test/meta-fuzz.test.js
 */
import t from 'tap'
import { haveMemcached, runScenario, startMemcached, type Step } from './meta-harness.js'
import { startMemring } from './meta-target.js'

const SCRIPTS = Number(process.env.META_FUZZ_SCRIPTS ?? 30)
const STEPS = 40
let seed = Number(process.env.META_FUZZ_SEED ?? 20261126)

const rnd = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n }
const pick = <T>(a: T[]): T => a[rnd(a.length)]

const KEYS = ['a', 'b', 'c', 'Yg==']
const COUNTERS = ['n', 'bg=='] // 'bg==' is 'n' under b: counters stay apart from the other keys
const MG = ['v', 'c', 'f', 's', 'k', 'h', 'q', 'u', 'O1', 'Oxy', 'T30', 'T0', 'N30', 'N0', 'R60', 'b', 'T-1', 'F3', 'C1', 'I', 'MS', 'z', 'Tx']
const MS = ['c', 'k', 'q', 'O9', 'T30', 'T0', 'F5', 'C1', 'C2', 'C3', 'C4', 'C0', 'I', 'ME', 'MA', 'MP', 'MR', 'MS', 'MX', 'b', 'N30', 'v']
const MD = ['q', 'k', 'O7', 'C1', 'C2', 'C3', 'C5', 'I', 'T30', 'b', 'x']
const MA = ['v', 'c', 'k', 'q', 'O5', 'N0', 'N30', 'J7', 'J18446744073709551615', 'D2', 'D18446744073709551615', 'MI', 'MD', 'M+', 'M-', 'C1', 'C4', 'T30', 'b']
const VALUES = ['1', '9', '99', 'x', '', '18446744073709551615', '007', 'abc']
/** Flags that give an item state memcached may drop on incr (see the header). */
const STATEFUL = new Set(['h', 'N30', 'N0', 'R60', 'I'])
const STATELESS = (set: string[]): string[] => set.filter((f) => !STATEFUL.has(f))
const MG_COUNTER = STATELESS(MG)
const MS_COUNTER = STATELESS(MS).filter((f) => f !== 'b') // b marks the key binary, another such mark
const MD_COUNTER = STATELESS(MD)

function flags (set: string[]): string {
  const n = rnd(7)
  const out = new Set<string>()
  for (let i = 0; i < n; i++) out.add(pick(set))
  return [...out].join(' ')
}

function command (): string {
  const counter = rnd(3) === 0
  const k = counter ? pick(COUNTERS) : pick(KEYS)
  switch (rnd(6)) {
    case 0: case 1: return `mg ${k} ${flags(counter ? MG_COUNTER : MG)}\r\n`
    case 2: { const v = pick(VALUES); return `ms ${k} ${v.length} ${flags(counter ? MS_COUNTER : MS)}\r\n${v}\r\n` }
    case 3: return `md ${k} ${flags(counter ? MD_COUNTER : MD)}\r\n`
    case 4: return counter ? `ma ${k} ${flags(MA)}\r\n` : `mg ${k} ${flags(MG)}\r\n`
    default: return pick([`set ${k} 0 0 1\r\n5\r\n`, `get ${k}\r\n`, `gets ${k}\r\n`, counter ? `incr ${k} 3\r\n` : `touch ${k} 0\r\n`, `append ${k} 0 0 1\r\n0\r\n`, 'mn\r\n', `delete ${k}\r\n`])
  }
}

t.test(`${SCRIPTS} random meta scripts answer the same bytes on memcached and memring`, { skip: (await haveMemcached()) ? false : 'memcached is not installed' }, async (t) => {
  let same = 0
  for (let s = 0; s < SCRIPTS; s++) {
    const scriptSeed = seed
    const steps: Step[] = Array.from({ length: STEPS }, () => ({ c: rnd(4) === 0 ? 1 : 0, send: command(), want: '' }))
    const mc = await startMemcached()
    const want = await runScenario(mc, { name: 'fuzz', steps }).finally(async () => { await mc.close() })
    const mr = await startMemring()
    const got = await runScenario(mr, { name: 'fuzz', steps }).finally(async () => { await mr.close() })
    const i = want.findIndex((w, j) => w.got !== got[j].got)
    if (i === -1) { same++; continue }
    t.equal(got[i].got, want[i].got, `seed ${scriptSeed}, step ${i + 1} ${JSON.stringify(steps[i].send)} after ${JSON.stringify(steps.slice(Math.max(0, i - 8), i).map((x) => `[${x.c ?? 0}] ${x.send}`).join(''))}`)
  }
  t.equal(same, SCRIPTS, 'every script matched')
})
