// lib/testing/cluster-probe.ts
/**
 * Watches a cluster's host records in ZooKeeper from outside, for black-box checkers
 * (compat-tests/chaos): polls /memring/<cluster>/nodes every `everyMs` (default 50 ms)
 * with its own session, keeps the latest record of every host, and a timeline of what
 * changed (a host appeared, left, changed role or epoch), each stamped with the time it
 * was first SEEN (performance.timeOrigin + now(), comparable across processes on this
 * machine). A seen time is at most one poll after the change: checks that ask "did X
 * happen after the change?" are lenient by that much, never strict.
 * Polling, not watches: one-shot watches can fold two quick changes into one read; a
 * poll shows the same, and its delay is bounded and stated.
 * Test-only code: unstable API.
 */
import { decodeHostRecord, nodesPath, ZkSession, type HostRecord } from '../cluster/index.js'

export interface ProbeEvent {
  /** When the probe first saw it. */
  t: number
  kind: 'joined' | 'left' | 'changed'
  address: string
  shard: string
  role: string
  epoch: number
  /** Role and epoch before ('changed', 'left'). */
  prevRole?: string
  prevEpoch?: number
}

export const now = (): number => performance.timeOrigin + performance.now()

export class ClusterProbe {
  readonly session: ZkSession
  readonly events: ProbeEvent[] = []
  /** Latest record per address. */
  hosts = new Map<string, HostRecord>()
  /** Polls that completed, and that failed. */
  polls = 0
  failures = 0
  #dir: string
  #everyMs: number
  #timer: NodeJS.Timeout | null = null
  #closed = false
  #waiters: Array<() => void> = []

  constructor (connect: string, cluster: string, everyMs = 50) {
    this.session = new ZkSession({ connect, sessionTimeoutMs: 10_000 })
    this.#dir = nodesPath(cluster)
    this.#everyMs = everyMs
  }

  async start (): Promise<void> {
    await this.session.start()
    await this.#poll()
  }

  async close (): Promise<void> {
    this.#closed = true
    if (this.#timer !== null) clearTimeout(this.#timer)
    await this.session.close()
  }

  /** Resolves after the next completed poll (fresh state). */
  nextPoll (): Promise<void> { return new Promise((resolve) => this.#waiters.push(resolve)) }

  async #poll (): Promise<void> {
    if (this.#closed) return
    try {
      const ids = await this.session.getChildren(this.#dir) ?? []
      const next = new Map<string, HostRecord>()
      await Promise.all(ids.map(async (id) => {
        const got = await this.session.getData(`${this.#dir}/${id}`)
        const r = got === null ? null : decodeHostRecord(got.data)
        if (r !== null) next.set(id, r)
      }))
      const t = now()
      for (const [id, r] of next) {
        const p = this.hosts.get(id)
        if (p === undefined) this.events.push({ t, kind: 'joined', address: id, shard: r.shard, role: r.role, epoch: r.epoch })
        else if (p.role !== r.role || p.epoch !== r.epoch) {
          this.events.push({ t, kind: 'changed', address: id, shard: r.shard, role: r.role, epoch: r.epoch, prevRole: p.role, prevEpoch: p.epoch })
        }
      }
      for (const [id, p] of this.hosts) {
        if (!next.has(id)) this.events.push({ t, kind: 'left', address: id, shard: p.shard, role: p.role, epoch: p.epoch, prevRole: p.role, prevEpoch: p.epoch })
      }
      this.hosts = next
      this.polls++
    } catch {
      this.failures++
    }
    const w = this.#waiters
    this.#waiters = []
    for (const f of w) f()
    if (!this.#closed) this.#timer = setTimeout(() => { void this.#poll() }, this.#everyMs)
  }

  /** Live hosts of a shard. */
  shard (shard: string): HostRecord[] {
    return [...this.hosts.values()].filter((h) => h.shard === shard)
  }

  /** The shard's master: the live host with role master and the highest epoch (null: none). */
  primary (shard: string): HostRecord | null {
    let best: HostRecord | null = null
    for (const h of this.shard(shard)) if (h.role === 'master' && (best === null || h.epoch > best.epoch)) best = h
    return best
  }

  /**
   * The first time at or after `since` that the probe saw a master of `shard` with an
   * epoch above `epoch` (a new master), or null.
   */
  newMasterSeen (shard: string, epoch: number, since: number): ProbeEvent | null {
    for (const e of this.events) {
      if (e.t >= since && e.shard === shard && e.kind !== 'left' && e.role === 'master' && e.epoch > epoch) return e
    }
    return null
  }
}
