// lib/proxy/value-crypt.ts
/**
 * --encrypt-values: where the proxy seals and opens values (lib/crypto does the
 * cryptography). Text and binary frontends call these on their own framing:
 *
 *   set/add/replace/cas (text), set/add/replace (binary)
 *                        the value is sealed for (key, flags) before it goes to the
 *                        backend; the command's byte count becomes the sealed length.
 *   get/gets/gat/gats (text), get/getk/gat/gatk (binary)
 *                        each VALUE block / SUCCESS packet is opened; one that does not
 *                        open (altered, sealed for another key or flags, unknown key id,
 *                        never sealed) is answered as a miss and counted
 *                        (proxy_decrypt_failures). Never returned.
 *   refused              incr/decr, append/prepend, ms, ma, and mg with `v`: they would act
 *                        on, or return, the sealed bytes. Text: `CLIENT_ERROR not supported
 *                        with --encrypt-values`; binary: NOT_SUPPORTED (0x0083). Counted
 *                        (proxy_encrypt_refused).
 *   unchanged            delete, touch, mg without `v`, md, me, flush_all, stats: no value
 *                        passes (mg `s` and `me` report the sealed size).
 */
import type { ValueCipher } from '../crypto/index.js'
import { parseU32 } from '../../protocol/numbers.js'
import type { ProxyCounters } from './core.js'

export const REFUSED_TEXT = Buffer.from('CLIENT_ERROR not supported with --encrypt-values\r\n')
/** protocol-binary.txt status 0x0083 "Not supported" (memcached itself never sends it). */
export const NOT_SUPPORTED = 0x0083
export const NOT_SUPPORTED_BODY = Buffer.from('Not supported')
const CRLF = Buffer.from('\r\n')
const VALUE = Buffer.from('VALUE ')
const END = Buffer.from('END\r\n')
const EMPTY = Buffer.alloc(0)

/**
 * A text storage command with its value sealed: `head` is the line up to its byte count
 * (`set <key> <flags> <exptime> `), `tail` what follows the count (` <cas>` or nothing).
 */
export function sealTextStorage (cipher: ValueCipher, head: Buffer, tail: Buffer, key: Buffer, ks: number, ke: number,
  flags: number, data: Buffer, ds: number, de: number): Buffer {
  const sealed = cipher.seal(key, ks, ke, flags, data, ds, de)
  return Buffer.concat([head, Buffer.from(String(sealed.length)), tail, CRLF, sealed, CRLF])
}

/**
 * The VALUE blocks of a retrieval reply opened; blocks that do not open are left out
 * (a miss) and counted. Other pieces (END, errors) pass. Blocks are framed by their byte
 * count, not by the piece's end: a piece may carry more of the reply (the hot-key cache
 * keeps `VALUE ...\r\nEND\r\n` as one piece).
 */
export function openValueBlocks (cipher: ValueCipher, pieces: Buffer[], counters: ProxyCounters): Buffer[] {
  const out: Buffer[] = []
  for (let p of pieces) {
    // A piece may hold several blocks and the END line: each block is opened on its own.
    while (isValue(p)) {
      const f = frame(p)
      if (f === null) {
        // Not a block we can frame: never passed on; a trailing END still ends the reply.
        counters.proxy_decrypt_failures++
        p = p.length >= 5 && p.subarray(p.length - 5).equals(END) ? END : EMPTY
        break
      }
      const plain = cipher.open(p, VALUE.length, f.ke, f.flags, p, f.ds, f.de)
      if (plain === null) counters.proxy_decrypt_failures++
      else out.push(Buffer.concat([p.subarray(0, f.fe + 1), Buffer.from(String(plain.length)), p.subarray(f.be, f.le), CRLF, plain, CRLF]))
      p = p.subarray(f.de + 2)
    }
    if (p.length > 0) out.push(p)
  }
  return out
}

function isValue (p: Buffer): boolean {
  return p.length >= VALUE.length && p.compare(VALUE, 0, VALUE.length, 0, VALUE.length) === 0
}

/** The offsets of `VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n` at the start of p, or null. */
function frame (p: Buffer): { ke: number, fe: number, be: number, le: number, ds: number, de: number, flags: number } | null {
  const lf = p.indexOf(10)
  if (lf < 0) return null
  const le = p[lf - 1] === 13 ? lf - 1 : lf
  const ke = p.indexOf(0x20, VALUE.length)
  if (ke < 0 || ke >= le) return null
  const fe = p.indexOf(0x20, ke + 1)
  if (fe < 0 || fe >= le) return null
  let be = p.indexOf(0x20, fe + 1)
  if (be < 0 || be > le) be = le
  const flags = parseU32(p, ke + 1, fe)
  const n = parseU32(p, fe + 1, be)
  const ds = lf + 1
  if (flags < 0 || n < 0 || ds + n + 2 > p.length) return null
  return { ke, fe, be, le, ds, de: ds + n, flags }
}

/**
 * A binary storage request (`head`: header + extras + key, bodylen not yet right) with
 * value[s, e) sealed for its key and flags (the first 4 bytes of the extras).
 */
export function sealBinaryRequest (cipher: ValueCipher, head: Buffer, value: Buffer, s: number, e: number): Buffer {
  const extlen = head[4]!
  const ks = 24 + extlen
  const ke = ks + head.readUInt16BE(2)
  const flags = extlen >= 4 ? head.readUInt32BE(24) : 0
  const sealed = cipher.seal(head, ks, ke, flags, value, s, e)
  const wire = Buffer.concat([head.subarray(0, ke), sealed])
  wire.writeUInt32BE(wire.length - 24, 8)
  return wire
}

/**
 * A SUCCESS response to a binary get/getk/gat/gatk, buf[s, e), with its value opened for
 * the key in the request `req` (the wire sent); null when it does not open.
 */
export function openBinaryResponse (cipher: ValueCipher, req: Buffer, buf: Buffer, s: number, e: number): Buffer | null {
  const rks = 24 + req[4]!
  const rke = rks + req.readUInt16BE(2)
  const extlen = buf[s + 4]!
  const keylen = buf.readUInt16BE(s + 2)
  const flags = extlen >= 4 ? buf.readUInt32BE(s + 24) : 0
  const vs = s + 24 + extlen + keylen
  const plain = cipher.open(req, rks, rke, flags, buf, vs, e)
  if (plain === null) return null
  const out = Buffer.allocUnsafe(vs - s + plain.length)
  buf.copy(out, 0, s, vs)
  plain.copy(out, vs - s)
  out.writeUInt32BE(out.length - 24, 8)
  return out
}
