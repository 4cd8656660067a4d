/**
 * memring-proxy --mcrouter-config: a PoolRoute with Ch3 hashing is served with ch3
 * placement in the pool's order; what is not served is refused by name (exit 2; route
 * trees: mcrouter-routes.test.ts).
 * mcrouter itself is not installable here: the placement is checked against lib/ring's
 * furc (test/furc.test.ts checks that against the published algorithm), end to end.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseMcrouterConfig, stripJsonComments } from '../mcrouter-config.js'
import { proxyConfigs } from '../proxy-options.js'
import { ChildServer, PROXY_BIN } from '../../testing/memring-process.js'
import { freePort } from '../../testing/zookeeper.js'
import { startServer } from '../../testing/servers.js'
import { exchange } from '../../testing/raw-client.js'
import { Ch3Router } from '../../ring/index.js'

t.test('what is read, and what is refused by name', async (t) => {
  const cfg = `{
    // mcrouter allows comments
    "pools": { "A": { "servers": [ "10.0.0.1:11211", "10.0.0.2:11211:ascii" /* two */ ] } },
    "route": "PoolRoute|A"
  }`
  t.same(parseMcrouterConfig(cfg), { pool: 'A', servers: [{ host: '10.0.0.1', port: 11211 }, { host: '10.0.0.2', port: 11211 }], tree: null })
  t.same(parseMcrouterConfig('{"route": {"type": "PoolRoute", "pool": {"name": "B", "servers": ["h:1"]}, "hash": {"hash_func": "Ch3"}}}'), { pool: 'B', servers: [{ host: 'h', port: 1 }], tree: null })
  t.equal(stripJsonComments('{"a": "x//y", /* c */ "b": 1} // end'), '{"a": "x//y",  "b": 1} ')
  const pools = '"pools": {"A": {"servers": ["h:1"]}, "B": {"servers": ["h:2"]}}'
  const bad: Array<[string, RegExp]> = [
    [`{${pools}, "route": {"type": "AllAsyncRoute", "children": ["PoolRoute|A", "PoolRoute|B"]}}`, /route type AllAsyncRoute: writes that do not wait for their replies are not supported/],
    [`{${pools}, "route": "PrefixSelectorRoute|A"}`, /route type PrefixSelectorRoute: routing by key prefix is not supported/],
    [`{${pools}, "route": {"type": "PoolRoute", "pool": "A", "hash": "WeightedCh3"}}`, /hash_func WeightedCh3: not supported: memring-proxy reproduces Ch3 only/],
    [`{${pools}, "route": {"type": "PoolRoute", "pool": "A", "hash": {"hash_func": "Ch3", "salt": "x"}}}`, /hash option 'salt': not supported/],
    [`{${pools}, "route": {"type": "PoolRoute", "pool": "A", "shadows": []}}`, /PoolRoute option 'shadows': not supported/],
    [`{${pools}, "routes": []}`, /routes: must be a non-empty list/],
    [`{${pools}, "route": "PoolRoute|C"}`, /PoolRoute\|C: no pool 'C'/],
    ['{"pools": {"A": {"servers": ["h:1:caret"]}}, "route": "PoolRoute|A"}', /protocol 'caret' is not supported/],
    ['{"pools": {"A": {"servers": ["h"]}}, "route": "PoolRoute|A"}', /servers\[0\]: 'h' is not "host:port"/],
    ['{"pools": {"A": {"servers": []}}, "route": "PoolRoute|A"}', /"servers" is missing or empty/],
    ['{"pools": {}, "route": "PoolRoute|A", ', /not valid JSON/],
  ]
  for (const [text, msg] of bad) t.throws(() => parseMcrouterConfig(text), { message: msg }, msg.source)
  t.throws(() => proxyConfigs({ mcrouterConfig: 'f' }, () => `{${pools}, "route": "PoolRoute|A"}`), { message: /--mcrouter-config needs -p PORT/ })
  t.throws(() => proxyConfigs({ mcrouterConfig: 'f', port: '1', hash: 'ketama' }, () => ''), { message: /--hash cannot be combined with --mcrouter-config/ })
  t.match(proxyConfigs({ mcrouterConfig: 'f', port: '1' }, () => `{${pools}, "route": "PoolRoute|B"}`), [{ pool: 'B', placement: { method: 'ch3' }, topology: { kind: 'static', servers: [{ host: 'h', port: 2 }] } }])
})

t.test('memring-proxy serves an mcrouter PoolRoute with ch3 placement; refusals exit 2', async (t) => {
  const servers = await Promise.all([0, 1, 2, 3, 4].map(async () => await startServer(t)))
  const dir = mkdtempSync(join(tmpdir(), 'memring-mcr-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const conf = join(dir, 'mcrouter.json')
  writeFileSync(conf, JSON.stringify({ pools: { A: { servers: servers.map((s) => `127.0.0.1:${s.port}`) } }, route: 'PoolRoute|A' }))
  const port = await freePort()
  const proxy = new ChildServer(PROXY_BIN, port, ['-p', String(port), '--mcrouter-config', conf])
  t.teardown(() => proxy.kill())
  await proxy.start()
  const keys = Array.from({ length: 500 }, (_, i) => `user:${i}`)
  const stored = (await exchange(port, keys.map((k) => `set ${k} 0 0 1\r\n1\r\n`).join(''))).toString()
  t.equal(stored.split('STORED\r\n').length - 1, keys.length)
  const ch3 = new Ch3Router(servers.length)
  let wrong = 0
  let found = 0
  for (let i = 0; i < servers.length; i++) {
    const got = (await exchange(servers[i]!.port, `get ${keys.join(' ')}\r\n`)).toString()
    for (const m of got.matchAll(/^VALUE (\S+) /gm)) { found++; if (ch3.serverOf(m[1]!) !== i) wrong++ }
  }
  t.equal(found, keys.length, 'each key on one server')
  t.equal(wrong, 0, 'each key on the server ch3 (furc) names, in pool order')
  t.match((await exchange(port, 'stats proxy\r\n')).toString(), /STAT hash ch3\r\n/)

  writeFileSync(conf, JSON.stringify({ pools: { A: { servers: ['h:1'] }, B: { servers: ['h:2'] } }, route: { type: 'MissFailoverRoute', children: ['PoolRoute|A', 'PoolRoute|B'] } }))
  const r = spawnSync(process.execPath, [PROXY_BIN, '-p', '0', '--mcrouter-config', conf], { encoding: 'utf8', timeout: 10000 })
  t.equal(r.status, 2)
  t.match(r.stderr, /^memring-proxy: mcrouter config: route type MissFailoverRoute: failover on a miss is not supported/)
})
