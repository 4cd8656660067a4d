// Stopping the memring binary, with real processes and signals: SIGTERM with a client
// connected, a graceful stop (SIGUSR1, and `shutdown graceful` with -A) while a client
// still has replies queued, and a stop requested during start-up (before the ZooKeeper
// registration is done). Each is checked by what happened and in which order (the
// client's bytes and EOF, the listener, the exit code, 'memring stopped' in the log,
// the ZooKeeper node), never by how long it took.
import t from 'tap'
import net from 'node:net'
import { ChildServer, MEMRING_BIN, startMemringProcess } from '../../testing/memring-process.js'
import { rawClient } from '../../testing/raw-client.js'
import { freePort, startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'
import { ZkSession, nodePath } from '../../cluster/index.js'
import { waitFor } from '../../testing/wait-for.js'

const MiB = 1024 * 1024

function canConnect (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve(true) })
    s.once('error', () => resolve(false))
  })
}

async function stat (port: number, name: string): Promise<number> {
  const c = net.connect(port, '127.0.0.1')
  let text = ''
  c.on('data', (d: Buffer) => { text += d.toString('latin1') })
  c.write('stats\r\nquit\r\n')
  await new Promise((resolve) => c.once('close', resolve))
  return Number(new RegExp(`STAT ${name} (\\d+)`).exec(text)?.[1] ?? NaN)
}

/**
 * A client that asks for `n` copies of a value and reads nothing, until the server has
 * answered every get (its replies are then queued in the server and the kernel), then
 * the caller stops the server; read() takes everything and resolves at EOF.
 */
async function stalledReader (t: Parameters<typeof rawClient>[0], host: ChildServer, n: number, size: number): Promise<{ read: () => Promise<{ bytes: number, eof: boolean }>, expected: number }> {
  const setter = await rawClient(t, host.port)
  setter.write(`set big 0 0 ${size}\r\n${'v'.repeat(size)}\r\n`)
  t.same(await setter.lines(1), ['STORED'])
  setter.end()
  const hitsBefore = await stat(host.port, 'get_hits')
  const s = net.connect(host.port, '127.0.0.1')
  t.teardown(() => s.destroy())
  await new Promise((resolve) => s.once('connect', resolve))
  s.pause()
  s.write('get big\r\n'.repeat(n))
  await waitFor(async () => await stat(host.port, 'get_hits') === hitsBefore + n, { timeoutMs: 20_000, what: `the server to answer all ${n} gets` })
  const expected = n * (`VALUE big 0 ${size}\r\n`.length + size + '\r\nEND\r\n'.length)
  return {
    expected,
    read: async () => await new Promise((resolve) => {
      let bytes = 0
      s.on('data', (d: Buffer) => { bytes += d.length })
      s.once('end', () => resolve({ bytes, eof: true }))
      s.once('error', () => resolve({ bytes, eof: false }))
      s.resume()
    }),
  }
}

t.test('SIGTERM with an idle client connected: the client gets EOF, the close path completes, exit 0', async (t) => {
  const host = await startMemringProcess(t, ['-vv'])
  const c = await rawClient(t, host.port)
  c.write('version\r\n')
  t.match((await c.lines(1))[0], /^VERSION /)
  const order: string[] = []
  c.socket.once('end', () => order.push('client EOF'))
  const exited = host.exited().then((code) => { order.push('exit'); return code })
  await host.kill('SIGTERM')
  t.equal(await exited, 0)
  t.match(host.stderr, /memring stopped/, 'app.close() completed (not the forced-exit timer)')
  await waitFor(() => c.closed, { what: 'the client connection closed' })
  t.same(order.slice(0, 1), ['client EOF'], `the server ended the connection before it exited: ${order.join(', ')}`)
})

for (const how of ['SIGUSR1', 'shutdown graceful'] as const) {
  t.test(`${how}: stop accepting, deliver every queued reply, then exit 0`, async (t) => {
    const host = await startMemringProcess(t, ['-vv', '-I', '2m', ...(how === 'shutdown graceful' ? ['-A'] : [])])
    // 16 x 256 KiB of replies: all parsed and answered (memring stops parsing a
    // connection's input once 1 MiB waits beyond what the socket takes), and the
    // connection can only close once the client has read them.
    const reader = await stalledReader(t, host, 16, 256 * 1024)
    const order: string[] = []
    const exited = host.exited().then((code) => { order.push('exit'); return code })
    if (how === 'SIGUSR1') {
      process.kill(host.pid!, 'SIGUSR1')
    } else {
      const admin = await rawClient(t, host.port)
      admin.write('shutdown graceful\r\n')
      await waitFor(() => admin.closed, { what: 'the shutdown connection to be closed' })
      t.equal(admin.socket.bytesRead, 0, 'shutdown graceful has no reply (memcached closes the connection)')
    }
    await waitFor(async () => !await canConnect(host.port), { what: 'the listener to close' })
    t.equal(host.running, true, 'still running while a client has replies queued')
    const got = await reader.read()
    order.push('client got every byte and EOF')
    t.equal(got.bytes, reader.expected, `all ${(reader.expected / MiB).toFixed(0)} MiB of queued replies delivered`)
    t.ok(got.eof, 'then EOF')
    t.equal(await exited, 0, 'exit code 0')
    t.same(order, ['client got every byte and EOF', 'exit'], 'the process exited only after the client had everything')
    t.match(host.stderr, /memring stopped/, 'through app.close(), not the forced-exit timer')
  })
}

t.test('a stop during start-up (ZooKeeper registration pending) is acted on once start-up ends: node removed, exit 0', { skip: zooKeeperAvailable() ? false : 'zookeeper package not installed' }, async (t) => {
  const zk = await startZooKeeper(t)
  const obs = new ZkSession({ connect: zk.connectString, sessionTimeoutMs: 4000 })
  t.teardown(() => obs.close())
  await obs.start()
  // A gate in front of ZooKeeper: it accepts memring's connection but passes nothing
  // until opened, so start-up is held in the cluster join for as long as the test needs.
  const held: net.Socket[] = []
  let open = false
  const pipe = (s: net.Socket): void => {
    const up = net.connect(zk.port, '127.0.0.1')
    s.pipe(up).pipe(s)
    s.on('error', () => up.destroy())
    up.on('error', () => s.destroy())
    s.resume()
  }
  const gate = net.createServer((s) => { if (open) pipe(s); else { s.pause(); held.push(s) } })
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { gate.close(); for (const s of held) s.destroy() })
  const gatePort = (gate.address() as net.AddressInfo).port
  // With a fixed port memring joins before it listens (lib/app/server-app.ts), so the
  // process is started without waiting for its port: it is held in the join.
  const port = await freePort()
  const host = new ChildServer(MEMRING_BIN, port, ['-p', String(port), '-l', '127.0.0.1', '-m', '32', '-U', '0',
    '-vv', '--zk', `127.0.0.1:${gatePort}`, '--cluster', 'g', '--shard', '0', '--zk-session-timeout', '10000'])
  t.teardown(() => host.kill())
  const listening = host.start(60_000).then(() => true, () => false)
  await waitFor(() => held.length > 0, { what: 'memring to connect to ZooKeeper (through the gate)' })
  t.notOk(await Promise.race([listening, new Promise((resolve) => setTimeout(() => resolve(false), 200))]), 'not listening while it joins')
  process.kill(host.pid!, 'SIGUSR1')
  await waitFor(() => /shutting down/.test(host.stderr), { what: 'memring to take the stop request' })
  t.equal(host.running, true, 'start-up is still pending: the stop waits for it')
  const path = nodePath('g', `127.0.0.1:${host.port}`)
  let registered = false
  const seen = obs.exists(path, () => { registered = true })
  t.equal(await seen, null, 'not registered yet')
  open = true
  for (const s of held.splice(0)) pipe(s)
  t.equal(await host.exited(), 0, 'exit code 0')
  await listening
  t.ok(registered, 'start-up finished: the node was created (watch fired)')
  t.equal(await obs.exists(path), null, 'and removed at the stop, not left for the session to expire')
  t.match(host.stderr, /memring stopped/)
})
