// Cross-DC bench (issue 14): follower lag over a 40 ms one-way WAN under a steady write load,
// and the latency of a hit in DC B through a `--dc B` proxy vs a proxy without --dc.
//
//   npm run build && node dist/compat-tests/bench/crossdc.js             # 3 rounds of 10 s, ~2 min
//   node dist/compat-tests/bench/crossdc.js --rounds 1 --seconds 3        # quicker
//
// One round: a real ZooKeeper, two DCs on loopback (lib/testing/two-dcs.ts: A's master and
// replica, B's head follower streaming from A and B's chained follower; every link between
// the DCs through a relay in this process with 40 ms one-way delay, 5 ms jitter).
//
// Lag, two ways, while this process writes RATE sets/s to A's master (one connection,
// `set lagN ... noreply`, in batches every 10 ms):
//   - visible: every 10 ms the newest key written is sampled, and polled (`mg lagN v`, one
//     request in flight) on B's head and B's chained follower until it is there; lag = found
//     - sent, both on this process's clock. Error: + up to one poll round trip (loopback,
//     ~0.1-1 ms; more when this process is busy relaying), and this process's own event-loop
//     delay on both ends; the batching adds up to 10 ms to neither (sent = the batch's send).
//   - reported: `stats replication` lag_ms of each follower and of A's master (the largest
//     of its streams' lag, acknowledged by the replica), read every 100 ms.
// Hit latency: 300 sequential gets of written keys on one connection, through a proxy in B
// with `--dc B` (reads B's followers) and one without --dc (reads A's copies over the WAN).
import os from 'node:os'
import { mkdtempSync, rmSync } from 'node:fs'
import path from 'node:path'
import { ZkSession } from '../../lib/cluster/zk.js'
import { ChildServer, PROXY_BIN } from '../../lib/testing/memring-process.js'
import { rawClient, type RawClient } from '../../lib/testing/raw-client.js'
import { stats } from '../../lib/testing/replication.js'
import { byAddr, caughtUp, startTwoDcs } from '../../lib/testing/two-dcs.js'
import { waitFor } from '../../lib/testing/wait-for.js'
import { freePort, startZooKeeper, type Teardown } from '../../lib/testing/zookeeper.js'
import { gitSha, machineInfo } from './proc.js'
import { repoRoot } from '../harness/targets.js'
import { numArg as arg } from './args.js'

const ROUNDS = arg('rounds', 3)
const SECONDS = arg('seconds', 10)
const RATE = arg('rate', 2000)
const WAN = { delayMs: 40, jitterMs: 5 }
const GOAL_MS = WAN.delayMs + 50
const GETS = 300

class Cleanup implements Teardown {
  #fns: (() => unknown)[] = []
  teardown (fn: () => unknown): void { this.#fns.push(fn) }
  async run (): Promise<void> { for (const f of this.#fns.reverse()) { try { await f() } catch {} } }
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const pct = (sorted: number[], p: number): number => sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!
const summary = (v: number[]): { p50: number, p99: number, max: number, n: number } => {
  const s = [...v].sort((a, b) => a - b)
  return { p50: pct(s, 0.5), p99: pct(s, 0.99), max: s[s.length - 1] ?? NaN, n: s.length }
}

interface Round { visible: { head: number[], chained: number[] }, reported: { head: number[], chained: number[], master: number[] }, sets: number, hit: { local: number[], remote: number[] }, remoteReads: { local: number, remote: number } }

async function round (n: number): Promise<Round> {
  const clean = new Cleanup()
  const dir = mkdtempSync(path.join(os.tmpdir(), 'memring-xdc-bench-'))
  clean.teardown(() => rmSync(dir, { recursive: true, force: true }))
  try {
    const zk = await startZooKeeper(clean)
    const obs = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 })
    clean.teardown(() => obs.close())
    await obs.start()
    const d = await startTwoDcs(clean, { zkPort: zk.port, zkConnect: zk.connectString, obs, dir, cluster: `xb${n}`, wan: WAN, sessionMs: 3000, waitMs: 30_000 })
    const m = byAddr(d.a, (await d.master()).node)
    await caughtUp(m, [...d.a.filter((h) => h !== m), ...d.b], 30_000)
    const head = (await waitFor(async () => { for (const h of d.b) if ((await stats(h.port, 'replication')).master === m.address) return h; return null }, { timeoutMs: 30_000, what: 'B\'s head' }))
    const chained = d.b.find((h) => h !== head)!

    // the write load
    const sentAt: number[] = []
    const w = await rawClient(clean as never, m.port)
    const perTick = Math.max(1, Math.round(RATE / 100))
    const t0 = performance.now()
    const end = t0 + SECONDS * 1000
    const writer = setInterval(() => {
      const now = performance.now()
      if (now >= end) return
      // catch up to RATE * elapsed, at most a few ticks' worth (the timer is late when busy)
      const due = Math.min(Math.floor((now - t0) * RATE / 1000), sentAt.length + perTick * 3)
      let out = ''
      while (sentAt.length < due) {
        const v = String(Math.round(now))
        out += `set lag${sentAt.length} 0 0 ${v.length} noreply\r\n${v}\r\n`
        sentAt.push(now)
      }
      if (out !== '') w.write(out)
    }, 10)

    // visible lag: sample the newest key every 10 ms, poll it on one follower until there
    const probe = async (h: ChildServer, out: number[]): Promise<void> => {
      const c: RawClient = await rawClient(clean as never, h.port)
      while (performance.now() < end) {
        const k = sentAt.length - 1
        if (k < 0) { await sleep(10); continue }
        const started = performance.now()
        for (;;) {
          c.write(`mg lag${k} v\r\n`)
          const r = await c.until('\r\n', 10_000)
          if (r.startsWith('VA')) { await c.until('\r\n', 10_000); break }
          if (performance.now() - started > 5000) break
        }
        out.push(performance.now() - sentAt[k]!)
        const next = started + 10
        if (performance.now() < next) await sleep(next - performance.now())
      }
    }
    const visible = { head: [] as number[], chained: [] as number[] }
    const reported = { head: [] as number[], chained: [] as number[], master: [] as number[] }
    const reporter = async (): Promise<void> => {
      while (performance.now() < end) {
        const [a, b, c] = await Promise.all([stats(head.port, 'replication'), stats(chained.port, 'replication'), stats(m.port, 'replication')])
        if (c.lag_ms !== undefined) reported.master.push(Number(c.lag_ms))
        if (a.lag_ms !== undefined) reported.head.push(Number(a.lag_ms))
        if (b.lag_ms !== undefined) reported.chained.push(Number(b.lag_ms))
        await sleep(100)
      }
    }
    await Promise.all([probe(head, visible.head), probe(chained, visible.chained), reporter()])
    clearInterval(writer)
    const sets = sentAt.length

    // hit latency in B: --dc B vs no --dc
    await caughtUp(m, d.b, 30_000)
    const hit = { local: [] as number[], remote: [] as number[] }
    const remoteReads = { local: 0, remote: 0 }
    for (const [which, dc] of [['local', ['--dc', 'B']], ['remote', []]] as const) {
      const port = await freePort()
      const proxy = new ChildServer(PROXY_BIN, port, ['-p', String(port), '-l', '127.0.0.1', '--zk', d.zkRelay.address, '--cluster', d.cluster, ...dc, '--zk-session-timeout', '3000'], d.envB)
      clean.teardown(() => proxy.kill())
      await proxy.start()
      await waitFor(async () => (await stats(port, 'proxy')).topology_hosts === '4', { timeoutMs: 30_000, what: 'the proxy sees 4 hosts' })
      const c = await rawClient(clean as never, port)
      for (let i = 0; i < 20; i++) { c.write(`get lag${i}\r\n`); await c.until('END\r\n', 10_000) } // connections up
      const before = await stats(port, 'proxy')
      for (let i = 0; i < GETS; i++) {
        const k = Math.floor(Math.random() * sets)
        const s = performance.now()
        c.write(`get lag${k}\r\n`)
        const r = await c.until('END\r\n', 10_000)
        const e = performance.now() - s
        if (r.startsWith('VALUE')) hit[which].push(e)
      }
      const after = await stats(port, 'proxy')
      remoteReads[which] = Number(after.proxy_remote_reads) - Number(before.proxy_remote_reads)
      await proxy.kill()
    }
    return { visible, reported, sets, hit, remoteReads }
  } finally {
    await clean.run()
  }
}

const f = (x: number): string => Number.isFinite(x) ? x.toFixed(1) : '-'

async function main (): Promise<void> {
  const m = machineInfo()
  console.log(`# cross-DC bench: ${gitSha(repoRoot)}, node ${m.node}, ${m.cpuModel} x${m.cpus}, load ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`)
  console.log(`# WAN ${WAN.delayMs} ms one way + ${WAN.jitterMs} ms jitter; ${RATE} sets/s for ${SECONDS} s at A's master; goal p99 <= ${GOAL_MS} ms; ${ROUNDS} rounds`)
  const rows = new Map<string, { p50: number[], p99: number[], max: number[] }>()
  const add = (name: string, v: number[]): void => {
    const s = summary(v)
    const r = rows.get(name) ?? { p50: [], p99: [], max: [] }
    r.p50.push(s.p50); r.p99.push(s.p99); r.max.push(s.max)
    rows.set(name, r)
  }
  for (let n = 0; n < ROUNDS; n++) {
    const r = await round(n)
    console.log(`round ${n + 1}: ${r.sets} sets (${(r.sets / SECONDS).toFixed(0)}/s); samples: visible ${r.visible.head.length}/${r.visible.chained.length}, reported ${r.reported.head.length}/${r.reported.chained.length}, hits ${r.hit.local.length}/${r.hit.remote.length}; reads over the WAN: --dc B ${r.remoteReads.local}, no --dc ${r.remoteReads.remote}`)
    for (const [name, v] of [['write -> visible, B head', r.visible.head], ['write -> visible, B chained', r.visible.chained],
      ['stats lag_ms, B head', r.reported.head], ['stats lag_ms, B chained', r.reported.chained], ['stats lag_ms, A master (max of its streams)', r.reported.master],
      ['hit in B, proxy --dc B', r.hit.local], ['hit in B, proxy without --dc', r.hit.remote]] as const) {
      const s = summary(v)
      console.log(`  ${name}: p50 ${f(s.p50)} p99 ${f(s.p99)} max ${f(s.max)} ms (n ${s.n})`)
      add(name, v)
    }
  }
  const mmm = (v: number[]): string => { const s = [...v].sort((a, b) => a - b); return `${f(s[0]!)} / ${f(s[Math.floor(s.length / 2)]!)} / ${f(s[s.length - 1]!)}` }
  console.log('\n| ms, min / median / max over rounds | p50 | p99 | max |\n| --- | --- | --- | --- |')
  for (const [name, r] of rows) console.log(`| ${name} | ${mmm(r.p50)} | ${mmm(r.p99)} | ${mmm(r.max)} |`)
}

main().catch((err) => { console.error(err); process.exit(1) })
