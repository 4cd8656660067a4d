/**
 * memring-proxy --mcrouter-config with several pools: AllSyncRoute (every request to every
 * pool, the worst reply back) and FailoverRoute (the next pool after an error, never after
 * a miss), end to end: the built memring-proxy binary reads a real mcrouter JSON file in
 * front of real memcached servers, and every claim is checked by asking each memcached
 * directly. Failures are real: a memcached killed with SIGKILL, a scripted peer answering
 * SERVER_ERROR, a scripted peer that never answers.
 */
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseMcrouterConfig } from '../mcrouter-config.js'
import { ChildServer, PROXY_BIN } from '../../testing/memring-process.js'
import { freePort, haveMemcached, startMemcached, type RunningMemcached } from '../../testing/memcached.js'
import { startScriptedBackend } from '../../testing/scripted-backend.js'
import { exchange } from '../../testing/raw-client.js'
import { Ch3Router } from '../../ring/index.js'

const addr = (port: number): string => `127.0.0.1:${port}`

function configFile (t: Test, config: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'memring-mcr-routes-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, 'mcrouter.json')
  writeFileSync(file, JSON.stringify(config))
  return file
}

async function startProxy (t: Test, config: unknown, extra: string[] = []): Promise<number> {
  const port = await freePort()
  const proxy = new ChildServer(PROXY_BIN, port, ['-p', String(port), '--mcrouter-config', configFile(t, config), ...extra])
  t.teardown(() => proxy.kill())
  await proxy.start()
  return port
}

/** Which keys each server holds, asked directly (one multi-get per server). */
async function holders (ports: number[], keys: string[]): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>(keys.map((k) => [k, []]))
  for (let i = 0; i < ports.length; i++) {
    const got = (await exchange(ports[i]!, `get ${keys.join(' ')}\r\n`)).toString()
    for (const m of got.matchAll(/^VALUE (\S+) /gm)) out.get(m[1]!)!.push(i)
  }
  return out
}

t.test('route trees are read; what is not served is refused by name', async (t) => {
  const pools = '"pools": {"A": {"servers": ["h:1", "h:2"]}, "B": {"servers": ["h:3"]}}'
  const sync = parseMcrouterConfig(`{${pools}, "route": {"type": "AllSyncRoute", "children": ["PoolRoute|A", "PoolRoute|B"]}}`)
  t.equal(sync.pool, 'AllSyncRoute(PoolRoute|A,PoolRoute|B)')
  t.same(sync.servers.map((s) => s.port), [1, 2, 3], 'every server once, for the fan-outs')
  t.same(sync.tree, { type: 'all-sync', children: [
    { type: 'pool', name: 'A', servers: [{ host: 'h', port: 1 }, { host: 'h', port: 2 }] },
    { type: 'pool', name: 'B', servers: [{ host: 'h', port: 3 }] }] })
  const nested = parseMcrouterConfig(`{${pools}, "routes": [{"aliases": ["/r/c/"], "route": {"type": "FailoverRoute", "children": [{"type": "AllSyncRoute", "children": ["PoolRoute|A", "PoolRoute|B"]}, "PoolRoute|B"]}}]}`)
  t.equal(nested.pool, 'FailoverRoute(AllSyncRoute(PoolRoute|A,PoolRoute|B),PoolRoute|B)')
  t.equal(parseMcrouterConfig(`{${pools}, "route": {"type": "FailoverRoute", "children": ["PoolRoute|B"]}}`).tree, null, 'one child is that child')
  const bad: Array<[string, RegExp]> = [
    [`{${pools}, "route": {"type": "AllAsyncRoute", "children": ["PoolRoute|A"]}}`, /route type AllAsyncRoute: writes that do not wait/],
    [`{${pools}, "route": {"type": "MissFailoverRoute", "children": ["PoolRoute|A", "PoolRoute|B"]}}`, /route type MissFailoverRoute: failover on a miss is not supported/],
    [`{${pools}, "route": {"type": "FailoverRoute", "children": ["PoolRoute|A", "PoolRoute|B"], "failover_errors": ["timeout"]}}`, /FailoverRoute option 'failover_errors': not supported/],
    [`{${pools}, "route": {"type": "AllSyncRoute", "children": "Pool|A"}}`, /AllSyncRoute "children": must be a non-empty list/],
    [`{${pools}, "route": {"type": "AllSyncRoute", "children": ["Pool|A"]}}`, /route type Pool: a child list of a pool's servers/],
    [`{${pools}, "route": {"type": "FailoverRoute", "children": ["PoolRoute|A", "PrefixSelectorRoute|x"]}}`, /route type PrefixSelectorRoute: routing by key prefix is not supported/],
    [`{${pools}, "route": {"type": "AllSyncRoute", "children": ["PoolRoute|A", "PoolRoute|C"]}}`, /PoolRoute\|C: no pool 'C'/],
    [`{${pools}, "routes": [{"aliases": ["/a/b/"], "route": "PoolRoute|A"}, {"aliases": ["/a/c/"], "route": "PoolRoute|B"}]}`, /routes: 2 entries: choosing one by routing prefix/],
    [`{${pools}, "route": {"type": "LatestRoute", "children": ["PoolRoute|A"]}}`, /route type LatestRoute: not supported \(memring-proxy reads PoolRoute, AllSyncRoute and FailoverRoute\)/],
  ]
  for (const [text, msg] of bad) t.throws(() => parseMcrouterConfig(text), { message: msg }, msg.source)
})

t.test('AllSyncRoute: writes land on the key\'s server in every pool; the worst reply comes back', { skip: !haveMemcached() && 'no memcached binary' }, async (t) => {
  const a = await Promise.all([0, 1, 2].map(async () => await startMemcached(t)))
  const b = await Promise.all([0, 1].map(async () => await startMemcached(t)))
  const port = await startProxy(t, {
    pools: { A: { servers: a.map((m) => addr(m.port)) }, B: { servers: b.map((m) => addr(m.port)) } },
    route: { type: 'AllSyncRoute', children: ['PoolRoute|A', 'PoolRoute|B'] },
  })
  const keys = Array.from({ length: 300 }, (_, i) => `sync:${i}`)
  const replies = (await exchange(port, keys.map((k) => `set ${k} 0 0 2\r\nv${k.length % 10}\r\n`).join(''))).toString()
  t.equal(replies, 'STORED\r\n'.repeat(keys.length), 'one STORED per set')
  const chA = new Ch3Router(a.length)
  const chB = new Ch3Router(b.length)
  const inA = await holders(a.map((m) => m.port), keys)
  const inB = await holders(b.map((m) => m.port), keys)
  let wrong = 0
  for (const k of keys) {
    if (inA.get(k)!.join() !== String(chA.serverOf(k)) || inB.get(k)!.join() !== String(chB.serverOf(k))) wrong++
  }
  t.equal(wrong, 0, 'every key on exactly its ch3 server of pool A and of pool B')

  // Binary sets follow the tree too.
  const key = Buffer.from('bin:key')
  const set = Buffer.alloc(24 + 8 + key.length + 1)
  set[0] = 0x80; set[1] = 0x01; set.writeUInt16BE(key.length, 2); set[4] = 8
  set.writeUInt32BE(8 + key.length + 1, 8); key.copy(set, 32); set[set.length - 1] = 0x78
  const bin = await exchange(port, set)
  t.equal(bin.readUInt16BE(6), 0, 'binary set: success')
  t.match((await exchange(a[chA.serverOf('bin:key')]!.port, 'get bin:key\r\n')).toString(), /^VALUE bin:key 0 1\r\nx\r\n/, 'binary set in pool A')
  t.match((await exchange(b[chB.serverOf('bin:key')]!.port, 'get bin:key\r\n')).toString(), /^VALUE bin:key 0 1\r\nx\r\n/, 'binary set in pool B')

  // Gets go to every pool too (mcrouter's AllSyncRoute routes every operation): a hit
  // only where every pool hits; a miss in one pool is the worse reply.
  const k0 = keys[0]!
  t.equal((await exchange(port, `get ${k0}\r\n`)).toString(), `VALUE ${k0} 0 2\r\nv6\r\nEND\r\n`)
  t.equal((await exchange(b[chB.serverOf(k0)]!.port, `delete ${k0}\r\n`)).toString(), 'DELETED\r\n')
  t.equal((await exchange(port, `get ${k0}\r\n`)).toString(), 'END\r\n', 'miss in B: the get misses')
  t.equal((await exchange(port, `get ${keys[1]} ${k0} ${keys[2]}\r\n`)).toString(),
    `VALUE ${keys[1]} 0 2\r\nv6\r\nVALUE ${keys[2]} 0 2\r\nv6\r\nEND\r\n`, 'multi-get: per key')
  t.equal((await exchange(port, `delete ${k0}\r\n`)).toString(), 'NOT_FOUND\r\n', 'DELETED in A, NOT_FOUND in B: NOT_FOUND')

  // One pool's server dies (SIGKILL): the write still lands in the other pool, and the
  // reply is the worst one, the failure.
  const victim = b[chB.serverOf(k0)]!
  await kill(victim)
  const after = (await exchange(port, `set ${k0} 0 0 3\r\nnew\r\n`)).toString()
  t.match(after, /^SERVER_ERROR backend (connection lost|marked down|timeout)\r\n$/, `the failure is the reply (${after.trim()})`)
  t.match((await exchange(a[chA.serverOf(k0)]!.port, `get ${k0}\r\n`)).toString(), /^VALUE \S+ 0 3\r\nnew\r\n/, 'stored in pool A all the same')
  t.match((await exchange(port, 'stats proxy\r\n')).toString(), /STAT route AllSyncRoute\(PoolRoute\|A,PoolRoute\|B\)\r\n/)
})

t.test('AllSyncRoute: a pool whose server answers SERVER_ERROR makes that the reply', { skip: !haveMemcached() && 'no memcached binary' }, async (t) => {
  const a = await startMemcached(t)
  const peer = await startScriptedBackend(t)
  peer.reply(['SERVER_ERROR out of memory storing object'])
  const port = await startProxy(t, {
    pools: { A: { servers: [addr(a.port)] }, B: { servers: [peer.address] } },
    route: { type: 'AllSyncRoute', children: ['PoolRoute|A', 'PoolRoute|B'] },
  })
  t.equal((await exchange(port, 'set k 0 0 1\r\n1\r\n')).toString(), 'SERVER_ERROR out of memory storing object\r\n')
  t.equal((await exchange(a.port, 'get k\r\n')).toString(), 'VALUE k 0 1\r\n1\r\nEND\r\n', 'pool A stored it')
  t.ok(peer.seen.includes('set k 0 0 1'), 'pool B was asked')
})

t.test('FailoverRoute: the next pool after an error, never after a miss', { skip: !haveMemcached() && 'no memcached binary' }, async (t) => {
  const a = await startMemcached(t)
  const b = await startMemcached(t)
  const peer = await startScriptedBackend(t)
  const conf = (first: string): unknown => ({
    pools: { A: { servers: [first] }, B: { servers: [addr(b.port)] } },
    route: { type: 'FailoverRoute', children: ['PoolRoute|A', 'PoolRoute|B'] },
  })
  const port = await startProxy(t, conf(addr(a.port)), ['--timeout', '300'])
  await exchange(a.port, 'set both 0 0 1\r\na\r\n')
  await exchange(b.port, 'set both 0 0 1\r\nb\r\nset onlyb 0 0 1\r\nb\r\n')
  t.equal((await exchange(port, 'get both\r\n')).toString(), 'VALUE both 0 1\r\na\r\nEND\r\n', 'first pool answers')
  t.equal((await exchange(port, 'get onlyb\r\n')).toString(), 'END\r\n', 'a miss is an answer: no failover')
  t.equal((await exchange(port, 'set w 0 0 1\r\n1\r\n')).toString(), 'STORED\r\n')
  t.equal((await exchange(a.port, 'get w\r\n')).toString(), 'VALUE w 0 1\r\n1\r\nEND\r\n', 'writes go to the first pool')
  t.equal((await exchange(b.port, 'get w\r\n')).toString(), 'END\r\n', '... only')

  await kill(a)
  t.equal((await exchange(port, 'get both\r\n')).toString(), 'VALUE both 0 1\r\nb\r\nEND\r\n', 'first pool killed: read from the second')
  t.equal((await exchange(port, 'set w2 0 0 1\r\n2\r\n')).toString(), 'STORED\r\n', 'and writes fail over too')
  t.equal((await exchange(b.port, 'get w2\r\n')).toString(), 'VALUE w2 0 1\r\n2\r\nEND\r\n')
  t.match((await exchange(port, 'stats proxy\r\n')).toString(), /STAT proxy_route_failovers [1-9]/)

  // The first pool's server hangs (accepts, never answers): after --timeout, pool B answers.
  peer.hang()
  const hung = await startProxy(t, conf(peer.address), ['--timeout', '300'])
  t.equal((await exchange(hung, 'get both\r\n')).toString(), 'VALUE both 0 1\r\nb\r\nEND\r\n', 'first pool hangs: read from the second')
  t.ok(peer.seen.includes('get both'), 'the hanging server was asked first')
})

t.test('an unsupported route type exits 2 naming it', async (t) => {
  const file = configFile(t, { pools: { A: { servers: ['h:1'] } }, route: { type: 'AllFastestRoute', children: ['PoolRoute|A', 'PoolRoute|A'] } })
  const r = spawnSync(process.execPath, [PROXY_BIN, '-p', '0', '--mcrouter-config', file], { encoding: 'utf8', timeout: 10000 })
  t.equal(r.status, 2)
  t.match(r.stderr, /^memring-proxy: mcrouter config: route type AllFastestRoute: requests to several pools are not supported/)
})

async function kill (m: RunningMemcached): Promise<void> {
  if (m.proc.exitCode !== null || m.proc.signalCode !== null) return
  const gone = new Promise((resolve) => m.proc.once('exit', resolve))
  m.proc.kill('SIGKILL')
  await gone
}
