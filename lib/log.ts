/**
 * Logger construction: one root pino logger, created by bin/ and passed down. Structured
 * JSON lines on stderr (memcached logs to stderr too); silent unless asked in libraries.
 */
import { pino } from 'pino'
import type { Logger, DestinationStream } from 'pino'

export type { Logger }

/** memcached verbosity (-v count) -> log level. */
export function levelForVerbosity (v: number): string {
  return v >= 3 ? 'trace' : v === 2 ? 'debug' : v === 1 ? 'info' : 'warn'
}

export function createLogger (level: string, dest?: DestinationStream): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, dest ?? pino.destination(2))
}

export function silentLogger (): Logger { return pino({ level: 'silent' }) }
