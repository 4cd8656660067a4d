// lib/app/ctl-app.ts
/**
 * memringctl's commands, as functions that return text (bin/memringctl.ts prints it):
 *   topology  shards, their hosts, roles and DCs, as ZooKeeper has them now
 *   route KEY which shard and host a key goes to, and why (hash, ring point, label)
 * Both read one snapshot (a TopologyWatcher started and closed) or a --servers list.
 */
import { Topology, TopologyWatcher, type ReplRecord, type ShardEntry } from '../cluster/index.js'
import { shardLabel, shardRing } from '../proxy/index.js'

export type CtlSource =
  | { kind: 'zk', zk: string, cluster: string, connectTimeoutMs?: number }
  | { kind: 'static', servers: { host: string, port: number }[] }

export async function readTopology (src: CtlSource): Promise<Topology> {
  if (src.kind === 'static') return Topology.fromServers(src.servers)
  const w = new TopologyWatcher({ zk: src.zk, cluster: src.cluster, sessionTimeoutMs: 4000, connectTimeoutMs: src.connectTimeoutMs ?? 5000 })
  try { return await w.start() } finally { await w.close() }
}

export function formatTopology (topo: Topology, title: string): string {
  const out = [`${title}: ${topo.shardIds.length} shards, ${topo.hosts.size} hosts`]
  for (const id of topo.shardIds) {
    const s = topo.shards.get(id)!
    out.push(`shard ${id}  weight ${s.weight}  home dc ${s.homeDc ?? '-'}  ${s.primary === null ? 'NO LIVE MASTER (reads miss, writes fail)' : `master ${s.primary.address}`}`)
    for (const h of s.hosts) {
      out.push(`  ${h.role.padEnd(8)} ${h.address.padEnd(22)} dc ${h.dc === '' ? '-' : h.dc}  epoch ${h.epoch}${loadText(h.load)}`)
      if (h.repl !== null) out.push(`           ${replText(h.repl)}`)
    }
  }
  return out.join('\n')
}

/** Replication position and health: history:seqno, lag, what it follows, sync state. */
function replText (r: ReplRecord): string {
  const parts = [`history ${r.historyId}:${r.seqno}`]
  if (r.master !== '') parts.push(`follows ${r.master}`, `lag ${r.lagSeqno} records / ${r.lagMs} ms`)
  else parts.push(`replicas ${r.replicas}`, `max lag ${r.lagSeqno} records / ${r.lagMs} ms`)
  if (r.syncInProgress) parts.push('FULL SYNC IN PROGRESS')
  return parts.join('  ')
}

function loadText (load: Readonly<Record<string, number>>): string {
  const keys = ['curr_connections', 'curr_items', 'cmd_get', 'cmd_set']
  const parts = keys.filter((k) => load[k] !== undefined).map((k) => `${k}=${load[k]}`)
  return parts.length === 0 ? '' : `  ${parts.join(' ')}`
}

/** Where `key` routes in `topo`, with the steps that decide it. */
export function explainRoute (topo: Topology, key: string, staticLabels: boolean): string {
  const shards: ShardEntry[] = topo.shardIds.map((id) => topo.shards.get(id)!)
  const ring = shardRing(shards, staticLabels)
  if (ring === null) return `key "${key}": no shards in the topology`
  const bytes = Buffer.from(key, 'utf8')
  const hash = ring.hashOfBytes(bytes, 0, bytes.length) >>> 0
  const idx = ring.serverOfBytes(bytes, 0, bytes.length)
  const point = ring.continuum.points[ring.continuum.pointIndex(hash)]!
  const s = shards[idx]!
  const lines = [
    `key "${key}" (${bytes.length} bytes)`,
    `  hash    md5 -> 0x${hash.toString(16).padStart(8, '0')}`,
    shards.length === 1
      ? '  ring    one shard: no hashing needed'
      : `  ring    first point >= hash: 0x${point.toString(16).padStart(8, '0')} of ${ring.continuum.points.length} points, label "${shardLabel(s, staticLabels)}"`,
    `  shard   ${s.id} (weight ${s.weight})`,
    s.primary === null
      ? '  host    none: no live master, so reads miss and writes answer SERVER_ERROR'
      : `  host    ${s.primary.address} (master, dc ${s.primary.dc === '' ? '-' : s.primary.dc}, epoch ${s.primary.epoch})`,
  ]
  return lines.join('\n')
}
