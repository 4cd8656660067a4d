/**
 * Which copy of a shard serves a read: the one with the fewest requests waiting on it
 * (least outstanding requests, as memring-proxy and mcrouter balance), ties broken at
 * random so idle copies share the load. Copies marked down come last: they fail at once
 * with HOST_DOWN, which is the right error when nothing else is left. Copies already
 * tried by this call are skipped.
 */
import type { Host } from './host.js'

export function pickCopy (copies: readonly Host[], tried: ReadonlySet<Host> | null, random: () => number = Math.random): Host | null {
  let best: Host | null = null
  let ties = 0
  for (const h of copies) {
    if (tried !== null && tried.has(h)) continue
    if (best === null || better(h, best)) {
      best = h
      ties = 1
    } else if (!better(best, h)) {
      // Equal: reservoir sampling keeps each of the tied copies with probability 1/ties.
      ties++
      if (random() * ties < 1) best = h
    }
  }
  return best
}

function better (a: Host, b: Host): boolean {
  if (a.down !== b.down) return !a.down
  return a.pending < b.pending
}
