/**
 * Client-side request packets, for our tests, the differential harness and any client
 * that speaks binary. Not on the server's hot path: it allocates one Buffer per request.
 */
import { HEADER_LEN, MAGIC_REQUEST, writeHeader, writeU32 } from './header.js'
import { Opcode } from './opcodes.js'

export interface RequestSpec {
  opcode: number
  key?: Uint8Array | string
  extras?: Uint8Array
  value?: Uint8Array | string
  opaque?: number
  cas?: number
  /** Overrides for building malformed packets. */
  magic?: number
  keylen?: number
  extlen?: number
  bodylen?: number
  vbucket?: number
}

const bytes = (v: Uint8Array | string | undefined): Uint8Array =>
  v === undefined ? new Uint8Array(0) : typeof v === 'string' ? Buffer.from(v, 'latin1') : v

/** Encodes one request; header fields default to the true lengths. */
export function encodeRequest (spec: RequestSpec): Buffer {
  const key = bytes(spec.key)
  const extras = bytes(spec.extras)
  const value = bytes(spec.value)
  const out = Buffer.allocUnsafe(HEADER_LEN + extras.length + key.length + value.length)
  let off = writeHeader(out, 0, spec.magic ?? MAGIC_REQUEST, spec.opcode,
    spec.keylen ?? key.length, spec.extlen ?? extras.length, spec.vbucket ?? 0,
    spec.bodylen ?? extras.length + key.length + value.length, spec.opaque ?? 0, spec.cas ?? 0)
  out.set(extras, off); off += extras.length
  out.set(key, off); off += key.length
  out.set(value, off)
  return out
}

/** Extras of SET/ADD/REPLACE: flags, exptime. */
export function storeExtras (flags: number, exptime: number): Buffer {
  const b = Buffer.allocUnsafe(8)
  writeU32(b, 0, flags >>> 0)
  writeU32(b, 4, exptime >>> 0)
  return b
}

/** Extras of INCREMENT/DECREMENT: delta, initial value, expiration (0xffffffff: no create). */
export function counterExtras (delta: bigint, initial: bigint, expiration: number): Buffer {
  const b = Buffer.allocUnsafe(20)
  b.writeBigUInt64BE(delta, 0)
  b.writeBigUInt64BE(initial, 8)
  writeU32(b, 16, expiration >>> 0)
  return b
}

/** Extras of TOUCH/GAT/FLUSH: one 32-bit expiration. */
export function expiryExtras (exptime: number): Buffer {
  const b = Buffer.allocUnsafe(4)
  writeU32(b, 0, exptime >>> 0)
  return b
}

/** Shorthands for the common requests. */
export const req = {
  get: (key: string, opaque = 0): Buffer => encodeRequest({ opcode: Opcode.Get, key, opaque }),
  set: (key: string, value: Uint8Array | string, flags = 0, exptime = 0, opaque = 0, cas = 0): Buffer =>
    encodeRequest({ opcode: Opcode.Set, key, value, extras: storeExtras(flags, exptime), opaque, cas }),
  noop: (opaque = 0): Buffer => encodeRequest({ opcode: Opcode.Noop, opaque }),
}
