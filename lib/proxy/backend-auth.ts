// lib/proxy/backend-auth.ts
/**
 * The proxy's own login on each backend connection (--backend-username /
 * --backend-password): the first request a new connection sends, pipelined ahead of the
 * requests that opened it, in the form the connection speaks.
 *
 *  - text connections: memcached's ASCII auth (`-Y`), sent as
 *      set memring-proxy-auth auth auth <n>\r\n<user> <password>\r\n
 *    A -Y host checks only the data block: STORED, or CLIENT_ERROR authentication failure.
 *    The flags and exptime are not numbers on purpose: a host WITHOUT -Y refuses the line
 *    (CLIENT_ERROR bad command line format) and reads `<user> <password>` as one more
 *    command (ERROR), so the credentials are never stored as an item there.
 *  - binary connections: SASL PLAIN (`-S`). A host without SASL answers UNKNOWN_COMMAND.
 *
 * A refused login fails the connection (counted toward the host's TKO like a bad reply),
 * so requests never reach a host as an unauthenticated client. A host that needs no login
 * is used as is.
 */
import { FailReason, Reply, type BackendRequest, type BinaryBackendRequest } from './backend.js'

export interface BackendCredentials {
  username: string
  password: string
}

const STORED = Buffer.from('STORED')
const BAD_FORMAT = Buffer.from('CLIENT_ERROR bad command line format')

function startsWith (buf: Buffer, s: number, e: number, what: Buffer): boolean {
  return e - s >= what.length && buf.compare(what, 0, what.length, s, s + what.length) === 0
}

/** The ASCII auth request (text connections). */
export function asciiAuthWire (c: BackendCredentials): Buffer {
  const data = Buffer.from(`${c.username} ${c.password}`, 'utf8')
  return Buffer.concat([Buffer.from(`set memring-proxy-auth auth auth ${data.length}\r\n`), data, Buffer.from('\r\n')])
}

/** The SASL AUTH PLAIN packet (binary connections): authzid empty, then user and password. */
export function saslAuthWire (c: BackendCredentials): Buffer {
  const mech = Buffer.from('PLAIN')
  const value = Buffer.from(`\0${c.username}\0${c.password}`, 'utf8')
  const b = Buffer.alloc(24 + mech.length + value.length)
  b[0] = 0x80
  b[1] = 0x21 // SASL_AUTH
  b.writeUInt16BE(mech.length, 2)
  b.writeUInt32BE(mech.length + value.length, 8)
  mech.copy(b, 24)
  value.copy(b, 24 + mech.length)
  return b
}

/** First request of a text backend connection. */
export class AsciiLogin implements BackendRequest {
  sentAt = 0
  /** The host refused the auth line as a command: one more reply (to the data line) follows. */
  #noAuthHost = false
  constructor (readonly wire: Buffer) {}

  onLine (buf: Buffer, s: number, e: number): Reply {
    if (this.#noAuthHost) return Reply.Done
    if (startsWith(buf, s, e, STORED)) return Reply.Done
    if (startsWith(buf, s, e, BAD_FORMAT)) { this.#noAuthHost = true; return Reply.More }
    return Reply.Bad // CLIENT_ERROR authentication failure (or anything else)
  }

  onValue (): Reply { return Reply.Bad }
  onFail (_reason: FailReason): void {}
}

/** First request of a binary backend connection. */
export class SaslLogin implements BinaryBackendRequest {
  sentAt = 0
  constructor (readonly wire: Buffer) {}

  onPacket (buf: Buffer, s: number, _e: number): Reply {
    const status = buf.readUInt16BE(s + 6)
    // 0x0000 logged in; 0x0081 UNKNOWN_COMMAND: a host without SASL.
    return status === 0x0000 || status === 0x0081 ? Reply.Done : Reply.Bad
  }

  onFail (_reason: FailReason): void {}
}
