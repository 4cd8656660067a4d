/**
 * `--log-format pretty`: pino's JSON lines made readable for a person at a terminal, one
 * line each: `HH:MM:SS.mmm LEVEL [mod] message key=value ...` (the time in UTC, as the JSON
 * has it). Our own few lines rather than pino-pretty: that package brings 13 dependencies
 * for a formatter this small, and the JSON form stays the one to ship to a log pipeline.
 * Pure formatting plus a synchronous stderr destination, like pino.destination(2).
 */
import { writeSync } from 'node:fs'

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
/** Fields every line has, shown in the fixed part (or not at all). */
const FIXED = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'mod'])

function value (v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)
  return JSON.stringify(v) ?? String(v)
}

/** One JSON log line -> one human line (a line that is not JSON passes as it is). */
export function prettyLine (json: string): string {
  let o: Record<string, unknown>
  try { o = JSON.parse(json) as Record<string, unknown> } catch { return json.endsWith('\n') ? json : json + '\n' }
  const t = typeof o.time === 'string' ? o.time : typeof o.time === 'number' ? new Date(o.time).toISOString() : ''
  const clock = /T(\d\d:\d\d:\d\d\.\d\d\d)/.exec(t)?.[1] ?? t
  const level = LEVELS[o.level as number] ?? String(o.level)
  const parts = [clock, level.padEnd(5)]
  if (typeof o.mod === 'string') parts.push(`[${o.mod}]`)
  if (typeof o.msg === 'string') parts.push(o.msg)
  for (const [k, v] of Object.entries(o)) {
    if (FIXED.has(k)) continue
    if (k === 'err' && typeof v === 'object' && v !== null) {
      const e = v as Record<string, unknown>
      parts.push(`err=${value(e.message ?? e.type)}`)
      if (typeof e.stack === 'string') parts.push(`\n    ${e.stack.split('\n').join('\n    ')}`)
      continue
    }
    parts.push(`${k}=${value(v)}`)
  }
  return parts.join(' ') + '\n'
}

/** A pino destination writing pretty lines to a file descriptor (stderr by default). */
export function prettyDestination (fd = 2): { write (s: string): void } {
  return {
    write (s: string): void {
      for (const line of s.split('\n')) if (line !== '') writeSync(fd, prettyLine(line))
    },
  }
}
