/**
 * Reconnection policies as plain functions (ioredis's retryStrategy): given the number
 * of the reconnect attempt (1, 2, ...), the delay before it in ms, or null to give up.
 * Giving up fails the requests waiting for the connection; the next request starts a
 * new round of attempts. Per-request limits (timeouts) are separate from this.
 */
export type RetryStrategy = (attempt: number) => number | null

export interface BackoffOptions {
  /** Delay before the first retry (default 20 ms). */
  readonly baseMs?: number
  /** Cap on one delay (default 2000 ms). */
  readonly maxMs?: number
  /** Give up after this many attempts (default 5; Infinity to never give up). */
  readonly maxAttempts?: number
  /** Fraction of random spread, 0..1 (default 0.2), so many clients do not retry in step. */
  readonly jitter?: number
  /** Random source in [0, 1) (tests pass a fixed one). */
  readonly random?: () => number
}

/** base * 2^(attempt-1), capped, with +-jitter spread; null after maxAttempts. */
export function exponentialBackoff (opts: BackoffOptions = {}): RetryStrategy {
  const base = opts.baseMs ?? 20
  const max = opts.maxMs ?? 2000
  const attempts = opts.maxAttempts ?? 5
  const jitter = opts.jitter ?? 0.2
  const random = opts.random ?? Math.random
  return (attempt) => {
    if (attempt > attempts) return null
    const d = Math.min(max, base * 2 ** (attempt - 1))
    return Math.max(0, Math.round(d * (1 + jitter * (2 * random() - 1))))
  }
}

/** Never reconnect on our own: fail waiting requests at the first failure. */
export const noRetry: RetryStrategy = () => null
