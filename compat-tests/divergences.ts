// Every place where memring (D entries) or memring-proxy in front of memring hosts
// (P entries) deliberately answers differently from memcached 1.6.18. Each entry is
// listed in compat-tests/README.md ("Documented divergences") and pinned by a test that
// asserts the documented behaviour when ctx.target.kind is one of the entry's targets
// and memcached's otherwise. The goal is an empty list.

import type { Target, TargetKind } from './harness/targets.js'
import { PROXY_HOSTS } from './harness/targets.js'

export interface Divergence {
  /** D1, D2, ... (memring) or P1, P2, ... (the proxy target), as written in the README. */
  id: string
  /** Target kinds that answer differently; every other target must behave like memcached. */
  targets: readonly TargetKind[]
  /** One line: what differs and why. */
  summary: string
  /** "<suite>: <test>" of the test that pins it. */
  pinnedBy: string
}

export const divergences: Divergence[] = [
  { id: 'D1', targets: ['memring', 'proxy'], summary: '-U PORT is accepted but UDP is not served (TCP is)', pinnedBy: 'text/documented-divergences: D1 -U PORT: accepted, TCP served, UDP only on memcached' },
  { id: 'D2', targets: ['memring', 'proxy'], summary: 'a get line over 8 MiB without a newline closes the connection', pinnedBy: 'text/documented-divergences: D2 a get line over 8 MiB without a newline' },
  { id: 'P1', targets: ['proxy'], summary: 'stats numbers are summed over the hosts (limit_maxbytes, curr_items, ...); stats settings is the first host\'s except maxbytes, summed', pinnedBy: 'text/stats: stats: format and the usual fields' },
  { id: 'P2', targets: ['proxy'], summary: 'stats conns lists the proxy\'s backend connections, not the client\'s', pinnedBy: 'text/stats: stats sizes, stats conns, unknown group' },
  { id: 'P3', targets: ['proxy'], summary: '-m is per host: a cluster of N hosts keeps about N times the items before evicting', pinnedBy: 'text/server-flags: -m 8: writing 4x the memory evicts old items, counts them, never errors' },
  { id: 'P4', targets: ['proxy'], summary: 'lru_crawler metadump answers ERROR metadump not allowed (a dump spans hosts)', pinnedBy: 'text/documented-divergences: P4 lru_crawler metadump all' },
]

/** True when the target answers as divergence `id` documents (false: as memcached). */
export function diverges (id: string, target: Target): boolean {
  const d = divergences.find((x) => x.id === id)
  if (!d) throw new Error(`unknown divergence ${id}`)
  return d.targets.includes(target.kind)
}

/** How many memring hosts answer behind the target (fan-out replies are summed over them). */
export function hostsBehind (target: Target): number {
  return target.kind === 'proxy' ? PROXY_HOSTS : 1
}
