// lib/crypto/key-ring.ts
/**
 * The key ring for value encryption (--encrypt-values KEYFILE, and the client's
 * `encryption` option). The file, one key per line:
 *
 *   # comment (blank lines are ignored too)
 *   <id> <key>
 *
 *  - <id>: a decimal integer 1..65535, unique in the file; it goes into every value's
 *    header so a reader knows which key sealed it.
 *  - <key>: 32 bytes (AES-256), as 64 hex digits or as base64 (44 characters).
 *  - The LAST line is the write key: new values are sealed with it. Every key of the
 *    file opens values. Rotation: append a new key, restart (or reload) every writer
 *    and reader; old values keep reading until they expire or are rewritten; drop an old
 *    key only when no value sealed with it can remain (its TTL has passed).
 */
import fs from 'node:fs'

export class KeyRingError extends Error {
  readonly code: string
  constructor (code: string, message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause })
    this.name = 'KeyRingError'
    this.code = code
  }
}

export const KEY_BYTES = 32
export const MAX_KEY_ID = 0xffff

export class KeyRing {
  /** Keys by id (typed-array lookup; ids are < 65536). */
  readonly #keys = new Map<number, Buffer>()
  /** The id new values are sealed with (the file's last key). */
  readonly writeId: number

  constructor (entries: ReadonlyArray<{ id: number, key: Buffer }>) {
    if (entries.length === 0) throw new KeyRingError('MEMRING_ERR_KEYRING_EMPTY', 'key ring: no key')
    for (const e of entries) {
      if (!Number.isInteger(e.id) || e.id < 1 || e.id > MAX_KEY_ID) throw new KeyRingError('MEMRING_ERR_KEYRING_MALFORMED', `key ring: key id ${e.id} is not in 1..${MAX_KEY_ID}`)
      if (e.key.length !== KEY_BYTES) throw new KeyRingError('MEMRING_ERR_KEYRING_MALFORMED', `key ring: key ${e.id} is not ${KEY_BYTES} bytes`)
      if (this.#keys.has(e.id)) throw new KeyRingError('MEMRING_ERR_KEYRING_MALFORMED', `key ring: key id ${e.id} is listed twice`)
      this.#keys.set(e.id, Buffer.from(e.key))
    }
    this.writeId = entries[entries.length - 1]!.id
  }

  get size (): number { return this.#keys.size }
  key (id: number): Buffer | undefined { return this.#keys.get(id) }
  get writeKey (): Buffer { return this.#keys.get(this.writeId)! }

  /** Parses the file format above; throws KeyRingError naming the line. */
  static parse (text: string, source = 'key ring'): KeyRing {
    const entries: Array<{ id: number, key: Buffer }> = []
    text.split('\n').forEach((raw, i) => {
      const line = raw.trim()
      if (line === '' || line.startsWith('#')) return
      const m = /^(\d{1,5})\s+(\S+)$/.exec(line)
      const key = m === null ? null : decodeKey(m[2]!)
      if (m === null || key === null) {
        throw new KeyRingError('MEMRING_ERR_KEYRING_MALFORMED', `${source} line ${i + 1}: expected '<id> <32-byte key as 64 hex digits or base64>'`)
      }
      entries.push({ id: Number(m[1]), key })
    })
    return new KeyRing(entries)
  }

  static load (path: string): KeyRing {
    let text: string
    try {
      text = fs.readFileSync(path, 'utf8')
    } catch (err) {
      throw new KeyRingError('MEMRING_ERR_KEYRING_OPEN', `cannot read key ring ${path}: ${(err as Error).message}`, { cause: err })
    }
    return KeyRing.parse(text, path)
  }
}

function decodeKey (s: string): Buffer | null {
  if (/^[0-9a-fA-F]{64}$/.test(s)) return Buffer.from(s, 'hex')
  if (/^[A-Za-z0-9+/]{43}=$/.test(s)) {
    const b = Buffer.from(s, 'base64')
    return b.length === KEY_BYTES ? b : null
  }
  return null
}
