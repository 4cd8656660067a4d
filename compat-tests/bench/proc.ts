// What Linux says about a process and the machine: CPU time and RSS from /proc, CPU model,
// clock ticks. The benchmarks read these around each measured interval.

import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'

let clkTck = 0

/** Clock ticks per second used by /proc/<pid>/stat (almost always 100). */
export function clockTicks (): number {
  if (clkTck === 0) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
    } catch {
      clkTck = 100
    }
  }
  return clkTck
}

export interface ProcSample {
  /** User and system CPU time of the process (all its threads), microseconds. */
  userUs: number
  sysUs: number
  /** read-like and write-like system calls so far (/proc/<pid>/io syscr, syscw). */
  readCalls: number
  writeCalls: number
}

/** CPU time and I/O system call counts of a process, for before/after differences. */
export function sample (pid: number): ProcSample {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1')
  // The command name (field 2) may hold spaces; fields after it start past the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const tick = 1e6 / clockTicks()
  const io = fs.readFileSync(`/proc/${pid}/io`, 'latin1')
  const field = (name: string): number => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? NaN)
  return {
    userUs: Number(rest[14 - 3]) * tick,
    sysUs: Number(rest[15 - 3]) * tick,
    readCalls: field('syscr'),
    writeCalls: field('syscw'),
  }
}

/** User + system CPU time of a process (all its threads) in microseconds. */
export function cpuMicros (pid: number): number {
  const s = sample(pid)
  return s.userUs + s.sysUs
}

function statusKb (pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'latin1')
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)
  if (m === null) throw new Error(`no ${field} for pid ${pid}`)
  return Number(m[1]) * 1024
}

/** Resident set size of a process in bytes (VmRSS). */
export function rssBytes (pid: number): number { return statusKb(pid, 'VmRSS') }

/** Peak resident set size of a process in bytes (VmHWM: the kernel's high-water mark of VmRSS). */
export function peakRssBytes (pid: number): number { return statusKb(pid, 'VmHWM') }

export interface MachineInfo {
  cpuModel: string
  cpus: number
  memTotalMb: number
  kernel: string
  node: string
  memcached: string
  loadAvg: number[]
}

export function machineInfo (): MachineInfo {
  let memcached = 'not installed'
  try {
    memcached = execFileSync('memcached', ['-V'], { encoding: 'utf8' }).trim()
  } catch {}
  return {
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    cpus: os.cpus().length,
    memTotalMb: Math.round(os.totalmem() / 1048576),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    memcached,
    loadAvg: os.loadavg().map((x) => Math.round(x * 100) / 100),
  }
}

/** The checked-out commit, or 'unknown' outside a git work tree. */
export function gitSha (cwd: string): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
    return dirty === '' ? sha : `${sha}+dirty`
  } catch {
    return 'unknown'
  }
}
