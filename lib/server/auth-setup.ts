/**
 * Picks the protocol sessions a server offers from its settings, as memcached 1.6.18
 * does (memcached.c option checks and conn_new):
 *  - default: the first byte decides (0x80 binary, anything else text/meta);
 *  - `-B ascii` / `-B binary`: every connection speaks that protocol (a text client on a
 *    binary-only server is closed at its first non-0x80 packet byte);
 *  - `-S` (SASL): binary only, every command but VERSION and SASL needs a PLAIN login;
 *    users come from the password file (--sasl-pwdb, else $MEMCACHED_SASL_PWDB);
 *  - `-Y authfile`: text only, and a connection must first authenticate with
 *    `set <any> <any> <any> <n>\r\n<user> <password>\r\n` (auth-ascii.ts). With -S and -Y
 *    together, -Y wins, as in memcached (its protocol choice is made last).
 * Start-up errors (unreadable or malformed files) throw AuthFileError before listening.
 */
import { AsciiAuthGate } from './auth-ascii.js'
import { AsciiAuthFile, AuthFileError, SaslPasswordFile } from './auth-file.js'
import { binarySessionFactory } from './binary-session.js'
import type { ProtocolSession, SessionFactory } from './connection.js'
import type { ConnControl } from './context.js'
import type { ServerSettings } from './settings.js'
import { TextSession } from './text-session.js'

export interface ProtocolPlugins {
  binary: SessionFactory | null
  text: SessionFactory | null
  /** The -Y file, for reloading (memcached reloads it on SIGHUP). */
  authFile: AsciiAuthFile | null
}

export type AuthSettings = Pick<ServerSettings, 'protocol' | 'sasl' | 'saslPwdb' | 'authFile'>

/** The credential checks the settings ask for (shared by memring and memring-proxy). */
export interface AuthChecks {
  /** -Y: the authfile (text connections authenticate with `set`), or null. */
  authFile: AsciiAuthFile | null
  /** -S: the SASL PLAIN check over the password file, or null. */
  sasl: ((user: Uint8Array, pass: Uint8Array) => boolean) | null
}

/** Loads the -Y file or probes the SASL password file; throws AuthFileError. -Y wins over -S. */
export function authChecks (s: Pick<AuthSettings, 'sasl' | 'saslPwdb' | 'authFile'>, env: NodeJS.ProcessEnv = process.env): AuthChecks {
  if (s.authFile !== '') return { authFile: new AsciiAuthFile(s.authFile), sasl: null }
  if (!s.sasl) return { authFile: null, sasl: null }
  const path = s.saslPwdb !== '' ? s.saslPwdb : env.MEMCACHED_SASL_PWDB ?? ''
  if (path === '') {
    throw new AuthFileError('MEMRING_ERR_AUTH_FILE_OPEN',
      'SASL (-S) needs a password file: --sasl-pwdb <file> or MEMCACHED_SASL_PWDB')
  }
  const pwdb = new SaslPasswordFile(path)
  pwdb.probe()
  return { authFile: null, sasl: (u, p) => pwdb.check(u, p) }
}

export function protocolPlugins (s: AuthSettings, env: NodeJS.ProcessEnv = process.env): ProtocolPlugins {
  const auth = authChecks(s, env)
  const file = auth.authFile
  if (file !== null) {
    return { binary: null, text: (conn, ctx) => new AsciiAuthSession(conn, new TextSession(conn, ctx), file, (ok) => {
      ctx.stats.auth_cmds++
      if (!ok) ctx.stats.auth_errors++
    }), authFile: file }
  }
  if (auth.sasl !== null) {
    const binary = binarySessionFactory({ sasl: auth.sasl })
    return { binary, text: binary, authFile: null }
  }
  const binary = binarySessionFactory()
  switch (s.protocol) {
    case 'ascii': return { binary: null, text: null, authFile: null }
    case 'binary': return { binary, text: binary, authFile: null }
    default: return { binary, text: null, authFile: null }
  }
}

/**
 * A text connection behind the ASCII auth gate until it logs in; then every byte goes to
 * `text` (the server's TextSession, or the proxy's routing session).
 */
export class AsciiAuthSession implements ProtocolSession {
  private gate: AsciiAuthGate | null

  /** `counted` gets each login attempt's outcome (the auth_cmds / auth_errors stats). */
  constructor (private readonly conn: ConnControl, private readonly text: ProtocolSession, file: AsciiAuthFile,
    counted: (ok: boolean) => void) {
    this.gate = new AsciiAuthGate((u, p) => file.check(u, p), counted)
  }

  push (chunk: Buffer): void {
    const gate = this.gate
    if (gate === null) { this.text.push(chunk); return }
    const r = gate.push(chunk)
    if (r.close) { this.conn.destroy(); return }
    if (r.reply !== null) this.conn.out.bytes(r.reply)
    if (r.rest !== null) {
      this.gate = null
      if (r.rest.length > 0) this.text.push(r.rest)
    }
  }

  pause (): void { this.text.pause() }
  resume (): void { this.text.resume() }
  close (): void { this.text.close() }
  endInput (): boolean { return this.gate === null && this.text.endInput !== undefined ? this.text.endInput() : false }
}
