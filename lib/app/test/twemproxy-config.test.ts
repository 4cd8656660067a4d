/**
 * memring-proxy --twemproxy-config: the file is read as nutcracker reads it, the options
 * it cannot honour are refused by name (exit 2), and the placement is twemproxy's.
 *
 * The placement test is a drop-in swap on the same file, the same ports and the same
 * memcached servers: keys set through the real nutcracker (Debian package) are all hits
 * through memring-proxy afterwards, keys set through memring-proxy are all hits through
 * nutcracker afterwards, and every key is on exactly one backend. One pool per key hash
 * we implement, plus weights, server names, hash tags and a backend on port 11211.
 */
import t from 'tap'
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseTwemproxyConfig } from '../twemproxy-config.js'
import { proxyConfigs } from '../proxy-options.js'
import { ConfigError } from '../config.js'
import { ChildServer, PROXY_BIN } from '../../testing/memring-process.js'
import { makeKeys, prng } from '../../ring/test/keys.js'
import { poolYaml, startPlacementBackends, freePort, type TestPool, canConnect, waitFor, RawText } from '../../ring/test/procs.js'

const haveNutcracker = spawnSync('nutcracker', ['--version']).status === 0
const haveMemcached = spawnSync('memcached', ['--version']).status === 0
const skip = !haveNutcracker || !haveMemcached ? 'nutcracker and memcached are needed (scripts/setup.sh installs them)' : false

const POOL = (extra: string): string => `alpha:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\n${extra}`

t.test('a twemproxy config maps to proxy options, pool by pool', async (t) => {
  const text = `# a comment
alpha:
  listen: 127.0.0.1:22121
  hash: murmur
  hash_tag: "{}"
  distribution: ketama
  timeout: 400
  backlog: 1024
  client_connections: 0
  server_connections: 2
  server_retry_timeout: 2000
  server_failure_limit: 5
  auto_eject_hosts: false
  preconnect: false
  redis: false
  servers:
   - 127.0.0.1:11212:1 one
   - "127.0.0.1:11213:3 two"
beta:
  listen: "0.0.0.0:22122"
  servers: [ 10.0.0.1:11211:1, 10.0.0.2:11211:1 ]
`
  const pools = parseTwemproxyConfig(text)
  t.same(pools.map((p) => p.name), ['alpha', 'beta'])
  t.match(pools[0], {
    listenHost: '127.0.0.1', listenPort: 22121, keyHash: 'murmur', hashTag: '{}', timeoutMs: 400, backlog: 1024,
    clientConnections: 0, serverConnections: 2, serverRetryTimeoutMs: 2000, serverFailureLimit: 5,
    servers: [{ host: '127.0.0.1', port: 11212, weight: 1, name: 'one' }, { host: '127.0.0.1', port: 11213, weight: 3, name: 'two' }],
  })
  t.match(pools[1], { listenHost: '0.0.0.0', listenPort: 22122, keyHash: 'fnv1a_64', hashTag: undefined })

  const all = proxyConfigs({ twemproxyConfig: 'x.yml' }, () => text)
  t.equal(all.length, 2, 'every pool is served without --pool')
  t.match(all[0], {
    pool: 'alpha', port: 22121, listen: '127.0.0.1', backlog: 1024, maxConns: 1 << 20,
    placement: { method: 'ketama-twemproxy', keyHash: 'murmur', hashTag: '{}' },
    backend: { timeoutMs: 400, tkoThreshold: 5, connsPerHost: 2, probeMs: 100, probeMaxMs: 2000 },
    topology: { kind: 'static', servers: [{ name: 'one' }, { name: 'two', weight: 3 }] },
  })
  const one = proxyConfigs({ twemproxyConfig: 'x.yml', pool: 'beta', port: '0' }, () => text)
  t.match(one, [{ pool: 'beta', port: 0, listen: '0.0.0.0', placement: { method: 'ketama-twemproxy', keyHash: 'fnv1a_64' } }])
})

t.test('what memring-proxy cannot honour is an error naming it', async (t) => {
  const bad: Array<[string, RegExp]> = [
    [POOL('  auto_eject_hosts: true\n'), /pool 'alpha': auto_eject_hosts: true is not supported: memring-proxy never moves keys/],
    [POOL('  distribution: modula\n'), /pool 'alpha': distribution: 'modula' is not supported/],
    [POOL('  distribution: random\n'), /pool 'alpha': distribution: 'random' is not supported/],
    [POOL('  hash: hsieh\n'), /pool 'alpha': hash: 'hsieh' is not supported by memring-proxy/],
    [POOL('  hash: crc16\n'), /hash: 'crc16' is not supported/],
    [POOL('  hash: sha1\n'), /hash: unknown hash 'sha1'/],
    [POOL('  redis: true\n'), /redis: true is not supported: memring-proxy speaks memcached only/],
    [POOL('  redis_auth: secret\n'), /redis_auth: not supported/],
    [POOL('  preconnect: true\n'), /preconnect: true is not supported/],
    [POOL('  tcpkeepalive: true\n'), /tcpkeepalive: true is not supported/],
    [POOL('  hash_tag: "{"\n'), /hash_tag: '\{' must be exactly two characters/],
    [POOL('  timeout: soon\n'), /timeout: 'soon' is not an integer/],
    [POOL('  dyn_seeds: []\n'), /dyn_seeds: unknown directive/],
    [POOL('   - 127.0.0.1:11211:1\n'), /'127.0.0.1:11211' is listed twice/],
    [POOL('   - /tmp/mc.sock:1\n'), /servers\[1\]: '\/tmp\/mc.sock:1': unix-socket servers are not supported/],
    [POOL('   - 127.0.0.1:11300\n'), /servers\[1\]: '127.0.0.1:11300' is not "host:port:weight \[name\]"/],
    ['alpha:\n  listen: /tmp/nc.sock\n  servers:\n   - 127.0.0.1:11211:1\n', /listen: '\/tmp\/nc.sock': unix sockets are not supported/],
    ['alpha:\n  servers:\n   - 127.0.0.1:11211:1\n', /listen: missing/],
    ['alpha:\n  listen: 127.0.0.1:1\n', /servers: missing or empty/],
    ['alpha: [1, 2]\n', /pool 'alpha' is not a mapping/],
    ['alpha:\n  listen: a:1\n  listen: a:2\n', /not valid YAML/],
    ['', /expected a mapping of pool names to pools/],
    [POOL('') + 'beta:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:11211:1\n', /pool 'beta': listen: 127.0.0.1:22121 is used by another pool/],
  ]
  for (const [text, msg] of bad) {
    const err = t.throws(() => parseTwemproxyConfig(text), { message: msg }, msg.source)
    t.ok(err instanceof ConfigError)
  }
  const flags: Array<[Parameters<typeof proxyConfigs>[0], RegExp]> = [
    [{ twemproxyConfig: 'f', servers: 'a:1' }, /--servers cannot be combined with --twemproxy-config/],
    [{ twemproxyConfig: 'f', hash: 'jump' }, /--hash cannot be combined with --twemproxy-config/],
    [{ twemproxyConfig: 'f', pool: 'nope' }, /--pool: no pool 'nope' in the twemproxy config \(pools: alpha, beta\)/],
    [{ twemproxyConfig: 'f', port: '1' }, /-p\/-l override one pool's listen address; the file has 2 pools: add --pool NAME/],
    [{ servers: 'a:1', pool: 'x' }, /--pool goes with --twemproxy-config/],
  ]
  const two = POOL('') + 'beta:\n  listen: 127.0.0.1:22122\n  servers:\n   - 127.0.0.1:11211:1\n'
  for (const [raw, msg] of flags) t.throws(() => proxyConfigs(raw, () => two), { message: msg }, msg.source)
  t.throws(() => proxyConfigs({ twemproxyConfig: '/nonexistent/nutcracker.yml' }, () => { throw new Error('ENOENT: no such file') }),
    { message: /--twemproxy-config: cannot read \/nonexistent\/nutcracker.yml: ENOENT/ })

  // the binary: exit 2 and the message, before anything listens
  const dir = mkdtempSync(join(tmpdir(), 'memring-twem-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const conf = join(dir, 'nutcracker.yml')
  writeFileSync(conf, POOL('  auto_eject_hosts: true\n'))
  const r = spawnSync(process.execPath, [PROXY_BIN, '--twemproxy-config', conf], { encoding: 'utf8', timeout: 10000 })
  t.equal(r.status, 2, 'exit code 2')
  t.match(r.stderr, /^memring-proxy: twemproxy config: pool 'alpha': auto_eject_hosts: true is not supported/)
  const missing = spawnSync(process.execPath, [PROXY_BIN, '--twemproxy-config', join(dir, 'none.yml')], { encoding: 'utf8', timeout: 10000 })
  t.equal(missing.status, 2)
  t.match(missing.stderr, /--twemproxy-config: cannot read .*none.yml/)
})

type Pool = TestPool
const rnd = prng(21)
const POOLS: Pool[] = [
  { name: 'default_hash', servers: [[0, 1], [1, 1], [2, 1], [3, 1], [12, 1]] },
  { name: 'md5', hash: 'md5', servers: [[12, 1], [4, 1], [5, 1], [6, 1], [7, 1]] },
  { name: 'named', hash: 'fnv1a_64', servers: [[0, 1, 'alpha'], [1, 1, 'beta'], [2, 1, 'gamma'], [3, 1, 'delta']] },
  { name: 'weighted_murmur', hash: 'murmur', servers: [[4, 1], [5, 2], [6, 3], [7, 5], [8, 8]] },
  { name: 'tags_oaat', hash: 'one_at_a_time', hashTag: '{}', servers: [[8, 1], [9, 1], [10, 1], [11, 1]] },
  { name: 'fnv1_64', hash: 'fnv1_64', hashTag: '[]', servers: [[0, 2], [9, 1], [12, 3]] },
  { name: 'fnv1a_32', hash: 'fnv1a_32', hashTag: '{}', servers: [[1, 1], [10, 1], [11, 4, 'eleven']] },
  { name: 'fnv1_32', hash: 'fnv1_32', servers: [[2, 1], [3, 1], [4, 1]] },
  { name: 'crc32a', hash: 'crc32a', servers: [[5, 1], [6, 1], [7, 1], [8, 1]] },
  {
    name: 'options', hash: 'md5',
    extra: ['timeout: 2000', 'backlog: 128', 'client_connections: 100', 'server_connections: 2', 'server_retry_timeout: 3000',
      'server_failure_limit: 3', 'auto_eject_hosts: false', 'preconnect: false', 'redis: false'],
    servers: Array.from({ length: 13 }, (_, i) => [i, 1 + Math.floor(rnd() * 6)] as [number, number]),
  },
  { name: 'tiny_weight', hash: 'md5', servers: [[9, 1], [10, 100]] },
]
const KEYS = 5000

interface Tap { teardown (fn: () => unknown): void }

/** nutcracker on this config file, until stopped; resolves once every pool accepts. */
async function nutcracker (t: Tap, conf: string, ports: number[]): Promise<ChildProcess> {
  const stats = await freePort()
  const child = spawn('nutcracker', ['-c', conf, '-s', String(stats), '-a', '127.0.0.1', '-o', conf + '.log'], { stdio: 'ignore' })
  const gone = new Promise((resolve) => child.once('exit', resolve))
  t.teardown(async () => { if (child.exitCode === null && child.signalCode === null) { child.kill('SIGTERM'); await gone } })
  await waitFor('nutcracker pools', async () => (await Promise.all(ports.map(async (p) => await canConnect('127.0.0.1', p)))).every(Boolean), 10000)
  return child
}

/**
 * The keys a proxy finds; misses are asked once more. A proxy answers a miss for a read
 * whose backend timed out (a first request on a loaded machine); a key on the wrong
 * server misses both times, so the placement check stays exact.
 */
async function presentTwice (c: RawText, keys: string[]): Promise<Set<string>> {
  const found = await c.present(keys)
  const again = keys.filter((k) => !found.has(k))
  if (again.length > 0) for (const k of await c.present(again)) found.add(k)
  return found
}

async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const gone = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  await gone
}

t.test('drop-in for nutcracker: same file, same ports, same servers, every key where twemproxy put it', { skip }, async (t) => {
  const { backends, host11211 } = await startPlacementBackends(t)
  t.not(host11211, '', 'found a loopback address with port 11211 free')

  const ports = await Promise.all(POOLS.map(async () => await freePort()))
  const yaml = poolYaml(POOLS, ports, backends)
  const dir = mkdtempSync(join(tmpdir(), 'memring-twem-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const conf = join(dir, 'nutcracker.yml')
  writeFileSync(conf, yaml)

  // more tagged keys ({} and [] tags), so hash tags group keys for real; keys stay <= 250 bytes
  const tag = (k: string, t: string): string => Buffer.byteLength(k) + t.length <= 250 ? t + k : k
  const keysA = POOLS.map((p, i) => makeKeys(KEYS, 2100 + i, `${p.name}/a/`).map((k, j) => j % 4 === 0 ? tag(k, `{${j % 97}}`) : j % 4 === 1 ? tag(k, `[${j % 31}]`) : k))
  const keysB = POOLS.map((p, i) => makeKeys(KEYS, 3100 + i, `${p.name}/b/`).map((k, j) => j % 4 === 0 ? tag(k, `x{${j % 89}}`) : j % 4 === 1 ? tag(k, `[${j % 29}]`) : k))

  // 1. nutcracker places set A
  let nc = await nutcracker(t, conf, ports)
  for (let i = 0; i < POOLS.length; i++) {
    const c = await RawText.open(t, '127.0.0.1', ports[i]!)
    const r = await c.setAll(keysA[i]!)
    t.equal(r.filter((x) => x === 'STORED').length, KEYS, `${POOLS[i]!.name}: every set through nutcracker was STORED`)
  }
  await stop(nc)

  // 2. memring-proxy on the same file and ports: set A is all hits; it places set B
  const proxy = new ChildServer(PROXY_BIN, ports[0]!, ['--twemproxy-config', conf])
  t.teardown(() => proxy.kill())
  await proxy.start()
  await waitFor('memring-proxy pools', async () => (await Promise.all(ports.map(async (p) => await canConnect('127.0.0.1', p)))).every(Boolean), 10000)
  let compared = 0
  for (let i = 0; i < POOLS.length; i++) {
    const c = await RawText.open(t, '127.0.0.1', ports[i]!)
    const hits = await presentTwice(c, keysA[i]!)
    t.equal(hits.size, KEYS, `${POOLS[i]!.name}: all ${KEYS} keys nutcracker placed are hits through memring-proxy`)
    const r = await c.setAll(keysB[i]!)
    t.equal(r.filter((x) => x === 'STORED').length, KEYS, `${POOLS[i]!.name}: every set through memring-proxy was STORED`)
    compared += hits.size
  }
  await proxy.kill('SIGTERM')
  t.equal(await proxy.exited(), 0, 'memring-proxy stops cleanly, every pool')

  // 3. nutcracker again: set B is all hits
  nc = await nutcracker(t, conf, ports)
  for (let i = 0; i < POOLS.length; i++) {
    const c = await RawText.open(t, '127.0.0.1', ports[i]!)
    const hits = await presentTwice(c, keysB[i]!)
    t.equal(hits.size, KEYS, `${POOLS[i]!.name}: all ${KEYS} keys memring-proxy placed are hits through nutcracker`)
    compared += hits.size
  }
  await stop(nc)

  // 4. each key is on exactly one backend of its pool (a hit is not a copy elsewhere)
  const direct = await Promise.all(backends.map(async (b) => await RawText.open(t, b.host, b.port)))
  for (let i = 0; i < POOLS.length; i++) {
    const count = new Map<string, number>()
    const used = new Set<number>()
    for (const [b] of POOLS[i]!.servers) {
      const found = await direct[b]!.present([...keysA[i]!, ...keysB[i]!])
      if (found.size > 0) used.add(b)
      for (const k of found) count.set(k, (count.get(k) ?? 0) + 1)
    }
    t.ok(count.size === 2 * KEYS && [...count.values()].every((n) => n === 1), `${POOLS[i]!.name}: ${2 * KEYS} keys, each on exactly one backend`)
    if (POOLS[i]!.name !== 'tiny_weight') t.equal(used.size, POOLS[i]!.servers.length, `${POOLS[i]!.name}: keys on all ${used.size} servers`)
  }
  t.comment(`twemproxy drop-in: ${compared} keys compared over ${POOLS.length} pools, both directions`)
})
