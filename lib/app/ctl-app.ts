// lib/app/ctl-app.ts
/**
 * memringctl's commands, as functions that return text (bin/memringctl.ts prints it):
 *   topology  shards, their hosts, roles and DCs, as ZooKeeper has them now
 *   route KEY... which host each key's writes go to (`KEY HOST:PORT` per line), or with
 *             --explain which shard and host and why (hash, ring point, label)
 *   config    the cluster's /config placement setting; `config set` changes it, after
 *             saying how many keys move
 *   failover  a planned master switchover of one shard (lib/cluster/election.ts)
 *   promote   the same, moving the shard's home DC (lib/cluster/dc-roles.ts)
 * The first two read one snapshot (a TopologyWatcher started and closed) or a --servers list.
 */
import {
  ClusterError, ClusterErrorCode, Topology, TopologyWatcher, ZkSession, decodeLeaderRecord, decodeMasterRecord, configPath, encodeClusterConfig,
  encodeRecord, leaderPath, masterPath, switchoverPath, type ReplRecord, proxiesPath, decodeProxyRecord, type ProxyRecord,
} from '../cluster/index.js'
import { decodeShardRecord, shardPath, type ShardRecord } from '../cluster/layout.js'
import { orderedShards, ringOf, staticLabel, type StaticServer } from '../proxy/index.js'
import { JumpRouter, KetamaRing, placementFromSetting, type RouterOptions } from '../ring/index.js'

export type CtlSource =
  | { kind: 'zk', zk: string, cluster: string, connectTimeoutMs?: number }
  | { kind: 'static', servers: StaticServer[] }

/** The memring-proxies of a cluster (their presence records), read once. */
export async function readProxies (zk: string, cluster: string): Promise<ProxyRecord[]> {
  const session = new ZkSession({ connect: zk, sessionTimeoutMs: 4000, connectTimeoutMs: 5000 })
  await session.start()
  try {
    const dir = proxiesPath(cluster)
    const names = await session.getChildren(dir) ?? []
    const recs = await Promise.all(names.map(async (n) => decodeProxyRecord((await session.getData(`${dir}/${n}`))?.data ?? null)))
    return recs.filter((r): r is ProxyRecord => r !== null)
  } finally {
    await session.close()
  }
}

export async function readTopology (src: CtlSource): Promise<Topology> {
  if (src.kind === 'static') return Topology.fromServers(src.servers)
  const w = new TopologyWatcher({ zk: src.zk, cluster: src.cluster, sessionTimeoutMs: 4000, connectTimeoutMs: src.connectTimeoutMs ?? 5000 })
  try { return await w.start() } finally { await w.close() }
}

export function formatTopology (topo: Topology, title: string): string {
  const out = [`${title}: ${topo.shardIds.length} shards, ${topo.hosts.size} hosts`]
  for (const id of topo.shardIds) {
    const s = topo.shards.get(id)!
    out.push(`shard ${id}  weight ${s.weight}  home dc ${s.homeDc ?? '-'}  ${s.primary === null ? 'NO LIVE MASTER (writes fail; reads served by in-sync replicas)' : `master ${s.primary.address}  epoch ${s.epoch}`}  copies ${s.copies.length}`)
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

/** The static list of a source, or null for a cluster (what the proxy's Router takes). */
function staticsOf (src: CtlSource): StaticServer[] | null {
  return src.kind === 'static' ? src.servers : null
}

/**
 * `KEY HOST:PORT` per key: the host each key's writes go to, placed exactly as
 * memring-proxy with the same source and placement flags places it (the same
 * orderedShards/ringOf). A shard with no live master prints `-` as its host.
 */
export function routeKeys (topo: Topology, src: CtlSource, keys: readonly string[], placement: RouterOptions = {}): string {
  const shards = orderedShards(topo, staticsOf(src))
  const ring = ringOf(shards, staticsOf(src), placement)
  const out: string[] = []
  for (const key of keys) {
    if (ring === null) { out.push(`${key} -`); continue }
    const bytes = Buffer.from(key, 'utf8')
    const s = shards[ring.serverOfBytes(bytes, 0, bytes.length)]!
    out.push(`${key} ${s.primary?.address ?? '-'}`)
  }
  return out.join('\n')
}

/** Where `key` routes, with the steps that decide it. */
export function explainRoute (topo: Topology, src: CtlSource, key: string, placement: RouterOptions = {}): string {
  const statics = staticsOf(src)
  const shards = orderedShards(topo, statics)
  const ring = ringOf(shards, statics, placement)
  if (ring === null) return `key "${key}": no shards in the topology`
  const bytes = Buffer.from(key, 'utf8')
  const idx = ring.serverOfBytes(bytes, 0, bytes.length)
  const s = shards[idx]!
  const method = placement.method ?? 'ketama'
  const lines = [`key "${key}" (${bytes.length} bytes)`]
  if (ring instanceof KetamaRing) {
    const hash = ring.hashOfBytes(bytes, 0, bytes.length) >>> 0
    const point = ring.continuum.points[ring.continuum.pointIndex(hash)]!
    const keyHash = placement.keyHash ?? (method === 'ketama-twemproxy' ? 'fnv1a_64' : method === 'ketama-unweighted' ? 'one_at_a_time' : 'md5')
    const label = statics === null ? s.id : staticLabel(statics[idx]!, placement)
    lines.push(
      `  method  ${method}${placement.hashTag === undefined ? '' : `, hash tag "${placement.hashTag}"`}`,
      `  hash    ${keyHash} -> 0x${hash.toString(16).padStart(8, '0')}`,
      shards.length === 1
        ? '  ring    one shard: no hashing needed'
        : `  ring    first point >= hash: 0x${point.toString(16).padStart(8, '0')} of ${ring.continuum.points.length} points, label "${label}"`)
  } else if (ring instanceof JumpRouter) {
    lines.push(`  method  jump: md5 of the key (64 bits) -> bucket ${idx} of ${ring.size} (${statics === null ? 'shard ids in order' : 'list order'})`)
  }
  lines.push(
    `  shard   ${s.id} (weight ${s.weight})`,
    s.primary === null
      ? '  host    none: no live master, so reads miss and writes answer SERVER_ERROR'
      : `  host    ${s.primary.address} (master, dc ${s.primary.dc === '' ? '-' : s.primary.dc}, epoch ${s.primary.epoch})`,
  )
  return lines.join('\n')
}

/** "ketama", "ketama-twemproxy key-hash murmur hash-tag {}" ... */
export function placementText (p: RouterOptions): string {
  return [p.method ?? 'ketama', ...(p.keyHash === undefined ? [] : [`key-hash ${p.keyHash}`]), ...(p.hashTag === undefined ? [] : [`hash-tag ${p.hashTag}`])].join(' ')
}

/** Share of `n` sample keys (`key:<i>`) that change shard between two placements of `topo`. */
export function movedShare (topo: Topology, from: RouterOptions, to: RouterOptions, n = 100_000): number {
  const shards = orderedShards(topo, null)
  const a = ringOf(shards, null, from)
  const b = ringOf(shards, null, to)
  if (a === null || b === null) return 0
  let moved = 0
  const buf = Buffer.alloc(32)
  for (let i = 0; i < n; i++) {
    const len = buf.write(`key:${i}`, 'latin1')
    if (a.serverOfBytes(buf, 0, len) !== b.serverOfBytes(buf, 0, len)) moved++
  }
  return moved / n
}

/** The placement a cluster's /config sets now (with its source), as proxies and clients read it. */
export function clusterPlacement (topo: Topology): string {
  const { placement, source } = placementFromSetting(topo.config, {})
  if (source === 'options') return 'no cluster setting: each proxy and client uses its own --hash (default ketama)'
  if (source === 'cluster-invalid') return `INVALID setting ${JSON.stringify(topo.config)}: proxies and clients use their own --hash`
  return `hash ${placementText(placement)}`
}

/**
 * Sets the cluster's placement in /config. Every proxy and client of the cluster switches
 * at its next snapshot, and keys change shard: the text says how many (of 100,000 sample
 * keys). Without `apply`, nothing is written (the warning and how to apply).
 */
export async function setClusterPlacement (zk: string, cluster: string, to: RouterOptions, apply: boolean): Promise<{ text: string, applied: boolean }> {
  const topo = await readTopology({ kind: 'zk', zk, cluster })
  const from = placementFromSetting(topo.config, {}).placement
  const share = movedShare(topo, from, to)
  const warn = `WARNING: changing cluster ${cluster}'s hash from "${placementText(from)}" to "${placementText(to)}" moves ` +
    `${(share * 100).toFixed(1)}% of keys to another shard (measured on 100,000 sample keys over its ${topo.shardIds.length} shards): ` +
    'they miss until written again, and the values left on their old shards are not reachable any more.'
  if (!apply) return { text: `${warn}
not changed: run again with --yes to apply`, applied: false }
  const session = new ZkSession({ connect: zk, sessionTimeoutMs: 4000, connectTimeoutMs: 5000 })
  await session.start()
  try {
    const path = configPath(cluster)
    const data = encodeClusterConfig({ hash: to.method ?? 'ketama', ...(to.keyHash === undefined ? {} : { keyHash: to.keyHash }), ...(to.hashTag === undefined ? {} : { hashTag: to.hashTag }) })
    if (await session.exists(path) === null) {
      await session.ensurePath(path.slice(0, path.lastIndexOf('/')))
      await session.create(path, data)
    } else await session.setData(path, data)
  } finally {
    await session.close()
  }
  return { text: `${warn}
changed: cluster ${cluster} now places keys by ${placementText(to)}`, applied: true }
}

/**
 * Planned switchover: ask the shard's master to hand over (to `to`, or to its best in-sync
 * replica). The master pauses writes, waits until the target has every record, and
 * releases its lease naming the target, which wins the election: no acknowledged write is
 * lost. Resolves with a report once a new epoch is in ZooKeeper; rejects when the master
 * refuses or nothing happens within timeoutMs.
 */
export async function failover (zk: string, cluster: string, shard: string, to: string, timeoutMs = 15_000, dc: string | null = null): Promise<string> {
  const session = new ZkSession({ connect: zk, sessionTimeoutMs: 4000, connectTimeoutMs: 5000 })
  await session.start()
  // a promote moves the home DC in the same multi as the request, and moves it back if
  // the master refuses or gives up (its DC stays the home: it stays the master)
  let movedFrom: { rec: ShardRecord } | null = null
  const restoreHome = async (): Promise<void> => {
    if (movedFrom === null) return
    const cur = await session.getData(shardPath(cluster, shard))
    if (cur !== null && decodeShardRecord(cur.data).homeDc === dc) {
      await session.setData(shardPath(cluster, shard), encodeRecord(movedFrom.rec), cur.stat.version).catch(() => {})
    }
  }
  try {
    const leader = await session.getData(leaderPath(cluster, shard))
    const before = decodeLeaderRecord(leader?.data ?? null)
    if (before === null) throw new ClusterError(ClusterErrorCode.BadConfig, `shard ${shard} has no master now: nothing to hand over (it is electing one)`)
    if (to !== '' && to === before.node) throw new ClusterError(ClusterErrorCode.BadConfig, `${to} is already the master of shard ${shard}`)
    const started = Date.now()
    const path = switchoverPath(cluster, shard)
    const req = encodeRecord({ to, epoch: before.epoch, state: 'requested', at: started, ...(dc === null ? {} : { dc }) })
    try {
      if (dc === null) {
        await session.create(path, req)
      } else {
        const node = await session.getData(shardPath(cluster, shard))
        if (node === null) throw new ClusterError(ClusterErrorCode.BadConfig, `shard ${shard} does not exist in cluster ${cluster}`)
        const rec = decodeShardRecord(node.data)
        if (rec.homeDc === dc) throw new ClusterError(ClusterErrorCode.BadConfig, `dc ${dc} is already the home DC of shard ${shard}`)
        await session.multi([
          { op: 'setData', path: shardPath(cluster, shard), data: encodeRecord({ ...rec, homeDc: dc }), version: node.stat.version },
          { op: 'create', path, data: req },
        ])
        movedFrom = { rec }
      }
    } catch (err) {
      if (!(err instanceof ClusterError) || err.zkCode !== 'NODE_EXISTS') throw err
      throw new ClusterError(ClusterErrorCode.BadConfig, `a switchover of shard ${shard} is already in progress (${path})`)
    }
    const what = dc === null ? '' : ` in dc ${dc}`
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      const m = decodeMasterRecord((await session.getData(masterPath(cluster, shard)))?.data ?? null)
      if (m !== null && m.epoch > before.epoch) {
        return `shard ${shard}: master ${before.node} (epoch ${before.epoch}) -> ${m.node}${what} (epoch ${m.epoch}) in ${Date.now() - started} ms, at seqno ${m.seqno}`
      }
      const pending = await session.exists(path)
      if (pending === null && (m === null || m.epoch === before.epoch)) {
        const l = decodeLeaderRecord((await session.getData(leaderPath(cluster, shard)))?.data ?? null)
        if (l !== null && l.epoch === before.epoch) {
          await restoreHome()
          throw new ClusterError(ClusterErrorCode.BadConfig, `shard ${shard}: the master refused or abandoned the switchover (no in-sync ${dc === null ? 'replica' : 'copy'}${to === '' ? '' : ` named ${to}`}${what}, or it did not catch up in time); see its log`)
        }
      }
      if (Date.now() - started > timeoutMs) {
        await session.remove(path).catch(() => false)
        await restoreHome()
        throw new ClusterError(ClusterErrorCode.Timeout, `shard ${shard}: no new master within ${timeoutMs} ms; the request was withdrawn`)
      }
    }
  } finally {
    await session.close()
  }
}
