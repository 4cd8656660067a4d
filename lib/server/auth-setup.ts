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
import type { ConnControl, ServerContext } from './context.js'
import type { ServerSettings } from './settings.js'
import { TextSession } from './text-session.js'

export interface ProtocolPlugins {
  binary: SessionFactory | null
  text: SessionFactory | null
  /** The -Y file, for reloading (memcached reloads it on SIGHUP). */
  authFile: AsciiAuthFile | null
}

export type AuthSettings = Pick<ServerSettings, 'protocol' | 'sasl' | 'saslPwdb' | 'authFile'>

export function protocolPlugins (s: AuthSettings, env: NodeJS.ProcessEnv = process.env): ProtocolPlugins {
  if (s.authFile !== '') {
    const file = new AsciiAuthFile(s.authFile)
    return { binary: null, text: (conn, ctx) => new AsciiAuthSession(conn, ctx, file), authFile: file }
  }
  if (s.sasl) {
    const path = s.saslPwdb !== '' ? s.saslPwdb : env.MEMCACHED_SASL_PWDB ?? ''
    if (path === '') {
      throw new AuthFileError('MEMRING_ERR_AUTH_FILE_OPEN',
        'SASL (-S) needs a password file: --sasl-pwdb <file> or MEMCACHED_SASL_PWDB')
    }
    const pwdb = new SaslPasswordFile(path)
    pwdb.probe()
    const binary = binarySessionFactory({ sasl: (u, p) => pwdb.check(u, p) })
    return { binary, text: binary, authFile: null }
  }
  const binary = binarySessionFactory()
  switch (s.protocol) {
    case 'ascii': return { binary: null, text: null, authFile: null }
    case 'binary': return { binary, text: binary, authFile: null }
    default: return { binary, text: null, authFile: null }
  }
}

/** A text connection behind the ASCII auth gate until it logs in. */
export class AsciiAuthSession implements ProtocolSession {
  private gate: AsciiAuthGate | null
  private readonly text: TextSession

  constructor (private readonly conn: ConnControl, ctx: ServerContext, file: AsciiAuthFile) {
    this.text = new TextSession(conn, ctx)
    this.gate = new AsciiAuthGate((u, p) => file.check(u, p), (ok) => {
      ctx.stats.auth_cmds++
      if (!ok) ctx.stats.auth_errors++
    })
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
}
