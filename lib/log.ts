/**
 * Logger construction: one root pino logger, created by bin/ and passed down. Structured
 * JSON lines on stderr (memcached logs to stderr too); silent unless asked in libraries.
 */
import { pino } from 'pino'
import type { Logger, DestinationStream } from 'pino'
import { prettyDestination } from './log-pretty.js'

export type { Logger }

/** memcached verbosity (-v count) -> log level. */
export function levelForVerbosity (v: number): string {
  return v >= 3 ? 'trace' : v === 2 ? 'debug' : v === 1 ? 'info' : 'warn'
}

/** --log-format: JSON lines (default, for log pipelines) or `pretty` (lib/log-pretty.ts). */
export type LogFormat = 'json' | 'pretty'

export function logFormat (v: string | undefined): LogFormat | null {
  const f = (v ?? 'json').trim()
  return f === 'json' || f === 'pretty' ? f : null
}

export function createLogger (level: string, dest?: DestinationStream, format: LogFormat = 'json'): Logger {
  const out = dest ?? (format === 'pretty' ? prettyDestination(2) : pino.destination(2))
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, out)
}

export function silentLogger (): Logger { return pino({ level: 'silent' }) }
