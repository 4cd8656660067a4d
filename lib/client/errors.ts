/**
 * Errors of the client: a stable code (MEMRING_ERR_CLIENT_*), a `retriable` flag (true
 * when the request surely never ran, so sending it again cannot apply it twice) and
 * the server it concerns. Same shape as the project's MemringError (STYLE §10), kept
 * local so lib/client depends only on protocol/ and lib/ring.
 */
export const ClientErrorCode = {
  /** Could not connect (refused, unreachable, connect timeout) and retries ran out. */
  Connect: 'MEMRING_ERR_CLIENT_CONNECT',
  /** The connection closed or reset while the request was in flight: it may have run. */
  ConnClosed: 'MEMRING_ERR_CLIENT_CONN_CLOSED',
  /** No complete reply within requestTimeoutMs. The connection is closed and reopened. */
  Timeout: 'MEMRING_ERR_CLIENT_TIMEOUT',
  /** The server sent bytes that are not a reply to the request (framing lost): connection closed. */
  Protocol: 'MEMRING_ERR_CLIENT_PROTOCOL',
  /** The server replied SERVER_ERROR <message>. */
  ServerError: 'MEMRING_ERR_CLIENT_SERVER_ERROR',
  /** The server replied CLIENT_ERROR <message>. */
  ClientErrorReply: 'MEMRING_ERR_CLIENT_CLIENT_ERROR',
  /** The server replied ERROR (it does not know the command). */
  ErrorReply: 'MEMRING_ERR_CLIENT_ERROR_REPLY',
  /** A key the text protocol cannot carry (empty, > 250 bytes, space or control bytes). */
  BadKey: 'MEMRING_ERR_CLIENT_BAD_KEY',
  /** Another argument out of range (flags, exptime, delta, value size). */
  BadArgument: 'MEMRING_ERR_CLIENT_BAD_ARGUMENT',
  /** The server is marked down after consecutive failures; it is being probed. */
  HostDown: 'MEMRING_ERR_CLIENT_HOST_DOWN',
  /** Too many requests waiting for this server (maxQueued). */
  QueueFull: 'MEMRING_ERR_CLIENT_QUEUE_FULL',
  /** The client or connection was closed by the application. */
  Closed: 'MEMRING_ERR_CLIENT_CLOSED',
  /** The server list is empty. */
  NoServers: 'MEMRING_ERR_CLIENT_NO_SERVERS',
  /** A write for a shard with no live master, or whose only master record has an epoch older than one seen before. */
  NoPrimary: 'MEMRING_ERR_CLIENT_NO_PRIMARY',
  /** A read for a shard none of whose copies is live (in the topology). */
  NoCopy: 'MEMRING_ERR_CLIENT_NO_COPY',
  /** With `encryption`: a command that would act on or return sealed bytes (incr/decr, append/prepend, ms, ma, mg v). */
  NotWithEncryption: 'MEMRING_ERR_CLIENT_NOT_WITH_ENCRYPTION',
} as const
export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode]

export class ClientError extends Error {
  readonly code: ClientErrorCode
  readonly retriable: boolean
  /** "host:port" of the server concerned, or null. */
  readonly server: string | null
  constructor (code: ClientErrorCode, message: string, opts: { cause?: unknown, retriable?: boolean, server?: string | null } = {}) {
    super(message, { cause: opts.cause })
    this.name = 'ClientError'
    this.code = code
    this.retriable = opts.retriable ?? false
    this.server = opts.server ?? null
  }
}

/** Errors that say something about the server's health (they count towards marking it down). */
export function isHostFailure (err: unknown): boolean {
  if (!(err instanceof ClientError)) return false
  return err.code === ClientErrorCode.Connect || err.code === ClientErrorCode.ConnClosed ||
    err.code === ClientErrorCode.Timeout || err.code === ClientErrorCode.Protocol
}
