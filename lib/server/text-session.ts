/**
 * The classic text protocol for one connection: TextRequestParser -> commands -> store ->
 * Output. Semantics, counters and reply strings follow memcached 1.6.18's proto_text.c
 * (process_*_command); comments name the memcached behaviour copied on purpose, and
 * compat-tests pin it against the real daemon.
 *
 * Token counts below are ours (memcached's ntokens minus its terminal token).
 */
import { KEY_MAX_LENGTH, word, same } from '../../protocol/bytes.js'
import { parseI32, parseU32, parseU64, writeUint } from '../../protocol/numbers.js'
import { Op } from '../../protocol/request.js'
import { NO_DATA, TextRequestParser } from '../../protocol/text/request-parser.js'
import { isConfigGetCluster } from '../../protocol/text/cluster-config.js'
import type { TextLine, TextRequestHandler } from '../../protocol/text/request-parser.js'
import { StoreMode, StoreResult } from '../store/store.js'
import type { ConnControl, ServerContext } from './context.js'
import { ZERO_COPY_MIN } from './output.js'
import { writeStats } from './stats-report.js'
import { lruCommand } from './text-lru.js'
import { LogFlag, streamFlag } from './watchers.js'
import { MC_MAX_CLASSES, MetaDump, cachedump, metadumpClasses } from './dumps.js'

const R = {
  STORED: Buffer.from('STORED\r\n'),
  NOT_STORED: Buffer.from('NOT_STORED\r\n'),
  EXISTS: Buffer.from('EXISTS\r\n'),
  NOT_FOUND: Buffer.from('NOT_FOUND\r\n'),
  DELETED: Buffer.from('DELETED\r\n'),
  TOUCHED: Buffer.from('TOUCHED\r\n'),
  END: Buffer.from('END\r\n'),
  OK: Buffer.from('OK\r\n'),
  ERROR: Buffer.from('ERROR\r\n'),
  CRLF: Buffer.from('\r\n'),
  VALUE: Buffer.from('VALUE '),
  RESET: Buffer.from('RESET\r\n'),
  BAD_FORMAT: Buffer.from('CLIENT_ERROR bad command line format\r\n'),
  BAD_DELETE: Buffer.from('CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n'),
  BAD_CHUNK: Buffer.from('CLIENT_ERROR bad data chunk\r\n'),
  BAD_EXPTIME: Buffer.from('CLIENT_ERROR invalid exptime argument\r\n'),
  BAD_DELTA: Buffer.from('CLIENT_ERROR invalid numeric delta argument\r\n'),
  NON_NUMERIC: Buffer.from('CLIENT_ERROR cannot increment or decrement non-numeric value\r\n'),
  TOO_LARGE: Buffer.from('SERVER_ERROR object too large for cache\r\n'),
  NO_MEMORY_STORE: Buffer.from('SERVER_ERROR out of memory storing object\r\n'),
  NO_MEMORY: Buffer.from('SERVER_ERROR out of memory\r\n'),
  FLUSH_DISABLED: Buffer.from('CLIENT_ERROR flush_all not allowed\r\n'),
  SHUTDOWN_DISABLED: Buffer.from('ERROR: shutdown not enabled\r\n'),
  SHUTDOWN_BAD: Buffer.from('CLIENT_ERROR invalid shutdown mode\r\n'),
  STATS_BAD: Buffer.from('CLIENT_ERROR bad command line\r\n'),
  DETAIL_USAGE: Buffer.from('CLIENT_ERROR usage: stats detail on|off|dump\r\n'),
}

const NOREPLY = word('noreply')
const W_GRACEFUL = word('graceful')
const W_REASSIGN = word('reassign')
const W_AUTOMOVE = word('automove')
const W_CRAWL = word('crawl')
const W_METADUMP = word('metadump')
const W_TOCRAWL = word('tocrawl')
const W_SLEEP = word('sleep')
const W_ENABLE = word('enable')
const W_DISABLE = word('disable')
const W_ZERO = word('0')
const W_ON = word('on')
const W_OFF = word('off')
const W_DUMP = word('dump')
const HTTP = word('HTTP/')


export class TextSession implements TextRequestHandler {
  readonly parser: TextRequestParser
  /** noreply of the request being handled (memcached c->noreply). */
  protected noreply = false
  /** Storage command waiting for its data block. */
  private pendingItem = 0
  private pendingMode: StoreMode = StoreMode.Set
  private pendingCas = 0
  /** Set by pause(): the connection waits for the client to read. */
  private yielded = false
  /** Keys of a multiget stopped by backpressure (a copy), with its options. */
  private rest: Buffer | null = null
  /** A running `lru_crawler metadump` (dumps.ts); input waits while it runs. */
  private dump: MetaDump | null = null
  private endAfterDump = false
  private restCas = false
  private restTouch = false
  private restExptime = 0
  private reqsThisEvent = 0
  private reqsAllowed = 21
  /** Requests handled since memcached would last have transmitted (resp_has_stack). */
  private sinceTransmit = 0
  /** This connection became a `watch` stream: its input is ignored from now on. */
  private watching = false
  /** The data block of the current storage command is to be timed (ctx.requestTimer). */
  private timeData = false

  constructor (private readonly conn: ConnControl, private readonly ctx: ServerContext) {
    this.parser = new TextRequestParser(this)
  }

  push (chunk: Buffer): void {
    // A read event that starts with all earlier input consumed serves -R + 1 requests
    // before memcached transmits and yields; later slices serve -R (measured against
    // memcached 1.6.18; the binary session does the same).
    if (this.watching) return // memcached reads and drops a watcher's input
    if (this.ctx.watchers.active) this.ctx.watchers.cfd = this.conn.id
    this.reqsThisEvent = 0
    this.reqsAllowed = this.ctx.settings.maxReqsPerEvent + 1
    this.sinceTransmit = 0
    this.parser.push(chunk)
    // The wake-up that used its whole -R budget counts a yield too (conn_new_cmd with nreqs spent).
    if (this.reqsThisEvent >= this.reqsAllowed) this.ctx.stats.conn_yields++
  }

  /** The connection's output is congested: stop after the current request (or key). */
  pause (): void {
    this.yielded = true
    this.parser.pause()
  }

  /** The socket drained: finish a multiget stopped mid-line, then go on parsing. */
  resume (): void {
    if (this.watching) { this.ctx.watchers.drained(this.conn); return }
    if (this.dump !== null) { this.dump.resume(); return }
    if (this.ctx.watchers.active) this.ctx.watchers.cfd = this.conn.id
    this.yielded = false
    const rest = this.rest
    if (rest !== null) {
      this.rest = null
      this.getKeys(rest, 0, rest.length, this.restCas, this.restTouch, this.restExptime)
      // Stopped again, or the END filled the socket: the parser stays paused until the
      // next drain calls resume() again.
      if (this.rest !== null || this.yielded) return
    }
    this.parser.resume()
  }

  /** The client half-closed: a running dump finishes first (see lruCrawler). */
  endInput (): boolean {
    if (this.dump === null) return false
    this.endAfterDump = true
    return true
  }

  /** The connection is going away: release an item allocated for a data block not yet read. */
  close (): void {
    if (this.watching) this.ctx.watchers.remove(this.conn)
    if (this.dump !== null) { this.dump.stop(); this.dump = null }
    if (this.pendingItem > 0) { this.ctx.store.free(this.pendingItem); this.pendingItem = 0 }
    this.rest = null
    this.parser.halt()
  }

  onFatal (): void {
    this.conn.destroy()
  }

  /**
   * memcached out_string(): a reply unless noreply is in force. Every one-line reply of a
   * classic command goes through here or replyAscii(), so the -vv session (verbose.ts) sees
   * each one as memcached prints it; VALUE blocks go through writeValue().
   */
  protected reply (b: Buffer): void {
    if (this.noreply) { this.noreply = false; return }
    this.conn.out.bytes(b)
  }

  private setNoreply (line: TextLine): boolean {
    // memcached set_noreply_maybe: the last token is "noreply".
    const n = line.ntokens
    if (n > 1 && same(line.buf, line.tokS[n - 1], line.tokE[n - 1], NOREPLY)) this.noreply = true
    return this.noreply
  }

  onLine (line: TextLine): number {
    const timer = this.ctx.requestTimer
    if (timer == null || !timer.due()) return this.dispatch(line)
    const t0 = performance.now()
    const n = this.dispatch(line)
    // A storage command's work is done on its data block: onData times that instead.
    if (n === NO_DATA) timer.record(line.op, (performance.now() - t0) / 1000)
    else this.timeData = true
    return n
  }

  private dispatch (line: TextLine): number {
    this.noreply = false
    // memcached handles at most reqs_per_event (-R) requests per wake-up, then transmits.
    if (++this.reqsThisEvent > this.reqsAllowed) {
      this.reqsThisEvent = 1
      this.reqsAllowed = this.ctx.settings.maxReqsPerEvent
      this.conn.out.commit()
      this.ctx.stats.conn_yields++ // memcached counts each wake-up that ran out of -R
      this.sinceTransmit = 0
    }
    this.sinceTransmit++
    const n = line.ntokens
    // memcached: fewer than two bytes of command is never valid.
    if (n === 0 || line.tokenLength(0) < 2) { this.reply(R.ERROR); return NO_DATA }
    switch (line.op) {
      case Op.Get: case Op.Bget: return this.get(line, false, false)
      case Op.Gets: return this.get(line, true, false)
      case Op.Gat: return this.get(line, false, true)
      case Op.Gats: return this.get(line, true, true)
      case Op.Set: return this.update(line, StoreMode.Set)
      case Op.Add: return this.update(line, StoreMode.Add)
      case Op.Replace: return this.update(line, StoreMode.Replace)
      case Op.Append: return this.update(line, StoreMode.Append)
      case Op.Prepend: return this.update(line, StoreMode.Prepend)
      case Op.Cas: return this.update(line, StoreMode.Cas)
      case Op.Delete: this.delete(line); this.settle(); return NO_DATA
      case Op.Incr: this.arith(line, true); this.settle(); return NO_DATA
      case Op.Decr: this.arith(line, false); this.settle(); return NO_DATA
      case Op.Touch: this.touch(line); this.settle(); return NO_DATA
      case Op.FlushAll: this.flushAll(line); this.settle(); return NO_DATA
      case Op.Stats: this.statsCmd(line); return NO_DATA
      case Op.Version: this.version(); return NO_DATA
      case Op.Verbosity: this.verbosity(line); return NO_DATA
      case Op.Quit: this.conn.closeAfterWrite(true); this.parser.halt(); return NO_DATA
      case Op.Shutdown: this.shutdown(line); return NO_DATA
      case Op.CacheMemlimit: this.memlimit(line); return NO_DATA
      case Op.Slabs: this.slabs(line); return NO_DATA
      case Op.LruCrawler: this.lruCrawler(line); return NO_DATA
      case Op.Lru:
        // memcached WANT_TOKENS_MIN(3), then set_noreply_maybe and process_lru_command.
        if (n < 2) { this.reply(R.ERROR); return NO_DATA }
        this.setNoreply(line)
        this.replyAscii(lruCommand(line, this.ctx))
        return NO_DATA
      case Op.Watch: this.watch(line); return NO_DATA
      case Op.RefreshCerts: {
        // memcached answers even with noreply, and "Error TLS not enabled" without -Z.
        const t = this.ctx.tls
        this.replyAscii(t == null ? 'Error TLS not enabled' : t.refresh() ?? 'OK')
        return NO_DATA
      }
      case Op.Config: {
        // ElastiCache auto discovery; memcached itself answers ERROR (so do we standalone).
        const src = this.ctx.clusterConfig
        this.reply(src != null && isConfigGetCluster(line) ? src.reply() : R.ERROR)
        return NO_DATA
      }
      case Op.MetaNoop:
        // memcached transmits at mn.
        this.sinceTransmit = 0
        if (this.ctx.meta !== null) return this.ctx.meta.onLine(this.conn, line, this.ctx)
        this.reply(R.ERROR)
        return NO_DATA
      case Op.MetaGet: case Op.MetaSet: case Op.MetaDelete: case Op.MetaArithmetic:
      case Op.MetaDebug: case Op.MetaUnknown:
        if (this.ctx.meta !== null) return this.ctx.meta.onLine(this.conn, line, this.ctx)
        this.reply(R.ERROR)
        return NO_DATA
      default:
        if (this.ctx.upgrades.length > 0 && this.upgrade(line)) return NO_DATA
        if (this.ctx.localCommands.length > 0 && this.local(line)) return NO_DATA
        // memcached closes on what looks like an HTTP request line, without a reply.
        if (n >= 1) {
          const last = n - 1
          if (line.tokenLength(last) >= 5 && same(line.buf, line.tokS[last], line.tokS[last] + 5, HTTP)) {
            this.parser.halt()
            this.conn.destroy()
            return NO_DATA
          }
        }
        this.reply(R.ERROR)
        return NO_DATA
    }
  }

  /** A command that takes the connection over (ctx.upgrades): true when it did. */
  private upgrade (line: TextLine): boolean {
    const word = line.buf.toString('latin1', line.tokS[0], line.tokE[0])
    const up = this.ctx.upgrades.find((u) => u.word === word)
    if (up === undefined) return false
    const args: string[] = []
    for (let i = 1; i < line.ntokens; i++) args.push(line.buf.toString('latin1', line.tokS[i], line.tokE[i]))
    this.parser.halt()
    const socket = this.conn.detach?.() ?? null
    if (socket !== null) up.take(socket, args)
    return true
  }

  /** A memring-only command (ctx.localCommands): true when it was one (its reply is queued). */
  private local (line: TextLine): boolean {
    const b = line.buf
    const n = line.tokE[0] - line.tokS[0]
    for (const c of this.ctx.localCommands) {
      if (c.word.length !== n || b.toString('latin1', line.tokS[0], line.tokE[0]) !== c.word) continue
      this.reply(c.run(b, line.tokS, line.tokE, line.ntokens))
      return true
    }
    return false
  }

  /** A replica (or a master short of replicas) refuses client writes: one error line, sent
   *  even with noreply (as memcached sends errors). True when refused. */
  private refused (): boolean {
    let ro = this.ctx.readOnly
    if (ro === null) {
      const gate = this.ctx.writeGate
      if (gate === null) return false
      // --min-replicas-to-ack: refused when too few replicas are online; otherwise the
      // write goes ahead and its reply may have to wait (settle()).
      ro = gate.refuse()
      if (ro === null) { this.conn.out.holdBegin(); return false }
    }
    this.noreply = false
    this.reply(ro.line)
    return true
  }

  /** A write's reply is queued: it waits for the write gate if there is one (see refused()). */
  private settle (): void {
    const out = this.conn.out
    if (!out.holding) return
    const gate = this.ctx.writeGate
    out.holdEnd(gate === null ? null : gate.hold(), gate === null ? null : gate.failLine)
  }

  onData (line: TextLine, buf: Buffer, s: number, e: number): void {
    if (!this.timeData) { this.data(line, buf, s, e); return }
    this.timeData = false
    const t0 = performance.now()
    this.data(line, buf, s, e)
    this.ctx.requestTimer?.record(line.op, (performance.now() - t0) / 1000)
  }

  private data (line: TextLine, buf: Buffer, s: number, e: number): void {
    if (line.op >= Op.MetaGet && line.op <= Op.MetaUnknown) {
      if (this.ctx.meta !== null) this.ctx.meta.onData(this.conn, line, buf, s, e, this.ctx)
      return
    }
    this.completeUpdate(buf, s, e)
    this.settle()
  }

  // ---- retrieval ----------------------------------------------------------------------

  private get (line: TextLine, withCas: boolean, touch: boolean): number {
    const store = this.ctx.store
    if (line.ntokens < 2) { this.reply(R.ERROR); return NO_DATA }
    let exptime = 0
    let k = 1
    if (touch) {
      const t = parseI32(line.buf, line.tokS[1], line.tokE[1])
      if (Number.isNaN(t)) { this.reply(R.BAD_EXPTIME); return NO_DATA }
      if (this.refused()) return NO_DATA
      exptime = store.relExptime(t)
      k = 2
    }
    // A multiget: let the store start every key's memory loads at once (measured: a third
    // less time per key lookup with items spread over 60 MB).
    if (line.ntokens - k >= 2) store.prefetch(line.buf, line.tokS, line.tokE, k, line.ntokens)
    // Walk keys from the first key token to the end of the line (memcached re-tokenizes
    // past 23 tokens; walking with a scan gives the same keys).
    return this.getKeys(line.buf, k < line.ntokens ? line.tokS[k] : line.end, line.end, withCas, touch, exptime)
  }

  /**
   * Answers the keys in buf[p, end). When the client is not reading and the replies
   * queued reach the connection's high-water mark, stops after the current key: the
   * remaining keys are copied and answered by resume() once the socket drains, so one
   * multiget cannot queue more than about a value beyond the mark.
   */
  private getKeys (buf: Buffer, p: number, end: number, withCas: boolean, touch: boolean, exptime: number): number {
    const store = this.ctx.store
    const stats = this.ctx.stats
    const out = this.conn.out
    while (p < end) {
      if (buf[p] === 32) { p++; continue }
      let q = p
      while (q < end && buf[q] !== 32) q++
      if (q - p > KEY_MAX_LENGTH) {
        // memcached drops the replies stacked so far on this connection and answers
        // with one error (process_get_command "fail_length").
        out.discard()
        this.reply(R.BAD_FORMAT)
        this.settle() // a gat: the keys before this one were touched
        return NO_DATA
      }
      const h = store.find(buf, p, q)
      if (this.ctx.prefixStats.enabled) this.ctx.prefixStats.recordGet(buf, p, q, h !== 0)
      if (h !== 0) {
        const c = store.clsid(h)
        if (touch) {
          store.setExptime(h, exptime)
          stats.cmd_touch++
          stats.touch_hits++
          store.cls.touchHits[c]++
        } else {
          stats.get_hits++
          stats.cmd_get++
          store.cls.getHits[c]++
        }
        store.touchRead(h)
        this.writeValue(h, buf, p, q, withCas)
        this.conn.pauseInput()
        if (this.yielded && q < end) {
          this.rest = Buffer.from(buf.subarray(q, end))
          this.restCas = withCas
          this.restTouch = touch
          this.restExptime = exptime
          return NO_DATA
        }
      } else if (touch) {
        stats.cmd_touch++
        stats.touch_misses++
      } else {
        stats.get_misses++
        stats.cmd_get++
      }
      p = q
    }
    this.reply(R.END) // never noreply: a get has no noreply token
    if (touch) this.settle()
    // memcached transmits after every get (conn_mwrite): these replies can no longer be culled.
    out.commit()
    this.sinceTransmit = 0
    this.conn.pauseInput()
    return NO_DATA
  }

  /** VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n */
  protected writeValue (h: number, kb: Uint8Array, ks: number, ke: number, withCas: boolean): void {
    const store = this.ctx.store
    const out = this.conn.out
    const nbytes = store.nbytes(h)
    const nkey = ke - ks
    // Header: "VALUE " + key + " " + flags(<=10) + " " + bytes(<=10) + [" " + cas(<=20)] + CRLF
    const headMax = 6 + nkey + 1 + 10 + 1 + 10 + 21 + 2
    const small = nbytes < ZERO_COPY_MIN // larger values: a pinned view of slab memory (or a Buffer of their own)
    const max = headMax + (small ? nbytes + 2 : 0)
    let o = out.reserveRaw(max)
    const t = out.target()
    const start = o
    t[o++] = 86; t[o++] = 65; t[o++] = 76; t[o++] = 85; t[o++] = 69; t[o++] = 32 // "VALUE "
    for (let i = ks; i < ke; i++) t[o++] = kb[i]
    t[o++] = 32
    o = writeUint(t, o, store.flags(h))
    t[o++] = 32
    o = writeUint(t, o, nbytes)
    if (withCas) { t[o++] = 32; o = writeUint(t, o, store.cas(h)) }
    t[o++] = 13; t[o++] = 10
    if (small) {
      o = store.copyValue(h, t, o)
      t[o++] = 13; t[o++] = 10
      out.unreserve(max - (o - start))
      return
    }
    out.unreserve(max - (o - start))
    if (nbytes >= ZERO_COPY_MIN && out.pinnedValue(store, h)) { out.bytes(R.CRLF); return }
    const v = Buffer.allocUnsafe(nbytes + 2)
    store.copyValue(h, v, 0)
    v[nbytes] = 13; v[nbytes + 1] = 10
    out.owned(v)
  }

  // ---- storage ------------------------------------------------------------------------

  /** memcached process_update_command. */
  private update (line: TextLine, mode: StoreMode): number {
    const n = line.ntokens
    const isCas = mode === StoreMode.Cas
    if (isCas ? (n !== 6 && n !== 7) : (n !== 5 && n !== 6)) { this.reply(R.ERROR); return NO_DATA }
    this.setNoreply(line)
    const buf = line.buf
    const ks = line.tokS[1]
    const ke = line.tokE[1]
    if (ke - ks > KEY_MAX_LENGTH) { this.reply(R.BAD_FORMAT); return NO_DATA }
    const flags = parseU32(buf, line.tokS[2], line.tokE[2])
    const exptime = parseI32(buf, line.tokS[3], line.tokE[3])
    const vlen = parseI32(buf, line.tokS[4], line.tokE[4])
    if (flags < 0 || Number.isNaN(exptime) || Number.isNaN(vlen)) { this.reply(R.BAD_FORMAT); return NO_DATA }
    let cas = 0
    if (isCas) {
      const c = parseU64(buf, line.tokS[5], line.tokE[5])
      if (c < 0n) { this.reply(R.BAD_FORMAT); return NO_DATA }
      cas = Number(c)
    }
    if (vlen < 0 || vlen > 0x7fffffff - 2) { this.reply(R.BAD_FORMAT); return NO_DATA }
    // memcached counts the set here, before the item is allocated (so also when too large).
    if (this.ctx.prefixStats.enabled) this.ctx.prefixStats.recordSet(buf, ks, ke)
    if (this.refused()) { line.swallow = true; return vlen + 2 }
    const store = this.ctx.store
    const h = store.alloc(buf, ks, ke, flags, store.relExptime(exptime), vlen)
    if (h < 0) {
      if (h === -StoreResult.TooLarge) {
        this.reply(R.TOO_LARGE)
        this.ctx.stats.store_too_large++
      } else {
        this.reply(R.NO_MEMORY_STORE)
        this.ctx.stats.store_no_memory++
      }
      const w = this.ctx.watchers
      if (w.active) w.storeFailed(h === -StoreResult.TooLarge ? StoreResult.TooLarge : StoreResult.NoMemory, mode, buf, ks, ke)
      // memcached: a failed set must not leave the old value readable.
      if (mode === StoreMode.Set) {
        const old = store.find(buf, ks, ke)
        if (old !== 0) store.unlink(old)
      }
      line.swallow = true
      this.noreply = false
      this.settle()
      return vlen + 2
    }
    this.pendingItem = h
    this.pendingMode = mode
    this.pendingCas = cas
    // A value split over input chunks goes straight into the item (onDataPart), not into a
    // buffer of its own first: no copy of a large value outside slab memory.
    line.stream = true
    return vlen + 2
  }

  /** memcached complete_nread_ascii. `buf[s, e)` is the value plus its CRLF. */
  private completeUpdate (buf: Buffer, s: number, e: number): void {
    const store = this.ctx.store
    const h = this.pendingItem
    this.pendingItem = 0
    if (h <= 0) return
    this.ctx.stats.cmd_set++
    if (buf[e - 2] !== 13 || buf[e - 1] !== 10) {
      store.free(h)
      this.reply(R.BAD_CHUNK)
      return
    }
    store.writeValue(h, buf, s, e - 2, 0)
    this.linkPending(h)
  }

  onDataPart (_line: TextLine, buf: Buffer, s: number, e: number, at: number): void {
    if (this.pendingItem > 0) this.ctx.store.writeValue(this.pendingItem, buf, s, e, at)
  }

  onDataEnd (line: TextLine, crlf: boolean): void {
    const t0 = this.timeData ? performance.now() : 0
    const h = this.pendingItem
    this.pendingItem = 0
    if (h > 0) {
      this.ctx.stats.cmd_set++
      if (crlf) this.linkPending(h); else { this.ctx.store.free(h); this.reply(R.BAD_CHUNK) }
    }
    this.settle()
    if (this.timeData) {
      this.timeData = false
      this.ctx.requestTimer?.record(line.op, (performance.now() - t0) / 1000)
    }
  }

  /** Links the item whose value is in place, as the pending command asks, and replies. */
  private linkPending (h: number): void {
    const store = this.ctx.store
    const mode = this.pendingMode
    const res = store.link(h, mode, this.pendingCas)
    if (mode === StoreMode.Cas) {
      const st = this.ctx.stats
      if (res === StoreResult.Stored) st.cas_hits++
      else if (res === StoreResult.Exists) st.cas_badval++
      else if (res === StoreResult.NotFound) st.cas_misses++
    }
    switch (res) {
      case StoreResult.Stored: this.reply(R.STORED); break
      case StoreResult.Exists: this.reply(R.EXISTS); break
      case StoreResult.NotFound: this.reply(R.NOT_FOUND); break
      default: this.reply(R.NOT_STORED); break
    }
  }

  // ---- other key commands ---------------------------------------------------------------

  private delete (line: TextLine): void {
    const n = line.ntokens
    if (n < 2 || n > 4) { this.reply(R.ERROR); return }
    const buf = line.buf
    if (n > 2) {
      const holdIsZero = same(buf, line.tokS[2], line.tokE[2], W_ZERO)
      const noreply = this.setNoreply(line)
      const valid = (n === 3 && (holdIsZero || noreply)) || (n === 4 && holdIsZero && noreply)
      if (!valid) { this.reply(R.BAD_DELETE); return }
    }
    const ks = line.tokS[1]
    const ke = line.tokE[1]
    if (ke - ks > KEY_MAX_LENGTH) { this.reply(R.BAD_FORMAT); return }
    if (this.ctx.prefixStats.enabled) this.ctx.prefixStats.recordDelete(buf, ks, ke)
    if (this.refused()) return
    const store = this.ctx.store
    const h = store.find(buf, ks, ke)
    if (h !== 0) {
      store.cls.deleteHits[store.clsid(h)]++
      this.ctx.stats.delete_hits++
      store.unlink(h)
      this.reply(R.DELETED)
    } else {
      this.ctx.stats.delete_misses++
      this.reply(R.NOT_FOUND)
    }
  }

  private arith (line: TextLine, incr: boolean): void {
    const n = line.ntokens
    if (n !== 3 && n !== 4) { this.reply(R.ERROR); return }
    this.setNoreply(line)
    const buf = line.buf
    const ks = line.tokS[1]
    const ke = line.tokE[1]
    if (ke - ks > KEY_MAX_LENGTH) { this.reply(R.BAD_FORMAT); return }
    const delta = parseU64(buf, line.tokS[2], line.tokE[2])
    if (delta < 0n) { this.reply(R.BAD_DELTA); return }
    if (this.refused()) return
    const store = this.ctx.store
    const stats = this.ctx.stats
    const h = store.find(buf, ks, ke)
    if (h === 0) {
      if (incr) stats.incr_misses++; else stats.decr_misses++
      this.reply(R.NOT_FOUND)
      return
    }
    const res = store.arith(h, incr, delta, 0)
    if (res === StoreResult.Stored) {
      if (incr) stats.incr_hits++; else stats.decr_hits++
      this.replyAscii(store.lastArith().toString())
    } else if (res === StoreResult.NonNumeric) {
      this.reply(R.NON_NUMERIC)
    } else {
      this.reply(R.NO_MEMORY)
    }
  }

  private touch (line: TextLine): void {
    const n = line.ntokens
    if (n !== 3 && n !== 4) { this.reply(R.ERROR); return }
    this.setNoreply(line)
    const buf = line.buf
    const ks = line.tokS[1]
    const ke = line.tokE[1]
    if (ke - ks > KEY_MAX_LENGTH) { this.reply(R.BAD_FORMAT); return }
    const t = parseI32(buf, line.tokS[2], line.tokE[2])
    if (Number.isNaN(t)) { this.reply(R.BAD_EXPTIME); return }
    if (this.refused()) return
    const store = this.ctx.store
    const stats = this.ctx.stats
    const h = store.find(buf, ks, ke)
    stats.cmd_touch++
    if (h !== 0) {
      store.setExptime(h, store.relExptime(t))
      store.touchRead(h)
      stats.touch_hits++
      store.cls.touchHits[store.clsid(h)]++
      this.reply(R.TOUCHED)
    } else {
      stats.touch_misses++
      this.reply(R.NOT_FOUND)
    }
  }

  // ---- administrative -------------------------------------------------------------------

  private flushAll (line: TextLine): void {
    const n = line.ntokens
    if (n < 1 || n > 3) { this.reply(R.ERROR); return }
    this.setNoreply(line)
    this.ctx.stats.cmd_flush++
    if (!this.ctx.settings.flushEnabled) { this.reply(R.FLUSH_DISABLED); return }
    let exptime = 0
    if (n !== (this.noreply ? 2 : 1)) {
      exptime = parseI32(line.buf, line.tokS[1], line.tokE[1])
      if (Number.isNaN(exptime)) { this.reply(R.BAD_EXPTIME); return }
    }
    if (this.refused()) return
    const store = this.ctx.store
    const at = exptime > 0 ? store.relExptime(exptime) : store.now()
    store.flush(at)
    this.reply(R.OK)
  }

  private version (): void {
    this.replyAscii(`VERSION ${this.ctx.settings.version}`)
  }

  private verbosity (line: TextLine): void {
    const n = line.ntokens
    if (n !== 2 && n !== 3) { this.reply(R.ERROR); return }
    this.setNoreply(line)
    const level = parseU32(line.buf, line.tokS[1], line.tokE[1])
    if (level < 0) { this.reply(R.BAD_FORMAT); return }
    this.ctx.settings.verbosity = Math.min(level, 2)
    this.reply(R.OK)
  }

  private shutdown (line: TextLine): void {
    if (!this.ctx.settings.shutdownCommand) { this.reply(R.SHUTDOWN_DISABLED); return }
    const n = line.ntokens
    if (n === 1) {
      this.parser.halt(); this.conn.destroy(); this.ctx.requestShutdown(false)
    } else if (n === 2 && same(line.buf, line.tokS[1], line.tokE[1], W_GRACEFUL)) {
      this.parser.halt(); this.conn.destroy(); this.ctx.requestShutdown(true)
    } else {
      this.reply(R.SHUTDOWN_BAD)
    }
  }

  private memlimit (line: TextLine): void {
    const n = line.ntokens
    if (n !== 2 && n !== 3) { this.reply(R.ERROR); return }
    this.setNoreply(line)
    const mb = parseU32(line.buf, line.tokS[1], line.tokE[1])
    if (mb < 0) { this.reply(R.ERROR); return }
    if (mb < 8) { this.replyAscii('MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m'); return }
    if (mb > 1000000000) { this.replyAscii('MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes'); return }
    // Like memcached: the limit moves; pages already allocated beyond it are not freed.
    this.ctx.store.slabs.memoryLimitBytes = mb * 1024 * 1024
    this.ctx.settings.memoryLimitMb = mb
    this.reply(R.OK)
  }

  protected replyAscii (s: string): void {
    if (this.noreply) { this.noreply = false; return }
    this.conn.out.ascii(s)
    this.conn.out.bytes(R.CRLF)
  }

  private slabs (line: TextLine): void {
    const n = line.ntokens
    const buf = line.buf
    if (n === 4 && same(buf, line.tokS[1], line.tokE[1], W_REASSIGN)) {
      if (!this.ctx.settings.slabReassign) { this.replyAscii('CLIENT_ERROR slab reassignment disabled'); return }
      const src = parseI32(buf, line.tokS[2], line.tokE[2])
      const dst = parseI32(buf, line.tokS[3], line.tokE[3])
      if (Number.isNaN(src) || Number.isNaN(dst)) { this.reply(R.BAD_FORMAT); return }
      const store = this.ctx.store
      const largest = store.slabs.largest
      if (src === dst) { this.replyAscii('SAME src and dst class are identical'); return }
      if (dst < 1 || dst > largest || (src !== -1 && (src < 1 || src > largest))) {
        this.replyAscii('BADCLASS invalid src or dst class id'); return
      }
      const from = src === -1 ? this.anyDonor(dst) : src
      if (from === 0 || store.slabs.pagesOf[from] < 2) { this.replyAscii('NOSPARE source class has no spare pages'); return }
      if (!store.reassignPage(from, dst)) { this.replyAscii('BUSY currently processing reassign request'); return }
      this.reply(R.OK)
      return
    }
    if (n >= 3 && same(buf, line.tokS[1], line.tokE[1], W_AUTOMOVE)) {
      const v = parseU32(buf, line.tokS[2], line.tokE[2])
      if (v < 0) { this.reply(R.BAD_FORMAT); return }
      if (v > 2) { this.reply(R.ERROR); return }
      this.ctx.settings.slabAutomove = v
      this.reply(R.OK)
      return
    }
    this.reply(R.ERROR)
  }

  private anyDonor (dst: number): number {
    const s = this.ctx.store.slabs
    for (let c = 1; c <= s.largest; c++) if (c !== dst && s.pagesOf[c] > 1) return c
    return 0
  }

  private lruCrawler (line: TextLine): void {
    const n = line.ntokens
    const buf = line.buf
    const settings = this.ctx.settings
    const sub = (w: Uint8Array): boolean => same(buf, line.tokS[1], line.tokE[1], w)
    if (n === 3 && sub(W_CRAWL)) {
      if (!settings.lruCrawler) { this.replyAscii('CLIENT_ERROR lru crawler disabled'); return }
      this.ctx.store.crawlAll()
      this.reply(R.OK)
    } else if (n === 3 && sub(W_METADUMP)) {
      if (!settings.lruCrawler) { this.replyAscii('CLIENT_ERROR lru crawler disabled'); return }
      // memcached hands the connection to its crawler, so replies still queued would be
      // overtaken by the dump: it refuses instead.
      if (this.conn.out.pendingBytes > 0) { this.replyAscii('ERROR cannot pipeline other commands before metadump'); return }
      const classes = metadumpClasses(buf.toString('latin1', line.tokS[2], line.tokE[2]))
      if (classes === null) { this.replyAscii('BADCLASS invalid class id'); return }
      // Input after the command waits in the parser until the dump has ended.
      this.parser.pause()
      this.dump = new MetaDump(this.ctx, this.conn, classes, () => {
        this.dump = null
        this.resume()
        // Replies to input pipelined after the dump: nothing else flushes them (no drain
        // comes when the socket took the dump's last page at once).
        this.conn.flush()
        // The client half-closed during the dump: close once everything is out, as
        // memcached's crawler finishes its dump before the connection goes.
        if (this.endAfterDump) { this.conn.closeAfterWrite(); this.conn.flush() }
      })
      this.dump.start()
    } else if (n === 3 && sub(W_TOCRAWL)) {
      const v = parseU32(buf, line.tokS[2], line.tokE[2])
      if (v < 0) { this.reply(R.BAD_FORMAT); return }
      this.reply(R.OK)
    } else if (n === 3 && sub(W_SLEEP)) {
      const v = parseU32(buf, line.tokS[2], line.tokE[2])
      if (v < 0) { this.reply(R.BAD_FORMAT); return }
      if (v > 1000000) { this.replyAscii('CLIENT_ERROR sleep must be one second or less'); return }
      settings.lruCrawlerSleepUs = v
      this.reply(R.OK)
    } else if (n === 2 && sub(W_ENABLE)) {
      settings.lruCrawler = true
      this.reply(R.OK)
    } else if (n === 2 && sub(W_DISABLE)) {
      settings.lruCrawler = false
      this.reply(R.OK)
    } else {
      this.reply(R.ERROR)
    }
  }

  /**
   * memcached process_watch_command: `watch [stream ...]` (no argument = fetchers). On
   * success "OK" and the connection only receives log lines from then on (watchers.ts).
   */
  private watch (line: TextLine): void {
    this.setNoreply(line)
    if (!this.ctx.settings.watchEnabled) { this.replyAscii('CLIENT_ERROR watch commands not allowed'); return }
    // memcached resp_has_stack: replies not yet transmitted in this read.
    if (this.sinceTransmit > 1) { this.replyAscii('ERROR cannot pipeline other commands before watch'); return }
    const n = line.ntokens
    let flags = 0
    if (n > 1) {
      for (let i = 1; i < n; i++) {
        const f = streamFlag(line.buf.toString('latin1', line.tokS[i], line.tokE[i]))
        if (f === 0) { this.reply(R.ERROR); return }
        flags |= f
      }
    } else {
      flags = LogFlag.Fetchers
    }
    if (!this.ctx.watchers.add(this.conn, flags)) { this.replyAscii('WATCHER_TOO_MANY log watcher limit reached'); return }
    this.reply(R.OK)
    this.watching = true
    this.parser.halt()
  }

  private statsCmd (line: TextLine): void {
    const n = line.ntokens
    const out = this.conn.out
    if (n === 1) { writeStats(out, this.ctx, 'general'); return }
    const buf = line.buf
    const s = line.tokS[1]
    const e = line.tokE[1]
    const name = buf.toString('latin1', s, e)
    switch (name) {
      case 'reset':
        this.ctx.stats.reset()
        this.ctx.store.resetStats()
        this.ctx.prefixStats.clear()
        this.reply(R.RESET)
        return
      case 'detail':
        if (n < 3) { this.reply(R.DETAIL_USAGE); return }
        if (same(buf, line.tokS[2], line.tokE[2], W_ON)) { this.ctx.prefixStats.enabled = true; this.reply(R.OK); return }
        if (same(buf, line.tokS[2], line.tokE[2], W_OFF)) { this.ctx.prefixStats.enabled = false; this.reply(R.OK); return }
        if (same(buf, line.tokS[2], line.tokE[2], W_DUMP)) { out.bytes(Buffer.from(this.ctx.prefixStats.dump(), 'latin1')); return }
        this.reply(R.DETAIL_USAGE)
        return
      case 'settings': case 'items': case 'slabs': case 'sizes': case 'conns':
        writeStats(out, this.ctx, name)
        return
      case 'cachedump': {
        if (n < 4) { this.reply(R.STATS_BAD); return }
        const id = parseU32(buf, line.tokS[2], line.tokE[2])
        const limit = parseU32(buf, line.tokS[3], line.tokE[3])
        if (id < 0 || limit < 0) { this.reply(R.BAD_FORMAT); return }
        if (id >= MC_MAX_CLASSES) { this.replyAscii('CLIENT_ERROR Illegal slab id'); return }
        out.bytes(cachedump(this.ctx.store, id, limit))
        return
      }
      default:
        if (this.ctx.statsGroups.has(name)) { writeStats(out, this.ctx, name); return }
        this.reply(R.ERROR)
    }
  }
}
