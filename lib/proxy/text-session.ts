// lib/proxy/text-session.ts
/**
 * The proxy's text and meta frontend: protocol/text's request parser (the same one the
 * server uses) with a routing handler instead of a store. Plugs into lib/server's
 * Connection as its text SessionFactory. Per request, see README.md for the table:
 *
 *   get/gets/bget           keys grouped per shard, one request per shard, hits merged
 *                           back in key order. READS: each shard part goes to the least
 *                           loaded copy of its shard and moves to another copy when that
 *                           one fails (ReadForward); every copy failed: misses.
 *   gat/gats                split like get, but they touch: to each shard's writer only,
 *                           never retried; a shard without a writer: misses.
 *   set/add/replace/append/prepend/cas, delete, incr/decr, touch
 *                           WRITES: to the key's shard writer, never retried; no writer
 *                           (none live, or fenced): SERVER_ERROR no live master.
 *   mg/ms/md/ma/me          to the key's shard (base64 keys hashed decoded); `mg` without
 *                           T or N and `me` are reads (any copy, retried), the rest are
 *                           writes; quiet ones carry a trailing `mn` so framing never
 *                           waits on silence.
 *   mn, version, verbosity  answered here, in order.
 *   flush_all, stats        fan out to every shard writer (not replicas); replies combined (stats.ts).
 *   noreply                 stripped before forwarding, the reply dropped, so the
 *                           backend connection always knows what comes back.
 *   several pools           with a route tree (core.tree: mcrouter AllSyncRoute /
 *                           FailoverRoute) every keyed request follows the tree instead
 *                           (#viaTree), and a multi-key get is split per key, as mcrouter does.
 *   hot keys (--hot-key-threshold): reads of a hot key go round its shard's copies
 *                           (ReadForward's `hot`); with --hot-key-cache a one-key `get` of
 *                           a hot key may be answered here (hot-cache.ts), and writes drop
 *                           the key's cached value (HotReads.written).
 *
 * Replies leave in request order: every request takes a Slot; slots complete in any
 * order and are written out from the head.
 */
import type { ProtocolSession } from '../server/connection.js'
import type { ConnControl } from '../server/context.js'
import { put } from './put.js'
import { NO_DATA, TextRequestParser, type TextLine, type TextRequestHandler } from '../../protocol/text/request-parser.js'
import { Op } from '../../protocol/request.js'
import { isConfigGetCluster } from '../../protocol/text/cluster-config.js'
import { KEY_MAX_LENGTH } from '../../protocol/bytes.js'
import { FailReason } from './backend.js'
import { Forward, Kind, ReadForward, type ReplySink } from './requests.js'
import { owned } from './dc-writes.js'
import type { BackendHost } from './backend.js'
import { TextLeg, ToReplySink } from './route-legs.js'
import type { ProxyCore } from './core.js'
import { mergeStats, proxyStatsLines } from './stats.js'
import { inKeyOrder } from './value-blocks.js'
import { hotKeysStatsLines } from './hot-stats.js'
import { HotCache } from './hot-cache.js'
import { REFUSED_TEXT, openValueBlocks, sealTextStorage } from './value-crypt.js'
import type { HotKey } from './hot-keys.js'

const R = {
  END: Buffer.from('END\r\n'),
  EN: Buffer.from('EN\r\n'),
  MN: Buffer.from('MN\r\n'),
  OK: Buffer.from('OK\r\n'),
  ERROR: Buffer.from('ERROR\r\n'),
  BAD_FORMAT: Buffer.from('CLIENT_ERROR bad command line format\r\n'),
  SHUTDOWN_DISABLED: Buffer.from('ERROR: shutdown not enabled\r\n'),
  EMPTY: Buffer.alloc(0),
}
const MN_LINE = Buffer.from('mn\r\n')
const NOREPLY = Buffer.from('noreply')

/** Why a write could not be done, as the client sees it. */
function serverError (reason: FailReason | 'no host'): Buffer {
  switch (reason) {
    case 'no host': return Buffer.from('SERVER_ERROR no live master for this key\r\n')
    case FailReason.Down: return Buffer.from('SERVER_ERROR backend marked down\r\n')
    case FailReason.Timeout: return Buffer.from('SERVER_ERROR backend timeout\r\n')
    case FailReason.Protocol: return Buffer.from('SERVER_ERROR bad reply from backend\r\n')
    default: return Buffer.from('SERVER_ERROR backend connection lost\r\n')
  }
}

/** One reply position. `onFailReply` is what the client gets when the backend fails. */
class Slot implements ReplySink {
  done = false
  pieces: Buffer[] | null = null
  constructor (readonly session: ProxyTextSession, readonly read: boolean, readonly meta: boolean) {}
  onReply (pieces: Buffer[]): void {
    // --encrypt-values: a text retrieval's VALUE blocks are opened here, once, whatever
    // path they came by (one shard, a merged multi-get, the hot-key cache, warm-up).
    const cipher = this.session.core.cipher
    this.pieces = cipher !== null && this.read && !this.meta ? openValueBlocks(cipher, pieces, this.session.core.counters) : pieces
    this.done = true
    this.session.slotDone()
  }
  onFail (reason: FailReason): void {
    this.session.core.counters.proxy_failed_requests++
    // Reads for a shard we cannot reach answer as a miss; writes say why they failed.
    this.pieces = [this.read ? (this.meta ? R.EN : R.END) : serverError(reason)]
    this.done = true
    this.session.slotDone()
  }
  fill (b: Buffer): void { this.pieces = [b]; this.done = true }
}

/** A reply nobody waits for (noreply): dropped. */
const DISCARD: ReplySink = { onReply () {}, onFail () {} }

/** A multi-get split over several shards: hits put back in key order. */
class MultiGet implements ReplySink {
  #parts: (Buffer[] | null)[]
  #left: number
  #error: Buffer | null = null
  constructor (readonly slot: Slot, readonly keys: Buffer[], readonly shardOfKey: Int32Array, parts: number) {
    this.#parts = new Array<Buffer[] | null>(parts).fill(null)
    this.#left = parts
  }

  onReply (pieces: Buffer[], tag: number): void {
    const last = pieces[pieces.length - 1]
    if (last !== undefined && !last.equals(R.END) && this.#error === null) this.#error = last
    this.#parts[tag] = pieces
    if (--this.#left === 0) this.#finish()
  }

  onFail (_reason: FailReason, tag: number): void {
    this.slot.session.core.counters.proxy_failed_requests++
    this.#parts[tag] = [] // misses
    if (--this.#left === 0) this.#finish()
  }

  #finish (): void {
    const out = inKeyOrder(this.#parts.flatMap((p) => p ?? []), this.keys)
    out.push(this.#error ?? R.END)
    this.slot.onReply(out)
  }
}

/** flush_all / stats to every host: one reply combined from all. */
class FanOut implements ReplySink {
  #replies: (Buffer[] | null)[]
  #left: number
  constructor (readonly slot: Slot | null, n: number, readonly combine: (replies: (Buffer[] | null)[]) => Buffer[]) {
    this.#replies = new Array<Buffer[] | null>(n).fill(null)
    this.#left = n
    if (n === 0) this.#finish()
  }

  onReply (pieces: Buffer[], tag: number): void { this.#replies[tag] = pieces; if (--this.#left === 0) this.#finish() }
  onFail (_reason: FailReason, tag: number): void { this.#replies[tag] = null; if (--this.#left === 0) this.#finish() }
  #finish (): void { if (this.slot !== null) this.slot.onReply(this.combine(this.#replies)) }
}

const METADUMP_REFUSED = Buffer.from('ERROR metadump not allowed\r\n')

export class ProxyTextSession implements ProtocolSession, TextRequestHandler {
  readonly parser: TextRequestParser
  readonly core: ProxyCore
  #conn: ConnControl
  #slots: Slot[] = []
  #head = 0
  #inPush = false
  #quitting = false
  #closed = false
  /** The storage or ms line waiting for its data block. */
  /**
   * Where the storage (or ms) line is: buf[start, cut) is what goes to the backend
   * (cut excludes a stripped noreply). Views into socket chunks stay valid (see
   * #wireLine); line + data go as one view when they are contiguous.
   */
  #pendingBuf: Buffer | null = null
  #pendingStart = 0
  #pendingCut = 0
  #pendingEnd = 0
  #pendingShard = -1
  #pendingSlot: Slot | null = null
  #pendingQuiet = false
  /** The pending request's key, for a route tree (null without one). */
  #pendingKey: Buffer | null = null
  /** The pending write's key, keyBuf[ks, ke): a cached value of it is dropped (hot-reads.ts). */
  #pendingKeyBuf: Buffer | null = null
  #pendingKs = 0
  #pendingKe = 0
  /** --encrypt-values: the pending storage line around its byte count, and its flags (value-crypt.ts). */
  #pendingSeal: { head: Buffer, tail: Buffer, flags: number } | null = null
  /** --encrypt-values: the pending data block belongs to a refused command (append, ms...). */
  #pendingRefused = false

  constructor (conn: ConnControl, core: ProxyCore) {
    this.#conn = conn
    this.core = core
    this.parser = new TextRequestParser(this)
  }

  // ---- ProtocolSession -------------------------------------------------------------
  push (chunk: Buffer): void {
    this.#inPush = true
    try { this.parser.push(chunk) } finally { this.#inPush = false }
    this.#drain()
  }

  pause (): void { this.parser.pause() }
  resume (): void { this.parser.resume() }
  close (): void { this.#closed = true }
  /** The client half-closed: answer what it sent, then close (replies may still be on their way). */
  endInput (): boolean {
    this.#quitting = true
    this.#drain()
    return true
  }

  // ---- replies in order ----------------------------------------------------------------
  #slot (read: boolean, meta = false): Slot {
    const s = new Slot(this, read, meta)
    this.#slots.push(s)
    if (this.#slots.length - this.#head > this.core.maxPendingPerConn) this.parser.pause()
    return s
  }

  #local (b: Buffer): void {
    if (this.#head === this.#slots.length) { this.#conn.out.bytes(b); return }
    const s = new Slot(this, false, false)
    s.fill(b)
    this.#slots.push(s)
  }

  slotDone (): void { if (!this.#inPush) this.#drain() }

  #drain (): void {
    if (this.#closed) return
    const out = this.#conn.out
    let wrote = false
    while (this.#head < this.#slots.length) {
      const s = this.#slots[this.#head]!
      if (!s.done) break
      for (const p of s.pieces!) put(out, p)
      this.#slots[this.#head] = undefined as unknown as Slot
      this.#head++
      wrote = true
    }
    if (this.#head === this.#slots.length) { this.#slots.length = 0; this.#head = 0 } else if (this.#head > 4096) {
      this.#slots = this.#slots.slice(this.#head)
      this.#head = 0
    }
    // A client that does not read keeps its replies in the socket ('conn_mwrite'): parse
    // none of its input until the socket drains (the connection then resumes us), or the
    // proxy would forward its whole pipeline and buffer every reply.
    if (this.parser.isPaused && this.#slots.length - this.#head <= this.core.maxPendingPerConn / 2 && !this.#quitting &&
      this.#conn.state?.() !== 'conn_mwrite') {
      this.parser.resume()
    }
    if (this.#quitting && this.#head === this.#slots.length) this.#conn.closeAfterWrite()
    if ((wrote || this.#quitting) && !this.#inPush) this.#conn.flush()
    if (this.#conn.state?.() === 'conn_mwrite') this.parser.pause()
  }

  // ---- TextRequestHandler ------------------------------------------------------------
  onFatal (): void { this.#conn.destroy() }

  onLine (line: TextLine): number {
    this.core.counters.proxy_requests++
    switch (line.op) {
      case Op.Get: case Op.Gets: case Op.Bget: return this.#retrieval(line, 1, true)
      case Op.Gat: case Op.Gats: return line.ntokens < 3 ? this.#anyHost(line, Kind.Values) : this.#retrieval(line, 2, false)
      case Op.Set: case Op.Add: case Op.Replace: case Op.Append: case Op.Prepend:
        return this.#storage(line, 5)
      case Op.Cas: return this.#storage(line, 6)
      case Op.Delete: return line.ntokens < 2 || line.ntokens > 4 ? this.#err(R.ERROR) : this.#keyed(line, Kind.Line)
      case Op.Incr: case Op.Decr:
        if (line.ntokens !== 3 && line.ntokens !== 4) return this.#err(R.ERROR)
        return this.core.cipher !== null ? this.#refused(line) : this.#keyed(line, Kind.Line)
      case Op.Touch: return line.ntokens === 3 || line.ntokens === 4 ? this.#keyed(line, Kind.Line) : this.#err(R.ERROR)
      case Op.MetaGet: case Op.MetaDelete: case Op.MetaArithmetic: case Op.MetaDebug: return this.#meta(line, false)
      case Op.MetaSet: return this.#meta(line, true)
      case Op.MetaNoop: this.#local(R.MN); return NO_DATA
      case Op.Version: this.#local(Buffer.from(`VERSION ${this.core.version}\r\n`)); return NO_DATA
      case Op.Config: {
        const reply = isConfigGetCluster(line) ? this.core.clusterConfig() : null
        return reply === null ? this.#err(R.ERROR) : (this.#local(reply), NO_DATA)
      }
      // memcached's token counts for these are checked before noreply is looked at.
      case Op.Verbosity: case Op.CacheMemlimit:
        return line.ntokens === 2 || line.ntokens === 3 ? this.#adminFanOut(line) : this.#err(R.ERROR)
      case Op.LruCrawler:
        // A metadump streams every item of a host: it spans hosts and is not one reply line.
        // Dump each host directly (compat-tests/README.md, P4).
        if (line.ntokens >= 2 && line.buf.toString('latin1', line.tokS[1], line.tokE[1]) === 'metadump') return this.#err(METADUMP_REFUSED)
        return this.#adminFanOut(line)
      case Op.Slabs: case Op.Lru:
        return this.#adminFanOut(line)
      case Op.Quit: this.#quitting = true; this.parser.halt(); return NO_DATA
      case Op.Shutdown: this.#local(R.SHUTDOWN_DISABLED); return NO_DATA
      case Op.RefreshCerts: {
        // The proxy's own client certificates (memcached's replies); backends keep theirs.
        const t = this.core.tls
        this.#local(Buffer.from(`${t === null ? 'Error TLS not enabled' : t.refresh() ?? 'OK'}\r\n`))
        return NO_DATA
      }
      case Op.FlushAll: return line.ntokens <= 3 ? this.#flushAll(line) : this.#err(R.ERROR)
      case Op.Stats: return this.#stats(line)
      case Op.Unknown: case Op.MetaUnknown: return this.#err(R.ERROR)
      default:
        this.#local(Buffer.from(`SERVER_ERROR memring-proxy does not forward ${line.buf.toString('latin1', line.tokS[0], line.tokE[0])}\r\n`))
        return NO_DATA
    }
  }

  #err (b: Buffer): number { this.#local(b); return NO_DATA }

  /** --encrypt-values: a command that cannot work on sealed values; `vlen` data bytes follow it. */
  #refused (line: TextLine, vlen = -1, noreply = this.#noreply(line)): number {
    this.core.counters.proxy_encrypt_refused++
    if (vlen < 0) return noreply ? NO_DATA : this.#err(REFUSED_TEXT)
    this.#pendingRefused = true
    this.#pendingSlot = noreply ? null : this.#slot(false)
    return vlen + 2
  }

  /**
   * A line we cannot route by key (malformed: no key, bad arguments) and that reads no
   * data block: any backend answers it with memcached's own error, one line.
   */
  #anyHost (line: TextLine, kind: Kind): number {
    const host = this.core.router.allHosts()[0]
    if (host === undefined) return this.#err(R.ERROR)
    host.send(new Forward(this.#wireLine(line, false), kind, this.#slot(false)), this.#conn.id)
    return NO_DATA
  }

  /** verbosity, cache_memlimit, slabs, lru, lru_crawler: every host; the first non-OK reply wins. */
  #adminFanOut (line: TextLine): number {
    const noreply = this.#noreply(line)
    const hosts = this.core.router.allHosts()
    if (hosts.length === 0) return noreply ? NO_DATA : this.#err(R.ERROR)
    const fan = new FanOut(noreply ? null : this.#slot(false), hosts.length, (replies) => {
      let first: Buffer[] | null = null
      for (const r of replies) {
        if (r === null) continue
        first ??= r
        if (!r[r.length - 1]!.equals(R.OK)) return r
      }
      return first ?? [serverError(FailReason.Down)]
    })
    const wire = this.#wireLine(line, noreply)
    hosts.forEach((h, i) => h.send(new Forward(wire, Kind.Line, fan, i), this.#conn.id))
    return NO_DATA
  }

  #noreply (line: TextLine): boolean {
    const i = line.ntokens - 1
    return i > 0 && line.rest < 0 && line.buf.subarray(line.tokS[i], line.tokE[i]).equals(NOREPLY)
  }

  /** The line as sent to a backend: without " noreply" when `strip`, CRLF-terminated. */
  #wireLine (line: TextLine, strip: boolean, extra = 0): Buffer {
    // Common case: the line as the client sent it, CRLF included, is forwarded as a
    // view. The parser's views come from socket chunks (or its own copies), which
    // nothing reuses, so the view stays valid until the backend write is done.
    if (!strip && extra === 0 && line.buf[line.end] === 13 && line.buf[line.end + 1] === 10) {
      return line.buf.subarray(line.start, line.end + 2)
    }
    const end = strip ? trimRight(line.buf, line.start, line.tokS[line.ntokens - 1]) : line.end
    const n = end - line.start
    const b = Buffer.allocUnsafe(n + 2 + extra)
    line.buf.copy(b, 0, line.start, end)
    b[n] = 13
    b[n + 1] = 10
    return b
  }

  /** delete / incr / decr / touch: one line to the key's shard. */
  #keyed (line: TextLine, kind: Kind): number {
    const noreply = this.#noreply(line)
    if (this.core.tree !== null) {
      this.#viaTree(line.buf, line.tokS[1], line.tokE[1], this.#wireLine(line, noreply), kind, noreply ? DISCARD : this.#slot(false), 0)
      return NO_DATA
    }
    const shard = this.core.router.shardIndexOf(line.buf, line.tokS[1], line.tokE[1])
    this.#wrote(line.buf, line.tokS[1], line.tokE[1], shard)
    const host = this.#writer(shard)
    const slot = noreply ? null : this.#slot(false)
    if (host === null) {
      slot?.onReply([serverError('no host')])
      return NO_DATA
    }
    const sink = this.#written(line.buf, line.tokS[1], line.tokE[1], slot ?? DISCARD)
    this.#toWriter(shard, host, new Forward(this.#wireLine(line, noreply), kind, sink), line.buf, line.tokS[1], line.tokE[1])
    return NO_DATA
  }

  /**
   * A write of key[ks, ke) to shard's writer `host`. With --dc-writes local-invalidate the
   * key is first dropped on this DC's other copies, and the write waits for their answers
   * (dc-writes.ts): its wire is then copied, as the parser's buffer may be reused meanwhile.
   */
  #toWriter (shard: number, host: BackendHost, fwd: Forward, key: Uint8Array, ks: number, ke: number): void {
    const dcw = this.core.dcWrites
    const route = this.core.router.route(shard)
    const aff = this.#conn.id
    if (!dcw.needed(route)) { host.send(fwd, aff); return }
    const later = owned(fwd)
    dcw.invalidate(route, key, ks, ke, aff, () => host.send(later, aff))
  }

  /** Several pools (core.tree): the request follows the route tree by its key; false without one. */
  #viaTree (key: Uint8Array, ks: number, ke: number, wire: Buffer, kind: Kind, sink: ReplySink, tag: number): boolean {
    const tree = this.core.tree
    if (tree === null) return false
    tree.route(key, ks, ke, new TextLeg(wire, kind, this.#conn.id), new ToReplySink(sink), tag)
    return true
  }

  /** A write of buf[s, e) is sent with `sink`: a cached value of the key goes (hot-reads.ts). */
  #written (buf: Buffer, s: number, e: number, sink: ReplySink): ReplySink {
    const hot = this.core.hot
    return hot === null ? sink : hot.written(buf, s, e, sink)
  }

  /** Shard i's writer; null (counted: no host, and fenced when it is) when it has none. */
  #writer (shard: number): ReturnType<ProxyCore['router']['host']> {
    const route = this.core.router.route(shard)
    if (route.writer !== null) return route.writer
    this.core.counters.proxy_no_host++
    if (route.fenced) this.core.counters.proxy_fenced_writes++
    return null
  }

  /**
   * A read of `shard` (any copy, retried on failure: ReadForward), or a retrieval that
   * touches (`read` false: the writer only, as a write). False: nowhere to send it.
   */
  #fetch (shard: number, read: boolean, wire: Buffer, kind: Kind, sink: ReplySink, tag: number, hot: HotKey | null = null): boolean {
    const router = this.core.router
    if (read) {
      if (new ReadForward(wire, kind, sink, tag, router.route(shard), this.#conn.id, this.core.counters, hot).start()) return true
      this.core.counters.proxy_no_host++
      return false
    }
    const host = this.#writer(shard)
    if (host === null) return false
    host.send(new Forward(wire, kind, sink, tag), this.#conn.id)
    return true
  }

  /**
   * --hot-key-cache: a one-key `get` of hot key `hk` answered from the cache, or sent to
   * the shard's writer as a fill (hot-cache.ts); false: forward it as any read.
   */
  #fromCache (hk: HotKey, shard: number, wire: Buffer, slot: Slot): boolean {
    const cache = this.core.hot!.cache
    if (cache === null || !HotCache.cacheable(hk.key, 0, hk.key.length)) return false
    const v = cache.lookup(hk, performance.now())
    if (v !== null) { slot.onReply([v]); return true }
    const writer = this.core.router.route(shard).writer
    if (writer === null || writer.down) return false
    const fill = cache.fill(hk, slot, () => {
      // The fill failed: the get goes as it came, to any copy, retried as any read.
      if (!this.#fetch(shard, true, wire, Kind.Values, slot, 0, hk)) slot.onFail(FailReason.Down)
    })
    if (fill === null) return false
    writer.send(new Forward(fill.wire, Kind.Meta, fill.sink), this.#conn.id)
    return true
  }

  #retrieval (line: TextLine, firstKey: number, read: boolean): number {
    const buf = line.buf
    if (line.ntokens === firstKey + 1 && line.rest < 0) {
      // One key: no splitting, the request goes as it came.
      const ks = line.tokS[firstKey]
      const ke = line.tokE[firstKey]
      if (ke - ks > KEY_MAX_LENGTH) return this.#err(R.BAD_FORMAT)
      this.core.counters.proxy_get_keys++
      const slot = this.#slot(true)
      const wire = this.#wireLine(line, false)
      if (this.core.tree !== null && this.#viaTree(buf, ks, ke, wire, Kind.Values, slot, 0)) return NO_DATA
      const shard = this.#readShard(read, buf, ks, ke, this.core.router.shardIndexOf(buf, ks, ke))
      const hot = read ? this.core.hot?.read(buf, ks, ke) ?? null : null
      if (hot !== null && line.op === Op.Get && this.#fromCache(hot, shard, wire, slot)) return NO_DATA
      // (the key list is built only while a warm-up window is open: not per get)
      const sink = !read ? this.#written(buf, ks, ke, slot) : this.core.warmUp.active ? this.#warm(slot, [buf.subarray(ks, ke)], shard, line) : slot
      if (!this.#fetch(shard, read, wire, Kind.Values, sink, 0, hot)) (read ? slot : sink).onFail(FailReason.Down, 0)
      return NO_DATA
    }
    // Keys: every space-separated word after the command (and gat's exptime), beyond
    // the tokenizer's 23-token cap too.
    const keys: Buffer[] = []
    let p = line.tokS[firstKey]
    if (line.ntokens <= firstKey) return this.#err(R.ERROR)
    const e = line.end
    while (p < e) {
      while (p < e && buf[p] === 0x20) p++
      if (p >= e) break
      let q = p
      while (q < e && buf[q] !== 0x20) q++
      if (q - p > KEY_MAX_LENGTH) return this.#err(R.BAD_FORMAT)
      keys.push(buf.subarray(p, q))
      p = q
    }
    const router = this.core.router
    const slot = this.#slot(true)
    this.core.counters.proxy_get_keys += keys.length
    const head = buf.subarray(line.tokS[0], line.tokS[firstKey])
    if (this.core.tree !== null) {
      // One request per key through the tree (mcrouter splits multi-gets per key too).
      const merge = new MultiGet(slot, keys.map((k) => Buffer.from(k)), new Int32Array(keys.length), keys.length)
      keys.forEach((k, i) => this.#viaTree(k, 0, k.length, partWire(head, [k]), Kind.Values, merge, i))
      return NO_DATA
    }
    const shardOf = new Int32Array(keys.length)
    let first = -2
    let single = true
    // Hot keys: a shard part holding one goes round the shard's copies on that key's turn
    // (the first hot key of the part); gat/gats are writes and drop cached values.
    const hotReads = this.core.hot
    let hotOf = null as Map<number, HotKey> | null
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i]!
      const s = this.#readShard(read, k, 0, k.length, router.shardIndexOf(k, 0, k.length))
      shardOf[i] = s
      if (first === -2) first = s
      else if (s !== first) single = false
      if (hotReads === null) continue
      if (!read) { hotReads.writtenKey(k, 0, k.length); continue }
      const hk = hotReads.read(k, 0, k.length)
      if (hk !== null && hotOf?.has(s) !== true) (hotOf ??= new Map()).set(s, hk)
    }
    if (single) {
      const sink = read ? this.#warm(slot, keys, first, line) : slot
      if (!this.#fetch(first, read, this.#wireLine(line, false), Kind.Values, sink, 0, hotOf?.get(first) ?? null)) slot.onFail(FailReason.Down)
      return NO_DATA
    }
    // Split: one request per shard, in first-seen order of shards.
    this.core.counters.proxy_split_gets++
    const order: number[] = []
    const keysOf = new Map<number, Buffer[]>()
    for (let i = 0; i < keys.length; i++) {
      const s = shardOf[i]!
      let list = keysOf.get(s)
      if (list === undefined) { keysOf.set(s, list = []); order.push(s) }
      list.push(keys[i]!)
    }
    const merge = new MultiGet(slot, keys.map((k) => Buffer.from(k)), shardOf, order.length)
    order.forEach((s, tag) => {
      // Each shard part is its own read: it fails over between its shard's copies alone.
      const list = keysOf.get(s)!
      const sink = read ? this.#warm(merge, list, s, line) : merge
      if (!this.#fetch(s, read, partWire(head, list), Kind.Values, sink, tag, hotOf?.get(s) ?? null)) merge.onFail(FailReason.Down, tag)
    })
    return NO_DATA
  }

  /** get/gets/bget of `keys` on `shard` during a warm-up window: moved keys that miss are read through (warm-up.ts). */
  #warm (sink: ReplySink, keys: Buffer[], shard: number, line: TextLine): ReplySink {
    const w = this.core.warmUp
    return w.active ? w.values(sink, keys, shard, line.buf.subarray(line.tokS[0], line.tokE[0]), this.#conn.id) : sink
  }

  /** Where a read (`read`) of buf[s, e), owned by `shard`, goes: during a warm-up window, maybe its previous owner (warm-up.ts readOwner). */
  #readShard (read: boolean, buf: Uint8Array, s: number, e: number, shard: number): number {
    const w = this.core.warmUp
    return read && w.active ? w.readOwner(buf, s, e, shard) : shard
  }

  /** A keyed write to `shard` during a warm-up window: a moved key's previous copy goes (warm-up.ts). */
  #wrote (buf: Uint8Array, s: number, e: number, shard: number): void {
    const w = this.core.warmUp
    if (w.active) w.wrote(buf, s, e, shard, this.#conn.id)
  }

  /** set/add/replace/append/prepend (5 tokens) and cas (6), plus noreply. */
  #storage (line: TextLine, want: number): number {
    const nt = line.ntokens
    if (nt !== want && nt !== want + 1) return this.#err(R.ERROR)
    const buf = line.buf
    // memcached's set_noreply_maybe: a last token "noreply" counts whatever the count.
    const noreply = this.#noreply(line)
    // memcached process_update_command: these answer CLIENT_ERROR (unless noreply) and
    // read no data block.
    const bad = (): number => noreply ? NO_DATA : this.#err(R.BAD_FORMAT)
    if (line.tokenLength(1) > KEY_MAX_LENGTH || !uintToken(buf, line.tokS[2], line.tokE[2], 0xffffffff) ||
        !intToken(buf, line.tokS[3], line.tokE[3]) || (want === 6 && !uintToken(buf, line.tokS[5], line.tokE[5], Number.MAX_SAFE_INTEGER))) {
      return bad()
    }
    const vlen = parseDigits(buf, line.tokS[4], line.tokE[4])
    if (vlen < 0 || vlen > 0x7ffffffd) return bad()
    const cipher = this.core.cipher
    if (cipher !== null) {
      if (line.op === Op.Append || line.op === Op.Prepend) return this.#refused(line, vlen, noreply)
      const cut = noreply ? trimRight(buf, line.start, line.tokS[nt - 1]) : line.end
      this.#pendingSeal = {
        head: buf.subarray(line.start, line.tokS[4]),
        tail: buf.subarray(line.tokE[4], Math.max(line.tokE[4], cut)),
        flags: parseDigits(buf, line.tokS[2], line.tokE[2]),
      }
    }
    this.#pendingShard = this.core.router.shardIndexOf(buf, line.tokS[1], line.tokE[1])
    this.#pendingKey = this.core.tree === null ? null : buf.subarray(line.tokS[1], line.tokE[1])
    this.#wrote(buf, line.tokS[1], line.tokE[1], this.#pendingShard)
    this.#pend(line, noreply ? trimRight(buf, line.start, line.tokS[nt - 1]) : line.end, false)
    this.#pendKey(buf, line.tokS[1], line.tokE[1])
    this.#pendingSlot = noreply ? null : this.#slot(false)
    return vlen + 2
  }

  /** mg ms md ma me: key is token 1; flags after it ('q' quiet, 'b' base64 key). */
  #meta (line: TextLine, withData: boolean): number {
    const buf = line.buf
    // No key: let a backend give memcached's exact error.
    if (line.ntokens < 2) return this.#anyHost(line, Kind.Meta)
    let quiet = false
    let base64 = false
    let touches = false
    for (let i = withData ? 3 : 2; i < line.ntokens; i++) {
      const f = buf[line.tokS[i]]
      if (f === 0x71 /* q */) quiet = true
      else if (f === 0x62 /* b */ && line.tokenLength(i) === 1) base64 = true
      else if (f === 0x54 /* T touch */ || f === 0x4e /* N vivify */) touches = true
    }
    if (this.core.cipher !== null && (withData || line.op === Op.MetaArithmetic || (line.op === Op.MetaGet && this.#metaHasFlag(line, 0x76 /* v */)))) {
      const vlen = withData && line.ntokens >= 3 ? parseDigits(buf, line.tokS[2], line.tokE[2]) : -1
      return this.#refused(line, vlen, false)
    }
    // Base64 keys are hashed (and counted as hot) decoded, as every protocol places them.
    let kb = buf
    let ks = line.tokS[1]
    let ke = line.tokE[1]
    if (base64) {
      kb = Buffer.from(buf.toString('latin1', ks, ke), 'base64')
      ks = 0
      ke = kb.length
    }
    // Reply semantics (a failure is a miss) vs routing (mg T / mg N change the item: writer only).
    const read = line.op === Op.MetaGet || line.op === Op.MetaDebug
    const anyCopy = read && !touches
    const shard = this.#readShard(anyCopy, kb, ks, ke, this.core.router.shardIndexOf(kb, ks, ke))
    if (!anyCopy) this.#wrote(kb, ks, ke, shard)
    if (withData) {
      const vlen = line.ntokens >= 3 ? parseDigits(buf, line.tokS[2], line.tokE[2]) : -1
      if (vlen >= 0) {
        this.#pendingShard = shard
        this.#pendingKey = this.core.tree === null ? null : kb.subarray(ks, ke)
        this.#pend(line, line.end, quiet)
        this.#pendKey(kb, ks, ke)
        this.#pendingSlot = this.#slot(false, true)
        return vlen + 2
      }
    }
    const slot = this.#slot(read, true)
    const wire = quiet ? Buffer.concat([this.#wireLine(line, false), MN_LINE]) : this.#wireLine(line, false)
    if (this.core.tree !== null && this.#viaTree(kb, ks, ke, wire, quiet ? Kind.MetaQuiet : Kind.Meta, quiet && read ? new QuietRead(slot) : slot, 0)) return NO_DATA
    const kind = quiet ? Kind.MetaQuiet : Kind.Meta
    const hot = anyCopy && line.op === Op.MetaGet ? this.core.hot?.read(kb, ks, ke) ?? null : null
    let sink: ReplySink = quiet && read ? new QuietRead(slot) : slot
    if (!anyCopy && line.op !== Op.MetaDebug) sink = this.#written(kb, ks, ke, sink)
    // mg (not me): a moved key that misses is read through during a warm-up window.
    if (anyCopy && line.op === Op.MetaGet && this.core.warmUp.active) sink = this.core.warmUp.meta(sink, Buffer.from(kb.subarray(ks, ke)), shard, wire, kind, this.#conn.id)
    if (!anyCopy && line.op !== Op.MetaDebug) {
      // md / ma / mg with T or N: a write (me never gets here: it is a read).
      const host = this.#writer(shard)
      if (host === null) this.#metaFail(slot, read, quiet)
      else this.#toWriter(shard, host, new Forward(wire, kind, sink), kb, ks, ke)
      return NO_DATA
    }
    if (!this.#fetch(shard, anyCopy, wire, kind, sink, 0, hot)) {
      this.#metaFail(slot, read, quiet)
    }
    return NO_DATA
  }

  #metaHasFlag (line: TextLine, flag: number): boolean {
    for (let i = 2; i < line.ntokens; i++) if (line.buf[line.tokS[i]] === flag) return true
    return false
  }

  #metaFail (slot: Slot, read: boolean, quiet: boolean): void {
    if (read && quiet) slot.onReply([]) // a quiet miss says nothing
    else if (read) slot.onReply([R.EN])
    else slot.onReply([serverError('no host')])
  }

  #pendKey (buf: Buffer, s: number, e: number): void {
    this.#pendingKeyBuf = buf
    this.#pendingKs = s
    this.#pendingKe = e
  }

  #pend (line: TextLine, cut: number, quiet: boolean): void {
    this.#pendingBuf = line.buf
    this.#pendingStart = line.start
    this.#pendingCut = cut
    this.#pendingEnd = line.end
    this.#pendingQuiet = quiet
  }

  onData (_line: TextLine, buf: Buffer, s: number, e: number): void {
    if (this.#pendingRefused) {
      this.#pendingRefused = false
      this.#pendingSlot?.onReply([REFUSED_TEXT])
      this.#pendingSlot = null
      return
    }
    const lb = this.#pendingBuf!
    const ls = this.#pendingStart
    const cut = this.#pendingCut
    let wire: Buffer
    const seal = this.#pendingSeal
    this.#pendingSeal = null
    // A data block not ending in \r\n is forwarded as it came, unsealed: the backend
    // answers it with memcached's own error (bad data chunk) and stores nothing.
    if (seal !== null && e - s >= 2 && buf[e - 2] === 13 && buf[e - 1] === 10) {
      wire = sealTextStorage(this.core.cipher!, seal.head, seal.tail, this.#pendingKeyBuf!, this.#pendingKs, this.#pendingKe, seal.flags, buf, s, e - 2) // [s, e) ends with the block's CRLF
    } else if (buf === lb && cut === this.#pendingEnd && s === cut + 2 && lb[cut] === 13 && !this.#pendingQuiet) {
      wire = buf.subarray(ls, e)
    } else {
      const n = cut - ls
      wire = Buffer.allocUnsafe(n + 2 + (e - s) + (this.#pendingQuiet ? MN_LINE.length : 0))
      lb.copy(wire, 0, ls, cut)
      wire[n] = 13
      wire[n + 1] = 10
      buf.copy(wire, n + 2, s, e)
      if (this.#pendingQuiet) MN_LINE.copy(wire, wire.length - MN_LINE.length)
    }
    this.#pendingBuf = null
    const slot = this.#pendingSlot
    const kb = this.#pendingKeyBuf!
    const sink = this.#written(kb, this.#pendingKs, this.#pendingKe, slot ?? DISCARD)
    this.#pendingKeyBuf = null
    this.#pendingSlot = null
    const key = this.#pendingKey
    this.#pendingKey = null
    const kind = this.#pendingQuiet ? Kind.MetaQuiet : slot?.meta === true ? Kind.Meta : Kind.Line
    if (key !== null && this.#viaTree(key, 0, key.length, wire, kind, sink, 0)) return
    const host = this.#writer(this.#pendingShard)
    if (host === null) {
      if (slot !== null) slot.onReply([serverError('no host')])
      return
    }
    this.#toWriter(this.#pendingShard, host, new Forward(wire, kind, sink), kb, this.#pendingKs, this.#pendingKe)
  }

  #flushAll (line: TextLine): number {
    const noreply = this.#noreply(line)
    const hosts = this.core.router.allHosts()
    const slot = noreply ? null : this.#slot(false)
    const total = this.core.router.shardCount
    const fan = new FanOut(slot, hosts.length, (replies) => {
      this.core.hot?.flushed()
      let reached = 0
      for (const r of replies) {
        if (r === null) continue
        const last = r[r.length - 1]!
        if (!last.equals(R.OK)) return [last]
        reached++
      }
      if (reached < total) return [Buffer.from(`SERVER_ERROR flush_all reached ${reached} of ${total} shards\r\n`)]
      return [R.OK]
    })
    // Cached hot values go now, and again once the hosts answered (a fill may have raced it).
    this.core.hot?.flushed()
    const wire = this.#wireLine(line, noreply)
    hosts.forEach((h, i) => h.send(new Forward(wire, Kind.Line, fan, i), this.#conn.id))
    return NO_DATA
  }

  #stats (line: TextLine): number {
    const buf = line.buf
    if (line.ntokens >= 2 && buf.toString('latin1', line.tokS[1], line.tokE[1]) === 'proxy') {
      this.#local(proxyStatsLines(this.core))
      return NO_DATA
    }
    if (line.ntokens === 2 && buf.toString('latin1', line.tokS[1], line.tokE[1]) === 'hotkeys') {
      this.#local(hotKeysStatsLines(this.core))
      return NO_DATA
    }
    const hosts = this.core.router.allHosts()
    const slot = this.#slot(false)
    const group = line.ntokens >= 2 ? buf.toString('latin1', line.tokS[1], line.tokE[1]) : ''
    const fan = new FanOut(slot, hosts.length, (replies) => mergeStats(replies, this.core, group))
    const wire = this.#wireLine(line, false)
    hosts.forEach((h, i) => h.send(new Forward(wire, Kind.Stats, fan, i), this.#conn.id))
    return NO_DATA
  }
}

/** A quiet mg: a backend failure is a quiet miss (nothing), not EN. */
class QuietRead implements ReplySink {
  constructor (readonly slot: Slot) {}
  onReply (pieces: Buffer[]): void { this.slot.onReply(pieces) }
  onFail (): void { this.slot.session.core.counters.proxy_failed_requests++; this.slot.onReply([]) }
}

/** A retrieval for some keys: `head` (the command and any exptime, with its space) + keys + CRLF. */
function partWire (head: Buffer, keys: readonly Buffer[]): Buffer {
  let n = head.length + 2
  for (const k of keys) n += k.length + 1
  const wire = Buffer.allocUnsafe(n)
  let o = head.copy(wire, 0)
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) wire[o++] = 0x20
    o += keys[i]!.copy(wire, o)
  }
  wire[o++] = 13
  wire[o++] = 10
  return wire.subarray(0, o)
}

function trimRight (buf: Buffer, s: number, e: number): number {
  while (e > s && buf[e - 1] === 0x20) e--
  return e
}

function parseDigits (buf: Buffer, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1
  let n = 0
  for (let i = s; i < e; i++) {
    const d = buf[i]! - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

function uintToken (buf: Buffer, s: number, e: number, max: number): boolean {
  const n = parseDigits(buf, s, e)
  return n >= 0 && n <= max
}

function intToken (buf: Buffer, s: number, e: number): boolean {
  return buf[s] === 0x2d ? parseDigits(buf, s + 1, e) >= 0 : parseDigits(buf, s, e) >= 0
}

