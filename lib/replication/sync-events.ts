/**
 * The replica side's structured events (README "Cluster events"): one resync from its
 * start to its end (kind, items, bytes, duration), and the lag behind the master crossing
 * a threshold. Counting is two additions per snapshot frame; the log lines are written
 * once per sync or per crossing, never per frame.
 */
import type { Logger } from 'pino'

export type SyncKind = 'full' | 'partial' | 'resume'

export class SyncEvents {
  #kind: SyncKind | null = null
  #startedAt = 0
  #items = 0
  #bytes = 0
  #lagging = false

  constructor (private readonly logger: Logger, private readonly lagThresholdMs: number) {}

  started (kind: SyncKind, fields: Record<string, unknown>): void {
    this.#kind = kind
    this.#startedAt = performance.now()
    this.#items = 0
    this.#bytes = 0
    this.logger.info({ event: 'resync_started', kind, ...fields }, 'resync started')
  }

  /** One snapshot item of `bytes` frame bytes arrived. */
  item (bytes: number): void { this.#items++; this.#bytes += bytes }

  finished (fields: Record<string, unknown>): void {
    if (this.#kind === null) return
    const durationMs = Math.round(performance.now() - this.#startedAt)
    this.logger.info({ event: 'resync_finished', kind: this.#kind, items: this.#items, bytes: this.#bytes, durationMs, ...fields }, 'resync finished')
    this.#kind = null
  }

  /** The master's latest lag figure for this copy: logs when it crosses the threshold. */
  lag (lagMs: number, fields: () => Record<string, unknown>): void {
    const above = lagMs > this.lagThresholdMs
    if (above === this.#lagging) return
    this.#lagging = above
    if (above) this.logger.warn({ event: 'lag_high', lagMs, thresholdMs: this.lagThresholdMs, ...fields() }, 'replica lag above threshold')
    else this.logger.info({ event: 'lag_ok', lagMs, thresholdMs: this.lagThresholdMs, ...fields() }, 'replica lag back under threshold')
  }
}
