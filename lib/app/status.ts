/**
 * `memringctl status`: one screen with every shard of a cluster, its epoch and master,
 * then each replica and follower with its DC and replication lag, all from the node
 * records in ZooKeeper (one TopologyWatcher snapshot, as `topology` reads). `--json` prints
 * the same model; `--watch` (bin/memringctl.ts) redraws it every interval.
 * Then every memring-proxy of the cluster (their presence nodes, /proxies/<id>: DC, and
 * each backend's state as that proxy sees it: up or marked down, requests in flight).
 */
import type { HostEntry, ProxyRecord, Topology } from '../cluster/index.js'

export interface StatusHost {
  address: string
  role: string
  dc: string
  epoch: number
  /** Records behind the master (a replica or follower), or the most behind replica (a master). */
  lagSeqno: number | null
  lagMs: number | null
  seqno: number | null
  follows: string
  fullSync: boolean
}

export interface StatusShard {
  id: string
  homeDc: string
  epoch: number
  /** "host:port" of the live master, or null (no live master: writes fail). */
  master: string | null
  hosts: StatusHost[]
}

export interface StatusProxy {
  address: string
  dc: string
  /** Seconds since the proxy last wrote its record (every 5 s when healthy). */
  ageS: number
  backends: number
  /** Backends this proxy has marked down (TKO). */
  down: string[]
  pending: number
}

export interface ClusterStatus { cluster: string, shards: StatusShard[], hosts: number, noMaster: string[], proxies: StatusProxy[] }

function hostStatus (h: HostEntry): StatusHost {
  const r = h.repl
  return {
    address: h.address,
    role: h.role,
    dc: h.dc,
    epoch: h.epoch,
    lagSeqno: r?.lagSeqno ?? null,
    lagMs: r?.lagMs ?? null,
    seqno: r?.seqno ?? null,
    follows: r?.master ?? '',
    fullSync: r?.syncInProgress ?? false,
  }
}

export function proxyStatus (p: ProxyRecord, now = Date.now()): StatusProxy {
  return {
    address: p.address,
    dc: p.dc,
    ageS: Math.max(0, Math.round((now - p.updatedAt) / 1000)),
    backends: p.backends.length,
    down: p.backends.filter((b) => b.down).map((b) => b.address),
    pending: p.backends.reduce((n, b) => n + b.pending, 0),
  }
}

export function clusterStatus (cluster: string, topo: Topology, proxies: readonly ProxyRecord[] = []): ClusterStatus {
  const shards: StatusShard[] = topo.shardIds.map((id) => {
    const s = topo.shards.get(id)!
    // Master first, then replicas, then followers (each by node id, as the topology sorts).
    const ordered = [...s.masters, ...s.replicas, ...s.followers]
    for (const h of s.hosts) if (!ordered.includes(h)) ordered.push(h)
    return { id, homeDc: s.homeDc ?? '', epoch: s.epoch, master: s.primary?.address ?? null, hosts: ordered.map(hostStatus) }
  })
  return {
    cluster,
    shards,
    hosts: topo.hosts.size,
    noMaster: shards.filter((s) => s.master === null).map((s) => s.id),
    proxies: [...proxies].sort((a, b) => a.address < b.address ? -1 : 1).map((p) => proxyStatus(p)),
  }
}

export function formatStatus (st: ClusterStatus, at = new Date()): string {
  const out = [`cluster ${st.cluster}: ${st.shards.length} shards, ${st.hosts} hosts` +
    (st.noMaster.length === 0 ? ', every shard has a master' : `, NO MASTER: shard ${st.noMaster.join(', ')}`) + `  (${at.toISOString()})`]
  out.push(`${'SHARD'.padEnd(8)} ${'EPOCH'.padStart(5)}  ${'ROLE'.padEnd(8)} ${'HOST'.padEnd(22)} ${'DC'.padEnd(8)} ${'SEQNO'.padStart(10)} ${'LAG'.padStart(8)} ${'LAG MS'.padStart(8)}  NOTE`)
  for (const s of st.shards) {
    if (s.hosts.length === 0) out.push(`${s.id.padEnd(8)} ${String(s.epoch).padStart(5)}  (no live host)`)
    s.hosts.forEach((h, i) => {
      const notes: string[] = []
      if (h.fullSync) notes.push('FULL SYNC')
      if (h.role !== 'master' && h.follows !== '' && s.master !== null && h.follows !== s.master) notes.push(`follows ${h.follows}`)
      if (h.role === 'master' && s.master !== h.address) notes.push('not the shard\'s master')
      out.push([
        (i === 0 ? s.id : '').padEnd(8),
        (i === 0 ? String(s.epoch) : '').padStart(5) + ' ',
        h.role.padEnd(8),
        h.address.padEnd(22),
        (h.dc === '' ? '-' : h.dc).padEnd(8),
        (h.seqno === null ? '-' : String(h.seqno)).padStart(10),
        (h.lagSeqno === null ? '-' : String(h.lagSeqno)).padStart(8),
        (h.lagMs === null ? '-' : String(h.lagMs)).padStart(8) + ' ',
        notes.join(', '),
      ].join(' ').trimEnd())
    })
    if (s.master === null && s.hosts.length > 0) out.push(`${''.padEnd(8)} ${''.padStart(5)}  NO LIVE MASTER: writes fail, reads go to in-sync replicas`)
  }
  out.push(`${st.proxies.length} proxies`)
  if (st.proxies.length > 0) out.push(`${'PROXY'.padEnd(28)} ${'DC'.padEnd(8)} ${'BACKENDS'.padStart(8)} ${'IN FLIGHT'.padStart(9)} ${'AGE S'.padStart(5)}  DOWN`)
  for (const p of st.proxies) {
    out.push(`${p.address.padEnd(28)} ${(p.dc === '' ? '-' : p.dc).padEnd(8)} ${String(p.backends).padStart(8)} ${String(p.pending).padStart(9)} ${String(p.ageS).padStart(5)}  ${p.down.length === 0 ? '-' : p.down.join(',')}`)
  }
  return out.join('\n')
}
