/**
 * Cost of the meta codec per request: preparseMetaFlags() on typical mg / ms / ma lines
 * (tokenized with the text parser's tokenizer, as the server does), and building an
 * mg hit reply line with four returned flags and an opaque.
 *
 *   npx tsc -p . && node dist/protocol/meta/bench/flags.bench.js [--quick]
 *
 * Figures are per line: median of tinybench samples (each sample = 1000 lines), timed with
 * this process's CPU time so other processes on a shared machine count less.
 */
import { Bench } from 'tinybench'
import { tokenizeLine, TextLine } from '../../text/request-parser.js'
import { FlagError, MetaFlags, preparseMetaFlags } from '../flags.js'
import { Code, metaLineMax, writeCode, writeCrlf, writeFlagUint, writeKeyFlag, writeToken, writeVa } from '../response-encoder.js'

const lines = {
  'mg key v f t c Oopaque': 'mg key:0000000000000000000000000000 v f t c O123456',
  'mg key with 12 flags': 'mg key:0000000000000000000000000000 v f t c s h l k O1 q T30 R10',
  'ms key 1024 T60 F5 c q': 'ms key:0000000000000000000000000000 1024 T60 F5 c q',
  'ma key N0 J10 D5 MD v': 'ma key:0000000000000000000000000000 N0 J10 D5 MD v',
  'mg base64 key b k v': 'mg a2V5OjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDA= b k v',
}

const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000 }
const REPS = 1000
const quick = process.argv.includes('--quick')
const bench = new Bench({ now: cpuMs, time: quick ? 30 : 600, warmupTime: quick ? 10 : 200 })
const f = new MetaFlags()
const tl = new TextLine()
let sink = 0

for (const [name, text] of Object.entries(lines)) {
  const buf = Buffer.from(text)
  tokenizeLine(tl, buf, 0, buf.length)
  const first = text.startsWith('ms') ? 3 : 2
  if (preparseMetaFlags(buf, tl.tokS[1], tl.tokE[1], tl.tokS, tl.tokE, first, tl.ntokens, f) !== FlagError.None) throw new Error(`${name}: does not parse`)
  const starts = Int32Array.from(tl.tokS); const ends = Int32Array.from(tl.tokE); const n = tl.ntokens
  bench.add(`preparse: ${name}`, () => {
    for (let r = 0; r < REPS; r++) sink += preparseMetaFlags(buf, starts[1], ends[1], starts, ends, first, n, f) + f.count
  })
}

const out = Buffer.allocUnsafe(metaLineMax(250))
const key = Buffer.from('key:0000000000000000000000000000')
const opaque = Buffer.from('O123456')
bench.add('encode: VA 1024 f5 t30 c123456789 O123456 kkey', () => {
  for (let r = 0; r < REPS; r++) {
    let o = writeVa(out, 0, 1024)
    o = writeFlagUint(out, o, 102, 5)
    o = writeFlagUint(out, o, 116, 30)
    o = writeFlagUint(out, o, 99, 123456789)
    o = writeToken(out, o, opaque, 0, opaque.length)
    o = writeKeyFlag(out, o, key, 0, key.length, false)
    sink += writeCrlf(out, o)
  }
})
bench.add('encode: HD', () => { for (let r = 0; r < REPS; r++) sink += writeCrlf(out, writeCode(out, 0, Code.HD)) })

await bench.run()
if (sink === 0) throw new Error('bench did nothing')
console.table(bench.tasks.map((t) => {
  const r = t.result
  if (r.state !== 'completed') throw new Error(`${t.name}: ${r.state}`)
  const ns = (r.latency.p50 * 1e6) / REPS
  return { case: t.name, 'ns/line': ns.toFixed(0), 'lines/s': `${(1e3 / ns).toFixed(2)} M`, 'rme %': r.latency.rme.toFixed(1) }
}))
