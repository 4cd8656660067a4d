// lib/proxy/requests.ts
/**
 * Forward: one request to one backend, and how its text reply is framed. It copies
 * the reply (views from the reply parser live only during the call) into pieces and
 * hands them to a ReplySink: a frontend Slot for a plain request, or an aggregate
 * (multi-get merge, fan-out) that combines several Forwards.
 *
 *   Kind.Line       one line (storage, delete, incr/decr, touch, flush_all, verbosity)
 *   Kind.Meta       one line, or one VA line + data (mg ms md ma me)
 *   Kind.MetaQuiet  a quiet meta request sent with a trailing `mn`: everything up to
 *                   the MN line (which is dropped), so a quiet miss still ends framing
 *   Kind.Values     VALUE blocks up to END (get gets gat gats); any other line ends it
 *   Kind.Stats      STAT/ITEM/PREFIX lines up to END; any other line ends it
 */
import { FailReason, Reply, type BackendRequest } from './backend.js'
import type { ProxyCounters } from './core.js'
import type { ShardRoute } from './router.js'
import type { HotKey } from './hot-keys.js'

export const Kind = { Line: 0, Meta: 1, MetaQuiet: 2, Values: 3, Stats: 4 } as const
export type Kind = typeof Kind[keyof typeof Kind]

export interface ReplySink {
  /** `pieces` is the whole reply (CRLFs included); `tag` is what the Forward was given. */
  onReply (pieces: Buffer[], tag: number): void
  onFail (reason: FailReason, tag: number): void
}

const CRLF = Buffer.from('\r\n')

export class Forward implements BackendRequest {
  readonly wire: Buffer
  sentAt = 0
  readonly kind: Kind
  readonly sink: ReplySink
  readonly tag: number
  pieces: Buffer[] = []

  constructor (wire: Buffer, kind: Kind, sink: ReplySink, tag = 0) {
    this.wire = wire
    this.kind = kind
    this.sink = sink
    this.tag = tag
  }

  onLine (buf: Buffer, s: number, e: number): Reply {
    // Every memcached reply line starts with a capital or a digit (STORED, VALUE,
    // STAT, HD, EN, 42, ...) and holds no control bytes: anything else is not a reply
    // and the connection cannot be trusted any more.
    if (!plausible(buf, s, e)) return Reply.Bad
    switch (this.kind) {
      case Kind.MetaQuiet:
        if (e - s === 2 && buf[s] === 0x4d && buf[s + 1] === 0x4e) return this.#done() // MN
        this.#line(buf, s, e)
        return Reply.More
      case Kind.Stats:
        this.#line(buf, s, e)
        return startsWith(buf, s, e, STAT) || startsWith(buf, s, e, ITEM) || startsWith(buf, s, e, PREFIX) ? Reply.More : this.#done()
      default:
        // Line and Meta: the one line. Values: END or an error line ends a retrieval.
        this.#line(buf, s, e)
        return this.#done()
    }
  }

  onValue (line: Buffer, ls: number, le: number, data: Buffer, ds: number, de: number): Reply {
    if (this.kind === Kind.Line || this.kind === Kind.Stats) return Reply.Bad
    const hl = le - ls
    const out = Buffer.allocUnsafe(hl + 2 + (de - ds) + 2)
    line.copy(out, 0, ls, le)
    CRLF.copy(out, hl)
    data.copy(out, hl + 2, ds, de)
    CRLF.copy(out, out.length - 2)
    this.pieces.push(out)
    return this.kind === Kind.Meta ? this.#done() : Reply.More
  }

  onFail (reason: FailReason): void { this.sink.onFail(reason, this.tag) }

  #line (buf: Buffer, s: number, e: number): void {
    const out = Buffer.allocUnsafe(e - s + 2)
    buf.copy(out, 0, s, e)
    out[e - s] = 13
    out[e - s + 1] = 10
    this.pieces.push(out)
  }

  #done (): Reply {
    // Values and stats replies end with their terminator line; the sink decides what to keep.
    this.sink.onReply(this.pieces, this.tag)
    return Reply.Done
  }
}

/**
 * A read (get/gets/bget, mg without T or N, me) that may be served by any copy of its
 * shard. On a backend failure (marked down, timeout, lost connection, bad reply) it is
 * sent again, whole, to the next copy its route picks, within the same client request:
 * the sink hears only the final outcome, and onFail only once every copy has failed.
 * The same object travels from copy to copy (no allocation per hop but the reset
 * reply list); its wire stays valid as for any Forward.
 *
 * Stats: proxy_replica_reads (first attempts that did not go to the writer),
 * proxy_read_retries (each re-send to another copy).
 *
 * A read of a hot key (`hot`, hot-keys.ts) starts on the key's own turn over every copy
 * (ShardRoute.spread) instead of the least loaded one, and counts where it went.
 */
export class ReadForward extends Forward {
  readonly route: ShardRoute
  readonly affinity: number
  readonly counters: ProxyCounters
  readonly hot: HotKey | null
  /** Copies tried so far (bit i = route.readers[i]). */
  tried = 0

  constructor (wire: Buffer, kind: Kind, sink: ReplySink, tag: number, route: ShardRoute, affinity: number, counters: ProxyCounters, hot: HotKey | null = null) {
    super(wire, kind, sink, tag)
    this.route = route
    this.affinity = affinity
    this.counters = counters
    this.hot = hot
  }

  /** Sends to the least loaded copy; false when the shard has no copy to read from. */
  start (): boolean {
    const hot = this.hot
    const i = hot === null ? this.route.pick(0) : this.route.spread(hot.turn++)
    if (i < 0) return false
    this.tried = 1 << i
    const h = this.route.readers[i]!
    if (h !== this.route.writer) this.counters.proxy_replica_reads++
    if (hot !== null) countCopy(hot, h.address)
    h.send(this, this.affinity)
    return true
  }

  override onFail (reason: FailReason): void {
    const i = this.route.pick(this.tried)
    if (i < 0) { super.onFail(reason); return }
    this.tried |= 1 << i
    this.pieces = [] // a reply cut midway is thrown away: the next copy answers whole
    this.counters.proxy_read_retries++
    this.route.readers[i]!.send(this, this.affinity)
  }
}

/** A hot key's read went to `address` (`stats hotkeys` shows the spread). */
export function countCopy (hot: HotKey, address: string): void {
  hot.copies.set(address, (hot.copies.get(address) ?? 0) + 1)
}

const STAT = Buffer.from('STAT ')
const ITEM = Buffer.from('ITEM ')
const PREFIX = Buffer.from('PREFIX ')

function plausible (buf: Buffer, s: number, e: number): boolean {
  if (e <= s) return false
  const c = buf[s]!
  if (!((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39))) return false
  for (let i = s + 1; i < e; i++) {
    const b = buf[i]!
    if (b < 0x20 || b === 0x7f) return false // keys echoed by meta flags may be UTF-8
  }
  return true
}

function startsWith (buf: Buffer, s: number, e: number, w: Buffer): boolean {
  if (e - s < w.length) return false
  for (let i = 0; i < w.length; i++) if (buf[s + i] !== w[i]) return false
  return true
}

export { FailReason }
