// lib/proxy/stats.ts
/**
 * `stats` through the proxy. `stats proxy` is ours (counters of this process).
 * Any other `stats [group]` goes to every host and the replies are combined by name:
 * numbers are summed, except the per-process figures below, which describe the
 * proxy itself (pid, uptime, time, version) or are taken from the first host
 * (sizes and settings that do not add up). `stats settings` describes one host's
 * configuration: it is the first answering host's, except `maxbytes`, summed like
 * `limit_maxbytes` (the cluster's item memory). A host that failed is left out. The first
 * error line of any host, or RESET/OK replies, pass through as they are.
 */
import type { ProxyCore } from './core.js'
import type { RouterOptions } from '../ring/index.js'
import { hotStatsRows } from './hot-stats.js'

const OWN = new Set(['pid', 'uptime', 'time', 'version', 'libevent', 'pointer_size', 'curr_connections', 'total_connections'])
const FIRST = new Set([
  'rusage_user', 'rusage_system', 'max_connections', 'threads', 'hash_power_level', 'hash_is_expanding',
  'slab_reassign_running', 'malloc_fails', 'log_watchers', 'reserved_fds', 'conn_yields_limit',
  'time_since_server_cert_refresh',
])

/** Settings that add up over hosts; every other setting is the first host's. */
const SUMMED_SETTINGS = new Set(['maxbytes'])

export function mergeStats (replies: (Buffer[] | null)[], core: ProxyCore, group = ''): Buffer[] {
  if (group === 'cachedump' || group === 'detail') return mergeDumps(replies, group === 'detail')
  const settings = group === 'settings'
  const values = new Map<string, string>()
  for (const r of replies) {
    if (r === null) continue
    for (const piece of r) {
      const line = piece.toString('latin1', 0, piece.length - 2)
      if (line === 'END') continue
      if (!line.startsWith('STAT ')) return [piece] // error line, RESET, OK
      const sp = line.indexOf(' ', 5)
      if (sp < 0) continue
      const name = line.slice(5, sp)
      const v = line.slice(sp + 1)
      const had = values.get(name)
      if (had === undefined) values.set(name, v)
      else if (settings ? SUMMED_SETTINGS.has(name) : (!OWN.has(name) && !FIRST.has(name)) && /^\d+$/.test(had) && /^\d+$/.test(v)) {
        values.set(name, String(BigInt(had) + BigInt(v)))
      }
    }
  }
  const own: Record<string, string> = {
    pid: String(process.pid),
    uptime: String(Math.floor((Date.now() - core.startedAtMs) / 1000)),
    time: String(Math.floor(Date.now() / 1000)),
    version: core.version,
    curr_connections: String(core.currConnections()),
    total_connections: String(core.totalConnections()),
  }
  let out = ''
  for (const [name, v] of values) out += `STAT ${name} ${own[name] ?? v}\r\n`
  out += 'END\r\n'
  return [Buffer.from(out, 'latin1')]
}

export function proxyStatsLines (core: ProxyCore): Buffer {
  const r = core.router
  const hosts = [...r.pool.hosts.values()]
  const lines: [string, string | number][] = [
    ['pid', process.pid],
    ['uptime', Math.floor((Date.now() - core.startedAtMs) / 1000)],
    ['version', core.version],
    ['curr_connections', core.currConnections()],
    ['total_connections', core.totalConnections()],
    ...Object.entries(core.counters),
    ...Object.entries(r.pool.counters),
    // -Z on the proxy: its own client listener's figures (the hosts' are in `stats`).
    ...(core.tls === null ? [] : [['ssl_handshake_errors', core.tls.handshakeErrors] as [string, number]]),
    ['topology_version', r.topology.version],
    ['topology_stale', core.topologyStale() ? 1 : 0],
    ['topology_shards', r.shardCount],
    ['topology_hosts', r.topology.hosts.size],
    ['ring_builds', r.ringBuilds],
    ['topology_fenced_shards', r.fencedShards],
    ['read_from', r.readFrom],
    ['dc', r.dc ?? '-'],
    ['proxy_local_reads', r.readCounts.local],
    ['proxy_remote_reads', r.readCounts.remote],
    ...core.dcWrites.statsRows(),
    ['hash', r.placement.method ?? 'ketama'],
    ['hash_source', r.placementSource],
    ['key_hash', keyHashName(r.placement)],
    ['bounded_load', r.boundedLoad === 0 ? 'off' : r.boundedLoad],
    ['proxy_bounded_moves', r.boundedMoves],
    ['hash_tag', r.placement.hashTag === undefined || r.placement.hashTag === '' ? '-' : r.placement.hashTag],
    ['route', core.routeName],
    ...core.warmUp.statsRows(),
    ['backends', hosts.length],
    ['backends_down', hosts.filter((h) => h.down).length],
    ...hotStatsRows(core),
  ]
  return Buffer.from(lines.map(([k, v]) => `STAT ${k} ${v}\r\n`).join('') + 'END\r\n', 'latin1')
}

/** The key hash the placement uses, as `--key-hash` names it. */
function keyHashName (p: RouterOptions): string {
  if (p.keyHash !== undefined) return p.keyHash
  switch (p.method ?? 'ketama') {
    case 'ketama-twemproxy': return 'fnv1a_64'
    case 'ketama-unweighted': return 'one_at_a_time'
    default: return 'md5'
  }
}

const PREFIX_LINE = /^PREFIX (.*) get (\d+) hit (\d+) set (\d+) del (\d+)$/

/**
 * `stats cachedump`: every host's ITEM lines, host by host, then END. `stats detail dump`:
 * one PREFIX line per prefix with the hosts' counts summed (first host's order first).
 * Any other reply (OK, an error) is the first host's.
 */
function mergeDumps (replies: (Buffer[] | null)[], sumPrefixes: boolean): Buffer[] {
  const items: Buffer[] = []
  const prefixes = new Map<string, bigint[]>()
  for (const r of replies) {
    if (r === null) continue
    for (const piece of r) {
      const line = piece.toString('latin1', 0, piece.length - 2)
      if (line === 'END') continue
      const m = sumPrefixes ? PREFIX_LINE.exec(line) : null
      if (m !== null) {
        const had = prefixes.get(m[1]) ?? [0n, 0n, 0n, 0n]
        prefixes.set(m[1], had.map((v, i) => v + BigInt(m[i + 2])))
      } else if (!sumPrefixes && line.startsWith('ITEM ')) {
        items.push(piece)
      } else {
        return [piece]
      }
    }
  }
  for (const [p, [g, h, st, d]] of prefixes) items.push(Buffer.from(`PREFIX ${p} get ${g} hit ${h} set ${st} del ${d}\r\n`, 'latin1'))
  items.push(Buffer.from('END\r\n'))
  return items
}
