// compat-tests/chaos/report.ts
/**
 * The checker's outputs: the goal table (markdown, to stdout and chaos.md), and an SVG
 * timeline per run of ops/s and errors/s through the proxy with every fault marked
 * (shaded from injection to settled; a red edge when it never settled).
 */
import { FAULTS, type FaultKind, type FaultMeasures, type Op, type Summary } from './analyze.js'

export interface RunReport {
  /** 'N=1', 'N=0', 'default' (flag not passed). */
  label: string
  acks: number | null
  possible: boolean
  whyNot: string
  sessionMs: number
  staticRoles: boolean
  summaries: Summary[]
  faults: FaultMeasures[]
  /** Read errors and lost writes outside the fault windows (before the first fault). */
  baselineReadErrors: number
  baselineErrorKinds: Record<string, number>
  /** What happened while setting up (not judged, but worth knowing). */
  setupNotes: string[]
  /** Lost acknowledged writes found by the final read-back, and keys it could not read. */
  finalLost: number
  finalUnread: number
  finalLostIsGoal: boolean
  startedAt: number
  endedAt: number
  /** Everything not ok: 'ran', the fault rows, or 'run not possible'. */
  missed: string[]
}

const mark = (bad: boolean, s: string): string => bad ? `**${s} ✗**` : s

export function goalTable (r: RunReport): string {
  const head = `### ${r.label}: ${r.acks === null ? 'server default (flag not passed)' : `--min-replicas-to-ack ${r.acks}`}, ` +
    `${r.staticRoles ? 'static roles' : 'election (--role auto)'}, session ${r.sessionMs} ms\n\n`
  if (!r.possible) return head + `Not possible: ${r.whyNot}\n`
  const cols = FAULTS.filter((k) => r.summaries.some((s) => s.kind === k))
  const by = (k: FaultKind): Summary => r.summaries.find((s) => s.kind === k)!
  const lostGoal = r.acks !== null && r.acks >= 1
  const rows: Array<[string, string, (s: Summary) => string]> = [
    ['faults injected / settled (of reps)', 'all', (s) => mark(s.injected < s.reps || s.settled < s.attempts,
      `${s.injected} / ${s.settled} of ${s.reps}${s.attempts > s.reps ? ` (${s.attempts} attempts)` : ''}`)],
    ['read errors seen by clients', '0', (s) => mark(s.readErrors > 0, `${s.readErrors} of ${s.reads}`)],
    ['write unavailability p50 / max, ms', `< ${r.sessionMs + 1000}`, (s) => mark(s.missed.includes('writeUnavailability'), `${s.unavailP50Ms} / ${s.unavailMaxMs}${s.neverRecovered > 0 ? ' (not recovered)' : ''}`)],
    [`acknowledged writes later lost (${r.label})`, lostGoal ? '0' : 'reported', (s) => mark(lostGoal && (s.lostWrites > 0 || s.unreadKeys > 0), `${s.lostWrites}${s.unreadKeys > 0 ? ` (${s.unreadKeys} keys not read back)` : ''}`)],
    ['writes accepted by a fenced master', '0', (s) => mark(s.fencedWrites > 0, `${s.fencedWrites}${s.fencedAmbiguous > 0 ? ` (+${s.fencedAmbiguous} straddling)` : ''}`)],
    ['stale reads after failover', '0', (s) => mark(s.staleReads > 0, String(s.staleReads))],
    ['full syncs on surviving replicas', '0', (s) => mark(s.survivorFullSyncs > 0, String(s.survivorFullSyncs))],
    ['new master seen in ZooKeeper, p50 ms', '-', (s) => s.failoverP50Ms === null ? 'none' : String(s.failoverP50Ms)],
  ]
  let out = head + `| measure | goal | ${cols.join(' | ')} |\n|---|---|${cols.map(() => '---').join('|')}|\n`
  for (const [name, goal, cell] of rows) out += `| ${name} | ${goal} | ${cols.map((k) => cell(by(k))).join(' | ')} |\n`
  out += `\nBefore the first fault: ${mark(r.baselineReadErrors > 0, `${r.baselineReadErrors} read errors`)}; ` +
    `final read-back: ${mark(r.finalLostIsGoal && (r.finalLost > 0 || r.finalUnread > 0), `${r.finalLost} acknowledged writes lost${r.finalUnread > 0 ? `, ${r.finalUnread} keys not read back` : ''}`)}.\n`
  const kinds = (k: Record<string, number>): string => Object.entries(k).map(([what, n]) => `${n} × ${what}`).join('; ')
  const notes = r.faults.filter((f) => f.note !== '' || !f.settled || Object.keys(f.errorKinds).length > 0)
    .map((f) => `- ${f.kind} #${f.rep}: ${f.settled ? '' : 'did not settle. '}${f.note}${f.note !== '' ? '. ' : ''}` +
      `${Object.keys(f.errorKinds).length > 0 ? `Clients saw: ${kinds(f.errorKinds)}` : ''}`)
  for (const n of r.setupNotes) notes.unshift(`- set-up: ${n}`)
  if (Object.keys(r.baselineErrorKinds).length > 0) notes.unshift(`- before the first fault, clients saw: ${kinds(r.baselineErrorKinds)}`)
  if (notes.length > 0) out += '\n' + notes.join('\n') + '\n'
  out += `\n${r.missed.length === 0 ? 'All goals met.' : `Goals missed: ${r.missed.join(', ')}.`}\n`
  return out
}

/** ops/s and errors/s through the proxy in 250 ms buckets, faults shaded. */
export function timelineSvg (r: RunReport, ops: readonly Op[], spans: ReadonlyArray<{ kind: string, rep: number, from: number, to: number, settled: boolean }>): string {
  const W = 1000; const H = 300; const L = 50; const R = 10; const T = 30; const B = 40
  const t0 = r.startedAt
  const t1 = Math.max(r.endedAt, t0 + 1000)
  const bucket = 250
  const n = Math.ceil((t1 - t0) / bucket)
  const ok = new Array<number>(n).fill(0)
  const bad = new Array<number>(n).fill(0)
  for (const o of ops) {
    if (o.via !== 'proxy') continue
    const i = Math.floor((o.e - t0) / bucket)
    if (i < 0 || i >= n) continue
    if (o.result === 'ok') ok[i]++; else bad[i]++
  }
  const perSec = 1000 / bucket
  const ymax = Math.max(10, ...ok.map((x) => x * perSec), ...bad.map((x) => x * perSec))
  const x = (t: number): number => L + (t - t0) / (t1 - t0) * (W - L - R)
  const y = (v: number): number => T + (1 - v / ymax) * (H - T - B)
  const path = (a: number[]): string => a.map((v, i) => `${i === 0 ? 'M' : 'L'}${x(t0 + (i + 0.5) * bucket).toFixed(1)},${y(v * perSec).toFixed(1)}`).join(' ')
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">\n`
  svg += `<rect width="${W}" height="${H}" fill="white"/>\n<text x="${L}" y="16" font-size="13">memring failover checker, ${esc(r.label)}: operations/s through the proxy (green ok, red failed), faults shaded</text>\n`
  for (const s of spans) {
    svg += `<rect x="${x(s.from).toFixed(1)}" y="${T}" width="${Math.max(1, x(s.to) - x(s.from)).toFixed(1)}" height="${H - T - B}" fill="${s.settled ? '#fde9b8' : '#f8c8c8'}"/>\n`
    svg += `<text x="${(x(s.from) + 2).toFixed(1)}" y="${T + 12}">${esc(s.kind)}#${s.rep}</text>\n`
  }
  svg += `<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="black"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="black"/>\n`
  for (let k = 0; k <= 4; k++) {
    const v = ymax * k / 4
    svg += `<text x="${L - 4}" y="${y(v) + 4}" text-anchor="end">${Math.round(v)}</text>\n`
  }
  const secs = (t1 - t0) / 1000
  const step = secs > 300 ? 60 : secs > 60 ? 10 : 5
  for (let s = 0; s <= secs; s += step) svg += `<text x="${x(t0 + s * 1000).toFixed(1)}" y="${H - B + 14}" text-anchor="middle">${s}s</text>\n`
  svg += `<path d="${path(ok)}" fill="none" stroke="#2a9d2a" stroke-width="1.2"/>\n<path d="${path(bad)}" fill="none" stroke="#d62728" stroke-width="1.2"/>\n</svg>\n`
  return svg
}

function esc (s: string): string { return s.replace(/&/g, '&amp;').replace(/</g, '&lt;') }
