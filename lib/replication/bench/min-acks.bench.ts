/**
 * What --min-replicas-to-ack 1 costs a master: pipelined text sets (batches of 1000, 100 B
 * values, one connection) to a master with one replica, N = 0 against N = 1, alternating,
 * each on fresh processes. Prints sets/s (wall clock: noisy on a shared machine), the
 * master's CPU per set (stats rusage_user + rusage_system: steadier) and the ack wait
 * figures of `stats replication`.
 *
 *   npx tsc -p . && node dist/lib/replication/bench/min-acks.bench.js [--runs 3] [--batches 100]
 */
import { startMemringProcess } from '../../testing/memring-process.js'
import { RawClient } from '../../testing/raw-client.js'
import { stats } from '../../testing/replication.js'
import { waitFor } from '../../testing/wait-for.js'
import net from 'node:net'

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(name)
  return i > 0 ? Number(process.argv[i + 1]) : def
}
const RUNS = arg('--runs', 3)
const BATCHES = arg('--batches', 100)
const BATCH = 1000

interface Row { n: number, setsPerSec: number, cpuUsPerSet: number, p50: string, p99: string, timeouts: string }

async function run (n: number): Promise<Row> {
  const teardowns: Array<() => unknown> = []
  const t = { teardown: (fn: () => unknown) => { teardowns.push(fn) } }
  try {
    const master = await startMemringProcess(t, ['-m', '256', '--min-replicas-to-ack', String(n)])
    await startMemringProcess(t, ['-m', '256', '--replica-of', master.address])
    await waitFor(async () => (await stats(master.port, 'replication')).replicas_online === '1', { timeoutMs: 30_000 })
    const socket = net.connect(master.port, '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    const c = new RawClient(socket)
    const v = 'x'.repeat(100)
    const batch = (b: number): string => {
      let s = ''
      for (let i = b * BATCH; i < (b + 1) * BATCH; i++) s += `set k${i % 50_000} 0 0 100\r\n${v}\r\n`
      return s
    }
    const send = async (b: number): Promise<void> => {
      c.write(batch(b))
      await c.bytes('STORED\r\n'.length * BATCH, 60_000)
    }
    for (let b = 0; b < 10; b++) await send(b) // warm-up
    const cpu = async (): Promise<number> => { const s = await stats(master.port); return Number(s.rusage_user) + Number(s.rusage_system) }
    const c0 = await cpu()
    const t0 = performance.now()
    for (let b = 0; b < BATCHES; b++) await send(b)
    const wall = performance.now() - t0
    const c1 = await cpu()
    const r = await stats(master.port, 'replication')
    c.end()
    const sets = BATCHES * BATCH
    return { n, setsPerSec: sets / (wall / 1000), cpuUsPerSet: (c1 - c0) * 1e6 / sets, p50: r.ack_wait_ms_p50, p99: r.ack_wait_ms_p99, timeouts: r.ack_timeouts }
  } finally {
    for (const fn of teardowns.reverse()) await fn()
  }
}

function spread (xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b)
  return `min ${s[0].toFixed(1)} median ${s[Math.floor(s.length / 2)].toFixed(1)} max ${s[s.length - 1].toFixed(1)}`
}

const rows: Row[] = []
for (let i = 0; i < RUNS; i++) {
  for (const n of i % 2 === 0 ? [0, 1] : [1, 0]) {
    const r = await run(n)
    rows.push(r)
    console.log(`run ${i + 1} N=${n}: ${Math.round(r.setsPerSec)} sets/s, master ${r.cpuUsPerSet.toFixed(2)} us CPU/set, ack wait p50 ${r.p50} ms p99 ${r.p99} ms, ack_timeouts ${r.timeouts}`)
  }
}
for (const n of [0, 1]) {
  const mine = rows.filter((r) => r.n === n)
  console.log(`N=${n}: sets/s ${spread(mine.map((r) => r.setsPerSec))}; master us CPU/set ${spread(mine.map((r) => r.cpuUsPerSet))}`)
}
