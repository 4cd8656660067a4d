// lib/testing/two-dcs.ts
/**
 * Two "datacenters" on loopback for cross-DC tests: a real ZooKeeper, A's hosts (automatic
 * roles) and B's followers (`--dc B --role follower`), every link from one DC to the other
 * through a delayed relay (tcp-relay.ts: the WAN). Each DC's processes get a WAN map
 * (lib/wan-map.ts, MEMRING_TEST_WAN_MAP) so they reach the other DC's hosts through
 * their relays; B's processes reach ZooKeeper through `zkRelay`.
 */
import type { Test } from 'tap'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { decodeLeaderRecord, leaderPath } from '../cluster/layout.js'
import type { ZkSession } from '../cluster/zk.js'
import { ChildServer, PROXY_BIN, startMemringProcess } from './memring-process.js'
import { stats } from './replication.js'
import { startRelay, type LinkShape, type TcpRelay } from './tcp-relay.js'
import { waitFor } from './wait-for.js'
import { freePort } from './zookeeper.js'

export const WAN: LinkShape = { delayMs: 40, jitterMs: 5 }
export const SESSION_MS = 3000
export const WAIT_MS = 30_000

export interface Dcs {
  a: ChildServer[]
  b: ChildServer[]
  /** The relay in front of each host (by address), for the other DC's processes. */
  relays: Map<string, TcpRelay>
  zkRelay: TcpRelay
  /** The environment of B's processes (their WAN map: A's hosts behind relays). */
  envB: NodeJS.ProcessEnv
  cluster: string
  master: () => Promise<{ node: string, epoch: number }>
  zk: string
}

/**
 * Two hosts in A (auto), then `followers` (default 2) followers in B behind the WAN, of
 * shard s1 of `cluster`; `dir` holds the WAN map files; `obs` watches ZooKeeper.
 */
export async function startDcs (t: Test, zk: { connectString: string, port: number }, obs: ZkSession, dir: string, cluster: string, followers = 2): Promise<Dcs> {
  // each DC's processes reach the other DC's hosts through that host's relay (a WAN
  // map per DC: a host of A is behind the WAN for B's processes only, and vice versa)
  const maps = { A: {} as Record<string, string>, B: {} as Record<string, string> }
  const file = (dc: 'A' | 'B'): string => path.join(dir, `${cluster}-${dc}.json`)
  writeFileSync(file('A'), '{}')
  writeFileSync(file('B'), '{}')
  const envOf = (dc: 'A' | 'B'): NodeJS.ProcessEnv => ({ MEMRING_TEST_HOOKS: '1', MEMRING_TEST_WAN_MAP: file(dc) })
  const relays = new Map<string, TcpRelay>()
  const behindWan = async (h: ChildServer, dc: 'A' | 'B'): Promise<void> => {
    const r = await startRelay(t, h.port, WAN)
    relays.set(h.address, r)
    const other = dc === 'A' ? 'B' : 'A'
    maps[other][h.address] = r.address
    writeFileSync(file(other), JSON.stringify(maps[other]))
  }
  const args = (dc: string, zkAddr: string, role: string[] = []): string[] =>
    ['--zk', zkAddr, '--cluster', cluster, '--shard', 's1', '--dc', dc, '--zk-session-timeout', String(SESSION_MS), ...role, ...(process.env.XDC_DEBUG === '1' ? ['-v'] : [])]
  const master = async (): Promise<{ node: string, epoch: number }> => waitFor(async () => {
    const got = await obs.getData(leaderPath(cluster, 's1'))
    return got === null ? null : decodeLeaderRecord(got.data)
  }, { timeoutMs: WAIT_MS, what: 'a master' })
  const a: ChildServer[] = []
  for (let i = 0; i < 2; i++) { const h = await startMemringProcess(t, args('A', zk.connectString), { env: envOf('A') }); a.push(h); await behindWan(h, 'A') }
  await master()
  const zkRelay = await startRelay(t, zk.port, WAN)
  const b: ChildServer[] = []
  for (let i = 0; i < followers; i++) { const h = await startMemringProcess(t, args('B', zkRelay.address, ['--role', 'follower']), { env: envOf('B') }); b.push(h); await behindWan(h, 'B') }
  return { a, b, relays, zkRelay, envB: envOf('B'), cluster, master, zk: zk.connectString }
}

export const byAddr = (hosts: ChildServer[], node: string): ChildServer => hosts.find((h) => h.address === node)!

/** Every host of `hosts` has the seqno of `m` and a complete copy. */
export function caughtUp (m: ChildServer, hosts: ChildServer[]): Promise<unknown> {
  return waitFor(async () => {
    const ms = await stats(m.port, 'replication')
    for (const h of hosts) {
      const s = await stats(h.port, 'replication')
      if (s.seqno !== ms.seqno || s.sync_in_progress !== '0' || s.master_link !== 'online') return false
    }
    return true
  }, { timeoutMs: WAIT_MS, what: `copies caught up with ${m.address}` })
}

/** A memring-proxy in DC B (through B's WAN map and ZooKeeper relay) with `extra` flags, once it sees `hosts` hosts. */
export async function startProxyInB (t: Test, d: Dcs, hosts: number, extra: string[] = []): Promise<ChildServer> {
  const port = await freePort()
  const proxy = new ChildServer(PROXY_BIN, port, ['-p', String(port), '-l', '127.0.0.1', '--zk', d.zkRelay.address, '--cluster', d.cluster, '--dc', 'B', '--zk-session-timeout', String(SESSION_MS), ...extra], d.envB)
  t.teardown(() => proxy.kill())
  await proxy.start()
  await waitFor(async () => (await stats(port, 'proxy')).topology_hosts === String(hosts), { timeoutMs: WAIT_MS, what: `the proxy sees ${hosts} hosts` })
  return proxy
}
