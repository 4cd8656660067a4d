/**
 * Two "datacenters" on loopback with a delayed WAN between them (issue 14), shared by
 * lib/app/test/cross-dc.test.ts and compat-tests/bench/crossdc.ts:
 *
 *   DC A: two memring hosts of shard `s1` (auto: one is elected master), on ZooKeeper directly
 *   DC B: two `--role follower` hosts (one streams from A, the other chains from it), whose
 *         ZooKeeper session crosses the WAN (a relay in front of ZooKeeper)
 *
 * Every host gets a relay (tcp-relay.ts shape()) that the OTHER DC's processes dial instead
 * of the host (a per-DC MEMRING_TEST_WAN_MAP file, lib/wan-map.ts): links inside a DC are
 * direct, links between DCs cross the WAN. The relays live in the calling process, which
 * must keep its event loop free to relay. Test-only code: unstable API.
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { decodeLeaderRecord, leaderPath } from '../cluster/layout.js'
import type { ZkSession } from '../cluster/zk.js'
import { ChildServer, PROXY_BIN, startMemringProcess } from './memring-process.js'
import { stats } from './replication.js'
import { startRelay, type LinkShape, type TcpRelay } from './tcp-relay.js'
import { waitFor } from './wait-for.js'
import { freePort, type Teardown } from './zookeeper.js'

export interface TwoDcsOptions {
  /** ZooKeeper's port (on 127.0.0.1) and connect string, as DC A dials it. */
  zkPort: number
  zkConnect: string
  /** Reads the leader record of the shard (`master()`). */
  obs: ZkSession
  /** A directory for the two WAN map files. */
  dir: string
  cluster: string
  wan: LinkShape
  sessionMs: number
  waitMs: number
  /** Extra flags for every host (e.g. `-v`). */
  extraArgs?: string[]
}

export interface TwoDcs {
  a: ChildServer[]
  b: ChildServer[]
  /** The relay in front of each host (by address), for the other DC's processes. */
  relays: Map<string, TcpRelay>
  zkRelay: TcpRelay
  /** The environment of B's processes (their WAN map: A's hosts behind relays). */
  envB: NodeJS.ProcessEnv
  cluster: string
  /** The shard's leader record, once there is one. */
  master: () => Promise<{ node: string, epoch: number }>
  zk: string
}

export async function startTwoDcs (t: Teardown, o: TwoDcsOptions): Promise<TwoDcs> {
  // each DC's processes reach the other DC's hosts through that host's relay (a WAN map
  // per DC: a host of A is behind the WAN for B's processes only, and vice versa)
  const maps = { A: {} as Record<string, string>, B: {} as Record<string, string> }
  const file = (dc: 'A' | 'B'): string => path.join(o.dir, `${o.cluster}-${dc}.json`)
  writeFileSync(file('A'), '{}')
  writeFileSync(file('B'), '{}')
  const envOf = (dc: 'A' | 'B'): NodeJS.ProcessEnv => ({ MEMRING_TEST_HOOKS: '1', MEMRING_TEST_WAN_MAP: file(dc) })
  const relays = new Map<string, TcpRelay>()
  const behindWan = async (h: ChildServer, dc: 'A' | 'B'): Promise<void> => {
    const r = await startRelay(t, h.port, o.wan)
    relays.set(h.address, r)
    const other = dc === 'A' ? 'B' : 'A'
    maps[other][h.address] = r.address
    writeFileSync(file(other), JSON.stringify(maps[other]))
  }
  const args = (dc: string, zkAddr: string, role: string[] = []): string[] =>
    ['--zk', zkAddr, '--cluster', o.cluster, '--shard', 's1', '--dc', dc, '--zk-session-timeout', String(o.sessionMs), ...role, ...(o.extraArgs ?? [])]
  const master = async (): Promise<{ node: string, epoch: number }> => await waitFor(async () => {
    const got = await o.obs.getData(leaderPath(o.cluster, 's1'))
    return got === null ? null : decodeLeaderRecord(got.data)
  }, { timeoutMs: o.waitMs, what: 'a master' })
  const a: ChildServer[] = []
  for (let i = 0; i < 2; i++) { const h = await startMemringProcess(t, args('A', o.zkConnect), { env: envOf('A') }); a.push(h); await behindWan(h, 'A') }
  await master()
  const zkRelay = await startRelay(t, o.zkPort, o.wan)
  const b: ChildServer[] = []
  for (let i = 0; i < 2; i++) { const h = await startMemringProcess(t, args('B', zkRelay.address, ['--role', 'follower']), { env: envOf('B') }); b.push(h); await behindWan(h, 'B') }
  return { a, b, relays, zkRelay, envB: envOf('B'), cluster: o.cluster, master, zk: o.zkConnect }
}

/** The host of `hosts` at address `node`. */
export const byAddr = (hosts: ChildServer[], node: string): ChildServer => hosts.find((h) => h.address === node)!

/** Resolves once every host of `hosts` has the seqno of `m`, a complete copy and an online link. */
export async function caughtUp (m: ChildServer, hosts: ChildServer[], timeoutMs: number): Promise<unknown> {
  return await waitFor(async () => {
    const ms = await stats(m.port, 'replication')
    for (const h of hosts) {
      const s = await stats(h.port, 'replication')
      if (s.seqno !== ms.seqno || s.sync_in_progress !== '0' || s.master_link !== 'online') return false
    }
    return true
  }, { timeoutMs, what: `copies caught up with ${m.address}` })
}

/** A memring-proxy in DC B (through B's WAN map and ZooKeeper relay) with `extra` flags, once it sees `hosts` hosts. */
export async function startProxyInB (t: Teardown, d: TwoDcs, hosts: number, o: { sessionMs: number, waitMs: number }, extra: string[] = []): Promise<ChildServer> {
  const port = await freePort()
  const proxy = new ChildServer(PROXY_BIN, port, ['-p', String(port), '-l', '127.0.0.1', '--zk', d.zkRelay.address, '--cluster', d.cluster, '--dc', 'B', '--zk-session-timeout', String(o.sessionMs), ...extra], d.envB)
  t.teardown(() => proxy.kill())
  await proxy.start()
  await waitFor(async () => (await stats(port, 'proxy')).topology_hosts === String(hosts), { timeoutMs: o.waitMs, what: `the proxy sees ${hosts} hosts` })
  return proxy
}
