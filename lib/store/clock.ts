/**
 * Coarse server time in whole seconds, as memcached's `current_time`: one tick a second
 * from a monotonic source, so a request never reads the system clock. Store time is
 * relative to process start; `processStarted` anchors it to Unix time for absolute
 * exptimes and `stats time`.
 */
export interface Clock {
  /** Seconds since the clock's epoch (monotonic, coarse). */
  now (): number
  /** Unix time (seconds) that corresponds to now() === 0. */
  readonly processStarted: number
}

/**
 * memcached starts its clock a little in the past (ITEM_UPDATE_INTERVAL + 2 s) so that
 * relative time 0 is never "now"; we do the same so exptime/last-access arithmetic
 * never sees 0 as a live timestamp.
 */
const START_OFFSET_SEC = 62

export class CoarseClock implements Clock {
  readonly processStarted: number
  private current: number
  private readonly startMs: number
  private timer: NodeJS.Timeout | null = null

  constructor () {
    this.startMs = performance.now()
    this.processStarted = Math.floor(Date.now() / 1000) - START_OFFSET_SEC
    this.current = START_OFFSET_SEC
    this.timer = setInterval(() => this.tick(), 1000)
    this.timer.unref()
  }

  now (): number { return this.current }

  private tick (): void {
    this.current = START_OFFSET_SEC + Math.floor((performance.now() - this.startMs) / 1000)
  }

  close (): void {
    if (this.timer !== null) clearInterval(this.timer)
    this.timer = null
  }
}

/** A clock that moves only when told to: for unit tests of TTL and LRU ages. */
export class ManualClock implements Clock {
  readonly processStarted: number
  private current = START_OFFSET_SEC
  constructor (unixNow = Math.floor(Date.now() / 1000)) {
    this.processStarted = unixNow - START_OFFSET_SEC
  }

  now (): number { return this.current }
  advance (sec: number): void { this.current += sec }
}
