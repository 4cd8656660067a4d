/**
 * Throughput of BinaryRequestParser (request-parser.ts) on the inputs a binary client
 * sends most: pipelined one-key GETs, a 100-key GETKQ multi-get ended by NOOP (how
 * libmemcached, dalli and spymemcached batch), pipelined 1 KiB SETs, and a 100 KiB SET
 * arriving in 16 KiB chunks. The handler only accepts values, so the numbers are the
 * parser's own cost.
 *
 *   npx tsc -p . && node dist/protocol/binary/bench/request-parser.bench.js [--quick]
 *
 * Figures are per request: median of tinybench samples (each sample = 20 passes over the
 * input), timed with this process's CPU time so other processes on a shared machine count
 * less; cache and frequency effects of a busy machine still move them.
 */
import { Bench } from 'tinybench'
import { BinaryRequestParser, Next, type BinaryRequest } from '../request-parser.js'
import { Opcode, carriesValue } from '../opcodes.js'
import { encodeRequest, storeExtras } from '../request-encoder.js'

let requests = 0
let valueBytes = 0
const parser = new BinaryRequestParser({
  onRequest (req: BinaryRequest) { requests++; return carriesValue(req.op) ? Next.Value : Next.Continue },
  onValue (_req, _v, s, e) { valueBytes += e - s },
  onFrameError () { throw new Error('framing lost') },
})

/** The same, but values are streamed to onValuePart (how the server writes into the item). */
const streaming = new BinaryRequestParser({
  onRequest (req: BinaryRequest) { requests++; return carriesValue(req.op) ? Next.Stream : Next.Continue },
  onValue () {},
  onValuePart (_req, _b, s, e) { valueBytes += e - s },
  onFrameError () { throw new Error('framing lost') },
})

const key = (i: number): string => `key:${String(i).padStart(28, '0')}` // 32 bytes, as memaslap's

interface Case { name: string, chunks: Buffer[], requests: number, stream?: boolean }

const cases: Case[] = [
  {
    name: '100 pipelined GETs in one chunk',
    chunks: [Buffer.concat(Array.from({ length: 100 }, (_, i) => encodeRequest({ opcode: Opcode.Get, key: key(i), opaque: i })))],
    requests: 100,
  },
  {
    name: '100 GETKQ + NOOP (one multi-get)',
    chunks: [Buffer.concat([...Array.from({ length: 100 }, (_, i) => encodeRequest({ opcode: Opcode.GetKQ, key: key(i), opaque: i })), encodeRequest({ opcode: Opcode.Noop })])],
    requests: 101,
  },
  {
    name: '32 pipelined 1 KiB SETs in one chunk',
    chunks: [Buffer.concat(Array.from({ length: 32 }, (_, i) => encodeRequest({ opcode: Opcode.Set, key: key(i), extras: storeExtras(0, 0), value: 'v'.repeat(1024) })))],
    requests: 32,
  },
  (() => {
    const whole = encodeRequest({ opcode: Opcode.Set, key: key(1), extras: storeExtras(0, 0), value: Buffer.alloc(102400, 'v') })
    const chunks: Buffer[] = []
    for (let o = 0; o < whole.length; o += 16384) chunks.push(whole.subarray(o, o + 16384))
    return { name: 'one 100 KiB SET in 16 KiB chunks', chunks, requests: 1 }
  })(),
  (() => {
    const whole = encodeRequest({ opcode: Opcode.Set, key: key(1), extras: storeExtras(0, 0), value: Buffer.alloc(102400, 'v') })
    const chunks: Buffer[] = []
    for (let o = 0; o < whole.length; o += 16384) chunks.push(whole.subarray(o, o + 16384))
    return { name: 'the same, value streamed (Next.Stream)', chunks, requests: 1, stream: true }
  })(),
]

const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
const REPS = 20
const quick = process.argv.includes('--quick')
const bench = new Bench({ now: cpuMs, time: quick ? 30 : 600, warmupTime: quick ? 10 : 200 })
for (const c of cases) {
  const p = c.stream === true ? streaming : parser
  bench.add(c.name, () => {
    for (let r = 0; r < REPS; r++) for (const ch of c.chunks) p.push(ch)
  })
}
await bench.run()

if (requests === 0 || valueBytes === 0) throw new Error('binary parser bench: handler saw nothing')

const rows = bench.tasks.map((t, i) => {
  const r = t.result
  if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state}`)
  const perReq = (r.latency.p50 * 1e6) / (cases[i].requests * REPS) // ms -> ns
  return { case: t.name, 'ns/request': perReq.toFixed(0), 'requests/s': `${(1e3 / perReq).toFixed(2)} M`, 'rme %': r.latency.rme.toFixed(1) }
})
console.table(rows)
