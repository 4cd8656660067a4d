/**
 * End-to-end meta throughput on one connection: pipelined batches of `mg <key> v f` (hits),
 * `ms` sets and quiet `mg ... q v` misses closed by `mn`, against memring (the built
 * dist/bin/memring.js, spawned) and a real memcached 1.6.18 (spawned, its default 4
 * threads), one after the other on the same machine, same run.
 *
 *   npx tsc -p . && node dist/lib/server/bench/meta-pipeline.bench.js [--quick]
 *
 * Prints requests/s (median of 5 runs) per case and target. A 2-core shared machine: other
 * work moves these numbers; compare the two columns of one run, not runs with each other.
 */
import { spawn } from 'node:child_process'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { connect, freePort, haveMemcached, startMemcached, type Target } from '../test/meta-harness.js'

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/memring.js')

/** The built memring as its own process, so the load generator does not share its thread. */
async function startMemringProcess (): Promise<Target> {
  const port = await freePort()
  const child = spawn(process.execPath, [BIN, '-p', String(port), '-l', '127.0.0.1', '-U', '0'], { stdio: 'ignore' })
  const deadline = Date.now() + 10000
  for (;;) {
    try { (await connect(port)).destroy(); break } catch {
      if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error('memring did not start') }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  return { port, close: async () => { await new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGKILL') }) } }
}

const quick = process.argv.includes('--quick')
const BATCH = 100
const BATCHES = quick ? 50 : 1000
const RUNS = quick ? 1 : 5
const VALUE = 'v'.repeat(100)
const KEYS = 1000

interface Case { name: string, batch: (i: number) => string, reply: (i: number) => string }
const key = (i: number): string => `key:${String(i % KEYS).padStart(10, '0')}`
const cases: Case[] = [
  { name: 'mg k v f (hit, 100 B)', batch: (i) => `mg ${key(i)} v f\r\n`, reply: () => `VA 100 f0\r\n${VALUE}\r\n` },
  { name: 'ms k 100 T0 (set, 100 B)', batch: (i) => `ms ${key(i)} 100 T0\r\n${VALUE}\r\n`, reply: () => 'HD\r\n' },
  { name: 'mg miss q v (quiet) + mn', batch: (i) => `mg miss:${i} q v\r\n`, reply: () => '' },
]

async function measure (target: Target, c: Case): Promise<number> {
  const sock = net.connect(target.port, '127.0.0.1')
  await new Promise<void>((resolve) => sock.once('connect', () => resolve()))
  sock.setNoDelay(true)
  const payloads: Buffer[] = []
  let expect = 0
  for (let b = 0; b < 10; b++) {
    let s = ''
    for (let i = 0; i < BATCH; i++) { s += c.batch(b * BATCH + i); expect += c.reply(b * BATCH + i).length }
    payloads.push(Buffer.from(s + 'mn\r\n'))
  }
  const perBatch = expect / 10 + 4 // + "MN\r\n"
  let got = 0
  let waiting: (() => void) | null = null
  sock.on('data', (d: Buffer) => { got += d.length; if (waiting !== null && got >= need) { const w = waiting; waiting = null; w() } })
  let need = 0
  const t0 = process.hrtime.bigint()
  for (let b = 0; b < BATCHES; b++) {
    need += perBatch
    sock.write(payloads[b % payloads.length])
    if (got < need) await new Promise<void>((resolve) => { waiting = resolve })
  }
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  sock.destroy()
  return (BATCHES * BATCH) / s
}

const targets: Array<[string, () => Promise<Target>]> = [['memring', startMemringProcess]]
if (await haveMemcached()) targets.push(['memcached 1.6.18', async () => await startMemcached()])
const rows: Array<Record<string, string>> = []
for (const c of cases) {
  const row: Record<string, string> = { case: c.name }
  for (const [name, start] of targets) {
    const target = await start()
    // Warm up (and fill the keys for the hit case).
    const fill = net.connect(target.port, '127.0.0.1')
    await new Promise<void>((resolve) => fill.once('connect', () => resolve()))
    let s = ''
    for (let i = 0; i < KEYS; i++) s += `ms ${key(i)} 100 q\r\n${VALUE}\r\n`
    fill.write(s + 'mn\r\n')
    await new Promise<void>((resolve) => fill.on('data', (d: Buffer) => { if (d.includes('MN\r\n')) resolve() }))
    fill.destroy()
    await measure(target, c)
    const runs: number[] = []
    for (let r = 0; r < RUNS; r++) runs.push(await measure(target, c))
    runs.sort((a, b) => a - b)
    row[name] = `${(runs[runs.length >> 1] / 1000).toFixed(0)} k req/s`
    await target.close()
  }
  rows.push(row)
}
console.table(rows)
