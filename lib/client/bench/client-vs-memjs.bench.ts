/**
 * Client ops/s against ONE memring server process, compared with memjs (npm, binary
 * protocol) against the same server in the same run, alternating runs so both see the
 * same machine state. Optional: the same against stock memcached (--memcached).
 *
 * Run: npx tsc -p . && node dist/lib/client/bench/client-vs-memjs.bench.js [--quick] [--memcached]
 * Workload: 90% get / 10% set, 1,000 keys, 100-byte values; `concurrency` requests in
 * flight (1 = one at a time, latency-bound; 64 = pipelined). Median of 5 runs per cell.
 * Numbers depend on what else the machine is doing.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { connect, createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { Client } from '../index.js'

const require = createRequire(import.meta.url)
// memjs ships no types; this is the subset used here.
interface Memjs {
  get (key: string): Promise<{ value: Buffer | null }>
  set (key: string, value: Buffer, opts: { expires: number }): Promise<boolean>
  close (): void
}
const memjs = require('memjs') as { Client: { create (servers: string, opts: object): Memjs } }

const quick = process.argv.includes('--quick')
const RUNS = quick ? 1 : 5
const OPS = quick ? 2_000 : 40_000
const KEYS = 1000
const VALUE = Buffer.alloc(100, 0x61)

async function freePort (): Promise<number> {
  return await new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address()
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0))
    })
  })
}

async function waitPort (port: number): Promise<void> {
  for (let i = 0; i < 250; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1')
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`server on ${port} did not come up`)
}

async function startTarget (kind: 'memring' | 'memcached'): Promise<{ port: number, proc: ChildProcess }> {
  const port = await freePort()
  const here = dirname(fileURLToPath(import.meta.url))
  const proc = kind === 'memring'
    ? spawn(process.execPath, [join(here, '..', '..', '..', 'bin', 'memring.js'), '-p', String(port), '-l', '127.0.0.1', '-U', '0'], { stdio: 'ignore' })
    : spawn('memcached', ['-u', 'root', '-l', '127.0.0.1', '-p', String(port), '-U', '0', '-t', '1'], { stdio: 'ignore' })
  await waitPort(port)
  return { port, proc }
}

type Op = (i: number) => Promise<unknown>

/** ops/s of `op` with `concurrency` in flight. */
async function drive (op: Op, concurrency: number): Promise<number> {
  let next = 0
  const t0 = process.hrtime.bigint()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < OPS; i = next++) await op(i)
  }))
  return OPS / (Number(process.hrtime.bigint() - t0) / 1e9)
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]

async function bench (kind: 'memring' | 'memcached'): Promise<string[]> {
  const { port, proc } = await startTarget(kind)
  const ours = new Client({ servers: `127.0.0.1:${port}`, requestTimeoutMs: 10_000 })
  const theirs = memjs.Client.create(`127.0.0.1:${port}`, { retries: 0, timeout: 10, logger: { log: () => {} } })
  const ourOp: Op = async (i) => i % 10 === 0 ? await ours.set(`k${i % KEYS}`, VALUE) : await ours.get(`k${i % KEYS}`)
  const theirOp: Op = async (i) => i % 10 === 0 ? await theirs.set(`k${i % KEYS}`, VALUE, { expires: 0 }) : await theirs.get(`k${i % KEYS}`)
  const rows: string[] = []
  try {
    for (let i = 0; i < KEYS; i++) await ours.set(`k${i}`, VALUE)
    for (const concurrency of [1, 64]) {
      const a: number[] = []
      const b: number[] = []
      await drive(ourOp, concurrency) // warm-up, both
      await drive(theirOp, concurrency)
      for (let r = 0; r < RUNS; r++) {
        a.push(await drive(ourOp, concurrency))
        b.push(await drive(theirOp, concurrency))
      }
      const ma = median(a)
      const mb = median(b)
      const spread = (xs: number[]): string => `${Math.round(Math.min(...xs) / 1000)}-${Math.round(Math.max(...xs) / 1000)}k`
      rows.push(`| ${kind} | ${concurrency} | ${Math.round(ma).toLocaleString('en')} (${spread(a)}) | ${Math.round(mb).toLocaleString('en')} (${spread(b)}) | ${(ma / mb).toFixed(2)} |`)
    }
  } finally {
    await ours.close()
    theirs.close()
    proc.kill('SIGKILL')
  }
  return rows
}

const rows = ['| server | in flight | lib/client ops/s (text) | memjs ops/s (binary) | ratio |', '|---|---|---|---|---|']
rows.push(...await bench('memring'))
if (process.argv.includes('--memcached')) rows.push(...await bench('memcached'))
console.log(`# client vs memjs, node ${process.version}, ${OPS} ops x ${RUNS} runs (median, min-max), 90% get / 10% set, 100 B values`)
console.log(rows.join('\n'))
