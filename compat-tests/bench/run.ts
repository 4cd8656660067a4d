// End-to-end benchmark: memring against the real memcached under the same memaslap load.
//
//   npm run bench                                   # full run, ~5 min, writes results/latest.*
//   node dist/compat-tests/bench/run.js --quick     # ~40 s, one round, results in a temp dir
//   node dist/compat-tests/bench/run.js --profiles text100 --targets memring --rounds 1 \
//        --seconds 10 --cpu-prof /tmp/prof          # profile memring under one load
//   node dist/compat-tests/bench/run.js --render results/latest.json   # redraw table + chart
//
// Each run starts a fresh server pinned to CPU 0 (memaslap on CPU 1, when there are 2+
// CPUs), warms it up, then measures ops/s and latency (memaslap) and the server's CPU time
// (/proc/<pid>/stat). Rounds interleave memring and memcached, alternating which goes
// first, so drift in the machine's load hits both; ratios are taken within a round.

import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { repoRoot } from '../harness/targets.js'
import { PROFILES, runLoad, type Profile } from './load.js'
import { gitSha, machineInfo, sample } from './proc.js'
import { markdownTable, summarize, svgChart, type BenchReport, type RunRow } from './report.js'
import { SERVER_KINDS, speaksBinary, startServer, type ServerKind } from './servers.js'

interface Options {
  rounds: number
  seconds: number
  warmup: number
  connections: number
  keyBytes: number
  getRatio: number
  memoryMb: number
  memcachedThreads: number
  profiles: Profile[]
  targets: ServerKind[]
  out: string
  cpuProf: string | null
  /** Only redraw latest.md and latest.svg from this JSON report. */
  render: string | null
  /** The memring build the memring-before target runs. */
  beforeBin: string | undefined
}

function usage (msg: string): never {
  process.stderr.write(`bench: ${msg}
usage: run.js [--quick | --smoke] [--rounds N] [--seconds N] [--warmup N] [--connections N]
              [--profiles ${PROFILES.map((p) => p.id).join(',')}] [--targets memcached,memring,ceiling]
              [--out DIR] [--cpu-prof DIR] | --render REPORT.json
              (extra targets: memring-before with --before-bin OTHER/dist/bin/memring.js; ceiling-data, ceiling-stream, ceiling-now, ceiling-store)
`)
  process.exit(2)
}

function parseArgs (argv: string[]): Options {
  const o: Options = {
    rounds: 3,
    seconds: 8,
    warmup: 2,
    connections: 32,
    keyBytes: 32,
    getRatio: 0.9,
    memoryMb: 64,
    memcachedThreads: 1,
    profiles: [...PROFILES],
    targets: ['memcached', 'memring', 'ceiling'],
    out: path.join(repoRoot, 'compat-tests', 'bench', 'results'),
    cpuProf: null,
    render: null,
    beforeBin: undefined,
  }
  let outGiven = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = (): string => { const v = argv[++i]; if (v === undefined) usage(`${a} needs a value`); return v }
    const num = (): number => { const v = Number(val()); if (!Number.isInteger(v) || v < 0) usage(`${a} needs a whole number`); return v }
    switch (a) {
      case '--quick': o.rounds = 1; o.seconds = 1; o.warmup = 1; break
      case '--smoke': o.rounds = 1; o.seconds = 1; o.warmup = 0; break
      case '--rounds': o.rounds = Math.max(1, num()); break
      case '--seconds': o.seconds = Math.max(1, num()); break
      case '--warmup': o.warmup = num(); break
      case '--connections': o.connections = Math.max(1, num()); break
      case '--out': o.out = path.resolve(val()); outGiven = true; break
      case '--cpu-prof': o.cpuProf = path.resolve(val()); break
      case '--render': o.render = path.resolve(val()); break
      case '--before-bin': o.beforeBin = path.resolve(val()); break
      case '--profiles': {
        const ids = val().split(',')
        o.profiles = ids.map((id) => PROFILES.find((p) => p.id === id) ?? usage(`unknown profile ${id}`))
        break
      }
      case '--targets': {
        const ts = val().split(',')
        for (const t of ts) if (!(SERVER_KINDS as readonly string[]).includes(t)) usage(`unknown target ${t}`)
        o.targets = ts as ServerKind[]
        break
      }
      case '-h': case '--help': usage('help')
      // falls through (usage exits)
      default: usage(`unknown argument ${a}`)
    }
  }
  // Short runs are checks, not results: keep them out of the committed results folder.
  if (!outGiven && (o.rounds < 3 || o.seconds < 5)) o.out = path.join(os.tmpdir(), 'memring-bench')
  return o
}

const fmtK = (x: number): string => `${(x / 1000).toFixed(1)}k`

async function oneRun (o: Options, p: Profile, target: ServerKind, round: number, pinned: boolean, unavailable: Map<string, string>): Promise<RunRow> {
  const row: RunRow = {
    profile: p.id, target, round, ok: false, opsPerSec: 0, ops: 0, seconds: 0, cpuUsPerOp: 0, sysUsPerOp: 0, syscallsPerOp: 0,
    p50Us: 0, p99Us: 0, avgUs: 0, maxUs: 0, getMisses: 0, loadAvg1: Math.round(os.loadavg()[0] * 100) / 100,
  }
  const nodeArgs = o.cpuProf !== null ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProf] : []
  const server = await startServer({
    kind: target, cpu: pinned ? 0 : null, memoryMb: o.memoryMb, threads: o.memcachedThreads, nodeArgs: target === 'memcached' ? [] : nodeArgs,
    valueBytes: p.valueBytes, memringBin: target === 'memring-before' ? o.beforeBin : undefined,
  })
  try {
    if (p.binary && !(await speaksBinary(server.port))) {
      row.error = 'binary protocol not served'
      if (target === 'memring') unavailable.set(p.id, row.error)
      return row
    }
    const load = { port: server.port, profile: p, connections: o.connections, keyBytes: o.keyBytes, getRatio: o.getRatio, cpu: pinned ? 1 : null }
    if (o.warmup > 0) await runLoad({ ...load, seconds: o.warmup })
    const s0 = sample(server.pid)
    const r = await runLoad({ ...load, seconds: o.seconds })
    const s1 = sample(server.pid)
    if (r.ops === 0) throw new Error('no operation completed')
    Object.assign(row, {
      ok: true,
      opsPerSec: Math.round(r.opsPerSec),
      ops: r.ops,
      seconds: r.seconds,
      cpuUsPerOp: Math.round(((s1.userUs + s1.sysUs - s0.userUs - s0.sysUs) / r.ops) * 100) / 100,
      sysUsPerOp: Math.round(((s1.sysUs - s0.sysUs) / r.ops) * 100) / 100,
      syscallsPerOp: Math.round(((s1.readCalls + s1.writeCalls - s0.readCalls - s0.writeCalls) / r.ops) * 1000) / 1000,
      p50Us: Math.round(r.latency.p50Us),
      p99Us: Math.round(r.latency.p99Us),
      avgUs: r.latency.avgUs,
      maxUs: r.latency.maxUs,
      getMisses: r.getMisses,
    })
  } catch (err) {
    row.error = (err as Error).message
    const tail = server.output().trim().slice(-300)
    if (tail !== '') row.error += ` (server said: ${tail})`
  } finally {
    await server.stop(o.cpuProf !== null)
  }
  return row
}

function writeReport (dir: string, report: BenchReport): string {
  const table = markdownTable(report)
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, 'latest.json'), JSON.stringify(report, null, 2) + '\n')
  fs.writeFileSync(path.join(dir, 'latest.svg'), svgChart(report))
  fs.writeFileSync(path.join(dir, 'latest.md'), `${table}\n\nCommand: \`${report.command}\`, git ${report.gitSha}, ${report.startedAt}; ` +
    `${report.machine.cpus} x ${report.machine.cpuModel}, ${report.machine.kernel}, Node ${report.machine.node}, ${report.machine.memcached}, ` +
    `load average at start ${report.machine.loadAvg.join(' ')}.\n`)
  return table
}

async function main (): Promise<void> {
  const o = parseArgs(process.argv.slice(2))
  if (o.render !== null) {
    const report = JSON.parse(fs.readFileSync(o.render, 'utf8')) as BenchReport
    process.stdout.write(writeReport(path.dirname(o.render), report) + '\n')
    return
  }
  const pinned = os.cpus().length >= 2
  const started = new Date()
  const total = o.rounds * o.profiles.length * o.targets.length
  const perRun = o.seconds + o.warmup + 1.5
  process.stdout.write(`bench: ${total} runs (${o.rounds} rounds x ${o.profiles.length} profiles x ${o.targets.length} servers), ` +
    `~${Math.ceil((total * perRun) / 60)} min; ${pinned ? 'server on CPU 0, memaslap on CPU 1' : 'not pinned (1 CPU)'}; load average ${os.loadavg()[0].toFixed(2)}\n`)
  const runs: RunRow[] = []
  const unavailable = new Map<string, string>()
  let n = 0
  for (let round = 0; round < o.rounds; round++) {
    for (const p of o.profiles) {
      const order = round % 2 === 0 ? o.targets : [...o.targets].reverse()
      for (const target of order) {
        n++
        const t0 = Date.now()
        const row = await oneRun(o, p, target, round, pinned, unavailable)
        runs.push(row)
        const left = Math.round(((total - n) * (Date.now() - t0)) / 1000)
        const what = row.ok
          ? `${fmtK(row.opsPerSec).padStart(7)} ops/s  cpu ${row.cpuUsPerOp.toFixed(1).padStart(5)} us/op (kernel ${row.sysUsPerOp.toFixed(1)})  p50 ${row.p50Us} us  p99 ${row.p99Us} us`
          : `FAILED: ${row.error ?? '?'}`
        process.stdout.write(`[${String(n).padStart(2)}/${total}] round ${round + 1} ${p.id.padEnd(10)} ${target.padEnd(9)} ${what}  (load ${row.loadAvg1}, ~${left}s left)\n`)
      }
    }
  }
  const report: BenchReport = {
    kind: 'memring-bench',
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    command: `node ${path.relative(repoRoot, process.argv[1])} ${process.argv.slice(2).join(' ')}`.trim(),
    gitSha: gitSha(repoRoot),
    machine: machineInfo(),
    pinned,
    params: { seconds: o.seconds, warmupSeconds: o.warmup, rounds: o.rounds, connections: o.connections, keyBytes: o.keyBytes, getRatio: o.getRatio, memoryMb: o.memoryMb, memcachedThreads: o.memcachedThreads },
    summaries: summarize(o.profiles, runs, unavailable),
    runs,
  }
  const table = writeReport(o.out, report)
  process.stdout.write(`\n${table}\n\nwrote ${path.join(o.out, 'latest.{json,svg,md}')}\n`)
  // A failure other than "binary not served yet" is a broken benchmark.
  const broken = runs.filter((r) => !r.ok && !(r.target === 'memring' && unavailable.has(r.profile)))
  if (broken.length > 0) {
    process.stdout.write(`bench: ${broken.length} run(s) failed\n`)
    process.exitCode = 1
  }
}

main().catch((err) => {
  process.stderr.write(`bench: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
