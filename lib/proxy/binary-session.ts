// lib/proxy/binary-session.ts
/**
 * The proxy's binary-protocol frontend (a client whose first byte is 0x80). Framing
 * and request checks are protocol/binary's request parser (the server's), so framing
 * quirks and EINVAL/UNKNOWN_COMMAND-and-close cases match memcached 1.6.18; requests
 * are then routed by key and re-framed for the backend (bodylen = what was parsed).
 *
 *   get/getk/gat/gatk (+q), set/add/replace/append/prepend/delete/incr/decr/touch (+q)
 *        to the key's shard, always as the NON-quiet opcode so every request has a
 *        response to frame on; the quiet rule is applied here (getq drops a miss,
 *        setq & co drop a success) and the response carries the client's opcode.
 *        get/getk (+q) are READS: the least loaded copy of the shard, sent again to the
 *        next copy when that one fails (as text's ReadForward). Everything else,
 *        gat/gatk included (they touch), is a WRITE: the shard's writer, never retried.
 *   noop, version, quit(q)   answered here, in order.
 *   flush(q), stat           fan out to every shard writer; stats summed like text `stats`.
 *   unknown opcodes, verbosity: UNKNOWN_COMMAND.
 *   SASL (with -S, core.sasl): answered here by the server's SaslConversation, with the
 *        server's replies; until a client logs in, everything but VERSION and SASL gets
 *        AUTH_ERROR and the connection closes (memcached's rule). Without -S: UNKNOWN_COMMAND.
 *   bad lengths / invalid extras or key: as memcached, then close.
 * A shard with no live copy (or whose every copy failed): reads answer KEY_ENOENT
 * (nothing for quiet gets); a shard with no writer (none live, or fenced): writes answer
 * 0x0086 "Temporary failure" with a reason in the body.
 * With a route tree (core.tree: several pools) keyed requests follow the tree (#send).
 */
import type { ProtocolSession } from '../server/connection.js'
import type { ConnControl } from '../server/context.js'
import { put } from './put.js'
import { Opcode, UNKNOWN } from '../../protocol/binary/opcodes.js'
import { BinaryRequestParser, Next, Problem, type BinaryRequest, type BinaryRequestHandler } from '../../protocol/binary/request-parser.js'
import { Status, ErrorBody } from '../../protocol/binary/status.js'
import { FailReason, Reply, type BinaryBackendRequest } from './backend.js'
import type { ProxyCore } from './core.js'
import type { ShardRoute } from './router.js'
import { BinaryLeg, binaryKey, type LegDone, type LegResult } from './route-legs.js'
import type { HotKey } from './hot-keys.js'
import { countCopy } from './requests.js'
import './binary-backend.js'
import { NOT_SUPPORTED, NOT_SUPPORTED_BODY, openBinaryResponse, sealBinaryRequest } from './value-crypt.js'
import { AUTHENTICATED, MAX_SASL_MECH_LEN, SASL_MECHS, SaslConversation, SaslResult } from '../server/auth-sasl.js'

const HEADER = 24
const EMPTY = Buffer.alloc(0)
const ETMPFAIL = 0x0086

/** A response packet: header fields we set, then extras/key/value as given. */
function response (opcode: number, status: number, opaque: number, value: Buffer | null = null, key: Buffer | null = null): Buffer {
  const kl = key?.length ?? 0
  const vl = value?.length ?? 0
  const b = Buffer.alloc(HEADER + kl + vl)
  b[0] = 0x81
  b[1] = opcode
  b.writeUInt16BE(kl, 2)
  b.writeUInt16BE(status, 6)
  b.writeUInt32BE(kl + vl, 8)
  b.writeUInt32BE(opaque >>> 0, 12)
  if (key !== null) key.copy(b, HEADER)
  if (value !== null) value.copy(b, HEADER + kl)
  return b
}

/** Retrievals: a failure answers as a miss. */
const READS = new Set<number>([Opcode.Get, Opcode.GetK, Opcode.Gat, Opcode.GatK])
const KEYED = new Set<number>([Opcode.Get, Opcode.GetK, Opcode.Gat, Opcode.GatK, Opcode.Set, Opcode.Add, Opcode.Replace,
  Opcode.Append, Opcode.Prepend, Opcode.Delete, Opcode.Increment, Opcode.Decrement, Opcode.Touch])

class BinSlot {
  done = false
  pieces: Buffer[] = []
  finish (pieces: Buffer[], session: ProxyBinarySession): void { this.pieces = pieces; this.done = true; session.slotDone() }
}

/**
 * One keyed request forwarded as its non-quiet opcode. With a `route` it is a read that
 * moves to the route's next copy when its backend fails (`tried`: bit i = readers[i]).
 */
class KeyedForward implements BinaryBackendRequest {
  sentAt = 0
  tried = 0
  /** A get of a key that moved, during a warm-up window (warm-up.ts): its previous owner. */
  warm: { key: Buffer, prev: number, shard: number } | null = null
  /** A read of a hot key: starts on the key's turn over the copies (router.ts spread). */
  hot: HotKey | null = null
  /** A write of a hot key: its cached value is dropped again when the reply comes. */
  written: HotKey | null = null
  constructor (readonly wire: Buffer, readonly op: number, readonly quiet: boolean, readonly read: boolean,
    readonly opaque: number, readonly slot: BinSlot, readonly session: ProxyBinarySession, readonly route: ShardRoute | null) {}

  /** A read's first attempt: the least loaded copy. False when the shard has none. */
  start (affinity: number): boolean {
    const route = this.route!
    const hot = this.hot
    const i = hot === null ? route.pick(0) : route.spread(hot.turn++)
    if (i < 0) return false
    this.tried = 1 << i
    const h = route.readers[i]!
    if (h !== route.writer) this.session.core.counters.proxy_replica_reads++
    if (hot !== null) countCopy(hot, h.address)
    h.sendBinary(this, affinity)
    return true
  }

  onPacket (buf: Buffer, s: number, e: number): Reply {
    if (this.written !== null) this.session.core.hot?.cache?.written(this.written)
    const status = buf.readUInt16BE(s + 6)
    const w = this.warm
    if (w !== null) {
      // A moved key: a miss is read through from its previous owner, then read again from
      // the new owner's writer (it was filled there); a hit counts for the hit ratio.
      this.warm = null
      const writer = this.session.core.router.route(w.shard).writer
      if (status === Status.KEY_ENOENT && writer !== null) {
        const miss = Buffer.from(buf.subarray(s, e))
        const aff = this.session.affinity
        this.session.core.warmUp.afterRead(false, w.key, w.prev, w.shard, aff, () => writer.sendBinary(this, aff), () => { this.onPacket(miss, 0, miss.length) })
        return Reply.Done
      }
      if (status === Status.SUCCESS) this.session.core.warmUp.movedRead(true)
    }
    const cipher = this.session.core.cipher
    let out: Buffer
    if (cipher !== null && this.read && status === Status.SUCCESS) {
      // --encrypt-values: a value that does not open is a miss, counted (value-crypt.ts).
      const opened = openBinaryResponse(cipher, this.wire, buf, s, e)
      if (opened === null) {
        this.session.core.counters.proxy_decrypt_failures++
        this.slot.finish(this.quiet ? [] : [response(this.op, Status.KEY_ENOENT, this.opaque, ErrorBody[Status.KEY_ENOENT]!)], this.session)
        return Reply.Done
      }
      out = opened
    } else {
      if (this.quiet && (this.read ? status === Status.KEY_ENOENT : status === Status.SUCCESS)) {
        this.slot.finish([], this.session)
        return Reply.Done
      }
      out = Buffer.from(buf.subarray(s, e))
    }
    out[1] = this.op // the client's opcode (quiet ones included)
    this.slot.finish([out], this.session)
    return Reply.Done
  }

  onFail (reason: FailReason): void {
    if (this.written !== null) this.session.core.hot?.cache?.written(this.written)
    const route = this.route
    if (route !== null) {
      const i = route.pick(this.tried)
      if (i >= 0) {
        this.tried |= 1 << i
        this.session.core.counters.proxy_read_retries++
        route.readers[i]!.sendBinary(this, this.session.affinity)
        return
      }
    }
    this.session.core.counters.proxy_failed_requests++
    this.slot.finish(failure(this.op, this.quiet, this.read, this.opaque, reason), this.session)
  }
}

/** A route tree's result for a KeyedForward: its packet, or its failure (never retried here). */
class TreeResult implements LegDone {
  constructor (readonly fwd: KeyedForward) {}
  onResult (r: LegResult): void {
    const p = r.pieces?.[0]
    if (p === undefined) this.fwd.onFail(r.reason ?? FailReason.Down)
    else this.fwd.onPacket(p, 0, p.length)
  }
}

function failure (op: number, quiet: boolean, read: boolean, opaque: number, reason: FailReason | 'no host'): Buffer[] {
  if (read) return quiet ? [] : [response(op, Status.KEY_ENOENT, opaque, ErrorBody[Status.KEY_ENOENT]!)]
  const why = reason === 'no host' ? 'no live master for this key' : `backend ${reason}`
  return [response(op, ETMPFAIL, opaque, Buffer.from(why))]
}

/** flush / stat to every host, combined. */
class FanForward implements BinaryBackendRequest {
  sentAt = 0
  packets: Buffer[] = []
  constructor (readonly wire: Buffer, readonly multi: boolean, readonly fan: BinFan, readonly tag: number) {}
  onPacket (buf: Buffer, s: number, e: number): Reply {
    this.packets.push(Buffer.from(buf.subarray(s, e)))
    // stat answers with one packet per figure and ends with an empty key.
    if (this.multi && buf.readUInt16BE(s + 2) !== 0 && buf.readUInt16BE(s + 6) === Status.SUCCESS) return Reply.More
    this.fan.done(this.tag, this.packets)
    return Reply.Done
  }

  onFail (): void { this.fan.done(this.tag, null) }
}

class BinFan {
  #replies: (Buffer[] | null)[]
  #left: number
  constructor (n: number, readonly finish: (replies: (Buffer[] | null)[]) => void) {
    this.#replies = new Array<Buffer[] | null>(n).fill(null)
    this.#left = n
    if (n === 0) finish([])
  }

  done (tag: number, r: Buffer[] | null): void { this.#replies[tag] = r; if (--this.#left === 0) this.finish(this.#replies) }
}

/** What a client may send before its SASL login (memcached authenticated()). */
function openWithoutAuth (opcode: number): boolean {
  return opcode === Opcode.SaslListMechs || opcode === Opcode.SaslAuth || opcode === Opcode.SaslStep || opcode === Opcode.Version
}

const OWN_STATS = new Set(['pid', 'uptime', 'time', 'version', 'libevent', 'pointer_size', 'curr_connections', 'total_connections',
  'rusage_user', 'rusage_system', 'max_connections', 'threads', 'hash_power_level'])

export class ProxyBinarySession implements ProtocolSession, BinaryRequestHandler {
  readonly core: ProxyCore
  #conn: ConnControl
  #parser: BinaryRequestParser
  #slots: BinSlot[] = []
  #head = 0
  #inPush = false
  #quitting = false
  #closed = false
  /** A keyed request waiting for its value: the wire being filled and where it goes. */
  #pending: { wire: Buffer, req: KeyedForward | null, shard: number } | null = null
  /** -S: this client's login (null: the proxy asks for none). */
  #sasl: SaslConversation | null
  /** A SASL AUTH/STEP waiting for its data. */
  #saslPending: BinaryRequest | null = null

  constructor (conn: ConnControl, core: ProxyCore) {
    this.#conn = conn
    this.core = core
    this.#parser = new BinaryRequestParser(this)
    this.#sasl = core.sasl === null ? null : new SaslConversation(core.sasl)
  }

  push (chunk: Buffer): void {
    this.#inPush = true
    try { this.#parser.push(chunk) } finally { this.#inPush = false }
    this.#drain()
  }

  pause (): void { this.#parser.pause() }
  resume (): void {
    this.#inPush = true
    try { this.#parser.resume() } finally { this.#inPush = false }
  }

  close (): void { this.#closed = true }
  /** Which backend connection of a host this client's requests use. */
  get affinity (): number { return this.#conn.id }
  endInput (): boolean { this.#quitting = true; this.#drain(); return true }

  #slot (): BinSlot {
    const s = new BinSlot()
    this.#slots.push(s)
    if (this.#slots.length - this.#head > this.core.maxPendingPerConn) this.#parser.pause()
    return s
  }

  #local (pieces: Buffer[]): void {
    if (this.#head === this.#slots.length) { for (const p of pieces) put(this.#conn.out, p); return }
    const s = new BinSlot()
    s.pieces = pieces
    s.done = true
    this.#slots.push(s)
  }

  slotDone (): void { if (!this.#inPush) this.#drain() }

  #drain (): void {
    if (this.#closed) return
    let wrote = false
    while (this.#head < this.#slots.length && this.#slots[this.#head]!.done) {
      for (const p of this.#slots[this.#head]!.pieces) put(this.#conn.out, p)
      this.#slots[this.#head] = undefined as unknown as BinSlot
      this.#head++
      wrote = true
    }
    if (this.#head === this.#slots.length) { this.#slots.length = 0; this.#head = 0 }
    // As in text-session.ts: nothing more is parsed while the client is not reading.
    if (this.#slots.length - this.#head <= this.core.maxPendingPerConn / 2 && !this.#quitting && this.#conn.state?.() !== 'conn_mwrite') this.resume()
    if (this.#quitting && this.#head === this.#slots.length) this.#conn.closeAfterWrite()
    if ((wrote || this.#quitting) && !this.#inPush) this.#conn.flush()
    if (this.#conn.state?.() === 'conn_mwrite') this.pause()
  }

  /** Framing lost: no more requests; close once the replies already owed are out (as memcached). */
  onFrameError (): void { this.#quitting = true; this.#drain() }

  /** Stop reading and close once every earlier reply is out. */
  #closeAfter (): Next {
    this.#quitting = true
    return Next.Stop
  }

  onRequest (req: BinaryRequest): Next {
    this.core.counters.proxy_requests++
    const op = req.opcode
    const opaque = req.opaque
    if (req.problem === Problem.BadLengths) {
      this.#local([response(op, Status.UNKNOWN_COMMAND, opaque, ErrorBody[Status.UNKNOWN_COMMAND]!)])
      return this.#closeAfter()
    }
    // -S: before a login only VERSION and SASL pass (checked on the opcode as sent, before
    // the other request checks, as memring's binary session and memcached do).
    const sasl = this.#sasl
    if (sasl !== null && !sasl.authenticated && !openWithoutAuth(req.opcode)) {
      this.#local([response(op, Status.AUTH_ERROR, opaque, ErrorBody[Status.AUTH_ERROR]!)])
      return this.#closeAfter()
    }
    switch (req.problem) {
      case Problem.Invalid:
        this.#local([response(op, Status.EINVAL, opaque, ErrorBody[Status.EINVAL]!)])
        return this.#closeAfter()
      case Problem.UnknownCommand:
        this.#local([response(op, Status.UNKNOWN_COMMAND, opaque, ErrorBody[Status.UNKNOWN_COMMAND]!)])
        return Next.Swallow
    }
    const base = req.op
    const quiet = req.quiet
    if (sasl !== null) {
      switch (base) {
        case Opcode.SaslListMechs:
          sasl.listMechs()
          this.#local([response(op, Status.SUCCESS, opaque, SASL_MECHS)])
          return Next.Continue
        case Opcode.SaslAuth: case Opcode.SaslStep:
          if (req.keylen > MAX_SASL_MECH_LEN) {
            this.#local([response(op, Status.EINVAL, opaque, ErrorBody[Status.EINVAL]!)])
            return Next.Swallow
          }
          this.#saslPending = req
          if (req.valueLength === 0) { this.#saslFinish(req, EMPTY, 0, 0); return Next.Continue }
          return Next.Value
      }
    }
    if (base === UNKNOWN || base === Opcode.SaslListMechs || base === Opcode.SaslAuth || base === Opcode.SaslStep) {
      this.#local([response(op, Status.UNKNOWN_COMMAND, opaque, ErrorBody[Status.UNKNOWN_COMMAND]!)])
      return Next.Swallow
    }
    // The frame as the backend gets it: header + extras + key (+ value), bodylen exact.
    const head = HEADER + req.extlen + req.keylen
    const wire = Buffer.allocUnsafe(head + req.valueLength)
    req.buf.copy(wire, 0, req.at, req.at + head)
    wire.writeUInt32BE(req.extlen + req.keylen + req.valueLength, 8)
    wire[1] = base
    switch (base) {
      case Opcode.Noop: this.#local([response(op, Status.SUCCESS, opaque)]); return Next.Continue
      case Opcode.Version: this.#local([response(op, Status.SUCCESS, opaque, Buffer.from(this.core.version))]); return Next.Continue
      case Opcode.Quit:
        if (!quiet) this.#local([response(op, Status.SUCCESS, opaque)])
        return this.#closeAfter()
      case Opcode.Flush: this.#flush(wire, op, quiet, opaque); return Next.Continue
      case Opcode.Stat: this.#stat(wire, op, opaque); return Next.Continue
    }
    if (!KEYED.has(base)) {
      this.#local([response(op, Status.UNKNOWN_COMMAND, opaque, ErrorBody[Status.UNKNOWN_COMMAND]!)])
      return Next.Swallow
    }
    const cipher = this.core.cipher
    if (cipher !== null && (base === Opcode.Append || base === Opcode.Prepend || base === Opcode.Increment || base === Opcode.Decrement)) {
      // --encrypt-values: they would work on the sealed bytes (value-crypt.ts).
      this.core.counters.proxy_encrypt_refused++
      this.#local([response(op, NOT_SUPPORTED, opaque, NOT_SUPPORTED_BODY)])
      return Next.Swallow
    }
    const seal = cipher !== null && (base === Opcode.Set || base === Opcode.Add || base === Opcode.Replace)
    const router = this.core.router
    const read = READS.has(base)
    const slot = this.#slot()
    const anyCopy = base === Opcode.Get || base === Opcode.GetK
    const warm = this.core.warmUp
    let shard = router.shardIndexOf(req.buf, req.keyStart, req.keyEnd)
    // A moved key whose new owner has no copy yet is read from its previous owner (warm-up.ts).
    if (anyCopy && warm.active) shard = warm.readOwner(req.buf, req.keyStart, req.keyEnd, shard)
    const fwd = new KeyedForward(wire, op, quiet, read, opaque, slot, this, anyCopy && this.core.tree === null ? router.route(shard) : null)
    if (warm.active) {
      const prev = warm.previousOwner(req.buf, req.keyStart, req.keyEnd, shard)
      if (prev >= 0 && anyCopy) fwd.warm = { key: Buffer.from(req.buf.subarray(req.keyStart, req.keyEnd)), prev, shard }
      else if (!read) warm.wrote(req.buf, req.keyStart, req.keyEnd, shard, this.#conn.id)
    }
    // Hot keys (hot-reads.ts): a get counts and may go round the copies; a write (gat/gatk
    // included) drops a cached value now and when its reply comes.
    const hot = this.core.hot
    if (hot !== null) {
      if (anyCopy) fwd.hot = hot.read(req.buf, req.keyStart, req.keyEnd)
      else fwd.written = hot.writtenKey(req.buf, req.keyStart, req.keyEnd)
    }
    if (req.valueLength > 0) {
      this.#pending = { wire, req: fwd, shard }
      return Next.Value
    }
    if (seal) {
      this.#sendSealed(fwd, wire, EMPTY, 0, 0, shard)
      return Next.Continue
    }
    this.#send(fwd, shard)
    return Next.Continue
  }

  /** --encrypt-values: a set/add/replace goes with its value sealed (a new wire). */
  #sendSealed (fwd: KeyedForward, head: Buffer, value: Buffer, s: number, e: number, shard: number): void {
    const sealed = new KeyedForward(sealBinaryRequest(this.core.cipher!, head, value, s, e), fwd.op, fwd.quiet, fwd.read, fwd.opaque, fwd.slot, this, fwd.route)
    sealed.written = fwd.written
    this.#send(sealed, shard)
  }

  onValue (req: BinaryRequest, value: Buffer, s: number, e: number): void {
    if (this.#saslPending !== null) { this.#saslFinish(req, value, s, e); return }
    const p = this.#pending
    this.#pending = null
    if (p === null || p.req === null) return
    const op = p.wire[1]
    if (this.core.cipher !== null && (op === Opcode.Set || op === Opcode.Add || op === Opcode.Replace)) {
      this.#sendSealed(p.req, p.wire, value, s, e, p.shard)
      return
    }
    value.copy(p.wire, p.wire.length - (e - s), s, e)
    this.#send(p.req, p.shard)
  }

  /** SASL AUTH/STEP with its data: the server's conversation and replies (auth-sasl.ts). */
  #saslFinish (req: BinaryRequest, data: Buffer, s: number, e: number): void {
    this.#saslPending = null
    const sasl = this.#sasl!
    const counters = this.core.counters
    const r = req.op === Opcode.SaslAuth ? sasl.auth(req.buf, req.keyStart, req.keyEnd, data, s, e) : sasl.step(data, s, e)
    if (r === SaslResult.Continue) { this.#local([response(req.opcode, Status.AUTH_CONTINUE, req.opaque, EMPTY)]); return }
    counters.proxy_auth_cmds++
    if (r === SaslResult.Ok) { this.#local([response(req.opcode, Status.SUCCESS, req.opaque, AUTHENTICATED)]); return }
    counters.proxy_auth_errors++
    this.#local([response(req.opcode, Status.AUTH_ERROR, req.opaque, ErrorBody[Status.AUTH_ERROR]!)])
  }

  #send (fwd: KeyedForward, shard: number): void {
    const tree = this.core.tree
    if (tree !== null) {
      const [ks, ke] = binaryKey(fwd.wire)
      tree.route(fwd.wire, ks, ke, new BinaryLeg(fwd.wire, fwd.wire[1]!, this.#conn.id), new TreeResult(fwd), 0)
      return
    }
    if (fwd.route !== null) {
      if (fwd.start(this.#conn.id)) return
    } else {
      const route = this.core.router.route(shard)
      const writer = route.writer
      if (writer !== null) {
        // --dc-writes local-invalidate: this DC's other copies drop the key first (dc-writes.ts;
        // the wire is this request's own buffer, so it may wait).
        const dcw = this.core.dcWrites
        const aff = this.#conn.id
        if (!dcw.needed(route)) { writer.sendBinary(fwd, aff); return }
        const [ks, ke] = binaryKey(fwd.wire)
        dcw.invalidate(route, fwd.wire, ks, ke, aff, () => writer.sendBinary(fwd, aff))
        return
      }
      if (route.fenced) this.core.counters.proxy_fenced_writes++
    }
    this.core.counters.proxy_no_host++
    fwd.slot.finish(failure(fwd.op, fwd.quiet, fwd.read, fwd.opaque, 'no host'), this)
  }

  #flush (pkt: Buffer, op: number, quiet: boolean, opaque: number): void {
    const hosts = this.core.router.allHosts()
    const total = this.core.router.shardCount
    const slot = this.#slot()
    const wire = Buffer.from(pkt)
    wire[1] = Opcode.Flush
    const fan = new BinFan(hosts.length, (replies) => {
      let reached = 0
      for (const r of replies) {
        if (r === null) continue
        const p = r[r.length - 1]!
        if (p.readUInt16BE(6) !== Status.SUCCESS) { p[1] = op; slot.finish([p], this); return }
        reached++
      }
      this.core.hot?.flushed()
      if (reached < total) slot.finish([response(op, ETMPFAIL, opaque, Buffer.from(`flush reached ${reached} of ${total} shards`))], this)
      else slot.finish(quiet ? [] : [response(op, Status.SUCCESS, opaque)], this)
    })
    this.core.hot?.flushed()
    hosts.forEach((h, i) => h.sendBinary(new FanForward(wire, false, fan, i), this.#conn.id))
  }

  #stat (pkt: Buffer, op: number, opaque: number): void {
    const hosts = this.core.router.allHosts()
    const slot = this.#slot()
    const fan = new BinFan(hosts.length, (replies) => {
      const values = new Map<string, string>()
      for (const r of replies) {
        if (r === null) continue
        for (const p of r) {
          const st = p.readUInt16BE(6)
          if (st !== Status.SUCCESS) { slot.finish([p], this); return }
          const kl = p.readUInt16BE(2)
          if (kl === 0) continue
          const el = p[4]!
          const name = p.toString('latin1', HEADER + el, HEADER + el + kl)
          const v = p.toString('latin1', HEADER + el + kl)
          const had = values.get(name)
          if (had === undefined) values.set(name, v)
          else if (!OWN_STATS.has(name) && /^\d+$/.test(had) && /^\d+$/.test(v)) values.set(name, String(BigInt(had) + BigInt(v)))
        }
      }
      values.set('pid', String(process.pid))
      values.set('uptime', String(Math.floor((Date.now() - this.core.startedAtMs) / 1000)))
      values.set('curr_connections', String(this.core.currConnections()))
      const out: Buffer[] = []
      for (const [k, v] of values) out.push(response(op, Status.SUCCESS, opaque, Buffer.from(v, 'latin1'), Buffer.from(k, 'latin1')))
      out.push(response(op, Status.SUCCESS, opaque))
      slot.finish(out, this)
    })
    hosts.forEach((h, i) => h.sendBinary(new FanForward(pkt, true, fan, i), this.#conn.id))
  }
}
