// truncate() must leave exactly the first k elements, by pops for short tails and by the
// length store for long ones, and never grow a list.
import t from 'tap'
import { truncate } from '../truncate.js'

const list = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

t.test('short and long tails, to zero and to a prefix', async (t) => {
  for (const n of [0, 1, 2, 16, 17, 40]) {
    for (const k of [0, 1, 5, n]) {
      if (k > n) continue
      const a = list(n)
      truncate(a, k)
      t.same(a, list(k), `n=${n} k=${k}`)
    }
  }
})

t.test('k at or past the length changes nothing', async (t) => {
  const a = list(3)
  truncate(a, 3)
  truncate(a, 7)
  t.same(a, [0, 1, 2])
})
