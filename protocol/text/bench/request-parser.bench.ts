/**
 * Throughput of TextRequestParser (request-parser.ts) on the inputs a cache sees most:
 * pipelined one-key gets, one 100-key multiget, pipelined 1 KiB and 16 KiB sets, and a 100 KiB set
 * arriving in 16 KiB chunks. The handler does the least a real one must: it walks multiget
 * keys and announces data blocks, so the numbers are the parser's own cost.
 *
 *   npx tsc -p . && node dist/protocol/text/bench/request-parser.bench.js [--quick]
 *
 * Figures are per request: median of tinybench samples (each sample = 20 passes over the
 * input), timed with this process's CPU time so other processes on a shared machine count
 * less; cache and frequency effects of a busy machine still move them.
 */
import { Bench } from 'tinybench'
import { SP } from '../../bytes.js'
import { parseU32 } from '../../numbers.js'
import { Op } from '../../request.js'
import { NO_DATA, TextRequestParser } from '../request-parser.js'
import type { TextLine, TextRequestHandler } from '../request-parser.js'

class CountingHandler implements TextRequestHandler {
  lines = 0
  keys = 0
  dataBytes = 0
  onLine (line: TextLine): number {
    this.lines++
    if (line.op === Op.Get) {
      // Walk every key the way a get handler does (past the 23-token limit too).
      const buf = line.buf
      let p = line.tokS[1]
      while (p < line.end) {
        const q = buf.indexOf(SP, p)
        const e = q === -1 || q > line.end ? line.end : q
        if (e > p) this.keys++
        p = e + 1
      }
      return NO_DATA
    }
    if (line.op === Op.Set) return parseU32(line.buf, line.tokS[4], line.tokE[4]) + 2
    return NO_DATA
  }

  onData (_line: TextLine, _buf: Buffer, s: number, e: number): void { this.dataBytes += e - s }
  onFatal (reason: string): void { throw new Error(reason) }
}

const key = (i: number): string => `key:${String(i).padStart(28, '0')}` // 32 bytes, as memaslap's

interface Case { name: string, chunks: Buffer[], requests: number }

const cases: Case[] = [
  {
    name: '100 pipelined one-key gets in one chunk',
    chunks: [Buffer.from(Array.from({ length: 100 }, (_, i) => `get ${key(i)}\r\n`).join(''))],
    requests: 100,
  },
  {
    name: 'one 100-key multiget',
    chunks: [Buffer.from(`get ${Array.from({ length: 100 }, (_, i) => key(i)).join(' ')}\r\n`)],
    requests: 1,
  },
  {
    name: '32 pipelined 1 KiB sets in one chunk',
    chunks: [Buffer.from(Array.from({ length: 32 }, (_, i) => `set ${key(i)} 0 0 1024\r\n${'v'.repeat(1024)}\r\n`).join(''))],
    requests: 32,
  },
  {
    name: '4 pipelined 16 KiB sets in one chunk',
    chunks: [Buffer.from(Array.from({ length: 4 }, (_, i) => `set ${key(i)} 0 0 16384\r\n${'v'.repeat(16384)}\r\n`).join(''))],
    requests: 4,
  },
  (() => {
    const whole = Buffer.from(`set ${key(1)} 0 0 102400\r\n${'v'.repeat(102400)}\r\n`)
    const chunks: Buffer[] = []
    for (let o = 0; o < whole.length; o += 16384) chunks.push(whole.subarray(o, o + 16384))
    return { name: 'one 100 KiB set in 16 KiB chunks', chunks, requests: 1 }
  })(),
]

/** Process CPU time in ms: other processes on a shared machine stretch wall time, not this. */
const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
const REPS = 20
const quick = process.argv.includes('--quick')
const bench = new Bench({ now: cpuMs, time: quick ? 30 : 600, warmupTime: quick ? 10 : 200 })
const handler = new CountingHandler()
const parser = new TextRequestParser(handler)
for (const c of cases) {
  bench.add(c.name, () => {
    for (let r = 0; r < REPS; r++) for (const ch of c.chunks) parser.push(ch)
  })
}
await bench.run()

// Sanity: the parser really saw every request of every case.
if (handler.lines === 0 || handler.keys === 0 || handler.dataBytes === 0) throw new Error('parser bench: handler saw nothing')

const rows = bench.tasks.map((t, i) => {
  const r = t.result
  if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state}`)
  const perReq = (r.latency.p50 * 1e6) / (cases[i].requests * REPS) // ms -> ns
  return { case: t.name, 'ns/request': perReq.toFixed(0), 'requests/s': `${(1e3 / perReq).toFixed(2)} M`, 'rme %': r.latency.rme.toFixed(1) }
})
console.table(rows)
