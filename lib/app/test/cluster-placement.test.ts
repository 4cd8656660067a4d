/**
 * The placement method as a cluster setting (ZooKeeper /config): `memringctl config set`
 * warns how many keys move and changes nothing without --yes; with --yes, a running
 * memring-proxy and a running Node client (both started without --hash) switch to it at
 * their next snapshot, and agree key for key (set through the proxy, read by the client).
 */
import t from 'tap'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createProxy } from '../../proxy/index.js'
import { Client, ZooKeeperShards } from '../../client/index.js'
import { startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'
import { startMemringProcess } from '../../testing/memring-process.js'
import { exchange } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'
import { shardRing } from '../../proxy/router.js'

const CTL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/memringctl.js')
const SESSION_MS = 1500

t.test('memringctl config set: the hash becomes the cluster\'s, for proxies and clients', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  for (const shard of ['0', '1', '2']) {
    await startMemringProcess(t, ['--zk', zk.connectString, '--cluster', 'pl', '--shard', shard, '--zk-session-timeout', String(SESSION_MS)])
  }
  const proxy = createProxy({ port: 0, topology: { kind: 'zk', zk: zk.connectString, cluster: 'pl', sessionTimeoutMs: SESSION_MS } })
  await proxy.start()
  t.teardown(() => proxy.close())
  await waitFor(() => proxy.router.topology.shardIds.length === 3 && [...proxy.router.topology.shards.values()].every((s) => s.primary !== null),
    { timeoutMs: SESSION_MS * 8, what: 'three shards with masters' })
  const shards = await ZooKeeperShards.start({ zk: zk.connectString, cluster: 'pl', sessionTimeoutMs: SESSION_MS })
  t.teardown(() => shards.close())
  const client = new Client({ servers: shards, requestTimeoutMs: 2000 })
  t.teardown(() => client.close())
  const ctl = (...args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [CTL, 'config', ...args, '--zk', zk.connectString, '--cluster', 'pl'], { encoding: 'utf8', timeout: 20000 })

  const show0 = ctl('show')
  t.equal(show0.status, 0, String(show0.stderr))
  t.match(show0.stdout, /no cluster setting/)
  t.equal(proxy.router.placementSource, 'options')

  const dry = ctl('set', '--hash', 'jump')
  t.equal(dry.status, 1, 'without --yes: exit 1')
  t.match(dry.stdout, /WARNING: changing cluster pl's hash from "ketama" to "jump" moves \d+\.\d% of keys to another shard \(measured on 100,000 sample keys over its 3 shards\)/)
  t.match(dry.stdout, /not changed: run again with --yes to apply/)
  t.match(ctl('show').stdout, /no cluster setting/, 'nothing was written')

  const set = ctl('set', '--hash', 'ketama-twemproxy', '--key-hash', 'murmur', '--hash-tag', '{}', '--yes')
  t.equal(set.status, 0, String(set.stderr))
  t.match(set.stdout, /changed: cluster pl now places keys by ketama-twemproxy key-hash murmur hash-tag \{\}/)
  await waitFor(() => proxy.router.placement.method === 'ketama-twemproxy', { timeoutMs: SESSION_MS * 4, what: 'the proxy follows /config' })
  t.same(proxy.router.placement, { method: 'ketama-twemproxy', keyHash: 'murmur', hashTag: '{}' })
  t.equal(proxy.router.placementSource, 'cluster')
  const stats = (await exchange(proxy.port, 'stats proxy\r\n')).toString()
  t.match(stats, /STAT hash ketama-twemproxy\r\nSTAT hash_source cluster\r\n/)
  t.match(stats, /STAT key_hash murmur/)
  t.match(ctl('show').stdout, /hash ketama-twemproxy key-hash murmur hash-tag \{\}/)

  // the client follows too: every key set through the proxy is a hit through the client,
  // and the placement really differs from the default ketama for most keys
  const keys = Array.from({ length: 300 }, (_, i) => i % 3 === 0 ? `{t${i % 11}}:k${i}` : `k:${i}`)
  const stored = (await exchange(proxy.port, keys.map((k) => `set ${k} 0 0 1\r\n1\r\n`).join(''))).toString()
  t.equal(stored.split('STORED\r\n').length - 1, keys.length)
  const proxyShard = (k: string): string => proxy.router.shard(proxy.router.shardIndexOf(Buffer.from(k), 0, Buffer.byteLength(k))).id
  await waitFor(() => keys.every((k) => client.route(k).shard === proxyShard(k)), { timeoutMs: SESSION_MS * 4, what: 'the client follows /config' })
  let hits = 0
  for (const k of keys) if ((await client.get(k)) !== null) hits++
  t.equal(hits, keys.length, 'the client reads every key where the proxy wrote it')
  const ketama = shardRing(proxy.router.topology.shardIds.map((id) => proxy.router.topology.shards.get(id)!))!
  const differ = keys.filter((k) => ketama.serverOf(k) !== proxy.router.shardIndexOf(Buffer.from(k), 0, Buffer.byteLength(k))).length
  t.ok(differ > 50, `${differ} of ${keys.length} keys are not where default ketama would put them`)

  const bad = ctl('set', '--hash', 'jump', '--hash-tag', '{}', '--yes')
  t.equal(bad.status, 2)
  t.match(bad.stderr, /--hash-tag: jump takes no hash tag/)
})
