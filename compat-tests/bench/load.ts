// The load generator: memaslap ("memcaslap" in Debian's libmemcached-tools), one thread
// pinned to its own CPU, N connections each with one request in flight, a get:set mix over
// fixed-size keys and values. This file builds its config and parses what it prints.

import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export const MEMASLAP = process.env.MEMASLAP_BIN ?? 'memcaslap'

export interface Profile {
  /** Short id used on the command line and in the JSON. */
  readonly id: string
  readonly title: string
  readonly valueBytes: number
  readonly binary: boolean
  /** Keys per get request (memaslap --division); 1 = single-key gets. */
  readonly keysPerGet: number
  /** Goal for the ratio memring/memcached of median ops/s (issue 6). */
  readonly goalRatio: number
}

export const PROFILES: readonly Profile[] = [
  { id: 'text100', title: 'text, 100 B values', valueBytes: 100, binary: false, keysPerGet: 1, goalRatio: 0.65 },
  { id: 'binary100', title: 'binary, 100 B values', valueBytes: 100, binary: true, keysPerGet: 1, goalRatio: 0.70 },
  { id: 'text1k', title: 'text, 1 KiB values', valueBytes: 1024, binary: false, keysPerGet: 1, goalRatio: 0.70 },
  { id: 'multiget10', title: 'text, 10-key multiget, 100 B', valueBytes: 100, binary: false, keysPerGet: 10, goalRatio: 1.00 },
]

export interface LoadOptions {
  port: number
  profile: Profile
  seconds: number
  connections: number
  keyBytes: number
  /** Fraction of gets (the rest are sets). */
  getRatio: number
  /** CPU to pin memaslap to, or null. */
  cpu: number | null
}

export interface Latency {
  minUs: number
  maxUs: number
  avgUs: number
  /** Percentiles interpolated inside memaslap's power-of-two buckets (see percentile()). */
  p50Us: number
  p99Us: number
  /** memaslap's bucket counts: index r counts latencies in (2^(r-1), 2^r] microseconds. */
  log2: number[]
}

export interface LoadResult {
  /** Operations memaslap completed (a multiget counts one per key). */
  ops: number
  seconds: number
  opsPerSec: number
  getMisses: number
  latency: Latency
}

/** memaslap's configuration file: key and value size distributions and the command mix. */
export function memaslapConfig (o: Pick<LoadOptions, 'keyBytes' | 'getRatio'> & { valueBytes: number }): string {
  const set = Math.round((1 - o.getRatio) * 100) / 100
  const get = Math.round(o.getRatio * 100) / 100
  return [
    'key', `${o.keyBytes} ${o.keyBytes} 1`,
    'value', `${o.valueBytes} ${o.valueBytes} 1`,
    'cmd', `0 ${set}`, `1 ${get}`, '',
  ].join('\n')
}

export function memaslapArgs (o: LoadOptions, cfgFile: string): string[] {
  const args = [
    '-s', `127.0.0.1:${o.port}`, '-F', cfgFile, '-T', '1', '-c', String(o.connections),
    '-t', `${o.seconds}s`, '-S', `${o.seconds}s`,
  ]
  if (o.profile.binary) args.push('-B')
  if (o.profile.keysPerGet > 1) args.push('-d', String(o.profile.keysPerGet))
  return o.cpu === null ? args : ['-c', String(o.cpu), MEMASLAP, ...args]
}

/**
 * The q-quantile (0..1) of a memaslap log2 histogram. Bucket r holds latencies in
 * (2^(r-1), 2^r] us; inside the bucket we interpolate geometrically, so the answer is exact
 * only to within that factor of two. Clamped to the observed [min, max].
 */
export function percentile (log2: readonly number[], q: number, minUs: number, maxUs: number): number {
  let total = 0
  for (const c of log2) total += c
  if (total === 0) return 0
  const target = q * total
  let cum = 0
  for (let r = 0; r < log2.length; r++) {
    const c = log2[r]
    if (c === 0) continue
    if (cum + c >= target) {
      const f = (target - cum) / c
      const lo = r === 0 ? 0 : Math.max(2 ** (r - 1), minUs)
      const hi = Math.min(2 ** r, maxUs)
      const v = lo <= 0 ? hi * f : lo * (hi / lo) ** f
      return Math.min(Math.max(v, minUs), maxUs)
    }
    cum += c
  }
  return maxUs
}

/** Parses memaslap's final report (printed when -S is set). Throws if it is not there. */
export function parseMemaslap (text: string): LoadResult {
  const end = /Run time: ([\d.]+)s Ops: (\d+) TPS: (\d+)/.exec(text)
  if (end === null) throw new Error('memaslap printed no "Run time" line')
  const block = /Total Statistics \((\d+) events\)\n([\s\S]*?)\n\n/.exec(text)
  if (block === null) throw new Error('memaslap printed no "Total Statistics (N events)" block')
  const field = (name: string): number => {
    const m = new RegExp(`^\\s*${name}:\\s+([\\d.]+)`, 'm').exec(block[2])
    return m === null ? 0 : Number(m[1])
  }
  const log2: number[] = []
  for (const m of block[2].matchAll(/^ +(\d+):((?: +\d+)+) *$/gm)) {
    const first = Number(m[1])
    m[2].trim().split(/\s+/).forEach((c, i) => { log2[first + i] = Number(c) })
  }
  for (let i = 0; i < log2.length; i++) log2[i] ??= 0
  const minUs = field('Min')
  const maxUs = field('Max')
  const misses = /^get_misses: (\d+)/m.exec(text)
  const seconds = Number(end[1])
  const ops = Number(end[2])
  return {
    ops,
    seconds,
    opsPerSec: seconds > 0 ? ops / seconds : 0,
    getMisses: misses === null ? 0 : Number(misses[1]),
    latency: {
      minUs,
      maxUs,
      avgUs: field('Avg'),
      p50Us: percentile(log2, 0.5, minUs, maxUs),
      p99Us: percentile(log2, 0.99, minUs, maxUs),
      log2,
    },
  }
}

/** Runs memaslap once; rejects when it fails, hangs past its time, or prints no report. */
export async function runLoad (o: LoadOptions): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'memring-bench-'))
  const cfg = path.join(dir, 'memaslap.cfg')
  fs.writeFileSync(cfg, memaslapConfig({ keyBytes: o.keyBytes, getRatio: o.getRatio, valueBytes: o.profile.valueBytes }))
  try {
    const args = memaslapArgs(o, cfg)
    const cmd = o.cpu === null ? MEMASLAP : 'taskset'
    const text = await new Promise<string>((resolve, reject) => {
      const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      p.stdout.on('data', (c: Buffer) => { out += c.toString() })
      p.stderr.on('data', (c: Buffer) => { out += c.toString() })
      const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`memaslap still running ${o.seconds + 30} s after a ${o.seconds} s run`)) }, (o.seconds + 30) * 1000)
      p.on('error', (err) => { clearTimeout(timer); reject(err) })
      p.on('close', (code) => {
        clearTimeout(timer)
        if (code !== 0) reject(new Error(`memaslap exited with ${code}: ${out.trim().slice(-300)}`))
        else resolve(out)
      })
    })
    return parseMemaslap(text)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
