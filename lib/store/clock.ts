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
  private timer: NodeJS.Timeout | null = null
  private closed = false

  constructor () {
    // Ticks fall on whole Unix seconds (performance.timeOrigin + now() is monotonic Unix
    // time), so store time + processStarted is exactly the Unix second on every node: two
    // nodes convert an absolute expiry (replication ships them) to the same remaining TTL.
    const unixSec = Math.floor(unixMs() / 1000)
    this.processStarted = unixSec - START_OFFSET_SEC
    this.current = START_OFFSET_SEC
    this.schedule()
  }

  now (): number { return this.current }

  private schedule (): void {
    if (this.closed) return
    this.timer = setTimeout(() => this.tick(), 1001 - (unixMs() % 1000))
    this.timer.unref()
  }

  private tick (): void {
    this.current = Math.floor(unixMs() / 1000) - this.processStarted
    this.schedule()
  }

  close (): void {
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
  }
}

function unixMs (): number { return performance.timeOrigin + performance.now() }

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
