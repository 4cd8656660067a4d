/**
 * Where the client's server list comes from. connection.ts only connects to what it is
 * given; a ServerSource says what that is and when it changes (STYLE §2: discovery is
 * separate from connections). Implementation: StaticServers. A memring cluster in
 * ZooKeeper is a ShardSource instead (./shard-source.ts, ./zookeeper-shards.ts).
 *
 * Contract for implementations:
 *  - current() is an immutable snapshot; a change is a NEW array, never a mutation.
 *  - subscribe() calls the listener with each new snapshot after it is taken, not with
 *    the current one; changes are debounced by the source (one call per burst).
 *  - Order matters for `jump` hashing (the index is the shard): a source must keep
 *    survivors in place and append new servers at the end.
 *  - close() stops calls to listeners.
 */
export interface ServerAddress {
  readonly host: string
  readonly port: number
  /** Ketama weight, a positive integer (default 1). */
  readonly weight?: number
  /** twemproxy-style name hashed instead of host:port (ketama-twemproxy only). */
  readonly name?: string
  /** The server requires TLS (its ZooKeeper record says so: a memring host with -Z). */
  readonly tls?: boolean
}

export type ServerListener = (servers: readonly ServerAddress[]) => void

export interface ServerSource {
  current (): readonly ServerAddress[]
  subscribe (listener: ServerListener): () => void
  close (): Promise<void>
}

/** "host:port" (IPv6 hosts in brackets), the id a server is known by in the client. */
export function serverId (s: ServerAddress): string {
  return s.host.includes(':') ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`
}
