/**
 * Cost of assembling get-hit replies with Output (output.ts): "VALUE <key> <flags>
 * <bytes>\r\n<data>\r\nEND\r\n" for 1 key and for 100 keys of 100 B, one 1 KiB value, and
 * one 100 KiB value (its own piece), then one flush to a sink that accepts everything.
 * The reply is written the way the text session writes it: header and small values copied
 * into a reserved range of the staging chunk, large values as an owned Buffer.
 *
 *   npx tsc -p . && node dist/lib/server/bench/output.bench.js [--quick]
 *
 * Per-reply medians of tinybench samples (each sample = 100 replies), timed with this
 * process's CPU time so other processes on a shared machine count less.
 */
import { Bench } from 'tinybench'
import { writeUint } from '../../../protocol/numbers.js'
import { Output, LARGE_PIECE } from '../output.js'
import type { Sink } from '../output.js'

class NullSink implements Sink {
  bytes = 0
  writes = 0
  write (b: Buffer): boolean { this.bytes += b.length; this.writes++; return true }
  cork (): void {}
  uncork (): void {}
}

const END = Buffer.from('END\r\n')

/** One VALUE block for key kb[ks, ke) and value v. */
function value (out: Output, kb: Buffer, ks: number, ke: number, flags: number, v: Buffer): void {
  const nkey = ke - ks
  const small = v.length < LARGE_PIECE
  const max = 6 + nkey + 1 + 10 + 1 + 10 + 2 + (small ? v.length + 2 : 0)
  let o = out.reserveRaw(max)
  const t = out.target()
  const start = o
  t[o++] = 86; t[o++] = 65; t[o++] = 76; t[o++] = 85; t[o++] = 69; t[o++] = 32 // "VALUE "
  o += kb.copy(t, o, ks, ke)
  t[o++] = 32
  o = writeUint(t, o, flags)
  t[o++] = 32
  o = writeUint(t, o, v.length)
  t[o++] = 13; t[o++] = 10
  if (small) {
    o += v.copy(t, o)
    t[o++] = 13; t[o++] = 10
    out.unreserve(max - (o - start))
    return
  }
  out.unreserve(max - (o - start))
  const own = Buffer.allocUnsafe(v.length + 2)
  v.copy(own, 0)
  own[v.length] = 13; own[v.length + 1] = 10
  out.owned(own)
}

const keys = Buffer.from(Array.from({ length: 100 }, (_, i) => `key:${String(i).padStart(28, '0')}`).join(' '))
const v100 = Buffer.alloc(100, 'v')
const v1k = Buffer.alloc(1024, 'v')
const v100k = Buffer.alloc(100 * 1024, 'v')

const sink = new NullSink()
const out = new Output()
const reply = (n: number, v: Buffer): void => {
  for (let i = 0; i < n; i++) value(out, keys, i * 33, i * 33 + 32, 0, v)
  out.bytes(END)
  out.flush(sink)
}

const REPS = 100
const cases: Array<{ name: string, run: () => void }> = [
  { name: 'get hit, 1 key, 100 B', run: () => reply(1, v100) },
  { name: 'get hit, 100 keys, 100 B each', run: () => reply(100, v100) },
  { name: 'get hit, 1 key, 1 KiB', run: () => reply(1, v1k) },
  { name: 'get hit, 1 key, 100 KiB', run: () => reply(1, v100k) },
]

/** Process CPU time in ms: other processes on a shared machine stretch wall time, not this. */
const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
const quick = process.argv.includes('--quick')
const bench = new Bench({ now: cpuMs, time: quick ? 30 : 600, warmupTime: quick ? 10 : 200 })
for (const c of cases) bench.add(c.name, () => { for (let r = 0; r < REPS; r++) c.run() })
await bench.run()
if (sink.bytes === 0) throw new Error('output bench: nothing reached the sink')

console.table(bench.tasks.map((t) => {
  const r = t.result
  if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state}`)
  const ns = (r.latency.p50 * 1e6) / REPS
  return { case: t.name, 'ns/reply': ns.toFixed(0), 'replies/s': `${(1e3 / ns).toFixed(2)} M`, 'rme %': r.latency.rme.toFixed(1) }
}))
