// The warm-up window on a real cluster: a real ZooKeeper, two memring hosts with keys
// (flags, TTLs), a third shard's host registers, and the proxy reads the moved keys
// through from their previous owners (text get, multi-get, gets, mg, binary getk), into
// the new owner with their flags and remaining TTL. A key written during the window is
// never overwritten by the old copy; after the window, nothing is read through.
import t from 'tap'
import { createProxy } from '../proxy.js'
import { startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'
import { startMemringProcess, type ChildServer } from '../../testing/memring-process.js'
import { exchange, rawClient } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'

const SESSION_MS = 1500
const WINDOW_MS = 8000

async function proxyStats (port: number): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const m of (await exchange(port, 'stats proxy\r\n')).toString('latin1').matchAll(/^STAT (\S+) (.*)\r$/gm)) out[m[1]!] = m[2]!
  return out
}

/** `mg key f t v` straight to one host: [flags, ttl, value] or null on a miss. */
async function onHost (h: ChildServer, key: string): Promise<[number, number, string] | null> {
  const r = (await exchange(h.port, `mg ${key} f t v\r\n`)).toString('latin1')
  const m = /^VA \d+ f(\d+) t(-?\d+)\r\n(.*)\r\n$/.exec(r)
  return m === null ? null : [Number(m[1]), Number(m[2]), m[3]!]
}

t.test('a shard added: moved keys are read through from their previous owner, with flags and TTL', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const hostArgs = (shard: string): string[] => ['--zk', zk.connectString, '--cluster', 'wu', '--shard', shard, '--zk-session-timeout', String(SESSION_MS)]
  const hosts = [await startMemringProcess(t, hostArgs('0')), await startMemringProcess(t, hostArgs('1'))]
  const proxy = createProxy({
    port: 0,
    topology: { kind: 'zk', zk: zk.connectString, cluster: 'wu', sessionTimeoutMs: SESSION_MS },
    warmUp: { windowMs: WINDOW_MS, hitRatio: 0 },
  })
  await proxy.start()
  t.teardown(() => proxy.close())
  const mastersLive = (n: number) => () => proxy.router.topology.shardIds.length === n && [...proxy.router.topology.shards.values()].every((s) => s.primary !== null)
  await waitFor(mastersLive(2), { timeoutMs: 10_000, what: 'two shards with masters' })
  t.equal((await proxyStats(proxy.port)).warmup_active, '0', 'no window for the first ring')

  // 400 keys: odd ones never expire, even ones with a 300 s TTL; flags differ per key.
  const keys = Array.from({ length: 400 }, (_, i) => `wk:${i}`)
  const flagsOf = (i: number): number => 1000 + i
  const c = await rawClient(t, proxy.port)
  c.write(keys.map((k, i) => `set ${k} ${flagsOf(i)} ${i % 2 === 0 ? 300 : 0} ${k.length}\r\n${k}\r\n`).join(''))
  t.same(await c.lines(keys.length), keys.map(() => 'STORED'))
  const ownerBefore = keys.map((k) => proxy.router.shard(proxy.router.shardIndexOf(Buffer.from(k), 0, k.length)).id)

  hosts.push(await startMemringProcess(t, hostArgs('2')))
  await waitFor(mastersLive(3), { timeoutMs: 10_000, what: 'the third shard with its master' })
  const st0 = await proxyStats(proxy.port)
  t.equal(st0.warmup_active, '1', 'the ring changed: window open')
  t.equal(st0.warmup_windows, '1')
  const ownerNow = keys.map((k) => proxy.router.shard(proxy.router.shardIndexOf(Buffer.from(k), 0, k.length)).id)
  const moved = keys.map((_, i) => i).filter((i) => ownerNow[i] !== ownerBefore[i])
  t.ok(moved.length > 60, `keys moved to the new shard (${moved.length} of 400)`)
  t.ok(moved.every((i) => ownerNow[i] === '2'), 'ketama moves keys only to the added shard')
  const newHost = hosts[2]!
  const oldHost = (i: number): ChildServer => hosts[Number(ownerBefore[i])]!
  t.equal(await onHost(newHost, keys[moved[0]!]!), null, 'the new owner starts empty')

  // One moved key is written fresh through the proxy before anyone reads it: the old copy
  // goes, and the fresh value is what every later read sees.
  const fresh = moved[0]!
  c.write(`set ${keys[fresh]} 7 0 5\r\nfresh\r\n`)
  t.same(await c.lines(1), ['STORED'])
  await waitFor(async () => await onHost(oldHost(fresh), keys[fresh]!) === null, { timeoutMs: 5000, what: 'the old owner\'s copy of the written key deleted' })

  // Reads of the moved keys in every protocol: all hit, with their own value and flags.
  const [a, b, cc, d, e] = [moved.slice(1, 20), moved.slice(20, 40), moved.slice(40, 50), moved.slice(50, 60), moved.slice(60)]
  for (const i of a) {
    c.write(`get ${keys[i]}\r\n`)
    t.equal(await c.until('END\r\n'), `VALUE ${keys[i]} ${flagsOf(i)} ${keys[i]!.length}\r\n${keys[i]}\r\nEND\r\n`, `get ${keys[i]}`)
  }
  // A multi-get over all shards (moved and unmoved keys, the fresh one, a duplicate): key order kept.
  const multi = [...b, 1, 2, 3, fresh, b[0]!]
  c.write(`get ${multi.map((i) => keys[i]).join(' ')}\r\n`)
  t.equal(await c.until('END\r\n'), multi.map((i) => i === fresh ? `VALUE ${keys[i]} 7 5\r\nfresh\r\n` : `VALUE ${keys[i]} ${flagsOf(i)} ${keys[i]!.length}\r\n${keys[i]}\r\n`).join('') + 'END\r\n',
    'a split multi-get: read-through hits in key order')
  // gets: the CAS is the new owner's, so a cas with it is STORED there.
  c.write(`gets ${cc.map((i) => keys[i]).join(' ')}\r\n`)
  const gets = await c.until('END\r\n')
  const cases = [...gets.matchAll(/^VALUE (\S+) (\d+) \d+ (\d+)\r$/gm)]
  t.equal(cases.length, cc.length, 'gets: every moved key hits')
  const i0 = cc[0]!
  c.write(`cas ${keys[i0]} ${flagsOf(i0)} 0 3 ${cases[0]![3]}\r\nnew\r\n`)
  t.same(await c.lines(1), ['STORED'], 'cas with the token gets handed out: STORED on the new owner')
  for (const i of d) {
    c.write(`mg ${keys[i]} v f k\r\n`)
    t.equal(await c.until('\r\n', 5000) + await c.until('\r\n'), `VA ${keys[i]!.length} f${flagsOf(i)} k${keys[i]}\r\n${keys[i]}\r\n`, `mg ${keys[i]}`)
  }
  // Binary GETK on its own connection.
  const bin = await rawClient(t, proxy.port)
  for (const i of e.slice(0, 10)) {
    const k = Buffer.from(keys[i]!)
    const req = Buffer.alloc(24 + k.length)
    req[0] = 0x80; req[1] = 0x0c; req.writeUInt16BE(k.length, 2); req.writeUInt32BE(k.length, 8); req.writeUInt32BE(i, 12)
    k.copy(req, 24)
    bin.write(req)
    const h = await bin.bytes(24)
    const body = await bin.bytes(h.readUInt32BE(8))
    t.equal(h.readUInt16BE(6), 0, `binary getk ${keys[i]}: success`)
    t.equal(body.readUInt32BE(0), flagsOf(i), 'binary: flags')
    t.equal(body.subarray(4 + k.length).toString(), keys[i], 'binary: value')
  }

  // On the new owner: the copies carry the original flags and remaining TTL.
  const warmed = [...a, ...b, ...cc.slice(1), ...d, ...e.slice(0, 10)]
  for (const i of warmed) {
    const got = await onHost(newHost, keys[i]!)
    if (got === null) { t.fail(`${keys[i]} not on the new owner`); continue }
    t.equal(got[0], flagsOf(i), `${keys[i]}: flags kept`)
    if (i % 2 === 0) t.ok(got[1] > 250 && got[1] <= 300, `${keys[i]}: remaining TTL kept (${got[1]})`)
    else t.equal(got[1], -1, `${keys[i]}: still never expires`)
  }
  t.same(await onHost(newHost, keys[fresh]!), [7, -1, 'fresh'], 'the key written during the window kept its fresh value')
  const st1 = await proxyStats(proxy.port)
  t.equal(Number(st1.warmup_fills), warmed.length + 1, 'one fill per moved key read (the cas target included)')
  t.equal(st1.warmup_fills_refused, '0')
  t.equal(st1.warmup_invalidations, '2', 'the two writes to moved keys dropped their old copies')
  t.ok(Number(st1.warmup_moved_reads) >= warmed.length, 'moved reads counted')

  // A key that exists only on the new owner beats the old copy even if it missed first:
  // written straight to the new owner (another writer), it hits there: nothing read through.
  const direct = e[10]!
  t.equal(String(await exchange(newHost.port, `set ${keys[direct]} 9 0 6\r\ndirect\r\n`)), 'STORED\r\n')
  const reads = Number(st1.warmup_reads)
  c.write(`get ${keys[direct]}\r\n`)
  t.equal(await c.until('END\r\n'), `VALUE ${keys[direct]} 9 6\r\ndirect\r\nEND\r\n`)
  t.equal(Number((await proxyStats(proxy.port)).warmup_reads), reads, 'a hit on the new owner reads nothing through')

  // After the window: no read-through; a moved key never read misses on its new owner.
  await waitFor(async () => (await proxyStats(proxy.port)).warmup_active === '0', { timeoutMs: WINDOW_MS + 5000, what: 'the window to end' })
  const st2 = await proxyStats(proxy.port)
  t.equal(st2.warmup_ended, 'time')
  const cold = e[11]!
  t.not(await onHost(oldHost(cold), keys[cold]!), null, 'the cold key is still on its old owner')
  c.write(`get ${keys[cold]}\r\n`)
  t.equal(await c.until('END\r\n'), 'END\r\n', 'after the window a moved key misses on its new owner')
  t.equal((await proxyStats(proxy.port)).warmup_reads, st2.warmup_reads, 'nothing read through after the window')
})

// The gap: a new shard's host is in ZooKeeper before the shard has a master. Produced for
// real by a `--role replica` host of the new shard (it registers, stands by, is never
// elected); later an ordinary host of the shard joins and is elected.
t.test('a new shard with no master yet: reads of moved keys go to their previous owner', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const hostArgs = (shard: string, ...more: string[]): string[] => ['--zk', zk.connectString, '--cluster', 'gap', '--shard', shard, '--zk-session-timeout', String(SESSION_MS), ...more]
  await startMemringProcess(t, hostArgs('0'))
  await startMemringProcess(t, hostArgs('1'))
  const proxy = createProxy({
    port: 0,
    topology: { kind: 'zk', zk: zk.connectString, cluster: 'gap', sessionTimeoutMs: SESSION_MS },
    warmUp: { windowMs: 60_000, hitRatio: 0 },
  })
  await proxy.start()
  t.teardown(() => proxy.close())
  const topo = () => proxy.router.topology
  await waitFor(() => topo().shardIds.length === 2 && [...topo().shards.values()].every((s) => s.primary !== null), { timeoutMs: 10_000, what: 'two shards with masters' })
  const keys = Array.from({ length: 300 }, (_, i) => `gap:${i}`)
  const c = await rawClient(t, proxy.port)
  c.write(keys.map((k, i) => `set ${k} ${i} 0 ${k.length}\r\n${k}\r\n`).join(''))
  t.same(await c.lines(keys.length), keys.map(() => 'STORED'))
  const owner = (k: string): string => proxy.router.shard(proxy.router.shardIndexOf(Buffer.from(k), 0, k.length)).id
  const ownerBefore = keys.map(owner)

  await startMemringProcess(t, hostArgs('2', '--role', 'replica'))
  await waitFor(() => topo().shardIds.length === 3, { timeoutMs: 10_000, what: 'shard 2 in the topology' })
  t.equal(topo().shards.get('2')!.primary, null, 'shard 2 has no master')
  t.equal(proxy.router.route(proxy.router.shardIndexById('2')).readers.length, 0, 'and no copy to read')
  t.equal((await proxyStats(proxy.port)).warmup_active, '1', 'the ring changed: window open')
  const moved = keys.map((_, i) => i).filter((i) => owner(keys[i]!) === '2')
  t.ok(moved.length > 40, `keys moved to shard 2 (${moved.length} of ${keys.length})`)
  t.ok(moved.every((i) => ownerBefore[i] !== '2'))

  const hit = (i: number): string => `VALUE ${keys[i]} ${i} ${keys[i]!.length}\r\n${keys[i]}\r\n`
  const [one, multi, meta, bin] = [moved.slice(0, 10), moved.slice(10, 30), moved.slice(30, 35), moved.slice(35, 40)]
  for (const i of one) {
    c.write(`get ${keys[i]}\r\n`)
    t.equal(await c.until('END\r\n'), hit(i) + 'END\r\n', `in the gap: get ${keys[i]} hits`)
  }
  const stayed = keys.map((_, i) => i).filter((i) => owner(keys[i]!) !== '2')
  const mixed = [...multi, ...stayed.slice(0, 3)]
  c.write(`get ${mixed.map((i) => keys[i]).join(' ')}\r\n`)
  t.equal(await c.until('END\r\n'), mixed.map(hit).join('') + 'END\r\n', 'in the gap: a multi-get over moved and unmoved keys hits, in key order')
  for (const i of meta) {
    c.write(`mg ${keys[i]} v f\r\n`)
    t.equal(await c.until('\r\n') + await c.until('\r\n'), `VA ${keys[i]!.length} f${i}\r\n${keys[i]}\r\n`, `in the gap: mg ${keys[i]} hits`)
  }
  const b = await rawClient(t, proxy.port)
  for (const i of bin) {
    const k = Buffer.from(keys[i]!)
    const req = Buffer.alloc(24 + k.length)
    req[0] = 0x80; req[1] = 0x00; req.writeUInt16BE(k.length, 2); req.writeUInt32BE(k.length, 8)
    k.copy(req, 24)
    b.write(req)
    const h = await b.bytes(24)
    const body = await b.bytes(h.readUInt32BE(8))
    t.equal(h.readUInt16BE(6), 0, `in the gap: binary get ${keys[i]} succeeds`)
    t.equal(body.subarray(4).toString(), keys[i], 'binary: the value')
  }
  // Writes are not moved: a moved key's write has no master to go to.
  const w = moved[40]!
  c.write(`set ${keys[w]} 0 0 1\r\nx\r\n`)
  t.equal(await c.until('\r\n'), 'SERVER_ERROR no live master for this key\r\n', 'in the gap: a write to a moved key fails')
  const st = await proxyStats(proxy.port)
  t.equal(Number(st.warmup_gap_reads), one.length + multi.length + meta.length + bin.length, 'every moved key read in the gap went to its previous owner')
  t.equal(st.warmup_fills, '0', 'nothing filled: shard 2 has no writer')

  // The master arrives: moved keys now hit on shard 2 or are read through into it.
  await startMemringProcess(t, hostArgs('2'))
  await waitFor(() => topo().shards.get('2')?.primary !== null, { timeoutMs: 10_000, what: 'a master for shard 2' })
  for (const i of [...one, ...moved.slice(41, 51)]) {
    c.write(`get ${keys[i]}\r\n`)
    t.equal(await c.until('END\r\n'), hit(i) + 'END\r\n', `with a master: get ${keys[i]} hits`)
  }
  const st2 = await proxyStats(proxy.port)
  t.equal(st2.warmup_gap_reads, st.warmup_gap_reads, 'no gap reads once shard 2 has a copy')
  t.ok(Number(st2.warmup_fills) >= 10, `read through and filled into the new master (${st2.warmup_fills})`)
})
