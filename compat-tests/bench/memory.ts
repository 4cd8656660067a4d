// Memory benchmark: load the same N items (default 1,000,000; 12-byte keys, 100-byte
// values) into real memcached and into memring with pipelined sets over a raw socket, and
// compare RSS growth per item. memring runs in memory-host.js (forked with --expose-gc), so
// it can also time a full GC with every item resident.
//
//   node dist/compat-tests/bench/memory.js [--items N] [--memory MB] [--out DIR]
//
// RSS is read from /proc/<pid>/status of each server process: growth = after - before.

import { fork } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { repoRoot } from '../harness/targets.js'
import type { Measured } from './memory-host.js'
import { gitSha, machineInfo, rssBytes } from './proc.js'
import { median } from './report.js'
import { exchange, startServer } from './servers.js'

interface Options { items: number, keyBytes: number, valueBytes: number, memoryMb: number, window: number, out: string }

function parseArgs (argv: string[]): Options {
  const o: Options = { items: 1_000_000, keyBytes: 12, valueBytes: 100, memoryMb: 1024, window: 2000, out: path.join(repoRoot, 'compat-tests', 'bench', 'results') }
  let outGiven = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const v = argv[++i]
    if (v === undefined) throw new Error(`${a} needs a value`)
    if (a === '--items') o.items = Number(v)
    else if (a === '--memory') o.memoryMb = Number(v)
    else if (a === '--value-bytes') o.valueBytes = Number(v)
    else if (a === '--out') { o.out = path.resolve(v); outGiven = true } else throw new Error(`unknown argument ${a} (use --items N --memory MB --value-bytes N --out DIR)`)
  }
  if (!Number.isInteger(o.items) || o.items < 1 || o.items >= 10 ** (o.keyBytes - 1)) throw new Error('--items out of range')
  if (!outGiven && o.items < 1_000_000) o.out = path.join(os.tmpdir(), 'memring-bench')
  return o
}

/** Key i as 12 bytes: 'k' and the number zero-padded (so every key has the same size). */
function keyOf (i: number, keyBytes: number): string {
  return 'k' + String(i).padStart(keyBytes - 1, '0')
}

/**
 * Pipelined `set` requests, `window` at a time: each window is one write, and the next one
 * goes out once all its replies (STORED) are in. Throws on any other reply.
 */
async function load (port: number, o: Options, progress: (done: number) => void): Promise<number> {
  const sock = net.connect(port, '127.0.0.1')
  sock.setNoDelay(true)
  await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject) })
  const value = Buffer.alloc(o.valueBytes, 'v')
  const STORED = Buffer.from('STORED\r\n')
  const t0 = process.hrtime.bigint()
  let expect = 0
  let got = 0
  let pendingCheck: Buffer = Buffer.alloc(0)
  let waiter: (() => void) | null = null
  let failure: Error | null = null
  sock.on('data', (c: Buffer) => {
    // Check replies in whole STORED\r\n units; keep a partial one for the next chunk.
    const buf = pendingCheck.length > 0 ? Buffer.concat([pendingCheck, c]) : c
    const whole = buf.length - (buf.length % STORED.length)
    for (let off = 0; off < whole; off += STORED.length) {
      if (buf.compare(STORED, 0, STORED.length, off, off + STORED.length) !== 0) {
        failure = new Error(`unexpected reply: ${JSON.stringify(buf.subarray(off, off + 60).toString('latin1'))}`)
        break
      }
    }
    pendingCheck = buf.subarray(whole)
    got += whole / STORED.length
    if ((got >= expect || failure !== null) && waiter !== null) { const w = waiter; waiter = null; w() }
  })
  sock.on('error', (err) => { failure = err; if (waiter !== null) { const w = waiter; waiter = null; w() } })
  for (let i = 0; i < o.items; i += o.window) {
    const n = Math.min(o.window, o.items - i)
    const parts: Buffer[] = []
    for (let j = 0; j < n; j++) {
      parts.push(Buffer.from(`set ${keyOf(i + j, o.keyBytes)} 0 0 ${o.valueBytes}\r\n`, 'latin1'), value, Buffer.from('\r\n'))
    }
    expect += n
    const done = new Promise<void>((resolve) => { waiter = resolve })
    sock.write(Buffer.concat(parts))
    await done
    if (failure !== null) throw failure
    if ((i / o.window) % 50 === 0) progress(got)
  }
  sock.destroy()
  return Number(process.hrtime.bigint() - t0) / 1e9
}

async function stat (port: number, name: string): Promise<number> {
  const got = await exchange(port, Buffer.from('stats\r\n'), (b) => b.includes('END\r\n'), 5000)
  const m = got === null ? null : new RegExp(`^STAT ${name} (\\d+)\\r$`, 'm').exec(got.toString('latin1'))
  if (m === null) throw new Error(`no STAT ${name}`)
  return Number(m[1])
}

interface Row { server: string, items: number, rssBefore: number, rssAfter: number, bytesPerItem: number, loadSeconds: number }

const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`

async function main (): Promise<void> {
  const o = parseArgs(process.argv.slice(2))
  const rows: Row[] = []
  const say = (s: string): void => { process.stdout.write(s + '\n') }
  const tty = process.stdout.isTTY
  const progress = (who: string) => (done: number) => { if (tty) process.stdout.write(`\r  ${who}: ${done} / ${o.items} stored`) }
  say(`memory: ${o.items} items, ${o.keyBytes}-byte keys, ${o.valueBytes}-byte values, -m ${o.memoryMb}`)

  // memcached
  const mc = await startServer({ kind: 'memcached', cpu: null, memoryMb: o.memoryMb, threads: 1 })
  try {
    const before = rssBytes(mc.pid)
    const secs = await load(mc.port, o, progress('memcached'))
    const items = await stat(mc.port, 'curr_items')
    const after = rssBytes(mc.pid)
    rows.push({ server: 'memcached', items, rssBefore: before, rssAfter: after, bytesPerItem: (after - before) / items, loadSeconds: secs })
    say(`${tty ? '\r' : ''}  memcached: ${items} items in ${secs.toFixed(1)} s, RSS ${mb(before)} -> ${mb(after)}`)
  } finally {
    await mc.stop()
  }

  // memring, in a host process that can time its own GCs
  const host = fork(path.join(path.dirname(fileURLToPath(import.meta.url)), 'memory-host.js'), [String(o.memoryMb)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const next = async <T>(cmd: string): Promise<T> => await new Promise((resolve, reject) => {
    const onMsg = (m: { cmd: string }): void => { if (m.cmd === cmd) { host.off('message', onMsg); host.off('exit', onExit); resolve(m as T) } }
    const onExit = (code: number | null): void => { host.off('message', onMsg); reject(new Error(`memory-host exited (${code})`)) }
    host.on('message', onMsg)
    host.once('exit', onExit)
  })
  let measured: Measured
  try {
    const ready = await next<{ port: number, pid: number }>('ready')
    const before = rssBytes(ready.pid)
    const secs = await load(ready.port, o, progress('memring'))
    const items = await stat(ready.port, 'curr_items')
    const afterNoGc = rssBytes(ready.pid)
    host.send({ cmd: 'measure' })
    measured = await next<Measured>('measured')
    const after = rssBytes(ready.pid)
    rows.push({ server: 'memring', items, rssBefore: before, rssAfter: after, bytesPerItem: (after - before) / items, loadSeconds: secs })
    say(`${tty ? '\r' : ''}  memring: ${items} items in ${secs.toFixed(1)} s, RSS ${mb(before)} -> ${mb(afterNoGc)} (${mb(after)} after full GC)`)
  } finally {
    if (host.exitCode === null) {
      host.send({ cmd: 'stop' })
      const t = setTimeout(() => host.kill('SIGKILL'), 3000)
      await new Promise((resolve) => host.once('exit', resolve))
      clearTimeout(t)
    }
  }

  const mcRow = rows[0]
  const mrRow = rows[1]
  const ratio = mrRow.bytesPerItem / mcRow.bytesPerItem
  const gcMed = median(measured.fullGcMs)
  const result = {
    kind: 'memring-memory-bench',
    at: new Date().toISOString(),
    gitSha: gitSha(repoRoot),
    machine: machineInfo(),
    params: o,
    rows,
    ratio,
    memring: measured,
    goals: { bytesPerItemRatio: { goal: 1.10, met: ratio <= 1.10 }, fullGcMs: { goal: 10, median: gcMed, met: gcMed < 10 } },
  }
  const table = [
    '| server | items | RSS before | RSS after | RSS growth per item | load time |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map((r) => `| ${r.server} | ${r.items} | ${mb(r.rssBefore)} | ${mb(r.rssAfter)} | ${r.bytesPerItem.toFixed(1)} B | ${r.loadSeconds.toFixed(1)} s |`),
    '',
    `memring/memcached bytes per item: **${ratio.toFixed(2)}** (goal <= 1.10: ${ratio <= 1.10 ? 'met' : 'NOT met'})`,
    `memring full GC with ${mrRow.items} items resident: median **${gcMed.toFixed(1)} ms**, min ${Math.min(...measured.fullGcMs).toFixed(1)} ms (runs: ${measured.fullGcMs.map((x) => x.toFixed(1)).join(', ')} ms; wall time, so a busy machine inflates it; goal < 10 ms: ${gcMed < 10 ? 'met'
      : 'NOT met'}); heap used ${mb(measured.heapUsedAfterGc)}, external ${mb(measured.externalAfterGc)}; ` +
      `during the load V8 ran ${measured.gcCount} GCs, longest ${measured.gcMaxMs.toFixed(1)} ms`,
  ].join('\n')
  say('\n' + table)
  fs.mkdirSync(o.out, { recursive: true })
  fs.writeFileSync(path.join(o.out, 'memory.json'), JSON.stringify(result, null, 2) + '\n')
  fs.writeFileSync(path.join(o.out, 'memory.md'), table + `\n\nCommand: \`node dist/compat-tests/bench/memory.js ${process.argv.slice(2).join(' ')}\`, git ${result.gitSha}, ${result.at}.\n`)
  say(`wrote ${path.join(o.out, 'memory.{json,md}')}`)
  if (mcRow.items !== o.items || mrRow.items !== o.items) {
    say(`memory: expected ${o.items} items in each server (memcached ${mcRow.items}, memring ${mrRow.items})`)
    process.exitCode = 1
  }
}

main().catch((err) => {
  process.stderr.write(`memory: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
