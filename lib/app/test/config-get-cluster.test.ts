// ElastiCache-style auto discovery (`config get cluster`) with real processes and a real
// ZooKeeper: a memring host lists each shard's master and bumps the version when a host
// joins or leaves; a real auto-discovery client from npm (memcached-elasticache) finds the
// hosts and stores through them; the proxy lists itself; a standalone memring answers as
// memcached 1.6.18 does (checked against the real memcached).
import t from 'tap'
import { createRequire } from 'node:module'
import { PROXY_BIN, ChildServer, startMemringProcess } from '../../testing/memring-process.js'
import { exchange } from '../../testing/raw-client.js'
import { freePort, haveMemcached, startMemcached } from '../../testing/memcached.js'
import { waitFor } from '../../testing/wait-for.js'
import { startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'

const SESSION_MS = 2000
const WAIT_MS = SESSION_MS * 10

interface Discovered { version: number, nodes: string[], raw: string }

/** Parses the documented format strictly: header byte count, LF-only lines, CRLF, END. */
function parseConfig (reply: Buffer): Discovered {
  const s = reply.toString('latin1')
  const m = /^CONFIG cluster 0 (\d+)\r\n/.exec(s)
  if (m === null) throw new Error(`not a CONFIG reply: ${JSON.stringify(s)}`)
  const start = m[0].length
  const body = s.slice(start, start + Number(m[1]))
  if (s.slice(start + Number(m[1])) !== '\r\nEND\r\n') throw new Error(`bad block end: ${JSON.stringify(s)}`)
  const lines = body.split('\n')
  if (lines.length !== 3 || lines[2] !== '' || !/^\d+$/.test(lines[0])) throw new Error(`bad body: ${JSON.stringify(body)}`)
  const nodes = lines[1] === '' ? [] : lines[1].split(' ')
  return { version: Number(lines[0]), nodes, raw: s }
}

const configOf = async (port: number): Promise<Discovered> => parseConfig(await exchange(port, 'config get cluster\r\n'))

t.test('standalone memring answers config like memcached 1.6.18', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  const mc = await startMemcached(t)
  const ours = await startMemringProcess(t)
  const req = 'config get cluster\r\nconfig\r\nconfig get\r\nversion\r\n'
  const theirs = (await exchange(mc.port, req)).toString()
  t.match(theirs, /^ERROR\r\nERROR\r\nERROR\r\nVERSION /, 'memcached has no config command')
  t.equal((await exchange(ours.port, req)).toString().replace(/VERSION .*/, ''), theirs.replace(/VERSION .*/, ''))
})

t.test('config get cluster follows the cluster', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const args = (shard: string): string[] => ['--zk', zk.connectString, '--cluster', 'ad', '--shard', shard, '--zk-session-timeout', String(SESSION_MS)]
  const a = await startMemringProcess(t, args('s1'))
  const b = await startMemringProcess(t, args('s2'))
  const entry = (h: ChildServer): string => `127.0.0.1|127.0.0.1|${h.port}`
  const listIs = (port: number, want: ChildServer[]): Promise<Discovered> => waitFor(async () => {
    const d = await configOf(port)
    return [...d.nodes].sort().join(' ') === want.map(entry).sort().join(' ') ? d : null
  }, { timeoutMs: WAIT_MS, what: `the list ${want.map((h) => h.port).join(',')} on ${port}` })

  const two = await listIs(a.port, [a, b])
  t.ok(two.version >= 1, 'a version from 1 up')
  t.same((await listIs(b.port, [a, b])).nodes, two.nodes, 'every host lists the same nodes in the same order')
  t.equal(two.raw.split('\r\n')[0], `CONFIG cluster 0 ${Buffer.byteLength(`${two.version}\n${two.nodes.join(' ')}\n`)}`, 'the byte count covers version and node lines with their LFs')
  t.equal((await exchange(a.port, 'config get nodes\r\nconfig set cluster\r\n')).toString(), 'ERROR\r\nERROR\r\n', 'other config forms are unknown commands')

  // A real auto-discovery client, polling fast: it must find both hosts and place keys.
  const require = createRequire(import.meta.url)
  const Elasticache = require('memcached-elasticache') as new (endpoint: string, opts: Record<string, unknown>) => ElasticacheClient
  const client = new Elasticache(`127.0.0.1:${a.port}`, { autoDiscoverInterval: 200, retries: 0, timeout: 2000 })
  t.teardown(() => client.end())
  const found: string[][] = []
  client.on('autoDiscover', (nodes: string[]) => found.push(nodes))
  await waitFor(() => found.find((n) => n.length === 2), { timeoutMs: WAIT_MS, what: 'the client discovering two nodes' })
  t.same(found.at(-1), [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`].sort(), 'the client connects to hostname:port of each listed node')
  const keys = Array.from({ length: 40 }, (_, i) => `ad${i}`)
  for (const k of keys) await new Promise<void>((resolve, reject) => client.set(k, `v-${k}`, 0, (err) => err != null ? reject(err) : resolve()))
  let onA = 0
  let onB = 0
  for (const k of keys) {
    const ga = (await exchange(a.port, `get ${k}\r\n`)).toString().startsWith('VALUE ')
    const gb = (await exchange(b.port, `get ${k}\r\n`)).toString().startsWith('VALUE ')
    t.not(ga, gb, `${k} is stored on exactly one of the two discovered hosts`)
    if (ga) onA++; if (gb) onB++
  }
  t.ok(onA > 0 && onB > 0, `the client spread keys over both hosts (${onA}/${onB})`)

  // A host joins: the version grows and the list follows; it leaves (kill -9): again.
  const c = await startMemringProcess(t, args('s3'))
  const three = await listIs(a.port, [a, b, c])
  t.ok(three.version > two.version, `joining bumps the version (${two.version} -> ${three.version})`)
  await waitFor(() => found.find((n) => n.length === 3), { timeoutMs: WAIT_MS, what: 'the client discovering the third node' })
  await c.kill('SIGKILL')
  const back = await listIs(a.port, [a, b])
  t.ok(back.version > three.version, `leaving bumps the version (${three.version} -> ${back.version})`)
  t.equal((await configOf(a.port)).version, back.version, 'an unchanged list keeps its version')

  // The proxy lists itself: a discovering client sends everything to it.
  const pport = await freePort()
  const proxy = new ChildServer(PROXY_BIN, pport, ['-p', String(pport), '-l', '127.0.0.1', '--zk', zk.connectString, '--cluster', 'ad'])
  await proxy.start()
  t.teardown(() => proxy.kill())
  const p = await configOf(pport)
  t.same({ version: p.version, nodes: p.nodes }, { version: 1, nodes: [`127.0.0.1|127.0.0.1|${pport}`] })
})

interface ElasticacheClient {
  on (ev: 'autoDiscover', fn: (nodes: string[]) => void): void
  set (key: string, value: string, ttl: number, cb: (err: unknown) => void): void
  end (): void
}
