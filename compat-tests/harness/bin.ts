// Binary-protocol packets for compat scripts, built field by field from the values a
// test writes out (magic, opcode, lengths, status, opaque, CAS, extras, key, value), so
// the expected bytes stay visible in the test. This is test code, independent of the
// server's own codec: the 24-byte header layout is from memcached's protocol_binary.h.

import { CompatFailure, show } from './check.js'
import type { RawConn } from './raw.js'

export const ANY = Symbol('any')

export interface BinRequest {
  op: number
  key?: string | Buffer
  extras?: Buffer
  value?: string | Buffer
  opaque?: number
  cas?: bigint
  vbucket?: number
  datatype?: number
  magic?: number
  /** Override the header's body length (malformed-packet tests). */
  bodyLen?: number
  /** Override the header's key length (malformed-packet tests). */
  keyLen?: number
  extLen?: number
}

const toBuf = (v: string | Buffer | undefined): Buffer =>
  v === undefined ? Buffer.alloc(0) : typeof v === 'string' ? Buffer.from(v, 'latin1') : v

export function binReq (r: BinRequest): Buffer {
  const key = toBuf(r.key)
  const ext = r.extras ?? Buffer.alloc(0)
  const val = toBuf(r.value)
  const h = Buffer.alloc(24)
  h[0] = r.magic ?? 0x80
  h[1] = r.op
  h.writeUInt16BE(r.keyLen ?? key.length, 2)
  h[4] = r.extLen ?? ext.length
  h[5] = r.datatype ?? 0
  h.writeUInt16BE(r.vbucket ?? 0, 6)
  h.writeUInt32BE(r.bodyLen ?? key.length + ext.length + val.length, 8)
  h.writeUInt32BE(r.opaque ?? 0, 12)
  h.writeBigUInt64BE(r.cas ?? 0n, 16)
  return Buffer.concat([h, ext, key, val])
}

/** Extras helpers, big-endian as on the wire. */
export const u32 = (...ns: number[]): Buffer => {
  const b = Buffer.alloc(4 * ns.length)
  ns.forEach((n, i) => b.writeUInt32BE(n >>> 0, 4 * i))
  return b
}
export const u64 = (n: bigint): Buffer => { const b = Buffer.alloc(8); b.writeBigUInt64BE(n); return b }
/** incr/decr extras: delta (8), initial (8), expiration (4). */
export const arithExtras = (delta: bigint, initial: bigint, exp: number): Buffer =>
  Buffer.concat([u64(delta), u64(initial), u32(exp)])

export interface BinResponse {
  magic: number
  op: number
  keyLen: number
  extLen: number
  datatype: number
  status: number
  bodyLen: number
  opaque: number
  cas: bigint
  extras: Buffer
  key: Buffer
  value: Buffer
}

export async function readBin (c: RawConn, timeoutMs?: number): Promise<BinResponse> {
  const h = await c.read(24, timeoutMs)
  const bodyLen = h.readUInt32BE(8)
  const body = await c.read(bodyLen, timeoutMs)
  const extLen = h[4]
  const keyLen = h.readUInt16BE(2)
  return {
    magic: h[0],
    op: h[1],
    keyLen,
    extLen,
    datatype: h[5],
    status: h.readUInt16BE(6),
    bodyLen,
    opaque: h.readUInt32BE(12),
    cas: h.readBigUInt64BE(16),
    extras: body.subarray(0, extLen),
    key: body.subarray(extLen, extLen + keyLen),
    value: body.subarray(extLen + keyLen),
  }
}

export interface BinExpect {
  op: number
  status?: number
  opaque?: number
  /** Default 0n; ANY accepts any value, 'nonzero' any value but 0. */
  cas?: bigint | typeof ANY | 'nonzero'
  extras?: Buffer
  key?: string | Buffer
  /** ANY accepts any value. */
  value?: string | Buffer | typeof ANY
}

/** Reads one response packet and checks every header field and the body. */
export async function expectBin (c: RawConn, e: BinExpect): Promise<BinResponse> {
  const r = await readBin(c)
  const errs: string[] = []
  const want = (what: string, got: unknown, exp: unknown): void => {
    if (got !== exp) errs.push(`${what}=${fmtv(got)} (want ${fmtv(exp)})`)
  }
  const wantBuf = (what: string, got: Buffer, exp: Buffer): void => {
    if (!got.equals(exp)) errs.push(`${what}="${show(got)}" (want "${show(exp)}")`)
  }
  want('magic', r.magic, 0x81)
  want('opcode', r.op, e.op)
  want('status', r.status, e.status ?? 0)
  want('datatype', r.datatype, 0)
  want('opaque', r.opaque, e.opaque ?? 0)
  const cas = e.cas ?? 0n
  if (cas === 'nonzero') { if (r.cas === 0n) errs.push('cas=0 (want nonzero)') } else if (cas !== ANY) want('cas', r.cas, cas)
  wantBuf('extras', r.extras, e.extras ?? Buffer.alloc(0))
  wantBuf('key', r.key, toBuf(e.key))
  if (e.value !== ANY) wantBuf('value', r.value, toBuf(e.value))
  if (errs.length > 0) {
    throw new CompatFailure(`binary response (opcode 0x${e.op.toString(16)}): ${errs.join(', ')}`)
  }
  return r
}

const fmtv = (v: unknown): string => typeof v === 'number' ? `0x${v.toString(16)}` : String(v)

/** Opcodes (protocol_binary.h). */
export const Op = {
  GET: 0x00, SET: 0x01, ADD: 0x02, REPLACE: 0x03, DELETE: 0x04, INCREMENT: 0x05, DECREMENT: 0x06,
  QUIT: 0x07, FLUSH: 0x08, GETQ: 0x09, NOOP: 0x0a, VERSION: 0x0b, GETK: 0x0c, GETKQ: 0x0d,
  APPEND: 0x0e, PREPEND: 0x0f, STAT: 0x10, SETQ: 0x11, ADDQ: 0x12, REPLACEQ: 0x13, DELETEQ: 0x14,
  INCREMENTQ: 0x15, DECREMENTQ: 0x16, QUITQ: 0x17, FLUSHQ: 0x18, APPENDQ: 0x19, PREPENDQ: 0x1a,
  VERBOSITY: 0x1b, TOUCH: 0x1c, GAT: 0x1d, GATQ: 0x1e, SASL_LIST_MECHS: 0x20, SASL_AUTH: 0x21,
  SASL_STEP: 0x22, GATK: 0x23, GATKQ: 0x24,
} as const

/** Status codes (protocol_binary.h). */
export const St = {
  OK: 0x0000, KEY_ENOENT: 0x0001, KEY_EEXISTS: 0x0002, E2BIG: 0x0003, EINVAL: 0x0004,
  NOT_STORED: 0x0005, DELTA_BADVAL: 0x0006, AUTH_ERROR: 0x0020, AUTH_CONTINUE: 0x0021,
  UNKNOWN_COMMAND: 0x0081, ENOMEM: 0x0082,
} as const
