/**
 * The meta protocol (mg ms md ma mn me) for the text session: the MetaHandler plugged into
 * ServerContext.meta. Semantics, reply bytes, error wording and quiet-mode rules follow
 * memcached 1.6.18 (proto_text.c process_mget/mset/mdelete/marithmetic/meta_command);
 * lib/server/test/meta-scenarios.ts pins them byte for byte against a real memcached.
 *
 * Quiet mode (q), as memcached does it: mg hides only EN; ms hides only HD; md hides only
 * HD; ma hides only its success reply (HD or VA). Errors, NS, EX, NF are always sent, and
 * so is the HD/VA of an mg hit or of an ma that created the item with N.
 *
 * Flags act in request order, as in memcached: `mg k t T30` shows the old TTL and then sets
 * it, `mg k T30 t` sets it and shows 30. An O token over 32 bytes aborts the reply with an
 * error after the flags before it took effect.
 *
 * With `-o meta_e` (settings.metaE) the flags memcached 1.6.27 added are known too: E(token)
 * gives the item the CAS E instead of the next counter value wherever the command sets one
 * (ms, md I, md x, ma, and mg/ma when N creates the item), and md x replaces the item by
 * an empty one (proto_text.c process_m*_command of 1.6.27; protocol/meta/README.md).
 *
 * Stateless between requests: ms validates its line in onLine and re-reads the same line
 * (valid until onData returns, see TextLine) when its data block arrives, so requests of
 * different connections may interleave freely. One instance serves every connection.
 */
import { KEY_MAX_LENGTH } from '../../protocol/bytes.js'
import { FlagError, Lo, MetaFlags, OPAQUE_MAX_LENGTH, OPT_MAX_TOKENS, U, preparseMetaFlags } from '../../protocol/meta/flags.js'
import { encodeBase64, decodeBase64 } from '../../protocol/meta/base64.js'
import { cStrtol32 } from '../../protocol/meta/c-numbers.js'
import {
  Code, MetaError, Reply, flagErrorLine, metaLineMax, writeCode, writeCrlf, writeFlagChar, writeFlagUint,
  writeAscii, writeInt, writeKeyFlag, writeToken, writeU64, writeUint, writeVa,
} from '../../protocol/meta/response-encoder.js'
import { Op } from '../../protocol/request.js'
import { NO_DATA } from '../../protocol/text/request-parser.js'
import type { TextLine } from '../../protocol/text/request-parser.js'
import { StoreMode, StoreResult } from '../store/store.js'
import type { SlabStore } from '../store/slab-store.js'
import type { ConnControl, MetaHandler, ServerContext } from './context.js'
import { ZERO_COPY_MIN, type Output } from './output.js'
import { mcClassFor, mcItemSize } from './mc-item.js'

const CH = { k: 107, c: 99, s: 115, t: 116, f: 102, l: 108, h: 104, O: 79, N: 78, R: 82, T: 84, W: 87, X: 88, Z: 90 } as const
/** Values smaller than this are copied into the reply staging chunk, larger get their own Buffer. */
const SMALL_VALUE = 16 * 1024
const CRLF_BYTES = Buffer.from('\r\n')
const INT32_MAX = 0x7fffffff

export class MetaDispatcher implements MetaHandler {
  private readonly f = new MetaFlags()
  /** One reply line is assembled here, then copied into the connection's output. */
  private readonly line = Buffer.allocUnsafe(metaLineMax(KEY_MAX_LENGTH) + 64)
  private readonly keyOut = Buffer.allocUnsafe(KEY_MAX_LENGTH)

  onLine (conn: ConnControl, line: TextLine, ctx: ServerContext): number {
    switch (line.op) {
      case Op.MetaGet:
        this.mget(conn.out, line, ctx)
        settle(conn.out, ctx)
        conn.pauseInput() // stop reading if a client pipelines gets without reading replies
        return NO_DATA
      case Op.MetaSet: {
        const n = this.msetLine(conn.out, line, ctx)
        if (n === NO_DATA || line.swallow) settle(conn.out, ctx)
        return n
      }
      case Op.MetaDelete: this.mdelete(conn.out, line, ctx); settle(conn.out, ctx); return NO_DATA
      case Op.MetaArithmetic: this.marith(conn.out, line, ctx); settle(conn.out, ctx); return NO_DATA
      case Op.MetaNoop:
        conn.out.bytes(Reply.MN)
        conn.out.commit() // memcached: mn forces the pipeline out (conn_mwrite)
        return NO_DATA
      case Op.MetaDebug: this.mdebug(conn.out, line, ctx); return NO_DATA
      default: conn.out.bytes(Reply.ERROR); return NO_DATA
    }
  }

  onData (conn: ConnControl, line: TextLine, buf: Buffer, s: number, e: number, ctx: ServerContext): void {
    if (line.op === Op.MetaSet) {
      this.msetData(conn.out, line, buf, s, e, ctx)
      settle(conn.out, ctx)
    }
  }

  // ---- shared checks --------------------------------------------------------------------

  /**
   * memcached's checks before flag parsing, in its order. `ntok` is memcached's ntokens
   * (ours plus the terminal token). Returns the error to send, or null.
   */
  private precheck (line: TextLine, tooMany: Buffer): Buffer | null {
    const ntok = line.ntokens + 1
    if (ntok < 3) return Reply.ERROR
    if (line.tokenLength(1) > KEY_MAX_LENGTH) return MetaError.badFormat
    if (ntok > OPT_MAX_TOKENS) return tooMany
    return null
  }

  private preparse (line: TextLine, first: number, ctx: ServerContext): FlagError {
    return preparseMetaFlags(line.buf, line.tokS[1], line.tokE[1], line.tokS, line.tokE, first, line.ntokens, this.f, ctx.settings.metaE)
  }

  /** Meta E: the links of the command that follows give f.newCas (see endCas). */
  private beginCas (store: SlabStore): void {
    if ((this.f.upper & U.E) !== 0) store.useExplicitCas(this.f.newCas)
  }

  /** True when some O token is longer than memcached accepts. */
  private opaqueTooLong (line: TextLine): boolean {
    const f = this.f
    if ((f.upper & U.O) === 0) return false
    for (let i = 0; i < f.count; i++) {
      if (line.buf[f.starts[i]] === CH.O && f.ends[i] - f.starts[i] > OPAQUE_MAX_LENGTH) return true
    }
    return false
  }

  // ---- mg -------------------------------------------------------------------------------

  private mget (out: Output, line: TextLine, ctx: ServerContext): void {
    const pre = this.precheck(line, MetaError.mgTooManyFlags)
    if (pre !== null) { out.bytes(pre); return }
    const f = this.f
    const err = this.preparse(line, 2, ctx)
    if (err !== FlagError.None) { out.bytes(flagErrorLine(err)); return }
    // A replica: mg that sets a TTL (T) or creates (N) is a write.
    // readOnly may be a getter (a cluster master's lease): only touch it for writes, once.
    if ((f.upper & (U.T | U.N)) !== 0) {
      const ro = admitWrite(out, ctx)
      if (ro !== null) { out.bytes(ro); return }
    }
    const store = ctx.store
    const stats = ctx.stats
    const quiet = (f.lower & Lo.q) !== 0
    let h = store.find(f.key, f.keyStart, f.keyEnd)
    let created = false
    if (h === 0 && (f.upper & U.N) !== 0) {
      // Vivify on miss: an empty item, linked at once (memcached sets no key-binary bit here).
      const n = store.alloc(f.key, f.keyStart, f.keyEnd, 0, 0, 0)
      if (n > 0) {
        // memcached links this item directly (do_item_link, not do_store_item), so a
        // watcher sees no second lookup and no item_store line.
        this.beginCas(store) // memcached 1.6.27: do_item_link(it, hv, E or a new CAS)
        try {
          if (store.linkUnobserved(n, StoreMode.Add, 0) === StoreResult.Stored) { h = n; created = true }
        } finally { store.endExplicitCas() }
      }
    }
    const b = this.line
    const lb = line.buf
    if (h === 0) {
      stats.get_misses++
      stats.cmd_get++
      let o = writeCode(b, 0, Code.EN)
      for (let i = 0; i < f.count; i++) {
        const s = f.starts[i]; const e = f.ends[i]
        const c = lb[s]
        if (c === CH.O) {
          if (e - s > OPAQUE_MAX_LENGTH) { out.bytes(MetaError.opaqueTooLong); return }
          o = writeToken(b, o, lb, s, e)
        } else if (c === CH.k) {
          o = writeKeyFlag(b, o, f.key, f.keyStart, f.keyEnd, f.keyBinary)
        }
      }
      if (quiet) return
      o = writeCrlf(b, o)
      out.range(b, 0, o)
      return
    }
    const wantValue = (f.lower & Lo.v) !== 0
    const nbytes = store.nbytes(h)
    let o = wantValue ? writeVa(b, 0, nbytes) : writeCode(b, 0, Code.HD)
    let won = false
    let ttlSet = false
    const now = store.now()
    for (let i = 0; i < f.count; i++) {
      const s = f.starts[i]; const e = f.ends[i]
      switch (lb[s]) {
        case CH.T:
          ttlSet = true
          store.setExptime(h, store.relExptime(f.ttl))
          break
        case CH.N:
          if (created) { store.setExptime(h, store.relExptime(f.vivifyTtl)); won = true }
          break
        case CH.R: {
          const exp = store.exptime(h)
          if (!store.winTokenSent(h) && !created && exp !== 0 && exp < store.relExptime(f.recacheTtl)) won = true
          break
        }
        case CH.s: o = writeFlagUint(b, o, CH.s, nbytes); break
        case CH.t: o = writeTtl(b, o, store.exptime(h), now); break
        case CH.c: o = writeFlagUint(b, o, CH.c, store.cas(h)); break
        case CH.f: o = writeFlagUint(b, o, CH.f, store.flags(h)); break
        case CH.l: o = writeFlagUint(b, o, CH.l, (now - store.lastAccess(h)) >>> 0); break
        case CH.h: o = writeFlagUint(b, o, CH.h, store.fetched(h) ? 1 : 0); break
        case CH.O:
          if (e - s > OPAQUE_MAX_LENGTH) { out.bytes(MetaError.opaqueTooLong); return }
          o = writeToken(b, o, lb, s, e)
          break
        case CH.k: {
          const n = store.copyKey(h, this.keyOut, 0)
          o = writeKeyFlag(b, o, this.keyOut, 0, n, store.keyBinary(h))
          break
        }
        default: break
      }
    }
    // memcached sends Z before X, and never W together with Z.
    if (store.winTokenSent(h)) o = writeFlagChar(b, o, CH.Z)
    if (store.stale(h)) {
      o = writeFlagChar(b, o, CH.X)
      if (!store.winTokenSent(h)) won = true
    }
    if (won) { o = writeFlagChar(b, o, CH.W); store.setWinTokenSent(h, true) }
    o = writeCrlf(b, o)
    out.range(b, 0, o)
    if (wantValue) writeValue(out, store, h, nbytes)
    // The bump comes after the reply so h and l describe the item as it was (memcached's
    // delayed do_item_bump); u skips it.
    if ((f.lower & Lo.u) === 0) store.touchRead(h)
    const c = store.clsid(h)
    if (ttlSet) {
      stats.cmd_touch++
      stats.touch_hits++
      store.cls.touchHits[c]++
    } else {
      stats.get_hits++
      stats.cmd_get++
      store.cls.getHits[c]++
    }
  }

  // ---- ms -------------------------------------------------------------------------------

  /** The ms line: everything memcached checks before reading the data block. */
  private msetLine (out: Output, line: TextLine, ctx: ServerContext): number {
    const ntok = line.ntokens + 1
    if (ntok < 3) { out.bytes(Reply.ERROR); return NO_DATA }
    if (line.tokenLength(1) > KEY_MAX_LENGTH) { out.bytes(MetaError.badFormat); return NO_DATA }
    if (ntok === 3) { out.bytes(MetaError.badFormat); return NO_DATA }
    if (ntok > OPT_MAX_TOKENS) { out.bytes(MetaError.tooManyFlags); return NO_DATA }
    const vlen = cDataLength(line)
    if (vlen < 0) { out.bytes(MetaError.badFormat); return NO_DATA }
    // From here on memcached swallows the data block after an error.
    const err = this.checkSet(line, ctx) ?? admitWrite(out, ctx)
    if (err !== null) {
      out.bytes(err)
      line.swallow = true
      return vlen + 2
    }
    const f = this.f
    const store = ctx.store
    if (!store.itemSizeOk(f.keyEnd - f.keyStart, f.clientFlags, vlen)) {
      ctx.stats.store_too_large++
      this.logRefused(ctx, StoreResult.TooLarge)
      this.dropOld(store)
      out.bytes(MetaError.tooLarge)
      line.swallow = true
      return vlen + 2
    }
    return vlen + 2
  }

  /** Flag, opaque and mode checks of ms; leaves the flags in this.f. */
  private checkSet (line: TextLine, ctx: ServerContext): Buffer | null {
    const ferr = this.preparse(line, 3, ctx)
    if (ferr !== FlagError.None) return flagErrorLine(ferr)
    const m = this.f.mode
    // memcached reports a bad mode over a long opaque (the mode is checked last).
    if (m !== 0 && m !== 69 && m !== 65 && m !== 80 && m !== 82 && m !== 83) return MetaError.msMode
    if (this.opaqueTooLong(line)) return MetaError.opaqueTooLong
    return null
  }

  /** The ms M(ode) flag as a store mode, before a C token turns set/replace into cas. */
  private baseMode (): StoreMode {
    switch (this.f.mode) {
      case 69: return StoreMode.Add // E
      case 65: return StoreMode.Append // A
      case 80: return StoreMode.Prepend // P
      case 82: return StoreMode.Replace // R
      default: return StoreMode.Set
    }
  }

  /** `watch mutations`: an ms refused before an item existed (memcached logs it with its mode). */
  private logRefused (ctx: ServerContext, result: StoreResult): void {
    const w = ctx.watchers
    if (!w.active) return
    const f = this.f
    w.storeFailed(result, this.baseMode(), f.key, f.keyStart, f.keyEnd)
  }

  /** memcached: a failed ms allocation must not leave the old value readable. */
  private dropOld (store: SlabStore): void {
    const f = this.f
    const old = store.find(f.key, f.keyStart, f.keyEnd)
    if (old !== 0) store.unlink(old)
  }

  private msetData (out: Output, line: TextLine, buf: Buffer, s: number, e: number, ctx: ServerContext): void {
    // The line was validated in onLine; parse it again for the flag values.
    if (this.checkSet(line, ctx) !== null) return
    const f = this.f
    const store = ctx.store
    const stats = ctx.stats
    const vlen = e - s - 2
    const h = store.alloc(f.key, f.keyStart, f.keyEnd, f.clientFlags, store.relExptime(f.ttl), vlen)
    if (h < 0) {
      if (h === -StoreResult.TooLarge) { stats.store_too_large++; out.bytes(MetaError.tooLarge) } else { stats.store_no_memory++; out.bytes(MetaError.noMemoryStoring) }
      this.logRefused(ctx, h === -StoreResult.TooLarge ? StoreResult.TooLarge : StoreResult.NoMemory)
      this.dropOld(store)
      return
    }
    stats.cmd_set++
    if (buf[e - 2] !== 13 || buf[e - 1] !== 10) {
      store.free(h)
      out.bytes(MetaError.badDataChunk) // sent even with q
      return
    }
    store.writeValue(h, buf, s, e - 2, 0)
    if (f.keyBinary) store.setKeyBinary(h, true)
    let mode = this.baseMode()
    const hasCas = (f.upper & U.C) !== 0
    // A CAS token turns set and replace into cas (replace + cas behaves as cas).
    if (hasCas && (mode === StoreMode.Set || mode === StoreMode.Replace)) mode = StoreMode.Cas
    const casIn = hasCas ? f.compareCas : 0
    let res: StoreResult
    // memcached 1.6.27: store_item(..., c->cas ? c->cas : get_cas_id()), so on ms alone E0
    // means "no E" and the item gets a counter CAS.
    if (f.newCas !== 0) this.beginCas(store)
    try {
      res = store.link(h, mode, mode === StoreMode.Add ? 0 : casIn, mode === StoreMode.Cas && (f.upper & U.I) !== 0)
    } finally { store.endExplicitCas() }
    if (mode === StoreMode.Cas) {
      if (res === StoreResult.Stored) stats.cas_hits++
      else if (res === StoreResult.Exists) stats.cas_badval++
      else if (res === StoreResult.NotFound) stats.cas_misses++
    }
    let code: number
    switch (res) {
      case StoreResult.Stored:
        if ((f.lower & Lo.q) !== 0) return
        code = Code.HD
        break
      case StoreResult.Exists: code = Code.EX; break
      case StoreResult.NotFound: code = Code.NF; break
      default: code = Code.NS; break
    }
    const b = this.line
    const lb = line.buf
    let o = writeCode(b, 0, code as Code)
    for (let i = 0; i < f.count; i++) {
      const ts = f.starts[i]
      switch (lb[ts]) {
        case CH.O: o = writeToken(b, o, lb, ts, f.ends[i]); break
        case CH.k: o = writeKeyFlag(b, o, f.key, f.keyStart, f.keyEnd, f.keyBinary); break
        case CH.c: o = writeFlagUint(b, o, CH.c, res === StoreResult.Stored ? store.lastCas() : 0); break
        default: break
      }
    }
    o = writeCrlf(b, o)
    out.range(b, 0, o)
  }

  // ---- md -------------------------------------------------------------------------------

  private mdelete (out: Output, line: TextLine, ctx: ServerContext): void {
    const pre = this.precheck(line, MetaError.tooManyFlags)
    if (pre !== null) { out.bytes(pre); return }
    if (this.preparse(line, 2, ctx) !== FlagError.None) { out.bytes(MetaError.invalidOrDuplicate); return }
    const ro = admitWrite(out, ctx)
    if (ro !== null) { out.bytes(ro); return }
    const f = this.f
    const b = this.line
    const lb = line.buf
    // Flags are echoed after a two-byte code chosen below (memcached reserves it first).
    let o = 2
    for (let i = 0; i < f.count; i++) {
      const s = f.starts[i]; const e = f.ends[i]
      if (lb[s] === CH.O) {
        if (e - s > OPAQUE_MAX_LENGTH) { out.bytes(MetaError.opaqueTooLong); return }
        o = writeToken(b, o, lb, s, e)
      } else if (lb[s] === CH.k) {
        o = writeKeyFlag(b, o, f.key, f.keyStart, f.keyEnd, f.keyBinary)
      }
    }
    const store = ctx.store
    const stats = ctx.stats
    const quiet = (f.lower & Lo.q) !== 0
    let h = store.find(f.key, f.keyStart, f.keyEnd)
    let code: Code
    if (h === 0) {
      stats.delete_misses++
      code = Code.NF
    } else if ((f.upper & U.C) !== 0 && store.cas(h) !== f.compareCas) {
      stats.delete_misses++
      code = Code.EX
    } else if ((f.lower & Lo.x) !== 0 && (h = this.emptyItem(store, h)) <= 0) {
      // x could not store its empty item: memcached's replies for that.
      if (h === 0) { code = Code.NS } else { out.bytes(MetaError.noMemory); return }
    } else if ((f.upper & U.I) !== 0) {
      // Invalidate: keep the item, mark it stale, let the next reader win, new CAS (or E).
      if ((f.upper & U.T) !== 0) store.setExptime(h, store.relExptime(f.ttl))
      store.setStale(h, true)
      store.setWinTokenSent(h, false)
      if ((f.upper & U.E) !== 0) store.setCasOf(h, f.newCas); else store.bumpCas(h)
      if (quiet) return
      code = Code.HD
    } else {
      stats.delete_hits++
      store.cls.deleteHits[store.clsid(h)]++
      if ((f.lower & Lo.x) === 0) store.unlink(h) // x already left an empty item in its place
      if (quiet) return
      code = Code.HD
    }
    writeCode(b, 0, code)
    o = writeCrlf(b, o)
    out.range(b, 0, o)
  }

  /**
   * md x (memcached 1.6.27): the item is replaced by an empty one with the F token's client
   * flags (0 without F), the T token's TTL (none without T) and the CAS E, or the old CAS.
   * Returns the new item, 0 when it was not stored (NS) or -1 when there was no memory.
   */
  private emptyItem (store: SlabStore, old: number): number {
    const f = this.f
    const exp = (f.upper & U.T) !== 0 ? store.relExptime(f.ttl) : 0
    const cas = (f.upper & U.E) !== 0 ? f.newCas : store.cas(old) // read first: alloc may evict old
    const n = store.alloc(f.key, f.keyStart, f.keyEnd, f.clientFlags, exp, 0)
    if (n < 0) return -1
    store.useExplicitCas(cas)
    try {
      if (store.link(n, StoreMode.Set, 0) !== StoreResult.Stored) return 0
    } finally { store.endExplicitCas() }
    return n
  }

  // ---- ma -------------------------------------------------------------------------------

  private marith (out: Output, line: TextLine, ctx: ServerContext): void {
    const pre = this.precheck(line, MetaError.tooManyFlags)
    if (pre !== null) { out.bytes(pre); return }
    if (this.preparse(line, 2, ctx) !== FlagError.None) { out.bytes(MetaError.invalidOrDuplicate); return }
    const f = this.f
    let incr = true
    switch (f.mode) {
      case 0: case 73: case 43: break // I, +
      case 68: case 45: incr = false; break // D, -
      default: out.bytes(MetaError.maMode); return
    }
    const ro = admitWrite(out, ctx)
    if (ro !== null) { out.bytes(ro); return }
    const store = ctx.store
    const stats = ctx.stats
    const quiet = (f.lower & Lo.q) !== 0
    const b = this.line
    const lb = line.buf
    let h = store.find(f.key, f.keyStart, f.keyEnd)
    let created = false
    let inPlace = true
    let value = 0n
    /** What `c` shows: the live item's CAS, except after E on a grown number (below). */
    let casShown = -1
    let code: Code = Code.HD
    // q hides a successful reply, but the flags below still act (T still sets the TTL).
    let hide = false
    if (h !== 0) {
      const res = store.arith(h, incr, f.delta, (f.upper & U.C) !== 0 ? f.compareCas : 0)
      if (res === StoreResult.NonNumeric) { out.bytes(MetaError.nonNumeric); return }
      if (res === StoreResult.NoMemory) { out.bytes(MetaError.noMemory); return }
      if (res === StoreResult.Exists) {
        code = Code.EX
        h = 0
      } else {
        if (incr) stats.incr_hits++; else stats.decr_hits++
        value = store.lastArith()
        // A longer number lands in a new item. memcached then applies T to the old,
        // unlinked one, so T is lost (meta-scenarios "ma grows").
        const now = store.find(f.key, f.keyStart, f.keyEnd)
        inPlace = now === h
        h = now
        hide = quiet
        if ((f.upper & U.E) !== 0) {
          // memcached 1.6.27 sets E on the item do_add_delta returns: the live one when the
          // number was updated in place, the old unlinked one when it grew. Then the live
          // item keeps its new counter CAS while `c` shows E, as there.
          if (inPlace) store.setCasOf(h, f.newCas)
          casShown = f.newCas
        }
      }
    } else if ((f.upper & U.N) !== 0) {
      value = f.initial
      const digits = u64Digits(value, this.keyOut)
      const n = store.alloc(f.key, f.keyStart, f.keyEnd, 0, 0, digits)
      if (n < 0) { out.bytes(MetaError.noMemoryVivify); return }
      store.writeValue(n, this.keyOut, 0, digits, 0)
      this.beginCas(store) // memcached 1.6.27: do_store_item(..., E or a new CAS)
      let res: StoreResult
      try { res = store.link(n, StoreMode.Add, 0) } finally { store.endExplicitCas() }
      if (res === StoreResult.Stored) {
        h = n
        created = true
      } else {
        code = Code.NS
      }
    } else {
      if (incr) stats.incr_misses++; else stats.decr_misses++
      code = Code.NF
    }
    let o: number
    if (h !== 0) {
      const wantValue = (f.lower & Lo.v) !== 0
      o = wantValue ? writeVa(b, 0, u64Len(value)) : writeCode(b, 0, Code.HD)
      let exp = store.exptime(h)
      const now = store.now()
      for (let i = 0; i < f.count; i++) {
        const s = f.starts[i]; const e = f.ends[i]
        switch (lb[s]) {
          case CH.c: o = writeFlagUint(b, o, CH.c, casShown >= 0 ? casShown : store.cas(h)); break
          case CH.t: o = writeTtl(b, o, exp, now); break
          case CH.T:
            exp = store.relExptime(f.ttl)
            if (inPlace) store.setExptime(h, exp)
            break
          case CH.N:
            if (created) { exp = store.relExptime(f.vivifyTtl); store.setExptime(h, exp) }
            break
          case CH.O:
            if (e - s > OPAQUE_MAX_LENGTH) { out.bytes(MetaError.opaqueTooLong); return }
            o = writeToken(b, o, lb, s, e)
            break
          case CH.k: o = writeKeyFlag(b, o, f.key, f.keyStart, f.keyEnd, f.keyBinary); break
          default: break
        }
      }
      if (wantValue) { o = writeCrlf(b, o); o = writeU64(b, o, value) }
    } else {
      o = writeCode(b, 0, code)
      for (let i = 0; i < f.count; i++) {
        const s = f.starts[i]; const e = f.ends[i]
        if (lb[s] === CH.O) {
          if (e - s > OPAQUE_MAX_LENGTH) { out.bytes(MetaError.opaqueTooLong); return }
          o = writeToken(b, o, lb, s, e)
        } else if (lb[s] === CH.k) {
          o = writeKeyFlag(b, o, f.key, f.keyStart, f.keyEnd, f.keyBinary)
        }
      }
    }
    if (hide) return
    o = writeCrlf(b, o)
    out.range(b, 0, o)
  }

  // ---- me -------------------------------------------------------------------------------

  /** Meta debug: memcached's human-readable item dump (process_meta_command). */
  private mdebug (out: Output, line: TextLine, ctx: ServerContext): void {
    const ntok = line.ntokens + 1
    if (ntok < 3 || line.tokenLength(1) > KEY_MAX_LENGTH) { out.bytes(MetaError.badFormat); return }
    let key: Uint8Array = line.buf
    let ks = line.tokS[1]
    let ke = line.tokE[1]
    if (ntok >= 4 && line.tokenLength(2) === 1 && line.buf[line.tokS[2]] === 98 /* b */) {
      const n = decodeBase64(line.buf, ks, ke, this.f.keyScratch, 0)
      if (n === 0) { out.bytes(MetaError.badFormat); return }
      key = this.f.keyScratch; ks = 0; ke = n
    }
    const store = ctx.store
    const h = store.find(key, ks, ke)
    ctx.stats.cmd_meta++
    if (h === 0) { out.bytes(Reply.EN); return }
    const b = this.line
    let o = writeCode(b, 0, Code.ME)
    b[o++] = 32
    const nk = store.copyKey(h, this.keyOut, 0)
    if (store.keyBinary(h)) o = encodeBase64(this.keyOut, 0, nk, b, o)
    else { this.keyOut.copy(b, o, 0, nk); o += nk }
    const now = store.now()
    const exp = store.exptime(h)
    // memcached 1.6.18 prints now - exptime here, so a live item shows a negative exp.
    o = writeAscii(b, o, ' exp=')
    o = writeInt(b, o, exp === 0 ? -1 : now - exp)
    o = writeAscii(b, o, ' la=')
    o = writeUint(b, o, (now - store.lastAccess(h)) >>> 0)
    o = writeAscii(b, o, ' cas=')
    o = writeUint(b, o, store.cas(h))
    o = writeAscii(b, o, store.fetched(h) ? ' fetch=yes cls=' : ' fetch=no cls=')
    // Class and size as memcached would account this item (its item header, CAS, key NUL,
    // flags suffix, CRLF), so the line matches memcached's for the same -n/-f/-I.
    const size = mcItemSize(store, h, nk)
    o = writeUint(b, o, mcClassFor(store, size))
    o = writeAscii(b, o, ' size=')
    o = writeUint(b, o, size)
    o = writeCrlf(b, o)
    out.range(b, 0, o)
  }
}

/**
 * Before a write is applied: the line refusing it (a replica; a master short of replicas
 * with --min-replicas-to-ack), or null. With a write gate, the reply's hold begins here.
 */
function admitWrite (out: Output, ctx: ServerContext): Buffer | null {
  const ro = ctx.readOnly // may be a getter (a cluster master's lease): read once
  if (ro !== null) return ro.line
  const gate = ctx.writeGate
  if (gate === null) return null
  const r = gate.refuse()
  if (r !== null) return r.line
  out.holdBegin()
  return null
}

/** A write's reply is queued: with a write gate (--min-replicas-to-ack) it waits for it. */
function settle (out: Output, ctx: ServerContext): void {
  if (!out.holding) return
  const gate = ctx.writeGate
  out.holdEnd(gate === null ? null : gate.hold(), gate === null ? null : gate.failLine)
}

/** " t<seconds left>", or " t-1" for an item that never expires (uint32 wrap as memcached). */
function writeTtl (b: Buffer, o: number, exp: number, now: number): number {
  if (exp === 0) { b[o] = 32; b[o + 1] = CH.t; b[o + 2] = 45; b[o + 3] = 49; return o + 4 }
  return writeFlagUint(b, o, CH.t, (exp - now) >>> 0)
}

/** The ms datalen token read as memcached does (safe_strtol, int32), or -1 if refused. */
function cDataLength (line: TextLine): number {
  const v = cStrtol32Token(line)
  if (Number.isNaN(v) || v < 0 || v > INT32_MAX - 2) return -1
  return v
}

function cStrtol32Token (line: TextLine): number {
  return cStrtol32(line.buf, line.tokS[2], line.tokE[2])
}

/** Copies a value to the output: small ones through the staging chunk, large ones as their own piece. */
function writeValue (out: Output, store: SlabStore, h: number, nbytes: number): void {
  if (nbytes < SMALL_VALUE) {
    const off = out.reserveRaw(nbytes + 2)
    const t = out.target()
    const o = store.copyValue(h, t, off)
    t[o] = 13; t[o + 1] = 10
    return
  }
  if (nbytes >= ZERO_COPY_MIN && out.pinnedValue(store, h)) { out.bytes(CRLF_BYTES); return }
  const v = Buffer.allocUnsafe(nbytes + 2)
  store.copyValue(h, v, 0)
  v[nbytes] = 13; v[nbytes + 1] = 10
  out.owned(v)
}

/** Writes the decimal digits of a uint64 at dst[0..]; returns their count. */
function u64Digits (v: bigint, dst: Buffer): number {
  return writeU64(dst, 0, v)
}

function u64Len (v: bigint): number {
  let n = 1
  for (let t = v; t >= 10n; t /= 10n) n++
  return n
}

/** The slab class memcached would report for an item of `size` bytes: an item larger than
 *  a chunk is chained and memcached reports its header's class, the largest one. */

