/**
 * memcached's exptime rules (protocol.txt "Expiration times"), in one place:
 *   0                      never expires
 *   1 .. 30 days           relative to now
 *   > 30 days              absolute Unix time (in the past = already expired)
 *   negative               already expired
 * Store times are server-relative seconds; 0 means "never".
 */
import type { Clock } from './clock.js'

/** memcached.h REALTIME_MAXDELTA: 30 days in seconds. */
export const REALTIME_MAXDELTA = 60 * 60 * 24 * 30

/** Wire exptime -> store time. Already-expired maps to 1, a time always <= now(). */
export function relExptime (wire: number, clock: Clock): number {
  if (wire === 0) return 0
  if (wire < 0) return 1
  if (wire > REALTIME_MAXDELTA) {
    if (wire <= clock.processStarted) return 1
    return wire - clock.processStarted
  }
  return wire + clock.now()
}

/** An item with store exptime e is expired at store time now (memcached: exptime <= current_time). */
export function isExpired (e: number, now: number): boolean {
  return e !== 0 && e <= now
}

/** Seconds left for the meta `t` flag: -1 for never. */
export function remainingTtl (e: number, now: number): number {
  if (e === 0) return -1
  return e > now ? e - now : 0
}
