// lib/crypto/value-cipher.ts
/**
 * AES-256-GCM sealing of cache values (node:crypto only), shared by lib/client and
 * memring-proxy. A sealed value, as the cache host stores it:
 *
 *   byte 0       0xE1: format version 1 (anything else does not open)
 *   bytes 1-2    key id, big-endian (key-ring.ts)
 *   bytes 3-14   IV: 12 random bytes, fresh per value
 *   bytes 15..   ciphertext (as long as the value)
 *   last 16      GCM tag
 *
 * Overhead: 31 bytes per value. Additional authenticated data: the 3-byte header, the
 * client flags (uint32 big-endian) and the item's key bytes. So a value that is altered,
 * truncated, sealed under another key (a value copied to another item), or whose flags
 * were changed on the host, does not open: open() returns null and the caller counts it
 * and answers a miss. Keys, flags, sizes (value length + 31), exptimes and CAS are not
 * encrypted.
 *
 * Random 96-bit IVs: NIST SP 800-38D limits one key to 2^32 seals with random IVs;
 * rotate the write key well before that (a proxy sealing 50k values/s reaches it in
 * ~24 hours: see README.md).
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto'
import type { KeyRing } from './key-ring.js'

export const SEAL_VERSION = 0xe1
export const HEADER_BYTES = 15
export const TAG_BYTES = 16
export const SEAL_OVERHEAD = HEADER_BYTES + TAG_BYTES

/** IVs are taken from a pooled random buffer (one getrandom per 4 KiB of IVs). */
const IV_POOL = Buffer.allocUnsafe(12 * 341)
let ivOff = IV_POOL.length

function aad (head: Buffer, flags: number, key: Uint8Array, ks: number, ke: number): Buffer {
  const a = Buffer.allocUnsafe(3 + 4 + (ke - ks))
  head.copy(a, 0, 0, 3)
  a.writeUInt32BE(flags >>> 0, 3)
  a.set(key.subarray(ks, ke), 7)
  return a
}

export class ValueCipher {
  constructor (readonly ring: KeyRing) {}

  /** The sealed form of value[vs, ve) for item key[ks, ke) with client `flags`. */
  seal (key: Uint8Array, ks: number, ke: number, flags: number, value: Uint8Array, vs: number, ve: number): Buffer {
    const n = ve - vs
    const out = Buffer.allocUnsafe(SEAL_OVERHEAD + n)
    out[0] = SEAL_VERSION
    out.writeUInt16BE(this.ring.writeId, 1)
    if (ivOff + 12 > IV_POOL.length) { randomFillSync(IV_POOL); ivOff = 0 }
    IV_POOL.copy(out, 3, ivOff, ivOff + 12)
    ivOff += 12
    const c = createCipheriv('aes-256-gcm', this.ring.writeKey, out.subarray(3, 15))
    c.setAAD(aad(out, flags, key, ks, ke))
    let o = HEADER_BYTES
    o += c.update(value.subarray(vs, ve)).copy(out, o)
    o += c.final().copy(out, o)
    c.getAuthTag().copy(out, o)
    return out
  }

  /** value[vs, ve) opened, or null: not sealed by us, unknown key id, or altered. */
  open (key: Uint8Array, ks: number, ke: number, flags: number, sealed: Uint8Array, vs: number, ve: number): Buffer | null {
    if (ve - vs < SEAL_OVERHEAD || sealed[vs] !== SEAL_VERSION) return null
    const b = Buffer.from(sealed.buffer, sealed.byteOffset + vs, ve - vs)
    const k = this.ring.key(b.readUInt16BE(1))
    if (k === undefined) return null
    try {
      const d = createDecipheriv('aes-256-gcm', k, b.subarray(3, 15))
      d.setAAD(aad(b, flags, key, ks, ke))
      d.setAuthTag(b.subarray(b.length - TAG_BYTES))
      const head = d.update(b.subarray(HEADER_BYTES, b.length - TAG_BYTES))
      const tail = d.final() // throws when the tag does not match
      return tail.length === 0 ? head : Buffer.concat([head, tail])
    } catch {
      return null
    }
  }
}
