// Hit-ratio benchmark (issue 19): the same seeded request traces (hit-traces.ts) replayed
// against real memcached and real memring at the same -m, each trace on freshly started
// servers, one after the other. Per trace: the hit ratio of its measured phase, evictions,
// items held (curr_items) and the peak RSS of each server process (VmHWM), side by side.
//
//   npm run bench:hits                                   # -m 64, every trace, ~2-4 min
//   node dist/compat-tests/bench/hits.js --quick         # -m 16, every count / 4, < 60 s
//   node dist/compat-tests/bench/hits.js --traces scan,ttl --memory 64 --rounds 3 --json FILE
//
// With --rounds N (default 1) each trace runs N times on fresh servers, alternating
// memcached and memring, and the table shows the median (min to max) of each figure.
//
// Replay: one connection per server; requests go out in batches of BATCH, each batch one
// write ended by `mn` (meta no-op) and answered once its MN comes back. Sets are text `set
// ... noreply`; reads are `mg <key> k q` (quiet: only hits answer, as `HD k<key>`), so a
// hit or miss is known per key without moving values back. A cache-aside read that missed
// is refilled by a set at the head of the next batch, so a key read twice in one batch
// misses twice on both servers alike. Hit ratios depend only on the trace and the servers'
// policies, not on the machine's speed (except the ttl trace's 3.5 s pause, which only
// has to outlast a 2 s TTL).
import fs from 'node:fs'
import net from 'node:net'
import { gitSha, machineInfo, peakRssBytes } from './proc.js'
import { median } from './report.js'
import { startServer, type BenchServer, type ServerKind } from './servers.js'
import { keyName, makeTrace, OP_FILL, OP_SET, TRACE_NAMES, traceDigest, type Phase, type TraceName } from './hit-traces.js'
import { repoRoot } from '../harness/targets.js'

const BATCH = 100
const KINDS: readonly ServerKind[] = ['memcached', 'memring']
const VALUES = Buffer.alloc(512 * 1024, 'v')
const CRLF = Buffer.from('\r\n')

interface Options { memoryMb: number, rounds: number, traces: TraceName[], json: string | null }

function parseArgs (argv: string[]): Options {
  const o: Options = { memoryMb: 64, rounds: 1, traces: [...TRACE_NAMES], json: null }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--quick') { o.memoryMb = 16; continue }
    const v = argv[++i]
    if (v === undefined) throw new Error(`${a} needs a value`)
    if (a === '--memory') o.memoryMb = Number(v)
    else if (a === '--rounds') o.rounds = Number(v)
    else if (a === '--json') o.json = v
    else if (a === '--traces') {
      o.traces = v.split(',').map((s) => {
        if (!(TRACE_NAMES as readonly string[]).includes(s)) throw new Error(`unknown trace ${s} (${TRACE_NAMES.join(', ')})`)
        return s as TraceName
      })
    } else throw new Error(`unknown argument ${a} (use --quick --memory MB --rounds N --traces a,b --json FILE)`)
  }
  if (!Number.isInteger(o.memoryMb) || o.memoryMb < 8) throw new Error('--memory: an integer ≥ 8')
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error('--rounds: an integer ≥ 1')
  return o
}

/** A connection that sends one batch at a time and hands back everything up to its MN. */
class Replayer {
  private buf = ''
  private waiter: ((text: string) => void) | null = null
  private failure: Error | null = null
  private constructor (private readonly sock: net.Socket) {
    sock.setEncoding('latin1')
    sock.on('data', (c: string) => {
      this.buf += c
      if (this.waiter !== null && (this.buf.endsWith('MN\r\n') || this.buf.endsWith('END\r\n'))) {
        const w = this.waiter; const text = this.buf
        this.waiter = null; this.buf = ''
        w(text)
      }
    })
    sock.on('error', (e) => { this.failure = e })
  }

  static async open (port: number): Promise<Replayer> {
    const sock = net.connect(port, '127.0.0.1')
    sock.setNoDelay(true)
    await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
    return new Replayer(sock)
  }

  /** Writes parts in one corked burst; resolves with the replies up to MN (or END). */
  async send (parts: Array<string | Buffer>): Promise<string> {
    if (this.failure !== null) throw this.failure
    const done = new Promise<string>((resolve) => { this.waiter = resolve })
    this.sock.cork()
    for (const p of parts) this.sock.write(p)
    this.sock.uncork()
    return await done
  }

  async stats (): Promise<Record<string, number>> {
    const text = await this.send(['stats\r\n'])
    const out: Record<string, number> = {}
    for (const m of text.matchAll(/^STAT (\S+) (\S+)\r$/gm)) out[m[1]!] = Number(m[2])
    return out
  }

  close (): void { this.sock.destroy() }
}

interface PhaseResult { name: string, gets: number, hits: number, errors: number, items: number, evictions: number }

/** Replays one phase; counts gets, hits and error lines (a failed noreply set may answer). */
async function replayPhase (r: Replayer, p: Phase): Promise<Omit<PhaseResult, 'items' | 'evictions'>> {
  if (p.pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, p.pauseMs))
  const setOf = (key: number, size: number, ttl: number): Array<string | Buffer> =>
    [`set ${keyName(key)} 0 ${ttl} ${size} noreply\r\n`, VALUES.subarray(0, size), CRLF]
  let refill: Array<string | Buffer> = []
  let gets = 0; let hits = 0; let errors = 0
  for (let i = 0; i < p.ops.length || refill.length > 0; i += BATCH) {
    const parts = refill
    refill = []
    const reads: number[] = []
    for (let j = i; j < Math.min(i + BATCH, p.ops.length); j++) {
      if (p.ops[j] === OP_SET) parts.push(...setOf(p.keys[j]!, p.sizes[j]!, p.ttls[j]!))
      else { parts.push(`mg ${keyName(p.keys[j]!)} k q\r\n`); reads.push(j) }
    }
    parts.push('mn\r\n')
    const hit = new Set<string>()
    for (const line of (await r.send(parts)).split('\r\n')) {
      if (line.startsWith('HD ')) hit.add(line.slice(line.indexOf(' k') + 2).split(' ')[0]!)
      else if (line !== '' && line !== 'MN') errors++
    }
    for (const j of reads) {
      gets++
      if (hit.has(keyName(p.keys[j]!))) hits++
      else if (p.ops[j] === OP_FILL) refill.push(...setOf(p.keys[j]!, p.sizes[j]!, 0))
    }
  }
  return { name: p.name, gets, hits, errors }
}

export interface ServerResult {
  kind: ServerKind
  hitRatio: number
  evictions: number
  items: number
  peakRssMb: number
  errors: number
  seconds: number
  phases: PhaseResult[]
  stats: Record<string, number>
}

async function runOne (kind: ServerKind, memoryMb: number, phases: readonly Phase[]): Promise<ServerResult> {
  const server: BenchServer = await startServer({ kind, cpu: null, memoryMb, threads: 1 })
  const r = await Replayer.open(server.port)
  try {
    const t0 = Date.now()
    const results: PhaseResult[] = []
    for (const p of phases) {
      const got = await replayPhase(r, p)
      const st = await r.stats()
      results.push({ ...got, items: st.curr_items ?? NaN, evictions: st.evictions ?? NaN })
    }
    const stats = await r.stats()
    const measured = results.filter((_, i) => phases[i]!.measured)
    const gets = measured.reduce((s, x) => s + x.gets, 0)
    return {
      kind,
      hitRatio: measured.reduce((s, x) => s + x.hits, 0) / gets,
      evictions: stats.evictions ?? NaN,
      items: stats.curr_items ?? NaN,
      peakRssMb: peakRssBytes(server.pid) / 1048576,
      errors: results.reduce((s, x) => s + x.errors, 0),
      seconds: (Date.now() - t0) / 1000,
      phases: results,
      stats,
    }
  } finally {
    r.close()
    await server.stop(false)
  }
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`

/** The median of a figure over rounds, with (min to max) when they differ. */
function cell (xs: readonly number[], fmt: (x: number) => string): string {
  const [m, lo, hi] = [median(xs), Math.min(...xs), Math.max(...xs)].map(fmt)
  return lo === hi ? m! : `${m!} (${lo!} to ${hi!})`
}

function row (name: string, mc: ServerResult[], mr: ServerResult[]): string {
  const each = (f: (x: ServerResult) => number): [number[], number[]] => [mc.map(f), mr.map(f)]
  const [hmc, hmr] = each((x) => x.hitRatio)
  const [emc, emr] = each((x) => x.evictions)
  const [imc, imr] = each((x) => x.items)
  const [rmc, rmr] = each((x) => x.peakRssMb)
  const n = (x: number): string => x.toFixed(0)
  return `| ${name} | ${cell(hmc, pct)} | ${cell(hmr, pct)} | ${cell(hmr.map((x, i) => 100 * (x - hmc[i]!)), (x) => x.toFixed(1))} | ${cell(emc, n)} / ${cell(emr, n)} | ${cell(imc, n)} / ${cell(imr, n)} | ${cell(rmc, n)} / ${cell(rmr, n)} | ${cell(rmr.map((x, i) => x / rmc[i]!), (x) => x.toFixed(2))} |`
}

async function main (): Promise<void> {
  const o = parseArgs(process.argv.slice(2))
  const machine = machineInfo()
  console.log(`hit-ratio bench: -m ${o.memoryMb}, ${o.rounds} round(s), ${machine.cpuModel} x ${machine.cpus}, ${machine.memcached}, node ${machine.node}, git ${gitSha(repoRoot)}, load ${machine.loadAvg.join(' ')}`)
  const rows: string[] = []
  const out: unknown[] = []
  for (const name of o.traces) {
    const trace = makeTrace(name, o.memoryMb)
    const digest = traceDigest(trace)
    const ops = trace.phases.reduce((s, p) => s + p.ops.length, 0)
    console.log(`\n${name} (seed ${trace.seed}, ${ops} requests, digest ${digest.slice(0, 12)})`)
    const res: Record<string, ServerResult[]> = { memcached: [], memring: [] }
    for (let round = 0; round < o.rounds; round++) {
      for (const kind of round % 2 === 0 ? KINDS : [...KINDS].reverse()) {
        const x = await runOne(kind, o.memoryMb, trace.phases)
        res[kind]!.push(x)
        const per = x.phases.map((p) => `${p.name}: ${p.gets > 0 ? pct(p.hits / p.gets) + ' hits, ' : ''}${p.items} items, ${p.evictions} ev`).join('; ')
        console.log(`  ${kind}: ${x.seconds.toFixed(1)} s, ${x.errors} error replies; ${per}`)
      }
    }
    rows.push(row(name, res.memcached!, res.memring!))
    out.push({ trace: name, seed: trace.seed, digest, requests: ops, results: res })
  }
  console.log(`\n| trace (-m ${o.memoryMb}) | hit ratio memcached | memring | memring − memcached (points) | evictions mc / mr | items held mc / mr | peak RSS MB mc / mr | RSS mr/mc |`)
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|')
  for (const row of rows) console.log(row)
  if (o.json !== null) fs.writeFileSync(o.json, JSON.stringify({ memoryMb: o.memoryMb, machine, git: gitSha(repoRoot), traces: out }, null, 2))
}

main().catch((err) => { console.error(err); process.exit(1) })
