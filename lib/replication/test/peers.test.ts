// Replication against misbehaving real peers: the replica's master is a real memcached
// (no replication: it answers ERROR), a peer that accepts and never answers, a peer that
// sends garbage; the master's replica is a client that sends a bad `repl` line or garbage
// acks. Neither side crashes, the replica keeps refusing writes and retries, the master
// keeps serving its clients and drops the bad stream.
import t from 'tap'
import net from 'node:net'
import { haveMemcached, startMemcached } from '../../testing/memcached.js'
import { startMemringProcess } from '../../testing/memring-process.js'
import { startScriptedBackend } from '../../testing/scripted-backend.js'
import { exchange, rawClient } from '../../testing/raw-client.js'
import { stats } from '../../testing/replication.js'
import { waitFor } from '../../testing/wait-for.js'

const TIMEOUT_MS = 500

t.test('a replica of a server that does not replicate (real memcached) stays read-only and retries', { skip: haveMemcached() ? false : 'memcached not installed' }, async (t) => {
  const mc = await startMemcached(t)
  const replica = await startMemringProcess(t, ['--replica-of', `127.0.0.1:${mc.port}`, '-vv'])
  await waitFor(async () => Number((await stats(replica.port, 'replication')).role === 'replica') && replica.stderr.includes('master does not speak the replication stream'),
    { timeoutMs: 10_000, what: 'the replica notices' })
  t.equal((await exchange(replica.port, 'set k 0 0 1\r\nv\r\n')).toString(), `SERVER_ERROR read-only replica (master 127.0.0.1:${mc.port})\r\n`)
  t.equal((await stats(replica.port, 'replication')).master_link, 'connecting')
  t.equal((await exchange(mc.port, 'get k\r\n')).toString(), 'END\r\n', 'memcached unharmed')
})

t.test('a master that accepts and never answers: the replica gives up after --repl-timeout and redials', async (t) => {
  const peer = await startScriptedBackend(t)
  peer.hang()
  const replica = await startMemringProcess(t, ['--replica-of', peer.address, '--repl-timeout', String(TIMEOUT_MS)])
  await waitFor(() => peer.connections >= 3, { timeoutMs: TIMEOUT_MS * 20, what: 'three connection attempts' })
  t.ok(peer.seen.some((l) => /^repl sync [0-9a-f]{16} 0 0 0 127\.0\.0\.1:\d+ 0$/.test(l)), `asked for a full sync: ${peer.seen[0]}`)
  t.equal((await stats(replica.port, 'replication')).sync_in_progress, '1', 'an empty replica is not in sync')
})

t.test('a master that answers garbage: the replica drops the link, stays up and empty', async (t) => {
  const peer = await startScriptedBackend(t)
  peer.garbage()
  const replica = await startMemringProcess(t, ['--replica-of', peer.address, '--repl-timeout', String(TIMEOUT_MS)])
  await waitFor(() => peer.connections >= 2, { timeoutMs: 10_000, what: 'a redial after the garbage' })
  const s = await stats(replica.port)
  t.equal(s.curr_items, '0')
  t.equal((await exchange(replica.port, 'version\r\n')).toString().startsWith('VERSION '), true, 'still serving')
})

t.test('a bad repl line or garbage acks end that stream only; clients never notice', async (t) => {
  const master = await startMemringProcess(t)
  const c = await rawClient(t, master.port)
  c.write('set k 0 0 1\r\nv\r\n')
  t.same(await c.lines(1), ['STORED'])
  // A bad line: one ERROR frame (type 9), then the master closes.
  const bad = await exchange(master.port, 'repl sync nonsense\r\n')
  t.equal(bad[0], 9, 'an ERROR frame')
  t.match(bad.subarray(5).toString(), /usage: repl sync/)
  // A real request, then garbage instead of acks (a frame announcing 2 GiB): dropped.
  const s = net.connect(master.port, '127.0.0.1')
  await new Promise<void>((resolve) => s.once('connect', () => resolve()))
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()))
  s.on('error', () => {})
  s.on('data', () => {})
  s.write('repl sync 0 0 0 0 evil:1\r\n')
  await waitFor(async () => (await stats(master.port, 'replication')).replicas === '1', { what: 'stream attached' })
  s.write(Buffer.from([0x20, 0xff, 0xff, 0xff, 0x7f]))
  await closed
  await waitFor(async () => (await stats(master.port, 'replication')).replicas === '0', { what: 'stream dropped' })
  c.write('get k\r\n')
  t.same(await c.lines(3), ['VALUE k 0 1', 'v', 'END'], 'the client connection never noticed')
  t.equal((await stats(master.port)).internal_errors ?? '0', '0')
})
