// lib/proxy/dc-writes.ts
/**
 * `--dc-writes master|local-invalidate`: what a write through a proxy in DC B does to B's
 * copies of the key (lib/proxy/README.md, "Writes and read-your-writes across DCs").
 *
 *   master            the write goes to the shard's master only (wherever it is); B's
 *                     copies change when the replicated record arrives (~ one WAN delay).
 *   local-invalidate  first `dc_invalidate <key> <hold_ms>` to every copy of the route in
 *                     this proxy's DC that is not the writer (readers of rank < 2); once
 *                     EVERY one has answered (or failed), the write goes to the master.
 *                     Order is by construction, not timing: the local copies had dropped
 *                     the key (and hold its incoming records, lib/replication/holds.ts)
 *                     before the master could even receive the write.
 *
 * A local copy that cannot be reached or refuses (anything but OK: down, killed, a master
 * now, too many held keys) is counted in `dc_invalidate_failed` and the write is still
 * sent: a write is never lost for an invalidation. The wait costs one round trip to the
 * local copies (same DC: sub-ms) per write; a copy that hangs delays the write up to the
 * backend --timeout.
 */
import type { BackendHost } from './backend.js'
import type { ReplySink } from './requests.js'
import { Forward, Kind } from './requests.js'
import type { ShardRoute } from './router.js'

export type DcWritesMode = 'master' | 'local-invalidate'

/** Default --dc-invalidate-hold: over a WAN round trip plus replication lag, with room. */
export const DEFAULT_HOLD_MS = 1000

const WORD = Buffer.from('dc_invalidate ')
const OK = Buffer.from('OK\r\n')

export class DcWrites {
  readonly counters = { dc_invalidations: 0, dc_invalidate_failed: 0, dc_invalidated_writes: 0 }
  readonly #tail: Buffer

  constructor (readonly mode: DcWritesMode, readonly holdMs: number = DEFAULT_HOLD_MS) {
    this.#tail = Buffer.from(` ${holdMs}\r\n`)
  }

  /** True when a write on `route` must invalidate local copies first (there are some). */
  needed (route: ShardRoute): boolean {
    if (this.mode === 'master') return false
    const r = route.readers
    for (let i = 0; i < r.length; i++) if (route.rank[i]! < 2 && r[i] !== route.writer) return true
    return false
  }

  /**
   * Drops key[ks, ke) on the route's local copies (other than the writer), then calls
   * `then` once all have answered or failed. The key is copied now: the caller's buffer
   * may be reused before `then` runs (so must the caller's own wire be: see owned()).
   */
  invalidate (route: ShardRoute, key: Uint8Array, ks: number, ke: number, affinity: number, then: () => void): void {
    const targets: BackendHost[] = []
    const r = route.readers
    for (let i = 0; i < r.length; i++) if (route.rank[i]! < 2 && r[i] !== route.writer) targets.push(r[i]!)
    if (targets.length === 0) { then(); return }
    // A key a text line cannot carry (a binary or base64 key with a space or control byte):
    // not invalidated, counted as failed for each copy.
    for (let i = ks; i < ke; i++) {
      if (key[i]! <= 0x20 || key[i] === 0x7f) { this.counters.dc_invalidate_failed += targets.length; then(); return }
    }
    const wire = Buffer.allocUnsafe(WORD.length + (ke - ks) + this.#tail.length)
    let o = WORD.copy(wire, 0)
    o += Buffer.from(key.buffer, key.byteOffset + ks, ke - ks).copy(wire, o)
    this.#tail.copy(wire, o)
    this.counters.dc_invalidated_writes++
    let left = targets.length
    const counters = this.counters
    const sink: ReplySink = {
      onReply (pieces) {
        if (pieces.length === 1 && pieces[0]!.equals(OK)) counters.dc_invalidations++
        else counters.dc_invalidate_failed++
        if (--left === 0) then()
      },
      onFail () {
        counters.dc_invalidate_failed++
        if (--left === 0) then()
      },
    }
    for (const h of targets) h.send(new Forward(wire, Kind.Line, sink), affinity)
  }

  statsRows (): Array<[string, string | number]> {
    return [['dc_writes', this.mode], ['dc_invalidate_hold_ms', this.holdMs], ...Object.entries(this.counters)]
  }
}

/** A wire that must outlive the parser's buffer (its send is deferred): a copy. */
export function owned (fwd: Forward): Forward {
  return new Forward(Buffer.from(fwd.wire), fwd.kind, fwd.sink, fwd.tag)
}
