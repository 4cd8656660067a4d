// --encrypt-values (issue 17 part 5): values sealed with AES-256-GCM by the proxy, over
// real memring hosts. A value altered on a host (a byte flipped, moved to another key,
// flags changed) reads as a miss through the proxy and moves proxy_decrypt_failures;
// it is never returned. Rotation: the newest key writes, every key of the ring reads.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { createProxy, type MemringProxy, type ProxyOptions } from '../proxy.js'
import { startServer } from '../../testing/servers.js'
import { rawClient, type RawClient } from '../../testing/raw-client.js'
import type { MemringServer } from '../../server/server.js'
import type { Teardown } from '../../testing/zookeeper.js'
import { Topology } from '../../cluster/index.js'
import { exchange } from '../../testing/raw-client.js'

const require = createRequire(import.meta.url)
const K1 = randomBytes(32)
const K2 = randomBytes(32)

function ringFile (t: Teardown, lines: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyring-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  const p = path.join(dir, 'ring')
  fs.writeFileSync(p, ['# test key ring', ...lines, ''].join('\n'))
  return p
}

async function proxyOver (t: Teardown, servers: MemringServer[], keyFile: string, extra: Partial<ProxyOptions> = {}): Promise<MemringProxy> {
  const p = createProxy({ port: 0, encryptValues: keyFile, ...extra, topology: { kind: 'static', servers: servers.map((s) => ({ host: '127.0.0.1', port: s.port })) } })
  await p.start()
  t.teardown(() => p.close())
  return p
}

/** The item as the host stores it: [flags, raw value bytes], or null. */
async function rawItem (c: RawClient, key: string): Promise<[number, Buffer] | null> {
  c.write(`get ${key}\r\n`)
  const head = (await c.lines(1))[0]!
  if (head === 'END') return null
  const [, , flags, bytes] = head.split(' ')
  const data = await c.bytes(Number(bytes) + 2)
  t.same(await c.lines(1), ['END'])
  return [Number(flags), data.subarray(0, Number(bytes))]
}

async function putRaw (c: RawClient, key: string, flags: number, value: Buffer): Promise<void> {
  c.write(Buffer.concat([Buffer.from(`set ${key} ${flags} 0 ${value.length}\r\n`), value, Buffer.from('\r\n')]))
  t.same(await c.lines(1), ['STORED'])
}

t.test('one host behind an encrypting proxy', async (t) => {
  const host = await startServer(t)
  const proxy = await proxyOver(t, [host], ringFile(t, [`1 ${K1.toString('hex')}`]))
  const c = await rawClient(t, proxy.port)
  const direct = await rawClient(t, host.port)
  const fails = (): number => proxy.core.counters.proxy_decrypt_failures

  t.test('round trip; the host holds only sealed bytes', async (t) => {
    c.write('set a 42 0 11\r\nhello world\r\nget a\r\n')
    t.same(await c.lines(4), ['STORED', 'VALUE a 42 11', 'hello world', 'END'])
    const [flags, raw] = (await rawItem(direct, 'a'))!
    t.equal(flags, 42, 'flags stay in clear on the host')
    t.equal(raw.length, 11 + 31, 'value + 31 bytes of header and tag')
    t.equal(raw[0], 0xe1, 'format byte')
    t.equal(raw.readUInt16BE(1), 1, 'key id 1')
    t.equal(raw.indexOf('hello'), -1, 'no plaintext on the host')
    c.write('set e 0 0 0\r\n\r\ngets e\r\n')
    const lines = await c.lines(4)
    t.equal(lines[0], 'STORED')
    t.match(lines[1], /^VALUE e 0 0 \d+$/, 'an empty value round-trips (gets keeps its cas)')
  })

  t.test('a byte flipped on the host reads as a miss and is counted', async (t) => {
    c.write('set t 7 0 5\r\nfresh\r\n')
    t.same(await c.lines(1), ['STORED'])
    const [flags, raw] = (await rawItem(direct, 't'))!
    for (const at of [0, 2, 5, 15, raw.length - 1]) {
      const bad = Buffer.from(raw)
      bad[at]! ^= 0x01
      await putRaw(direct, 't', flags, bad)
      const before = fails()
      c.write('get t\r\n')
      t.same(await c.lines(1), ['END'], `byte ${at} flipped: a miss`)
      t.equal(fails(), before + 1, 'proxy_decrypt_failures moved')
    }
    await putRaw(direct, 't', flags, raw)
    c.write('get t\r\n')
    t.same(await c.lines(3), ['VALUE t 7 5', 'fresh', 'END'], 'the untouched bytes still open')
  })

  t.test('a sealed value moved to another key, or re-flagged, does not open', async (t) => {
    c.write('set from 3 0 6\r\nsecret\r\n')
    t.same(await c.lines(1), ['STORED'])
    const [flags, raw] = (await rawItem(direct, 'from'))!
    await putRaw(direct, 'to', flags, raw)
    await putRaw(direct, 'from', flags + 1, raw)
    const before = fails()
    c.write('get to from\r\n')
    t.same(await c.lines(1), ['END'])
    t.equal(fails(), before + 2)
  })

  t.test('a value written around the proxy (never sealed) is a miss', async (t) => {
    await putRaw(direct, 'plain', 0, Buffer.from('not sealed at all, long enough to look like one'))
    c.write('get plain\r\n')
    t.same(await c.lines(1), ['END'])
  })

  t.test('commands that would act on sealed bytes are refused', async (t) => {
    const before = proxy.core.counters.proxy_encrypt_refused
    c.write('incr n 1\r\nappend a 0 0 1\r\nx\r\nms a 2\r\nhi\r\nmg a v\r\nma n\r\nprepend a 0 0 1 noreply\r\ny\r\nmg a s f\r\n')
    t.same(await c.lines(6), [
      'CLIENT_ERROR not supported with --encrypt-values',
      'CLIENT_ERROR not supported with --encrypt-values',
      'CLIENT_ERROR not supported with --encrypt-values',
      'CLIENT_ERROR not supported with --encrypt-values',
      'CLIENT_ERROR not supported with --encrypt-values',
      'HD s42 f42',
    ])
    t.equal(proxy.core.counters.proxy_encrypt_refused, before + 6)
    c.write('get a\r\n')
    t.same(await c.lines(3), ['VALUE a 42 11', 'hello world', 'END'], 'the value is unchanged')
  })

  t.test('a data block without its CRLF gets memcached\'s error, as without encryption', async (t) => {
    const bad = 'set bad 0 0 3\r\nabcde\r\nget bad\r\n'
    direct.write(bad)
    const want = await direct.lines(3)
    c.write(bad)
    t.same(await c.lines(3), want, want.join(' | '))
  })

  t.test('binary clients (memjs): round trip, tampering is a miss, incr refused', async (t) => {
    const m = require('memjs').Client.create(`127.0.0.1:${proxy.port}`, { retries: 0, timeout: 5, logger: { log () {} } })
    t.teardown(() => m.close())
    t.ok(await m.set('bin', 'binary value', { expires: 0 }))
    t.equal((await m.get('bin')).value?.toString(), 'binary value')
    t.equal((await m.get('a')).value?.toString(), 'hello world', 'text and binary seal alike')
    const [flags, raw] = (await rawItem(direct, 'bin'))!
    raw[raw.length - 3]! ^= 0x80
    await putRaw(direct, 'bin', flags, raw)
    const before = fails()
    t.equal((await m.get('bin')).value, null, 'tampered: a miss')
    t.equal(fails(), before + 1)
    await t.rejects(m.increment('n', 1), 'incr is refused')
  })
})

t.test('rotation: the newest key writes, every key of the ring reads', async (t) => {
  const hosts = [await startServer(t), await startServer(t)]
  const old = await proxyOver(t, hosts, ringFile(t, [`1 ${K1.toString('hex')}`]))
  const rotated = await proxyOver(t, hosts, ringFile(t, [`1 ${K1.toString('base64')}`, `2 ${K2.toString('hex')}`]))
  const a = await rawClient(t, old.port)
  const b = await rawClient(t, rotated.port)
  const keys = Array.from({ length: 12 }, (_, i) => `r${i}`)
  for (const k of keys) a.write(`set ${k} 0 0 ${k.length}\r\n${k}\r\n`)
  t.same(await a.lines(keys.length), keys.map(() => 'STORED'))
  b.write(`get ${keys.join(' ')}\r\n`)
  const read = await b.until('END\r\n')
  t.equal(read.split('VALUE ').length - 1, keys.length, 'the rotated proxy reads values sealed with key 1')
  b.write('set new 0 0 3\r\nnew\r\n')
  t.same(await b.lines(1), ['STORED'])
  let id = -1
  for (const h of hosts) {
    const item = await rawItem(await rawClient(t, h.port), 'new')
    if (item !== null) id = item[1].readUInt16BE(1)
  }
  t.equal(id, 2, 'new writes carry key id 2')
  const before = old.core.counters.proxy_decrypt_failures
  a.write('get new r0\r\n')
  t.same(await a.lines(3), ['VALUE r0 0 2', 'r0', 'END'], 'a proxy without key 2 misses it (and still reads r0)')
  t.equal(old.core.counters.proxy_decrypt_failures, before + 1)
})

t.test('the hot-key cache serves opened values (it holds sealed replies)', async (t) => {
  const host = await startServer(t)
  const proxy = await proxyOver(t, [host], ringFile(t, [`1 ${K1.toString('hex')}`]), { hotKeys: { threshold: 1, cache: { ttlMs: 60_000, maxBytes: 1 << 20 } } })
  const c = await rawClient(t, proxy.port)
  c.write('set hot 5 0 3\r\nhot\r\n')
  t.same(await c.lines(1), ['STORED'])
  for (let i = 0; i < 50; i++) {
    c.write('get hot\r\n')
    t.same(await c.lines(3), ['VALUE hot 5 3', 'hot', 'END'], `get ${i}`)
  }
  t.ok(proxy.core.hot!.cache!.hits > 0, `served from the cache ${proxy.core.hot!.cache!.hits} times`)
  t.equal(proxy.core.counters.proxy_decrypt_failures, 0)
})

t.test('warm-up read-through after a ring change copies sealed values, which still open', async (t) => {
  const hosts = [await startServer(t), await startServer(t), await startServer(t)]
  const list = (n: number): Array<{ host: string, port: number }> => hosts.slice(0, n).map((h) => ({ host: '127.0.0.1', port: h.port }))
  const proxy = createProxy({ port: 0, encryptValues: ringFile(t, [`1 ${K1.toString('hex')}`]), topology: { kind: 'given', topology: Topology.fromServers(list(2)) }, warmUp: { windowMs: 60_000, hitRatio: 0 } })
  await proxy.start()
  t.teardown(() => proxy.close())
  const c = await rawClient(t, proxy.port)
  const keys = Array.from({ length: 60 }, (_, i) => `w${i}`)
  c.write(keys.map((k, i) => `set ${k} ${i} 0 ${k.length}\r\n${k}\r\n`).join(''))
  t.same(await c.lines(keys.length), keys.map(() => 'STORED'))
  proxy.router.update(Topology.fromServers(list(3)))
  for (const [i, k] of keys.entries()) {
    c.write(`get ${k}\r\n`)
    t.same(await c.lines(3), [`VALUE ${k} ${i} ${k.length}`, k, 'END'], k)
  }
  const stats = (await exchange(proxy.port, 'stats proxy\r\n')).toString('latin1')
  const fills = Number(/STAT warmup_fills (\d+)/.exec(stats)?.[1] ?? 0)
  t.ok(fills > 0, `${fills} moved keys were read through and copied, sealed, to the new host`)
  t.ok(hosts[2]!.store.counters.curr_items > 0, 'the new host holds them')
  t.equal(proxy.core.counters.proxy_decrypt_failures, 0)
})
