// Replication between cluster members over TLS, with a real ZooKeeper and real processes:
// hosts run with -Z (ssl_verify_mode=1: ordinary clients may come without a certificate),
// advertise their TLS port, and a replica follows its master with its own certificate as
// the client certificate. A member whose certificate comes from another CA, a plaintext
// member, and a stream asked for without a verified certificate are refused.
import t from 'tap'
import tls from 'node:tls'
import fs from 'node:fs'
import { startMemringProcess, type ChildServer } from '../../testing/memring-process.js'
import { stats } from '../../testing/replication.js'
import { exchange } from '../../testing/raw-client.js'
import { waitFor } from '../../testing/wait-for.js'
import { freePort, startZooKeeper, zooKeeperAvailable } from '../../testing/zookeeper.js'
import { haveOpenssl, makeCerts } from '../../testing/certs.js'

const SESSION_MS = 2000
const ZK_WAIT_MS = SESSION_MS * 10
const skip = !zooKeeperAvailable() ? 'zookeeper package not installed' : !haveOpenssl() ? 'openssl not installed' : false

t.test('replication over TLS between cluster members', { skip }, async (t) => {
  const certs = makeCerts(t)
  const zk = await startZooKeeper(t)
  /** A member of shard 0: its advertised port is TLS; `plain` is a notls: port for the test's own reads. */
  const member = async (cert: string, key: string, ...more: string[]): Promise<{ host: ChildServer, plain: number }> => {
    const plain = await freePort()
    const host = await startMemringProcess(t, ['--zk', zk.connectString, '--cluster', 'rt', '--shard', '0', '--zk-session-timeout', String(SESSION_MS),
      '-l', `notls:127.0.0.1:${plain}`, '-Z', '-o', `ssl_chain_cert=${cert},ssl_key=${key},ssl_ca_cert=${certs.ca},ssl_verify_mode=1`, ...more])
    return { host, plain }
  }
  const master = await member(certs.serverCert, certs.serverKey)
  await waitFor(async () => (await stats(master.plain, 'replication')).role === 'master', { timeoutMs: ZK_WAIT_MS, what: 'the master elected' })
  const sets = Array.from({ length: 50 }, (_, i) => `set k${i} 0 0 ${String(i).length}\r\n${i}\r\n`).join('')
  await exchange(master.plain, sets + 'quit\r\n')

  const replica = await member(certs.serverCert, certs.serverKey, '--role', 'replica')
  await waitFor(async () => {
    const [m, r] = await Promise.all([stats(master.plain, 'replication'), stats(replica.plain, 'replication')])
    return r.master === master.host.address && r.master_link === 'online' && r.seqno === m.seqno
  }, { timeoutMs: ZK_WAIT_MS, what: 'the replica in sync over TLS' })
  t.equal((await exchange(replica.plain, 'get k42\r\nquit\r\n')).toString(), 'VALUE k42 0 2\r\n42\r\nEND\r\n', 'the data came over the TLS stream')
  await exchange(master.plain, 'set later 0 0 1\r\nx\r\nquit\r\n')
  await waitFor(async () => (await exchange(replica.plain, 'get later\r\nquit\r\n')).toString().startsWith('VALUE'), { timeoutMs: ZK_WAIT_MS, what: 'a later write streamed' })
  t.pass('later writes stream too')

  // A member whose certificate another CA signed: the master refuses its handshake.
  const rogue = await member(certs.wrongCert, certs.wrongKey, '--role', 'replica')
  await waitFor(async () => (await stats(rogue.plain, 'replication')).master === master.host.address, { timeoutMs: ZK_WAIT_MS, what: 'the rogue found the master' })
  await new Promise((resolve) => setTimeout(resolve, 3000)) // several of its reconnect attempts
  const r = await stats(rogue.plain, 'replication')
  t.not(r.master_link, 'online', `the rogue member is never online (${r.master_link})`)
  t.equal((await exchange(rogue.plain, 'get k42\r\nquit\r\n')).toString(), 'END\r\n', 'and holds none of the data')
  t.equal((await stats(master.plain, 'replication')).replicas, '1', 'the master streams to the one good replica only')

  // Asking for the stream without a verified certificate: over the notls: port, and over
  // TLS without a client certificate (allowed for ordinary clients under mode 1).
  const line = 'repl sync 0 0 0 0 127.0.0.1:1 0\r\n'
  t.match((await exchange(master.plain, line)).toString(), /needs TLS with a client certificate/, 'plaintext peer refused')
  const s = tls.connect({ port: master.host.port, host: '127.0.0.1', ca: fs.readFileSync(certs.ca), servername: 'localhost' })
  const reply = await new Promise<string>((resolve) => {
    let got = ''
    s.on('secureConnect', () => s.write(line))
    s.on('data', (d) => { got += d.toString('latin1') })
    s.on('error', () => resolve(got))
    s.on('close', () => resolve(got))
  })
  t.match(reply, /needs a verified client certificate/, 'TLS peer without a certificate refused')
  t.equal((await stats(master.plain, 'replication')).tls_peer_refused, '2', 'both counted in stats replication')
})
