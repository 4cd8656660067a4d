// compat-tests/bench/proxy.ts
/**
 * memring-proxy against twemproxy (Debian `nutcracker`), same run, same backends.
 *
 *   node dist/compat-tests/bench/proxy.js [--rounds 3] [--seconds 5] [--json FILE]
 *
 * Backends: three memcached 1.6.18 (-t 1 -m 64) on loopback, shared by both proxies.
 * twemproxy: `distribution: ketama`, `hash: md5` over the same three servers;
 * memring-proxy: `--servers` over the same list (libmemcached ketama placement).
 * Load: memaslap (compat-tests/bench/load.ts), 32 connections, one request in flight
 * each, 90% get / 10% set, 32-byte keys, 100-byte values. With 2+ CPUs the proxy under
 * test is pinned to CPU 0 and memaslap to CPU 1; the backends float.
 * Rounds alternate twemproxy / memring-proxy; the report gives medians, the spread,
 * proxy CPU per op, and the round trip a proxy adds (sequential gets on one
 * connection: through the proxy minus straight to a backend, p50).
 * Numbers depend on what else the machine does: compare ratios from one run.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { PROFILES, runLoad, type LoadResult } from './load.js'
import { cpuMicros } from './proc.js'
import { freePort } from './servers.js'
import { arg } from './args.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const PROXY_BIN = path.resolve(HERE, '../../bin/memring-proxy.js')

const rounds = Number(arg('rounds', '3'))
const seconds = Number(arg('seconds', '5'))
const jsonOut = arg('json', '')
const pin = os.cpus().length >= 2

const procs: ChildProcess[] = []
process.on('exit', () => { for (const p of procs) { try { p.kill('SIGKILL') } catch {} } })

function start (cmd: string, args: string[], cpu: number | null): ChildProcess {
  const p = cpu === null ? spawn(cmd, args, { stdio: 'ignore' }) : spawn('taskset', ['-c', String(cpu), cmd, ...args], { stdio: 'ignore' })
  procs.push(p)
  return p
}

async function waitPort (port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => { s.destroy(); resolve(true) })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`nothing listening on ${port}`)
}

/** p50 of `n` sequential `get` round trips on one connection, in microseconds. */
async function roundTripUs (port: number, n = 3000): Promise<number> {
  const s = net.connect(port, '127.0.0.1')
  await new Promise((resolve) => s.once('connect', resolve))
  s.setNoDelay(true)
  const times: number[] = []
  let pending: (() => void) | null = null
  let buf = ''
  s.on('data', (d: Buffer) => { buf += d.toString('latin1'); if (buf.endsWith('END\r\n')) { buf = ''; pending?.() } })
  s.write('set rtt 0 0 100\r\n' + 'x'.repeat(100) + '\r\n')
  await new Promise((resolve) => s.once('data', resolve))
  buf = ''
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint()
    await new Promise<void>((resolve) => { pending = resolve; s.write('get rtt\r\n') })
    times.push(Number(process.hrtime.bigint() - t0) / 1000)
  }
  s.destroy()
  times.sort((a, b) => a - b)
  return times[Math.floor(times.length / 2)]!
}

interface Row { target: string, round: number, opsPerSec: number, cpuUsPerOp: number, p50Us: number, p99Us: number }

async function main (): Promise<void> {
  const profile = PROFILES.find((p) => p.id === 'text100')!
  const backends: number[] = []
  for (let i = 0; i < 3; i++) {
    const port = await freePort()
    start('memcached', ['-u', 'root', '-l', '127.0.0.1', '-p', String(port), '-U', '0', '-m', '64', '-t', '1'], null)
    backends.push(port)
  }
  for (const p of backends) await waitPort(p)

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-proxy-bench-'))
  const twemPort = await freePort()
  const conf = path.join(dir, 'nutcracker.yml')
  fs.writeFileSync(conf, [
    'pool:', `  listen: 127.0.0.1:${twemPort}`, '  hash: md5', '  distribution: ketama', '  timeout: 1000',
    '  auto_eject_hosts: false', '  servers:', ...backends.map((p) => `   - 127.0.0.1:${p}:1`), '',
  ].join('\n'))
  const memPort = await freePort()
  const statsPort = await freePort()
  const list = backends.map((p) => `127.0.0.1:${p}`).join(',')
  const targets: Record<string, { port: number, proc: () => ChildProcess }> = {
    twemproxy: { port: twemPort, proc: () => start('nutcracker', ['-c', conf, '-o', path.join(dir, 'nutcracker.log'), '-s', String(statsPort), '-a', '127.0.0.1'], pin ? 0 : null) },
    'memring-proxy': { port: memPort, proc: () => start(process.execPath, [PROXY_BIN, '-p', String(memPort), '--servers', list], pin ? 0 : null) },
  }
  const rows: Row[] = []
  const rtt: Record<string, number> = { direct: await roundTripUs(backends[0]!) }
  for (let r = 0; r < rounds; r++) {
    for (const name of r % 2 === 0 ? ['twemproxy', 'memring-proxy'] : ['memring-proxy', 'twemproxy']) {
      const tgt = targets[name]!
      const p = tgt.proc()
      await waitPort(tgt.port)
      await runLoad({ port: tgt.port, profile, seconds: 2, connections: 32, keyBytes: 32, getRatio: 0.9, cpu: pin ? 1 : null }) // warm-up
      const cpu0 = cpuMicros(p.pid!)
      const res: LoadResult = await runLoad({ port: tgt.port, profile, seconds, connections: 32, keyBytes: 32, getRatio: 0.9, cpu: pin ? 1 : null })
      const cpu = cpuMicros(p.pid!) - cpu0
      if (r === 0) rtt[name] = await roundTripUs(tgt.port)
      rows.push({ target: name, round: r, opsPerSec: Math.round(res.opsPerSec), cpuUsPerOp: +(cpu / res.ops).toFixed(2), p50Us: Math.round(res.latency.p50Us), p99Us: Math.round(res.latency.p99Us) })
      process.stderr.write(`round ${r} ${name}: ${Math.round(res.opsPerSec)} ops/s, ${(cpu / res.ops).toFixed(2)} us CPU/op\n`)
      p.kill('SIGTERM')
      await new Promise((resolve) => p.once('exit', resolve))
    }
  }
  const med = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]! }
  const summary = (name: string) => {
    const rs = rows.filter((x) => x.target === name)
    return { median: med(rs.map((x) => x.opsPerSec)), min: Math.min(...rs.map((x) => x.opsPerSec)), max: Math.max(...rs.map((x) => x.opsPerSec)), cpuUsPerOp: med(rs.map((x) => x.cpuUsPerOp)), p50Us: med(rs.map((x) => x.p50Us)), p99Us: med(rs.map((x) => x.p99Us)) }
  }
  const tw = summary('twemproxy')
  const mr = summary('memring-proxy')
  const lines = [
    `| target | ops/s median (min-max) | proxy CPU us/op | p50 / p99 us (memaslap) | added RTT p50 us |`,
    '| --- | --- | --- | --- | --- |',
    `| twemproxy 0.5.0 | ${tw.median} (${tw.min}-${tw.max}) | ${tw.cpuUsPerOp} | ${tw.p50Us} / ${tw.p99Us} | ${(rtt.twemproxy! - rtt.direct!).toFixed(1)} |`,
    `| memring-proxy | ${mr.median} (${mr.min}-${mr.max}) | ${mr.cpuUsPerOp} | ${mr.p50Us} / ${mr.p99Us} | ${(rtt['memring-proxy']! - rtt.direct!).toFixed(1)} |`,
    '',
    `memring-proxy / twemproxy ops/s: ${(mr.median / tw.median).toFixed(2)} (median of ${rounds} rounds, ${seconds} s each; direct get RTT p50 ${rtt.direct!.toFixed(1)} us)`,
  ]
  process.stdout.write(lines.join('\n') + '\n')
  if (jsonOut !== '') fs.writeFileSync(jsonOut, JSON.stringify({ rows, rtt, twemproxy: tw, memringProxy: mr, cpus: os.cpus().length }, null, 2))
  fs.rmSync(dir, { recursive: true, force: true })
  process.exit(0)
}

main().catch((err) => { process.stderr.write(String(err?.stack ?? err) + '\n'); process.exit(1) })
