// Turns benchmark rows into a summary (min/median/max per profile and target, paired
// ratios), a markdown table and an SVG chart. Pure functions: no I/O here.

import type { Profile } from './load.js'
import type { MachineInfo } from './proc.js'
import type { ServerKind } from './servers.js'

export interface RunRow {
  profile: string
  target: ServerKind
  /** 0-based round; within a round memring and memcached ran back to back. */
  round: number
  ok: boolean
  error?: string
  opsPerSec: number
  ops: number
  seconds: number
  /** Server CPU (user + system, all threads) per operation, microseconds. */
  cpuUsPerOp: number
  /** The system (kernel) part of cpuUsPerOp. */
  sysUsPerOp: number
  /**
   * read()/write()-family system calls of the server per operation (/proc/<pid>/io syscr +
   * syscw). sendmsg/recvmsg are not counted there, so compare servers that use the same
   * calls only (memring with memring); memcached's replies (sendmsg) do not show.
   */
  syscallsPerOp: number
  p50Us: number
  p99Us: number
  avgUs: number
  maxUs: number
  getMisses: number
  loadAvg1: number
}

export interface TargetSummary {
  runs: number
  opsMin: number
  opsMedian: number
  opsMax: number
  cpuUsPerOp: number
  sysUsPerOp: number
  syscallsPerOp: number
  p50Us: number
  p99Us: number
}

export interface Spread { median: number, min: number, max: number, n: number }

export interface ProfileSummary {
  profile: string
  title: string
  goalRatio: number
  /** Why the profile could not run on memring (e.g. binary protocol not served yet). */
  unavailable: string | null
  memcached: TargetSummary | null
  memring: TargetSummary | null
  /** memring/memcached ops/s over the rounds where both ran (interleaved pairs). */
  ratio: Spread | null
  /** memring p99 / memcached p99, same pairing. */
  p99Ratio: Spread | null
  /** memring CPU us/op / memcached CPU us/op, same pairing. */
  cpuRatio: Spread | null
  /** Node's I/O ceiling (ceiling-server.ts), when it ran. */
  ceiling?: TargetSummary | null
  /** ceiling/memcached ops/s: the best a Node server can do here, same pairing. */
  ceilingRatio?: Spread | null
  /** memring/ceiling ops/s: how much of that memring reaches, same pairing. */
  ofCeiling?: Spread | null
  /** memring CPU us/op / ceiling CPU us/op: memring's own work on top of Node's I/O. */
  cpuOfCeiling?: Spread | null
}

export interface BenchReport {
  kind: 'memring-bench'
  startedAt: string
  finishedAt: string
  command: string
  gitSha: string
  machine: MachineInfo
  pinned: boolean
  params: { seconds: number, warmupSeconds: number, rounds: number, connections: number, keyBytes: number, getRatio: number, memoryMb: number, memcachedThreads: number }
  summaries: ProfileSummary[]
  runs: RunRow[]
}

export function median (xs: readonly number[]): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2
}

function spread (xs: number[]): Spread | null {
  if (xs.length === 0) return null
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length }
}

function targetSummary (rows: RunRow[]): TargetSummary | null {
  if (rows.length === 0) return null
  const ops = rows.map((r) => r.opsPerSec)
  return {
    runs: rows.length,
    opsMin: Math.min(...ops),
    opsMedian: median(ops),
    opsMax: Math.max(...ops),
    cpuUsPerOp: median(rows.map((r) => r.cpuUsPerOp)),
    sysUsPerOp: median(rows.map((r) => r.sysUsPerOp ?? NaN)),
    syscallsPerOp: median(rows.map((r) => r.syscallsPerOp ?? NaN)),
    p50Us: median(rows.map((r) => r.p50Us)),
    p99Us: median(rows.map((r) => r.p99Us)),
  }
}

export function summarize (profiles: readonly Profile[], runs: readonly RunRow[], unavailable: ReadonlyMap<string, string>): ProfileSummary[] {
  return profiles.map((p) => {
    const ok = runs.filter((r) => r.profile === p.id && r.ok)
    const of = (t: ServerKind): RunRow[] => ok.filter((r) => r.target === t)
    const pairs = (f: (r: RunRow) => number, num: ServerKind = 'memring', den: ServerKind = 'memcached'): number[] => {
      const out: number[] = []
      for (const a of of(num)) {
        const b = of(den).find((x) => x.round === a.round)
        if (b !== undefined && f(b) > 0) out.push(f(a) / f(b))
      }
      return out
    }
    return {
      profile: p.id,
      title: p.title,
      goalRatio: p.goalRatio,
      unavailable: unavailable.get(p.id) ?? null,
      memcached: targetSummary(of('memcached')),
      memring: targetSummary(of('memring')),
      ratio: spread(pairs((r) => r.opsPerSec)),
      p99Ratio: spread(pairs((r) => r.p99Us)),
      cpuRatio: spread(pairs((r) => r.cpuUsPerOp)),
      ceiling: targetSummary(of('ceiling')),
      ceilingRatio: spread(pairs((r) => r.opsPerSec, 'ceiling', 'memcached')),
      ofCeiling: spread(pairs((r) => r.opsPerSec, 'memring', 'ceiling')),
      cpuOfCeiling: spread(pairs((r) => r.cpuUsPerOp, 'memring', 'ceiling')),
    }
  })
}

const k = (x: number): string => Number.isFinite(x) ? `${(x / 1000).toFixed(1)}k` : '-'
const us = (x: number): string => !Number.isFinite(x) ? '-' : x >= 1000 ? `${(x / 1000).toFixed(2)} ms` : `${Math.round(x)} us`
const r2 = (x: number): string => x.toFixed(2)
const fix = (x: number, d: number): string => Number.isFinite(x) ? x.toFixed(d) : '-'

/** The results table in markdown, one row per profile and target, plus the goal checks. */
export function markdownTable (rep: BenchReport): string {
  const lines = [
    '| profile | server | runs | ops/s min | ops/s median | ops/s max | memring/memcached (goal) | server CPU us/op (of which kernel) | p50 | p99 |',
    '|---|---|---:|---:|---:|---:|---|---:|---:|---:|',
  ]
  for (const s of rep.summaries) {
    for (const t of ['memcached', 'memring', 'ceiling'] as const) {
      const x = s[t] ?? null
      if (t === 'ceiling' && x === null) continue
      let ratio = ''
      if (t === 'ceiling' && s.ceilingRatio != null) ratio = `ceiling/memcached ${r2(s.ceilingRatio.median)} (${r2(s.ceilingRatio.min)}-${r2(s.ceilingRatio.max)})`
      if (t === 'memring') {
        const failed = rep.runs.find((r) => r.profile === s.profile && r.target === 'memring' && !r.ok)
        ratio = s.unavailable !== null
          ? `unavailable: ${s.unavailable}`
          : s.ratio === null
            ? failed?.error !== undefined ? `every run failed: ${failed.error.replace(/\|/g, '/').slice(0, 120)}` : '-'
            : `**${r2(s.ratio.median)}** (${r2(s.ratio.min)}-${r2(s.ratio.max)}) (>= ${r2(s.goalRatio)} ${s.ratio.median >= s.goalRatio ? 'met' : 'NOT met'})`
      }
      if (x === null) {
        lines.push(`| ${s.title} | ${t} | 0 | - | - | - | ${ratio} | - | - | - |`)
        continue
      }
      lines.push(`| ${s.title} | ${t} | ${x.runs} | ${k(x.opsMin)} | ${k(x.opsMedian)} | ${k(x.opsMax)} | ${ratio} | ${x.cpuUsPerOp.toFixed(1)} (${fix(x.sysUsPerOp, 1)}) | ${us(x.p50Us)} | ${us(x.p99Us)} |`)
    }
  }
  lines.push('')
  lines.push('| profile | p99 memring/memcached (goal <= 2.00) | CPU us/op memring/memcached | memring/ceiling ops/s | CPU us/op memring/ceiling |')
  lines.push('|---|---|---|---|---|')
  for (const s of rep.summaries) {
    const p = s.p99Ratio === null ? '-' : `${r2(s.p99Ratio.median)} (${r2(s.p99Ratio.min)}-${r2(s.p99Ratio.max)}) ${s.p99Ratio.median <= 2 ? 'met' : 'NOT met'}`
    const c = s.cpuRatio === null ? '-' : `${r2(s.cpuRatio.median)} (${r2(s.cpuRatio.min)}-${r2(s.cpuRatio.max)})`
    const o = s.ofCeiling == null ? '-' : `${r2(s.ofCeiling.median)} (${r2(s.ofCeiling.min)}-${r2(s.ofCeiling.max)})`
    const oc = s.cpuOfCeiling == null ? '-' : `${r2(s.cpuOfCeiling.median)} (${r2(s.cpuOfCeiling.min)}-${r2(s.cpuOfCeiling.max)})`
    lines.push(`| ${s.title} | ${p} | ${c} | ${o} | ${oc} |`)
  }
  lines.push('')
  lines.push('"ceiling" is a Node server that stores nothing and answers every get with a fixed-size value over the same socket API (compat-tests/bench/ceiling-server.ts): the most any Node server can do here.')
  return lines.join('\n')
}

function esc (s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/**
 * Two bar charts side by side: median ops/s with min-max whiskers (ratio written above
 * memring's bar), and server CPU microseconds per operation.
 */
export function svgChart (rep: BenchReport): string {
  const W = 960
  const H = 440
  const top = 70
  const bottom = 360
  const colors = { memcached: '#8c8c8c', memring: '#2b7bb9', ceiling: '#e0a030' } as const
  const kinds = rep.summaries.some((s) => s.ceiling != null) ? (['memcached', 'memring', 'ceiling'] as const) : (['memcached', 'memring'] as const)
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">memring vs memcached (${esc(rep.machine.memcached)}), ${rep.params.connections} connections, ${Math.round(rep.params.getRatio * 100)}% get</text>`,
    `<text x="${W / 2}" y="40" text-anchor="middle" fill="#555">${esc(`${rep.machine.cpus} x ${rep.machine.cpuModel}, Node ${rep.machine.node}, ${rep.params.rounds} interleaved rounds of ${rep.params.seconds} s, git ${rep.gitSha}, ${rep.startedAt.slice(0, 16)}Z, load average ${rep.machine.loadAvg[0]} at start`)}</text>`,
  ]
  const panel = (x0: number, width: number, title: string, value: (t: TargetSummary) => number, whisk: ((t: TargetSummary) => [number, number]) | null, label: (v: number) => string, ratio: (s: ProfileSummary) => string, name: (s: ProfileSummary) => string): void => {
    const sums = rep.summaries
    let max = 0
    for (const s of sums) {
      for (const t of kinds.map((k) => s[k] ?? null)) {
        if (t !== null) max = Math.max(max, whisk === null ? value(t) : whisk(t)[1])
      }
    }
    if (max <= 0) max = 1
    const y = (v: number): number => bottom - (v / max) * (bottom - top - 20)
    out.push(`<text x="${x0 + width / 2}" y="${top - 10}" text-anchor="middle" font-weight="bold">${esc(title)}</text>`)
    for (let g = 1; g <= 4; g++) {
      const v = (max * g) / 4
      out.push(`<line x1="${x0}" y1="${y(v)}" x2="${x0 + width}" y2="${y(v)}" stroke="#e4e4e4"/><text x="${x0 + 2}" y="${y(v) - 2}" font-size="9" fill="#999">${label(v)}</text>`)
    }
    out.push(`<line x1="${x0}" y1="${bottom}" x2="${x0 + width}" y2="${bottom}" stroke="#333"/>`)
    const group = width / Math.max(1, sums.length)
    const bw = Math.min(34, group / (kinds.length + 1))
    sums.forEach((s, i) => {
      const gx = x0 + i * group + group / 2
      kinds.forEach((t, j) => {
        const ts = s[t] ?? null
        const bx = gx + (j - kinds.length / 2) * (bw + 2)
        if (ts === null) {
          out.push(`<text x="${bx + bw / 2}" y="${bottom - 6}" text-anchor="middle" font-size="10" fill="#a00">n/a</text>`)
          return
        }
        const v = value(ts)
        out.push(`<rect x="${bx}" y="${y(v)}" width="${bw}" height="${bottom - y(v)}" fill="${colors[t]}"><title>${t} ${esc(s.title)}: ${label(v)}</title></rect>`)
        if (whisk !== null) {
          const [lo, hi] = whisk(ts)
          const cx = bx + bw / 2
          out.push(`<line x1="${cx}" y1="${y(lo)}" x2="${cx}" y2="${y(hi)}" stroke="#000"/>`)
          out.push(`<line x1="${cx - 5}" y1="${y(lo)}" x2="${cx + 5}" y2="${y(lo)}" stroke="#000"/><line x1="${cx - 5}" y1="${y(hi)}" x2="${cx + 5}" y2="${y(hi)}" stroke="#000"/>`)
        }
        out.push(`<text x="${bx + bw / 2}" y="${bottom - 4}" text-anchor="middle" font-size="9" fill="#fff">${label(v)}</text>`)
      })
      const r = ratio(s)
      if (r !== '') out.push(`<text x="${gx}" y="${top + 4}" text-anchor="middle" font-weight="bold" fill="#2b7bb9">${esc(r)}</text>`)
      out.push(`<text x="${gx}" y="${bottom + 16}" text-anchor="middle" font-size="11">${esc(name(s))}</text>`)
    })
  }
  panel(30, 560, 'ops/s (median, whiskers min-max; label: memring/memcached)', (t) => t.opsMedian, (t) => [t.opsMin, t.opsMax], (v) => `${Math.round(v / 1000)}k`,
    (s) => s.unavailable !== null ? 'memring: n/a' : s.ratio === null ? '' : `${s.ratio.median.toFixed(2)}x`, (s) => s.title)
  panel(630, 310, 'server CPU us per op (lower is better)', (t) => t.cpuUsPerOp, null, (v) => v.toFixed(1),
    (s) => s.cpuRatio === null ? '' : `${s.cpuRatio.median.toFixed(2)}x`, (s) => s.profile)
  out.push(`<rect x="40" y="${H - 40}" width="12" height="12" fill="${colors.memcached}"/><text x="58" y="${H - 30}">memcached -t ${rep.params.memcachedThreads}</text>`)
  out.push(`<rect x="200" y="${H - 40}" width="12" height="12" fill="${colors.memring}"/><text x="218" y="${H - 30}">memring</text>`)
  if (kinds.length === 3) out.push(`<rect x="300" y="${H - 40}" width="12" height="12" fill="${colors.ceiling}"/><text x="318" y="${H - 30}">Node ceiling (stores nothing)</text>`)
  out.push(`<text x="${kinds.length === 3 ? 520 : 330}" y="${H - 30}" fill="#555">${esc(rep.pinned ? 'server on CPU 0, memaslap on CPU 1 (taskset)' : 'not pinned (fewer than 2 CPUs)')}</text>`)
  out.push('</svg>')
  return out.join('\n') + '\n'
}
