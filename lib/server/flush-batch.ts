/**
 * Replies of one event-loop turn leave together (issue 15). A connection that has handled
 * its input does not write at once: it is queued here, and every queued connection is
 * flushed in one setImmediate, after libuv has delivered all of this turn's reads.
 *
 * Why: on loopback each reply's write() also runs the receiver's wake-up inside the
 * sender's system call. Written one by one between reads, the replies reach a client that
 * has gone back to sleep after each one, and every write pays a wake-up (on this project's
 * VMs an inter-processor interrupt through the hypervisor). Written back to back, most
 * find their client still awake. Measured, text 100 B, same-run rounds: memring 1.23x the
 * ops/s; the ceiling server 1.06-1.45x depending on the run (lib/server/README.md).
 *
 * Order is kept: a connection's output is one queue, and anything that flushes it earlier
 * (the output bound, a drain, a close) simply leaves less for the batch.
 */
import { truncate } from './truncate.js'

export interface Deferrable {
  /** Set while queued here (so a connection is queued once per turn). */
  flushQueued: boolean
  flush (): void
}

const queue: Deferrable[] = []
let scheduled = false

function run (): void {
  scheduled = false
  // A flush can queue more (nothing today does); those run in this pass too.
  for (let i = 0; i < queue.length; i++) {
    const c = queue[i]
    c.flushQueued = false
    c.flush()
  }
  truncate(queue, 0)
}

/** Flush c once this turn's reads are all handled. */
export function flushLater (c: Deferrable): void {
  if (c.flushQueued) return
  c.flushQueued = true
  queue.push(c)
  if (!scheduled) {
    scheduled = true
    setImmediate(run)
  }
}
