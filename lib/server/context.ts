/**
 * What every connection of one server shares: the store, counters, settings, and the
 * hooks other areas plug in (meta protocol, binary protocol, auth, mutation stream).
 */
import type { SlabStore } from '../store/slab-store.js'
import type { ServerSettings } from './settings.js'
import type { ServerStats } from './stats.js'
import type { TextLine } from '../../protocol/text/request-parser.js'
import type { Hold, Output } from './output.js'
import type { Watchers } from './watchers.js'
import type { PrefixStats } from './prefix-stats.js'
import type { Socket } from 'node:net'
import type { RequestTimer } from './request-timer.js'
import type { TlsTerminator } from './tls.js'

/** A connection as the dispatchers see it. */
export interface ConnControl {
  readonly id: number
  readonly out: Output
  /** Close after everything queued so far is written; normal: the client asked (quit). */
  closeAfterWrite (normal?: boolean): void
  /** Close now, dropping queued output. */
  destroy (): void
  /** Stop parsing this connection's input until the socket drains. */
  pauseInput (): void
  /** Write what is queued now (for replies produced outside input handling). */
  flush (): void
  /** memcached-style state; 'conn_mwrite' while the socket is full (used by watchers). */
  state? (): string
  /** The socket is full: output waits for 'drain' (then the session's resume() runs). */
  congested? (): boolean
  /** Hands the socket over (see Upgrade): the connection forgets it; null if already gone. */
  detach? (): Socket | null
}

/**
 * A text command that turns its connection into another protocol: the session stops,
 * the socket is handed to take() with the line's words (replication's `repl`).
 */
export interface Upgrade {
  readonly word: string
  take (socket: Socket, args: string[]): void
}

/**
 * A memring-only text command answered by a part the server does not know (replication's
 * `dc_invalidate`): `run` gets the line (tokens as offsets) and returns the reply line.
 * Tried only for words the server does not know, so memcached's commands never change.
 */
export interface LocalCommand {
  readonly word: string
  run (buf: Buffer, tokS: ArrayLike<number>, tokE: ArrayLike<number>, ntokens: number): Buffer
}

/** Writes are refused (a replica): the text/meta error line and the binary error body. */
export interface ReadOnly {
  readonly line: Buffer
  readonly body: Buffer
  /** Binary status of the refusal; default 0x0007 (not my vbucket: a replica). */
  readonly status?: number
}

/**
 * Client writes are answered only once something outside the server confirms them
 * (replication's --min-replicas-to-ack). Every write command asks refuse() first (after
 * ctx.readOnly), and calls hold() once it has been applied; its reply then waits in the connection's Output (later replies of that
 * connection wait behind it; other connections do not).
 */
export interface WriteGate {
  /** Before a write is applied: non-null refuses it (it is not applied) with this reply. */
  refuse (): ReadOnly | null
  /** The write just applied must be confirmed: a Hold to wait on, or null to answer now. */
  hold (): Hold | null
  /** Sent instead of a held reply whose hold failed: text/meta line, binary status and body. */
  readonly failLine: Buffer
  readonly failStatus: number
  readonly failBody: Buffer
}

/** Meta commands (mg ms md ma mn me) plug into the text session through this. */
export interface MetaHandler {
  /** Handles a meta line; returns NO_DATA or the data block length (see TextRequestHandler). */
  onLine (conn: ConnControl, line: TextLine, ctx: ServerContext): number
  onData (conn: ConnControl, line: TextLine, buf: Buffer, s: number, e: number, ctx: ServerContext): void
}

/** Auto-discovery list for `config get cluster` (lib/cluster/membership/discovery.ts). */
export interface ClusterConfigSource {
  reply (): Buffer
}

export interface ServerContext {
  store: SlabStore
  stats: ServerStats
  settings: ServerSettings
  /** Unix seconds when the server started (stats uptime). */
  startedAtSec: number
  meta: MetaHandler | null
  /** `stats detail`: per key prefix counts (prefix-stats.ts). */
  prefixStats: PrefixStats
  /** `watch` connections and the log lines they are sent (watchers.ts). */
  watchers: Watchers
  /** Called by `shutdown` (with -A) and signals. */
  requestShutdown: (graceful: boolean) => void
  /** Live connections, for `stats conns`. */
  connections: Set<{ id: number, addr: string, listenAddr: string, state: () => string, lastCmdSec: number, outBytes?: () => number }>
  /** Listening sockets, for `stats conns` (conn_listening rows): id, bound address, since (unix s). */
  listeners?: Array<{ id: number, addr: string, since: number }>
  /** A connection's socket was handed over (an Upgrade): the server still ends it on close(). */
  socketDetached?: (socket: Socket) => void
  /** A connection closed (bookkeeping in the server). */
  connectionClosed: (conn: { id: number }) => void
  /** Commands that take a connection over; empty on a plain server. */
  upgrades: Upgrade[]
  /** memring-only commands (LocalCommand); empty on a plain server. */
  localCommands: LocalCommand[]
  /** Non-null while client writes must be refused (a replica). */
  readOnly: ReadOnly | null
  /** Non-null while write replies must wait for a confirmation (--min-replicas-to-ack). */
  writeGate: WriteGate | null
  /** Extra `stats <group>` groups plugged in by other areas (replication). */
  statsGroups: Map<string, () => Array<[string, string | number]>>
  /** Sampled request service times (--metrics-port; lib/metrics); absent: not timed. */
  requestTimer?: RequestTimer | null
  /**
   * Answers ElastiCache's `config get cluster` (the whole reply, CONFIG .. END); absent or
   * null: `config` is an unknown command (ERROR), as in memcached. Set by lib/app in a cluster.
   */
  clusterConfig?: ClusterConfigSource | null
  /** -Z: the TLS listeners' certificates and handshake counts (tls.ts); null without -Z. */
  tls?: TlsTerminator | null
  /** A bug surfaced while handling a connection (logged by the server). */
  onInternalError?: (err: unknown, connId: number) => void
}
