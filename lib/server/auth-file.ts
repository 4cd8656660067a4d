/**
 * Password files for the two authentication schemes memcached 1.6.18 has:
 *
 *  - `-Y <authfile>` (ASCII auth, authfile.c): `user:password` lines, read once at start
 *    (and again on reload()). A line without ':' (a blank line included) makes the whole
 *    file malformed, so the server refuses to start, as memcached does. The password runs
 *    to the end of the line (a trailing '\r' is dropped) and may contain ':'.
 *    Divergence: memcached silently keeps only the first 8 entries; we keep them all.
 *  - SASL PLAIN password database (memcached's MEMCACHED_SASL_PWDB format, sasl_defs.c):
 *    `user:password` lines, optionally followed by `:anything`; the first line whose user
 *    matches decides. The file is read on every authentication, so edits apply at once,
 *    as in memcached.
 *
 * Comparisons are over bytes and do not stop early on the first differing byte.
 */
import fs from 'node:fs'
import { timingSafeEqual } from 'node:crypto'

export class AuthFileError extends Error {
  readonly code: string
  constructor (code: string, message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause })
    this.name = 'AuthFileError'
    this.code = code
  }
}

interface Entry { user: Buffer, pass: Buffer }

function equal (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Splits file bytes into lines; a final newline does not make an extra empty line. */
function lines (data: Buffer): Buffer[] {
  const out: Buffer[] = []
  let s = 0
  while (s < data.length) {
    let e = data.indexOf(10, s)
    if (e < 0) e = data.length
    out.push(data.subarray(s, e))
    s = e + 1
  }
  return out
}

/** The `-Y` authfile: loaded once, checked per `set` auth attempt. */
export class AsciiAuthFile {
  private entries: Entry[] = []

  constructor (readonly path: string) {
    this.reload()
  }

  /** Parses the file again (memcached does this on SIGHUP); throws AuthFileError. */
  reload (): void {
    let data: Buffer
    try {
      data = fs.readFileSync(this.path)
    } catch (err) {
      throw new AuthFileError('MEMRING_ERR_AUTH_FILE_OPEN',
        `Could not open authfile [${this.path}] for reading, error ${(err as Error).message}`, { cause: err })
    }
    const entries: Entry[] = []
    for (const line of lines(data)) {
      const colon = line.indexOf(58)
      if (colon < 0) {
        throw new AuthFileError('MEMRING_ERR_AUTH_FILE_MALFORMED',
          `Authfile [${this.path}] has a malformed entry. Should be 'user:password'`)
      }
      let end = line.length
      const cr = line.indexOf(13, colon + 1)
      if (cr >= 0) end = cr
      entries.push({ user: Buffer.from(line.subarray(0, colon)), pass: Buffer.from(line.subarray(colon + 1, end)) })
    }
    this.entries = entries
  }

  get size (): number { return this.entries.length }

  check (user: Uint8Array, pass: Uint8Array): boolean {
    let ok = false
    for (const e of this.entries) {
      if (equal(user, e.user) && equal(pass, e.pass)) ok = true
    }
    return ok
  }
}

/** The SASL password database, re-read on each check (memcached: sasl_server_userdb_checkpass). */
export class SaslPasswordFile {
  constructor (readonly path: string) {}

  /** Throws AuthFileError when the file cannot be read (checked once at start-up). */
  probe (): void {
    try {
      fs.accessSync(this.path, fs.constants.R_OK)
    } catch (err) {
      throw new AuthFileError('MEMRING_ERR_AUTH_FILE_OPEN',
        `Could not open SASL password file [${this.path}]: ${(err as Error).message}`, { cause: err })
    }
  }

  check (user: Uint8Array, pass: Uint8Array): boolean {
    let data: Buffer
    try {
      data = fs.readFileSync(this.path)
    } catch {
      return false // memcached: "Failed to open sasl database" -> not authorized
    }
    for (const line of lines(data)) {
      if (line.length <= user.length || line[user.length] !== 58) continue
      if (!equal(line.subarray(0, user.length), user)) continue
      // This is the user's line: the password ends at ':', '\r' or the end of the line.
      let end = user.length + 1
      while (end < line.length && line[end] !== 58 && line[end] !== 13) end++
      return equal(line.subarray(user.length + 1, end), pass)
    }
    return false
  }
}
