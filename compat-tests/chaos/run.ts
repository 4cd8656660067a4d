// compat-tests/chaos/run.ts
/**
 * `npm run chaos`: the failover checker. Starts a real cluster (cluster.ts), runs client
 * processes through the proxy (client.ts), injects one fault at a time (nemesis.ts),
 * several times each, lets the cluster settle in between, reads every key back, and
 * reports per fault against the goals (analyze.ts, report.ts). Exits 1 when a goal is
 * missed or a requested run is not possible, 2 on bad arguments. README.md says what each
 * measure means.
 *
 *   npm run chaos                      # N=1 and N=0, 3 repetitions of every fault
 *   npm run chaos -- --quick           # 2 repetitions, less data
 *   node dist/compat-tests/chaos/run.js --acks default --static-roles --faults stop,zk-freeze
 */
import { fork, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { now } from '../../lib/testing/cluster-probe.js'
import { digest } from '../../lib/testing/replication.js'
import { repoRoot } from '../harness/targets.js'
import { gitSha, machineInfo } from '../bench/proc.js'
import { FAULTS, errorKinds, measureFault, lostWrites, opsFrom, summarize, type FaultKind, type FaultMeasures, type FaultRecord, type Op, type Readback } from './analyze.js'
import type { OpRecord } from './client.js'
import { ChaosCluster, FAULTED_SHARD, OTHER_SHARD, Teardowns, memringKnowsFlag, sleep } from './cluster.js'
import { applyFault, type Target } from './nemesis.js'
import { goalTable, timelineSvg, type RunReport } from './report.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const CLIENT = path.join(HERE, 'client.js')

interface Options {
  reps: number
  faults: FaultKind[]
  /** --min-replicas-to-ack values to run; null = do not pass the flag. */
  acks: Array<number | null>
  staticRoles: boolean
  sessionMs: number
  memoryMb: number
  fill: number
  clients: number
  keysPerClient: number
  rate: number
  settleMs: number
  out: string
  keepLogs: boolean
  hostVerbose: boolean
  quick: boolean
}

function usage (msg: string): never {
  process.stderr.write(`chaos: ${msg}
usage: run.js [--quick] [--reps N] [--faults ${FAULTS.join(',')}] [--acks 1,0|default]
              [--static-roles] [--session-ms MS] [--memory MB] [--fill ITEMS] [--clients N]
              [--keys N] [--rate OPS] [--settle-ms MS] [--out DIR] [--keep-logs] [--host-verbose]
`)
  process.exit(2)
}

function parseArgs (argv: string[]): Options {
  const o: Options = {
    reps: 3, faults: [...FAULTS], acks: [1, 0], staticRoles: false, sessionMs: 2000, memoryMb: 256,
    fill: 200_000, clients: 3, keysPerClient: 60, rate: 200, settleMs: 0, keepLogs: false, hostVerbose: false, quick: false,
    out: path.join(repoRoot, 'compat-tests', 'bench', 'results'),
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const val = (): string => { const v = argv[++i]; if (v === undefined) usage(`${a} needs a value`); return v }
    const num = (): number => { const v = Number(val()); if (!Number.isInteger(v) || v < 0) usage(`${a} needs a whole number`); return v }
    switch (a) {
      case '--quick': Object.assign(o, { reps: 2, fill: 100_000, keysPerClient: 30, quick: true }); break
      case '--reps': o.reps = Math.max(1, num()); break
      case '--faults': {
        const fs = val().split(',')
        for (const f of fs) if (!(FAULTS as readonly string[]).includes(f)) usage(`unknown fault ${f}`)
        o.faults = fs as FaultKind[]
        break
      }
      case '--acks': o.acks = val().split(',').map((x) => x === 'default' ? null : Number.isInteger(Number(x)) && Number(x) >= 0 ? Number(x) : usage(`--acks: ${x}`)); break
      case '--static-roles': o.staticRoles = true; break
      case '--session-ms': o.sessionMs = Math.max(500, num()); break
      case '--memory': o.memoryMb = Math.max(16, num()); break
      case '--fill': o.fill = num(); break
      case '--clients': o.clients = Math.max(1, num()); break
      case '--keys': o.keysPerClient = Math.max(1, num()); break
      case '--rate': o.rate = Math.max(1, num()); break
      case '--settle-ms': o.settleMs = num(); break
      case '--out': o.out = path.resolve(val()); break
      case '--keep-logs': o.keepLogs = true; break
      case '--host-verbose': o.hostVerbose = true; o.keepLogs = true; break
      case '-h': case '--help': usage('help')
      // falls through (usage exits)
      default: usage(`unknown argument ${a}`)
    }
  }
  // Settling (a new master, replicas in sync, a full sync of the filled store) is bounded by 10 sessions.
  if (o.settleMs === 0) o.settleMs = o.sessionMs * 10
  return o
}

const say = (s: string): void => { process.stdout.write(s + '\n') }

// ---------------------------------------------------------------------------------------

class ClientProc {
  readonly proc: ChildProcess
  readonly out: string
  readonly ready: Promise<void>
  readonly exited: Promise<number | null>
  constructor (args: string[], out: string) {
    this.out = out
    this.proc = fork(CLIENT, [...args, '--out', out], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.ready = new Promise((resolve, reject) => {
      this.proc.once('message', () => resolve())
      this.proc.once('exit', (code) => reject(new Error(`chaos client exited (${code}) before it was ready`)))
    })
    this.exited = new Promise((resolve) => this.proc.once('exit', (code) => resolve(code)))
  }

  /** Stops the client and returns its operations. */
  async stop (): Promise<OpRecord[]> {
    if (this.proc.exitCode === null) this.proc.send('stop')
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000)
    const code = await this.exited
    clearTimeout(timer)
    if (code !== 0) throw new Error(`chaos client exited with ${code}`)
    const text = fs.readFileSync(this.out, 'utf8')
    return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as OpRecord)
  }
}

/**
 * Pipelined `set ... noreply` of n items of 100 bytes to s1's master, a `version` round
 * trip per batch. The fill is set-up, not the subject: a batch that meets an error (the
 * master lost its lease under the burst, say) is sent again to whoever is master once the
 * shard settles. Resolves with the number of batches sent again.
 */
async function fill (c: ChaosCluster, n: number, boundMs: number): Promise<number> {
  const value = 'v'.repeat(100)
  const deadline = now() + boundMs * 3
  let retried = 0
  for (let i = 0; i < n; i += 2000) {
    let batch = ''
    for (let j = i; j < Math.min(n, i + 2000); j++) batch += `set fill:${j} 0 0 100 noreply\r\n${value}\r\n`
    for (;;) {
      const m = c.probe.primary(FAULTED_SHARD)
      const h = m === null ? null : c.hostByAddress(addressOf(m))
      const reply = h === null ? 'no master' : await sendBatch(h.server.port, batch + 'version\r\n')
      if (!reply.includes('ERROR') && reply.includes('VERSION')) break
      if (now() > deadline) throw new Error(`fill: ${reply.split('\r\n')[0]}`)
      retried++
      await c.settle(boundMs)
    }
  }
  return retried
}

function sendBatch (port: number, data: string): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    let got = ''
    const done = (v: string): void => { clearTimeout(t); s.destroy(); resolve(v) }
    const t = setTimeout(() => done(`timeout ${got.slice(0, 100)}`), 10_000)
    s.on('connect', () => s.write(data))
    s.on('data', (d: Buffer) => { got += d.toString('latin1'); if (got.includes('VERSION')) done(got) })
    s.on('error', (e) => done(`error ${e.message}`))
  })
}

/** One write through `port`, recorded like a client's. */
async function setOnce (port: number, key: string, value: string): Promise<Op> {
  const s = net.connect(port, '127.0.0.1')
  const t0 = now()
  const reply = await new Promise<string>((resolve) => {
    let buf = ''
    const t = setTimeout(() => { s.destroy(); resolve('timeout') }, 5000)
    s.on('connect', () => s.write(`set ${key} 0 0 ${value.length}\r\n${value}\r\n`))
    s.on('data', (d: Buffer) => { buf += d.toString('latin1'); if (buf.includes('\r\n')) { clearTimeout(t); s.destroy(); resolve(buf.trim()) } })
    s.on('error', (e) => { clearTimeout(t); resolve(`err ${e.message}`) })
  })
  return { kind: 'w', key, value, s: t0, e: now(), result: reply === 'STORED' ? 'ok' : reply, via: 'checker' }
}

async function readBack (c: ChaosCluster, keysOf: Map<string, string[]>): Promise<Readback> {
  const at = now()
  const values = new Map<string, string | null>()
  let unread = 0
  for (const [shard, keys] of keysOf) {
    const m = c.probe.primary(shard)
    const h = m === null ? null : c.hostByAddress(`${m.host}:${m.port}`)
    if (h === null) { unread += keys.length; continue }
    try {
      const d = await digest(h.server.port, keys)
      for (const k of keys) values.set(k, d.get(k)?.value ?? null)
    } catch { unread += keys.length }
  }
  return { at, values, unread }
}

interface RunResult { report: RunReport, ops: Op[], records: FaultRecord[], events: unknown[] }

async function runOnce (o: Options, acks: number | null, logDir: string): Promise<RunResult> {
  const label = acks === null ? 'default' : `N=${acks}`
  const report: RunReport = {
    label, acks, possible: true, whyNot: '', sessionMs: o.sessionMs, staticRoles: o.staticRoles, summaries: [], faults: [],
    baselineReadErrors: 0, baselineErrorKinds: {}, setupNotes: [], finalLost: 0, finalUnread: 0, finalLostIsGoal: acks !== null && acks >= 1, startedAt: now(), endedAt: now(), missed: [],
  }
  if (acks !== null && !await memringKnowsFlag('--min-replicas-to-ack')) {
    report.possible = false
    report.whyNot = 'this memring does not know --min-replicas-to-ack (memring --help does not list it)'
    report.missed.push('run not possible')
    return { report, ops: [], records: [], events: [] }
  }
  const td = new Teardowns()
  const c = new ChaosCluster({ name: `chaos${process.pid}`, sessionMs: o.sessionMs, memoryMb: o.memoryMb, staticRoles: o.staticRoles, acks, waitMs: o.settleMs, hostVerbose: o.hostVerbose }, td)
  const ops: Op[] = []
  const records: FaultRecord[] = []
  const clients: ClientProc[] = []
  try {
    say(`[${label}] starting ZooKeeper, 3 hosts of ${FAULTED_SHARD}, 1 of ${OTHER_SHARD}, the proxy`)
    await c.start()
    if (o.fill > 0) {
      say(`[${label}] filling ${FAULTED_SHARD} with ${o.fill} items (for the full-sync fault)`)
      const retried = await fill(c, o.fill, o.settleMs)
      if (retried > 0) say(`[${label}] fill: ${retried} batch(es) refused by the master and sent again once the shard settled`)
      report.setupNotes.push(...(retried > 0 ? [`fill: ${retried} batch(es) of 2000 sets refused by the master (then sent again)`] : []))
      if (!await c.settle(o.settleMs)) throw new Error(`replicas did not sync the filled store: ${c.lastUnsettled}`)
    }
    const master = c.hostByAddress(addressOf(c.probe.primary(FAULTED_SHARD)!))!
    // Key placement, black-box: write every key once through the proxy, then look for it on s2's host.
    const clientKeys = Array.from({ length: o.clients }, (_, i) => Array.from({ length: o.keysPerClient }, (_, j) => `c${i}:${j}`))
    const directKeys = Array.from({ length: 20 }, (_, j) => `d:${j}`)
    for (const [i, keys] of clientKeys.entries()) for (const k of keys) ops.push(await setOnce(c.proxy.port, k, `c${i}:0`))
    for (const k of directKeys) ops.push(await setOnce(master.server.port, k, 'd:0'))
    const failedSetup = ops.filter((x) => x.result !== 'ok')
    if (failedSetup.length > 0) throw new Error(`initial writes failed: ${failedSetup.slice(0, 3).map((x) => `${x.key}: ${x.result}`).join('; ')}`)
    const onS2 = await digest(c.s2.server.port, clientKeys.flat())
    const shardOfKey = new Map<string, string>()
    for (const k of clientKeys.flat()) shardOfKey.set(k, onS2.has(k) ? OTHER_SHARD : FAULTED_SHARD)
    for (const k of directKeys) shardOfKey.set(k, FAULTED_SHARD)
    const keysOf = new Map<string, string[]>([[FAULTED_SHARD, []], [OTHER_SHARD, []]])
    for (const [k, s] of shardOfKey) keysOf.get(s)!.push(k)
    say(`[${label}] ${keysOf.get(FAULTED_SHARD)!.length} keys on ${FAULTED_SHARD} (${directKeys.length} of them direct), ${keysOf.get(OTHER_SHARD)!.length} on ${OTHER_SHARD}`)
    if (!await c.settle(o.settleMs)) throw new Error(`the cluster did not settle after the initial writes: ${c.lastUnsettled}`)

    report.startedAt = now()
    for (let i = 0; i < o.clients; i++) {
      clients.push(new ClientProc(['--mode', 'proxy', '--id', `c${i}`, '--port', String(c.proxy.port), '--keys', clientKeys[i]!.join(','),
        '--rate', String(o.rate), '--seq-start', '1', '--seed', String(1000 + i)], path.join(logDir, `${label}-c${i}.ndjson`)))
    }
    await Promise.all(clients.map((x) => x.ready))
    await sleep(Math.max(1000, o.sessionMs))

    let index = 0
    let stuck = ''
    for (const kind of o.faults) {
      // A fault whose injection depends on timing (restart inside the detection window, a
      // replica caught mid sync) is attempted again, at most twice more per repetition;
      // every attempt is measured.
      for (let rep = 1, attempt = 1; rep <= o.reps; index++) {
        const m = c.probe.primary(FAULTED_SHARD)
        const target = m === null ? null : c.hostByAddress(addressOf(m))
        const rec: FaultRecord = {
          kind, rep, injected: false, note: '', injectedAt: now(), liftedAt: now(), contAt: null,
          oldMaster: target?.address ?? null, oldEpoch: m?.epoch ?? 0, newMaster: null, newEpoch: 0, newMasterAt: null,
          settledAt: null, windowEnd: 0, survivorFullSyncs: 0, survivors: [], otherFullSyncs: {}, readback: null,
        }
        records.push(rec)
        if (stuck !== '' || target === null) {
          rec.note = stuck !== '' ? `not run: ${stuck}` : 'not run: no master of the shard'
          rec.oldMaster = null // marks a fault that did not run (no window, no measures)
          say(`[${label}] ${kind} #${rep}: ${rec.note}`)
          rep++
          attempt = 1
          continue
        }
        const before = await c.fullSyncs()
        const direct = new ClientProc(['--mode', 'direct', '--id', 'd', '--port', String(target.server.port), '--keys', directKeys.join(','),
          '--rate', String(o.rate), '--seq-start', String((index + 1) * 1_000_000), '--timeout-ms', '500'], path.join(logDir, `${label}-direct${index}.ndjson`))
        await direct.ready
        await sleep(300)
        say(`[${label}] ${kind} #${rep}: master ${target.address} (epoch ${rec.oldEpoch})`)
        const applied = await applyFault(kind, c, { host: target, epoch: rec.oldEpoch } satisfies Target)
        Object.assign(rec, { injected: applied.injected, note: applied.note, injectedAt: applied.injectedAt, liftedAt: applied.liftedAt, contAt: applied.contAt })
        const settled = await c.settle(Math.max(0, applied.injectedAt + o.settleMs - now()))
        rec.settledAt = settled ? now() : null
        if (!settled) rec.note += `${rec.note !== '' ? '; ' : ''}not settled: ${c.lastUnsettled}`
        const seen = c.probe.newMasterSeen(FAULTED_SHARD, rec.oldEpoch, rec.injectedAt)
        if (seen !== null) Object.assign(rec, { newMaster: seen.address, newEpoch: seen.epoch, newMasterAt: seen.t })
        await sleep(500) // the direct writer keeps knocking on the old master after the new one settled
        ops.push(...opsFrom(await direct.stop(), 'direct', index))
        const after = await c.fullSyncs()
        const touched = new Set(applied.faulted.map((h) => h.address))
        for (const [addr, b] of before) {
          const a = after.get(addr)
          if (a === undefined) continue
          const delta = a.fullSyncs - b.fullSyncs
          if (b.role === 'replica' && a.role === 'replica' && !touched.has(addr)) { rec.survivors.push(addr); rec.survivorFullSyncs += Math.max(0, delta) } else rec.otherFullSyncs[addr] = a.fullSyncs
        }
        rec.readback = await readBack(c, keysOf)
        say(`[${label}] ${kind} #${rep}: ${applied.injected ? 'injected' : 'NOT injected'}${applied.note !== '' ? ` (${applied.note})` : ''}; ` +
          `new master ${rec.newMaster ?? 'none'}${rec.newMasterAt !== null ? ` after ${Math.round(rec.newMasterAt - rec.injectedAt)} ms` : ''}; ` +
          `${settled ? `settled after ${Math.round(rec.settledAt! - rec.injectedAt)} ms` : `NOT settled within ${o.settleMs} ms`}`)
        if (!settled && c.probe.primary(FAULTED_SHARD) === null) stuck = `the shard had no master after ${kind} #${rep}`
        if (applied.injected || attempt >= 3 || stuck !== '') { rep++; attempt = 1 } else attempt++
      }
    }
    const stopAt = now()
    for (const x of clients.splice(0)) ops.push(...opsFrom(await x.stop(), 'proxy'))
    report.endedAt = now()
    const final = await readBack(c, keysOf)
    report.finalLost = lostWrites(ops, final).length
    report.finalUnread = final.unread
    const ends = [...records.map((r) => r.injectedAt).slice(1), stopAt]
    records.forEach((r, i) => { r.windowEnd = Math.max(r.injectedAt, ends[i]!) })
    const firstFault = records.find((r) => r.oldMaster !== null)?.injectedAt ?? stopAt
    const baseline = ops.filter((x) => x.via === 'proxy' && x.s < firstFault)
    report.baselineReadErrors = baseline.filter((x) => x.kind === 'r' && x.result !== 'ok').length
    report.baselineErrorKinds = errorKinds(baseline)
    const shardOf = (k: string): string => shardOfKey.get(k) ?? FAULTED_SHARD
    report.faults = records.map((r, i) => r.oldMaster === null
      ? notRun(r)
      : measureFault(r, i, ops, shardOf, FAULTED_SHARD))
    const goals = { unavailableMaxMs: o.sessionMs + 1000, lostIsGoal: report.finalLostIsGoal }
    report.summaries = o.faults.map((k) => summarize(k, report.faults.filter((f) => f.kind === k), goals, o.reps))
    for (const s of report.summaries) for (const m of s.missed) report.missed.push(`${s.kind}: ${m}`)
    if (report.baselineReadErrors > 0) report.missed.push('read errors before any fault')
    if (report.finalLostIsGoal && (report.finalLost > 0 || report.finalUnread > 0)) report.missed.push('final read-back: lost writes (or keys not read back)')
    return { report, ops, records, events: c.probe.events }
  } catch (err) {
    report.possible = false
    report.whyNot = `the run failed: ${(err as Error).message.split('\n')[0]}`
    report.missed.push('run failed')
    return { report, ops, records, events: c.probe?.events ?? [] }
  } finally {
    for (const x of clients) x.proc.kill('SIGKILL')
    await td.run()
    if (o.keepLogs && c.s1.length > 0) {
      for (const h of [...c.s1, ...(c.s2 !== undefined ? [c.s2] : [])]) c.keepLog(h)
      for (const [addr, text] of c.logs) fs.writeFileSync(path.join(logDir, `${label}-host-${addr.replace(/[^0-9]+/g, '_')}.log`), text)
    }
  }
}

function addressOf (r: { host: string, port: number }): string { return `${r.host}:${r.port}` }

function notRun (r: FaultRecord): FaultMeasures {
  return {
    kind: r.kind, rep: r.rep, injected: false, settled: false, note: r.note, failoverMs: null, settleMs: null,
    readErrors: 0, reads: 0, writeUnavailableMs: 0, writesNeverRecovered: false, writes: 0, writesFailed: 0, otherShardWritesFailed: 0,
    lostWrites: 0, lostKeys: [], unreadKeys: -1, fencedWrites: 0, fencedAmbiguous: 0, directWrites: 0, staleReads: 0, survivorFullSyncs: 0,
    errorKinds: {},
  }
}

async function main (): Promise<void> {
  const o = parseArgs(process.argv.slice(2))
  fs.mkdirSync(o.out, { recursive: true })
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-chaos-'))
  const results: RunResult[] = []
  let onSignal = false
  // process.exit runs the 'exit' handlers of lib/testing, which kill every process we started
  // (a signal's default action would leave hosts and ZooKeeper running).
  process.once('SIGINT', () => { onSignal = true; process.exit(130) })
  process.once('SIGTERM', () => { onSignal = true; process.exit(143) })
  for (const acks of o.acks) {
    if (onSignal) break
    results.push(await runOnce(o, acks, logDir))
  }
  let md = `## memring failover checker (${new Date().toISOString()}, ${gitSha(repoRoot)}, ${machineInfo().cpuModel})\n\n` +
    `Faults: ${o.faults.join(', ')}; ${o.reps} repetitions each; ${o.clients} clients at ${o.rate} ops/s through the proxy.\n\n`
  for (const r of results) {
    md += goalTable(r.report) + '\n'
    if (r.report.possible) {
      const spans = r.records.filter((x) => x.oldMaster !== null).map((x) => ({ kind: x.kind, rep: x.rep, from: x.injectedAt, to: x.settledAt ?? x.windowEnd, settled: x.settledAt !== null }))
      fs.writeFileSync(path.join(o.out, `chaos-${slug(r.report.label)}.svg`), timelineSvg(r.report, r.ops, spans))
    }
  }
  say('\n' + md)
  fs.writeFileSync(path.join(o.out, 'chaos.md'), md)
  fs.writeFileSync(path.join(o.out, 'chaos.json'), JSON.stringify({
    at: new Date().toISOString(), sha: gitSha(repoRoot), machine: machineInfo(), options: o,
    runs: results.map((r) => ({
      ...r.report,
      records: r.records.map((x) => ({ ...x, readback: x.readback === null ? null : { at: x.readback.at, keys: x.readback.values.size, unread: x.readback.unread } })),
      zookeeperEvents: r.events,
    })),
  }, null, 2))
  say(`outputs: ${path.join(o.out, 'chaos.md')}, chaos.json, chaos-*.svg${o.keepLogs ? `; operation logs in ${logDir}` : ''}`)
  if (!o.keepLogs) fs.rmSync(logDir, { recursive: true, force: true })
  const missed = results.flatMap((r) => r.report.missed.map((m) => `${r.report.label} ${m}`))
  if (missed.length > 0) say(`FAILED: ${missed.length} goal(s) missed: ${missed.join('; ')}`)
  else say('OK: every goal met')
  process.exit(missed.length > 0 ? 1 : 0)
}

function slug (s: string): string { return s.replace(/[^A-Za-z0-9]+/g, '').toLowerCase() }

main().catch((err) => {
  process.stderr.write(`chaos: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
