// Replication benchmark: what a replica costs its master, how far behind it runs, how long a
// full sync takes and whether a link cut stays a partial resync. One run, on this machine.
//
//   npm run bench:replication                                 # builds, then ~7 min: 3 rounds of everything
//   node dist/compat-tests/bench/replication.js --quick       # ~1 min, results in $TMPDIR/memring-bench
//   node dist/compat-tests/bench/replication.js --smoke       # ~30 s: 1 s runs, 20k items, 1 s cut (a check)
//   node dist/compat-tests/bench/replication.js --parts throughput --rounds 1 --seconds 10 \
//        --cpu-prof /tmp/prof                                # V8 profiles of the master, with and without
//
// 1. throughput  memaslap (text, 100 B, 32 conns, 32 B keys; server on CPU 0, memaslap on
//                CPU 1, as run.ts) against a master alone and against a master with one
//                replica (on CPU 1 too), interleaved; ratio with/none per round, of ops/s
//                and of the master's CPU per op (from /proc). Two mixes:
//                90% get / 10% set (run.ts's) and 50% / 50% (10% sets barely replicate).
// 2. lag         during each measured run with a replica, the master's `stats replication`
//                row for it, every ~10 ms: lag_ms (age of the oldest write it has not acked)
//                and lag_seqno; percentiles over the samples.
// 3. full sync   a master (-m 1024) filled with N items of 100 B (12 B keys, pipelined sets),
//                a closed-loop get load on it (16 connections, one get in flight each); then a replica starts: time until its stats show
//                sync_in_progress 0, full_syncs 1 and curr_items equal to the master's; the
//                get load's ops/s, p99 and max latency during the sync against before it,
//                and the fewest replies in any 100 ms of the sync ("keeps serving": > 0).
// 4. cut         a replica connects through a TcpRelay; under memaslap load (50% sets) the
//                link is cut and new connections are frozen for 10 s, then let through;
//                full_syncs must not move, partial_syncs must go up by one; catch-up time
//                and the bytes written during the cut against the backlog's capacity.

import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { RawClient } from '../../lib/testing/raw-client.js'
import { startRelay } from '../../lib/testing/tcp-relay.js'
import { repoRoot } from '../harness/targets.js'
import { PROFILES, runLoad, type LoadResult, type Profile } from './load.js'
import { gitSha, machineInfo, sample, type MachineInfo } from './proc.js'
import { median } from './report.js'
import { startServer, type BenchServer } from './servers.js'

type Part = 'throughput' | 'fullsync' | 'cut'
const PARTS: readonly Part[] = ['throughput', 'fullsync', 'cut']

interface Options {
  rounds: number
  seconds: number
  warmup: number
  connections: number
  keyBytes: number
  memoryMb: number
  /** Items for the full sync. */
  items: number
  /** Seconds the replica's link stays cut. */
  cutSeconds: number
  /** Connections of the get load during the full sync. */
  getConnections: number
  /** Lag sampling interval, ms. */
  sampleMs: number
  parts: Part[]
  out: string
  cpuProf: string | null
  /** CPU to pin replicas to ('none': unpinned). */
  replicaCpu: number | null
  /** Extra memring flags for every replica (e.g. `-o hashpower=20`). */
  replicaArgs: string[]
  mode: 'full' | 'quick' | 'smoke' | 'custom'
}

function usage (msg: string): never {
  process.stderr.write(`bench replication: ${msg}
usage: replication.js [--quick | --smoke] [--rounds N] [--seconds N] [--warmup N] [--connections N] [--items N]
                      [--cut-seconds N] [--parts ${PARTS.join(',')}] [--replica-cpu N|none]
                      [--replica-args 'MEMRING FLAGS'] [--out DIR] [--cpu-prof DIR]
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
    memoryMb: 64,
    items: 1_000_000,
    cutSeconds: 10,
    getConnections: 16,
    sampleMs: 10,
    parts: [...PARTS],
    out: path.join(repoRoot, 'compat-tests', 'bench', 'results'),
    cpuProf: null,
    replicaCpu: 1,
    replicaArgs: [],
    mode: 'full',
  }
  let outGiven = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const val = (): string => { const v = argv[++i]; if (v === undefined) usage(`${a} needs a value`); return v }
    const num = (): number => { const v = Number(val()); if (!Number.isInteger(v) || v < 0) usage(`${a} needs a whole number`); return v }
    switch (a) {
      case '--quick': Object.assign(o, { rounds: 1, seconds: 3, warmup: 1, items: 200_000, cutSeconds: 3, mode: 'quick' }); break
      case '--smoke': Object.assign(o, { rounds: 1, seconds: 1, warmup: 0, items: 20_000, cutSeconds: 1, mode: 'smoke' }); break
      case '--rounds': o.rounds = Math.max(1, num()); o.mode = 'custom'; break
      case '--seconds': o.seconds = Math.max(1, num()); o.mode = 'custom'; break
      case '--warmup': o.warmup = num(); break
      case '--connections': o.connections = Math.max(1, num()); o.mode = 'custom'; break
      case '--items': o.items = Math.max(1, num()); o.mode = 'custom'; break
      case '--cut-seconds': o.cutSeconds = Math.max(1, num()); o.mode = 'custom'; break
      case '--out': o.out = path.resolve(val()); outGiven = true; break
      case '--cpu-prof': o.cpuProf = path.resolve(val()); break
      case '--replica-args': o.replicaArgs = val().split(/\s+/).filter((x) => x !== ''); break
      case '--replica-cpu': { const v = val(); o.replicaCpu = v === 'none' ? null : Number(v); if (Number.isNaN(o.replicaCpu)) usage('--replica-cpu N|none'); break }
      case '--parts': {
        const ps = val().split(',')
        for (const p of ps) if (!(PARTS as readonly string[]).includes(p)) usage(`unknown part ${p}`)
        o.parts = ps as Part[]
        break
      }
      case '-h': case '--help': usage('help')
      // falls through (usage exits)
      default: usage(`unknown argument ${a}`)
    }
  }
  // Short runs are checks, not results: keep them out of the results folder.
  if (!outGiven && (o.rounds < 3 || o.seconds < 5 || o.items < 1_000_000 || o.cutSeconds < 10)) o.out = path.join(os.tmpdir(), 'memring-bench')
  return o
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))
const say = (s: string): void => { process.stdout.write(s + '\n') }
const round1 = (x: number): number => Math.round(x * 10) / 10
const round2 = (x: number): number => Math.round(x * 100) / 100

/** Nearest-rank q-quantile of samples (sorted copy). */
function quantile (xs: readonly number[], q: number): number {
  if (xs.length === 0) return NaN
  const s = Float64Array.from(xs).sort()
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]
}

// ---------------------------------------------------------------------------------------
// Processes and stats

/**
 * /proc/<pid>/schedstat of the process's main (JavaScript) thread: ns on a CPU, ns waiting
 * on a run queue while runnable, timeslices. The waiting time is what a busy machine adds.
 */
function schedstat (pid: number): { runNs: number, waitNs: number, slices: number } {
  const [run, wait, slices] = fs.readFileSync(`/proc/${pid}/schedstat`, 'latin1').trim().split(' ').map(Number)
  return { runNs: run, waitNs: wait, slices }
}

/** Busy and total jiffies of each CPU (/proc/stat), for per-CPU utilisation over an interval. */
function cpuTimes (): Array<{ busy: number, total: number }> {
  const out: Array<{ busy: number, total: number }> = []
  for (const line of fs.readFileSync('/proc/stat', 'latin1').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line)
    if (m === null) continue
    const f = m[2].trim().split(/\s+/).map(Number)
    const idle = f[3] + (f[4] ?? 0)
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0)
    out[Number(m[1])] = { busy: total - idle, total }
  }
  return out
}

function cpuBusy (a: ReturnType<typeof cpuTimes>, b: ReturnType<typeof cpuTimes>): number[] {
  return b.map((x, i) => round2((x.busy - a[i].busy) / Math.max(1, x.total - a[i].total)))
}

/** A replica process: `memring --replica-of`, optionally pinned with taskset (which execs). */
type ReplicaProc = BenchServer

/** A run's error with the last words of its servers, for the report. */
function failure (err: unknown, master: BenchServer, replica: BenchServer | null): string {
  const tail = master.output().trim().slice(-300) + (replica !== null ? ` | replica: ${replica.output().trim().slice(-300)}` : '')
  return (err as Error).message + (tail.trim() !== '' ? ` (servers said: ${tail})` : '')
}

/** A memring replica of the master on masterPort, started like every bench server (servers.ts). */
async function startReplica (masterPort: number, o: { memoryMb: number, cpu: number | null, args?: string[], nodeArgs?: string[] }): Promise<ReplicaProc> {
  return await startServer({
    kind: 'memring', cpu: o.cpu, memoryMb: o.memoryMb, threads: 1, nodeArgs: o.nodeArgs,
    extraArgs: ['--replica-of', `127.0.0.1:${masterPort}`, ...(o.args ?? [])],
  })
}

/** One persistent connection for frequent `stats <group>` requests. */
class StatsConn {
  private constructor (private readonly c: RawClient) {}
  static async open (port: number): Promise<StatsConn> {
    const s = net.connect(port, '127.0.0.1')
    s.setNoDelay(true)
    await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
    return new StatsConn(new RawClient(s))
  }

  async get (group = ''): Promise<Record<string, string>> {
    this.c.write(group === '' ? 'stats\r\n' : `stats ${group}\r\n`)
    const text = await this.c.until('END\r\n', 10_000)
    const out: Record<string, string> = {}
    for (const line of text.split('\r\n')) {
      const m = /^STAT (\S+) ?(.*)$/.exec(line)
      if (m !== null) out[m[1]] = m[2]
    }
    return out
  }

  close (): void { this.c.end() }
}

async function statsOnce (port: number, group = ''): Promise<Record<string, string>> {
  const c = await StatsConn.open(port)
  try { return await c.get(group) } finally { c.close() }
}

/** The master's `replicaN` row as fields (node, remote, state, acked_seqno, lag_seqno, lag_ms). */
function replicaRow (st: Record<string, string>, i = 0): Record<string, string> | null {
  const v = st[`replica${i}`]
  if (v === undefined) return null
  const out: Record<string, string> = {}
  for (const kv of v.split(',')) { const j = kv.indexOf('='); if (j > 0) out[kv.slice(0, j)] = kv.slice(j + 1) }
  return out
}

async function waitUntil (what: string, timeoutMs: number, cond: () => Promise<boolean>, everyMs = 20): Promise<number> {
  const t0 = performance.now()
  for (;;) {
    if (await cond()) return performance.now() - t0
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** Master and replica agree: replica online on the master, not syncing, same seqno. */
async function waitInSync (master: StatsConn, replica: StatsConn, timeoutMs: number): Promise<number> {
  return await waitUntil('the replica to be in sync', timeoutMs, async () => {
    const m = await master.get('replication')
    const r = await replica.get('replication')
    const row = replicaRow(m)
    return row !== null && row.state === 'online' && r.sync_in_progress === '0' && r.seqno === m.seqno && row.acked_seqno === m.seqno
  })
}

/** Samples the master's replica0 lag every `everyMs` until stopped. */
class LagSampler {
  readonly lagMs: number[] = []
  readonly lagSeqno: number[] = []
  /** Samples with no replica row or lag_ms -1 (append time unknown). */
  missing = 0
  private running = true
  private done: Promise<void>
  readonly started = performance.now()
  ended = 0

  constructor (private readonly conn: StatsConn, private readonly everyMs: number) {
    this.done = this.loop()
  }

  private async loop (): Promise<void> {
    while (this.running) {
      const t = performance.now()
      const st = await this.conn.get('replication')
      const row = replicaRow(st)
      if (row === null || Number(row.lag_ms) < 0) this.missing++
      else { this.lagMs.push(Number(row.lag_ms)); this.lagSeqno.push(Number(row.lag_seqno)) }
      const left = this.everyMs - (performance.now() - t)
      if (left > 0) await sleep(left)
    }
  }

  async stop (): Promise<void> { this.running = false; await this.done; this.ended = performance.now() }
}

// ---------------------------------------------------------------------------------------
// Part 1 and 2: throughput with and without a replica, and the lag during it

interface Mix { id: string, title: string, getRatio: number }
const MIXES: readonly Mix[] = [
  { id: 'set10', title: 'text 100 B, 10% sets', getRatio: 0.9 },
  { id: 'set50', title: 'text 100 B, 50% sets', getRatio: 0.5 },
]
const TEXT100: Profile = PROFILES.find((p) => p.id === 'text100') as Profile

interface ThroughputRow {
  mix: string
  replica: boolean
  round: number
  ok: boolean
  error?: string
  opsPerSec: number
  ops: number
  /** Master CPU (user + system) per operation, us; and the system part. */
  cpuUsPerOp: number
  sysUsPerOp: number
  /** Replica CPU per replicated record, us (with a replica). */
  replicaCpuUsPerRecord: number
  /** Records the master logged during the measured run (0 without a replica: no log). */
  records: number
  p50Us: number
  p99Us: number
  maxUs: number
  /** Lag samples (with a replica): count, percentiles of lag_ms and lag_seqno. */
  lagSamples: number
  lagMissing: number
  lagP50Ms: number
  lagP99Ms: number
  lagMaxMs: number
  lagSeqnoP50: number
  lagSeqnoP99: number
  lagSeqnoMax: number
  /** The replica reached the master's seqno after the load (ms after it stopped). */
  convergedMs: number
  /**
   * Run-queue wait of the master's and the replica's JavaScript thread during the measured
   * run (ms per second of run, /proc/<pid>/schedstat): time they were runnable but another
   * process had the CPU. And the bench process's own event-loop delay (p99, max) while it
   * sampled: how late a 10 ms timer fires here, a yardstick for scheduling noise.
   */
  masterWaitMsPerSec: number
  replicaWaitMsPerSec: number
  replicaWaitUsPerSlice: number
  benchLoopP99Ms: number
  benchLoopMaxMs: number
  /** Master CPU time per second of the run (share of one core), and each CPU's busy share (/proc/stat). */
  masterCoreShare: number
  cpuBusy: number[]
  loadAvg1: number
}

async function throughputRun (o: Options, mix: Mix, withReplica: boolean, round: number, pinned: boolean): Promise<ThroughputRow> {
  const row: ThroughputRow = {
    mix: mix.id, replica: withReplica, round, ok: false, opsPerSec: 0, ops: 0, cpuUsPerOp: 0, sysUsPerOp: 0, replicaCpuUsPerRecord: 0, records: 0,
    p50Us: 0, p99Us: 0, maxUs: 0, lagSamples: 0, lagMissing: 0, lagP50Ms: NaN, lagP99Ms: NaN, lagMaxMs: NaN, lagSeqnoP50: NaN, lagSeqnoP99: NaN, lagSeqnoMax: NaN,
    convergedMs: NaN, masterWaitMsPerSec: NaN, replicaWaitMsPerSec: NaN, replicaWaitUsPerSlice: NaN, benchLoopP99Ms: NaN, benchLoopMaxMs: NaN,
    masterCoreShare: NaN, cpuBusy: [], loadAvg1: round2(os.loadavg()[0]),
  }
  const nodeArgs = o.cpuProf !== null ? ['--cpu-prof', '--cpu-prof-dir', path.join(o.cpuProf, `${mix.id}-${withReplica ? 'replica' : 'none'}`)] : []
  const master = await startServer({ kind: 'memring', cpu: pinned ? 0 : null, memoryMb: o.memoryMb, threads: 1, nodeArgs })
  let replica: ReplicaProc | null = null
  const conns: StatsConn[] = []
  try {
    const mstats = await StatsConn.open(master.port)
    conns.push(mstats)
    let rstats: StatsConn | null = null
    if (withReplica) {
      replica = await startReplica(master.port, { memoryMb: o.memoryMb, cpu: pinned ? o.replicaCpu : null, args: o.replicaArgs })
      rstats = await StatsConn.open(replica.port)
      conns.push(rstats)
      await waitInSync(mstats, rstats, 15000)
    }
    const load = { port: master.port, profile: TEXT100, connections: o.connections, keyBytes: o.keyBytes, getRatio: mix.getRatio, cpu: pinned ? 1 : null }
    if (o.warmup > 0) await runLoad({ ...load, seconds: o.warmup })
    // The sampler runs in both configurations, so both pay for its stats requests.
    const seq0 = Number((await mstats.get('replication')).seqno)
    const s0 = sample(master.pid)
    const r0 = replica !== null ? sample(replica.pid) : null
    const q0 = schedstat(master.pid)
    const w0 = replica !== null ? schedstat(replica.pid) : null
    const loop = monitorEventLoopDelay({ resolution: 1 })
    loop.enable()
    const k0 = cpuTimes()
    const t0 = performance.now()
    const sampler = new LagSampler(mstats, o.sampleMs)
    let r: LoadResult
    try { r = await runLoad({ ...load, seconds: o.seconds }) } finally { await sampler.stop(); loop.disable() }
    const wall = (performance.now() - t0) / 1000
    row.cpuBusy = cpuBusy(k0, cpuTimes())
    const s1 = sample(master.pid)
    const r1 = replica !== null ? sample(replica.pid) : null
    const q1 = schedstat(master.pid)
    const w1 = replica !== null ? schedstat(replica.pid) : null
    row.masterWaitMsPerSec = round1((q1.waitNs - q0.waitNs) / 1e6 / wall)
    if (w0 !== null && w1 !== null) {
      row.replicaWaitMsPerSec = round1((w1.waitNs - w0.waitNs) / 1e6 / wall)
      row.replicaWaitUsPerSlice = round1((w1.waitNs - w0.waitNs) / 1e3 / Math.max(1, w1.slices - w0.slices))
    }
    row.masterCoreShare = round2((s1.userUs + s1.sysUs - s0.userUs - s0.sysUs) / 1e6 / wall)
    row.benchLoopP99Ms = round1(loop.percentile(99) / 1e6)
    row.benchLoopMaxMs = round1(loop.max / 1e6)
    const seq1 = Number((await mstats.get('replication')).seqno)
    if (r.ops === 0) throw new Error('no operation completed')
    if (rstats !== null) row.convergedMs = round1(await waitInSync(mstats, rstats, 15000))
    const records = seq1 - seq0
    Object.assign(row, {
      ok: true,
      opsPerSec: Math.round(r.opsPerSec),
      ops: r.ops,
      cpuUsPerOp: round2((s1.userUs + s1.sysUs - s0.userUs - s0.sysUs) / r.ops),
      sysUsPerOp: round2((s1.sysUs - s0.sysUs) / r.ops),
      replicaCpuUsPerRecord: r0 !== null && r1 !== null && records > 0 ? round2((r1.userUs + r1.sysUs - r0.userUs - r0.sysUs) / records) : 0,
      records,
      p50Us: Math.round(r.latency.p50Us),
      p99Us: Math.round(r.latency.p99Us),
      maxUs: r.latency.maxUs,
      lagSamples: sampler.lagMs.length,
      lagMissing: sampler.missing,
    })
    if (withReplica && sampler.lagMs.length > 0) {
      Object.assign(row, {
        lagP50Ms: quantile(sampler.lagMs, 0.5),
        lagP99Ms: quantile(sampler.lagMs, 0.99),
        lagMaxMs: Math.max(...sampler.lagMs),
        lagSeqnoP50: quantile(sampler.lagSeqno, 0.5),
        lagSeqnoP99: quantile(sampler.lagSeqno, 0.99),
        lagSeqnoMax: Math.max(...sampler.lagSeqno),
      })
    }
  } catch (err) {
    row.error = failure(err, master, replica)
  } finally {
    for (const c of conns) c.close()
    if (replica !== null) await replica.stop()
    await master.stop(o.cpuProf !== null)
  }
  return row
}

// ---------------------------------------------------------------------------------------
// Part 3: full sync of N items under a get load

function keyOf (i: number): string { return 'k' + String(i).padStart(11, '0') }

/** N sets of 100 B values, pipelined 2,000 per write over one socket; every reply must be STORED. */
async function fill (port: number, items: number, valueBytes: number): Promise<number> {
  const sock = net.connect(port, '127.0.0.1')
  sock.setNoDelay(true)
  await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
  const value = Buffer.alloc(valueBytes, 'v')
  const STORED = Buffer.from('STORED\r\n')
  const t0 = performance.now()
  let expect = 0
  let got = 0
  let rest = Buffer.alloc(0)
  let waiter: (() => void) | null = null
  let failure: Error | null = null
  const wake = (): void => { if (waiter !== null) { const w = waiter; waiter = null; w() } }
  sock.on('data', (c: Buffer) => {
    const buf = rest.length > 0 ? Buffer.concat([rest, c]) : c
    const whole = buf.length - (buf.length % STORED.length)
    for (let off = 0; off < whole; off += STORED.length) {
      if (buf.compare(STORED, 0, STORED.length, off, off + STORED.length) !== 0) {
        failure = new Error(`fill: unexpected reply ${JSON.stringify(buf.subarray(off, off + 60).toString('latin1'))}`)
        break
      }
    }
    rest = Buffer.from(buf.subarray(whole))
    got += whole / STORED.length
    if (got >= expect || failure !== null) wake()
  })
  sock.on('error', (err) => { failure = err; wake() })
  const crlf = Buffer.from('\r\n')
  try {
    for (let i = 0; i < items; i += 2000) {
      const n = Math.min(2000, items - i)
      const parts: Buffer[] = []
      for (let j = 0; j < n; j++) parts.push(Buffer.from(`set ${keyOf(i + j)} 0 0 ${valueBytes}\r\n`, 'latin1'), value, crlf)
      expect += n
      const done = new Promise<void>((resolve) => { waiter = resolve })
      sock.write(Buffer.concat(parts))
      await done
      if (failure !== null) throw failure
    }
  } finally { sock.destroy() }
  return (performance.now() - t0) / 1000
}

interface Window {
  seconds: number
  ops: number
  opsPerSec: number
  p50Us: number
  p99Us: number
  maxUs: number
  misses: number
  minOpsPer100ms: number
  /** When the slowest reply came, ms after the window started. */
  maxAtMs: number
  /** The load client's own longest event-loop delay: a latency up to this may be the client's, not the master's. */
  clientLoopMaxMs: number
}

/**
 * A closed-loop get load: `conns` connections, one `get` in flight each, random keys of
 * the filled set. Latency is measured in this process (send to the reply's END).
 */
class GetLoad {
  private running = true
  private lat: number[] = []
  private maxLat = 0
  private maxAt = 0
  private misses = 0
  private t0 = performance.now()
  private windowStart = performance.now()
  /** Replies per 100 ms since the start. */
  private buckets: number[] = []
  private readonly socks: net.Socket[] = []
  private readonly loop = monitorEventLoopDelay({ resolution: 10 })

  private constructor (private readonly port: number, private readonly items: number) { this.loop.enable() }

  static async start (port: number, conns: number, items: number): Promise<GetLoad> {
    const g = new GetLoad(port, items)
    for (let i = 0; i < conns; i++) await g.open()
    g.t0 = g.windowStart = performance.now()
    for (const s of g.socks) g.sendOn(s)
    return g
  }

  private readonly sent = new Map<net.Socket, { t: number, bytes: number, tail: Buffer }>()

  private async open (): Promise<void> {
    const s = net.connect(this.port, '127.0.0.1')
    s.setNoDelay(true)
    await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
    const END = Buffer.from('END\r\n')
    s.on('data', (c: Buffer) => {
      const st = this.sent.get(s)
      if (st === undefined) return
      st.bytes += c.length
      st.tail = c.length >= 5 ? c.subarray(c.length - 5) : Buffer.concat([st.tail, c]).subarray(-5)
      if (!st.tail.equals(END)) return
      const now = performance.now()
      const us = (now - st.t) * 1000
      this.lat.push(us)
      if (us > this.maxLat) { this.maxLat = us; this.maxAt = now - this.windowStart }
      if (st.bytes <= 5) this.misses++
      const b = Math.floor((now - this.t0) / 100)
      this.buckets[b] = (this.buckets[b] ?? 0) + 1
      this.sendOn(s)
    })
    s.on('error', () => {})
    this.socks.push(s)
  }

  private sendOn (s: net.Socket): void {
    if (!this.running) return
    this.sent.set(s, { t: performance.now(), bytes: 0, tail: Buffer.alloc(0) })
    s.write(`get ${keyOf(Math.floor(Math.random() * this.items))}\r\n`)
  }

  /** Figures since the previous mark (or the start). */
  mark (): Window {
    const now = performance.now()
    const seconds = (now - this.windowStart) / 1000
    const first = Math.ceil((this.windowStart - this.t0) / 100)
    const last = Math.floor((now - this.t0) / 100)
    let minB = Infinity
    for (let b = first; b < last; b++) minB = Math.min(minB, this.buckets[b] ?? 0)
    const lat = this.lat
    const w: Window = {
      seconds: round2(seconds),
      ops: lat.length,
      opsPerSec: Math.round(lat.length / seconds),
      p50Us: Math.round(quantile(lat, 0.5)),
      p99Us: Math.round(quantile(lat, 0.99)),
      maxUs: Math.round(this.maxLat),
      maxAtMs: Math.round(this.maxAt),
      misses: this.misses,
      minOpsPer100ms: minB === Infinity ? NaN : minB,
      clientLoopMaxMs: round1(this.loop.max / 1e6),
    }
    this.loop.reset()
    this.lat = []
    this.maxLat = 0
    this.maxAt = 0
    this.misses = 0
    this.windowStart = now
    return w
  }

  stop (): void { this.running = false; this.loop.disable(); for (const s of this.socks) s.destroy() }
}

interface FullSyncRow {
  round: number
  ok: boolean
  error?: string
  items: number
  fillSeconds: number
  /** Replica process spawned to: answering, and in sync (sync_in_progress 0, full_syncs 1, curr_items equal). */
  startupMs: number
  syncMs: number
  /** Master CPU used during the sync, as a share of one CPU; and before. */
  masterCpuBefore: number
  masterCpuDuring: number
  /** CPU time the replica process used from its spawn to in sync, ms (start-up included). */
  replicaCpuMs: number
  before: Window | null
  during: Window | null
  after: Window | null
  loadAvg1: number
}

async function fullSyncRun (o: Options, round: number, pinned: boolean): Promise<FullSyncRow> {
  const row: FullSyncRow = {
    round, ok: false, items: o.items, fillSeconds: 0, startupMs: 0, syncMs: 0, masterCpuBefore: 0, masterCpuDuring: 0, replicaCpuMs: 0,
    before: null, during: null, after: null, loadAvg1: round2(os.loadavg()[0]),
  }
  const nodeArgs = o.cpuProf !== null ? ['--cpu-prof', '--cpu-prof-dir', path.join(o.cpuProf, 'fullsync')] : []
  const master = await startServer({ kind: 'memring', cpu: pinned ? 0 : null, memoryMb: 1024, threads: 1, nodeArgs })
  let replica: ReplicaProc | null = null
  let gets: GetLoad | null = null
  const conns: StatsConn[] = []
  try {
    row.fillSeconds = round2(await fill(master.port, o.items, 100))
    const mst = await statsOnce(master.port)
    if (Number(mst.curr_items) !== o.items) throw new Error(`master holds ${mst.curr_items} items, not ${o.items}`)
    gets = await GetLoad.start(master.port, o.getConnections, o.items)
    const beforeSec = o.mode === 'smoke' ? 0.5 : 3
    await sleep(1000 * Math.min(1, beforeSec))
    gets.mark() // warm-up
    let c0 = sample(master.pid)
    let t0 = performance.now()
    await sleep(beforeSec * 1000)
    row.before = gets.mark()
    let c1 = sample(master.pid)
    row.masterCpuBefore = round2((c1.userUs + c1.sysUs - c0.userUs - c0.sysUs) / ((performance.now() - t0) * 1000))
    c0 = c1
    t0 = performance.now()
    replica = await startReplica(master.port, {
      memoryMb: 1024,
      cpu: pinned ? o.replicaCpu : null,
      args: o.replicaArgs,
      nodeArgs: o.cpuProf !== null ? ['--cpu-prof', '--cpu-prof-dir', path.join(o.cpuProf, 'fullsync-replica')] : [],
    })
    row.startupMs = Math.round(performance.now() - t0)
    const rs = await StatsConn.open(replica.port)
    conns.push(rs)
    await waitUntil('the full sync to finish', 120_000, async () => {
      const r = await rs.get('replication')
      if (r.sync_in_progress !== '0' || r.full_syncs !== '1') return false
      return Number((await rs.get()).curr_items) === o.items
    }, 10)
    row.syncMs = Math.round(performance.now() - t0)
    row.during = gets.mark()
    const rc = sample(replica.pid)
    row.replicaCpuMs = Math.round((rc.userUs + rc.sysUs) / 1000)
    c1 = sample(master.pid)
    row.masterCpuDuring = round2((c1.userUs + c1.sysUs - c0.userUs - c0.sysUs) / ((performance.now() - t0) * 1000))
    await sleep(o.mode === 'smoke' ? 300 : 1000)
    row.after = gets.mark()
    if (row.during.misses + row.before.misses > 0) throw new Error(`${row.during.misses + row.before.misses} gets missed`)
    row.ok = true
  } catch (err) {
    row.error = failure(err, master, replica)
  } finally {
    gets?.stop()
    for (const c of conns) c.close()
    if (replica !== null) await replica.stop()
    await master.stop(o.cpuProf !== null)
  }
  return row
}

// ---------------------------------------------------------------------------------------
// Part 4: a cut of the replica's link under load

interface CutRow {
  round: number
  ok: boolean
  error?: string
  cutSeconds: number
  /** Deltas over the cut, master's and replica's counters. */
  masterFullSyncs: number
  masterPartialSyncs: number
  replicaFullSyncs: number
  replicaPartialSyncs: number
  /** Records and backlog bytes written while the link was cut. */
  records: number
  bytesDuringCut: number
  /** How bytesDuringCut was found: backlog growth, or write rate x time when the backlog wrapped. */
  bytesHow: 'backlog growth' | 'write rate x time'
  /** backlog_write_rate x the cut's duration (an estimate; rate averaged over 10 s). */
  rateBytes: number
  backlogCapacity: number
  /** Link let through to: the master lists the replica online again; the replica acked every record written before that. */
  reconnectMs: number
  catchUpMs: number
  /** Connections the relay accepted (the first, frozen attempts, the last). */
  relayAccepted: number
  loadOpsPerSec: number
  loadAvg1: number
}

async function cutRun (o: Options, round: number, pinned: boolean): Promise<CutRow> {
  const row: CutRow = {
    round, ok: false, cutSeconds: o.cutSeconds, masterFullSyncs: NaN, masterPartialSyncs: NaN, replicaFullSyncs: NaN, replicaPartialSyncs: NaN,
    records: 0, bytesDuringCut: 0, bytesHow: 'backlog growth', rateBytes: 0, backlogCapacity: 0, reconnectMs: NaN, catchUpMs: NaN, relayAccepted: 0,
    loadOpsPerSec: 0, loadAvg1: round2(os.loadavg()[0]),
  }
  const teardown: Array<() => unknown> = []
  const t = { teardown: (fn: () => unknown) => { teardown.push(fn) } }
  const master = await startServer({ kind: 'memring', cpu: pinned ? 0 : null, memoryMb: o.memoryMb, threads: 1 })
  let replica: ReplicaProc | null = null
  let load: Promise<LoadResult> | null = null
  try {
    const relay = await startRelay(t, master.port)
    replica = await startReplica(relay.port, { memoryMb: o.memoryMb, cpu: pinned ? o.replicaCpu : null, args: o.replicaArgs })
    const ms = await StatsConn.open(master.port)
    const rs = await StatsConn.open(replica.port)
    teardown.push(() => ms.close(), () => rs.close())
    await waitInSync(ms, rs, 15000)
    const warm = Math.max(1, o.warmup)
    const tail = Math.max(4, Math.min(8, o.cutSeconds))
    load = runLoad({ port: master.port, profile: TEXT100, connections: o.connections, keyBytes: o.keyBytes, getRatio: 0.5, cpu: pinned ? 1 : null, seconds: warm + o.cutSeconds + tail })
    load.catch(() => {})
    await sleep(warm * 1000)
    const m0 = await ms.get('replication')
    const r0 = await rs.get('replication')
    relay.blockNew(true)
    relay.cut()
    const tCut = performance.now()
    await sleep(o.cutSeconds * 1000)
    const m1 = await ms.get('replication')
    relay.blockNew(false)
    relay.cut()
    const tOpen = performance.now()
    const target = Number(m1.seqno)
    row.records = target - Number(m0.seqno)
    row.backlogCapacity = Number(m1.backlog_capacity)
    // backlog_bytes counts whole 1 MiB blocks: growth is exact to a block. When the backlog
    // wrapped (or grew by under two blocks), use its write rate (bytes/s over the last 10 s).
    const growth = Number(m1.backlog_bytes) - Number(m0.backlog_bytes)
    row.rateBytes = Math.round(Number(m1.backlog_write_rate) * Math.min(10, (tOpen - tCut) / 1000)) +
      (o.cutSeconds > 10 ? Math.round(Number(m1.backlog_write_rate) * (o.cutSeconds - 10)) : 0)
    if (m1.backlog_first_seqno === m0.backlog_first_seqno && growth >= 2 * 1048576) {
      row.bytesDuringCut = growth
    } else {
      row.bytesDuringCut = row.rateBytes
      row.bytesHow = 'write rate x time'
    }
    let reconnect = NaN
    await waitUntil('the replica to catch up after the cut', 60_000, async () => {
      const row0 = replicaRow(await ms.get('replication'))
      if (row0 === null || row0.state !== 'online') return false
      if (Number.isNaN(reconnect)) reconnect = performance.now() - tOpen
      return Number(row0.acked_seqno) >= target
    }, 5)
    row.catchUpMs = Math.round(performance.now() - tOpen)
    row.reconnectMs = Math.round(reconnect)
    row.relayAccepted = relay.accepted
    const r = await load
    load = null
    row.loadOpsPerSec = Math.round(r.opsPerSec)
    await waitInSync(ms, rs, 15000)
    const m2 = await ms.get('replication')
    const r2 = await rs.get('replication')
    row.masterFullSyncs = Number(m2.full_syncs) - Number(m0.full_syncs)
    row.masterPartialSyncs = Number(m2.partial_syncs) - Number(m0.partial_syncs)
    row.replicaFullSyncs = Number(r2.full_syncs) - Number(r0.full_syncs)
    row.replicaPartialSyncs = Number(r2.partial_syncs) - Number(r0.partial_syncs)
    row.ok = true
  } catch (err) {
    row.error = failure(err, master, replica)
  } finally {
    if (load !== null) await load.catch(() => {})
    for (const f of teardown.reverse()) await f()
    if (replica !== null) await replica.stop()
    await master.stop(false)
  }
  return row
}

// ---------------------------------------------------------------------------------------
// Summary and report

interface SummaryRow { measure: string, goal: string, min: string, median: string, max: string, met: string }

interface ReplicationReport {
  kind: 'memring-bench-replication'
  startedAt: string
  finishedAt: string
  command: string
  gitSha: string
  machine: MachineInfo & { loadAvgAtEnd: number[] }
  pinned: boolean
  params: Omit<Options, 'out' | 'cpuProf' | 'parts'> & { parts: string }
  summary: SummaryRow[]
  details: SummaryRow[]
  throughput: ThroughputRow[]
  fullSync: FullSyncRow[]
  cut: CutRow[]
}

function fmt (x: number, digits = 2): string {
  if (Number.isNaN(x)) return 'n/a'
  if (Math.abs(x) >= 1000) return `${(x / 1000).toFixed(1)}k`
  return x.toFixed(digits)
}

function spreadRow (measure: string, goal: string, xs: number[], ok: ((x: number) => boolean) | null, digits = 2): SummaryRow {
  if (xs.length === 0) return { measure, goal, min: 'n/a', median: 'n/a', max: 'n/a', met: 'no data' }
  const med = median(xs)
  return {
    measure,
    goal,
    min: fmt(Math.min(...xs), digits),
    median: fmt(med, digits),
    max: fmt(Math.max(...xs), digits),
    met: ok === null ? '—' : ok(med) ? (xs.every(ok) ? 'yes' : 'yes (median; not every round)') : 'NO',
  }
}

function textRow (measure: string, median: string): SummaryRow {
  return { measure, goal: '—', min: '', median, max: '', met: '—' }
}

function summarize (o: Options, tp: ThroughputRow[], fsr: FullSyncRow[], cut: CutRow[]): { summary: SummaryRow[], details: SummaryRow[] } {
  const summary: SummaryRow[] = []
  const details: SummaryRow[] = []
  for (const mix of MIXES) {
    const ok = tp.filter((r) => r.ok && r.mix === mix.id)
    if (ok.length === 0) continue
    const ratios: number[] = []
    const cpuRatios: number[] = []
    for (let round = 0; round < o.rounds; round++) {
      const a = ok.find((r) => r.round === round && r.replica)
      const b = ok.find((r) => r.round === round && !r.replica)
      if (a !== undefined && b !== undefined) { ratios.push(a.opsPerSec / b.opsPerSec); cpuRatios.push(b.cpuUsPerOp / a.cpuUsPerOp) }
    }
    const w = ok.filter((r) => r.replica)
    const n = ok.filter((r) => !r.replica)
    summary.push(spreadRow(`master ops/s, 1 replica / none (${mix.title})`, '≥ 0.85', ratios, (x) => x >= 0.85))
    summary.push(spreadRow(`master CPU per op, none / 1 replica (${mix.title}; the ops/s ratio a CPU-bound master would get)`, '≥ 0.85', cpuRatios, (x) => x >= 0.85))
    summary.push(spreadRow(`replication lag p99, ms (${mix.title})`, '< 5', w.map((r) => r.lagP99Ms).filter((x) => !Number.isNaN(x)), (x) => x < 5, 1))
    summary.push(spreadRow(`replication lag p50, ms (${mix.title})`, '—', w.map((r) => r.lagP50Ms).filter((x) => !Number.isNaN(x)), null, 1))
    details.push(spreadRow(`master ops/s, no replica (${mix.title})`, '—', n.map((r) => r.opsPerSec), null))
    details.push(spreadRow(`master ops/s, 1 replica (${mix.title})`, '—', w.map((r) => r.opsPerSec), null))
    details.push(spreadRow(`master CPU us/op, no replica (${mix.title})`, '—', n.map((r) => r.cpuUsPerOp), null))
    details.push(spreadRow(`master CPU us/op, 1 replica (${mix.title})`, '—', w.map((r) => r.cpuUsPerOp), null))
    details.push(textRow(`master kernel us/op, no replica / 1 replica (${mix.title})`, `${fmt(median(n.map((r) => r.sysUsPerOp)))} / ${fmt(median(w.map((r) => r.sysUsPerOp)))}`))
    details.push(spreadRow(`replica CPU us per replicated record (${mix.title})`, '—', w.map((r) => r.replicaCpuUsPerRecord), null))
    details.push(spreadRow(`client p99 us (memaslap), no replica (${mix.title})`, '—', n.map((r) => r.p99Us), null, 0))
    details.push(spreadRow(`client p99 us (memaslap), 1 replica (${mix.title})`, '—', w.map((r) => r.p99Us), null, 0))
    details.push(spreadRow(`replication lag max, ms (${mix.title})`, '—', w.map((r) => r.lagMaxMs).filter((x) => !Number.isNaN(x)), null, 1))
    details.push(textRow(`lag_seqno p50 / p99 / max, records (${mix.title}; medians over rounds)`,
      `${fmt(median(w.map((r) => r.lagSeqnoP50)), 0)} / ${fmt(median(w.map((r) => r.lagSeqnoP99)), 0)} / ${fmt(median(w.map((r) => r.lagSeqnoMax)), 0)}`))
    details.push(spreadRow(`records replicated per second (${mix.title})`, '—', w.map((r) => r.records / o.seconds), null, 0))
    details.push(textRow(`master's share of a core / its run-queue wait share / CPU 0 and CPU 1 busy, no replica → 1 replica (${mix.title})`,
      `${fmt(median(n.map((r) => r.masterCoreShare)))} / ${fmt(median(n.map((r) => r.masterWaitMsPerSec / 1000)))} / ${fmt(median(n.map((r) => r.cpuBusy[0] ?? NaN)))}, ${fmt(median(n.map((r) => r.cpuBusy[1] ?? NaN)))} → ` +
      `${fmt(median(w.map((r) => r.masterCoreShare)))} / ${fmt(median(w.map((r) => r.masterWaitMsPerSec / 1000)))} / ${fmt(median(w.map((r) => r.cpuBusy[0] ?? NaN)))}, ${fmt(median(w.map((r) => r.cpuBusy[1] ?? NaN)))}`))
    details.push(spreadRow(`replica run-queue wait, ms per s (${mix.title})`, '—', w.map((r) => r.replicaWaitMsPerSec), null, 0))
    details.push(spreadRow(`master run-queue wait, ms per s, no replica / 1 replica (${mix.title})`, '—', [], null))
    details[details.length - 1] = textRow(details[details.length - 1].measure, `${fmt(median(n.map((r) => r.masterWaitMsPerSec)), 0)} / ${fmt(median(w.map((r) => r.masterWaitMsPerSec)), 0)}`)
    details.push(spreadRow(`bench process timer lateness p99, ms, during the lag sampling (${mix.title})`, '—', w.map((r) => r.benchLoopP99Ms), null, 1))
  }
  const fsOk = fsr.filter((r) => r.ok && r.before !== null && r.during !== null)
  if (fsOk.length > 0) {
    const items = o.items >= 1e6 ? `${o.items / 1e6}M` : `${o.items / 1e3}k`
    summary.push(spreadRow(`full sync of ${items} items × 100 B, s (replica spawn to in sync)`, o.items >= 1e6 ? '< 10' : '—', fsOk.map((r) => r.syncMs / 1000), o.items >= 1e6 ? (x) => x < 10 : null))
    summary.push(spreadRow('master keeps serving during the full sync: fewest get replies in any 100 ms', '> 0', fsOk.map((r) => (r.during as Window).minOpsPer100ms), (x) => x > 0, 0))
    summary.push(spreadRow('master get ops/s during the full sync / before', '—', fsOk.map((r) => (r.during as Window).opsPerSec / (r.before as Window).opsPerSec), null))
    summary.push(textRow('get p99 / max latency before → during the full sync, ms (medians)',
      `${fmt(median(fsOk.map((r) => (r.before as Window).p99Us / 1000)), 1)} / ${fmt(median(fsOk.map((r) => (r.before as Window).maxUs / 1000)), 0)} → ` +
      `${fmt(median(fsOk.map((r) => (r.during as Window).p99Us / 1000)), 1)} / ${fmt(median(fsOk.map((r) => (r.during as Window).maxUs / 1000)), 0)}`))
    details.push(spreadRow('get ops/s before the full sync', '—', fsOk.map((r) => (r.before as Window).opsPerSec), null))
    details.push(spreadRow('get ops/s during the full sync', '—', fsOk.map((r) => (r.during as Window).opsPerSec), null))
    details.push(spreadRow('fewest get replies in any 100 ms during the full sync', '—', fsOk.map((r) => (r.during as Window).minOpsPer100ms), null, 0))
    details.push(spreadRow('get p99 before the full sync, ms', '—', fsOk.map((r) => (r.before as Window).p99Us / 1000), null))
    details.push(spreadRow('get p99 during the full sync, ms', '—', fsOk.map((r) => (r.during as Window).p99Us / 1000), null))
    details.push(spreadRow('get max before the full sync, ms', '—', fsOk.map((r) => (r.before as Window).maxUs / 1000), null))
    details.push(spreadRow('get max during the full sync, ms', '—', fsOk.map((r) => (r.during as Window).maxUs / 1000), null))
    details.push(spreadRow('load client\'s own longest event-loop delay during the full sync, ms', '—', fsOk.map((r) => (r.during as Window).clientLoopMaxMs), null, 1))
    details.push(textRow('master CPU, share of one core, before → during the full sync (medians)',
      `${fmt(median(fsOk.map((r) => r.masterCpuBefore)))} → ${fmt(median(fsOk.map((r) => r.masterCpuDuring)))}`))
    details.push(spreadRow('replica CPU time from spawn to in sync, ms', '—', fsOk.map((r) => r.replicaCpuMs), null, 0))
    details.push(spreadRow('replica process start-up (part of the full sync time), ms', '—', fsOk.map((r) => r.startupMs), null, 0))
    details.push(spreadRow(`fill of ${items} items, s`, '—', fsOk.map((r) => r.fillSeconds), null))
  }
  const cutOk = cut.filter((r) => r.ok)
  if (cutOk.length > 0) {
    const good = (r: CutRow): boolean => r.masterFullSyncs === 0 && r.replicaFullSyncs === 0 && r.masterPartialSyncs === 1 && r.replicaPartialSyncs === 1
    const nGood = cutOk.filter(good).length
    const desc = (r: CutRow): string => `full +${r.masterFullSyncs}/+${r.replicaFullSyncs}, partial +${r.masterPartialSyncs}/+${r.replicaPartialSyncs}`
    summary.push({
      measure: `${o.cutSeconds} s link cut under load (50% sets): resync taken`,
      goal: 'partial +1, full +0',
      min: '',
      median: `${nGood}/${cut.length} rounds partial only`,
      max: '',
      met: nGood === cut.length ? 'yes' : 'NO',
    })
    details.push(textRow('link cut: sync counters moved, master/replica, per round', cutOk.map(desc).join('; ')))
    summary.push(spreadRow(`catch-up after the ${o.cutSeconds} s cut, ms (link open to every record acked)`, '—', cutOk.map((r) => r.catchUpMs), null, 0))
    const cap = cutOk[0].backlogCapacity
    summary.push(spreadRow(`backlog written during the cut, MB (capacity ${fmt(cap / 1e6, 1)} MB)`, '—', cutOk.map((r) => r.bytesDuringCut / 1e6), null, 1))
    details.push(spreadRow('records written during the cut', '—', cutOk.map((r) => r.records), null, 0))
    details.push(spreadRow('backlog written during the cut / capacity', '—', cutOk.map((r) => r.bytesDuringCut / r.backlogCapacity), null, 3))
    details.push(spreadRow('reconnect after the link opens (master lists it online), ms', '—', cutOk.map((r) => r.reconnectMs), null, 0))
    details.push(spreadRow('catch-up from reconnect to every cut-time record acked, ms', '—', cutOk.map((r) => r.catchUpMs - r.reconnectMs), null, 0))
    details.push(spreadRow('memaslap ops/s over the cut run', '—', cutOk.map((r) => r.loadOpsPerSec), null))
  }
  return { summary, details }
}

function table (rows: SummaryRow[]): string {
  const lines = ['| measure | goal | min | median | max | met? |', '|---|---|---:|---:|---:|---|']
  for (const r of rows) lines.push(`| ${r.measure} | ${r.goal} | ${r.min} | ${r.median} | ${r.max} | ${r.met} |`)
  return lines.join('\n')
}

function markdown (rep: ReplicationReport): string {
  const m = rep.machine
  return `${table(rep.summary)}\n\nDetails:\n\n${table(rep.details)}\n\n` +
    `Command: \`${rep.command}\`, git ${rep.gitSha}, ${rep.startedAt}; ${m.cpus} x ${m.cpuModel}, ${m.kernel}, Node ${m.node}, ` +
    `load average ${m.loadAvg.join(' ')} at the start, ${m.loadAvgAtEnd.join(' ')} at the end; ${rep.pinned ? `master on CPU 0, memaslap on CPU 1, replica ${rep.params.replicaCpu === null ? 'unpinned' : `on CPU ${rep.params.replicaCpu}`}` : 'not pinned'}.\n\n` +
    'Replication lag is the master\'s `lag_ms` for the replica, sampled every ~10 ms during the measured runs: the age of ' +
    'the oldest write the replica has not acknowledged yet (0 when it has acked everything), so it includes sending, ' +
    'applying and the ack\'s way back (the replica acks once per event-loop turn). It bounds how much recent writing a ' +
    'master crash could lose. With 10% sets the stream carries little; the 50% row is the one that exercises replication. ' +
    'On a shared machine the tail of the lag is mostly scheduling: see the run-queue waits in the details.\n'
}

async function main (): Promise<void> {
  const o = parseArgs(process.argv.slice(2))
  const pinned = os.cpus().length >= 2
  const started = new Date()
  // What was measured: the commit and the machine's load when the run began.
  const sha = gitSha(repoRoot)
  const machineAtStart = machineInfo()
  const cpuModel = (() => {
    try { return /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'latin1'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown' } catch { return os.cpus()[0]?.model ?? 'unknown' }
  })()
  say(`bench replication: parts ${o.parts.join(', ')}; ${o.rounds} round(s); ${cpuModel}, ${os.cpus().length} CPUs, Node ${process.version}, git ${sha}; ` +
    `${pinned ? `master on CPU 0, memaslap on CPU 1, replica ${o.replicaCpu === null ? 'unpinned' : `on CPU ${o.replicaCpu}`}` : 'not pinned (1 CPU)'}; load average ${os.loadavg()[0].toFixed(2)}`)
  const tp: ThroughputRow[] = []
  const fsr: FullSyncRow[] = []
  const cut: CutRow[] = []
  for (let round = 0; round < o.rounds; round++) {
    if (o.parts.includes('throughput')) {
      for (const mix of MIXES) {
        const order = round % 2 === 0 ? [false, true] : [true, false]
        for (const withReplica of order) {
          const r = await throughputRun(o, mix, withReplica, round, pinned)
          tp.push(r)
          const lag = withReplica ? `  lag p50 ${fmt(r.lagP50Ms, 1)} p99 ${fmt(r.lagP99Ms, 1)} max ${fmt(r.lagMaxMs, 1)} ms (seqno p99 ${r.lagSeqnoP99}, ${r.lagSamples} samples)  replica ${r.replicaCpuUsPerRecord} us/record, run-queue wait ${r.replicaWaitMsPerSec} ms/s (${r.replicaWaitUsPerSlice} us/slice)` : ''
          say(`round ${round + 1} ${mix.id} ${withReplica ? 'replica' : 'none   '} ` + (r.ok
            ? `${fmt(r.opsPerSec).padStart(7)} ops/s  cpu ${r.cpuUsPerOp.toFixed(1)} us/op (kernel ${r.sysUsPerOp.toFixed(1)})  p99 ${r.p99Us} us  records ${r.records}  master ${r.masterCoreShare} core, waits ${r.masterWaitMsPerSec} ms/s; CPUs busy ${r.cpuBusy.join('/')}  bench timer p99 ${r.benchLoopP99Ms} ms${lag}  (load ${r.loadAvg1})`
            : `FAILED: ${r.error ?? '?'}`))
        }
      }
    }
    if (o.parts.includes('fullsync')) {
      const r = await fullSyncRun(o, round, pinned)
      fsr.push(r)
      say(`round ${round + 1} fullsync ` + (r.ok && r.before !== null && r.during !== null
        ? `${o.items} items filled in ${r.fillSeconds} s; in sync ${(r.syncMs / 1000).toFixed(2)} s after spawn (start-up ${r.startupMs} ms, replica CPU ${r.replicaCpuMs} ms); ` +
          `gets before ${fmt(r.before.opsPerSec)}/s p99 ${fmt(r.before.p99Us / 1000)} ms max ${fmt(r.before.maxUs / 1000)} ms, ` +
          `during ${fmt(r.during.opsPerSec)}/s p99 ${fmt(r.during.p99Us / 1000)} ms max ${fmt(r.during.maxUs / 1000)} ms at +${r.during.maxAtMs} ms (fewest per 100 ms ${r.during.minOpsPer100ms}); master CPU ${r.masterCpuBefore} -> ${r.masterCpuDuring}  (load ${r.loadAvg1})`
        : `FAILED: ${r.error ?? '?'}`))
    }
    if (o.parts.includes('cut')) {
      const r = await cutRun(o, round, pinned)
      cut.push(r)
      say(`round ${round + 1} cut ${o.cutSeconds} s ` + (r.ok
        ? `master full +${r.masterFullSyncs} partial +${r.masterPartialSyncs}, replica full +${r.replicaFullSyncs} partial +${r.replicaPartialSyncs}; ` +
          `${r.records} records, ${fmt(r.bytesDuringCut / 1e6, 1)} MB (${r.bytesHow}) of ${fmt(r.backlogCapacity / 1e6, 1)} MB backlog; reconnect ${r.reconnectMs} ms, caught up ${r.catchUpMs} ms; ` +
          `relay accepted ${r.relayAccepted}; load ${fmt(r.loadOpsPerSec)} ops/s  (load ${r.loadAvg1})`
        : `FAILED: ${r.error ?? '?'}`))
    }
  }
  const { summary, details } = summarize(o, tp, fsr, cut)
  const machine = { ...machineAtStart, cpuModel, loadAvgAtEnd: machineInfo().loadAvg }
  const { out, cpuProf, parts, ...params } = o
  const report: ReplicationReport = {
    kind: 'memring-bench-replication',
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    command: `node ${path.relative(repoRoot, process.argv[1])} ${process.argv.slice(2).join(' ')}`.trim(),
    gitSha: sha,
    machine,
    pinned,
    params: { ...params, parts: parts.join(',') },
    summary,
    details,
    throughput: tp,
    fullSync: fsr,
    cut,
  }
  void cpuProf
  const md = markdown(report)
  fs.mkdirSync(out, { recursive: true })
  fs.writeFileSync(path.join(out, 'replication.json'), JSON.stringify(report, null, 2) + '\n')
  fs.writeFileSync(path.join(out, 'replication.md'), md)
  say(`\n${md}\nwrote ${path.join(out, 'replication.{json,md}')}`)
  const failed = tp.filter((r) => !r.ok).length + fsr.filter((r) => !r.ok).length + cut.filter((r) => !r.ok).length
  if (failed > 0) {
    say(`bench replication: ${failed} run(s) failed`)
    process.exitCode = 1
  }
}

main().catch((err) => {
  process.stderr.write(`bench replication: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
