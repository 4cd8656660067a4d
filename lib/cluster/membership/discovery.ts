// lib/cluster/membership/discovery.ts
/**
 * DiscoveryList: the cluster as ElastiCache auto-discovery clients see it (`config get
 * cluster`): one node per shard, the shard's primary (the master writes go to), in the
 * shards' stable order. Not every host: a client that discovers N nodes hashes keys over
 * all N and writes to each, and a replica or follower refuses writes; listing one
 * writable copy per shard keeps every key on one shard's data. A shard with no live master
 * (mid-failover) is left out until one is elected, as ElastiCache drops a failed node.
 *
 * `version` is per process: 0 (empty) until the first snapshot, 1 for the first list, +1 whenever the list changes (a host
 * joins or leaves, a new master is elected). Clients re-read the nodes when it grows, so
 * nothing is persisted. The reply bytes are built once per change, not per request.
 */
import { isIP } from 'node:net'
import { encodeClusterConfig, type DiscoveryNode } from '../../../protocol/text/cluster-config.js'
import type { Topology } from './topology.js'
import type { TopologyWatcher } from './watcher.js'

/** One node per shard with a live primary; the ip field is filled only for an IP address. */
export function discoveryNodes (t: Topology): DiscoveryNode[] {
  const out: DiscoveryNode[] = []
  for (const id of t.shardIds) {
    const p = t.shards.get(id)?.primary
    if (p == null) continue
    out.push({ hostname: p.host, ip: isIP(p.host) !== 0 ? p.host : '', port: p.port })
  }
  return out
}

export class DiscoveryList {
  #version = 0
  #key = ''
  /** Before the first snapshot: version 0, no nodes. */
  #reply: Buffer = encodeClusterConfig(0, [])

  constructor (watcher: TopologyWatcher) {
    this.#set(watcher.current)
    watcher.on('update', (next: Topology) => this.#set(next))
  }

  get version (): number { return this.#version }

  reply (): Buffer { return this.#reply }

  #set (t: Topology): void {
    const nodes = discoveryNodes(t)
    const key = nodes.map((n) => `${n.hostname}:${n.port}`).join(' ')
    if (key === this.#key) return
    this.#key = key
    this.#reply = encodeClusterConfig(++this.#version, nodes)
  }
}
