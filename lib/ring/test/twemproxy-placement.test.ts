/**
 * Placement identical to twemproxy's `distribution: ketama`, checked against the real
 * thing: nutcracker (Debian package) on loopback in front of real memcached instances.
 * Keys are set through nutcracker, then read back from each backend directly; the
 * backend holding a key is twemproxy's answer. One pool per configuration (key hash,
 * weights, names, hash tag, a backend on port 11211), keys unique per pool.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { twemproxyKetama, type KeyHash, type TwemproxyServer } from '../index.js'
import { makeKeys, prng } from './keys.js'
import { poolYaml, startNutcracker, startPlacementBackends, freePort, RawText } from './procs.js'

const haveNutcracker = spawnSync('nutcracker', ['--version']).status === 0
const haveMemcached = spawnSync('memcached', ['--version']).status === 0
const skip = !haveNutcracker || !haveMemcached ? 'nutcracker and memcached are needed (scripts/setup.sh installs them)' : false

interface Pool {
  name: string
  hash?: KeyHash
  hashTag?: string
  /** backend index, weight, optional name */
  servers: Array<[number, number, string?]>
}

const rnd = prng(11)
const POOLS: Pool[] = [
  { name: 'default_hash', servers: [[0, 1], [1, 1], [2, 1], [3, 1], [12, 1]] },
  { name: 'md5', hash: 'md5', servers: [[12, 1], [4, 1], [5, 1], [6, 1], [7, 1]] },
  { name: 'named', hash: 'fnv1a_64', servers: [[0, 1, 'alpha'], [1, 1, 'beta'], [2, 1, 'gamma'], [3, 1, 'delta']] },
  { name: 'weighted_murmur', hash: 'murmur', servers: [[4, 1], [5, 2], [6, 3], [7, 5], [8, 8]] },
  { name: 'tags_oaat', hash: 'one_at_a_time', hashTag: '{}', servers: [[8, 1], [9, 1], [10, 1], [11, 1]] },
  { name: 'fnv1_64', hash: 'fnv1_64', servers: [[0, 2], [9, 1], [12, 3]] },
  { name: 'fnv1a_32', hash: 'fnv1a_32', hashTag: '{}', servers: [[1, 1], [10, 1], [11, 4, 'eleven']] },
  { name: 'fnv1_32', hash: 'fnv1_32', servers: [[2, 1], [3, 1], [4, 1]] },
  { name: 'crc32a', hash: 'crc32a', servers: [[5, 1], [6, 1], [7, 1], [8, 1]] },
  { name: 'big_md5', hash: 'md5', servers: Array.from({ length: 13 }, (_, i) => [i, 1 + Math.floor(rnd() * 6)] as [number, number]) },
  { name: 'tiny_weight', hash: 'md5', servers: [[9, 1], [10, 100]] },
]
const KEYS = 10000

t.test('twemproxy ketama placement', { skip }, async (t) => {
  // 12 backends on 127.0.0.1 and one on port 11211 of another loopback address
  const { backends, host11211 } = await startPlacementBackends(t)
  t.not(host11211, '', 'found a loopback address with port 11211 free')

  const listen = await Promise.all(POOLS.map(async () => await freePort()))
  const yaml = poolYaml(POOLS, listen, backends, ['auto_eject_hosts: false', 'timeout: 5000'])
  await startNutcracker(t, yaml, listen)

  const direct = await Promise.all(backends.map(async (b) => await RawText.open(t, b.host, b.port)))
  let compared = 0
  for (let pi = 0; pi < POOLS.length; pi++) {
    const pool = POOLS[pi]
    const keys = makeKeys(KEYS, 1000 + pi, `${pool.name}/`)
    const proxy = await RawText.open(t, '127.0.0.1', listen[pi])
    const replies = await proxy.setAll(keys)
    t.equal(replies.filter((r) => r === 'STORED').length, keys.length, `${pool.name}: every set through nutcracker was STORED`)

    const where = new Map<string, number[]>()
    for (let si = 0; si < pool.servers.length; si++) {
      for (const k of await direct[pool.servers[si][0]].present(keys)) {
        const l = where.get(k)
        if (l === undefined) where.set(k, [si])
        else l.push(si)
      }
    }
    const servers: TwemproxyServer[] = pool.servers.map(([b, w, name]) => ({ host: backends[b].host, port: backends[b].port, weight: w, name }))
    const ring = twemproxyKetama(servers, { hash: pool.hash, hashTag: pool.hashTag })
    let missing = 0
    let diff = 0
    let first = ''
    for (const k of keys) {
      const at = where.get(k)
      if (at === undefined || at.length !== 1) { missing++; continue }
      const ours = ring.serverOf(k)
      if (ours !== at[0] && diff++ === 0) first = `, first difference ${JSON.stringify(k)}: ours ${ours}, twemproxy ${at[0]}`
    }
    compared += keys.length - missing
    t.equal(missing, 0, `${pool.name}: each key found on exactly one backend`)
    t.equal(diff, 0, `${pool.name}: all ${keys.length} keys on the same server as twemproxy${first}`)
    const used = new Set([...where.values()].map((l) => l[0]))
    const withPoints = [...ring.continuum.pointCounts].filter((p) => p > 0).length
    t.equal(used.size, withPoints, `${pool.name}: keys landed on all ${withPoints} servers that have points`)
  }
  t.comment(`twemproxy placement: ${compared} keys compared over ${POOLS.length} pools`)
})
