/**
 * safe_strtod and "%.2f" as memcached 1.6.18 reads and prints them. Expected values were
 * measured on memcached 1.6.18 (`lru tune 10 25 <x> 1` then `stats settings`); the
 * differential test in lib/server/test/lru-differential.test.ts replays them live.
 */
import t from 'tap'
import { atof, formatFixed, lastDoubleNegative, parseDouble } from '../float.js'

function p (s: string): number | null {
  const b = Buffer.from(s, 'latin1')
  return parseDouble(b, 0, b.length)
}

t.test('accepted tokens and their %.2f', async (t) => {
  const cases: Array<[string, string]> = [
    ['0.125', '0.12'], // exact tie: half to even (JavaScript's toFixed says 0.13)
    ['2.005', '2.00'], ['0.005', '0.01'], ['0.015', '0.01'], ['2.675', '2.67'],
    ['1.', '1.00'], ['.5', '0.50'], ['+1.5', '1.50'], ['0x1p-2', '0.25'], ['0X1.8', '1.50'],
    ['inf', 'inf'], ['InFiNiTy', 'inf'], ['nan', 'nan'], ['nan(abc)', 'nan'],
    ['1e22', '10000000000000000000000.00'],
    ['12345678901234567890123.456', '12345678901234567741440.00'],
    ['1.5\t', '1.50'], ['-2', '-2.00'],
  ]
  for (const [tok, shown] of cases) {
    const v = p(tok)
    t.not(v, null, `${JSON.stringify(tok)} accepted`)
    t.equal(formatFixed(v as number, 2), shown, `${JSON.stringify(tok)} prints ${shown}`)
  }
})

t.test('refused tokens', async (t) => {
  for (const tok of ['', 'x', '1e400', '1e-400', '1e-310', '0x', '1e', 'nan(', '1.5x', '--1', ' ']) {
    t.equal(p(tok), null, `${JSON.stringify(tok)} refused`)
  }
})

t.test('-nan keeps its sign for printing', async (t) => {
  const v = p('-nan')
  t.ok(Number.isNaN(v), 'NaN')
  t.equal(lastDoubleNegative(), true)
  t.equal(formatFixed(NaN, 2, true), '-nan')
  p('nan')
  t.equal(lastDoubleNegative(), false)
})

t.test('atof (memcached -o factors): the leading number, 0 for none, inf on overflow', async (t) => {
  const a = (s: string): number => { const b = Buffer.from(s, 'latin1'); return atof(b, 0, b.length) }
  t.same(['0.5', '1e3x', ' 0x10', 'abc', '', '-', '1e400', '-1e400', '1e-400', '2.5 7'].map(a),
    [0.5, 1000, 16, 0, 0, 0, Infinity, -Infinity, 0, 2.5])
  t.ok(Number.isNaN(a('-nan')))
  t.equal(lastDoubleNegative(), true)
})
