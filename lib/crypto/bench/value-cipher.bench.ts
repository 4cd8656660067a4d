// lib/crypto/bench/value-cipher.bench.ts
/**
 * Cost of one seal() and one open() (AES-256-GCM through node:crypto, plus the header and
 * the AAD) at 100 B and 1 KiB values: the CPU --encrypt-values adds per set and per hit.
 *
 *   node dist/lib/crypto/bench/value-cipher.bench.js [--repeats 5] [--n 20000]
 *
 * Prints min / median / max microseconds per operation over the repeats, and the CPU model.
 */
import os from 'node:os'
import { randomBytes } from 'node:crypto'
import { KeyRing } from '../key-ring.js'
import { ValueCipher } from '../value-cipher.js'

function arg (name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : dflt
}

const repeats = arg('repeats', 5)
const n = arg('n', 20000)
const cipher = new ValueCipher(new KeyRing([{ id: 1, key: randomBytes(32) }]))
const key = Buffer.from('bench:key:0000000000000000000000')

function timeUs (fn: () => void): number {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) fn()
  return Number(process.hrtime.bigint() - t0) / 1000 / n
}

const stat = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b)
  return `${s[0]!.toFixed(2)} / ${s[Math.floor(s.length / 2)]!.toFixed(2)} / ${s[s.length - 1]!.toFixed(2)}`
}

process.stdout.write('| value | seal us (min / median / max) | open us (min / median / max) |\n| --- | --- | --- |\n')
for (const size of [100, 1024]) {
  const value = randomBytes(size)
  const sealed = cipher.seal(key, 0, key.length, 0, value, 0, size)
  const seal: number[] = []
  const open: number[] = []
  for (let r = 0; r < repeats; r++) {
    seal.push(timeUs(() => cipher.seal(key, 0, key.length, 0, value, 0, size)))
    open.push(timeUs(() => { if (cipher.open(key, 0, key.length, 0, sealed, 0, sealed.length) === null) throw new Error('did not open') }))
  }
  process.stdout.write(`| ${size === 100 ? '100 B' : '1 KiB'} | ${stat(seal)} | ${stat(open)} |\n`)
}
process.stdout.write(`${repeats} repeats x ${n} ops; ${os.cpus()[0]?.model ?? '?'}, load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}, node ${process.version}\n`)
