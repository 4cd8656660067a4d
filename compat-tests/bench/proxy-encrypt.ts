// compat-tests/bench/proxy-encrypt.ts
/**
 * The cost of memring-proxy --encrypt-values (AES-256-GCM, lib/crypto): ops/s and proxy
 * CPU per request with and without it, at 100 B and 1 KiB values, same run, same backends.
 *
 *   node dist/compat-tests/bench/proxy-encrypt.js [--rounds 3] [--seconds 3] [--json FILE]
 *
 * Backends: two memcached 1.6.18 (-t 1 -m 64) on loopback. memring-proxy `--servers` over
 * them, fresh per measurement, pinned to CPU 0 (2+ CPUs); memaslap (load.ts) on CPU 1:
 * 32 connections, one request in flight each, 90% get / 10% set, 32-byte keys. Rounds
 * alternate plain / encrypted. Reports medians with min-max, proxy CPU us per request,
 * the ratios encrypted / plain, the CPU model and the load average (other work on the
 * machine moves the absolute numbers: compare the ratios).
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { PROFILES, runLoad } from './load.js'
import { cpuMicros, machineInfo } from './proc.js'
import { answersVersion, freePort, startServer } from './servers.js'
import { arg } from './args.js'
import { median } from './report.js'

const PROXY_BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/memring-proxy.js')

const rounds = Number(arg('rounds', '3'))
const seconds = Number(arg('seconds', '3'))
const jsonOut = arg('json', '')
const pin = os.cpus().length >= 2

interface Row { profile: string, mode: string, round: number, opsPerSec: number, cpuUsPerOp: number }

async function measure (list: string, profileId: string, ring: string | null): Promise<{ opsPerSec: number, cpuUsPerOp: number }> {
  const profile = PROFILES.find((p) => p.id === profileId)!
  const port = await freePort()
  const argv = [process.execPath, PROXY_BIN, '-p', String(port), '--servers', list, ...(ring === null ? [] : ['--encrypt-values', ring])]
  const [cmd, ...args] = pin ? ['taskset', '-c', '0', ...argv] : argv
  const p = spawn(cmd!, args, { stdio: 'ignore' })
  const exited = new Promise((resolve) => p.once('exit', resolve))
  try {
    for (let i = 0; i < 200 && !(await answersVersion(port)); i++) await new Promise((resolve) => setTimeout(resolve, 25))
    const load = { port, profile, connections: 32, keyBytes: 32, getRatio: 0.9, cpu: pin ? 1 : null }
    await runLoad({ ...load, seconds: 1 }) // warm-up (fills the keys the gets read)
    const cpu0 = cpuMicros(p.pid!)
    const res = await runLoad({ ...load, seconds })
    return { opsPerSec: Math.round(res.opsPerSec), cpuUsPerOp: +((cpuMicros(p.pid!) - cpu0) / res.ops).toFixed(2) }
  } finally {
    p.kill('SIGKILL')
    await exited
  }
}

async function main (): Promise<void> {
  const backends = [
    await startServer({ kind: 'memcached', cpu: null, memoryMb: 64, threads: 1 }),
    await startServer({ kind: 'memcached', cpu: null, memoryMb: 64, threads: 1 }),
  ]
  const list = backends.map((b) => `127.0.0.1:${b.port}`).join(',')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-encrypt-bench-'))
  const ring = path.join(dir, 'ring')
  fs.writeFileSync(ring, `1 ${randomBytes(32).toString('hex')}\n`, { mode: 0o600 })
  const rows: Row[] = []
  try {
    for (const profile of ['text100', 'text1k']) {
      for (let r = 0; r < rounds; r++) {
        for (const mode of r % 2 === 0 ? ['plain', 'encrypted'] : ['encrypted', 'plain']) {
          const m = await measure(list, profile, mode === 'plain' ? null : ring)
          rows.push({ profile, mode, round: r, ...m })
          process.stderr.write(`${profile} round ${r} ${mode}: ${m.opsPerSec} ops/s, ${m.cpuUsPerOp} us CPU/op\n`)
        }
      }
    }
  } finally {
    for (const b of backends) await b.stop(false)
    fs.rmSync(dir, { recursive: true, force: true })
  }
  const info = machineInfo()
  const lines = ['| values | mode | ops/s median (min-max) | proxy CPU us/op median (min-max) |', '| --- | --- | --- | --- |']
  const ratios: string[] = []
  for (const profile of ['text100', 'text1k']) {
    const of = (mode: string): Row[] => rows.filter((x) => x.profile === profile && x.mode === mode)
    for (const mode of ['plain', 'encrypted']) {
      const rs = of(mode)
      const ops = rs.map((x) => x.opsPerSec)
      const cpu = rs.map((x) => x.cpuUsPerOp)
      lines.push(`| ${profile === 'text100' ? '100 B' : '1 KiB'} | ${mode} | ${median(ops)} (${Math.min(...ops)}-${Math.max(...ops)}) | ${median(cpu)} (${Math.min(...cpu)}-${Math.max(...cpu)}) |`)
    }
    const opsRatio = median(of('encrypted').map((x) => x.opsPerSec)) / median(of('plain').map((x) => x.opsPerSec))
    const cpuRatio = median(of('encrypted').map((x) => x.cpuUsPerOp)) / median(of('plain').map((x) => x.cpuUsPerOp))
    ratios.push(`${profile === 'text100' ? '100 B' : '1 KiB'}: encrypted/plain ops/s ${opsRatio.toFixed(2)}, CPU per request ${cpuRatio.toFixed(2)}`)
  }
  lines.push('', ...ratios, `${rounds} rounds x ${seconds} s per mode; ${info.cpuModel}, ${info.cpus} CPUs, load average ${info.loadAvg.join(' ')}, node ${info.node}`)
  process.stdout.write(lines.join('\n') + '\n')
  if (jsonOut !== '') fs.writeFileSync(jsonOut, JSON.stringify({ rows, machine: info }, null, 2))
  process.exit(0)
}

main().catch((err) => { process.stderr.write(String(err?.stack ?? err) + '\n'); process.exit(1) })
