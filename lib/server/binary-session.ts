/**
 * The binary protocol for one connection: BinaryRequestParser -> commands -> store ->
 * Output. Semantics, statuses, counters and error bodies follow memcached 1.6.18's
 * proto_bin.c; lib/server/test/binary-differential.test.ts pins them against the daemon.
 *
 * Quiet commands: success is silent, errors always answer; GETQ/GETKQ/GATQ/GATKQ answer
 * hits and stay silent on misses (memcached write_bin_response and process_bin_get_or_touch).
 * Flush points: memcached transmits at once after NOOP, QUIT, SASL AUTH_CONTINUE and every
 * error that swallows nothing; replies made after the last flush point are lost when a bad
 * magic byte makes it close. We mark the same points with Output.commit(), so the same
 * replies are lost.
 */
import {
  BinaryRequestParser, FrameError, Next, Problem, type BinaryRequest, type BinaryRequestHandler,
} from '../../protocol/binary/request-parser.js'
import { Opcode } from '../../protocol/binary/opcodes.js'
import { HEADER_LEN } from '../../protocol/binary/header.js'
import { ErrorBody, NoMemoryBody, Status } from '../../protocol/binary/status.js'
import {
  ITEM_HEADER_LEN, writeBodyResponse, writeCounter, writeError, writeItemHeader, writeKeyMiss, writeResponseHeader,
} from '../../protocol/binary/response-encoder.js'
import { StoreMode, StoreResult } from '../store/store.js'
import { AUTHENTICATED, MAX_SASL_MECH_LEN, SASL_MECHS, SaslConversation, SaslResult, type PasswordCheck } from './auth-sasl.js'
import { writeBinaryStats } from './binary-stats.js'
import type { ProtocolSession, SessionFactory } from './connection.js'
import type { ConnControl, ServerContext } from './context.js'
import { ZERO_COPY_MIN } from './output.js'

/** Values at least this large are copied into a Buffer of their own, not the staging chunk. */
const OWN_BUFFER = 16 * 1024
/** incr/decr "no create" expiration. */
const NO_CREATE = 0xffffffff

export interface BinaryOptions {
  /** With -S: checks PLAIN credentials; every command but VERSION and SASL needs auth. */
  sasl?: PasswordCheck | null
}

export function binarySessionFactory (opts: BinaryOptions = {}): SessionFactory {
  const check = opts.sasl ?? null
  return (conn, ctx) => new BinarySession(conn, ctx, check)
}

export class BinarySession implements ProtocolSession, BinaryRequestHandler {
  /** The binary parser copies what it keeps (a split header, a paused chunk's rest). */
  readonly copiesInput = true
  readonly parser: BinaryRequestParser
  private readonly sasl: SaslConversation | null
  /** Item allocated for a value being read, its store mode and CAS. */
  private pendingItem = 0
  private pendingMode: StoreMode = StoreMode.Set
  private pendingCas = 0
  /** memcached -R bookkeeping: requests since the last yield, and how many fit before it. */
  private sinceYield = 0
  private yieldAfter = 0

  constructor (private readonly conn: ConnControl, private readonly ctx: ServerContext, check: PasswordCheck | null) {
    this.parser = new BinaryRequestParser(this)
    this.sasl = check === null ? null : new SaslConversation(check)
  }

  push (chunk: Buffer): void {
    if (this.ctx.watchers.active) this.ctx.watchers.cfd = this.conn.id
    // A read event that starts with all earlier input consumed (memcached conn_read) serves
    // -R + 1 requests before it transmits and yields; every later slice serves -R
    // (the slice's first conn_new_cmd counts one). Measured against memcached 1.6.18.
    this.sinceYield = 0
    this.yieldAfter = this.ctx.settings.maxReqsPerEvent + 1
    this.parser.push(chunk)
    // The wake-up that used its whole -R budget counts a yield too (conn_new_cmd with nreqs spent).
    if (this.sinceYield >= this.yieldAfter) this.ctx.stats.conn_yields++
  }
  pause (): void { this.parser.pause() }
  resume (): void {
    if (this.ctx.watchers.active) this.ctx.watchers.cfd = this.conn.id
    this.parser.resume()
  }

  close (): void {
    if (this.pendingItem > 0) { this.ctx.store.free(this.pendingItem); this.pendingItem = 0 }
    this.parser.halt()
  }

  onFrameError (kind: FrameError): void {
    if (kind === FrameError.BadMagic) {
      // memcached conn_closing: replies since the last flush point are never sent.
      this.conn.out.discard()
      this.conn.closeAfterWrite()
    } else {
      // memcached flushes while waiting for the frame, then closes when its buffer is full.
      this.conn.closeAfterWrite()
    }
  }

  // ---- replies ----------------------------------------------------------------------------

  private error (req: BinaryRequest, status: number, body?: Uint8Array, flush = true): void {
    const text = body ?? ErrorBody[status]
    const out = this.conn.out
    const off = out.reserveRaw(HEADER_LEN + text.length)
    writeError(out.target(), off, req.opcode, status, req.opaque, text)
    if (flush) this.conn.out.commit()
  }

  /** Success with no body; silent for quiet commands. */
  private ok (req: BinaryRequest, cas: number): void {
    if (req.quiet) return
    const out = this.conn.out
    const off = out.reserveRaw(HEADER_LEN) // reserve first: it may move to a new staging chunk
    writeResponseHeader(out.target(), off, req.opcode, Status.SUCCESS, 0, 0, 0, req.opaque, cas)
  }

  private body (req: BinaryRequest, status: number, body: Uint8Array): void {
    const out = this.conn.out
    const off = out.reserveRaw(HEADER_LEN + body.length)
    writeBodyResponse(out.target(), off, req.opcode, status, req.opaque, body)
  }

  // ---- dispatch (memcached dispatch_bin_command) ------------------------------------------

  onRequest (req: BinaryRequest): Next {
    if (this.sinceYield >= this.yieldAfter) {
      this.conn.out.commit() // memcached transmits what it has, then yields
      this.ctx.stats.conn_yields++
      this.sinceYield = 0
      this.yieldAfter = this.ctx.settings.maxReqsPerEvent
    }
    this.sinceYield++
    if (req.problem === Problem.BadLengths) {
      this.error(req, Status.UNKNOWN_COMMAND)
      this.conn.closeAfterWrite()
      return Next.Stop
    }
    if (this.sasl !== null && !this.sasl.authenticated && !openWithoutAuth(req.opcode)) {
      this.error(req, Status.AUTH_ERROR)
      this.conn.closeAfterWrite()
      return Next.Stop
    }
    if (req.problem === Problem.Invalid) {
      this.error(req, Status.EINVAL)
      this.conn.closeAfterWrite()
      return Next.Stop
    }
    if (req.problem === Problem.UnknownCommand) {
      this.error(req, Status.UNKNOWN_COMMAND, undefined, req.valueLength === 0)
      return Next.Swallow
    }
    if (isWrite(req.op)) {
      // A replica or a fenced master: writes are refused with "not my vbucket" (this node
      // does not take them); readOnly may be a getter (the cluster's lease): read it once,
      // for writes only. --min-replicas-to-ack: refused with its own status when too few
      // replicas are online; otherwise the write goes ahead and its reply waits for the
      // acks (settle()).
      const ctx = this.ctx
      const ro = ctx.readOnly ?? (ctx.writeGate === null ? null : ctx.writeGate.refuse())
      if (ro !== null) {
        this.error(req, ro.status ?? Status.NOT_MY_VBUCKET, ro.body, req.valueLength === 0)
        return req.valueLength > 0 ? Next.Swallow : Next.Continue
      }
      if (ctx.writeGate !== null) this.conn.out.holdBegin()
    }
    switch (req.op) {
      case Opcode.Get: case Opcode.GetK:
        this.getOrTouch(req, false)
        return Next.Continue
      case Opcode.Touch: case Opcode.Gat: case Opcode.GatK:
        this.getOrTouch(req, true)
        this.settle(req)
        return Next.Continue
      case Opcode.Set: case Opcode.Add: case Opcode.Replace:
      case Opcode.Append: case Opcode.Prepend: {
        const next = this.update(req)
        if (next !== Next.Stream) this.settle(req)
        return next
      }
      case Opcode.Delete: this.delete(req); this.settle(req); return Next.Continue
      case Opcode.Increment: case Opcode.Decrement: this.counter(req); this.settle(req); return Next.Continue
      case Opcode.Flush: this.flush(req); this.settle(req); return Next.Continue
      case Opcode.Noop:
        this.ok(req, 0)
        this.conn.out.commit() // memcached: NOOP forces the pipeline out
        return Next.Continue
      case Opcode.Version:
        this.body(req, Status.SUCCESS, this.version())
        return Next.Continue
      case Opcode.Quit:
        this.ok(req, 0)
        this.conn.closeAfterWrite()
        return Next.Stop
      case Opcode.Stat:
        if (writeBinaryStats(this.conn.out, this.ctx, req)) this.conn.out.commit()
        else this.conn.pauseInput()
        return Next.Continue
      case Opcode.SaslListMechs: return this.listMechs(req)
      case Opcode.SaslAuth: case Opcode.SaslStep: return this.saslStart(req)
    }
    return Next.Continue
  }

  /** Only SASL data is assembled (storage values stream into their item). */
  onValue (req: BinaryRequest, value: Buffer, s: number, e: number): void {
    this.saslFinish(req, value, s, e)
  }

  onValuePart (_req: BinaryRequest, buf: Buffer, s: number, e: number, at: number): void {
    if (this.pendingItem > 0) this.ctx.store.writeValue(this.pendingItem, buf, s, e, at)
  }

  onValueEnd (req: BinaryRequest): void {
    this.completeUpdate(req)
    this.settle(req)
  }

  /** A write's reply is queued: with a write gate it waits; the error it may become is built now. */
  private settle (req: BinaryRequest): void {
    const out = this.conn.out
    if (!out.holding) return
    const gate = this.ctx.writeGate
    const hold = gate === null ? null : gate.hold()
    let fail: Buffer | null = null
    if (gate !== null && hold !== null) {
      fail = Buffer.allocUnsafe(HEADER_LEN + gate.failBody.length)
      writeError(fail, 0, req.opcode, gate.failStatus, req.opaque, gate.failBody)
    }
    out.holdEnd(hold, fail)
  }

  private versionBuf: Buffer | null = null
  private version (): Buffer {
    if (this.versionBuf === null) this.versionBuf = Buffer.from(this.ctx.settings.version, 'latin1')
    return this.versionBuf
  }

  // ---- retrieval --------------------------------------------------------------------------

  /** memcached process_bin_get_or_touch. */
  private getOrTouch (req: BinaryRequest, touch: boolean): void {
    const ctx = this.ctx
    const store = ctx.store
    const stats = ctx.stats
    const buf = req.buf
    const ks = req.keyStart
    const ke = req.keyEnd
    const h = store.find(buf, ks, ke)
    // memcached process_bin_get_or_touch counts GET and TOUCH/GAT alike as prefix gets.
    if (ctx.prefixStats.enabled) ctx.prefixStats.recordGet(buf, ks, ke, h !== 0)
    if (h === 0) {
      if (touch) { stats.cmd_touch++; stats.touch_misses++ } else { stats.cmd_get++; stats.get_misses++ }
      if (req.quiet) return
      if (req.op === Opcode.GetK || req.op === Opcode.GatK) {
        const out = this.conn.out
        const off = out.reserveRaw(HEADER_LEN + (ke - ks))
        writeKeyMiss(out.target(), off, req.opcode, req.opaque, buf, ks, ke)
      } else {
        this.error(req, Status.KEY_ENOENT)
      }
      return
    }
    const c = store.clsid(h)
    if (touch) {
      store.setExptime(h, store.relExptime(req.extU32(0)))
      stats.cmd_touch++; stats.touch_hits++; store.cls.touchHits[c]++
    } else {
      stats.cmd_get++; stats.get_hits++; store.cls.getHits[c]++
    }
    store.touchRead(h)
    const withKey = req.op === Opcode.GetK || req.op === Opcode.GatK
    const nkey = withKey ? ke - ks : 0
    const nbytes = req.op === Opcode.Touch ? 0 : store.nbytes(h)
    const out = this.conn.out
    const inline = nbytes < OWN_BUFFER ? nbytes : 0
    let o = out.reserveRaw(ITEM_HEADER_LEN + nkey + inline)
    const t = out.target()
    o = writeItemHeader(t, o, req.opcode, req.opaque, store.cas(h), store.flags(h), nkey, nbytes)
    if (withKey) { t.set(buf.subarray(ks, ke), o); o += nkey }
    if (nbytes === 0) return
    if (inline > 0) { store.copyValue(h, t, o); return }
    if (nbytes < ZERO_COPY_MIN || !out.pinnedValue(store, h)) {
      const v = Buffer.allocUnsafe(nbytes)
      store.copyValue(h, v, 0)
      out.owned(v)
    }
    this.conn.pauseInput()
  }

  // ---- storage ----------------------------------------------------------------------------

  /** memcached process_bin_update / process_bin_append_prepend: allocate, then read the value. */
  private update (req: BinaryRequest): Next {
    const store = this.ctx.store
    const buf = req.buf
    const ks = req.keyStart
    const ke = req.keyEnd
    const vlen = req.valueLength
    const appending = req.op === Opcode.Append || req.op === Opcode.Prepend
    const flags = appending ? 0 : req.extU32(0)
    const exptime = appending ? 0 : store.relExptime(req.extU32(4))
    const ps = this.ctx.prefixStats
    if (ps.enabled) ps.recordSet(buf, ks, ke)
    const h = store.alloc(buf, ks, ke, flags, exptime, vlen)
    if (h < 0) {
      if (h === -StoreResult.TooLarge) {
        this.ctx.stats.store_too_large++
        this.error(req, Status.E2BIG, undefined, false)
      } else {
        this.ctx.stats.store_no_memory++
        this.error(req, Status.ENOMEM, NoMemoryBody.allocatingItem, false)
      }
      // memcached: a failed SET must not leave the old value readable.
      if (req.op === Opcode.Set) {
        const old = store.find(buf, ks, ke)
        if (old !== 0) store.unlink(old)
      }
      return Next.Swallow
    }
    // memcached stores the header CAS in the new item; with -C items have no CAS field, so
    // it reads back as 0 and storage commands ignore it.
    const cas = this.ctx.settings.useCas ? req.cas : 0
    this.pendingItem = h
    this.pendingCas = cas
    switch (req.op) {
      case Opcode.Append: this.pendingMode = StoreMode.Append; break
      case Opcode.Prepend: this.pendingMode = StoreMode.Prepend; break
      default:
        // memcached: a CAS in the header turns SET, ADD and REPLACE into a cas command.
        this.pendingMode = cas !== 0 ? StoreMode.Cas
          : req.op === Opcode.Add ? StoreMode.Add : req.op === Opcode.Replace ? StoreMode.Replace : StoreMode.Set
    }
    // The value goes straight from the socket chunks into the item (no assembly copy).
    return Next.Stream
  }

  /** memcached complete_update_bin: the value is already in the item. */
  private completeUpdate (req: BinaryRequest): void {
    const store = this.ctx.store
    const stats = this.ctx.stats
    const h = this.pendingItem
    this.pendingItem = 0
    if (h <= 0) return
    stats.cmd_set++
    const mode = this.pendingMode
    const res = store.link(h, mode, this.pendingCas)
    if (mode === StoreMode.Cas) {
      if (res === StoreResult.Stored) stats.cas_hits++
      else if (res === StoreResult.Exists) stats.cas_badval++
      else if (res === StoreResult.NotFound) stats.cas_misses++
    }
    switch (res) {
      case StoreResult.Stored: this.ok(req, store.lastCas()); break
      case StoreResult.Exists: this.error(req, Status.KEY_EEXISTS); break
      case StoreResult.NotFound: this.error(req, Status.KEY_ENOENT); break
      default:
        this.error(req, mode === StoreMode.Add ? Status.KEY_EEXISTS
          : mode === StoreMode.Replace ? Status.KEY_ENOENT : Status.NOT_STORED)
    }
  }

  // ---- other key commands ------------------------------------------------------------------

  /** memcached process_bin_delete: a non-zero header CAS must match. */
  private delete (req: BinaryRequest): void {
    const store = this.ctx.store
    const ps = this.ctx.prefixStats
    if (ps.enabled) ps.recordDelete(req.buf, req.keyStart, req.keyEnd)
    const h = store.find(req.buf, req.keyStart, req.keyEnd)
    if (h === 0) {
      this.ctx.stats.delete_misses++
      this.error(req, Status.KEY_ENOENT)
      return
    }
    if (req.cas !== 0 && req.cas !== store.cas(h)) {
      this.error(req, Status.KEY_EEXISTS)
      return
    }
    store.cls.deleteHits[store.clsid(h)]++
    this.ctx.stats.delete_hits++
    store.unlink(h)
    this.ok(req, 0)
  }

  /** memcached complete_incr_bin. */
  private counter (req: BinaryRequest): void {
    const store = this.ctx.store
    const stats = this.ctx.stats
    const incr = req.op === Opcode.Increment
    const buf = req.buf
    const ks = req.keyStart
    const ke = req.keyEnd
    const delta = req.extU64(0)
    const h = store.find(buf, ks, ke)
    if (h !== 0) {
      const res = store.arith(h, incr, delta, req.cas)
      switch (res) {
        case StoreResult.Stored:
          if (incr) stats.incr_hits++; else stats.decr_hits++
          if (!req.quiet) this.counterReply(req, store.lastCas(), store.lastArith())
          return
        case StoreResult.NonNumeric: this.error(req, Status.DELTA_BADVAL); return
        case StoreResult.Exists: this.error(req, Status.KEY_EEXISTS); return
        default: this.error(req, Status.ENOMEM, NoMemoryBody.incrementing); return
      }
    }
    const expiration = req.extU32(16)
    if (expiration === NO_CREATE) {
      if (incr) stats.incr_misses++; else stats.decr_misses++
      this.error(req, Status.KEY_ENOENT)
      return
    }
    // Miss with an expiration: store the initial value (as decimal text) with ADD.
    const initial = req.extU64(8)
    const digits = Buffer.from(initial.toString(), 'latin1')
    const n = store.alloc(buf, ks, ke, 0, store.relExptime(expiration), digits.length)
    if (n < 0) { this.error(req, Status.ENOMEM, NoMemoryBody.allocatingNewItem); return }
    store.writeValue(n, digits, 0, digits.length, 0)
    if (store.link(n, StoreMode.Add, 0) !== StoreResult.Stored) { this.error(req, Status.NOT_STORED); return }
    if (!req.quiet) this.counterReply(req, store.lastCas(), initial)
  }

  private counterReply (req: BinaryRequest, cas: number, value: bigint): void {
    const out = this.conn.out
    const off = out.reserveRaw(HEADER_LEN + 8)
    writeCounter(out.target(), off, req.opcode, req.opaque, cas, value)
  }

  /** memcached process_bin_flush: -F answers AUTH_ERROR. */
  private flush (req: BinaryRequest): void {
    const ctx = this.ctx
    if (!ctx.settings.flushEnabled) { this.error(req, Status.AUTH_ERROR); return }
    const exptime = req.extlen === 4 ? req.extU32(0) : 0
    const store = ctx.store
    store.flush(exptime > 0 ? store.relExptime(exptime) : store.now())
    ctx.stats.cmd_flush++
    this.ok(req, 0)
  }

  // ---- SASL (memcached bin_list_sasl_mechs, process_bin_sasl_auth, process_bin_complete_sasl_auth)

  private listMechs (req: BinaryRequest): Next {
    if (this.sasl === null) { this.error(req, Status.UNKNOWN_COMMAND); return Next.Continue }
    this.sasl.listMechs()
    this.body(req, Status.SUCCESS, SASL_MECHS)
    return Next.Continue
  }

  private saslStart (req: BinaryRequest): Next {
    const vlen = req.valueLength
    if (this.sasl === null) {
      this.error(req, Status.UNKNOWN_COMMAND, undefined, vlen === 0)
      return Next.Swallow
    }
    if (req.keylen > MAX_SASL_MECH_LEN) {
      this.error(req, Status.EINVAL, undefined, vlen === 0)
      return Next.Swallow
    }
    // memcached reads the data into an item; data that could not fit one gets ENOMEM.
    if (!this.ctx.store.itemSizeOk(req.keylen, 0, vlen)) {
      this.error(req, Status.ENOMEM, undefined, vlen === 0)
      return Next.Swallow
    }
    return Next.Value
  }

  private saslFinish (req: BinaryRequest, data: Buffer, s: number, e: number): void {
    const sasl = this.sasl as SaslConversation
    const stats = this.ctx.stats
    const r = req.op === Opcode.SaslAuth
      ? sasl.auth(req.buf, req.keyStart, req.keyEnd, data, s, e)
      : sasl.step(data, s, e)
    switch (r) {
      case SaslResult.Ok:
        stats.auth_cmds++
        this.body(req, Status.SUCCESS, AUTHENTICATED)
        return
      case SaslResult.Continue:
        this.body(req, Status.AUTH_CONTINUE, EMPTY)
        this.conn.out.commit()
        return
      default:
        stats.auth_cmds++
        stats.auth_errors++
        this.error(req, Status.AUTH_ERROR)
    }
  }
}

const EMPTY = Buffer.alloc(0)

/** memcached authenticated(): these need no SASL login (checked on the opcode as sent). */
function openWithoutAuth (opcode: number): boolean {
  return opcode === Opcode.SaslListMechs || opcode === Opcode.SaslAuth ||
    opcode === Opcode.SaslStep || opcode === Opcode.Version
}

/** Commands that change the store (refused by a replica). */
function isWrite (op: number): boolean {
  switch (op) {
    case Opcode.Set: case Opcode.Add: case Opcode.Replace: case Opcode.Append: case Opcode.Prepend:
    case Opcode.Delete: case Opcode.Increment: case Opcode.Decrement: case Opcode.Flush:
    case Opcode.Touch: case Opcode.Gat: case Opcode.GatK:
      return true
    default:
      return false
  }
}
