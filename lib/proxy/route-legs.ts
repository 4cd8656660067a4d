// lib/proxy/route-legs.ts
/**
 * Legs: one client request as route-tree.ts sends it, in its protocol (text or binary), and
 * the result each backend reply becomes: the reply's bytes plus its SEVERITY, the order
 * mcrouter's AllSyncRoute ranks replies by (resultSeverity() in mcrouter's
 * lib/McResUtil.h), and whether FailoverRoute moves on after it (isFailoverErrorResult()):
 *
 *   1   STORED, DELETED, OK, EXISTS, a hit (VALUE / VA / HD), an incr/decr number, MN
 *   4   a miss (END alone, EN, NOT_FOUND, NF), NOT_STORED, NS
 *   5   no reply: refused, reset, timeout, marked down (TKO)                  failover
 *   7   SERVER_ERROR from the server (mcrouter's remote error)                failover
 *   9   CLIENT_ERROR
 *   10  anything else: ERROR, and TOUCHED (mcrouter's switch has no case for it, so a
 *       touch that hit is "worse" than one that missed, as in mcrouter)
 *
 * Binary statuses map alike: SUCCESS 1 (10 for touch), KEY_EEXISTS 1, KEY_ENOENT and
 * NOT_STORED 4, ETMPFAIL / ENOMEM / E2BIG 7 (server errors), EINVAL and DELTA_BADVAL 9,
 * others 10.
 */
import { FailReason, Reply, type BackendHost, type BinaryBackendRequest } from './backend.js'
import { Forward, type Kind, type ReplySink } from './requests.js'
import { Status } from '../../protocol/binary/status.js'
import { Opcode } from '../../protocol/binary/opcodes.js'

export interface LegResult {
  /** The reply as the client would get it (null: no reply, see `reason`). */
  readonly pieces: Buffer[] | null
  readonly reason: FailReason | null
  readonly severity: number
  /** FailoverRoute tries its next child after this result. */
  readonly failover: boolean
}

export interface LegDone { onResult (r: LegResult, tag: number): void }

export interface Leg {
  /** Sends (a copy of) the request to `host`; `done` hears its result once, with `tag`. */
  send (host: BackendHost, done: LegDone, tag: number): void
}

const SEV_OK = 1
const SEV_MISS = 4
const SEV_NO_REPLY = 5
const SEV_REMOTE = 7
const SEV_CLIENT = 9
const SEV_OTHER = 10

function failed (reason: FailReason): LegResult {
  return { pieces: null, reason, severity: SEV_NO_REPLY, failover: true }
}

/** A pool without a server for the key (an empty pool cannot be configured; kept total). */
export const NO_HOST: LegResult = failed(FailReason.Down)

function replied (pieces: Buffer[], severity: number): LegResult {
  return { pieces, reason: null, severity, failover: severity === SEV_REMOTE }
}

const WORDS: Array<[Buffer, number]> = ([
  ['VALUE ', SEV_OK], ['STORED\r', SEV_OK], ['DELETED\r', SEV_OK], ['OK\r', SEV_OK], ['EXISTS\r', SEV_OK],
  ['HD', SEV_OK], ['VA ', SEV_OK], ['MN\r', SEV_OK], ['EX', SEV_OK],
  ['END\r', SEV_MISS], ['NOT_FOUND\r', SEV_MISS], ['NOT_STORED\r', SEV_MISS], ['EN', SEV_MISS], ['NF', SEV_MISS], ['NS', SEV_MISS],
  ['SERVER_ERROR', SEV_REMOTE], ['CLIENT_ERROR', SEV_CLIENT],
] as Array<[string, number]>).map(([w, s]) => [Buffer.from(w, 'latin1'), s])

function lineSeverity (p: Buffer): number {
  const c = p[0]!
  if (c >= 0x30 && c <= 0x39) return SEV_OK // incr/decr result
  for (const [w, s] of WORDS) {
    if (p.length >= w.length && p.compare(w, 0, w.length, 0, w.length) === 0) {
      // Two-letter meta codes are followed by a space or CR, never by more letters.
      if (w.length === 2 && p.length > 2 && p[2] !== 0x20 && p[2] !== 0x0d) continue
      return s
    }
  }
  return SEV_OTHER
}

/** A text reply's severity: a hit anywhere in a retrieval counts; else its first line. */
export function textSeverity (pieces: Buffer[]): number {
  if (pieces.length === 0) return SEV_OK // a quiet meta request that succeeded (or quietly missed)
  const first = lineSeverity(pieces[0]!)
  return first === SEV_OK ? SEV_OK : lineSeverity(pieces[pieces.length - 1]!) === SEV_MISS ? SEV_MISS : first
}

export function binarySeverity (status: number, op: number): number {
  switch (status) {
    case Status.SUCCESS: return op === Opcode.Touch ? SEV_OTHER : SEV_OK
    case Status.KEY_EEXISTS: return SEV_OK
    case Status.KEY_ENOENT: case Status.NOT_STORED: return SEV_MISS
    case Status.ETMPFAIL: case Status.ENOMEM: case Status.E2BIG: return SEV_REMOTE
    case Status.EINVAL: case Status.DELTA_BADVAL: return SEV_CLIENT
    default: return SEV_OTHER
  }
}

/** A text request: the wire bytes and how their reply is framed (requests.ts Kind). */
export class TextLeg implements Leg {
  constructor (readonly wire: Buffer, readonly kind: Kind, readonly affinity: number) {}
  send (host: BackendHost, done: LegDone, tag: number): void {
    host.send(new Forward(this.wire, this.kind, new TextLegSink(done), tag), this.affinity)
  }
}

class TextLegSink implements ReplySink {
  constructor (readonly done: LegDone) {}
  onReply (pieces: Buffer[], tag: number): void { this.done.onResult(replied(pieces, textSeverity(pieces)), tag) }
  onFail (reason: FailReason, tag: number): void { this.done.onResult(failed(reason), tag) }
}

/** A tree's final text result -> the session's sink (a Slot, a MultiGet part, ...). */
export class ToReplySink implements LegDone {
  constructor (readonly sink: ReplySink) {}
  onResult (r: LegResult, tag: number): void {
    if (r.pieces === null) this.sink.onFail(r.reason ?? FailReason.Down, tag)
    else this.sink.onReply(r.pieces, tag)
  }
}

/** A binary keyed request, sent as its non-quiet opcode `op` (binary-session.ts). */
export class BinaryLeg implements Leg {
  constructor (readonly wire: Buffer, readonly op: number, readonly affinity: number) {}
  send (host: BackendHost, done: LegDone, tag: number): void {
    host.sendBinary(new BinaryLegRequest(this.wire, this.op, done, tag), this.affinity)
  }
}

class BinaryLegRequest implements BinaryBackendRequest {
  sentAt = 0
  constructor (readonly wire: Buffer, readonly op: number, readonly done: LegDone, readonly tag: number) {}
  onPacket (buf: Buffer, s: number, e: number): Reply {
    const p = Buffer.from(buf.subarray(s, e)) // the view lives only during this call
    this.done.onResult(replied([p], binarySeverity(p.readUInt16BE(6), this.op)), this.tag)
    return Reply.Done
  }

  onFail (reason: FailReason): void { this.done.onResult(failed(reason), this.tag) }
}

/** The key of a binary request frame: after the 24-byte header and the extras. */
export function binaryKey (wire: Buffer): [number, number] {
  const ks = 24 + wire[4]!
  return [ks, ks + wire.readUInt16BE(2)]
}
