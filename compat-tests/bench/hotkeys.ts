// compat-tests/bench/hotkeys.ts
/**
 * Hot keys in memring-proxy: per-copy counters under a zipf read load, with and without
 * hot-key spreading and the hot-key cache. One run, on this machine.
 *
 *   node dist/compat-tests/bench/hotkeys.js [--rounds 3] [--seconds 3] [--json FILE]
 *
 * Cluster: a real ZooKeeper, one shard with a memring master and two replicas (three
 * readable copies). The hottest key (zipf rank 0) is the only key that exists, so each
 * copy's get_hits counts exactly that key's reads on it, and cmd_get all reads on it.
 * Three memring-proxy processes, started fresh for every measurement:
 *   off     --hot-key-threshold 0
 *   spread  --hot-key-threshold 200
 *   cache   --hot-key-threshold 200 --hot-key-cache (TTL 100 ms)
 * Two loads per proxy:
 *   zipf         8 connections, one get in flight each, zipf s = 1.1 over 10,000 keys
 *   alternating  1 connection: the hot key, then two cold keys, again and again (a periodic
 *                client, where a shard-wide round-robin tie-break lines a key up with a copy)
 * Printed per (proxy, load): client gets/s (median, min-max over rounds, and as a ratio to
 * `off` in the same round), the hot key's share per copy (max / min over the copies) and
 * the backends' gets per client get. Numbers depend on what else the machine is doing.
 */
import fs from 'node:fs'
import net from 'node:net'
import { ChildServer, PROXY_BIN, startMemringProcess } from '../../lib/testing/memring-process.js'
import { startZooKeeper, freePort } from '../../lib/testing/zookeeper.js'
import { RawClient } from '../../lib/testing/raw-client.js'
import { stats } from '../../lib/testing/replication.js'
import { waitFor } from '../../lib/testing/wait-for.js'
import { machineInfo } from './proc.js'
import { median } from './report.js'
import { zipf } from '../../lib/testing/zipf.js'
import { arg } from './args.js'

const rounds = Number(arg('rounds', '3'))
const seconds = Number(arg('seconds', '3'))
const jsonOut = arg('json', '')

const MODES = { off: ['--hot-key-threshold', '0'], spread: ['--hot-key-threshold', '200'], cache: ['--hot-key-threshold', '200', '--hot-key-cache'] } as const
type Mode = keyof typeof MODES
type Load = 'zipf' | 'alternating'

interface Row { mode: Mode, load: Load, round: number, getsPerSec: number, hotPerCopy: number[], allPerCopy: number[], backendPerClient: number }

const teardowns: (() => unknown)[] = []
const t = { teardown (fn: () => unknown) { teardowns.push(fn) } }

async function connect (port: number): Promise<RawClient> {
  const s = net.connect(port, '127.0.0.1')
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
  s.setNoDelay(true)
  return new RawClient(s)
}

/** Sequential gets for `ms` on one connection, keys from `next`; returns how many. */
async function getLoop (port: number, next: () => number, ms: number): Promise<number> {
  const c = await connect(port)
  const until = Date.now() + ms
  let n = 0
  while (Date.now() < until) {
    c.write(`get key:${next()}\r\n`)
    await c.until('END\r\n')
    n++
  }
  c.end()
  return n
}

async function main (): Promise<void> {
  const zk = await startZooKeeper(t)
  const member = (role: string): string[] => ['--zk', zk.connectString, '--cluster', 'bench', '--shard', 's1', '--role', role, '--zk-session-timeout', '3000']
  const master = await startMemringProcess(t, member('master'))
  await waitFor(async () => (await stats(master.port, 'replication')).role === 'master', { timeoutMs: 30_000, what: 'master elected' })
  const copies = [master, await startMemringProcess(t, member('replica')), await startMemringProcess(t, member('replica'))]
  const c = await connect(master.port)
  c.write('set key:0 0 0 100\r\n' + 'x'.repeat(100) + '\r\n')
  await c.lines(1)
  c.end()
  await waitFor(async () => (await Promise.all(copies.map(async (s) => (await stats(s.port)).curr_items))).every((n) => n === '1'), { timeoutMs: 30_000, what: 'replicas in sync' })
  const counters = async (name: string): Promise<number[]> => await Promise.all(copies.map(async (s) => Number((await stats(s.port))[name])))

  const rows: Row[] = []
  for (let round = 0; round < rounds; round++) {
    for (const mode of Object.keys(MODES) as Mode[]) {
      const port = await freePort()
      const proxy = new ChildServer(PROXY_BIN, port, ['-p', String(port), '--zk', zk.connectString, '--cluster', 'bench', ...MODES[mode]])
      await proxy.start()
      await waitFor(async () => Number((await stats(port, 'proxy')).backends) === 3, { timeoutMs: 30_000, what: 'proxy sees three copies' })
      await getLoop(port, zipf(10_000, 1.1, 99), 500) // warm-up: V8, and the hot key found
      for (const load of ['zipf', 'alternating'] as Load[]) {
        const [h0, g0] = [await counters('get_hits'), await counters('cmd_get')]
        let n: number
        if (load === 'zipf') {
          n = (await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(async (seed) => await getLoop(port, zipf(10_000, 1.1, seed * 7919 + round), seconds * 1000)))).reduce((a, b) => a + b, 0)
        } else {
          let i = 0
          n = await getLoop(port, () => (i++ % 3 === 0 ? 0 : 1 + (i % 9_999)), seconds * 1000)
        }
        const [h1, g1] = [await counters('get_hits'), await counters('cmd_get')]
        const hot = h1.map((v, j) => v - h0[j]!)
        const all = g1.map((v, j) => v - g0[j]!)
        rows.push({ mode, load, round, getsPerSec: n / seconds, hotPerCopy: hot, allPerCopy: all, backendPerClient: all.reduce((a, b) => a + b, 0) / n })
      }
      await proxy.kill()
    }
  }
  for (const fn of teardowns.reverse()) await fn()

  const m = machineInfo()
  const out: string[] = [`CPU ${m.cpuModel} x ${m.cpus}, ${m.node}, load ${m.loadAvg.join(' ')}; ${rounds} rounds x ${seconds} s`, '',
    '| proxy | load | client gets/s median (min-max) | ratio to off (median) | hot key per copy (master / replica / replica), last round | hot key max/min copy share (median) | all gets per copy, last round | backend gets per client get |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |']
  for (const load of ['zipf', 'alternating'] as Load[]) {
    for (const mode of Object.keys(MODES) as Mode[]) {
      const rs = rows.filter((r) => r.mode === mode && r.load === load)
      const rate = rs.map((r) => r.getsPerSec)
      const ratio = rs.map((r) => r.getsPerSec / rows.find((o) => o.mode === 'off' && o.load === load && o.round === r.round)!.getsPerSec)
      const skew = rs.map((r) => Math.max(...r.hotPerCopy) / Math.max(1, Math.min(...r.hotPerCopy)))
      const last = rs[rs.length - 1]!
      out.push(`| ${mode} | ${load} | ${Math.round(median(rate))} (${Math.round(Math.min(...rate))}-${Math.round(Math.max(...rate))}) | ${median(ratio).toFixed(2)} | ` +
        `${last.hotPerCopy.join(' / ')} | ${median(skew).toFixed(2)} | ${last.allPerCopy.join(' / ')} | ${median(rs.map((r) => r.backendPerClient)).toFixed(3)} |`)
    }
  }
  process.stdout.write(out.join('\n') + '\n')
  if (jsonOut !== '') fs.writeFileSync(jsonOut, JSON.stringify({ machine: m, rows }, null, 2))
}

main().catch(async (err) => {
  process.stderr.write(`hotkeys bench: ${(err as Error).stack ?? String(err)}\n`)
  for (const fn of teardowns.reverse()) { try { await fn() } catch {} }
  process.exit(1)
})
