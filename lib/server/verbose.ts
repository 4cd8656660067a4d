/**
 * memcached's human `-vv` output: plain text lines on stderr, as memcached 1.6.18 prints
 * them (memcached.c conn_new / conn_close / try_read_command_negotiate, proto_text.c
 * process_command_ascii / out_string / process_get_command):
 *
 *   <7 server listening (auto-negotiate)     a listener (also `(ascii)`, `(binary)`)
 *   <8 new auto-negotiating client connection
 *   8: Client using the ascii protocol
 *   <8 set foo 0 0 3                        each command line as received
 *   >8 STORED                                each one-line reply (`>8 NOREPLY STORED` when
 *   >8 sending key foo                       suppressed), a line per get hit, then END
 *   <8 connection closed.
 *
 * The number is memring's connection id (the `id` of `stats conns`, `watch`'s `cfd`),
 * one counter for listeners and connections, from 1, never reused; memcached prints the
 * file descriptor, which the kernel reuses. Meta replies and stats rows are not printed
 * (memcached does not either, apart from `MN`).
 *
 * Cost: whether a connection is verbose is decided once, when it is accepted (see
 * connection.ts); a quiet connection runs the plain TextSession and builds no strings.
 */
import { writeSync } from 'node:fs'
import { Op } from '../../protocol/request.js'
import { NO_DATA, type TextLine } from '../../protocol/text/request-parser.js'
import type { ConnControl, ServerContext } from './context.js'
import { TextSession } from './text-session.js'

/** memcached's fprintf(stderr, ...): one synchronous write, in order with pino's lines. */
export function verboseLine (s: string): void {
  const b = Buffer.from(s + '\n', 'latin1')
  let off = 0
  while (off < b.length) {
    try {
      off += writeSync(2, b, off)
    } catch (err) {
      // stderr is a non-blocking pipe that is full: wait for the reader, as pino's
      // synchronous destination does.
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return
    }
  }
}

/** What memcached calls the protocol of a listener (`-B`). */
export function listenerKind (protocol: 'auto' | 'ascii' | 'binary'): string {
  return protocol === 'auto' ? 'auto-negotiate' : protocol
}

/** memcached conn_new's line for a client connection. */
export function newConnectionLine (id: number, protocol: 'auto' | 'ascii' | 'binary'): string {
  if (protocol === 'ascii') return `<${id} new ascii client connection.`
  if (protocol === 'binary') return `<${id} new binary client connection.`
  return `<${id} new auto-negotiating client connection`
}

/** The reply line without its CRLF. */
function replyText (b: Buffer): string {
  const n = b.length >= 2 && b[b.length - 2] === 13 ? b.length - 2 : b.length
  return b.toString('latin1', 0, n)
}

const RETRIEVAL = new Set<Op>([Op.Get, Op.Bget, Op.Gets, Op.Gat, Op.Gats])

/** The text session of a `-vv` connection: prints what memcached prints, then does the same. */
export class VerboseTextSession extends TextSession {
  /** The command being handled (its line is valid until onLine/onData returns). */
  #line: TextLine | null = null

  constructor (private readonly c: ConnControl, private readonly context: ServerContext) { super(c, context) }

  override onLine (line: TextLine): number {
    verboseLine(`<${this.c.id} ${line.buf.toString('latin1', line.start, line.end)}`)
    this.#line = line
    const n = super.onLine(line)
    if (n === NO_DATA) this.#line = null
    if (line.op === Op.MetaNoop) verboseLine(`>${this.c.id} MN`)
    return n
  }

  override onData (line: TextLine, buf: Buffer, s: number, e: number): void {
    this.#line = line
    super.onData(line, buf, s, e)
    this.#line = null
  }

  protected override reply (b: Buffer): void {
    const text = replyText(b)
    const line = this.#line
    if (line !== null) this.before(line, text)
    verboseLine(`>${this.c.id} ${this.noreply ? 'NOREPLY ' : ''}${text}`)
    super.reply(b)
  }

  /** Lines memcached prints from deeper down, before the reply line. */
  private before (line: TextLine, text: string): void {
    // process_get_command prints END before it finds that a key was too long.
    if (RETRIEVAL.has(line.op) && text === 'CLIENT_ERROR bad command line format') verboseLine(`>${this.c.id} END`)
    // do_store_item: a cas whose value does not match the item's.
    if (line.op === Op.Cas && text === 'EXISTS') {
      const store = this.context.store
      const h = store.find(line.buf, line.tokS[1], line.tokE[1])
      if (h !== 0) verboseLine(`CAS:  failure: expected ${store.cas(h)}, got ${line.buf.toString('latin1', line.tokS[5], line.tokE[5])}`)
    }
  }

  protected override replyAscii (s: string): void {
    verboseLine(`>${this.c.id} ${this.noreply ? 'NOREPLY ' : ''}${s}`)
    super.replyAscii(s)
  }

  protected override writeValue (h: number, kb: Uint8Array, ks: number, ke: number, withCas: boolean): void {
    verboseLine(`>${this.c.id} sending key ${Buffer.from(kb.buffer, kb.byteOffset + ks, ke - ks).toString('latin1')}`)
    super.writeValue(h, kb, ks, ke, withCas)
  }
}
