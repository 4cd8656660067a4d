/**
 * The server's RequestTimer (lib/server/request-timer.ts) as a prom-client histogram,
 * memring_request_duration_seconds{command}: one request in `every` is timed (a countdown,
 * so an unsampled request costs a decrement), and each sample goes to a child histogram
 * bound once per command class (no label lookup per sample).
 */
import { Histogram, type Registry } from 'prom-client'
import type { RequestTimer } from '../server/request-timer.js'

/** Command classes by protocol Op number (protocol/request.ts). */
export function commandClass (op: number): string {
  if (op >= 1 && op <= 5) return 'get'
  if (op >= 10 && op <= 15) return 'set'
  if (op === 20) return 'delete'
  if (op === 21 || op === 22) return 'arith'
  if (op === 23) return 'touch'
  if (op >= 30 && op <= 36) return 'meta'
  return 'admin'
}

export const COMMAND_CLASSES = ['get', 'set', 'delete', 'arith', 'touch', 'meta', 'admin']

/** Bucket bounds in seconds: 5 µs .. 100 ms (the server's own work, not the network). */
export const REQUEST_BUCKETS = [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.1]

export function sampledRequestTimer (reg: Registry, every: number): RequestTimer {
  const h = new Histogram({
    name: 'memring_request_duration_seconds',
    help: `Server time spent on a request, by command class; one request in ${every} is timed.`,
    labelNames: ['command'],
    buckets: REQUEST_BUCKETS,
    registers: [reg],
  })
  for (const c of COMMAND_CLASSES) h.zero({ command: c }) // every class exported from the first scrape
  const byOp: Array<{ observe: (v: number) => void }> = []
  for (let op = 0; op < 64; op++) byOp.push(h.labels(commandClass(op)))
  let countdown = every
  return {
    due () {
      if (--countdown > 0) return false
      countdown = every
      return true
    },
    record (op, seconds) { (byOp[op] ?? byOp[0]!).observe(seconds) },
  }
}
