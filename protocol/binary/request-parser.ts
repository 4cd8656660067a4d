/**
 * Server-side framing of binary requests: a resumable state machine over socket chunks.
 *
 * It frames exactly as memcached 1.6.18 does (proto_bin.c try_read_command_binary and
 * dispatch_bin_command), because the framing itself is observable:
 *  - a request is acted on once its header, extras and key are in; the value, if the
 *    command has one, is read afterwards (conn_nread), so the handler can refuse a huge
 *    value before it is buffered;
 *  - a command that carries no value consumes only header + extras + key. If bodylen
 *    claims more (STAT, TOUCH and GAT accept that), the extra bytes are parsed as the
 *    next packet, as memcached does;
 *  - an unknown opcode swallows `bodylen` bytes counted from the end of its key (a
 *    memcached quirk that eats extlen + keylen bytes of what follows);
 *  - a first byte other than 0x80 loses framing: the handler is told and parsing stops.
 *
 * The parser judges the packet (Problem) but never answers: the handler decides, because
 * memcached checks SASL authentication between the length check and the others.
 */
import { HEADER_LEN, MAGIC_REQUEST, Off, readCas, u16, u32 } from './header.js'
import { Opcode, UNKNOWN, baseOpcode, carriesValue, isQuiet } from './opcodes.js'

/** memcached.h KEY_MAX_LENGTH: binprot has 16-bit key lengths but items hold 250 bytes. */
export const BIN_KEY_MAX_LENGTH = 250
/**
 * memcached reads a request's header, extras and key into its 16 KiB read buffer
 * (READ_BUFFER_SIZE); a frame that cannot fit there is never served and the connection
 * is closed. We give up at the same size.
 */
export const FRAME_MAX = 16384

/** What is wrong with a framed packet, in the order memcached checks. */
export const Problem = {
  None: 0,
  /** keylen + extlen > bodylen: UNKNOWN_COMMAND, then close. Checked before SASL. */
  BadLengths: 1,
  /** Key over 250 bytes, or lengths the command does not accept: EINVAL, then close. */
  Invalid: 2,
  /** Opcode memcached does not serve: UNKNOWN_COMMAND; swallow valueLength; keep going. */
  UnknownCommand: 3,
} as const
export type Problem = (typeof Problem)[keyof typeof Problem]

/** What the handler wants done with the bytes after the key (returned by onRequest). */
export const Next = {
  /** Read req.valueLength bytes and deliver them to onValue (also when it is 0). */
  Value: 0,
  /** Discard req.valueLength bytes (memcached conn_swallow). */
  Swallow: 1,
  /** Nothing more belongs to this request; parse the next packet. */
  Continue: 2,
  /** The connection is closing: ignore all further input. */
  Stop: 3,
  /**
   * Hand the req.valueLength value bytes to onValuePart as they arrive, without
   * assembling them (the handler writes them straight into their destination, e.g. the
   * item's slab memory), then call onValueEnd.
   */
  Stream: 4,
} as const
export type Next = (typeof Next)[keyof typeof Next]

/** Why framing was lost (the connection must close without a reply). */
export const FrameError = {
  /** First byte of a packet is not 0x80 (memcached: "Invalid magic", conn_closing). */
  BadMagic: 1,
  /** Header + extras + key exceed FRAME_MAX. */
  FrameTooLarge: 2,
} as const
export type FrameError = (typeof FrameError)[keyof typeof FrameError]

/**
 * One request, reused for every packet of a connection. `buf` and every offset into it
 * are valid only during onRequest and, for a value the handler asked for, until onValue
 * returns; copy what must outlive that.
 */
export class BinaryRequest {
  /** Opcode as sent (echoed in the response header). */
  opcode = 0
  /** Normal opcode with the quiet variant folded in, or UNKNOWN. */
  op: number = UNKNOWN
  quiet = false
  keylen = 0
  extlen = 0
  bodylen = 0
  datatype = 0
  vbucket = 0
  /** Raw 32-bit opaque, echoed back unchanged. */
  opaque = 0
  /** Header CAS (see readCas for values >= 2^53). */
  cas = 0
  problem: Problem = Problem.None
  /** Bytes after the key that belong to this request (the value, or what to swallow). */
  valueLength = 0
  buf: Buffer = Buffer.alloc(0)
  /** Offset of the header in buf. */
  at = 0

  get extStart (): number { return this.at + HEADER_LEN }
  get keyStart (): number { return this.at + HEADER_LEN + this.extlen }
  get keyEnd (): number { return this.at + HEADER_LEN + this.extlen + this.keylen }
  /** Big-endian u32 of the extras at byte i (flags, exptime, expiration). */
  extU32 (i: number): number { return u32(this.buf, this.at + HEADER_LEN + i) }
  /** Big-endian u64 of the extras at byte i (incr/decr delta and initial value). */
  extU64 (i: number): bigint { return this.buf.readBigUInt64BE(this.at + HEADER_LEN + i) }
}

export interface BinaryRequestHandler {
  /** Header, extras and key are complete. Decide what happens to the bytes after the key. */
  onRequest (req: BinaryRequest): Next
  /**
   * The value of a request accepted with Next.Value. value[s, e) is a view valid only
   * during this call (it may be the socket chunk or the parser's own buffer).
   */
  onValue (req: BinaryRequest, value: Buffer, s: number, e: number): void
  /**
   * Next.Stream: value bytes [at, at + (e - s)) of the request's value are buf[s, e), a
   * view valid only during this call. Parts arrive in order and cover the value.
   */
  onValuePart? (req: BinaryRequest, buf: Buffer, s: number, e: number, at: number): void
  /** Next.Stream: the whole value has been handed over. */
  onValueEnd? (req: BinaryRequest): void
  /** Framing is lost; the parser has stopped. */
  onFrameError (kind: FrameError): void
}

const State = { Frame: 0, Value: 1, Swallow: 2, Stopped: 3, Stream: 4 } as const
type State = (typeof State)[keyof typeof State]

const EMPTY = Buffer.alloc(0)

export class BinaryRequestParser {
  private state: State = State.Frame
  /** Parser-owned copy of a frame that arrived in pieces (grown to the frame size). */
  private carry: Buffer = Buffer.allocUnsafe(HEADER_LEN)
  private carried = 0
  /** Bytes the carry must hold before the frame is complete (24, then the frame size). */
  private need = HEADER_LEN
  /** A value that spans chunks, sized once from the header. */
  private value: Buffer = EMPTY
  private filled = 0
  private left = 0
  private readonly req = new BinaryRequest()
  private paused = false
  /** Input that arrived (or was left) while paused, fed again by resume(). */
  private backlog: Buffer[] = []

  constructor (private readonly handler: BinaryRequestHandler) {}

  /** Whether parsing stopped (framing lost or the handler said Stop). */
  get stopped (): boolean { return this.state === State.Stopped }

  /** Stops parsing after the current request; later input is kept until resume(). */
  pause (): void { this.paused = true }

  /** Parses the input kept while paused. */
  resume (): void {
    this.paused = false
    while (!this.paused && this.backlog.length > 0 && this.state !== State.Stopped) {
      this.feed(this.backlog.shift() as Buffer)
    }
  }

  /** Stops for good (the connection is closing). */
  halt (): void {
    this.state = State.Stopped
    this.backlog.length = 0
  }

  /** Feeds one chunk. Never throws on bad input; reports through the handler. */
  push (chunk: Buffer): void {
    if (this.paused) {
      if (this.state !== State.Stopped) this.backlog.push(Buffer.from(chunk))
      return
    }
    this.feed(chunk)
  }

  private feed (chunk: Buffer): void {
    let off = 0
    const end = chunk.length
    while (off < end) {
      if (this.paused) {
        // The handler asked for a pause: keep the rest, in order, before anything newer.
        this.backlog.unshift(Buffer.from(chunk.subarray(off)))
        return
      }
      switch (this.state) {
        case State.Frame:
          off = this.frame(chunk, off, end)
          break
        case State.Value:
          off = this.valueBytes(chunk, off, end)
          break
        case State.Stream:
          off = this.streamBytes(chunk, off, end)
          break
        case State.Swallow: {
          const n = Math.min(this.left, end - off)
          this.left -= n
          off += n
          if (this.left === 0) this.state = State.Frame
          break
        }
        case State.Stopped:
          return
      }
    }
  }

  private frame (chunk: Buffer, off: number, end: number): number {
    if (this.carried === 0 && end - off >= HEADER_LEN) {
      // Fast path: the header is in this chunk.
      if (chunk[off] !== MAGIC_REQUEST) return this.lost(FrameError.BadMagic, end)
      const size = HEADER_LEN + chunk[off + Off.extlen] + u16(chunk, off + Off.keylen)
      if (size > FRAME_MAX) return this.lost(FrameError.FrameTooLarge, end)
      if (end - off >= size) return this.deliver(chunk, off, chunk, off + size, end)
      this.grow(size)
      chunk.copy(this.carry, 0, off, end)
      this.carried = end - off
      this.need = size
      return end
    }
    // Slow path: assemble the header, then the frame, in the carry.
    const n = Math.min(this.need - this.carried, end - off)
    chunk.copy(this.carry, this.carried, off, off + n)
    this.carried += n
    off += n
    if (this.carried < this.need) return off
    if (this.need === HEADER_LEN) {
      if (this.carry[0] !== MAGIC_REQUEST) return this.lost(FrameError.BadMagic, end)
      const size = HEADER_LEN + this.carry[Off.extlen] + u16(this.carry, Off.keylen)
      if (size > FRAME_MAX) return this.lost(FrameError.FrameTooLarge, end)
      if (size > HEADER_LEN) {
        this.grow(size)
        this.need = size
        return off
      }
    }
    this.carried = 0
    this.need = HEADER_LEN
    return this.deliver(this.carry, 0, chunk, off, end)
  }

  /** Makes the carry at least `size` bytes, keeping what it holds. */
  private grow (size: number): void {
    if (this.carry.length >= size) return
    const next = Buffer.allocUnsafe(Math.max(size, 256))
    this.carry.copy(next, 0, 0, this.carried)
    this.carry = next
  }

  private lost (kind: FrameError, end: number): number {
    this.state = State.Stopped
    this.handler.onFrameError(kind)
    return end
  }

  /** A frame is complete in buf at `at` (the chunk or the carry); chunk continues at `off`. */
  private deliver (buf: Buffer, at: number, chunk: Buffer, off: number, end: number): number {
    const req = this.req
    judge(req, buf, at)
    const next = this.handler.onRequest(req)
    switch (next) {
      case Next.Continue:
        return off
      case Next.Stop:
        this.state = State.Stopped
        return end
      case Next.Swallow:
        if (req.valueLength > 0) {
          this.left = req.valueLength
          this.state = State.Swallow
        }
        return off
      case Next.Value: {
        const n = req.valueLength
        if (end - off >= n) {
          // Whole value in this chunk: hand out a view.
          this.handler.onValue(req, chunk, off, off + n)
          return off + n
        }
        this.keepFrame(buf, at, off)
        this.value = Buffer.allocUnsafe(n)
        this.filled = 0
        this.state = State.Value
        return off
      }
      case Next.Stream: {
        const n = req.valueLength
        const h = this.handler
        if (end - off >= n) {
          if (n > 0) h.onValuePart?.(req, chunk, off, off + n, 0)
          h.onValueEnd?.(req)
          return off + n
        }
        this.keepFrame(buf, at, off)
        if (end > off) h.onValuePart?.(req, chunk, off, end, 0)
        this.filled = end - off
        this.left = n - this.filled
        this.state = State.Stream
        return end
      }
    }
    return off
  }

  /** The request's views must outlive this chunk: move its frame into the carry. */
  private keepFrame (buf: Buffer, at: number, off: number): void {
    if (buf === this.carry) return
    const size = off - at
    this.carried = 0
    this.grow(size)
    buf.copy(this.carry, 0, at, off)
    this.req.buf = this.carry
    this.req.at = 0
  }

  private streamBytes (chunk: Buffer, off: number, end: number): number {
    const n = Math.min(this.left, end - off)
    this.handler.onValuePart?.(this.req, chunk, off, off + n, this.filled)
    this.filled += n
    this.left -= n
    if (this.left === 0) {
      this.state = State.Frame
      this.handler.onValueEnd?.(this.req)
    }
    return off + n
  }

  private valueBytes (chunk: Buffer, off: number, end: number): number {
    const n = Math.min(this.value.length - this.filled, end - off)
    chunk.copy(this.value, this.filled, off, off + n)
    this.filled += n
    if (this.filled === this.value.length) {
      const value = this.value
      this.value = EMPTY
      this.state = State.Frame
      this.handler.onValue(this.req, value, 0, value.length)
    }
    return off + n
  }
}

/** Fills req from the frame at buf[at...] and judges it as dispatch_bin_command does. */
function judge (req: BinaryRequest, buf: Buffer, at: number): void {
  req.buf = buf
  req.at = at
  req.opcode = buf[at + Off.opcode]
  req.keylen = u16(buf, at + Off.keylen)
  req.extlen = buf[at + Off.extlen]
  req.datatype = buf[at + Off.datatype]
  req.vbucket = u16(buf, at + Off.status)
  req.bodylen = u32(buf, at + Off.bodylen)
  req.opaque = u32(buf, at + Off.opaque)
  req.cas = readCas(buf, at + Off.cas)
  req.op = baseOpcode(req.opcode)
  req.quiet = isQuiet(req.opcode)
  req.valueLength = 0
  req.problem = problemOf(req)
  if (req.problem === Problem.None && carriesValue(req.op)) {
    req.valueLength = req.bodylen - req.keylen - req.extlen
  } else if (req.problem === Problem.UnknownCommand) {
    req.valueLength = req.bodylen
  }
}

function problemOf (req: BinaryRequest): Problem {
  const { keylen, extlen, bodylen } = req
  if (keylen + extlen > bodylen) return Problem.BadLengths
  if (keylen > BIN_KEY_MAX_LENGTH) return Problem.Invalid
  let ok: boolean
  switch (req.op) {
    case Opcode.Version:
    case Opcode.Noop:
    case Opcode.Quit:
    case Opcode.SaslListMechs:
      ok = extlen === 0 && keylen === 0 && bodylen === 0
      break
    case Opcode.Flush:
      ok = keylen === 0 && bodylen === extlen && (extlen === 0 || extlen === 4)
      break
    case Opcode.Set: case Opcode.Add: case Opcode.Replace:
      ok = extlen === 8 && keylen !== 0 && bodylen >= keylen + 8
      break
    case Opcode.Get: case Opcode.GetK:
      ok = extlen === 0 && bodylen === keylen && keylen > 0
      break
    case Opcode.Delete:
      ok = keylen > 0 && extlen === 0 && bodylen === keylen
      break
    case Opcode.Increment: case Opcode.Decrement:
      ok = keylen > 0 && extlen === 20 && bodylen === keylen + 20
      break
    case Opcode.Append: case Opcode.Prepend:
    case Opcode.SaslAuth: case Opcode.SaslStep:
      ok = keylen > 0 && extlen === 0
      break
    case Opcode.Stat:
      ok = extlen === 0
      break
    case Opcode.Touch: case Opcode.Gat: case Opcode.GatK:
      ok = extlen === 4 && keylen !== 0
      break
    default:
      return Problem.UnknownCommand
  }
  return ok ? Problem.None : Problem.Invalid
}
