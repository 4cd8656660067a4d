/**
 * STAT over the binary protocol (memcached process_bin_stat): one packet per statistic
 * (key = name, body = value) and an empty packet to end. The groups and their matching
 * are memcached's: no key = general; "reset", "settings" and "detail ..." match as
 * prefixes; "items", "slabs", "sizes" match exactly; anything else is KEY_ENOENT.
 *
 * The figures are rendered once by stats-report.ts (the one place that knows memcached's
 * names and order) and re-framed here, so text and binary can never disagree. Operator
 * command, not a hot path: strings are fine.
 */
import type { BinaryRequest } from '../../protocol/binary/request-parser.js'
import { HEADER_LEN } from '../../protocol/binary/header.js'
import { Status, ErrorBody } from '../../protocol/binary/status.js'
import { statLength, writeError, writeStat, writeStatEnd } from '../../protocol/binary/response-encoder.js'
import type { ServerContext } from './context.js'
import { Output } from './output.js'
import { writeStats } from './stats-report.js'

/** Renders a text stats group and returns its [name, value] rows. */
function rows (ctx: ServerContext, group: string): Array<[string, string]> {
  const scratch = new Output()
  writeStats(scratch, ctx, group)
  const parts: Buffer[] = []
  scratch.flush({ write: (b) => { parts.push(Buffer.from(b)); return true }, cork () {}, uncork () {}, lastSync: true })
  const text = Buffer.concat(parts).toString('latin1')
  const out: Array<[string, string]> = []
  for (const line of text.split('\r\n')) {
    if (!line.startsWith('STAT ')) continue
    const sp = line.indexOf(' ', 5)
    out.push(sp < 0 ? [line.slice(5), ''] : [line.slice(5, sp), line.slice(sp + 1)])
  }
  return out
}

function startsWith (buf: Buffer, s: number, e: number, word: string): boolean {
  if (e - s < word.length) return false
  for (let i = 0; i < word.length; i++) if (buf[s + i] !== word.charCodeAt(i)) return false
  return true
}

/** Writes the reply; returns true when it was an error (a flush point for the caller). */
export function writeBinaryStats (out: Output, ctx: ServerContext, req: BinaryRequest): boolean {
  const buf = req.buf
  const s = req.keyStart
  const e = req.keyEnd
  let list: Array<[string, string]> = []
  if (s === e) {
    list = rows(ctx, 'general')
  } else if (startsWith(buf, s, e, 'reset')) {
    ctx.stats.reset()
    ctx.store.resetStats()
    ctx.prefixStats.clear()
  } else if (startsWith(buf, s, e, 'settings')) {
    list = rows(ctx, 'settings')
  } else if (startsWith(buf, s, e, 'detail')) {
    // memcached: the dump is one stat named "detailed" holding the text dump (END included).
    if (startsWith(buf, s + 6, e, ' dump')) list = [['detailed', ctx.prefixStats.dump()]]
    else if (startsWith(buf, s + 6, e, ' on')) ctx.prefixStats.enabled = true
    else if (startsWith(buf, s + 6, e, ' off')) ctx.prefixStats.enabled = false
    else {
      notFound(out, req)
      return true
    }
  } else {
    const group = buf.toString('latin1', s, e)
    if (group !== 'items' && group !== 'slabs' && group !== 'sizes' && !ctx.statsGroups.has(group)) {
      notFound(out, req)
      return true
    }
    list = rows(ctx, group)
  }
  let n = HEADER_LEN
  for (const [k, v] of list) n += statLength(k, v)
  let off = out.reserveRaw(n)
  const t = out.target()
  for (const [k, v] of list) off = writeStat(t, off, req.opaque, k, v)
  writeStatEnd(t, off, req.opaque)
  return false
}

function notFound (out: Output, req: BinaryRequest): void {
  const body = ErrorBody[Status.KEY_ENOENT]
  const off = out.reserveRaw(HEADER_LEN + body.length) // reserve first: it may switch chunks
  writeError(out.target(), off, req.opcode, Status.KEY_ENOENT, req.opaque, body)
}
