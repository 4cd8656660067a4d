// memring-proxy's flags (pure) and the built binary: usage errors exit 2 with a clear
// message, an unreachable ZooKeeper exits 1, and a --servers proxy serves and stops
// on SIGTERM.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { proxyOptions } from '../proxy-options.js'
import { ConfigError } from '../config.js'
import { ChildServer, PROXY_BIN } from '../../testing/memring-process.js'
import { freePort } from '../../testing/zookeeper.js'
import { startServer } from '../../testing/servers.js'
import { exchange } from '../../testing/raw-client.js'

t.test('flags: exactly one topology source, validated', async (t) => {
  t.same(proxyOptions({ servers: 'a:1,b,c:3:5' }).topology, { kind: 'static', servers: [{ host: 'a', port: 1, weight: 1 }, { host: 'b', port: 11211, weight: 1 }, { host: 'c', port: 3, weight: 5 }] })
  t.same(proxyOptions({ servers: 'a:1' }).placement, { method: 'ketama', keyHash: undefined, hashTag: undefined }, 'default placement: libmemcached ketama')
  t.same(proxyOptions({ servers: 'a:1', hash: 'ketama-twemproxy', keyHash: 'murmur', hashTag: '{}' }).placement, { method: 'ketama-twemproxy', keyHash: 'murmur', hashTag: '{}' })
  t.equal(proxyOptions({ servers: 'a:1' }).boundedLoad, 0, 'bounded loads off by default')
  t.equal(proxyOptions({ servers: 'a:1', boundedLoad: '1.25' }).boundedLoad, 1.25)
  t.same(proxyOptions({ servers: 'a:1' }).warmUp, { windowMs: 300000, hitRatio: 0.98 }, 'warm-up: 5 min window, ends early at 98%')
  t.same(proxyOptions({ servers: 'a:1', warmupWindow: '0', warmupHitRatio: '0' }).warmUp, { windowMs: 0, hitRatio: 0 })
  t.same(proxyOptions({ servers: 'a:1', hash: 'jump' }).placement, { method: 'jump', keyHash: undefined, hashTag: undefined })
  t.match(proxyOptions({ zk: '127.0.0.1:2181', cluster: 'c', dc: 'east' }), {
    port: 11211, listen: '127.0.0.1', topology: { kind: 'zk', zk: '127.0.0.1:2181', cluster: 'c', dc: 'east', sessionTimeoutMs: 10000 },
    backend: { connsPerHost: 1, timeoutMs: 1000, tkoThreshold: 3 }, readFrom: 'any',
  })
  t.equal(proxyOptions({ servers: 'a:1', readFrom: 'master' }).readFrom, 'master')
  const bad: Array<[Parameters<typeof proxyOptions>[0], RegExp]> = [
    [{}, /either --zk HOSTS --cluster NAME or --servers/],
    [{ zk: 'a:1', servers: 'b:2' }, /exactly one/],
    [{ zk: 'a:1' }, /--zk needs --cluster/],
    [{ zk: 'nope', cluster: 'c' }, /"nope" is not HOST:PORT/],
    [{ servers: 'a:1', cluster: 'c' }, /go with --zk/],
    [{ servers: 'a:99999' }, /--servers: 'a:99999'/],
    [{ servers: 'a:1', timeout: 'x' }, /--timeout: 'x'/],
    [{ servers: 'a:1', port: '-1' }, /-p: '-1'/],
    [{ servers: 'a:1', readFrom: 'replica' }, /--read-from: 'replica' is not 'any' or 'master'/],
    [{ servers: 'a:1', boundedLoad: '1' }, /--bounded-load: '1' is not a number in \(1, 100\]/],
    [{ servers: 'a:1', boundedLoad: 'x' }, /--bounded-load: 'x'/],
    [{ servers: 'a:1', boundedLoad: '1.25', hash: 'jump' }, /--bounded-load: bounded loads walk a ketama continuum; --hash jump has none/],
    [{ servers: 'a:1', warmupWindow: '-5' }, /--warmup-window: '-5' is not an integer in \[0, 86400000\]/],
    [{ servers: 'a:1', warmupHitRatio: '1.5' }, /--warmup-hit-ratio: '1.5' is not a number in \[0, 1\]/],
    [{ servers: 'a:1:0' }, /--servers: 'a:1:0' is not HOST\[:PORT\[:WEIGHT\]\]/],
    [{ servers: 'a:1,a:1:2' }, /--servers: a server is listed twice/],
    [{ servers: 'a:1', hash: 'rendezvous' }, /--hash: 'rendezvous' is not one of ketama, ketama-twemproxy, ketama-unweighted, jump, ch3/],
    [{ servers: 'a:1', hash: 'ketama-twemproxy', keyHash: 'hsieh' }, /--key-hash: 'hsieh' is not one of md5, fnv1a_64/],
    [{ servers: 'a:1', keyHash: 'murmur' }, /--key-hash: a key hash applies to ketama-twemproxy and ketama-unweighted; ketama hashes keys with MD5/],
    [{ servers: 'a:1', hash: 'jump', hashTag: '{}' }, /--hash-tag: jump takes no hash tag/],
    [{ servers: 'a:1', hash: 'ketama-twemproxy', hashTag: '{' }, /--hash-tag: hash tag '\{' must be two characters/],
  ]
  for (const [raw, msg] of bad) {
    const err = t.throws(() => proxyOptions(raw), { message: msg }, JSON.stringify(raw))
    t.ok(err instanceof ConfigError)
  }
})

t.test('the memring-proxy binary', async (t) => {
  const usage = spawnSync(process.execPath, [PROXY_BIN, '-p', '0'], { encoding: 'utf8', timeout: 10000 })
  t.equal(usage.status, 2)
  t.match(usage.stderr, /memring-proxy: give either --zk/)
  const help = spawnSync(process.execPath, [PROXY_BIN, '--help'], { encoding: 'utf8', timeout: 10000 })
  t.equal(help.status, 0)
  for (const f of ['--zk', '--cluster', '--dc', '--servers', '--conns-per-host', '--timeout', '--tko-threshold', '--read-from', '--hash', '--key-hash', '--hash-tag', '--twemproxy-config', '--pool', '--bounded-load', '--warmup-window', '--warmup-hit-ratio']) t.match(help.stdout, f)
  t.match(help.stdout, /memcached text,\s+meta\s+and\s+binary\s+protocols/, 'the help names all three protocols')
  const badHash = spawnSync(process.execPath, [PROXY_BIN, '-p', '0', '--servers', 'a:1', '--hash', 'maglev'], { encoding: 'utf8', timeout: 10000 })
  t.equal(badHash.status, 2, 'an unknown --hash exits 2')
  t.match(badHash.stderr, /argument 'maglev' is invalid. Allowed choices are ketama, ketama-twemproxy, ketama-unweighted, jump, ch3/)
  const dead = await freePort()
  const down = spawnSync(process.execPath, [PROXY_BIN, '-p', '0', '--zk', `127.0.0.1:${dead}`, '--cluster', 'c', '--zk-session-timeout', '1000'], { encoding: 'utf8', timeout: 10000 })
  t.equal(down.status, 1)
  t.match(down.stderr, /cannot read the cluster topology: no ZooKeeper server answered/)

  const backend = await startServer(t)
  const port = await freePort()
  const proxy = new ChildServer(PROXY_BIN, port, ['-p', String(port), '--servers', `127.0.0.1:${backend.port}`])
  t.teardown(() => proxy.kill())
  await proxy.start()
  t.equal((await exchange(port, 'set k 0 0 1\r\nv\r\nget k\r\n')).toString(), 'STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n')
  await proxy.kill('SIGTERM')
  t.equal(await proxy.exited(), 0, 'exit code 0 on SIGTERM')
})

t.test('auth and encryption flags', async (t) => {
  t.same(proxyOptions({ servers: 'a:1', authFile: '/f' }).auth, { sasl: false, saslPwdb: '', authFile: '/f' })
  t.same(proxyOptions({ servers: 'a:1', enableSasl: true, saslPwdb: '/p' }).auth, { sasl: true, saslPwdb: '/p', authFile: '' })
  t.equal(proxyOptions({ servers: 'a:1' }).auth, undefined, 'no client auth by default')
  t.same(proxyOptions({ servers: 'a:1', backendUsername: 'u', backendPassword: 'p' }).backend?.auth, { username: 'u', password: 'p' })
  t.equal(proxyOptions({ servers: 'a:1' }).backend?.auth, null)
  t.equal(proxyOptions({ servers: 'a:1', encryptValues: '/ring' }).encryptValues, '/ring')
  for (const [o, re] of [
    [{ backendUsername: 'u' }, /go together/],
    [{ backendUsername: 'u', backendPassword: 'p w' }, /--backend-password: no spaces/],
    [{ saslPwdb: '/p' }, /--sasl-pwdb goes with -S/],
    [{ encryptValues: ' ' }, /needs a key ring file/],
  ] as const) t.throws(() => proxyOptions({ servers: 'a:1', ...o }), re)

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxy-flags-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  fs.writeFileSync(path.join(dir, 'auth'), 'no colon here\n')
  fs.writeFileSync(path.join(dir, 'ring'), '1 tooshort\n')
  const malformed = spawnSync(process.execPath, [PROXY_BIN, '-p', '0', '--servers', '127.0.0.1:1', '-Y', path.join(dir, 'auth')], { encoding: 'utf8', timeout: 10000 })
  t.equal(malformed.status, 1, 'a malformed -Y file: exit 1, as memring')
  t.match(malformed.stderr, /has a malformed entry/)
  const ring = spawnSync(process.execPath, [PROXY_BIN, '-p', '0', '--servers', '127.0.0.1:1', '--encrypt-values', path.join(dir, 'ring')], { encoding: 'utf8', timeout: 10000 })
  t.equal(ring.status, 1, 'a malformed key ring: exit 1')
  t.match(ring.stderr, /line 1: expected '<id> <32-byte key/)
  const help = spawnSync(process.execPath, [PROXY_BIN, '--help'], { encoding: 'utf8', timeout: 10000 })
  for (const f of ['--enable-sasl', '--sasl-pwdb', '--auth-file', '--backend-username', '--backend-password', '--encrypt-values']) t.match(help.stdout, f)
})
