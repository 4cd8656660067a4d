// lib/wan-map.ts
/**
 * TEST-ONLY: where an outgoing connection to HOST:PORT really goes. Always HOST:PORT
 * itself, unless the test hooks are on (MEMRING_TEST_HOOKS=1, lib/app/test-hooks.ts) and
 * MEMRING_TEST_WAN_MAP names a JSON file {"HOST:PORT": "HOST:PORT", ...}: then a mapped
 * address is dialled at its mapped address instead.
 *
 * Why: the cross-DC tests run two "datacenters" on one loopback, and the links between
 * them (a follower's stream from the master, a proxy's connection to the other DC's
 * hosts) must cross a WAN relay (lib/testing/tcp-relay.ts: delay, jitter, bandwidth cap,
 * freeze, cut) while the hosts of one DC reach each other directly, as they would. The
 * kernels here have no netem, and ZooKeeper holds one address per host, so a process of
 * DC B is told the relay's address for each host of DC A here. The file is re-read when
 * it changes (a test adds relays for hosts it starts later). Production never sets it.
 */
import { readFileSync, statSync } from 'node:fs'

let cache: { file: string, mtimeMs: number, size: number, map: Map<string, { host: string, port: number }> } | null = null

export function wanRoute (host: string, port: number, env: NodeJS.ProcessEnv = process.env): { host: string, port: number } {
  const file = env.MEMRING_TEST_WAN_MAP
  if (file === undefined || file === '' || env.MEMRING_TEST_HOOKS !== '1') return { host, port }
  try {
    const st = statSync(file)
    if (cache === null || cache.file !== file || cache.mtimeMs !== st.mtimeMs || cache.size !== st.size) {
      const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
      const map = new Map<string, { host: string, port: number }>()
      for (const [from, to] of Object.entries(raw)) {
        if (typeof to !== 'string') continue
        const i = to.lastIndexOf(':')
        map.set(from, { host: to.slice(0, i), port: Number(to.slice(i + 1)) })
      }
      cache = { file, mtimeMs: st.mtimeMs, size: st.size, map }
    }
    return cache.map.get(`${host}:${port}`) ?? { host, port }
  } catch {
    return { host, port }
  }
}
