/**
 * A fixed server list, from code or from a "host:port[:weight],..." string (the format
 * of memringctl --servers and of most memcached clients). It never changes, unless the
 * application calls set() (e.g. from its own config reload).
 */
import type { ServerAddress, ServerListener, ServerSource } from './server-source.js'

export class StaticServers implements ServerSource {
  private servers: readonly ServerAddress[]
  private readonly listeners = new Set<ServerListener>()

  constructor (servers: string | readonly ServerAddress[]) {
    this.servers = typeof servers === 'string' ? parseServerList(servers) : Object.freeze([...servers])
  }

  current (): readonly ServerAddress[] {
    return this.servers
  }

  subscribe (listener: ServerListener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Replaces the list and tells subscribers. */
  set (servers: string | readonly ServerAddress[]): void {
    this.servers = typeof servers === 'string' ? parseServerList(servers) : Object.freeze([...servers])
    for (const l of this.listeners) l(this.servers)
  }

  async close (): Promise<void> {
    this.listeners.clear()
  }
}

/**
 * Parses comma-separated "host:port[:weight][ name]" entries;
 * IPv6 hosts in brackets: "[::1]:11211:2". Throws RangeError naming the bad entry.
 */
export function parseServerList (text: string): readonly ServerAddress[] {
  const out: ServerAddress[] = []
  for (const raw of text.split(',')) {
    const entry = raw.trim()
    if (entry === '') continue
    const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})(?::(\d+))?(?:\s+(\S+))?$/.exec(entry)
    if (m === null) throw new RangeError(`bad server "${entry}": expected host:port[:weight][ name]`)
    const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1]
    const port = Number(m[2])
    if (port < 1 || port > 65535) throw new RangeError(`bad server "${entry}": port out of range`)
    const weight = m[3] === undefined ? 1 : Number(m[3])
    if (!Number.isSafeInteger(weight) || weight < 1 || weight > 0xffffffff) throw new RangeError(`bad server "${entry}": weight must be >= 1`)
    out.push(m[4] === undefined ? { host, port, weight } : { host, port, weight, name: m[4] })
  }
  if (out.length === 0) throw new RangeError('empty server list')
  return Object.freeze(out)
}
