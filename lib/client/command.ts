/**
 * One request and the reply it waits for (ioredis's Command). A command encodes itself
 * once, consumes the reply lines the connection hands it in order, and settles through
 * its callback exactly once. No promise is made here: the public API wraps commands in
 * promises at the edge (client.ts), the proxy can use the callbacks directly.
 *
 * Error replies (ERROR, CLIENT_ERROR, SERVER_ERROR) are recognised by the connection for
 * every command; commands only see the lines that belong to their success path.
 */
import { ClientError, ClientErrorCode } from './errors.js'

/** What a reply line did to the command. */
export const Reply = { More: 0, Done: 1, Bad: 2 } as const
export type Reply = (typeof Reply)[keyof typeof Reply]

export type Callback<T> = (err: ClientError | null, result: T | undefined) => void

/** What a connection needs of a command, whatever its result type. */
export interface PendingCommand {
  readonly request: Buffer | readonly Buffer[]
  deadline: number
  sent: boolean
  onLine (buf: Buffer, s: number, e: number): Reply
  onValue (line: Buffer, ls: number, le: number, data: Buffer, ds: number, de: number): Reply
  succeed (): void
  fail (err: ClientError): void
}

export abstract class Command<T> implements PendingCommand {
  /** Bytes to send: one buffer, or several written back to back. */
  readonly request: Buffer | readonly Buffer[]
  /** Date.now() after which the command fails with a timeout; set by the connection. */
  deadline = 0
  /** True once written to a socket (so it may have run on the server). */
  sent = false
  private callback: Callback<T> | null

  constructor (request: Buffer | readonly Buffer[], callback: Callback<T>) {
    this.request = request
    this.callback = callback
  }

  /** A success-path line. */
  abstract onLine (buf: Buffer, s: number, e: number): Reply
  /** A VALUE data block; only retrievals expect one. */
  onValue (_line: Buffer, _ls: number, _le: number, _data: Buffer, _ds: number, _de: number): Reply {
    return Reply.Bad
  }

  /** The result once the reply is complete. */
  protected abstract result (): T

  get settled (): boolean {
    return this.callback === null
  }

  /** Completes with the result built from the reply. */
  succeed (): void {
    const cb = this.callback
    if (cb === null) return
    this.callback = null
    cb(null, this.result())
  }

  fail (err: ClientError): void {
    const cb = this.callback
    if (cb === null) return
    this.callback = null
    cb(err, undefined)
  }
}

function lineIs (buf: Buffer, s: number, e: number, word: string): boolean {
  if (e - s !== word.length) return false
  for (let i = 0; i < word.length; i++) if (buf[s + i] !== word.charCodeAt(i)) return false
  return true
}

/** A value as it came back. `value` is our own copy. */
export interface Item {
  readonly value: Buffer
  readonly flags: number
  /** The CAS unique (gets/gats), else null. */
  readonly cas: bigint | null
}

/**
 * get/gets/gat/gats over keys of ONE server: VALUE blocks then END. The result is
 * indexed like the keys it was made for (null = miss); a key listed twice gets the value
 * in both places.
 */
export class RetrievalCommand extends Command<Array<Item | null>> {
  private readonly byKey = new Map<string, Item>()
  constructor (request: Buffer, private readonly keys: readonly Buffer[], callback: Callback<Array<Item | null>>) {
    super(request, callback)
  }

  override onValue (line: Buffer, ls: number, le: number, data: Buffer, ds: number, de: number): Reply {
    // VALUE <key> <flags> <bytes> [<cas>]
    const k = ls + 6
    const ke = line.indexOf(32, k)
    if (ke < 0 || ke >= le) return Reply.Bad
    const fe0 = line.indexOf(32, ke + 1)
    const fe = fe0 < 0 || fe0 > le ? le : fe0
    const flags = digits(line, ke + 1, fe)
    if (flags < 0 || flags > 0xffffffff) return Reply.Bad
    let cas: bigint | null = null
    const be = line.indexOf(32, fe + 1)
    if (be >= 0 && be < le) {
      const c = digitsBig(line, be + 1, le)
      if (c < 0n) return Reply.Bad
      cas = c
    }
    const value = Buffer.allocUnsafe(de - ds)
    data.copy(value, 0, ds, de)
    this.byKey.set(line.toString('utf8', k, ke), { value, flags, cas })
    return Reply.More
  }

  onLine (buf: Buffer, s: number, e: number): Reply {
    return lineIs(buf, s, e, 'END') ? Reply.Done : Reply.Bad
  }

  protected result (): Array<Item | null> {
    return this.keys.map((k) => this.byKey.get(k.toString('utf8')) ?? null)
  }
}

export type StoreStatus = 'STORED' | 'NOT_STORED' | 'EXISTS' | 'NOT_FOUND'
const STORE_STATUSES: readonly StoreStatus[] = ['STORED', 'NOT_STORED', 'EXISTS', 'NOT_FOUND']

/** set/add/replace/append/prepend/cas: one status line. */
export class StoreCommand extends Command<StoreStatus> {
  private status: StoreStatus = 'STORED'
  onLine (buf: Buffer, s: number, e: number): Reply {
    for (const st of STORE_STATUSES) {
      if (lineIs(buf, s, e, st)) { this.status = st; return Reply.Done }
    }
    return Reply.Bad
  }

  protected result (): StoreStatus { return this.status }
}

/** A command answered by one of two words: `yes` -> true, `no` -> false (delete, touch). */
export class YesNoCommand extends Command<boolean> {
  private answer = false
  constructor (request: Buffer, private readonly yes: string, private readonly no: string, callback: Callback<boolean>) {
    super(request, callback)
  }

  onLine (buf: Buffer, s: number, e: number): Reply {
    if (lineIs(buf, s, e, this.yes)) { this.answer = true; return Reply.Done }
    if (lineIs(buf, s, e, this.no)) { this.answer = false; return Reply.Done }
    return Reply.Bad
  }

  protected result (): boolean { return this.answer }
}

/** incr/decr: the new value (unsigned 64-bit) or NOT_FOUND (null). */
export class ArithCommand extends Command<bigint | null> {
  private value: bigint | null = null
  onLine (buf: Buffer, s: number, e: number): Reply {
    if (lineIs(buf, s, e, 'NOT_FOUND')) { this.value = null; return Reply.Done }
    // memcached pads a decremented value with spaces when it gets shorter (proto_text.c)
    let end = e
    while (end > s && buf[end - 1] === 32) end--
    const v = digitsBig(buf, s, end)
    if (v < 0n) return Reply.Bad
    this.value = v
    return Reply.Done
  }

  protected result (): bigint | null { return this.value }
}

/** flush_all: OK. */
export class OkCommand extends Command<void> {
  onLine (buf: Buffer, s: number, e: number): Reply {
    return lineIs(buf, s, e, 'OK') ? Reply.Done : Reply.Bad
  }

  protected result (): void {}
}

/** version: VERSION <text>. */
export class VersionCommand extends Command<string> {
  private version = ''
  onLine (buf: Buffer, s: number, e: number): Reply {
    if (e - s < 8 || buf.toString('latin1', s, s + 8) !== 'VERSION ') return Reply.Bad
    this.version = buf.toString('latin1', s + 8, e)
    return Reply.Done
  }

  protected result (): string { return this.version }
}

/** stats [args]: STAT <name> <value> lines, then END. */
export class StatsCommand extends Command<Map<string, string>> {
  private readonly stats = new Map<string, string>()
  onLine (buf: Buffer, s: number, e: number): Reply {
    if (lineIs(buf, s, e, 'END')) return Reply.Done
    if (e - s < 5 || buf.toString('latin1', s, s + 5) !== 'STAT ') return Reply.Bad
    const sp = buf.indexOf(32, s + 5)
    if (sp < 0 || sp >= e) this.stats.set(buf.toString('latin1', s + 5, e), '')
    else this.stats.set(buf.toString('latin1', s + 5, sp), buf.toString('latin1', sp + 1, e))
    return Reply.More
  }

  protected result (): Map<string, string> { return this.stats }
}

/** A meta reply: its two-letter code, its flag tokens, and the value of a VA reply. */
export interface MetaReply {
  /** HD, VA, EN, NF, NS, EX or MN. */
  readonly status: string
  /** Returned flags in order, e.g. ["f0", "t-1", "c12"]. */
  readonly flags: readonly string[]
  readonly value: Buffer | null
}

const META_CODES = new Set(['HD', 'VA', 'EN', 'NF', 'NS', 'EX', 'MN'])

/** mg/ms/md/ma/mn without the q flag: exactly one reply line, plus data after VA. */
export class MetaCommand extends Command<MetaReply> {
  private reply: MetaReply = { status: '', flags: [], value: null }
  onLine (buf: Buffer, s: number, e: number): Reply {
    const words = buf.toString('latin1', s, e).split(' ')
    if (!META_CODES.has(words[0]) || words[0] === 'VA') return Reply.Bad
    this.reply = { status: words[0], flags: words.slice(1).filter((w) => w !== ''), value: null }
    return Reply.Done
  }

  override onValue (line: Buffer, ls: number, le: number, data: Buffer, ds: number, de: number): Reply {
    // VA <size> <flags>*
    const words = line.toString('latin1', ls, le).split(' ')
    if (words[0] !== 'VA') return Reply.Bad
    const value = Buffer.allocUnsafe(de - ds)
    data.copy(value, 0, ds, de)
    this.reply = { status: 'VA', flags: words.slice(2).filter((w) => w !== ''), value }
    return Reply.Done
  }

  protected result (): MetaReply { return this.reply }
}

/** Decimal digits in buf[s, e) as a number (< 2^53), or -1. */
function digits (buf: Buffer, s: number, e: number): number {
  if (s >= e || e - s > 15) return -1
  let n = 0
  for (let i = s; i < e; i++) {
    const d = buf[i] - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

const U64_MAX = (1n << 64n) - 1n

/** Decimal digits in buf[s, e) as an unsigned 64-bit bigint, or -1n. */
function digitsBig (buf: Buffer, s: number, e: number): bigint {
  if (s >= e || e - s > 20) return -1n
  const small = digits(buf, s, e)
  if (small >= 0) return BigInt(small)
  for (let i = s; i < e; i++) if (buf[i] < 48 || buf[i] > 57) return -1n
  const v = BigInt(buf.toString('latin1', s, e))
  return v > U64_MAX ? -1n : v
}

/** The error a reply line names, or null if it is not an error line. */
export function errorReply (buf: Buffer, s: number, e: number, server: string): ClientError | null {
  if (buf[s] !== 0x45 && buf[s] !== 0x43 && buf[s] !== 0x53) return null // E, C, S
  const text = buf.toString('latin1', s, Math.min(e, s + 1024))
  if (text === 'ERROR' || text.startsWith('ERROR ')) {
    return new ClientError(ClientErrorCode.ErrorReply, `${server} replied ${text}`, { server })
  }
  if (text.startsWith('CLIENT_ERROR')) {
    return new ClientError(ClientErrorCode.ClientErrorReply, `${server} replied ${text}`, { server })
  }
  if (text.startsWith('SERVER_ERROR')) {
    return new ClientError(ClientErrorCode.ServerError, `${server} replied ${text}`, { server })
  }
  return null
}
